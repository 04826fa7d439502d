# mk/templates.mk - CloudFormation side of samlfed: checks and thin aws CLI drivers.
#
# Included by the main Makefile, which provides VENV, PY, ZIP_DIR and the rule for
# $(VENV)/.ready (a venv with cfn-lint and pytest). The ?= defaults below only apply when
# this file is used on its own.
#
# Checks (offline):   lint-templates  guard  test-check-iam-actions  check-iam-actions
#                     templates-check (all four)
# AWS (need credentials and the aws CLI only; docs/deploy.md, docs/rollouts.md):
#                     bucket-deploy  package  versions  deploy  destroy
#                     stackset-create  stackset-add-wave  stackset-update  stackset-status
#                     stackset-remove-wave  stackset-destroy

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
# Where everything goes. Empty (default): the bucket's own Region, read from S3
# (s3api get-bucket-location) by every step after bucket-deploy; set, it must agree with the
# bucket. Never $AWS_REGION or a built-in default: Lambda loads its code only from a bucket in
# its own Region. bucket-deploy, which makes the bucket, needs it set.
REGION              ?=
# Stacks
STACK_NAME          ?= samlfed
BUCKET_STACK_NAME   ?= samlfed-bucket
STACKSET_STACK_NAME ?= samlfed-stackset
STACKSET_NAME       ?= samlfed-federation
STACKSET_TEMPLATE   ?= stacksets/federation-stackset.yaml
# Bucket (templates/metadata-bucket.yaml): metadata, zips and the federation template.
# ORG_ID unset: looked up (organizations describe-organization); ORG_ID= (empty): a standalone
# account. EXTERNAL_ACCOUNT_IDS: comma-separated accounts outside the organisation that may read.
BUCKET              ?=
EXTERNAL_ACCOUNT_IDS ?=
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
TEMPLATE_KEY        ?= $(ARTEFACT_PREFIX)saml-federation.yaml
# The zips `make package` uploads; `make build` makes them (it needs cargo-lambda and zig,
# package needs only the aws CLI).
PACKAGE_ZIPS        ?= $(ZIP_DIR)/bootstrap-$(ARCH).zip
# Role (empty ROLE_NAME = provider only; empty ROLE_POLICY_ARNS = template default ReadOnlyAccess)
ROLE_NAME           ?=
ROLE_POLICY_ARNS    ?=
# Version pins (S3 version IDs). make deploy: empty = the object's current version, printed.
# The StackSet targets never look them up: stackset-create and stackset-update take them
# explicitly (make versions prints the current ones for copy-paste).
CODE_VERSION        ?=
METADATA_VERSION    ?=
TEMPLATE_VERSION    ?=
# StackSet waves (docs/rollouts.md). OUS: comma-separated OU or root IDs (at most 50);
# ACCOUNTS: comma-separated account IDs (self-managed: the targets; service-managed: with
# ACCOUNT_FILTER, INTERSECTION by default, only those accounts of OUS).
CALL_AS             ?= SELF
OUS                 ?=
ACCOUNTS            ?=
ACCOUNT_FILTER      ?= INTERSECTION
MAX_CONCURRENT_PERCENTAGE    ?= 10
MAX_CONCURRENT_COUNT         ?=
FAILURE_TOLERANCE_PERCENTAGE ?= 1
FAILURE_TOLERANCE_COUNT      ?=
CONCURRENCY_MODE    ?= SOFT_FAILURE_TOLERANCE
OPERATION_ID        ?=
# Anything else, as Key=Value words for --parameter-overrides (e.g. RefreshSchedule=rate(1\ hour))
EXTRA_PARAMS        ?=

# The federation template object as a URL; $$region in it is the bucket's Region (aws-cn: override
# it with the amazonaws.com.cn host).
TEMPLATE_URL_BASE   ?= https://$(BUCKET).s3.$$region.amazonaws.com/$(TEMPLATE_KEY)
comma := ,
OPERATION_PREFERENCES = $(if $(MAX_CONCURRENT_COUNT),MaxConcurrentCount=$(MAX_CONCURRENT_COUNT),MaxConcurrentPercentage=$(MAX_CONCURRENT_PERCENTAGE))$(comma)$(if $(FAILURE_TOLERANCE_COUNT),FailureToleranceCount=$(FAILURE_TOLERANCE_COUNT),FailureTolerancePercentage=$(FAILURE_TOLERANCE_PERCENTAGE))$(comma)ConcurrencyMode=$(CONCURRENCY_MODE)$(comma)RegionConcurrencyType=SEQUENTIAL

.PHONY: lint-templates guard cfn-guard-install test-check-iam-actions check-iam-actions templates-check \
        bucket-deploy package versions deploy destroy \
        stackset-create stackset-add-wave stackset-update stackset-status stackset-remove-wave \
        stackset-destroy stackset-deploy _need-bucket _need-federation

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
# Thin wrappers around the documented aws CLI calls (docs/deploy.md, docs/rollouts.md); each
# prints the command it runs. A recipe is one shell: the fragments below set shell variables
# ($region, $account, ...) for the rest of it.

_need-bucket:
	@test -n "$(BUCKET)" || { echo "set BUCKET=<BucketName output of $(BUCKET_STACK_NAME)>" >&2; exit 2; }
_need-federation: _need-bucket
	@test -n "$(FEDERATION_NAME)" || { echo "set FEDERATION_NAME=<IAM SAML provider name>" >&2; exit 2; }

# $region = the Region of BUCKET (s3api get-bucket-location answers null for us-east-1 and EU for
# the legacy eu-west-1 constraint); REGION, when set, must agree. Only the bucket's owner may read
# its Region (docs.aws.amazon.com/AmazonS3/latest/API/RESTBucketGETlocation.html): in another
# account (an external account reading the organisation's bucket) REGION is taken as given.
_REGION_FROM_BUCKET = \
  test -n "$(BUCKET)" || { echo "set BUCKET=<BucketName output of $(BUCKET_STACK_NAME)>: REGION follows the bucket" >&2; exit 2; }; \
  if loc=$$($(AWS) s3api get-bucket-location --bucket "$(BUCKET)" $(if $(REGION),--region $(REGION)) --query LocationConstraint --output text); then \
    case "$$loc" in None|null|"") loc=us-east-1;; EU) loc=eu-west-1;; esac; \
  elif [ -n "$(REGION)" ]; then \
    loc="$(REGION)"; echo "cannot read the Region of bucket $(BUCKET) (only its owner may: GetBucketLocation); taking REGION=$(REGION) as given" >&2; \
  else echo "cannot read the Region of bucket $(BUCKET) (s3api get-bucket-location: only the bucket's owner may): check BUCKET and your credentials, or, in an account that does not own the bucket, set REGION=<the bucket's Region>" >&2; exit 2; fi; \
  if [ -n "$(REGION)" ] && [ "$(REGION)" != "$$loc" ]; then \
    echo "REGION=$(REGION), but bucket $(BUCKET) is in $$loc. Lambda loads its code only from a bucket in its own Region: drop REGION (it follows the bucket) or use a bucket in $(REGION)" >&2; exit 2; fi; \
  region=$$loc; echo "Region $$region: the Region of bucket $(BUCKET)"

# The same, or REGION alone for the steps that need no bucket (destroy, status).
_REGION_FROM_BUCKET_OR_REGION = \
  if [ -n "$(BUCKET)" ]; then $(_REGION_FROM_BUCKET); \
  elif [ -n "$(REGION)" ]; then region="$(REGION)"; \
  else echo "set BUCKET=<the samlfed bucket> (the Region follows it) or REGION=<Region>" >&2; exit 2; fi

# CODE_BUCKET, when not BUCKET, must be in $region too.
_CODE_BUCKET_IN_REGION = \
  if [ "$(CODE_BUCKET)" != "$(BUCKET)" ]; then \
    cloc=$$($(AWS) s3api get-bucket-location --bucket "$(CODE_BUCKET)" --region "$$region" --query LocationConstraint --output text); \
    case "$$cloc" in None|null|"") cloc=us-east-1;; EU) cloc=eu-west-1;; esac; \
    [ "$$cloc" = "$$region" ] || { echo "CODE_BUCKET=$(CODE_BUCKET) is in $$cloc, not $$region: Lambda loads its code only from a bucket in its own Region" >&2; exit 2; }; fi

# current_version BUCKET KEY: the object's current S3 version ID (empty: unversioned bucket).
_VERSION_FUNCTIONS = \
  current_version() { v=$$($(AWS) s3api head-object --region "$$region" --bucket "$$1" --key "$$2" --query VersionId --output text) \
    || { echo "cannot read s3://$$1/$$2 (s3api head-object): upload it with make package" >&2; return 1; }; \
    [ "$$v" = None ] || echo "$$v"; }

# $account and $partition of the caller; refuse_foreign_owner KIND NAME 'REGION/STACK-PATTERN'
# stops (exit 2) when the IAM SAML provider or role NAME carries samlfed's ownership tag
# (samlfed:stack-id = the owning stack's ARN, src/resources/tags.rs) of a stack that does not
# match: IAM is global, so a second federation stack in the account would fail on it.
_OWNER_FUNCTIONS = \
  caller=$$($(AWS) sts get-caller-identity --region "$$region" --query Arn --output text) \
    || { echo "cannot identify the caller (sts get-caller-identity): check your credentials" >&2; exit 3; }; \
  partition=$$(echo "$$caller" | cut -d: -f2); account=$$(echo "$$caller" | cut -d: -f5); \
  samlfed_owner() { \
    if [ "$$1" = provider ]; then \
      out=$$($(AWS) iam list-saml-provider-tags --region "$$region" --saml-provider-arn "arn:$$partition:iam::$$account:saml-provider/$$2" \
        --query "Tags[?Key=='samlfed:stack-id'].Value | [0]" --output text 2>&1); \
    else \
      out=$$($(AWS) iam get-role --region "$$region" --role-name "$$2" --query "Role.Tags[?Key=='samlfed:stack-id'].Value | [0]" --output text 2>&1); \
    fi && { [ "$$out" = None ] || echo "$$out"; return 0; }; \
    case "$$out" in *NoSuchEntity*) return 0;; esac; \
    echo "cannot read the tags of the $$1 $$2: $$out (the one-stack-per-account check needs iam:ListSAMLProviderTags and iam:GetRole)" >&2; return 1; }; \
  refuse_foreign_owner() { \
    owner=$$(samlfed_owner "$$1" "$$2") || exit 3; [ -n "$$owner" ] || return 0; \
    oregion=$$(echo "$$owner" | cut -d: -f4); oname=$$(echo "$$owner" | cut -d/ -f2); \
    case "$$oregion/$$oname" in $$3) return 0;; esac; \
    echo "refused: the IAM $$1 $$2 in account $$account belongs to stack $$oname in $$oregion (its samlfed:stack-id tag: $$owner)." >&2; \
    echo "IAM is global: one samlfed federation stack per account serves every Region; another one in $$region would fail on this $$1." >&2; \
    case "$$oname" in StackSet-*) echo "That stack is a StackSet's stack instance: this account gets its federation from the StackSet." >&2;; \
      *) echo "Update that stack instead (a BUCKET in $$oregion; REGION follows it), or remove it first: make destroy REGION=$$oregion STACK_NAME=$$oname." >&2;; esac; \
    echo "If that stack no longer exists, remove the samlfed:stack-id and samlfed:logical-id tags from the $$1, then retry." >&2; exit 2; }

# stackset_pins: $ss_model, $ss_code, $ss_metadata, $ss_template (the template's S3 version, kept
# in the StackSet's Description by stackset-create/-update), $ss_provider and $ss_role (its
# FederationName and RoleName) of STACKSET_NAME; false when there is none.
_STACKSET_FUNCTIONS = \
  stackset_pins() { out=$$($(AWS) cloudformation describe-stack-set --region "$$region" --call-as $(CALL_AS) --stack-set-name $(STACKSET_NAME) \
      --query "StackSet.[PermissionModel,Parameters[?ParameterKey=='CodeObjectVersion'].ParameterValue|[0],Parameters[?ParameterKey=='FederationFileVersion'].ParameterValue|[0],Description,Parameters[?ParameterKey=='FederationName'].ParameterValue|[0],Parameters[?ParameterKey=='RoleName'].ParameterValue|[0]]" \
      --output text 2>&1) || { case "$$out" in *StackSetNotFound*) return 1;; esac; echo "$$out" >&2; exit 3; }; \
    ss_model=$$(echo "$$out" | cut -f1); ss_code=$$(echo "$$out" | cut -f2); ss_metadata=$$(echo "$$out" | cut -f3); \
    ss_template=$$(echo "$$out" | cut -f4 | sed -n 's/.*versionId=\([A-Za-z0-9._-]*\).*/\1/p'); \
    ss_provider=$$(echo "$$out" | cut -f5); ss_role=$$(echo "$$out" | cut -f6); \
    [ "$$ss_code" != None ] || ss_code=; [ "$$ss_metadata" != None ] || ss_metadata=; [ "$$ss_role" != None ] || ss_role=; }; \
  json_list() { echo "$$1" | tr -d ' ' | sed 's/[^,][^,]*/"&"/g'; }

# $targets: the CLI arguments that name a wave's accounts (OUS / ACCOUNTS, ACCOUNT_FILTER),
# checked against the StackSet's permission model ($ss_model) and the API's limits.
_WAVE_TARGETS = \
  if [ "$$ss_model" = SELF_MANAGED ]; then \
    [ -z "$(OUS)" ] || { echo "OUS: a self-managed StackSet targets accounts; use ACCOUNTS=<id,...>" >&2; exit 2; }; \
    [ -n "$(ACCOUNTS)" ] || { echo "set ACCOUNTS=<comma-separated account IDs> (this account: $$account)" >&2; exit 2; }; \
    targets="--accounts $$(echo "$(ACCOUNTS)" | tr ',' ' ')"; \
  else \
    [ -n "$(OUS)" ] || { echo "set OUS=<comma-separated OU or root IDs> (and ACCOUNTS=<ids> for some accounts of them only)" >&2; exit 2; }; \
    n=$$(echo "$(OUS)" | tr ',' '\n' | grep -c .); \
    [ "$$n" -le 50 ] || { echo "OUS: $$n OUs; StackSets take at most 50 per operation: split them over several waves, or name their parent OU" >&2; exit 2; }; \
    targets="{\"OrganizationalUnitIds\":[$$(json_list "$(OUS)")]"; \
    if [ -n "$(ACCOUNTS)" ]; then \
      case "$(ACCOUNT_FILTER)" in INTERSECTION|DIFFERENCE) ;; *) echo "ACCOUNT_FILTER=$(ACCOUNT_FILTER): use INTERSECTION (only ACCOUNTS of OUS) or DIFFERENCE (OUS except ACCOUNTS); CreateStackInstances does not take UNION" >&2; exit 2;; esac; \
      targets="$$targets,\"Accounts\":[$$(json_list "$(ACCOUNTS)")],\"AccountFilterType\":\"$(ACCOUNT_FILTER)\""; fi; \
    targets="--deployment-targets $$targets}"; \
  fi

# One deployment Region: the StackSet's instances are all in $region.
_ONE_REGION = \
  other=$$($(AWS) cloudformation list-stack-instances --region "$$region" --call-as $(CALL_AS) --stack-set-name $(STACKSET_NAME) \
    --query "Summaries[?Region!='$$region'].Region | [0]" --output json); \
  [ "$$other" = null ] || { echo "refused: StackSet $(STACKSET_NAME) has stack instances in $$other, and this wave would add some in $$region. IAM is global: samlfed deploys to one Region per account, the bucket's ($$region); remove the others first" >&2; exit 2; }

_SUBMITTED = \
  echo "Operation $$op submitted. It runs on in CloudFormation; nothing here waits for it."; \
  echo "Follow it:  AWS_REGION=$$region samlfed rollout status --stack-set $(STACKSET_NAME) --operation-id $$op --watch$(if $(filter DELEGATED_ADMIN,$(CALL_AS)), --call-as delegated-admin)"; \
  echo "       or:  make stackset-status OPERATION_ID=$$op $(if $(BUCKET),BUCKET=$(BUCKET),REGION=$$region)"

# The wrapper stack may create the StackSet, never change it: every later change goes through
# stackset-update, wave by wave (its DeletionPolicy Retain keeps it from deleting it, too).
STACKSET_STACK_POLICY = {"Statement":[{"Effect":"Deny","Action":"Update:*","Principal":"*","Resource":"LogicalResourceId/FederationStackSet"},{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"}]}

bucket-deploy:
	@test -n "$(REGION)" || { echo "set REGION=<Region of the new bucket, e.g. eu-west-1>: the Lambda code and every samlfed stack go to the bucket's Region, and the later steps read it from the bucket" >&2; exit 2; }
	@set -e; \
	if [ "$(origin ORG_ID)" = undefined ]; then \
	  org=$$($(AWS) organizations describe-organization --region $(REGION) --query Organization.Id --output text) \
	    || { echo "cannot look up the organisation (organizations describe-organization); for an account outside any organisation set ORG_ID= (empty)" >&2; exit 2; }; \
	else org="$(ORG_ID)"; fi; \
	set -x; $(AWS) cloudformation deploy --region $(REGION) --stack-name $(BUCKET_STACK_NAME) \
	  --template-file templates/metadata-bucket.yaml --no-fail-on-empty-changeset \
	  --parameter-overrides OrganizationId=$$org $(if $(BUCKET),BucketName=$(BUCKET)) ArtefactPrefix=$(ARTEFACT_PREFIX) \
	  $(if $(EXTERNAL_ACCOUNT_IDS),ExternalAccountIds=$(EXTERNAL_ACCOUNT_IDS)) \
	  $(if $(PUBLISHER_ARNS),PublisherPrincipalArns=$(PUBLISHER_ARNS)) $(if $(ACCESS_LOG_BUCKET),AccessLogBucketName=$(ACCESS_LOG_BUCKET))
	$(AWS) cloudformation describe-stacks --region $(REGION) --stack-name $(BUCKET_STACK_NAME) \
	  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table

# Upload the zip(s), the federation template and (METADATA=path) the IdP metadata; print their
# S3 version IDs. Needs only the aws CLI: the zips come from `make build` (or anywhere).
package: | _need-bucket
	@set -e; \
	for zip in $(PACKAGE_ZIPS); do test -f "$$zip" || { echo "$$zip is missing: make build makes it (with cargo-lambda and zig), or set PACKAGE_ZIPS=<your bootstrap zips>. make package itself needs only the aws CLI" >&2; exit 2; }; done; \
	$(if $(METADATA),test -f "$(METADATA)" || { echo "METADATA=$(METADATA): no such file" >&2; exit 2; };) \
	$(_REGION_FROM_BUCKET); \
	put() { echo "$(AWS) s3api put-object --region $$region --bucket $$1 --key $$2 --body $$3 $$4" >&2; \
	  v=$$($(AWS) s3api put-object --region "$$region" --bucket "$$1" --key "$$2" --body "$$3" $$4 --query VersionId --output text); \
	  [ "$$v" = None ] || echo "$$v"; }; \
	code_version=; for zip in $(PACKAGE_ZIPS); do \
	  key=$(ARTEFACT_PREFIX)$$(basename $$zip); v=$$(put $(CODE_BUCKET) $$key $$zip); \
	  [ "$$key" != "$(CODE_KEY)" ] || code_version=$$v; done; \
	template_version=$$(put $(BUCKET) $(TEMPLATE_KEY) templates/saml-federation.yaml); \
	$(if $(METADATA),metadata_version=$$(put $(BUCKET) $(FEDERATION_FILE) $(METADATA) "--content-type application/samlmetadata+xml");,metadata_version="(METADATA not set: not uploaded)";) \
	echo "Uploaded. Versions to pin (make deploy, stackset-create, stackset-update):"; \
	echo "  CODE_VERSION=$$code_version TEMPLATE_VERSION=$$template_version METADATA_VERSION=$$metadata_version"

# The current S3 version IDs in the bucket, and those the StackSet pins, for copy-paste.
versions: | _need-bucket
	@set -e; $(_REGION_FROM_BUCKET); $(_VERSION_FUNCTIONS); $(_STACKSET_FUNCTIONS); \
	echo "In the bucket now:"; \
	echo "  CODE_VERSION=$$(current_version $(CODE_BUCKET) $(CODE_KEY)) METADATA_VERSION=$$(current_version $(BUCKET) $(FEDERATION_FILE)) TEMPLATE_VERSION=$$(current_version $(BUCKET) $(TEMPLATE_KEY))"; \
	if stackset_pins; then echo "StackSet $(STACKSET_NAME) pins:"; \
	  echo "  CODE_VERSION=$$ss_code METADATA_VERSION=$$ss_metadata TEMPLATE_VERSION=$$ss_template"; \
	else echo "No StackSet $(STACKSET_NAME) in $$region."; fi

# Single-account stack. Pins the objects' versions (their current ones unless CODE_VERSION /
# METADATA_VERSION are set), so a new zip or new metadata under the same key is rolled out by
# the next deploy. Refuses an account whose provider or role belongs to a samlfed stack elsewhere.
deploy: | _need-federation
	@set -e; $(_REGION_FROM_BUCKET); $(_CODE_BUCKET_IN_REGION); $(_VERSION_FUNCTIONS); $(_OWNER_FUNCTIONS); \
	refuse_foreign_owner provider "$(FEDERATION_NAME)" "$$region/$(STACK_NAME)"; \
	$(if $(ROLE_NAME),refuse_foreign_owner role "$(ROLE_NAME)" "$$region/$(STACK_NAME)";) \
	code_version=$(if $(CODE_VERSION),$(CODE_VERSION),$$(current_version $(CODE_BUCKET) $(CODE_KEY))); \
	metadata_version=$(if $(METADATA_VERSION),$(METADATA_VERSION),$$(current_version $(BUCKET) $(FEDERATION_FILE))); \
	echo "Pinned: CODE_VERSION=$$code_version METADATA_VERSION=$$metadata_version"; \
	set -x; \
	$(AWS) cloudformation deploy --region $$region --stack-name $(STACK_NAME) \
	  --template-file templates/saml-federation.yaml --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
	  --parameter-overrides FederationName=$(FEDERATION_NAME) FederationBucket=$(BUCKET) \
	    FederationFile=$(FEDERATION_FILE) FederationFileVersion=$$metadata_version \
	    CodeBucket=$(CODE_BUCKET) CodeKey=$(CODE_KEY) CodeObjectVersion=$$code_version \
	    Architecture=$(ARCH) Runtime=$(RUNTIME) RoleName=$(ROLE_NAME) \
	    $(if $(ROLE_POLICY_ARNS),RoleManagedPolicyArns=$(ROLE_POLICY_ARNS)) $(EXTRA_PARAMS); \
	$(AWS) cloudformation describe-stacks --region $$region --stack-name $(STACK_NAME) \
	  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table

# The single-account stack: the Lambda deletes the provider and role it created (ours only).
destroy:
	@set -e; $(_REGION_FROM_BUCKET_OR_REGION); set -x; \
	$(AWS) cloudformation delete-stack --region $$region --stack-name $(STACK_NAME); \
	$(AWS) cloudformation wait stack-delete-complete --region $$region --stack-name $(STACK_NAME)

# ----------------------------------------------------------------------- StackSet (waves)
# stackset-create   once: the wrapper stack (STACKSET_TEMPLATE) creates the StackSet, with no
#                   stack instances, pinned to explicit versions; it can never change or delete it.
# stackset-add-wave per wave: create-stack-instances for OUS / ACCOUNTS; adds, never removes,
#                   never changes versions; returns once submitted.
# stackset-update   new versions (or a catch-up wave), for the instances of OUS / ACCOUNTS only.
# stackset-status   the latest (or OPERATION_ID's) operation and every failed account.
# stackset-remove-wave, stackset-destroy   the only deleting targets; CONFIRM=<StackSet name>.

stackset-deploy:
	@echo "stackset-deploy is gone: it kept the OU list as desired state (OUs left out lost their stack instances) and waited on operations longer than the aws CLI waits. Now: make stackset-create (once), then make stackset-add-wave OUS=... per wave and make stackset-update for new versions; see docs/rollouts.md" >&2; exit 2

stackset-create: | _need-federation
	@set -e; $(_REGION_FROM_BUCKET); $(_CODE_BUCKET_IN_REGION); $(_VERSION_FUNCTIONS); \
	missing=; for v in CODE_VERSION=$(CODE_VERSION) METADATA_VERSION=$(METADATA_VERSION) TEMPLATE_VERSION=$(TEMPLATE_VERSION); do \
	  [ -n "$${v#*=}" ] || missing="$$missing $${v%%=*}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "set$$missing: a StackSet pins every version explicitly and never reads the latest upload. The bucket's current ones (check they are what the canary account runs):" >&2; \
	  echo "  CODE_VERSION=$$(current_version $(CODE_BUCKET) $(CODE_KEY)) METADATA_VERSION=$$(current_version $(BUCKET) $(FEDERATION_FILE)) TEMPLATE_VERSION=$$(current_version $(BUCKET) $(TEMPLATE_KEY))" >&2; exit 2; fi; \
	if status=$$($(AWS) cloudformation describe-stacks --region $$region --stack-name $(STACKSET_STACK_NAME) --query 'Stacks[0].StackStatus' --output text 2>/dev/null); then \
	  echo "stack $(STACKSET_STACK_NAME) exists ($$status): it created StackSet $(STACKSET_NAME) and never changes it. New versions: make stackset-update; more accounts: make stackset-add-wave (docs/rollouts.md)" >&2; exit 2; fi; \
	set -x; \
	$(AWS) cloudformation deploy --region $$region --stack-name $(STACKSET_STACK_NAME) --template-file $(STACKSET_TEMPLATE) \
	  --parameter-overrides StackSetName=$(STACKSET_NAME) $(if $(findstring self-managed,$(STACKSET_TEMPLATE)),,CallAs=$(CALL_AS)) \
	    TemplateURL="$(TEMPLATE_URL_BASE)?versionId=$(TEMPLATE_VERSION)" \
	    FederationName=$(FEDERATION_NAME) FederationBucket=$(BUCKET) \
	    FederationFile=$(FEDERATION_FILE) FederationFileVersion=$(METADATA_VERSION) \
	    CodeBucket=$(CODE_BUCKET) CodeKey=$(CODE_KEY) CodeObjectVersion=$(CODE_VERSION) \
	    Architecture=$(ARCH) Runtime=$(RUNTIME) RoleName=$(ROLE_NAME) \
	    $(if $(ROLE_POLICY_ARNS),RoleManagedPolicyArns=$(ROLE_POLICY_ARNS)) $(EXTRA_PARAMS); \
	$(AWS) cloudformation set-stack-policy --region $$region --stack-name $(STACKSET_STACK_NAME) \
	  --stack-policy-body '$(STACKSET_STACK_POLICY)'; \
	set +x; echo "StackSet $(STACKSET_NAME) is in $$region, with no stack instances. First wave: make stackset-add-wave OUS=<canary OU> (docs/rollouts.md)."

stackset-add-wave:
	@set -e; $(_REGION_FROM_BUCKET_OR_REGION); $(_STACKSET_FUNCTIONS); $(_OWNER_FUNCTIONS); \
	stackset_pins || { echo "no StackSet $(STACKSET_NAME) in $$region (CALL_AS=$(CALL_AS)): make stackset-create first" >&2; exit 2; }; \
	echo "StackSet $(STACKSET_NAME) pins CODE_VERSION=$$ss_code METADATA_VERSION=$$ss_metadata TEMPLATE_VERSION=$$ss_template: the new stack instances get exactly these."; \
	for pin in "CODE_VERSION:$(CODE_VERSION):$$ss_code" "METADATA_VERSION:$(METADATA_VERSION):$$ss_metadata" "TEMPLATE_VERSION:$(TEMPLATE_VERSION):$$ss_template"; do \
	  name=$${pin%%:*}; rest=$${pin#*:}; given=$${rest%%:*}; pinned=$${rest#*:}; \
	  if [ -n "$$given" ] && [ "$$given" != "$$pinned" ]; then \
	    echo "refused: $$name=$$given, but the StackSet pins $$pinned. A wave never changes versions: roll new ones out with make stackset-update, canary OU first, then add waves." >&2; exit 2; fi; done; \
	$(_WAVE_TARGETS); \
	if [ "$$ss_model" = SELF_MANAGED ] && echo ",$(ACCOUNTS)," | tr -d ' ' | grep -q ",$$account,"; then \
	  refuse_foreign_owner provider "$$ss_provider" "$$region/StackSet-$(STACKSET_NAME)-*"; \
	  [ -z "$$ss_role" ] || refuse_foreign_owner role "$$ss_role" "$$region/StackSet-$(STACKSET_NAME)-*"; fi; \
	$(_ONE_REGION); \
	set -x; \
	op=$$($(AWS) cloudformation create-stack-instances --region $$region --call-as $(CALL_AS) --stack-set-name $(STACKSET_NAME) \
	  --regions $$region $$targets --operation-preferences $(OPERATION_PREFERENCES) --query OperationId --output text); \
	set +x; $(_SUBMITTED)

# New versions for the instances of OUS / ACCOUNTS (the canary first): the StackSet takes them,
# every other instance turns OUTDATED until a later stackset-update names it. Without any
# version (or EXTRA_PARAMS) it is a catch-up wave: OUS / ACCOUNTS get the StackSet's current ones.
stackset-update:
	@set -e; $(_REGION_FROM_BUCKET_OR_REGION); $(_STACKSET_FUNCTIONS); $(_OWNER_FUNCTIONS); \
	stackset_pins || { echo "no StackSet $(STACKSET_NAME) in $$region (CALL_AS=$(CALL_AS)): make stackset-create first" >&2; exit 2; }; \
	echo "StackSet $(STACKSET_NAME) pins CODE_VERSION=$$ss_code METADATA_VERSION=$$ss_metadata TEMPLATE_VERSION=$$ss_template"; \
	$(_WAVE_TARGETS); $(_ONE_REGION); \
	keys=$$($(AWS) cloudformation describe-stack-set --region "$$region" --call-as $(CALL_AS) --stack-set-name $(STACKSET_NAME) \
	  --query 'StackSet.Parameters[].ParameterKey' --output text); \
	changes=; params=; for key in $$keys; do \
	  value=; case "$$key" in \
	    CodeObjectVersion) [ -z "$(CODE_VERSION)" ] || [ "$(CODE_VERSION)" = "$$ss_code" ] || value="$(CODE_VERSION)";; \
	    FederationFileVersion) [ -z "$(METADATA_VERSION)" ] || [ "$(METADATA_VERSION)" = "$$ss_metadata" ] || value="$(METADATA_VERSION)";; esac; \
	  for kv in $(EXTRA_PARAMS); do [ "$${kv%%=*}" != "$$key" ] || value="$${kv#*=}"; done; \
	  if [ -n "$$value" ]; then params="$$params{\"ParameterKey\":\"$$key\",\"ParameterValue\":\"$$value\"},"; changes="$$changes $$key=$$value"; \
	  else params="$$params{\"ParameterKey\":\"$$key\",\"UsePreviousValue\":true},"; fi; done; \
	url=; previous=--use-previous-template; \
	if [ -n "$(TEMPLATE_VERSION)" ] && [ "$(TEMPLATE_VERSION)" != "$$ss_template" ]; then \
	  url="$(TEMPLATE_URL_BASE)?versionId=$(TEMPLATE_VERSION)"; previous=; changes="$$changes template=$(TEMPLATE_VERSION)"; fi; \
	if [ -n "$$changes" ]; then echo "Changes:$$changes. Every other stack instance turns OUTDATED until a later stackset-update names it."; \
	else echo "No change of template or parameters: a catch-up wave, the instances of this wave get the StackSet's current versions."; fi; \
	set -x; \
	op=$$($(AWS) cloudformation update-stack-set --region $$region --call-as $(CALL_AS) --stack-set-name $(STACKSET_NAME) \
	  $${url:+--template-url "$$url" --description "samlfed federation, template $$url"} $$previous \
	  --parameters "[$${params%,}]" --capabilities CAPABILITY_NAMED_IAM \
	  --regions $$region $$targets --operation-preferences $(OPERATION_PREFERENCES) --query OperationId --output text); \
	set +x; $(_SUBMITTED)

# Latest operations, the newest one's (or OPERATION_ID's) progress, every account that failed in
# it or is FAILED, and the instances by status. (JSON output where a --query must see every
# page: with --output text the CLI applies --query page by page.)
stackset-status:
	@set -e; $(_REGION_FROM_BUCKET_OR_REGION); \
	$(AWS) cloudformation list-stack-set-operations --region $$region --call-as $(CALL_AS) \
	  --stack-set-name $(STACKSET_NAME) \
	  --query 'reverse(sort_by(Summaries,&CreationTimestamp))[:5].[OperationId,Action,Status,CreationTimestamp,EndTimestamp]' \
	  --output table; \
	op="$(OPERATION_ID)"; if [ -z "$$op" ]; then \
	  op=$$($(AWS) cloudformation list-stack-set-operations --region $$region --call-as $(CALL_AS) \
	    --stack-set-name $(STACKSET_NAME) --query 'sort_by(Summaries,&CreationTimestamp)[-1].OperationId' --output json | tr -d '"'); fi; \
	test -n "$$op" && test "$$op" != null || { echo "no operation yet"; exit 0; }; \
	set -x; \
	$(AWS) cloudformation describe-stack-set-operation --region $$region --call-as $(CALL_AS) \
	  --stack-set-name $(STACKSET_NAME) --operation-id $$op \
	  --query 'StackSetOperation.{Operation:OperationId,Action:Action,Status:Status,Failed:StatusDetails.FailedStackInstancesCount,Created:CreationTimestamp,Ended:EndTimestamp}' \
	  --output table; \
	$(AWS) cloudformation list-stack-set-operation-results --region $$region --call-as $(CALL_AS) \
	  --stack-set-name $(STACKSET_NAME) --operation-id $$op \
	  --filters Name=OPERATION_RESULT_STATUS,Values=FAILED \
	  --query 'Summaries[].[Account,Region,Status,StatusReason]' --output table; \
	$(AWS) cloudformation list-stack-instances --region $$region --call-as $(CALL_AS) \
	  --stack-set-name $(STACKSET_NAME) --filters Name=DETAILED_STATUS,Values=FAILED \
	  --query 'Summaries[].[Account,Region,OrganizationalUnitId,StackInstanceStatus.DetailedStatus,StatusReason]' \
	  --output table; \
	$(AWS) cloudformation list-stack-instances --region $$region --call-as $(CALL_AS) --stack-set-name $(STACKSET_NAME) \
	  --query '{CURRENT:length(Summaries[?Status==`CURRENT`]),OUTDATED:length(Summaries[?Status==`OUTDATED`]),INOPERABLE:length(Summaries[?Status==`INOPERABLE`])}' \
	  --output json; \
	set +x; echo "Watch it until it ends: AWS_REGION=$$region samlfed rollout status --stack-set $(STACKSET_NAME) --operation-id $$op --watch"

# Deletes the stack instances of OUS / ACCOUNTS, and with them the federation stack, the SAML
# provider and the role in those accounts (RETAIN_STACKS=true keeps the stacks, only detached).
stackset-remove-wave:
	@test "$(CONFIRM)" = "$(STACKSET_NAME)" || { echo "stackset-remove-wave deletes the federation (stack, SAML provider, role) in every account of OUS / ACCOUNTS. To go ahead, add CONFIRM=$(STACKSET_NAME)" >&2; exit 2; }
	@set -e; $(_REGION_FROM_BUCKET_OR_REGION); $(_STACKSET_FUNCTIONS); $(_OWNER_FUNCTIONS); \
	stackset_pins || { echo "no StackSet $(STACKSET_NAME) in $$region" >&2; exit 2; }; \
	$(_WAVE_TARGETS); set -x; \
	op=$$($(AWS) cloudformation delete-stack-instances --region $$region --call-as $(CALL_AS) --stack-set-name $(STACKSET_NAME) \
	  --regions $$region $$targets $(if $(filter true,$(RETAIN_STACKS)),--retain-stacks,--no-retain-stacks) \
	  --operation-preferences $(OPERATION_PREFERENCES) --query OperationId --output text); \
	set +x; $(_SUBMITTED)

# The empty StackSet and its wrapper stack (remove every wave first).
stackset-destroy:
	@test "$(CONFIRM)" = "$(STACKSET_NAME)" || { echo "stackset-destroy deletes StackSet $(STACKSET_NAME) (it must have no stack instances left). To go ahead, add CONFIRM=$(STACKSET_NAME)" >&2; exit 2; }
	@set -e; $(_REGION_FROM_BUCKET_OR_REGION); \
	n=$$($(AWS) cloudformation list-stack-instances --region $$region --call-as $(CALL_AS) --stack-set-name $(STACKSET_NAME) --query 'length(Summaries)' --output json); \
	[ "$$n" = 0 ] || { echo "StackSet $(STACKSET_NAME) still has $$n stack instances: remove them first (make stackset-remove-wave OUS=... CONFIRM=$(STACKSET_NAME)) and let that operation end" >&2; exit 2; }; \
	set -x; \
	$(AWS) cloudformation delete-stack-set --region $$region --call-as $(CALL_AS) --stack-set-name $(STACKSET_NAME); \
	$(AWS) cloudformation delete-stack --region $$region --stack-name $(STACKSET_STACK_NAME); \
	$(AWS) cloudformation wait stack-delete-complete --region $$region --stack-name $(STACKSET_STACK_NAME)
