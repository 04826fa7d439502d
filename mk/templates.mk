# mk/templates.mk - CloudFormation side of samlfed: checks and thin aws CLI drivers.
#
# Included by the main Makefile, which provides VENV, PY, ZIP_DIR and the rule for
# $(VENV)/.ready (a venv with cfn-lint and pytest). The ?= defaults below only apply when
# this file is used on its own.
#
# Checks (offline):   lint-templates  guard  test-check-iam-actions  check-iam-actions
#                     templates-check (all four)
# AWS (need credentials, see docs/deploy.md):
#                     bucket-deploy  package  deploy  stackset-deploy  stackset-status
#                     destroy  stackset-destroy

VENV      ?= .venv
PY        ?= $(VENV)/bin/python
ZIP_DIR   ?= build
CFN_LINT  ?= $(VENV)/bin/cfn-lint
TOOLS_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/samlfed/tools

# cfn-guard 3: the one on PATH if there is one, else a project-local install.
CFN_GUARD_VERSION ?= 3.2.1
CFN_GUARD ?= $(or $(shell command -v cfn-guard 2>/dev/null),$(TOOLS_DIR)/cfn-guard-$(CFN_GUARD_VERSION)/bin/cfn-guard)

CFN_TEMPLATES   := $(wildcard templates/*.yaml) $(wildcard stacksets/*.yaml)
GUARD_RULES_DIR := templates/rules
GUARD_RULES     := $(wildcard $(GUARD_RULES_DIR)/*.guard)

# ---------------------------------------------------------------------------- AWS knobs
AWS                 ?= aws
REGION              ?= $(or $(AWS_REGION),$(AWS_DEFAULT_REGION),us-east-1)
# Stacks
STACK_NAME          ?= samlfed
BUCKET_STACK_NAME   ?= samlfed-bucket
STACKSET_STACK_NAME ?= samlfed-stackset
STACKSET_NAME       ?= samlfed-federation
# Bucket (templates/metadata-bucket.yaml): metadata, zips and the federation template
BUCKET              ?=
ORG_ID              ?=
# Who may write the bucket (empty: IAM alone decides) and where its access logs go (empty: none).
PUBLISHER_ARNS      ?=
ACCESS_LOG_BUCKET   ?=
ARTEFACT_PREFIX     ?= samlfed/
# SAML provider
FEDERATION_NAME     ?=
FEDERATION_FILE     ?= metadata/idp-metadata.xml
METADATA            ?=
# Lambda
ARCH                ?= arm64
RUNTIME             ?= provided.al2
CODE_BUCKET         ?= $(BUCKET)
CODE_KEY            ?= $(ARTEFACT_PREFIX)bootstrap-$(ARCH).zip
PACKAGE_ZIPS        ?= $(ZIP_DIR)/bootstrap-$(ARCH).zip
# Role (empty ROLE_NAME = provider only; empty ROLE_POLICY_ARNS = template default ReadOnlyAccess)
ROLE_NAME           ?=
ROLE_POLICY_ARNS    ?=
# StackSet
CALL_AS             ?= SELF
TARGET_OUS          ?=
MAX_CONCURRENT_PERCENTAGE    ?= 10
FAILURE_TOLERANCE_PERCENTAGE ?= 1
TEMPLATE_URL        ?= https://$(BUCKET).s3.$(REGION).amazonaws.com/$(ARTEFACT_PREFIX)saml-federation.yaml
# Version pins: empty = the object's current S3 version (looked up); set them to roll back.
CODE_VERSION        ?=
METADATA_VERSION    ?=
TEMPLATE_VERSION    ?=
# Anything else, as Key=Value words for --parameter-overrides (e.g. RefreshSchedule=rate(1\ hour))
EXTRA_PARAMS        ?=

.PHONY: lint-templates guard cfn-guard-install test-check-iam-actions check-iam-actions templates-check \
        bucket-deploy package deploy stackset-deploy stackset-status destroy stackset-destroy \
        _need-bucket _need-federation

# ------------------------------------------------------------------------------ checks

lint-templates: | $(VENV)/.ready
	$(CFN_LINT) $(CFN_TEMPLATES)

cfn-guard-install: | $(CFN_GUARD)
	@$(CFN_GUARD) --version

$(TOOLS_DIR)/cfn-guard-$(CFN_GUARD_VERSION)/bin/cfn-guard:
	cargo install cfn-guard --locked --version $(CFN_GUARD_VERSION) --root $(TOOLS_DIR)/cfn-guard-$(CFN_GUARD_VERSION)

# Every template against every rule, then every rule against its own pass/fail cases.
guard: | $(CFN_GUARD)
	$(CFN_GUARD) validate --rules $(GUARD_RULES_DIR) $(addprefix --data ,$(CFN_TEMPLATES)) --show-summary fail
	@set -e; for rules in $(GUARD_RULES); do \
	  cases=$(GUARD_RULES_DIR)/tests/$$(basename $$rules .guard)_tests.yaml; \
	  test -f $$cases || { echo "guard: $$rules has no test cases ($$cases)"; exit 1; }; \
	  out=$$($(CFN_GUARD) test --rules-file $$rules --test-data $$cases 2>&1) || { echo "$$out"; echo "guard: FAILED $$cases"; exit 1; }; \
	  echo "cfn-guard test $$rules: $$(echo "$$out" | grep -c '^Test Case') cases as expected"; \
	done

# The AWS Guard Rules Registry (github.com/aws-cloudformation/aws-guard-rules-registry: the
# rule sets behind CIS, NIST 800-53, FedRAMP and Well-Architected mappings) over every template.
# Not part of `guard`, `templates-check` or CI: the registry is not vendored and CI cannot reach
# it. Clone it anywhere (never commit it here), then
#   make guard-registry GUARD_REGISTRY=../aws-guard-rules-registry
# Every rule passes or is suppressed on its resource (Metadata: guard: SuppressedRules, with a
# comment saying why). docs/guard-rules.md: how, and the registry commit last checked.
GUARD_REGISTRY ?=
.PHONY: guard-registry
guard-registry: | $(CFN_GUARD)
	@test -d "$(GUARD_REGISTRY)/rules/aws" || { echo "set GUARD_REGISTRY=<clone of github.com/aws-cloudformation/aws-guard-rules-registry>"; exit 2; }
	@echo "guard-registry: $(GUARD_REGISTRY) at commit $$(git -C "$(GUARD_REGISTRY)" rev-parse --short HEAD 2>/dev/null || echo '(not a git checkout)')"
	@mkdir -p $(ZIP_DIR); report=$(ZIP_DIR)/guard-registry.txt; rc=0; \
	$(CFN_GUARD) validate --rules "$(GUARD_REGISTRY)/rules/aws" $(addprefix --data ,$(CFN_TEMPLATES)) \
	  --show-summary fail > $$report 2>&1 || rc=$$?; \
	if [ $$rc -eq 0 ]; then echo "guard-registry: all $(words $(CFN_TEMPLATES)) templates pass every registry rule (suppressions included)"; exit 0; fi; \
	grep -E 'Status = FAIL$$|/[A-Z0-9_]+ +FAIL$$|[Ee]rror' $$report | grep -v '^ ' || head -n 40 $$report; \
	echo "guard-registry: FAILED (cfn-guard exit $$rc); full report in $$report"; exit 1

test-check-iam-actions: | $(VENV)/.ready
	$(PY) -m pytest -q tools/test_check_iam_actions.py

# Fails (exit 1) while code and execution role disagree - also while the code does not yet
# call everything the role grants.
check-iam-actions: | $(VENV)/.ready
	$(PY) tools/check_iam_actions.py --src src --template templates/saml-federation.yaml

templates-check: lint-templates guard test-check-iam-actions check-iam-actions

# --------------------------------------------------------------------------------- AWS
# Thin wrappers; every command is the documented aws CLI call (see docs/deploy.md).

_need-bucket:
	@test -n "$(BUCKET)" || { echo "set BUCKET=<BucketName output of $(BUCKET_STACK_NAME)>"; exit 2; }
_need-federation: _need-bucket
	@test -n "$(FEDERATION_NAME)" || { echo "set FEDERATION_NAME=<IAM SAML provider name>"; exit 2; }

# S3 version ID of an object, empty if the bucket is not versioned; a set pin wins.
# $(call s3_version,bucket,key,pin)
s3_version = $(if $(3),$(3),$$(v=$$($(AWS) s3api head-object --region $(REGION) --bucket $(1) --key $(2) --query VersionId --output text) || exit 1; [ "$$v" = None ] || echo "$$v"))

bucket-deploy:
	@org="$(ORG_ID)"; [ -n "$$org" ] || org=$$($(AWS) organizations describe-organization --query Organization.Id --output text); \
	set -x; $(AWS) cloudformation deploy --region $(REGION) --stack-name $(BUCKET_STACK_NAME) \
	  --template-file templates/metadata-bucket.yaml --no-fail-on-empty-changeset \
	  --parameter-overrides OrganizationId=$$org $(if $(BUCKET),BucketName=$(BUCKET)) ArtefactPrefix=$(ARTEFACT_PREFIX) \
	  $(if $(PUBLISHER_ARNS),PublisherPrincipalArns=$(PUBLISHER_ARNS)) $(if $(ACCESS_LOG_BUCKET),AccessLogBucketName=$(ACCESS_LOG_BUCKET))
	$(AWS) cloudformation describe-stacks --region $(REGION) --stack-name $(BUCKET_STACK_NAME) \
	  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table

# Upload the zip(s), the federation template and (METADATA=path) the IdP metadata.
package: $(PACKAGE_ZIPS) | _need-bucket
	@set -e; for zip in $(PACKAGE_ZIPS); do \
	  key=$(ARTEFACT_PREFIX)$$(basename $$zip); \
	  echo "$(AWS) s3 cp --region $(REGION) $$zip s3://$(CODE_BUCKET)/$$key"; \
	  $(AWS) s3 cp --region $(REGION) $$zip s3://$(CODE_BUCKET)/$$key; \
	done
	$(AWS) s3 cp --region $(REGION) templates/saml-federation.yaml s3://$(BUCKET)/$(ARTEFACT_PREFIX)saml-federation.yaml
	$(if $(METADATA),$(AWS) s3 cp --region $(REGION) --content-type application/samlmetadata+xml $(METADATA) s3://$(BUCKET)/$(FEDERATION_FILE),@echo "METADATA not set: metadata not uploaded")

# Single-account stack. Pins the current object versions, so a new zip or new metadata
# under the same key is rolled out by the next deploy.
deploy: | _need-federation
	@set -e; \
	code_version=$(call s3_version,$(CODE_BUCKET),$(CODE_KEY),$(CODE_VERSION)); \
	metadata_version=$(call s3_version,$(BUCKET),$(FEDERATION_FILE),$(METADATA_VERSION)); \
	set -x; \
	$(AWS) cloudformation deploy --region $(REGION) --stack-name $(STACK_NAME) \
	  --template-file templates/saml-federation.yaml --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
	  --parameter-overrides FederationName=$(FEDERATION_NAME) FederationBucket=$(BUCKET) \
	    FederationFile=$(FEDERATION_FILE) FederationFileVersion=$$metadata_version \
	    CodeBucket=$(CODE_BUCKET) CodeKey=$(CODE_KEY) CodeObjectVersion=$$code_version \
	    Architecture=$(ARCH) Runtime=$(RUNTIME) RoleName=$(ROLE_NAME) \
	    $(if $(ROLE_POLICY_ARNS),RoleManagedPolicyArns=$(ROLE_POLICY_ARNS)) $(EXTRA_PARAMS)
	$(AWS) cloudformation describe-stacks --region $(REGION) --stack-name $(STACK_NAME) \
	  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table

# The StackSet, as a stack in the management (CALL_AS=SELF) or delegated administrator
# (CALL_AS=DELEGATED_ADMIN) account. Waits until the StackSet operation has finished.
stackset-deploy: | _need-federation
	@test -n "$(TARGET_OUS)" || { echo "set TARGET_OUS=ou-xxxx-canary (comma-separated OU or root IDs)"; exit 2; }
	@set -e; \
	template_version=$(call s3_version,$(BUCKET),$(ARTEFACT_PREFIX)saml-federation.yaml,$(TEMPLATE_VERSION)); \
	code_version=$(call s3_version,$(CODE_BUCKET),$(CODE_KEY),$(CODE_VERSION)); \
	metadata_version=$(call s3_version,$(BUCKET),$(FEDERATION_FILE),$(METADATA_VERSION)); \
	set -x; \
	$(AWS) cloudformation deploy --region $(REGION) --stack-name $(STACKSET_STACK_NAME) \
	  --template-file stacksets/federation-stackset.yaml --no-fail-on-empty-changeset \
	  --parameter-overrides StackSetName=$(STACKSET_NAME) CallAs=$(CALL_AS) \
	    TemplateURL="$(TEMPLATE_URL)$${template_version:+?versionId=$$template_version}" \
	    TargetOUs=$(TARGET_OUS) DeploymentRegion=$(REGION) \
	    MaxConcurrentPercentage=$(MAX_CONCURRENT_PERCENTAGE) FailureTolerancePercentage=$(FAILURE_TOLERANCE_PERCENTAGE) \
	    FederationName=$(FEDERATION_NAME) FederationBucket=$(BUCKET) \
	    FederationFile=$(FEDERATION_FILE) FederationFileVersion=$$metadata_version \
	    CodeBucket=$(CODE_BUCKET) CodeKey=$(CODE_KEY) CodeObjectVersion=$$code_version \
	    Architecture=$(ARCH) Runtime=$(RUNTIME) RoleName=$(ROLE_NAME) \
	    $(if $(ROLE_POLICY_ARNS),RoleManagedPolicyArns=$(ROLE_POLICY_ARNS)) $(EXTRA_PARAMS)
	$(AWS) cloudformation describe-stacks --region $(REGION) --stack-name $(STACKSET_STACK_NAME) \
	  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table

# Latest operations, the newest one's progress, and every account that failed. (JSON output
# for the operation ID: with --output text the CLI would apply --query page by page.)
stackset-status:
	$(AWS) cloudformation list-stack-set-operations --region $(REGION) --call-as $(CALL_AS) \
	  --stack-set-name $(STACKSET_NAME) \
	  --query 'reverse(sort_by(Summaries,&CreationTimestamp))[:5].[OperationId,Action,Status,CreationTimestamp,EndTimestamp]' \
	  --output table
	@set -e; \
	op=$$($(AWS) cloudformation list-stack-set-operations --region $(REGION) --call-as $(CALL_AS) \
	  --stack-set-name $(STACKSET_NAME) --query 'sort_by(Summaries,&CreationTimestamp)[-1].OperationId' --output json | tr -d '"'); \
	test -n "$$op" && test "$$op" != null || { echo "no operation yet"; exit 0; }; \
	set -x; \
	$(AWS) cloudformation describe-stack-set-operation --region $(REGION) --call-as $(CALL_AS) \
	  --stack-set-name $(STACKSET_NAME) --operation-id $$op \
	  --query 'StackSetOperation.{Operation:OperationId,Action:Action,Status:Status,Failed:StatusDetails.FailedStackInstancesCount,Created:CreationTimestamp,Ended:EndTimestamp}' \
	  --output table; \
	$(AWS) cloudformation list-stack-set-operation-results --region $(REGION) --call-as $(CALL_AS) \
	  --stack-set-name $(STACKSET_NAME) --operation-id $$op \
	  --filters Name=OPERATION_RESULT_STATUS,Values=FAILED \
	  --query 'Summaries[].[Account,Region,Status,StatusReason]' --output table; \
	$(AWS) cloudformation list-stack-instances --region $(REGION) --call-as $(CALL_AS) \
	  --stack-set-name $(STACKSET_NAME) --filters Name=DETAILED_STATUS,Values=FAILED \
	  --query 'Summaries[].[Account,Region,OrganizationalUnitId,StackInstanceStatus.DetailedStatus,StatusReason]' \
	  --output table

# The single-account stack: the Lambda deletes the provider and role it created (ours only).
destroy:
	$(AWS) cloudformation delete-stack --region $(REGION) --stack-name $(STACK_NAME)
	$(AWS) cloudformation wait stack-delete-complete --region $(REGION) --stack-name $(STACK_NAME)

# The StackSet and every stack instance (i.e. the federation in every target account).
stackset-destroy:
	$(AWS) cloudformation delete-stack --region $(REGION) --stack-name $(STACKSET_STACK_NAME)
	$(AWS) cloudformation wait stack-delete-complete --region $(REGION) --stack-name $(STACKSET_STACK_NAME)
