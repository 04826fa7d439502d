#!/usr/bin/env python3
"""Test-only extension of tools/emulator.py for the operator's path (``make bucket-deploy``,
``package``, ``deploy``, the StackSet targets of mk/templates.mk): what those targets call and
moto 5.2.5 does not do, made to answer as the AWS documentation says. Each patch cites its page.

tools/emulator.py imports this module, so every run of the emulator has it. This module never
imports tools/emulator.py: it patches moto's classes and calls them through their attributes at
run time, so the emulator's own patches (the CloudFormation engine that runs custom resources)
are the ones that run, in whichever order the two modules were imported.

Change sets run on the engine (``aws cloudformation deploy``)
--------------------------------------------------------------
moto executes a change set synchronously with its own resource handling: no custom resource is
run, no Outputs are resolved, and a CREATE change set's stack keeps the empty template moto gave
it. Here ``CreateChangeSet`` checks the template's parameters first (as CreateStack does) and
``ExecuteChangeSet`` starts the operation on the emulator's engine: a CREATE change set gives
the stack its template and parameters and creates it (``Stack.create_resources``), an UPDATE one
is ``Stack.update`` (API_ExecuteChangeSet.html: "CloudFormation updates the stack with the
changes that the change set contains"). Test-only deviation, said plainly: ExecuteChangeSet
answers once the operation has ended, or after ``SAMLFED_EXECUTE_WAIT_S`` seconds (default 30),
whichever comes first; AWS answers at once. The aws CLI's ``deploy`` polls the stack only every
30 s, so waiting here keeps a test from sleeping through most of that; what the CLI then reads
is the same.

S3 and Lambda, where the operator's path depends on them
---------------------------------------------------------
* ``AWS::S3::Bucket`` ``VersioningConfiguration`` is applied (moto's model ignores it; the
  federation stack pins S3 version IDs, which need a versioned bucket;
  aws-properties-s3-bucket-versioningconfig.html).
* ``GetBucketLocation`` answers only the bucket's owner (RESTBucketGETlocation.html: "you must be
  the bucket owner"); moto answers every account.
* ``CreateFunction`` (and ``AWS::Lambda::Function``) with ``Code.S3Bucket`` in another Region
  than the function fails as in Lambda (API_FunctionCode.html: "An Amazon S3 bucket in the same
  Amazon Web Services Region as your function"); moto does not check the bucket's Region.
"""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Any

import moto.awslambda.models as lambda_models
from moto.awslambda.exceptions import InvalidParameterValueException
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.responses import CloudFormationResponse
from moto.s3.models import FakeBucket, s3_backends
from moto.s3.exceptions import MissingBucket, S3AccessDeniedError
from moto.s3.responses import S3Response
from moto.utilities.utils import get_partition

EXECUTE_WAIT_S = float(os.environ.get("SAMLFED_EXECUTE_WAIT_S", "30"))
POLL_S = 0.1


def _log(msg: str) -> None:
    print(f"emulator_stacksets: {msg}", file=sys.stderr, flush=True)


def _wait_until_settled(stack: Stack, limit_s: float) -> None:
    """Waits (bounded) until the stack's operation has ended: no ``*_IN_PROGRESS`` status."""
    deadline = time.monotonic() + limit_s
    while str(stack.status).endswith("_IN_PROGRESS") and time.monotonic() < deadline:
        time.sleep(POLL_S)


# --- change sets --------------------------------------------------------------------------------
_orig_create_change_set = CloudFormationBackend.create_change_set


def backend_create_change_set(self: CloudFormationBackend, stack_name: str, change_set_name: str, template: str,
                              parameters: dict[str, str], description: str, change_set_type: str,
                              notification_arns: list[str] | None = None, tags: dict[str, str] | None = None,
                              role_arn: str | None = None) -> tuple[str, str]:
    """API_CreateChangeSet.html: the template and its parameters are validated when the change
    set is created (a bad parameter value is a ValidationError here, not at execution). A
    UsePreviousValue of a list parameter comes back from moto as a list: passed on as the text
    CloudFormation holds (comma-joined)."""
    parameters = {k: ",".join(v) if isinstance(v, list) else v for k, v in (parameters or {}).items()}
    check = ResourceMap("arn:aws:cloudformation:check", stack_name, parameters, tags or {},
                        region_name=self.region_name, account_id=self.account_id,
                        template=Stack.parse_template(template), cross_stack_resources={})
    check.load()
    return _orig_create_change_set(self, stack_name, change_set_name, template, parameters, description,
                                   change_set_type, notification_arns, tags, role_arn)


def _find_change_set(backend: CloudFormationBackend, name: str, stack_name: str | None) -> ChangeSet:
    if name in backend.change_sets:
        return backend.change_sets[name]
    for change_set in backend.change_sets.values():
        if change_set.change_set_name == name and (not stack_name or change_set.stack_name == stack_name
                                                   or change_set.stack_id == stack_name):
            return change_set
    from moto.cloudformation.exceptions import ValidationError

    raise ValidationError(message=f"ChangeSet [{name}] does not exist")


def backend_execute_change_set(self: CloudFormationBackend, change_set_name: str,
                               stack_name: str | None = None) -> None:
    change_set = _find_change_set(self, change_set_name, stack_name)
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "CREATE":
        # CreateChangeSet made the stack (REVIEW_IN_PROGRESS) with an empty template.
        stack.template = change_set.template
        stack.template_dict = change_set.template_dict
        stack.description = change_set.template_dict.get("Description")
        stack.parameters = change_set.parameters
        if change_set.tags:
            stack.tags = change_set.tags
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.create_resources()
    else:
        stack.update(change_set.template, role_arn=change_set.role_arn, parameters=change_set.parameters,
                     tags=change_set.tags or None)
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    _wait_until_settled(stack, EXECUTE_WAIT_S)
    if not str(stack.status).endswith("_IN_PROGRESS"):
        change_set.execution_status = "EXECUTE_COMPLETE" if stack.status.endswith("_COMPLETE") and \
            "ROLLBACK" not in stack.status else "EXECUTE_FAILED"


CloudFormationBackend.create_change_set = backend_create_change_set  # type: ignore[method-assign]
CloudFormationBackend.execute_change_set = backend_execute_change_set  # type: ignore[method-assign]

# moto answers CreateChangeSet without changes with UpdateStack's "No updates are to be
# performed." error. AWS creates the change set and fails it: Status FAILED, StatusReason "The
# submitted information didn't contain changes..." (which moto's backend already does), and
# `aws cloudformation deploy --no-fail-on-empty-changeset` reads that as nothing to do.
_orig_response_create_change_set = CloudFormationResponse.create_change_set
_orig_validate_different_update = CloudFormationResponse._validate_different_update


def response_create_change_set(self: CloudFormationResponse) -> Any:
    self.__dict__["samlfed_change_set"] = True
    return _orig_response_create_change_set(self)


def validate_different_update(self: CloudFormationResponse, *args: Any, **kwargs: Any) -> None:
    if not self.__dict__.get("samlfed_change_set"):
        _orig_validate_different_update(self, *args, **kwargs)


CloudFormationResponse.create_change_set = response_create_change_set  # type: ignore[method-assign]
CloudFormationResponse._validate_different_update = validate_different_update  # type: ignore[method-assign]


# --- S3: a versioned bucket from CloudFormation --------------------------------------------------
_orig_bucket_cfn_create = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def bucket_cfn_create(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                      **kwargs: Any) -> FakeBucket:
    bucket = _orig_bucket_cfn_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    status = ((cloudformation_json.get("Properties") or {}).get("VersioningConfiguration") or {}).get("Status")
    if status in ("Enabled", "Suspended"):
        s3_backends[account_id][get_partition(region_name)].put_bucket_versioning(bucket.name, status)
    return bucket


FakeBucket.create_from_cloudformation_json = classmethod(bucket_cfn_create)  # type: ignore[method-assign,assignment]


# --- S3: only the bucket's owner reads its Region -------------------------------------------------
# RESTBucketGETlocation.html (GetBucketLocation): "To use this implementation of the operation, you
# must be the bucket owner." moto answers every account. An external account's `make deploy` must
# not depend on it (mk/templates.mk: it then takes REGION as given).
_orig_get_bucket_location = S3Response.get_bucket_location


def get_bucket_location_owner_only(self: S3Response) -> Any:
    bucket = self.backend.get_bucket(self.bucket_name)
    if bucket.account_id != self.current_account:
        raise S3AccessDeniedError()
    return _orig_get_bucket_location(self)


S3Response.get_bucket_location = get_bucket_location_owner_only  # type: ignore[method-assign]


# --- Lambda: the code bucket is in the function's Region ------------------------------------------
_orig_lambda_init = lambda_models.LambdaFunction.__init__


def lambda_init(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
    bucket_name = (spec.get("Code") or {}).get("S3Bucket")
    if bucket_name:
        try:
            bucket = s3_backends[account_id][get_partition(region)].get_bucket(bucket_name)
        except MissingBucket:
            bucket = None
        if bucket is not None and bucket.region_name != region:
            raise InvalidParameterValueException(
                "Error occurred while GetObject. S3 Error Code: PermanentRedirect. S3 Error Message: "
                f"The bucket is in this region: {bucket.region_name}. Please use this region to retry the request"
            )
    _orig_lambda_init(self, account_id, spec, region, version)


lambda_models.LambdaFunction.__init__ = lambda_init  # type: ignore[method-assign]



# --- StackSets ------------------------------------------------------------------------------------
# moto 5.2.5 runs StackSet operations synchronously and reports SUCCEEDED for any outcome; its
# service-managed instances are stacks no API can see, and UpdateStackSet ignores
# DeploymentTargets. Here a StackSet is kept in this module and its operations run as in
# StackSets (stacksets-concepts.html): CreateStackInstances / UpdateStackSet /
# DeleteStackInstances answer with an OperationId at once, and a thread per operation works
# through its accounts one at a time - each stack instance is a real stack
# (StackSet-<name>-<uuid>) in the target account and Region, created, updated or deleted on the
# emulator's CloudFormation engine, so its custom resources really run. Operations on one
# StackSet queue (ManagedExecution, QUEUED until the one before has ended). Failure tolerance
# (FailureToleranceCount, or FailureTolerancePercentage of the operation's accounts, rounded
# down) stops an operation: the accounts not reached are CANCELLED, the operation FAILED.
# UpdateStackSet that changes the template or parameters marks every instance OUTDATED and
# updates those of Accounts / DeploymentTargets + Regions (all of them without targets;
# API_UpdateStackSet.html). DeploymentTargets resolve through the organisation (moto's
# organizations backend of the administrator account): an OU is its accounts and those of its
# child OUs, never the management account (API_DeploymentTargets.html); AccountFilterType
# INTERSECTION / DIFFERENCE (UNION is refused by CreateStackInstances).
# Not emulated: MaxConcurrent* (one account at a time), RegionOrder, AutoDeployment (accounts
# joining an OU get nothing), account gates, drift, ImportStacksToStackSet, CallAs checks,
# per-instance ParameterOverrides, and any permission or trust check between accounts.

import threading  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from urllib.parse import parse_qs, urlparse  # noqa: E402

from moto.cloudformation.exceptions import (  # noqa: E402
    StackInstanceNotFound,
    StackSetNotEmpty,
    StackSetNotFoundException,
    ValidationError,
)
from moto.cloudformation.models import cloudformation_backends  # noqa: E402
from moto.cloudformation.parsing import CloudFormationModel  # noqa: E402
from moto.core.responses import ActionResult, EmptyResult  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402
from moto.organizations.models import organizations_backends  # noqa: E402

INSTANCE_LIMIT_S = float(os.environ.get("SAMLFED_STACK_INSTANCE_LIMIT_S", "900"))
MAX_OUS = 50  # API_CreateStackInstances.html: "The maximum number of organizational unit (OUs) ... is 50"


@dataclass
class Instance:
    account: str
    region: str
    ou: str | None
    stack_id: str | None = None
    status: str = "OUTDATED"  # CURRENT | OUTDATED | INOPERABLE
    detailed: str = "PENDING"  # PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | INOPERABLE
    reason: str = ""
    last_operation: str | None = None


@dataclass
class Operation:
    id: str
    action: str  # CREATE | UPDATE | DELETE
    targets: list[tuple[str, str]]
    preferences: dict[str, Any]
    deployment_targets: dict[str, Any] | None
    retain_stacks: bool = False
    status: str = "QUEUED"
    status_reason: str | None = None
    created: Any = field(default_factory=utcnow)
    ended: Any = None
    results: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class StackSetRecord:
    id: str
    arn: str
    name: str
    admin_account: str
    region: str
    template: str
    parameters: dict[str, str]
    description: str | None
    permission_model: str
    capabilities: list[str]
    tags: list[dict[str, str]]
    auto_deployment: dict[str, Any] | None
    managed_execution: dict[str, Any] | None
    admin_role: str
    exec_role: str
    status: str = "ACTIVE"
    instances: dict[tuple[str, str], Instance] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    run_lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self) -> dict[str, Any]:
        # Parameters and Tags as dicts: moto's DescribeStackSet serializer turns them into lists.
        return {
            "StackSetName": self.name, "StackSetId": self.id, "StackSetARN": self.arn,
            "Description": self.description, "Status": self.status, "TemplateBody": self.template,
            "Parameters": dict(self.parameters), "Capabilities": self.capabilities,
            "Tags": {t["Key"]: t["Value"] for t in self.tags}, "PermissionModel": self.permission_model,
            "AdministrationRoleARN": self.admin_role, "ExecutionRoleName": self.exec_role,
            "AutoDeployment": self.auto_deployment or {"Enabled": False},
            "ManagedExecution": self.managed_execution or {"Active": False},
        }


_STACKSETS: dict[tuple[str, str], dict[str, StackSetRecord]] = {}
_STACKSETS_LOCK = threading.RLock()


def _stack_sets(account: str, region: str) -> dict[str, StackSetRecord]:
    with _STACKSETS_LOCK:
        return _STACKSETS.setdefault((account, region), {})


def _find(account: str, region: str, name_or_id: str) -> StackSetRecord:
    for record in _stack_sets(account, region).values():
        if record.status != "DELETED" and name_or_id in (record.name, record.id):
            return record
    raise StackSetNotFoundException(name_or_id)


def _template_from_url(url: str, account: str, region: str) -> str:
    """An S3 object URL (virtual-hosted or path style), with ``?versionId=`` honoured (moto reads
    the latest version)."""
    parts = urlparse(url)
    host = parts.netloc.split(":")[0]
    path = parts.path.lstrip("/")
    if host.startswith("s3.") or host.startswith("s3-") or host in ("localhost", "127.0.0.1"):
        bucket, key = path.split("/", 1)
    else:
        bucket, key = host.split(".")[0], path
    version = (parse_qs(parts.query).get("versionId") or [None])[0]
    obj = s3_backends[account][get_partition(region)].get_object(bucket, key, version_id=version)
    if obj is None:
        raise ValidationError(message=f"TemplateURL must reference a valid S3 object to which you have access: {url}")
    return obj.value.decode("utf-8")


def _check_template(template: str, parameters: dict[str, str], account: str, region: str) -> None:
    """CreateStackSet / UpdateStackSet validate the template and its parameters up front."""
    ResourceMap("arn:aws:cloudformation:check", "StackSet-check", parameters, {}, region_name=region,
                account_id=account, template=Stack.parse_template(template), cross_stack_resources={}).load()


def _resolve_parameters(given: list[dict[str, Any]], previous: dict[str, str]) -> dict[str, str]:
    resolved: dict[str, str] = {}
    for p in given or []:
        key = p["ParameterKey"]
        if str(p.get("UsePreviousValue", "")).lower() == "true":
            if key not in previous:
                raise ValidationError(message=f"Parameter {key} has no previous value to use")
            resolved[key] = previous[key]
        else:
            resolved[key] = p.get("ParameterValue", "")
    return resolved


def _org_accounts(record: StackSetRecord, ou_ids: list[str]) -> list[tuple[str, str]]:
    """(account, OU) of every account under the OUs (children included), management account excluded."""
    org_backend = organizations_backends[record.admin_account][get_partition(record.region)]
    if getattr(org_backend, "org", None) is None:
        raise ValidationError(message="AWS Organizations is not in use: a SERVICE_MANAGED StackSet needs an organisation")
    known = {ou.id for ou in org_backend.ou}
    found: list[tuple[str, str]] = []
    for target in ou_ids:
        if target not in known:
            raise ValidationError(message=f"OrganizationalUnitId {target} does not exist in the organization")
        wanted, frontier = {target}, [target]
        for _ in range(100):  # OU trees are at most 5 levels deep; bounded anyway
            children = [ou.id for ou in org_backend.ou if ou.parent_id in frontier and ou.id not in wanted]
            if not children:
                break
            wanted.update(children)
            frontier = children
        for acct in org_backend.accounts:
            if acct.parent_id in wanted and acct.id != org_backend.org.master_account_id:
                found.append((acct.id, acct.parent_id))
    return found


def _targets(record: StackSetRecord, accounts: list[str], deployment_targets: dict[str, Any] | None,
             regions: list[str], creating: bool) -> list[tuple[str, str, str | None]]:
    """(account, region, OU) of an operation, as API_DeploymentTargets.html resolves them."""
    if not regions:
        raise ValidationError(message="Regions must be specified")
    if record.permission_model == "SERVICE_MANAGED":
        dt = deployment_targets or {}
        ous = list(dt.get("OrganizationalUnitIds") or [])
        if accounts or not ous:
            raise ValidationError(message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target")
        if len(ous) > MAX_OUS:
            raise ValidationError(message=f"The maximum number of organizational units (OUs) supported by an operation is {MAX_OUS}")
        chosen = _org_accounts(record, ous)
        listed = set(dt.get("Accounts") or [])
        kind = dt.get("AccountFilterType") or ("NONE" if not listed else "UNION")
        if listed and creating and kind in ("UNION", "NONE"):
            raise ValidationError(message="AccountFilterType UNION is not supported for CreateStackInstances; use INTERSECTION or DIFFERENCE")
        if kind == "INTERSECTION":
            chosen = [(a, ou) for a, ou in chosen if a in listed]
        elif kind == "DIFFERENCE":
            chosen = [(a, ou) for a, ou in chosen if a not in listed]
        pairs = [(a, ou) for a, ou in dict(chosen).items()]
    else:
        if deployment_targets and deployment_targets.get("OrganizationalUnitIds"):
            raise ValidationError(message="StackSets with SELF_MANAGED permission model can only have accounts as target")
        listed = accounts or list((deployment_targets or {}).get("Accounts") or [])
        if not listed:
            raise ValidationError(message="Accounts must be specified")
        pairs = [(a, None) for a in dict.fromkeys(listed)]
    return [(a, r, ou) for r in regions for a, ou in pairs]


def _tolerance(preferences: dict[str, Any], total: int) -> int:
    if preferences.get("FailureToleranceCount") not in (None, ""):
        return int(preferences["FailureToleranceCount"])
    if preferences.get("FailureTolerancePercentage") not in (None, ""):
        return int(total * int(preferences["FailureTolerancePercentage"]) // 100)
    return 0


def _failure_reason(stack: Stack) -> str:
    for event in stack.events:
        if str(event.resource_status).endswith("_FAILED") and event.resource_type != "AWS::CloudFormation::Stack":
            return (f"ResourceLogicalId:{event.logical_resource_id}, ResourceType:{event.resource_type}, "
                    f"ResourceStatusReason:{event.resource_status_reason}.")
    return f"Stack {stack.name} ended {stack.status}: {stack.status_reason or 'no reason given'}"


def _run_instance(record: StackSetRecord, op: Operation, instance: Instance) -> tuple[str, str]:
    """One account of an operation, on the engine. Returns (result status, reason)."""
    backend = cloudformation_backends[instance.account][instance.region]
    stack = backend.stacks.get(instance.stack_id) if instance.stack_id else None
    if op.action == "DELETE":
        if stack is not None and not op.retain_stacks:
            backend.delete_stack(stack.stack_id)
            _wait_until_settled(stack, INSTANCE_LIMIT_S)
            if stack.status != "DELETE_COMPLETE":
                return "FAILED", _failure_reason(stack)
        record.instances.pop((instance.account, instance.region), None)
        return "SUCCEEDED", ""
    if stack is not None and stack.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"):
        backend.delete_stack(stack.stack_id)  # a failed first create leaves nothing to update
        _wait_until_settled(stack, INSTANCE_LIMIT_S)
        stack = None
    if stack is None:
        name = f"StackSet-{record.name}-{uuid.uuid4()}"
        stack = backend.create_stack(name=name, template=record.template, parameters=dict(record.parameters),
                                     tags={t["Key"]: t["Value"] for t in record.tags} or None)
        instance.stack_id = stack.stack_id
        expected = "CREATE_COMPLETE"
    else:
        stack.update(record.template, parameters=dict(record.parameters))
        expected = "UPDATE_COMPLETE"
    _wait_until_settled(stack, INSTANCE_LIMIT_S)
    if stack.status == expected:
        return "SUCCEEDED", ""
    if str(stack.status).endswith("_IN_PROGRESS"):
        return "FAILED", f"Stack {stack.name} still {stack.status} after {INSTANCE_LIMIT_S:.0f} s"
    return "FAILED", _failure_reason(stack)


def _run_operation(record: StackSetRecord, op: Operation) -> None:
    with record.run_lock:  # ManagedExecution: operations on one StackSet queue
        op.status = "RUNNING"
        tolerance = _tolerance(op.preferences, len(op.targets))
        failures = 0
        for i, key in enumerate(op.targets):
            instance = record.instances.get(key)
            if op.stop.is_set() or failures > tolerance:
                for rest in op.targets[i:]:
                    op.results[rest] = ("CANCELLED", "Cancelled since failure tolerance has exceeded"
                                        if failures > tolerance else "Cancelled by StopStackSetOperation")
                    if rest in record.instances and record.instances[rest].detailed == "PENDING":
                        record.instances[rest].detailed = "CANCELLED"
                break
            if instance is None:  # deleted meanwhile
                op.results[key] = ("SUCCEEDED", "")
                continue
            op.results[key] = ("RUNNING", "")
            instance.detailed = "RUNNING"
            instance.last_operation = op.id
            try:
                status, reason = _run_instance(record, op, instance)
            except Exception as exc:  # noqa: BLE001 - whatever fails is this account's failure
                status, reason = "FAILED", f"{type(exc).__name__}: {exc}"
            op.results[key] = (status, reason)
            if op.action != "DELETE" or status == "FAILED":
                instance.detailed = status
                instance.reason = reason
                instance.status = "CURRENT" if status == "SUCCEEDED" else "OUTDATED"
            if status == "FAILED":
                failures += 1
        if op.stop.is_set():
            op.status = "STOPPED"
        elif failures > tolerance:
            op.status = "FAILED"
            op.status_reason = "The Operation failed because the failure tolerance was exceeded"
        else:
            op.status = "SUCCEEDED"
        op.ended = utcnow()


def _start(record: StackSetRecord, action: str, targets: list[tuple[str, str, str | None]],
           preferences: dict[str, Any] | None, deployment_targets: dict[str, Any] | None,
           operation_id: str | None, retain_stacks: bool = False) -> Operation:
    op = Operation(id=operation_id or str(uuid.uuid4()), action=action, targets=[(a, r) for a, r, _ in targets],
                   preferences=dict(preferences or {}), deployment_targets=deployment_targets,
                   retain_stacks=retain_stacks)
    for account, region, ou in targets:
        instance = record.instances.get((account, region))
        if instance is None and action == "CREATE":
            instance = record.instances[(account, region)] = Instance(account, region, ou)
        if instance is not None:
            instance.detailed = "PENDING"
    record.operations.append(op)
    threading.Thread(target=_run_operation, args=(record, op), name=f"stackset-{action.lower()}", daemon=True).start()
    return op


def _new_record(account: str, region: str, name: str, template: str, parameters: dict[str, str],
                description: str | None, permission_model: str | None, capabilities: list[str],
                tags: list[dict[str, str]], auto_deployment: dict[str, Any] | None,
                managed_execution: dict[str, Any] | None, admin_role: str | None,
                exec_role: str | None) -> StackSetRecord:
    if not re.match(r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$", name or ""):
        raise ValidationError(message=f"1 validation error detected: Value '{name}' at 'stackSetName' failed to satisfy constraint")
    for record in _stack_sets(account, region).values():
        if record.name == name and record.status != "DELETED":
            raise ValidationError(message=f"StackSet {name} already exists")  # NameAlreadyExistsException in AWS
    _check_template(template, parameters, account, region)
    stack_set_id = f"{name}:{uuid.uuid4()}"
    partition = get_partition(region)
    record = StackSetRecord(
        id=stack_set_id, arn=f"arn:{partition}:cloudformation:{region}:{account}:stackset/{stack_set_id}",
        name=name, admin_account=account, region=region, template=template, parameters=parameters,
        description=description, permission_model=permission_model or "SELF_MANAGED", capabilities=capabilities,
        tags=tags, auto_deployment=auto_deployment, managed_execution=managed_execution,
        admin_role=admin_role or f"arn:{partition}:iam::{account}:role/AWSCloudFormationStackSetAdministrationRole",
        exec_role=exec_role or "AWSCloudFormationStackSetExecutionRole",
    )
    with _STACKSETS_LOCK:
        _stack_sets(account, region)[stack_set_id] = record
    return record


# API actions ------------------------------------------------------------------------------------
def _params(self: CloudFormationResponse) -> dict[str, Any]:
    return self._get_params()


def response_create_stack_set(self: CloudFormationResponse) -> ActionResult:
    p = _params(self)
    template = p.get("TemplateBody") or (_template_from_url(p["TemplateURL"], self.current_account, self.region)
                                         if p.get("TemplateURL") else None)
    if not template:
        raise ValidationError(message="Either TemplateBody or TemplateURL must be specified")
    record = _new_record(
        self.current_account, self.region, p.get("StackSetName", ""), template,
        _resolve_parameters(p.get("Parameters") or [], {}), p.get("Description"), p.get("PermissionModel"),
        list(p.get("Capabilities") or []), list(p.get("Tags") or []), p.get("AutoDeployment"),
        p.get("ManagedExecution"), p.get("AdministrationRoleARN"), p.get("ExecutionRoleName"))
    return ActionResult({"StackSetId": record.id})


def response_describe_stack_set(self: CloudFormationResponse) -> ActionResult:
    record = _find(self.current_account, self.region, self._get_param("StackSetName"))
    return ActionResult({"StackSet": record.describe()})


def response_list_stack_sets(self: CloudFormationResponse) -> ActionResult:
    status = self._get_param("Status")
    summaries = [
        {"StackSetName": r.name, "StackSetId": r.id, "Description": r.description, "Status": r.status,
         "PermissionModel": r.permission_model, "AutoDeployment": r.auto_deployment or {"Enabled": False},
         "ManagedExecution": r.managed_execution or {"Active": False}}
        for r in _stack_sets(self.current_account, self.region).values() if not status or r.status == status
    ]
    return ActionResult({"Summaries": summaries})


def response_delete_stack_set(self: CloudFormationResponse) -> EmptyResult:
    record = _find(self.current_account, self.region, self._get_param("StackSetName"))
    if record.instances:
        raise StackSetNotEmpty()
    record.status = "DELETED"
    return EmptyResult()


def response_create_stack_instances(self: CloudFormationResponse) -> ActionResult:
    p = _params(self)
    record = _find(self.current_account, self.region, p.get("StackSetName", ""))
    if p.get("ParameterOverrides"):
        raise ValidationError(message="ParameterOverrides are not emulated (tools/emulator_stacksets.py)")
    targets = _targets(record, list(p.get("Accounts") or []), p.get("DeploymentTargets"),
                       list(p.get("Regions") or []), creating=True)
    # API_CreateStackInstances.html: an existing instance is left as it is.
    targets = [t for t in targets if (t[0], t[1]) not in record.instances]
    op = _start(record, "CREATE", targets, p.get("OperationPreferences"), p.get("DeploymentTargets"), p.get("OperationId"))
    return ActionResult({"OperationId": op.id})


def response_update_stack_set(self: CloudFormationResponse) -> ActionResult:
    p = _params(self)
    record = _find(self.current_account, self.region, p.get("StackSetName", ""))
    if str(p.get("UsePreviousTemplate", "")).lower() == "true":
        template = record.template
    elif p.get("TemplateBody") or p.get("TemplateURL"):
        template = p.get("TemplateBody") or _template_from_url(p["TemplateURL"], self.current_account, self.region)
    else:
        raise ValidationError(message="Specify TemplateBody, TemplateURL or UsePreviousTemplate")
    parameters = _resolve_parameters(p.get("Parameters") or [], record.parameters) if p.get("Parameters") else dict(record.parameters)
    _check_template(template, parameters, self.current_account, self.region)
    accounts, regions, dt = list(p.get("Accounts") or []), list(p.get("Regions") or []), p.get("DeploymentTargets")
    if accounts or regions or dt:
        wanted = {(a, r) for a, r, _ in _targets(record, accounts, dt, regions, creating=False)}
        targets = [(a, r, i.ou) for (a, r), i in record.instances.items() if (a, r) in wanted]
    else:
        targets = [(a, r, i.ou) for (a, r), i in record.instances.items()]
    if template != record.template or parameters != record.parameters:
        # API_UpdateStackSet.html: "CloudFormation marks all stack instances with a status of
        # OUTDATED prior to updating the stack instances in the specified accounts and Regions".
        for instance in record.instances.values():
            instance.status = "OUTDATED"
    record.template, record.parameters = template, parameters
    if p.get("Description") is not None:
        record.description = p["Description"]
    if p.get("Capabilities"):
        record.capabilities = list(p["Capabilities"])
    op = _start(record, "UPDATE", targets, p.get("OperationPreferences"), dt, p.get("OperationId"))
    return ActionResult({"OperationId": op.id})


def response_delete_stack_instances(self: CloudFormationResponse) -> ActionResult:
    p = _params(self)
    record = _find(self.current_account, self.region, p.get("StackSetName", ""))
    wanted = {(a, r) for a, r, _ in _targets(record, list(p.get("Accounts") or []), p.get("DeploymentTargets"),
                                             list(p.get("Regions") or []), creating=False)}
    targets = [(a, r, i.ou) for (a, r), i in record.instances.items() if (a, r) in wanted]
    retain = str(p.get("RetainStacks", "")).lower() == "true"
    op = _start(record, "DELETE", targets, p.get("OperationPreferences"), p.get("DeploymentTargets"),
                p.get("OperationId"), retain_stacks=retain)
    return ActionResult({"OperationId": op.id})


def _instance_summary(record: StackSetRecord, i: Instance) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "StackSetId": record.id, "Region": i.region, "Account": i.account, "StackId": i.stack_id,
        "Status": i.status, "StackInstanceStatus": {"DetailedStatus": i.detailed},
        "OrganizationalUnitId": i.ou, "LastOperationId": i.last_operation,
    }
    if i.reason:
        summary["StatusReason"] = i.reason
    return summary


def response_list_stack_instances(self: CloudFormationResponse) -> ActionResult:
    record = _find(self.current_account, self.region, self._get_param("StackSetName"))
    account, region = self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion")
    filters = {f.get("Name"): f.get("Values") for f in (self._get_param("Filters") or [])}
    rows = []
    for i in list(record.instances.values()):
        if (account and i.account != account) or (region and i.region != region):
            continue
        if filters.get("DETAILED_STATUS") and i.detailed != filters["DETAILED_STATUS"]:
            continue
        if filters.get("LAST_OPERATION_ID") and i.last_operation != filters["LAST_OPERATION_ID"]:
            continue
        rows.append(_instance_summary(record, i))
    return ActionResult({"Summaries": rows})


def response_describe_stack_instance(self: CloudFormationResponse) -> ActionResult:
    record = _find(self.current_account, self.region, self._get_param("StackSetName"))
    key = (self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion"))
    if key not in record.instances:
        raise StackInstanceNotFound()
    i = record.instances[key]
    instance = {**_instance_summary(record, i), "ParameterOverrides": []}
    instance.pop("LastOperationId", None)
    return ActionResult({"StackInstance": instance})


def _operation(record: StackSetRecord, operation_id: str) -> Operation:
    for op in record.operations:
        if op.id == operation_id:
            return op
    from moto.core.exceptions import ServiceException

    class OperationNotFoundException(ServiceException):
        code = "OperationNotFoundException"

    raise OperationNotFoundException(f"Operation {operation_id} not found")


def response_list_stack_set_operations(self: CloudFormationResponse) -> ActionResult:
    record = _find(self.current_account, self.region, self._get_param("StackSetName"))
    summaries = [
        {"OperationId": op.id, "Action": op.action, "Status": op.status, "CreationTimestamp": op.created,
         "EndTimestamp": op.ended, "StatusReason": op.status_reason}
        for op in record.operations
    ]
    return ActionResult({"Summaries": summaries})


def response_describe_stack_set_operation(self: CloudFormationResponse) -> ActionResult:
    record = _find(self.current_account, self.region, self._get_param("StackSetName"))
    op = _operation(record, self._get_param("OperationId"))
    failed = sum(1 for status, _ in op.results.values() if status == "FAILED")
    body: dict[str, Any] = {
        "OperationId": op.id, "StackSetId": record.id, "Action": op.action, "Status": op.status,
        "OperationPreferences": op.preferences, "RetainStacks": op.retain_stacks,
        "AdministrationRoleARN": record.admin_role, "ExecutionRoleName": record.exec_role,
        "CreationTimestamp": op.created, "EndTimestamp": op.ended, "StatusReason": op.status_reason,
        "StatusDetails": {"FailedStackInstancesCount": failed},
    }
    if op.deployment_targets:
        body["DeploymentTargets"] = op.deployment_targets
    return ActionResult({"StackSetOperation": body})


def response_list_stack_set_operation_results(self: CloudFormationResponse) -> ActionResult:
    record = _find(self.current_account, self.region, self._get_param("StackSetName"))
    op = _operation(record, self._get_param("OperationId"))
    filters = {f.get("Name"): f.get("Values") for f in (self._get_param("Filters") or [])}
    rows = []
    for (account, region) in op.targets:
        status, reason = op.results.get((account, region), ("PENDING", ""))
        if filters.get("OPERATION_RESULT_STATUS") and status != filters["OPERATION_RESULT_STATUS"]:
            continue
        row: dict[str, Any] = {"Account": account, "Region": region, "Status": status,
                               "AccountGateResult": {"Status": "SKIPPED", "StatusReason": "No account gate function"}}
        if reason:
            row["StatusReason"] = reason
        instance = record.instances.get((account, region))
        if instance is not None and instance.ou:
            row["OrganizationalUnitId"] = instance.ou
        rows.append(row)
    return ActionResult({"Summaries": rows})


def response_stop_stack_set_operation(self: CloudFormationResponse) -> EmptyResult:
    record = _find(self.current_account, self.region, self._get_param("StackSetName"))
    op = _operation(record, self._get_param("OperationId"))
    if op.status in ("QUEUED", "RUNNING"):
        op.stop.set()
        op.status = "STOPPING"
    return EmptyResult()


for _name, _fn in {
    "create_stack_set": response_create_stack_set, "describe_stack_set": response_describe_stack_set,
    "list_stack_sets": response_list_stack_sets, "delete_stack_set": response_delete_stack_set,
    "update_stack_set": response_update_stack_set, "create_stack_instances": response_create_stack_instances,
    "delete_stack_instances": response_delete_stack_instances, "list_stack_instances": response_list_stack_instances,
    "describe_stack_instance": response_describe_stack_instance,
    "list_stack_set_operations": response_list_stack_set_operations,
    "describe_stack_set_operation": response_describe_stack_set_operation,
    "list_stack_set_operation_results": response_list_stack_set_operation_results,
    "stop_stack_set_operation": response_stop_stack_set_operation,
}.items():
    setattr(CloudFormationResponse, _name, _fn)


# AWS::CloudFormation::StackSet (aws-resource-cloudformation-stackset.html): moto has no model
# for it. Create makes the StackSet (and, with StackInstancesGroup, starts CreateStackInstances
# without waiting for it); Ref is the StackSetId, as in CloudFormation; Delete removes an empty
# StackSet (DeletionPolicy Retain, which the engine honours, keeps it).
class FakeStackSetResource(CloudFormationModel):
    # moto's model metaclass files every model under the service named in its module path.
    __module__ = "moto.cloudformation.samlfed_stackset"

    def __init__(self, record: StackSetRecord) -> None:
        self.record = record

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudFormation::StackSet"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StackSetName"

    @property
    def physical_resource_id(self) -> str:
        return self.record.id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "StackSetId"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "StackSetId":
            return self.record.id
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> "FakeStackSetResource":
        props = cloudformation_json.get("Properties") or {}
        template = props.get("TemplateBody") or _template_from_url(props["TemplateURL"], account_id, region_name)
        record = _new_record(
            account_id, region_name, props.get("StackSetName") or resource_name, template,
            {p["ParameterKey"]: str(p.get("ParameterValue", "")) for p in props.get("Parameters") or []},
            props.get("Description"), props.get("PermissionModel"), list(props.get("Capabilities") or []),
            list(props.get("Tags") or []), props.get("AutoDeployment"), props.get("ManagedExecution"),
            props.get("AdministrationRoleARN"), props.get("ExecutionRoleName"))
        for group in props.get("StackInstancesGroup") or []:
            dt = group.get("DeploymentTargets") or {}
            targets = _targets(record, [] if record.permission_model == "SERVICE_MANAGED" else list(dt.get("Accounts") or []),
                               dt, list(group.get("Regions") or []), creating=True)
            _start(record, "CREATE", targets, props.get("OperationPreferences"), dt, None)
        return cls(record)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str) -> None:
        for record in _stack_sets(account_id, region_name).values():
            if record.id == resource_name or record.name == resource_name:
                if record.instances:
                    raise StackSetNotEmpty()
                record.status = "DELETED"

    def delete(self, account_id: str, region_name: str) -> None:
        if self.record.instances:
            raise StackSetNotEmpty()
        self.record.status = "DELETED"


try:  # moto builds its type map once (lru_cache): let it see the new model
    from moto.cloudformation import parsing as _cfn_parsing

    _cfn_parsing.get_model_map.cache_clear()
    _cfn_parsing.get_name_type_map.cache_clear()
except AttributeError:
    pass
