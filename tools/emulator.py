#!/usr/bin/env python3
"""Local AWS emulator for samlfed's tests and demo: moto 5.2.5 in server mode, made stricter.

Usage
-----
    python tools/emulator.py [--port N] [--verbose] [--no-stdin-watchdog]

Contract (what tests and scripts may rely on)
---------------------------------------------
* Listens on 127.0.0.1 only (never 0.0.0.0). ``--port 0`` (the default) picks a free port.
* Prints exactly one line to stdout, ``PORT=<n>``, flushed, once the socket is listening and the
  serving thread runs. Nothing else is ever written to stdout; logs go to stderr. Per-request
  access logs only with ``--verbose``.
* Exits 0 on SIGTERM, SIGINT or SIGHUP, and also by itself when its stdin reaches EOF: start it
  with ``stdin=PIPE`` and keep the pipe open; when the parent dies, the pipe closes and the
  emulator goes with it. For a manual run in the background (where stdin is /dev/null), pass
  ``--no-stdin-watchdog``.
* Point SDKs at ``http://127.0.0.1:<n>`` (``AWS_ENDPOINT_URL``). S3 must be path-style
  (``force_path_style(true)`` in the Rust SDK); bucket names that resolve as virtual hosts of
  127.0.0.1 are not supported.
* AWS managed policies (``arn:aws:iam::aws:policy/...``) exist, as in real IAM
  (``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` is set unless the caller set it).

Accounts
--------
moto 5.2.5 picks the account of a request, in this order (moto/core/responses.py,
``BaseResponse.get_current_account``): the ``MOTO_ACCOUNT_ID`` environment variable (whole server),
then an ``x-moto-account-id`` request header, then the access key id if it is one moto itself
issued (e.g. by ``sts:AssumeRole`` into another account; moto/iam/models.py
``get_account_id_from``), else ``123456789012``. moto does NOT use a 12-digit access key id as the
account id (its access-key regex only matches 20-character AKIA-style ids).
This wrapper adds, between the header and moto's own look-up: **an access key id of exactly 12
digits is the account id** (the LocalStack convention). So ``AWS_ACCESS_KEY_ID=111111111111``
talks to account 111111111111, ``222222222222`` to another, and tests get isolation without
headers. The key id is read from the ``Authorization`` header (SigV4, or SigV2) or, for presigned
URLs, from ``X-Amz-Credential`` (SigV4) or ``AWSAccessKeyId`` (SigV2). S3 bucket names stay global across accounts, as in AWS.

Call log
--------
Every request the server handles is recorded, in arrival order, before it is dispatched, as
``{"service": ..., "action": ..., "account": ..., "access_key": ...}``:
* ``service``: the moto backend the request is routed to (``iam``, ``s3``, ``sts``, ...).
* ``action``: for query/JSON protocols (IAM, STS, ...), the ``Action`` form/query parameter or
  the ``X-Amz-Target`` operation; for S3, derived from method, path and query by ``s3_action``
  below (GET object -> GetObject, PUT object -> PutObject, PUT bucket -> CreateBucket, ...).
* ``account``: the account chosen as described above.
* ``access_key``: the access key id that signed the request ("" if unsigned), so a test can tell
  the calls of the code under test from its own inspection calls in the same account.
``GET /_samlfed/calls`` returns the list as JSON; ``DELETE /_samlfed/calls`` clears it (204).
``GET /_samlfed/cfn-requests`` returns every custom-resource request the CloudFormation engine
sent (below), in order, for tools that replay CloudFormation's own events (``make bench``).
``GET /_samlfed/lambda-output?FunctionArn=ARN`` returns what the function's process wrote (its
log, which Lambda would send to CloudWatch Logs); ``&stop=true`` first ends the process, so the
text is complete.
Requests to ``/_samlfed/...`` and to moto's own ``/moto-api/...`` (reset, etc.) are never
recorded. ``/_samlfed`` cannot collide with S3 path-style bucket paths: bucket names start with a
lower-case letter or digit.

Stricter IAM
------------
moto 5.2.5 is laxer than IAM for SAML providers (duplicate names overwritten, missing ARNs
deleted with 200, no name/length/tag/quota checks, Tags and SAMLProviderUUID dropped, the SAML
provider tag APIs unimplemented) and for a few role APIs. The section "PATCHES" below makes it
answer as the IAM API reference documents; each patch cites its page.

Lambda runs the function's own bootstrap (test-only extension)
---------------------------------------------------------------
moto runs Lambda functions in Docker. Here an invocation (the Invoke API, and CloudFormation's
custom-resource requests) unpacks the function's zip and runs its ``bootstrap`` as a child
process against tools/runtime_api.py, through tools/lambda_local.py: one warm process per
function (reused while its code and configuration stay the same), the function's ARN and
``Timeout`` deadline on every invocation, the environment Lambda documents (LoggingConfig
becomes ``AWS_LAMBDA_LOG_FORMAT``/``AWS_LAMBDA_LOG_LEVEL``; ``Environment.Variables``), plus
``AWS_ENDPOINT_URL`` = this emulator and ``AWS_ACCESS_KEY_ID`` = the function's account id. Only
OS-only runtimes (``provided.al2``, ``provided.al2023``) run. The processes' output goes to this
emulator's stderr, each line prefixed ``lambda <name>:``, and to ``/_samlfed/lambda-output``; they
are killed by PID when the emulator exits (and end by themselves when it dies, as their Runtime
API goes away). ``--function PATH`` deploys the ``bootstrap`` at PATH at start-up as the function
``samlfed`` (account 123456789012, us-east-1, ``SAMLFED_ORIGIN_CHECK=off``: no CloudFormation
operation stands behind an event sent by hand), for ``samlfed invoke``.

CloudFormation runs custom resources (test-only extension)
-----------------------------------------------------------
CreateStack, UpdateStack and DeleteStack answer at once and run in a thread per operation, as in
CloudFormation: ``*_IN_PROGRESS`` until every resource is done. Resources are created in
dependency order (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``DependsOn``). A custom resource
(``Custom::*``, ``AWS::CloudFormation::CustomResource``) is sent the request CloudFormation sends
(crpg-ref-requests.html): every property value a string, ``ServiceToken``/``ServiceTimeout`` also
at the top level, a ResponseURL on this emulator (``PUT /cloudformation_<region>/cfnresponse?…``,
the origin of the functions' ``AWS_ENDPOINT_URL``, logged in the call log as
``cloudformation:CustomResourceResponse``). The stack waits for the answer (ServiceTimeout, at most
``SAMLFED_CFN_RESPONSE_TIMEOUT_S``, default 120 s); ``Ref`` is the answered PhysicalResourceId,
``Fn::GetAtt`` reads its Data.
* Create: a FAILED answer (or none) fails the resource; the stack rolls back (ROLLBACK_IN_PROGRESS:
  every resource whose creation was attempted is deleted newest first — a custom resource that
  answered, even FAILED, gets a Delete with the PhysicalResourceId it answered) and ends
  ROLLBACK_COMPLETE (ROLLBACK_FAILED if a Delete fails). ``DeletionPolicy: Retain`` is honoured.
* Update: a custom resource whose resolved properties changed gets an Update (ResourceProperties,
  OldResourceProperties, its PhysicalResourceId); a different PhysicalResourceId in the answer is a
  replacement, and the old one gets its Delete in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, after every
  update, as do resources the template no longer has. A failure rolls the update back
  (UPDATE_ROLLBACK_*: in-place updates are sent back to the old properties, replaced resources get
  their old physical resource back, what the update created is deleted in the cleanup).
* Delete: resources in reverse dependency order; a failed Delete ends in DELETE_FAILED and keeps
  what the failed resource depends on.
DescribeStackResource(s), ListStackResources and DescribeStackEvents show each resource's own
status (CREATE_IN_PROGRESS while its function works on it), PhysicalResourceId and reason.
Template handling moto gets wrong is fixed where the project's templates need it: ``AWS::NoValue``
removes a list element, ``CommaDelimitedList`` defaults are lists, parameter constraints
(AllowedPattern, AllowedValues, Min/MaxLength, Min/MaxValue) are enforced; Outputs and Parameters
are strings. Not emulated: OnFailure/DisableRollback and RetainExceptOnCreate (a failed Create
always rolls back), parallel resource operations, change sets (ExecuteChangeSet keeps moto's own
synchronous handling), SNS service tokens, stack policies, waiting for nested stacks, Lambda's
retries of a failed asynchronous invocation, and IAM permission checks of any kind.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import io
import json
import os
import re
import secrets
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, quote, unquote

# Must be set before moto builds any IAM backend.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

import moto  # noqa: E402
from moto.awslambda.models import LambdaBackend, LambdaFunction  # noqa: E402
from moto.awslambda.utils import get_backend as get_lambda_backend  # noqa: E402
from moto.cloudformation import parsing as cfn_parsing  # noqa: E402
from moto.cloudformation.custom_model import CustomModel  # noqa: E402
from moto.cloudformation.exceptions import ValidationError as CfnValidationError  # noqa: E402
from moto.cloudformation.models import CloudFormationBackend, Event, Stack, cloudformation_backends  # noqa: E402
from moto.cloudformation.parsing import ResourceMap  # noqa: E402
from moto.cloudformation.responses import CloudFormationResponse  # noqa: E402
from moto.core.responses import ActionResult, BaseResponse, EmptyResult  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402
from moto.iam import models as iam_models  # noqa: E402
from moto.iam.exceptions import (  # noqa: E402
    EntityAlreadyExists,
    LimitExceededException,
    MalformedPolicyDocument,
    TooManyTags,
    ValidationError,
)
from moto.iam.models import IAMBackend, get_account_id_from  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.iam.policy_validation import IAMTrustPolicyDocumentValidator  # noqa: E402
from moto.iam.responses import IamResponse  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__ of the helper modules in the source tree
import lambda_local  # noqa: E402  (tools/lambda_local.py: the local Lambda, on tools/runtime_api.py)
import emulator_stacksets  # noqa: E402,F401  (tools/emulator_stacksets.py: change sets, StackSets, operator-path fixes)

TESTED_MOTO_VERSION = "5.2.5"
CONTROL_PREFIX = "/_samlfed/"


def log(msg: str) -> None:
    print(f"emulator: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Account selection
# ---------------------------------------------------------------------------------------------
_SIGV4_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/")
_SIGV2_AUTH_RE = re.compile(r"^AWS ([^:\s]+):")
_TWELVE_DIGITS = re.compile(r"\d{12}")


def access_key_id(authorization: str | None, query: dict[str, list[str]]) -> str | None:
    """The access key id of a request: SigV4 or SigV2 Authorization header, else the presigned
    query (SigV4 ``X-Amz-Credential``, SigV2 ``AWSAccessKeyId``)."""
    if authorization:
        m = _SIGV4_CREDENTIAL_RE.search(authorization) or _SIGV2_AUTH_RE.match(authorization)
        if m:
            return m.group(1)
    credential = (query.get("X-Amz-Credential") or [None])[0]
    if credential:
        return credential.split("/", 1)[0]
    return (query.get("AWSAccessKeyId") or [None])[0]


def twelve_digit_account(authorization: str | None, query: dict[str, list[str]]) -> str | None:
    akid = access_key_id(authorization, query)
    if akid and _TWELVE_DIGITS.fullmatch(akid):
        return akid
    return None


def account_for_environ(environ: dict[str, Any]) -> str:
    """Same choice as the patched BaseResponse.get_current_account, from a WSGI environ."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    auth = environ.get("HTTP_AUTHORIZATION")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    key = access_key_id(auth, query)
    if not key:
        # An unsigned request (a custom resource's PUT to its ResponseURL): moto's default account.
        # Not get_account_id_from(""): it answers the same after visiting iam_backends[account][p]
        # for every account and partition, which creates each missing IAM backend and loads its
        # AWS managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES) — seconds with many accounts.
        return DEFAULT_ACCOUNT_ID
    return twelve_digit_account(auth, query) or get_account_id_from(key)


# ---------------------------------------------------------------------------------------------
# PATCHES — every change to moto's behaviour is in this section.
# Error codes and HTTP statuses are those of the IAM API reference
# (https://docs.aws.amazon.com/IAM/latest/APIReference/), which match the botocore model shipped
# with moto (botocore/data/iam/2010-05-08/service-2.json): EntityAlreadyExists 409,
# NoSuchEntity 404, LimitExceeded 409, InvalidInput 400, MalformedPolicyDocument 400.
# Parameter constraint violations (length, pattern, range) are answered, as by every AWS query
# API, with ValidationError 400 "1 validation error detected: Value '…' at '…' failed to satisfy
# constraint: …" (API reference, Common Errors: "ValidationError — The input fails to satisfy
# the constraints specified by an AWS service. HTTP Status Code: 400"). moto formats all of these
# as it formats its own IAM errors (<ErrorResponse><Error><Type>Sender</Type><Code>…).
# ---------------------------------------------------------------------------------------------

# Patch 0 — account selection: a 12-digit access key id is the account id (see module doc).
_orig_get_current_account = BaseResponse.get_current_account


def _get_current_account(self: BaseResponse) -> str:
    if "MOTO_ACCOUNT_ID" in os.environ or "x-moto-account-id" in self.headers:
        return _orig_get_current_account(self)
    query = self.querystring if isinstance(self.querystring, dict) else {}
    return twelve_digit_account(self.headers.get("Authorization"), query) or _orig_get_current_account(self)


BaseResponse.get_current_account = _get_current_account  # type: ignore[method-assign]

# Limits from the IAM API reference and the IAM User Guide, "IAM and AWS STS quotas".
SAML_PROVIDERS_PER_ACCOUNT = 100  # "SAML providers in an AWS account: 100"
TAGS_PER_RESOURCE = 50  # "Tags per IAM resource: 50"; tagListType max 50
MANAGED_POLICIES_PER_ROLE = 10  # "Managed policies attached to an IAM role: 10" (default quota)
SAML_NAME_RE = re.compile(r"[\w._-]+", re.ASCII)  # API_CreateSAMLProvider: Name, Pattern [\w._-]+
ROLE_NAME_RE = re.compile(r"[\w+=,.@-]+", re.ASCII)  # API_CreateRole: RoleName, Pattern [\w+=,.@-]+


def _validation(value: Any, field: str, constraint: str, show_value: bool = True) -> ValidationError:
    shown = f"Value '{value}' at '{field}'" if show_value else f"Value at '{field}'"
    return ValidationError(f"1 validation error detected: {shown} failed to satisfy constraint: {constraint}")


def _check_length(value: str, field: str, lo: int, hi: int, show_value: bool = True) -> None:
    if len(value) < lo:
        raise _validation(value, field, f"Member must have length greater than or equal to {lo}", show_value)
    if len(value) > hi:
        raise _validation(value, field, f"Member must have length less than or equal to {hi}", show_value)


def _check_saml_name(name: str | None) -> None:
    # API_CreateSAMLProvider, Name: "Length Constraints: Minimum length of 1. Maximum length of
    # 128. Pattern: [\w._-]+" -> ValidationError 400.
    name = name or ""
    _check_length(name, "name", 1, 128)
    if not SAML_NAME_RE.fullmatch(name):
        raise _validation(name, "name", r"Member must satisfy regular expression pattern: [\w._-]+")


def _check_saml_document(doc: str | None) -> None:
    # API_CreateSAMLProvider / API_UpdateSAMLProvider, SAMLMetadataDocument: "Length Constraints:
    # Minimum length of 1000. Maximum length of 10000000." -> ValidationError 400.
    _check_length(doc or "", "sAMLMetadataDocument", 1000, 10_000_000, show_value=False)


def _sorted_tags(tags: list[dict[str, str]]) -> list[dict[str, str]]:
    # CreateSAMLProvider / GetSAMLProvider: "The returned list of tags is sorted by tag key."
    return sorted(({"Key": t["Key"], "Value": t["Value"]} for t in tags), key=lambda t: t["Key"])


def _merge_tags(existing: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    # API_TagRole / API_TagSAMLProvider: "If a tag with the same key name already exists, then
    # that tag is overwritten with the new value." More than 50 in total -> LimitExceeded 409
    # (API_TagSAMLProvider, Errors: "LimitExceeded — The request was rejected because it
    # attempted to create resources beyond the current AWS account limits. HTTP 409").
    new_keys = {t["Key"] for t in new}
    merged = [t for t in existing if t["Key"] not in new_keys] + list(new)
    if len(merged) > TAGS_PER_RESOURCE:
        raise LimitExceededException("The number of tags has reached the maximum limit.")
    return merged


# --- IAM backend: SAML providers (wrapping moto's own methods) ---------------------------------
_orig_backend_create_saml = IAMBackend.create_saml_provider
_orig_backend_update_saml = IAMBackend.update_saml_provider
_orig_backend_delete_saml = IAMBackend.delete_saml_provider


def backend_create_saml_provider(
    self: IAMBackend, name: str, saml_metadata_document: str, tags: list[dict[str, str]] | None = None
) -> iam_models.SAMLProvider:
    """API_CreateSAMLProvider.

    * Name / SAMLMetadataDocument constraints -> ValidationError 400 (see the helpers above).
    * Tags: "If any one of the tags is invalid or if you exceed the allowed maximum number of
      tags, then the entire request fails and the resource is not created." moto's own tag
      verification (as for CreateRole): >50 -> ValidationError, bad key/value -> ValidationError,
      duplicate keys -> InvalidInput 400.
    * "EntityAlreadyExists — The request was rejected because it attempted to create a resource
      that already exists. HTTP Status Code: 409" (moto silently overwrites).
    * "LimitExceeded — The request was rejected because it attempted to create resources beyond
      the current AWS account limits. HTTP Status Code: 409" — 100 SAML providers per account.
    * Keeps the Tags and assigns a SAMLProviderUUID (GetSAMLProvider returns both).
    """
    _check_saml_name(name)
    _check_saml_document(saml_metadata_document)
    tags = list(tags or [])
    self._tag_verification(tags)
    if name in self.saml_providers:
        raise EntityAlreadyExists(f"SAMLProvider {name} already exists")
    if len(self.saml_providers) >= SAML_PROVIDERS_PER_ACCOUNT:
        raise LimitExceededException(
            f"Cannot exceed quota for SAMLProvidersPerAccount: {SAML_PROVIDERS_PER_ACCOUNT}"
        )
    provider = _orig_backend_create_saml(self, name, saml_metadata_document)
    provider.tags = _sorted_tags(tags)
    # GetSAMLProvider.SAMLProviderUUID has shape privateKeyIdType: [A-Z0-9]+, length 22-64. A
    # uuid4 as 32 upper-case hex digits fits it; treat the value as opaque.
    provider.saml_provider_uuid = uuid.uuid4().hex.upper()
    return provider


def backend_update_saml_provider(
    self: IAMBackend, saml_provider_arn: str, saml_metadata_document: str
) -> iam_models.SAMLProvider:
    """API_UpdateSAMLProvider: document length -> ValidationError 400; a missing ARN is already
    NoSuchEntity 404 in moto ("NoSuchEntity — The request was rejected because it referenced a
    resource entity that does not exist. HTTP Status Code: 404")."""
    _check_saml_document(saml_metadata_document)
    return _orig_backend_update_saml(self, saml_provider_arn, saml_metadata_document)


def backend_delete_saml_provider(self: IAMBackend, saml_provider_arn: str) -> None:
    """API_DeleteSAMLProvider: "NoSuchEntity … HTTP Status Code: 404" for a missing ARN
    (moto answers 200)."""
    self.get_saml_provider(saml_provider_arn)  # raises NotFoundException (NoSuchEntity, 404)
    _orig_backend_delete_saml(self, saml_provider_arn)


def backend_tag_saml_provider(self: IAMBackend, saml_provider_arn: str, tags: list[dict[str, str]]) -> None:
    """API_TagSAMLProvider (moto: NotImplemented 500). NoSuchEntity 404; invalid tags as for
    TagRole (ValidationError / InvalidInput); >50 in total -> LimitExceeded 409."""
    self._tag_verification(tags)
    provider = self.get_saml_provider(saml_provider_arn)
    provider.tags = _sorted_tags(_merge_tags(getattr(provider, "tags", []), tags))


def backend_untag_saml_provider(self: IAMBackend, saml_provider_arn: str, tag_keys: list[str]) -> None:
    """API_UntagSAMLProvider (moto: NotImplemented 500). NoSuchEntity 404; TagKeys max 50 ->
    ValidationError. Removing an absent key is not an error."""
    if len(tag_keys) > TAGS_PER_RESOURCE:
        raise TooManyTags(tag_keys, param="tagKeys")
    provider = self.get_saml_provider(saml_provider_arn)
    for key in tag_keys:
        self._validate_tag_key(key, exception_param="tagKeys")
    provider.tags = [t for t in getattr(provider, "tags", []) if t["Key"] not in tag_keys]


def backend_list_saml_provider_tags(self: IAMBackend, saml_provider_arn: str) -> list[dict[str, str]]:
    """API_ListSAMLProviderTags (moto: NotImplemented 500). NoSuchEntity 404."""
    return _sorted_tags(getattr(self.get_saml_provider(saml_provider_arn), "tags", []))


IAMBackend.create_saml_provider = backend_create_saml_provider  # type: ignore[method-assign,assignment]
IAMBackend.update_saml_provider = backend_update_saml_provider  # type: ignore[method-assign]
IAMBackend.delete_saml_provider = backend_delete_saml_provider  # type: ignore[method-assign]
IAMBackend.tag_saml_provider = backend_tag_saml_provider  # type: ignore[attr-defined]
IAMBackend.untag_saml_provider = backend_untag_saml_provider  # type: ignore[attr-defined]
IAMBackend.list_saml_provider_tags = backend_list_saml_provider_tags  # type: ignore[attr-defined]


# --- IAM responses: SAML providers ---------------------------------------------------------------
# Output shapes from the botocore model (moto's serializer renders them into
# <XResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><XResult>…</XResult>
# <ResponseMetadata>…</ResponseMetadata></XResponse>):
#   CreateSAMLProviderResult: SAMLProviderArn, Tags
#   GetSAMLProviderResult: SAMLProviderUUID, SAMLMetadataDocument, CreateDate, ValidUntil, Tags, …
#   ListSAMLProviderTagsResult: Tags (required), IsTruncated, Marker
def response_create_saml_provider(self: IamResponse) -> ActionResult:
    provider = self.backend.create_saml_provider(
        self._get_param("Name"), self._get_param("SAMLMetadataDocument"), self._get_param("Tags", [])
    )
    result: dict[str, Any] = {"SAMLProviderArn": provider.arn}
    if provider.tags:
        result["Tags"] = provider.tags
    return ActionResult(result)


def response_get_saml_provider(self: IamResponse) -> ActionResult:
    provider = self.backend.get_saml_provider(self._get_param("SAMLProviderArn"))
    result: dict[str, Any] = {
        "SAMLProviderUUID": getattr(provider, "saml_provider_uuid", None),
        "SAMLMetadataDocument": provider.saml_metadata_document,
        "CreateDate": provider.create_date,
        "ValidUntil": provider.valid_until,
    }
    tags = _sorted_tags(getattr(provider, "tags", []))
    if tags:
        result["Tags"] = tags
    return ActionResult(result)


def response_tag_saml_provider(self: IamResponse) -> ActionResult:
    self.backend.tag_saml_provider(self._get_param("SAMLProviderArn"), self._get_param("Tags", []))
    return EmptyResult()


def response_untag_saml_provider(self: IamResponse) -> ActionResult:
    self.backend.untag_saml_provider(self._get_param("SAMLProviderArn"), self._get_param("TagKeys", []))
    return EmptyResult()


def response_list_saml_provider_tags(self: IamResponse) -> ActionResult:
    tags = self.backend.list_saml_provider_tags(self._get_param("SAMLProviderArn"))
    max_items = int(self._get_param("MaxItems", 100))
    start = int(self._get_param("Marker") or 0)
    page = tags[start : start + max_items]
    result: dict[str, Any] = {"Tags": page, "IsTruncated": start + max_items < len(tags)}
    if result["IsTruncated"]:
        result["Marker"] = str(start + max_items)
    return ActionResult(result)


IamResponse.create_saml_provider = response_create_saml_provider  # type: ignore[method-assign]
IamResponse.get_saml_provider = response_get_saml_provider  # type: ignore[method-assign]
IamResponse.tag_saml_provider = response_tag_saml_provider  # type: ignore[attr-defined]
IamResponse.untag_saml_provider = response_untag_saml_provider  # type: ignore[attr-defined]
IamResponse.list_saml_provider_tags = response_list_saml_provider_tags  # type: ignore[attr-defined]


# --- IAM responses: roles (validate, then call moto's own method) ----------------------------
# moto already answers as IAM for: DeleteRole with attached managed or inline policies
# (DeleteConflict 409), EntityAlreadyExists on CreateRole, NoSuchEntity for a missing role /
# policy / inline policy, MalformedPolicyDocument on PutRolePolicy and UpdateAssumeRolePolicy,
# >50 tags in one CreateRole/TagRole request (ValidationError).
_orig_resp_create_role = IamResponse.create_role
_orig_resp_update_role = IamResponse.update_role
_orig_resp_tag_role = IamResponse.tag_role
_orig_resp_attach_role_policy = IamResponse.attach_role_policy
_orig_resp_update_assume_role_policy = IamResponse.update_assume_role_policy


def _check_role_name(name: str | None) -> None:
    # API_CreateRole, RoleName: "Length Constraints: Minimum length of 1. Maximum length of 64.
    # Pattern: [\w+=,.@-]+" -> ValidationError 400 (moto accepts any name).
    name = name or ""
    _check_length(name, "roleName", 1, 64)
    if not ROLE_NAME_RE.fullmatch(name):
        raise _validation(name, "roleName", r"Member must satisfy regular expression pattern: [\w+=,.@-]+")


def _check_max_session_duration(value: Any) -> None:
    # API_CreateRole / API_UpdateRole, MaxSessionDuration: "Valid Range: Minimum value of 3600.
    # Maximum value of 43200." -> ValidationError 400 (moto accepts any value).
    if value is None:
        return
    v = int(value)
    if v < 3600:
        raise _validation(v, "maxSessionDuration", "Member must have value greater than or equal to 3600")
    if v > 43200:
        raise _validation(v, "maxSessionDuration", "Member must have value less than or equal to 43200")


def _check_federated_principals(backend: IAMBackend, document: str) -> None:
    """A trust policy naming a SAML provider IAM does not know is refused: "MalformedPolicyDocument
    — Invalid principal in policy" (API_CreateRole / API_UpdateAssumeRolePolicy, HTTP 400). This is
    also what IAM answers for a provider created moments before, until it has propagated — the
    eventual consistency samlfed's role code retries over. moto checks no principal at all."""
    try:
        statements = json.loads(document).get("Statement", [])
    except (ValueError, AttributeError):
        return  # malformed JSON is the policy validator's to report
    for statement in statements if isinstance(statements, list) else [statements]:
        federated = (statement.get("Principal") or {}).get("Federated") if isinstance(statement, dict) else None
        for arn in [federated] if isinstance(federated, str) else (federated or []):
            if ":saml-provider/" in arn and arn.rsplit("/", 1)[-1] not in backend.saml_providers:
                raise MalformedPolicyDocument(f'Invalid principal in policy: "SAML":"{arn}"')


def response_create_role(self: IamResponse) -> ActionResult:
    """API_CreateRole: RoleName and MaxSessionDuration constraints (ValidationError 400);
    AssumeRolePolicyDocument is checked like moto already checks it in UpdateAssumeRolePolicy
    ("MalformedPolicyDocument — The request was rejected because the policy document was
    malformed. HTTP Status Code: 400"; moto's CreateRole stores anything)."""
    _check_role_name(self._get_param("RoleName"))
    _check_max_session_duration(self._get_param("MaxSessionDuration"))
    IAMTrustPolicyDocumentValidator(self._get_param("AssumeRolePolicyDocument") or "").validate()
    _check_federated_principals(self.backend, self._get_param("AssumeRolePolicyDocument") or "")
    return _orig_resp_create_role(self)


def response_update_assume_role_policy(self: IamResponse) -> ActionResult:
    """API_UpdateAssumeRolePolicy: an unknown federated principal is MalformedPolicyDocument."""
    _check_federated_principals(self.backend, self._get_param("PolicyDocument") or "")
    return _orig_resp_update_assume_role_policy(self)


def response_update_role(self: IamResponse) -> ActionResult:
    """API_UpdateRole: MaxSessionDuration range -> ValidationError 400."""
    _check_max_session_duration(self._get_param("MaxSessionDuration"))
    return _orig_resp_update_role(self)


def response_tag_role(self: IamResponse) -> ActionResult:
    """API_TagRole: more than 50 tags on the role in total -> LimitExceeded 409 (moto lets the
    role grow past 50)."""
    tags = self._get_param("Tags", [])
    self.backend._tag_verification(tags)  # per-request checks first, as moto does
    role = self.backend.get_role(self._get_param("RoleName"))
    _merge_tags(role.tags, tags)  # raises LimitExceeded
    return _orig_resp_tag_role(self)


def response_attach_role_policy(self: IamResponse) -> ActionResult:
    """API_AttachRolePolicy: "LimitExceeded … HTTP 409" beyond the default quota of 10 managed
    policies per role (moto has no limit). Re-attaching an attached policy stays a no-op."""
    role = self.backend.get_role(self._get_param("RoleName"))
    arn = self._get_param("PolicyArn")
    if arn not in role.managed_policies and len(role.managed_policies) >= MANAGED_POLICIES_PER_ROLE:
        raise LimitExceededException(f"Cannot exceed quota for PoliciesPerRole: {MANAGED_POLICIES_PER_ROLE}")
    return _orig_resp_attach_role_policy(self)


IamResponse.create_role = response_create_role  # type: ignore[method-assign]
IamResponse.update_assume_role_policy = response_update_assume_role_policy  # type: ignore[method-assign]
IamResponse.update_role = response_update_role  # type: ignore[method-assign]
IamResponse.tag_role = response_tag_role  # type: ignore[method-assign]
IamResponse.attach_role_policy = response_attach_role_policy  # type: ignore[method-assign]

# ---------------------------------------------------------------------------------------------
# PATCHES — Lambda: an invocation runs the function's own `bootstrap` (test-only extension)
# ---------------------------------------------------------------------------------------------
# moto runs a function in Docker (LambdaFunction._invoke_lambda). Here it runs the zip's
# `bootstrap` as a child process of the emulator against tools/runtime_api.py, through
# tools/lambda_local.py (its module doc lists the environment and the limits), as the OS-only
# runtimes do: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html and
# https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html.
_SELF: dict[str, str | None] = {"endpoint": None}  # http://127.0.0.1:PORT, set by main()
LAMBDA_POOL = lambda_local.LambdaPool(log=sys.stderr)
SHUTDOWN = threading.Event()  # set by main() on exit: every engine wait ends
VERBOSE = threading.Event()  # set by main() with --verbose: stack status changes are logged too


def set_endpoint(url: str | None) -> None:
    """The emulator's own origin: the functions' AWS_ENDPOINT_URL and the ResponseURL host."""
    _SELF["endpoint"] = url


_orig_lambda_init = LambdaFunction.__init__
_orig_lambda_get_configuration = LambdaFunction.get_configuration
_orig_lambda_update_configuration = LambdaFunction.update_configuration
_orig_lambda_cfn_create = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
_orig_lambda_cfn_update = LambdaFunction.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def lambda_init(self: LambdaFunction, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
    """API_CreateFunction, LoggingConfig: "The function's Amazon CloudWatch Logs configuration
    settings" — moto drops it; the function's process needs it (AWS_LAMBDA_LOG_FORMAT/LEVEL)."""
    _orig_lambda_init(self, account_id, spec, region, version)
    self.logging_config = dict(spec.get("LoggingConfig") or {})


def lambda_get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """API_GetFunctionConfiguration: LoggingConfig, with Lambda's defaults (LogFormat Text,
    LogGroup /aws/lambda/NAME; with JSON, ApplicationLogLevel INFO and SystemLogLevel INFO)."""
    config = _orig_lambda_get_configuration(self, *args, **kwargs)
    logging = dict(getattr(self, "logging_config", {}) or {})
    logging.setdefault("LogFormat", "Text")
    logging.setdefault("LogGroup", f"/aws/lambda/{self.function_name}")
    if logging["LogFormat"] == "JSON":
        logging.setdefault("ApplicationLogLevel", "INFO")
        logging.setdefault("SystemLogLevel", "INFO")
    config["LoggingConfig"] = logging
    return config


def lambda_update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
    """API_UpdateFunctionConfiguration: LoggingConfig is kept (moto drops it)."""
    if "LoggingConfig" in config_updates:
        self.logging_config = dict(config_updates["LoggingConfig"] or {})
    return _orig_lambda_update_configuration(self, config_updates)


def _lambda_cfn_extras(fn: LambdaFunction, properties: dict[str, Any]) -> None:
    # AWS::Lambda::Function: Architectures and LoggingConfig are properties of the resource
    # (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html);
    # moto's CloudFormation model passes neither to the function.
    if properties.get("Architectures"):
        fn.architectures = list(properties["Architectures"])
    fn.logging_config = dict(properties.get("LoggingConfig") or {})


def lambda_cfn_create(cls: type, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
                      region_name: str, **kwargs: Any) -> LambdaFunction:
    fn = _orig_lambda_cfn_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    _lambda_cfn_extras(fn, cloudformation_json.get("Properties") or {})
    return fn


def lambda_cfn_update(cls: type, original_resource: LambdaFunction, new_resource_name: str,
                      cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> LambdaFunction:
    fn = _orig_lambda_cfn_update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
    _lambda_cfn_extras(fn, cloudformation_json.get("Properties") or {})
    return fn


def lambda_function_spec(fn: LambdaFunction) -> lambda_local.FunctionSpec:
    """What the local process of ``fn`` is started with (see tools/lambda_local.py)."""
    endpoint = _SELF["endpoint"]
    if not endpoint:
        raise lambda_local.LambdaError("ServiceException", "the emulator's endpoint is not known (not running as a server)")
    logging = getattr(fn, "logging_config", {}) or {}
    version = str(fn.version)
    return lambda_local.FunctionSpec(
        function_arn=fn.function_arn,
        function_name=fn.function_name,
        account_id=fn.account_id,
        region=fn.region,
        endpoint_url=endpoint,
        runtime=fn.run_time or "",
        handler=fn.handler or "",
        code_sha256=fn.code_sha_256 or "",
        memory_size=int(fn.memory_size),
        timeout_s=float(fn.timeout),
        version=version,
        environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
        log_format=logging.get("LogFormat") or "Text",
        log_level=logging.get("ApplicationLogLevel"),
        log_group=logging.get("LogGroup"),
    )


def lambda_invoke_locally(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """Replaces moto's Docker run: (payload, function error?, log tail) for LambdaFunction.invoke.

    The payload is what the function posted to ``/response`` or ``/error``; an invocation that
    ended otherwise (timeout, crash, bad package) returns Lambda's error document for it
    (``errorType``/``errorMessage``) as a function error. The log tail is empty: the process's
    output goes to the emulator's stderr."""
    try:
        result = LAMBDA_POOL.invoke(lambda_function_spec(self), self.code_bytes, {} if event is None else event)
    except lambda_local.LambdaError as exc:
        log(f"lambda {self.function_name}: {exc.error_type}: {exc.message}")
        return json.dumps(exc.payload()), True, ""
    return result.raw.decode("utf-8", "replace"), result.kind == "error", ""


_orig_lambda_delete_function = LambdaBackend.delete_function


def lambda_delete_function(self: LambdaBackend, function_name: str, qualifier: str | None = None) -> None:
    """API_DeleteFunction: the function's execution environment goes with it (its process is
    killed, its unpacked code removed)."""
    try:
        arn = None if qualifier else self.get_function(function_name).function_arn
    except Exception:  # noqa: BLE001 - moto's own NotFound is raised again below
        arn = None
    _orig_lambda_delete_function(self, function_name, qualifier)
    if arn:
        LAMBDA_POOL.discard(arn)


LambdaBackend.delete_function = lambda_delete_function  # type: ignore[method-assign]
LambdaFunction.__init__ = lambda_init  # type: ignore[method-assign]
LambdaFunction.get_configuration = lambda_get_configuration  # type: ignore[method-assign]
LambdaFunction.update_configuration = lambda_update_configuration  # type: ignore[method-assign]
LambdaFunction.create_from_cloudformation_json = classmethod(lambda_cfn_create)  # type: ignore[method-assign,assignment]
LambdaFunction.update_from_cloudformation_json = classmethod(lambda_cfn_update)  # type: ignore[method-assign,assignment]
LambdaFunction._invoke_lambda = lambda_invoke_locally  # type: ignore[method-assign,assignment]


# ---------------------------------------------------------------------------------------------
# PATCHES — CloudFormation: a stack engine whose custom resources are answered by their function
# (test-only extension)
# ---------------------------------------------------------------------------------------------
# moto 5.2.5 creates a stack synchronously inside CreateStack, sends a custom resource only a
# Create (from a thread, to a Docker-run function, with the template's values unconverted),
# names it with its own generated id, never waits for its answer, and updates and deletes custom
# resources without telling them. The code below runs every stack operation in a thread of its
# own, as CloudFormation runs them after answering the API call, and speaks the custom-resource
# protocol of https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref.html:
# requests (crpg-ref-requests.html, crpg-ref-requesttypes-create/-update/-delete.html) sent to
# the ServiceToken's Lambda function, responses (crpg-ref-responses.html) PUT to a ResponseURL on
# this emulator. The stack statuses and their order are those of
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html
# ("Stack status codes").
CFN_RESPONSE_LIMIT = 4096  # crpg-ref.html: "The total size of the response body can't exceed 4096 bytes."
CFN_DEFAULT_SERVICE_TIMEOUT_S = 3600  # crpg-ref-requests.html, ServiceTimeout: "The default value is 3600 seconds"
# How long the emulator waits for an answer at most, whatever ServiceTimeout says (a test must
# not wait an hour for a function that crashed). SAMLFED_CFN_RESPONSE_TIMEOUT_S overrides it.
CFN_RESPONSE_TIMEOUT_CAP_S = float(os.environ.get("SAMLFED_CFN_RESPONSE_TIMEOUT_S", "120"))
CFN_RESPONSE_PATH = re.compile(r"^/cloudformation_([a-z0-9-]+)/cfnresponse$")
CUSTOM_RESOURCE_TYPES = ("AWS::CloudFormation::CustomResource",)


def is_custom_type(resource_type: str | None) -> bool:
    """``Custom::Name`` or ``AWS::CloudFormation::CustomResource`` (aws-resource-cloudformation-customresource.html)."""
    return bool(resource_type) and (str(resource_type).startswith("Custom::") or resource_type in CUSTOM_RESOURCE_TYPES)


def cfn_string(value: Any) -> Any:
    """A template value as a custom resource receives it: every scalar a string — numbers as
    written (``300`` -> ``"300"``), booleans ``"true"``/``"false"`` — lists and maps keeping
    their shape, ``None`` (``AWS::NoValue``) left out. CloudFormation passes the properties of
    ``AWS::CloudFormation::CustomResource`` on in ``ResourceProperties`` ("sent, verbatim, to the
    custom resource provider", crpg-ref-requests.html) in this string form; ``ServiceTimeout`` is
    documented as "Type: String" although templates write a number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): cfn_string(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [cfn_string(v) for v in value if v is not None]
    if value is None:
        return None
    return str(value)  # e.g. a date the YAML loader made of an unquoted 2024-01-01


def custom_resource_event(
    request_type: str,
    *,
    request_id: str,
    response_url: str,
    stack_id: str,
    logical_id: str,
    resource_type: str,
    properties: dict[str, Any],
    old_properties: dict[str, Any] | None = None,
    physical_id: str | None = None,
) -> dict[str, Any]:
    """The request CloudFormation sends (crpg-ref-requests.html): RequestType, ServiceToken and
    (when the template sets it) ServiceTimeout at the top level as well as inside
    ResourceProperties, ResponseURL, StackId, RequestId, LogicalResourceId, ResourceType,
    ResourceProperties; PhysicalResourceId for Update and Delete; OldResourceProperties for
    Update. Property values are converted by :func:`cfn_string`."""
    props = cfn_string(properties or {})
    event: dict[str, Any] = {"RequestType": request_type, "ServiceToken": props.get("ServiceToken")}
    if "ServiceTimeout" in props:
        event["ServiceTimeout"] = props["ServiceTimeout"]
    event.update({
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
    })
    if request_type in ("Update", "Delete"):
        event["PhysicalResourceId"] = physical_id
    event["ResourceType"] = resource_type
    event["ResourceProperties"] = props
    if request_type == "Update":
        event["OldResourceProperties"] = cfn_string(old_properties or {})
    return event


def service_timeout_s(properties: dict[str, Any]) -> float:
    """ServiceTimeout (1..3600, default 3600), capped at CFN_RESPONSE_TIMEOUT_CAP_S."""
    try:
        timeout = int(str(properties.get("ServiceTimeout", CFN_DEFAULT_SERVICE_TIMEOUT_S)))
    except ValueError:
        timeout = CFN_DEFAULT_SERVICE_TIMEOUT_S
    return float(min(max(timeout, 1), CFN_DEFAULT_SERVICE_TIMEOUT_S, CFN_RESPONSE_TIMEOUT_CAP_S))


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def resource_references(value: Any) -> set[str]:
    """Names a template fragment refers to: ``Ref``, ``Fn::GetAtt`` (both forms) and the
    ``${Name}`` / ``${Name.Attribute}`` variables of ``Fn::Sub`` (not ``${!Literal}``, not the
    variables its own map defines). Pseudo parameters and parameters are among them; callers keep
    the resource names."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, arg in node.items():
                if key == "Ref" and isinstance(arg, str):
                    found.add(arg)
                elif key == "Fn::GetAtt":
                    if isinstance(arg, str):
                        found.add(arg.split(".", 1)[0])
                    elif isinstance(arg, list) and arg and isinstance(arg[0], str):
                        found.add(arg[0])
                        walk(arg[1:])
                elif key == "Fn::Sub":
                    text, variables = (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) else (arg, {})
                    if isinstance(text, str):
                        for name in _SUB_VARIABLE.findall(text):
                            base = name.split(".", 1)[0].strip()
                            if not (isinstance(variables, dict) and base in variables):
                                found.add(base)
                    walk(variables)
                else:
                    walk(arg)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    return found


def template_dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    """For each resource, the resources it depends on: those its Properties refer to
    (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``) and those named in ``DependsOn`` — the dependencies
    CloudFormation orders a stack operation by (aws-attribute-dependson.html)."""
    names = set(resources)
    deps: dict[str, set[str]] = {}
    for name, body in resources.items():
        body = body if isinstance(body, dict) else {}
        depends_on = body.get("DependsOn") or []
        explicit = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        deps[name] = ((resource_references(body.get("Properties")) | explicit) & names) - {name}
    return deps


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """The resources, each after everything it depends on; ties in template order. A cycle is
    the template error CloudFormation reports: "Circular dependency between resources: [...]"."""
    deps = template_dependencies(resources)
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(resources):
        ready = [name for name in resources if name not in done and deps[name] <= done]
        if not ready:
            left = ", ".join(sorted(set(resources) - done))
            raise CfnValidationError(message=f"Circular dependency between resources: [{left}]")
        order.extend(ready)
        done.update(ready)
    return order


@dataclass
class Answer:
    """A custom resource's answer, as CloudFormation reads it from the ResponseURL."""

    status: str  # SUCCESS or FAILED
    reason: str  # for FAILED: the resource's status reason, as CloudFormation words it
    physical_id: str | None
    data: dict[str, Any]
    no_echo: bool = False


def failed_status_reason(reason: str, request_id: str) -> str:
    """The ResourceStatusReason CloudFormation gives a resource whose provider answered FAILED."""
    return f"Received response status [FAILED] from custom resource. Message returned: {reason} (RequestId: {request_id})"


def parse_custom_resource_response(body: bytes, event: dict[str, Any]) -> Answer:
    """Reads a response body as CloudFormation does (crpg-ref-responses.html).

    Status SUCCESS or FAILED; Reason "Required if Status is FAILED"; PhysicalResourceId
    required ("This value should be an identifier unique to the custom resource vendor");
    StackId, RequestId and LogicalResourceId "should be copied verbatim from the request"; Data
    a map of name-value pairs; NoEcho optional; the whole body at most 4096 bytes. A body that
    breaks these rules fails the resource, with a reason that says which rule."""
    request_id = event["RequestId"]
    physical_before = event.get("PhysicalResourceId")

    def invalid(what: str) -> Answer:
        return Answer("FAILED", f"Invalid response object: {what} (RequestId: {request_id})", physical_before, {})

    if len(body) > CFN_RESPONSE_LIMIT:
        return invalid(f"Response object is too long ({len(body)} bytes; the limit is {CFN_RESPONSE_LIMIT})")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return invalid("the body is not JSON")
    if not isinstance(doc, dict):
        return invalid("the body is not a JSON object")
    status = doc.get("Status")
    if status not in ("SUCCESS", "FAILED"):
        return invalid(f"Status must be SUCCESS or FAILED, not {status!r}")
    for field_name in ("StackId", "RequestId", "LogicalResourceId"):
        if doc.get(field_name) != event[field_name]:
            return invalid(f"{field_name} {doc.get(field_name)!r} is not the request's {event[field_name]!r}")
    physical = doc.get("PhysicalResourceId")
    data = doc.get("Data") if doc.get("Data") is not None else {}
    if not isinstance(data, dict):
        return invalid("Data must be a JSON object")
    if status == "FAILED":
        physical = physical if isinstance(physical, str) and physical else physical_before
        return Answer("FAILED", failed_status_reason(str(doc.get("Reason") or ""), request_id), physical, {})
    if not isinstance(physical, str) or not physical:
        return invalid("Invalid PhysicalResourceId")
    return Answer("SUCCESS", str(doc.get("Reason") or ""), physical, data, bool(doc.get("NoEcho")))


class CustomResourceFailed(Exception):
    """A custom-resource request that did not end in SUCCESS; ``reason`` is the resource's
    status reason, ``physical_id`` what the provider answered (if it answered)."""

    def __init__(self, reason: str, physical_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.physical_id = physical_id


@dataclass
class _Pending:
    event: dict[str, Any]
    signature: str
    done: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None


class CustomResourceRequests:
    """Requests waiting for their answer, by RequestId. A ResponseURL carries the RequestId and
    a random ``signature`` — like the presigned S3 URL CloudFormation hands out, it is the
    credential for that one answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}

    def open(self, request_id: str, region: str, stack_id: str) -> tuple[str, _Pending]:
        signature = secrets.token_hex(16)
        url = (
            f"{_SELF['endpoint']}/cloudformation_{region}/cfnresponse"
            f"?stack={quote(stack_id, safe='')}&request={request_id}&signature={signature}"
        )
        pending = _Pending(event={}, signature=signature)
        with self._lock:
            self._pending[request_id] = pending
        return url, pending

    def close(self, request_id: str) -> None:
        with self._lock:
            self._pending.pop(request_id, None)

    def answer(self, request_id: str, signature: str, body: bytes) -> tuple[int, str]:
        """Takes a PUT to a ResponseURL: (HTTP status, S3-style error code or "")."""
        with self._lock:
            pending = self._pending.get(request_id)
        if pending is None:
            return 403, "AccessDenied"  # S3 answers an expired presigned URL with 403
        if not secrets.compare_digest(signature, pending.signature):
            return 403, "SignatureDoesNotMatch"
        if pending.answer is None:  # the first answer counts; S3 would overwrite, CloudFormation has read it
            pending.answer = parse_custom_resource_response(body, pending.event)
            pending.done.set()
        return 200, ""


CFN_REQUESTS = CustomResourceRequests()


class SentRequests:
    """Every custom-resource request the engine sent, in order (the last ``limit``): what
    ``GET /_samlfed/cfn-requests`` returns, so a tool can replay CloudFormation's own events."""

    def __init__(self, limit: int = 1000) -> None:
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._limit = limit

    def add(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._events.append(copy.deepcopy(event))
            del self._events[: -self._limit]

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._events)


SENT_REQUESTS = SentRequests()


def send_custom_resource_request(
    stack: Stack,
    request_type: str,
    logical_id: str,
    resource_type: str,
    properties: dict[str, Any],
    old_properties: dict[str, Any] | None = None,
    physical_id: str | None = None,
) -> Answer:
    """Sends one request to the ServiceToken's function — an asynchronous (Event) invocation, as
    CloudFormation invokes a Lambda provider — and waits for its answer, at most ServiceTimeout
    (capped). Returns a SUCCESS answer; raises :class:`CustomResourceFailed` otherwise."""
    props = cfn_string(properties or {})
    token = props.get("ServiceToken")
    request_id = str(uuid.uuid4())
    response_url, pending = CFN_REQUESTS.open(request_id, stack.region_name, stack.stack_id)
    event = custom_resource_event(
        request_type, request_id=request_id, response_url=response_url, stack_id=stack.stack_id,
        logical_id=logical_id, resource_type=resource_type, properties=props,
        old_properties=old_properties, physical_id=physical_id,
    )
    pending.event = event
    SENT_REQUESTS.add(event)
    try:
        if not token:
            raise CustomResourceFailed("Template error: the custom resource has no ServiceToken", physical_id)
        try:
            fn = get_lambda_backend(stack.account_id, stack.region_name).get_function(token)
        except Exception as exc:  # noqa: BLE001 - moto raises several kinds
            raise CustomResourceFailed(
                f"ServiceToken {token} is not a Lambda function of this account and Region ({exc})", physical_id
            ) from exc

        def invoke() -> None:
            try:
                payload = fn.invoke(json.dumps(event), {"x-amz-invocation-type": "Event"}, {})
            except Exception as exc:  # noqa: BLE001 - the request then times out, as in CloudFormation
                payload = json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)})
            error = _lambda_error_of(payload)
            if error:
                log(f"cloudformation: {logical_id} {request_type} {request_id}: the function failed: {error}")

        threading.Thread(target=invoke, name=f"cfn-invoke-{logical_id}", daemon=True).start()
        deadline = time.monotonic() + service_timeout_s(props)
        while not pending.done.wait(0.1):
            if SHUTDOWN.is_set() or time.monotonic() >= deadline:
                raise CustomResourceFailed(
                    "CloudFormation did not receive a response from your Custom Resource. Please check your "
                    f"logs for requestId [{request_id}].", physical_id,
                )
    finally:
        CFN_REQUESTS.close(request_id)
    answer = pending.answer
    assert answer is not None
    if answer.status != "SUCCESS":
        raise CustomResourceFailed(answer.reason, answer.physical_id)
    return answer


def _lambda_error_of(payload: Any) -> str:
    try:
        doc = json.loads(payload)
    except (TypeError, ValueError):
        return ""
    if isinstance(doc, dict) and "errorType" in doc and "errorMessage" in doc:
        return f"{doc['errorType']}: {doc['errorMessage']}"
    return ""


# --- per-stack engine state -----------------------------------------------------------------------
@dataclass
class CustomState:
    """What a custom resource last answered, and the properties it was last sent."""

    resource_type: str
    physical_id: str | None
    properties: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ResourceState:
    resource_type: str
    status: str
    template: dict[str, Any]  # the resource's template entry, for dependencies and deletion
    physical_id: str | None = None
    reason: str | None = None
    resolved: Any = None  # its properties with every intrinsic resolved, to see what an update changes
    timestamp: Any = field(default_factory=lambda: utcnow())


class StackEngine:
    """The engine's bookkeeping for one stack: each resource's status and every custom resource's
    answer, the creation order (rollback undoes it backwards), the operation thread."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.resources: dict[str, ResourceState] = {}
        self.custom: dict[str, CustomState] = {}
        self.created: list[str] = []  # logical ids in the order their creation ended (or failed)
        self.outputs_ready = True
        self.operation: str | None = None
        self.thread: threading.Thread | None = None

    def start(self, operation: str, target: Callable[..., None], *args: Any) -> None:
        self.operation = operation
        self.thread = threading.Thread(target=target, args=args, name=f"cfn-{operation.lower()}", daemon=True)
        self.thread.start()

    def present(self) -> list[str]:
        with self.lock:
            return [lid for lid, r in self.resources.items() if r.status not in ("DELETE_COMPLETE", "DELETE_SKIPPED")]


_ENGINES_LOCK = threading.Lock()


def engine_of(stack: Stack) -> StackEngine:
    with _ENGINES_LOCK:
        engine = stack.__dict__.get("_samlfed_engine")
        if engine is None:
            engine = StackEngine()
            stack.__dict__["_samlfed_engine"] = engine
        return engine


def _record(stack: Stack, logical_id: str, resource_type: str, status: str, *, template: dict[str, Any] | None = None,
            physical_id: str | None = None, reason: str | None = None, track: bool = True) -> None:
    """Sets a resource's status and adds its stack event (DescribeStackEvents). With
    ``track=False`` only the event: the deletion of a replaced physical resource, which is no
    longer the resource's current one."""
    if not track:
        event = Event(stack.stack_id, stack.name, logical_id, physical_id or "", resource_type, status, reason, None)
        stack.events.append(event)
        return
    engine = engine_of(stack)
    with engine.lock:
        state = engine.resources.get(logical_id)
        if state is None:
            state = engine.resources[logical_id] = ResourceState(resource_type, status, template or {})
        state.resource_type = resource_type
        state.status = status
        state.reason = reason
        state.timestamp = utcnow()
        if template is not None:
            state.template = template
        if physical_id is not None:
            state.physical_id = physical_id
        shown_id = state.physical_id or ""
    event = Event(stack.stack_id, stack.name, logical_id, shown_id, resource_type, status, reason, None)
    stack.events.append(event)


def _stack_status(stack: Stack, status: str, reason: str | None = None) -> None:
    stack.status = status
    stack.status_reason = reason
    stack._add_stack_event(status, resource_status_reason=reason)
    if VERBOSE.is_set():
        log(f"cloudformation: stack {stack.name}: {status}" + (f" ({reason})" if reason else ""))


def _resolve(value: Any, resource_map: ResourceMap) -> Any:
    return cfn_parsing.clean_json(copy.deepcopy(value), resource_map)


# --- moto's template handling, made to match CloudFormation ---------------------------------------
_orig_clean_json = cfn_parsing.clean_json
_orig_resource_class_from_type = cfn_parsing.resource_class_from_type
_orig_parse_and_create_resource = cfn_parsing.parse_and_create_resource
_orig_load_parameters = ResourceMap.load_parameters


def clean_json(resource_json: Any, resources_map: ResourceMap) -> Any:
    """``AWS::NoValue`` in a list removes the element, as it removes a property
    (pseudo-parameter-reference.html: "Removes the corresponding resource property when specified
    as a return value in the Fn::If intrinsic function"); moto leaves a null in the list."""
    result = _orig_clean_json(resource_json, resources_map)
    if isinstance(resource_json, list) and isinstance(result, list):
        return [item for item in result if item is not None]
    return result


def resource_class_from_type(resource_type: str) -> Any:
    """``AWS::CloudFormation::CustomResource`` is a custom resource like ``Custom::Name``."""
    if resource_type in CUSTOM_RESOURCE_TYPES:
        return CustomModel
    return _orig_resource_class_from_type(resource_type)


def _parameter_error(name: str, slot: dict[str, Any], default: str) -> CfnValidationError:
    # A ConstraintDescription replaces the default message (parameters-section-structure.html:
    # "A string that explains a constraint when the constraint is violated").
    if slot.get("ConstraintDescription"):
        return CfnValidationError(message=f"Parameter '{name}' failed to satisfy constraint: {slot['ConstraintDescription']}")
    return CfnValidationError(message=default)


def _matches(pattern: str, text: str) -> bool:
    """AllowedPattern matches the whole value, with Java's regular expressions (``\\w`` is ASCII);
    a pattern Python cannot compile is not checked."""
    try:
        return re.fullmatch(pattern, text, re.ASCII) is not None
    except re.error:
        return True


def check_parameter(name: str, slot: dict[str, Any], value: Any) -> None:
    """A parameter value against its AllowedValues, AllowedPattern, MinLength/MaxLength and
    MinValue/MaxValue (parameters-section-structure.html); CreateStack/UpdateStack refuse a
    violation with ValidationError. moto checks none of them."""
    kind = slot.get("Type", "String")
    values = value if isinstance(value, list) else [value]
    for item in values:
        text = cfn_string(item)
        allowed = slot.get("AllowedValues")
        if allowed is not None and text not in [cfn_string(a) for a in allowed]:
            raise _parameter_error(name, slot, f"Parameter '{name}' must be one of AllowedValues")
        if kind == "String":
            pattern = slot.get("AllowedPattern")
            if pattern is not None and not _matches(pattern, text):
                raise _parameter_error(name, slot, f"Parameter '{name}' must match pattern {pattern}")
            if "MinLength" in slot and len(text) < int(slot["MinLength"]):
                raise _parameter_error(name, slot, f"Parameter '{name}' must contain at least {slot['MinLength']} characters")
            if "MaxLength" in slot and len(text) > int(slot["MaxLength"]):
                raise _parameter_error(name, slot, f"Parameter '{name}' must contain at most {slot['MaxLength']} characters")
        if kind == "Number":
            try:
                number = float(text)
            except ValueError:
                raise _parameter_error(name, slot, f"Parameter '{name}' must be a number") from None
            if "MinValue" in slot and number < float(slot["MinValue"]):
                raise _parameter_error(name, slot, f"Parameter '{name}' must be a number not less than {slot['MinValue']}")
            if "MaxValue" in slot and number > float(slot["MaxValue"]):
                raise _parameter_error(name, slot, f"Parameter '{name}' must be a number not greater than {slot['MaxValue']}")


def load_parameters(self: ResourceMap) -> None:
    """Parameters as CloudFormation resolves them: a ``CommaDelimitedList`` (or ``List<…>``)
    is a list also when it comes from its Default (moto splits only given values, so
    ``Default: ""`` stayed a string instead of ``[""]``), and every value meets its constraints."""
    _orig_load_parameters(self)
    for name, slot in (self._template.get("Parameters") or {}).items():
        kind = slot.get("Type", "String")
        value = self.resolved_parameters.get(name)
        if (kind == "CommaDelimitedList" or kind.startswith("List<")) and isinstance(value, str):
            value = value.split(",")
            self.resolved_parameters[name] = value
            self._parsed_resources[name] = value
        if value is not None and not kind.startswith("AWS::"):
            check_parameter(name, slot, value)


def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], resources_map: ResourceMap,
                              account_id: str, region_name: str) -> Any:
    """Creates one resource of a stack the engine runs: what it depends on first (so that the
    stack events come in CloudFormation's order, and a custom resource's Ref is the
    PhysicalResourceId it answered before anything reads it), then the resource, recording
    CREATE_IN_PROGRESS, then CREATE_COMPLETE or CREATE_FAILED."""
    stack = resources_map.__dict__.get("samlfed_stack")
    condition = resource_json.get("Condition")
    resource_type = resource_json.get("Type")
    if (
        stack is None
        or (condition and not resources_map.lazy_condition_map[condition])
        or cfn_parsing.resource_class_from_type(resource_type) is None
    ):
        return _orig_parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
    names = set(resources_map._resource_json_map)
    for dependency in sorted(template_dependencies({**{n: {} for n in names}, logical_id: resource_json})[logical_id]):
        resources_map[dependency]
    engine = engine_of(stack)
    template = copy.deepcopy(resource_json)
    _record(stack, logical_id, resource_type, "CREATE_IN_PROGRESS", template=template)
    try:
        resource = _orig_parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name)
        resolved = _resolve(template.get("Properties") or {}, resources_map)
    except CustomResourceFailed as exc:
        engine.created.append(logical_id)
        _record(stack, logical_id, resource_type, "CREATE_FAILED", physical_id=exc.physical_id, reason=exc.reason)
        raise
    except Exception as exc:
        engine.created.append(logical_id)
        _record(stack, logical_id, resource_type, "CREATE_FAILED", reason=str(exc) or type(exc).__name__)
        raise CustomResourceFailed(str(exc) or type(exc).__name__) from exc
    engine.created.append(logical_id)
    engine.resources[logical_id].resolved = resolved
    physical_id = str(getattr(resource, "physical_resource_id", "") or "")
    _record(stack, logical_id, resource_type, "CREATE_COMPLETE", physical_id=physical_id)
    return resource


cfn_parsing.clean_json = clean_json
cfn_parsing.resource_class_from_type = resource_class_from_type
cfn_parsing.parse_and_create_resource = parse_and_create_resource
ResourceMap.load_parameters = load_parameters  # type: ignore[method-assign]


# --- custom resources: Ref is the answered PhysicalResourceId, GetAtt reads its Data ---------------
def custom_physical_resource_id(self: CustomModel) -> str:
    """crpg-ref-responses.html, PhysicalResourceId: the provider's id, which ``Ref`` returns."""
    return self.__dict__.get("samlfed_physical_id") or self.resource_name


def custom_get_cfn_attribute(self: CustomModel, attribute_name: str) -> Any:
    """``Fn::GetAtt`` reads the answer's Data (crpg-ref-responses.html: "The custom
    resource provider-defined name-value pairs to send with the response. You can access the
    values provided here by name in the template with Fn::GetAtt"); a name the answer lacks is
    CloudFormation's "CustomResource attribute error" and fails the operation."""
    data = self.data or {}
    if attribute_name in data:
        return data[attribute_name]
    raise CustomResourceFailed(
        f"CustomResource attribute error: Vendor response doesn't contain {attribute_name} key in object "
        f"{self.__dict__.get('samlfed_stack_id', '')}|{self.logical_id}|{self.request_id}"
    )


def custom_create(cls: type, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
                  region_name: str, **kwargs: Any) -> CustomModel:
    """crpg-ref-requesttypes-create.html: a Create request; the resource is created when its
    provider answers SUCCESS, and fails with the provider's Reason otherwise."""
    logical_id, stack_id, resource_type = kwargs["LogicalId"], kwargs["StackId"], kwargs["ResourceType"]
    stack = cloudformation_backends[account_id][region_name].get_stack(stack_id)
    properties = cloudformation_json.get("Properties") or {}
    engine = engine_of(stack)
    try:
        answer = send_custom_resource_request(stack, "Create", logical_id, resource_type, properties)
    except CustomResourceFailed as exc:
        if exc.physical_id:  # answered FAILED with an id: rollback sends it a Delete
            engine.custom[logical_id] = CustomState(resource_type, exc.physical_id, cfn_string(properties))
        raise
    engine.custom[logical_id] = CustomState(resource_type, answer.physical_id, cfn_string(properties), answer.data)
    model = CustomModel(region_name, "", logical_id, resource_name)
    model.__dict__.update(samlfed_physical_id=answer.physical_id, samlfed_stack_id=stack_id)
    model.set_data(answer.data)
    stack.add_custom_resource(model)
    return model


CustomModel.physical_resource_id = property(custom_physical_resource_id)  # type: ignore[assignment,method-assign]
CustomModel.get_cfn_attribute = custom_get_cfn_attribute  # type: ignore[method-assign]
CustomModel.create_from_cloudformation_json = classmethod(custom_create)  # type: ignore[method-assign,assignment]


# --- stack operations ------------------------------------------------------------------------------
# Stack statuses without Outputs: the first Create has not made them, a rolled back or deleted
# stack no longer has them. An update shows the previous Outputs until it has resolved new ones.
NO_OUTPUTS = {"CREATE_IN_PROGRESS", "CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE",
              "DELETE_IN_PROGRESS", "DELETE_FAILED", "DELETE_COMPLETE"}


def _resolve_outputs(stack: Stack) -> None:
    """Outputs are resolved at the end of an operation (a failure fails the operation) and shown
    from then on; ``Fn::GetAtt`` of a custom resource reads the Data it answered."""
    output_map = stack._create_output_map()
    for key in list(output_map.outputs):
        output_map[key]
    stack.output_map = output_map
    engine_of(stack).outputs_ready = True


def _failed_resources(stack: Stack, suffix: str) -> list[str]:
    engine = engine_of(stack)
    with engine.lock:
        return [lid for lid, r in engine.resources.items() if r.status == f"{suffix}_FAILED"]


def _delete_one(stack: Stack, logical_id: str, state: CustomState | None = None) -> bool:
    """Deletes one resource (custom: a Delete request with its PhysicalResourceId and last
    properties, crpg-ref-requesttypes-delete.html); True when it is gone. ``state`` deletes a
    replaced custom resource (its old physical id) instead of the current one."""
    engine = engine_of(stack)
    resource_map = stack.resource_map
    with engine.lock:
        current = engine.resources.get(logical_id)
    if current is None:
        return True
    resource_type = current.resource_type
    if state is None and current.status in ("DELETE_COMPLETE", "DELETE_SKIPPED"):
        return True
    if state is None and current.template.get("DeletionPolicy") == "Retain":
        _record(stack, logical_id, resource_type, "DELETE_SKIPPED")
        return True
    if is_custom_type(resource_type):
        custom = state if state is not None else engine.custom.get(logical_id)
        if custom is None or not custom.physical_id:  # never answered: nothing exists to delete
            _record(stack, logical_id, resource_type, "DELETE_COMPLETE")
            return True
        current_one = state is None
        _record(stack, logical_id, resource_type, "DELETE_IN_PROGRESS", physical_id=custom.physical_id, track=current_one)
        try:
            send_custom_resource_request(stack, "Delete", logical_id, resource_type, custom.properties,
                                         physical_id=custom.physical_id)
        except CustomResourceFailed as exc:
            _record(stack, logical_id, resource_type, "DELETE_FAILED", physical_id=custom.physical_id, reason=exc.reason,
                    track=current_one)
            return False
        if current_one:
            engine.custom.pop(logical_id, None)
            resource_map._parsed_resources.pop(logical_id, None)
            stack.custom_resources.pop(logical_id, None)
        _record(stack, logical_id, resource_type, "DELETE_COMPLETE", physical_id=custom.physical_id, track=current_one)
        return True
    resource = resource_map._parsed_resources.get(logical_id)
    if current.status == "CREATE_FAILED" or resource is None or isinstance(resource, (str, list, dict)):
        _record(stack, logical_id, resource_type, "DELETE_COMPLETE")
        return True
    _record(stack, logical_id, resource_type, "DELETE_IN_PROGRESS")
    try:
        resource_map._delete_resource(resource, current.template)
    except Exception as exc:  # noqa: BLE001 - whatever moto raises is the resource's failure
        _record(stack, logical_id, resource_type, "DELETE_FAILED", reason=str(exc) or type(exc).__name__)
        return False
    resource_map._parsed_resources.pop(logical_id, None)
    _record(stack, logical_id, resource_type, "DELETE_COMPLETE")
    return True


def _delete_all(stack: Stack, logical_ids: list[str]) -> list[str]:
    """Deletes resources in reverse dependency order; a resource that something undeletable
    depends on is left alone. Returns the logical ids that failed to delete."""
    engine = engine_of(stack)
    with engine.lock:
        templates = {lid: engine.resources[lid].template for lid in logical_ids if lid in engine.resources}
    deps = template_dependencies(templates)
    failed: list[str] = []
    kept: set[str] = set()
    for lid in reversed(dependency_order(templates)):
        if lid in kept:
            kept.update(deps[lid])
            continue
        if not _delete_one(stack, lid):
            failed.append(lid)
            kept.update(deps[lid])
    return failed


def _run_create(stack: Stack) -> None:
    try:
        stack.resource_map.create(stack.template_dict)
        _resolve_outputs(stack)
    except Exception as exc:  # noqa: BLE001 - every failure rolls back
        failed = _failed_resources(stack, "CREATE")
        reason = (
            f"The following resource(s) failed to create: [{', '.join(failed)}]. Rollback requested by user."
            if failed else f"{exc}. Rollback requested by user."
        )
        _rollback_create(stack, reason)
        return
    _stack_status(stack, "CREATE_COMPLETE")


def _rollback_create(stack: Stack, reason: str) -> None:
    """ROLLBACK_IN_PROGRESS: everything whose creation was attempted is deleted, newest first —
    a custom resource that answered (also FAILED, with a PhysicalResourceId) gets a Delete."""
    engine = engine_of(stack)
    engine.outputs_ready = False
    _stack_status(stack, "ROLLBACK_IN_PROGRESS", reason)
    failed = [lid for lid in reversed(engine.created) if not _delete_one(stack, lid)]
    if failed:
        _stack_status(stack, "ROLLBACK_FAILED", f"The following resource(s) failed to delete: [{', '.join(failed)}]. ")
    else:
        _stack_status(stack, "ROLLBACK_COMPLETE")


def _guarded(operation: Callable[..., None], failed_status: str) -> Callable[..., None]:
    """An operation thread never leaves its stack IN_PROGRESS: an unexpected error ends it in
    ``failed_status`` with the error as the reason."""

    def run(stack: Stack, *args: Any) -> None:
        try:
            operation(stack, *args)
        except Exception as exc:  # noqa: BLE001
            log(f"cloudformation: stack {stack.name}: engine error: {exc!r}")
            _stack_status(stack, failed_status, f"Internal failure of the emulator's stack engine: {exc}")
        finally:
            engine = engine_of(stack)
            with engine.lock:
                if engine.thread is threading.current_thread():
                    engine.operation = None

    return run


def stack_create_resources(self: Stack) -> None:
    """CreateStack answers at once; the resources are created by the operation thread
    (CREATE_IN_PROGRESS until every custom resource has answered)."""
    engine = engine_of(self)
    self.status = "CREATE_IN_PROGRESS"
    self.status_reason = None
    self.resource_map.__dict__["samlfed_stack"] = self
    engine.outputs_ready = False
    engine.start("CREATE", _guarded(_run_create, "CREATE_FAILED"), self)


def _load_template(resource_map: ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None) -> None:
    resource_map._template = template
    if parameters:
        resource_map.input_parameters = parameters
    resource_map.load_mapping()
    resource_map.load_parameters()
    resource_map.load_conditions()
    resource_map._resource_json_map = template.get("Resources") or {}


@dataclass
class _UpdateLog:
    """What an update did, for its cleanup or its rollback."""

    updated: list[tuple[str, CustomState | None]] = field(default_factory=list)  # (logical id, custom state before)
    added: list[str] = field(default_factory=list)
    replaced: list[tuple[str, CustomState]] = field(default_factory=list)  # (logical id, old custom state)
    removed: list[str] = field(default_factory=list)


def _update_custom(stack: Stack, logical_id: str, template: dict[str, Any], changes: _UpdateLog) -> None:
    """crpg-ref-requesttypes-update.html: an Update with the new ResourceProperties, the
    OldResourceProperties and the current PhysicalResourceId, sent only when a property changed.
    "If the value returned is different, CloudFormation recognizes the update as a replacement
    and sends a delete request to the old resource" — in the cleanup phase, after every update."""
    engine = engine_of(stack)
    resource_map = stack.resource_map
    before = engine.custom[logical_id]
    resource_type = template["Type"]
    properties = _resolve(template.get("Properties") or {}, resource_map)
    sent = cfn_string(properties)
    if sent == before.properties:
        return
    _record(stack, logical_id, resource_type, "UPDATE_IN_PROGRESS", template=copy.deepcopy(template))
    changes.updated.append((logical_id, copy.deepcopy(before)))
    try:
        answer = send_custom_resource_request(stack, "Update", logical_id, resource_type, properties,
                                              old_properties=before.properties, physical_id=before.physical_id)
    except CustomResourceFailed as exc:
        # The rollback's Update then has these as its OldResourceProperties: the properties the
        # resource was being updated to.
        engine.custom[logical_id] = CustomState(resource_type, before.physical_id, sent, before.data)
        _record(stack, logical_id, resource_type, "UPDATE_FAILED", reason=exc.reason)
        raise
    after = CustomState(resource_type, answer.physical_id, sent, answer.data)
    engine.custom[logical_id] = after
    _set_custom_model(stack, logical_id, after)
    engine.resources[logical_id].resolved = properties
    if answer.physical_id != before.physical_id:
        changes.replaced.append((logical_id, before))
        _record(stack, logical_id, resource_type, "UPDATE_IN_PROGRESS", physical_id=answer.physical_id,
                reason="Requested update requires the creation of a new physical resource; hence creating one.")
    _record(stack, logical_id, resource_type, "UPDATE_COMPLETE", physical_id=answer.physical_id)


def _set_custom_model(stack: Stack, logical_id: str, state: CustomState) -> None:
    model = stack.resource_map._parsed_resources.get(logical_id)
    if isinstance(model, CustomModel):
        model.__dict__["samlfed_physical_id"] = state.physical_id
        model.set_data(state.data)


def _update_native(stack: Stack, logical_id: str, template: dict[str, Any], changes: _UpdateLog) -> None:
    """A resource moto models: updated (moto's own update) when its resolved properties changed."""
    engine = engine_of(stack)
    resource_map = stack.resource_map
    resolved = _resolve(template.get("Properties") or {}, resource_map)
    if resolved == engine.resources[logical_id].resolved:
        return
    resource_type = template["Type"]
    _record(stack, logical_id, resource_type, "UPDATE_IN_PROGRESS", template=copy.deepcopy(template))
    changes.updated.append((logical_id, None))
    try:
        updated = cfn_parsing.parse_and_update_resource(logical_id, copy.deepcopy(template), resource_map,
                                                        stack.account_id, stack.region_name)
    except Exception as exc:  # noqa: BLE001
        _record(stack, logical_id, resource_type, "UPDATE_FAILED", reason=str(exc) or type(exc).__name__)
        raise CustomResourceFailed(str(exc)) from exc
    if updated is not None:
        resource_map._parsed_resources[logical_id] = updated
    engine.resources[logical_id].resolved = resolved
    _record(stack, logical_id, resource_type, "UPDATE_COMPLETE",
            physical_id=str(getattr(resource_map._parsed_resources.get(logical_id), "physical_resource_id", "") or ""))


def _apply_template(stack: Stack, template: dict[str, Any], changes: _UpdateLog) -> None:
    """Creates, updates (in dependency order) what the loaded template asks for; notes what it
    no longer has in ``changes.removed``."""
    engine = engine_of(stack)
    resource_map = stack.resource_map
    resources = template.get("Resources") or {}
    present = set(engine.present())
    changes.removed = [lid for lid in present if lid not in resources]
    for logical_id in dependency_order(resources):
        body = resources[logical_id]
        condition = body.get("Condition")
        active = not condition or resource_map.lazy_condition_map[condition]
        exists = logical_id in present and engine.resources[logical_id].status not in ("CREATE_FAILED",)
        if not active:
            if exists:
                changes.removed.append(logical_id)
            continue
        if not exists:
            resource_map._parsed_resources.pop(logical_id, None)
            changes.added.append(logical_id)
            resource_map[logical_id]  # creates it (parse_and_create_resource above)
            continue
        if body.get("Type") != engine.resources[logical_id].resource_type:
            reason = ("Update of resource type is not permitted. The new template modifies resource type of the "
                      f"following resources: [{logical_id}]")
            _record(stack, logical_id, engine.resources[logical_id].resource_type, "UPDATE_FAILED", reason=reason)
            raise CustomResourceFailed(reason)
        if is_custom_type(body.get("Type")):
            _update_custom(stack, logical_id, body, changes)
        else:
            _update_native(stack, logical_id, body, changes)


def _run_update(stack: Stack, template: str, role_arn: str | None, parameters: dict[str, Any] | None,
                tags: dict[str, str] | None) -> None:
    engine = engine_of(stack)
    resource_map = stack.resource_map
    old = {
        "template": stack.template,
        "template_dict": stack.template_dict,
        "parameters": stack.parameters,
        "map_template": resource_map._template,
        "input": resource_map.input_parameters,
    }
    new_dict = Stack.parse_template(template)
    changes = _UpdateLog()
    engine.created = []
    try:
        _load_template(resource_map, new_dict, parameters)
        stack.template, stack.template_dict = template, new_dict
        _apply_template(stack, new_dict, changes)
        _resolve_outputs(stack)
    except Exception as exc:  # noqa: BLE001 - every failure rolls back
        _rollback_update(stack, old, changes, exc)
        return
    _stack_status(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    for logical_id, old_state in reversed(changes.replaced):
        _delete_one(stack, logical_id, state=old_state)  # a failed cleanup does not fail the update
    _delete_all(stack, changes.removed)
    stack.role_arn = role_arn
    if parameters:
        stack.parameters = parameters
    if tags is not None:
        stack.tags = tags
    _stack_status(stack, "UPDATE_COMPLETE")


def _rollback_update(stack: Stack, old: dict[str, Any], changes: _UpdateLog, exc: Exception) -> None:
    """UPDATE_ROLLBACK_IN_PROGRESS: the old template and parameters again; every resource the
    update changed in place gets an update back (a custom resource: an Update whose
    ResourceProperties are the old ones), a replaced one gets its old physical resource back;
    then, in UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS, what the update created — new
    resources and the replacements' new physical resources — is deleted."""
    engine = engine_of(stack)
    resource_map = stack.resource_map
    failed = _failed_resources(stack, "UPDATE") + _failed_resources(stack, "CREATE")
    reason = f"The following resource(s) failed to update: [{', '.join(failed)}]. " if failed else str(exc)
    _stack_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
    stack.template, stack.template_dict = old["template"], old["template_dict"]
    stack.parameters = old["parameters"]
    _load_template(resource_map, old["map_template"], old["input"])
    replaced = {lid for lid, _ in changes.replaced}
    rollback_failed: list[str] = []
    cleanup: list[tuple[str, CustomState]] = []
    for logical_id, before in reversed(changes.updated):
        body = (old["map_template"].get("Resources") or {}).get(logical_id) or {}
        resource_type = body.get("Type") or engine.resources[logical_id].resource_type
        if before is None:  # a resource moto models: its own update, back to the old properties
            try:
                _record(stack, logical_id, resource_type, "UPDATE_IN_PROGRESS", template=copy.deepcopy(body))
                updated = cfn_parsing.parse_and_update_resource(logical_id, copy.deepcopy(body), resource_map,
                                                                stack.account_id, stack.region_name)
                if updated is not None:
                    resource_map._parsed_resources[logical_id] = updated
                engine.resources[logical_id].resolved = _resolve(body.get("Properties") or {}, resource_map)
                _record(stack, logical_id, resource_type, "UPDATE_COMPLETE")
            except Exception as err:  # noqa: BLE001
                _record(stack, logical_id, resource_type, "UPDATE_FAILED", reason=str(err))
                rollback_failed.append(logical_id)
            continue
        current = engine.custom[logical_id]
        if logical_id in replaced:  # the old physical resource still exists: switch back to it
            cleanup.append((logical_id, current))
            engine.custom[logical_id] = before
            _set_custom_model(stack, logical_id, before)
            _record(stack, logical_id, resource_type, "UPDATE_COMPLETE", template=copy.deepcopy(body),
                    physical_id=before.physical_id)
            continue
        _record(stack, logical_id, resource_type, "UPDATE_IN_PROGRESS", template=copy.deepcopy(body))
        try:
            answer = send_custom_resource_request(stack, "Update", logical_id, resource_type, before.properties,
                                                  old_properties=current.properties, physical_id=current.physical_id)
        except CustomResourceFailed as err:
            _record(stack, logical_id, resource_type, "UPDATE_FAILED", reason=err.reason)
            rollback_failed.append(logical_id)
            continue
        restored = CustomState(resource_type, answer.physical_id, before.properties, answer.data)
        if answer.physical_id != current.physical_id:
            cleanup.append((logical_id, current))
        engine.custom[logical_id] = restored
        _set_custom_model(stack, logical_id, restored)
        _record(stack, logical_id, resource_type, "UPDATE_COMPLETE", physical_id=answer.physical_id)
    if rollback_failed:
        _stack_status(stack, "UPDATE_ROLLBACK_FAILED",
                      f"The following resource(s) failed to update: [{', '.join(rollback_failed)}]. ")
        return
    try:
        _resolve_outputs(stack)
    except Exception as err:  # noqa: BLE001
        _stack_status(stack, "UPDATE_ROLLBACK_FAILED", str(err))
        return
    _stack_status(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    for logical_id, state in reversed(cleanup):
        _delete_one(stack, logical_id, state=state)
    for logical_id in reversed(changes.added):
        _delete_one(stack, logical_id)
    _stack_status(stack, "UPDATE_ROLLBACK_COMPLETE")


def _check_no_operation(stack: Stack, verb: str) -> None:
    if stack.status.endswith("_IN_PROGRESS"):
        raise CfnValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be {verb}.")


def stack_update(self: Stack, template: str, role_arn: str | None = None, parameters: dict[str, Any] | None = None,
                 tags: dict[str, str] | None = None) -> None:
    """UpdateStack answers at once (after checking the template and parameters, as
    CloudFormation does before it answers); the update runs in the operation thread."""
    _check_no_operation(self, "updated")
    check = ResourceMap(self.stack_id, self.name, parameters or self.parameters, self.tags, region_name=self.region_name,
                        account_id=self.account_id, template=Stack.parse_template(template),
                        cross_stack_resources=self.cross_stack_resources)
    check.load()  # raises ValidationError for bad parameters or template
    engine = engine_of(self)
    _stack_status(self, "UPDATE_IN_PROGRESS", "User Initiated")
    engine.start("UPDATE", _guarded(_run_update, "UPDATE_ROLLBACK_FAILED"), self, template, role_arn, parameters, tags)


def _run_delete(stack: Stack, backend: CloudFormationBackend, previous: threading.Thread | None) -> None:
    if previous is not None and previous.is_alive():
        previous.join(timeout=4 * CFN_RESPONSE_TIMEOUT_CAP_S + 60)
    engine = engine_of(stack)
    engine.outputs_ready = False
    _stack_status(stack, "DELETE_IN_PROGRESS", "User Initiated")
    failed = _delete_all(stack, engine.present())
    if failed:
        _stack_status(stack, "DELETE_FAILED", f"The following resource(s) failed to delete: [{', '.join(failed)}]. ")
        return
    _stack_status(stack, "DELETE_COMPLETE")
    backend.stacks.pop(stack.stack_id, None)
    backend.deleted_stacks[stack.stack_id] = stack
    for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
        backend.exports.pop(name, None)


def backend_delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    """DeleteStack answers at once; a stack that does not exist (or is gone) is no error. The
    deletion runs in the operation thread, after any operation still running."""
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None
    )
    if stack is None:
        return
    engine = engine_of(stack)
    with engine.lock:
        if engine.operation == "DELETE":
            return
        engine.start("DELETE", _guarded(_run_delete, "DELETE_FAILED"), stack, self, engine.thread)


_orig_stack_outputs = Stack.outputs
_orig_stack_parameter_list = Stack.parameter_list


def stack_outputs(self: Stack) -> list[dict[str, Any]] | None:
    """Outputs once an operation has resolved them (none while the first create is in progress,
    nor after a rollback of it or a deletion; an update shows the previous ones until it ends);
    values as strings, a list joined with commas."""
    engine = self.__dict__.get("_samlfed_engine")
    if engine is not None and (not engine.outputs_ready or self.status in NO_OUTPUTS):
        return None
    outputs = _orig_stack_outputs.fget(self)  # type: ignore[attr-defined]
    for output in outputs or []:
        value = output.get("OutputValue")
        output["OutputValue"] = ",".join(cfn_string(value)) if isinstance(value, list) else cfn_string(value)
    return outputs


def stack_parameter_list(self: Stack) -> list[dict[str, Any]]:
    """DescribeStacks Parameters: every ParameterValue a string (a list comma-joined)."""
    parameters = _orig_stack_parameter_list.fget(self)  # type: ignore[attr-defined]
    for parameter in parameters:
        value = parameter["ParameterValue"]
        parameter["ParameterValue"] = ",".join(cfn_string(value)) if isinstance(value, list) else cfn_string(value)
    return parameters


Stack.create_resources = stack_create_resources  # type: ignore[method-assign]
Stack.update = stack_update  # type: ignore[method-assign,assignment]
Stack.outputs = property(stack_outputs)  # type: ignore[assignment,method-assign]
Stack.parameter_list = property(stack_parameter_list)  # type: ignore[assignment,method-assign]
CloudFormationBackend.delete_stack = backend_delete_stack  # type: ignore[method-assign]


# --- DescribeStackResource(s), ListStackResources: each resource's own status ---------------------
def _resource_rows(stack: Stack, logical_id: str | None = None) -> list[dict[str, Any]]:
    engine = engine_of(stack)
    with engine.lock:
        items = [(lid, r) for lid, r in engine.resources.items() if logical_id is None or lid == logical_id]
        rows = []
        for lid, r in items:
            row: dict[str, Any] = {
                "StackName": stack.name,
                "StackId": stack.stack_id,
                "LogicalResourceId": lid,
                "ResourceType": r.resource_type,
                "ResourceStatus": r.status,
                "LastUpdatedTimestamp": r.timestamp,
                "Timestamp": r.timestamp,
            }
            if r.physical_id:
                row["PhysicalResourceId"] = r.physical_id
            if r.reason:
                row["ResourceStatusReason"] = r.reason
            rows.append(row)
        return rows


def response_describe_stack_resource(self: CloudFormationResponse) -> ActionResult:
    """API_DescribeStackResource: the resource's own status (CREATE_IN_PROGRESS while its
    custom resource provider works on it), its PhysicalResourceId once known."""
    stack_name = self._get_param("StackName")
    logical_id = self._get_param("LogicalResourceId")
    stack = self.cloudformation_backend.get_stack(stack_name)
    rows = _resource_rows(stack, logical_id)
    if not rows:
        raise CfnValidationError(stack_name, f"Resource {logical_id} does not exist for stack {stack_name}")
    detail = {k: v for k, v in rows[0].items() if k != "Timestamp"}
    return ActionResult({"StackResourceDetail": detail})


def response_describe_stack_resources(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    rows = _resource_rows(stack, self._get_param("LogicalResourceId"))
    return ActionResult({"StackResources": [{k: v for k, v in r.items() if k != "LastUpdatedTimestamp"} for r in rows]})


def response_list_stack_resources(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    keep = ("LogicalResourceId", "PhysicalResourceId", "ResourceType", "LastUpdatedTimestamp", "ResourceStatus",
            "ResourceStatusReason")
    rows = [{k: r[k] for k in keep if k in r} for r in _resource_rows(stack)]
    return ActionResult({"StackResourceSummaries": rows})


# --- CloudFormation's record of operations run outside the engine (test-only) ---------------------
# Tests that play CloudFormation's part themselves (sending custom-resource events to the function
# directly) tell the emulator what CloudFormation's own record would show during that request, so
# that the function's origin check (src/cfn/origin.rs) is answered as on AWS:
#   POST /_samlfed/cfn-operations  {"Event": {...}}   the operation the event stands for is in
#        progress: Create -> stack and resource CREATE_IN_PROGRESS, no physical id; Update ->
#        UPDATE_IN_PROGRESS with the event's PhysicalResourceId; Delete -> DELETE_IN_PROGRESS with it
#        (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html);
#   POST /_samlfed/cfn-operations  {"StackId", "StackStatus", "LogicalResourceId", "ResourceType",
#        "ResourceStatus", "PhysicalResourceId"}  exactly that (ResourceStatus null: the stack has no
#        such resource), for the phases an event alone does not tell (cleanup, rollbacks);
#   DELETE /_samlfed/cfn-operations  forget them all.
# DescribeStackResource and DescribeStacks for a recorded StackId answer from the record; every
# other stack is moto's (and the engine's). Nothing is recorded unless a test asks: a forged event
# meets a CloudFormation that knows no such operation, as it would on AWS.
class RecordedOperations:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stacks: dict[str, dict[str, Any]] = {}

    def record(self, body: dict[str, Any]) -> None:
        if isinstance(body.get("Event"), dict):
            body = self.from_event(body["Event"])
        stack_id = str(body["StackId"])
        with self.lock:
            stack = self.stacks.setdefault(stack_id, {"StackStatus": "", "Resources": {}})
            stack["StackStatus"] = str(body["StackStatus"])
            logical_id = str(body["LogicalResourceId"])
            if body.get("ResourceStatus") is None:
                stack["Resources"].pop(logical_id, None)
            else:
                stack["Resources"][logical_id] = {
                    "ResourceType": str(body["ResourceType"]),
                    "ResourceStatus": str(body["ResourceStatus"]),
                    "PhysicalResourceId": str(body.get("PhysicalResourceId") or ""),
                }

    @staticmethod
    def from_event(event: dict[str, Any]) -> dict[str, Any]:
        status = {"Create": "CREATE_IN_PROGRESS", "Update": "UPDATE_IN_PROGRESS", "Delete": "DELETE_IN_PROGRESS"}
        in_progress = status.get(str(event.get("RequestType")), "CREATE_IN_PROGRESS")
        return {
            "StackId": event.get("StackId", ""),
            "StackStatus": in_progress,
            "LogicalResourceId": event.get("LogicalResourceId", ""),
            "ResourceType": event.get("ResourceType", ""),
            "ResourceStatus": in_progress,
            "PhysicalResourceId": event.get("PhysicalResourceId", ""),
        }

    def stack(self, stack_id: str) -> dict[str, Any] | None:
        with self.lock:
            stack = self.stacks.get(stack_id)
            return json.loads(json.dumps(stack)) if stack is not None else None

    def clear(self) -> None:
        with self.lock:
            self.stacks.clear()


RECORDED_OPERATIONS = RecordedOperations()


def _recorded_stack_name(stack_id: str) -> str:
    parts = stack_id.split(":stack/", 1)
    return parts[1].split("/", 1)[0] if len(parts) == 2 else stack_id


def response_describe_stack_resource_recorded(self: CloudFormationResponse) -> ActionResult:
    """API_DescribeStackResource from the test's record when the stack is recorded; the engine's
    answer otherwise."""
    stack_id = self._get_param("StackName")
    recorded = RECORDED_OPERATIONS.stack(stack_id)
    if recorded is None:
        return response_describe_stack_resource(self)
    logical_id = self._get_param("LogicalResourceId")
    resource = recorded["Resources"].get(logical_id)
    if resource is None:
        raise CfnValidationError(stack_id, f"Resource {logical_id} does not exist for stack {stack_id}")
    detail = {"StackName": _recorded_stack_name(stack_id), "StackId": stack_id, "LogicalResourceId": logical_id,
              "ResourceType": resource["ResourceType"], "ResourceStatus": resource["ResourceStatus"],
              "LastUpdatedTimestamp": datetime.datetime.now(datetime.timezone.utc)}
    if resource["PhysicalResourceId"]:
        detail["PhysicalResourceId"] = resource["PhysicalResourceId"]
    return ActionResult({"StackResourceDetail": detail})


_orig_describe_stacks = CloudFormationResponse.describe_stacks


def response_describe_stacks_recorded(self: CloudFormationResponse) -> Any:
    """API_DescribeStacks from the test's record when the stack is recorded; moto's otherwise."""
    stack_id = self._get_param("StackName")
    recorded = RECORDED_OPERATIONS.stack(stack_id) if stack_id else None
    if recorded is None:
        return _orig_describe_stacks(self)
    stack = {"StackId": stack_id, "StackName": _recorded_stack_name(stack_id), "StackStatus": recorded["StackStatus"],
             "Tags": {}, "CreationTime": datetime.datetime.now(datetime.timezone.utc)}
    return ActionResult({"Stacks": [stack]})


CloudFormationResponse.describe_stack_resource = response_describe_stack_resource_recorded  # type: ignore[method-assign]
CloudFormationResponse.describe_stacks = response_describe_stacks_recorded  # type: ignore[method-assign]
CloudFormationResponse.describe_stack_resources = response_describe_stack_resources  # type: ignore[method-assign]
CloudFormationResponse.list_stack_resources = response_list_stack_resources  # type: ignore[method-assign]

# ---------------------------------------------------------------------------------------------
# END OF PATCHES
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Call log
# ---------------------------------------------------------------------------------------------
# Sub-resource query keys -> the name part of the S3 operation (GET/PUT/DELETE + Bucket/Object).
_S3_BUCKET_SUBRESOURCES = {
    "acl": "Acl",
    "cors": "Cors",
    "encryption": "Encryption",
    "lifecycle": "LifecycleConfiguration",
    "location": "Location",
    "logging": "Logging",
    "notification": "NotificationConfiguration",
    "ownershipControls": "OwnershipControls",
    "policy": "Policy",
    "publicAccessBlock": "PublicAccessBlock",
    "replication": "Replication",
    "tagging": "Tagging",
    "versioning": "Versioning",
    "website": "Website",
}
_S3_OBJECT_SUBRESOURCES = {
    "acl": "Acl",
    "attributes": "Attributes",
    "legal-hold": "LegalHold",
    "retention": "Retention",
    "tagging": "Tagging",
}
_VERB = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}


def s3_action(method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> str:
    """S3 operation name from a path-style request, by these rules:

    * ``/``: GET -> ListBuckets.
    * ``/bucket``: a known sub-resource query key (``?versioning``, ``?tagging``, ...) gives
      Get/Put/DeleteBucket<Sub> (``?location`` -> GetBucketLocation); ``?versions`` ->
      ListObjectVersions; ``?uploads`` -> ListMultipartUploads; POST ``?delete`` ->
      DeleteObjects; otherwise PUT -> CreateBucket, DELETE -> DeleteBucket, HEAD -> HeadBucket,
      GET -> ListObjectsV2 with ``list-type=2`` else ListObjects.
    * ``/bucket/key``: HEAD -> HeadObject; ``?uploadId``: PUT -> UploadPart (UploadPartCopy with
      ``x-amz-copy-source``), POST -> CompleteMultipartUpload, DELETE -> AbortMultipartUpload,
      GET -> ListParts; POST ``?uploads`` -> CreateMultipartUpload; a known sub-resource ->
      Get/Put/DeleteObject<Sub>; otherwise GET -> GetObject, PUT -> PutObject (CopyObject with
      ``x-amz-copy-source``), DELETE -> DeleteObject.
    * Anything else: ``"<METHOD> <path shape>"``, e.g. ``"POST /bucket/key"``.
    """
    parts = unquote(path).lstrip("/").split("/", 1)
    bucket = parts[0]
    key = parts[1] if len(parts) > 1 else ""
    copy = "x-amz-copy-source" in {h.lower() for h in headers}
    if not bucket:
        return "ListBuckets" if method == "GET" else f"{method} /"
    if not key:
        for q, name in _S3_BUCKET_SUBRESOURCES.items():
            if q in query and method in _VERB:
                return f"{_VERB[method]}Bucket{name}"
        if "versions" in query and method == "GET":
            return "ListObjectVersions"
        if "uploads" in query and method == "GET":
            return "ListMultipartUploads"
        if "delete" in query and method == "POST":
            return "DeleteObjects"
        simple = {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}
        if method in simple:
            return simple[method]
        if method == "GET":
            return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        return f"{method} /bucket"
    if method == "HEAD":
        return "HeadObject"
    if "uploadId" in query:
        mpu = {
            "PUT": "UploadPartCopy" if copy else "UploadPart",
            "POST": "CompleteMultipartUpload",
            "DELETE": "AbortMultipartUpload",
            "GET": "ListParts",
        }
        if method in mpu:
            return mpu[method]
    if "uploads" in query and method == "POST":
        return "CreateMultipartUpload"
    for q, name in _S3_OBJECT_SUBRESOURCES.items():
        if q in query and method in _VERB:
            return f"{_VERB[method]}Object{name}"
    simple = {"GET": "GetObject", "PUT": "CopyObject" if copy else "PutObject", "DELETE": "DeleteObject"}
    return simple.get(method, f"{method} /bucket/key")


class CallLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict[str, str]] = []

    def add(self, entry: dict[str, str]) -> None:
        with self._lock:
            self._calls.append(entry)

    def snapshot(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


def _peek_form_body(environ: dict[str, Any]) -> dict[str, list[str]]:
    """Parse a form-encoded body without consuming it (it is put back for moto)."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return {}
    if length <= 0:
        return {}
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return parse_qs(body.decode("utf-8", "replace"))


class EmulatorApp:
    """WSGI app: the control endpoint, the call log, then moto's DomainDispatcherApplication."""

    def __init__(self) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.calls = CallLog()

    def _service(self, environ: dict[str, Any]) -> str:
        app = self.moto.get_application(environ)  # the same routing moto does for this request
        for name, instance in list(self.moto.app_instances.items()):
            if instance is app:
                return str(name)
        return "unknown"

    def _record(self, environ: dict[str, Any]) -> None:
        service = self._service(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if service == "s3":
            headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
            action = s3_action(method, path, query, headers)
        else:
            target = environ.get("HTTP_X_AMZ_TARGET")
            if target:
                action = target.rsplit(".", 1)[-1]
            else:
                params = query if "Action" in query else _peek_form_body(environ)
                action = (params.get("Action") or [f"{method} {path}"])[0]
        key = access_key_id(environ.get("HTTP_AUTHORIZATION"), query) or ""
        self.calls.add({"service": service, "action": action, "account": account_for_environ(environ), "access_key": key})

    def _control(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path.rstrip("/") == "/_samlfed/calls":
            if method == "GET":
                body = json.dumps(self.calls.snapshot()).encode()
                start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
                return [body]
            if method == "DELETE":
                self.calls.clear()
                start_response("204 No Content", [("Content-Length", "0")])
                return [b""]
            start_response("405 Method Not Allowed", [("Allow", "GET, DELETE"), ("Content-Length", "0")])
            return [b""]
        if path.rstrip("/") == "/_samlfed/cfn-operations":
            if method == "POST":
                try:
                    RECORDED_OPERATIONS.record(json.loads(Request(environ).get_data(cache=False) or b"{}"))
                except (KeyError, TypeError, ValueError) as exc:
                    body = f"bad record: {exc!r}".encode()
                    start_response("400 Bad Request", [("Content-Length", str(len(body)))])
                    return [body]
                start_response("204 No Content", [("Content-Length", "0")])
                return [b""]
            if method == "DELETE":
                RECORDED_OPERATIONS.clear()
                start_response("204 No Content", [("Content-Length", "0")])
                return [b""]
            start_response("405 Method Not Allowed", [("Allow", "POST, DELETE"), ("Content-Length", "0")])
            return [b""]
        if path.rstrip("/") == "/_samlfed/cfn-requests":
            if method != "GET":
                start_response("405 Method Not Allowed", [("Allow", "GET"), ("Content-Length", "0")])
                return [b""]
            body = json.dumps(SENT_REQUESTS.snapshot()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path.rstrip("/") == "/_samlfed/lambda-output":
            if method != "GET":
                start_response("405 Method Not Allowed", [("Allow", "GET"), ("Content-Length", "0")])
                return [b""]
            query = parse_qs(environ.get("QUERY_STRING", ""))
            arn = (query.get("FunctionArn") or [""])[0]
            stop = (query.get("stop") or [""])[0] == "true"
            body = LAMBDA_POOL.output(arn, stop=stop).encode()
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]

    def _cfn_response(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        """A custom resource's answer: PUT to the ResponseURL the engine handed out (see the
        CloudFormation PATCHES). 200 with an ETag, as S3 answers a presigned PUT; 403 for an
        unknown, already closed or wrongly signed URL."""
        if environ.get("REQUEST_METHOD") != "PUT":
            start_response("405 Method Not Allowed", [("Allow", "PUT"), ("Content-Length", "0")])
            return [b""]
        request = Request(environ)
        request.max_content_length = 1 << 20
        try:
            body = request.get_data(cache=False)
        except Exception:  # noqa: BLE001 - werkzeug's RequestEntityTooLarge and broken streams
            body = b"x" * (CFN_RESPONSE_LIMIT + 1)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        status, code = CFN_REQUESTS.answer((query.get("request") or [""])[0], (query.get("signature") or [""])[0], body)
        if status == 200:
            etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
            start_response("200 OK", [("ETag", etag), ("Content-Length", "0")])
            return [b""]
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{code}</Message></Error>'.encode()
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(xml)))])
        return [xml]

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/"):
            return self._control(environ, start_response)
        if CFN_RESPONSE_PATH.match(path):
            self.calls.add({"service": "cloudformation", "action": "CustomResourceResponse",
                            "account": account_for_environ(environ), "access_key": ""})
            return self._cfn_response(environ, start_response)
        if not path.startswith("/moto-api"):
            try:
                self._record(environ)
            except Exception as exc:  # the log must never break a request
                log(f"call log: {exc!r}")
        return self.moto(environ, start_response)


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------
LOCAL_FUNCTION_NAME = "samlfed"
LOCAL_FUNCTION_ACCOUNT = "123456789012"


def deploy_local_function(endpoint: str, bootstrap: str) -> str:
    """``--function PATH``: the role and the function ``samlfed`` made through this emulator's own
    API, as an operator would; returns the function's ARN."""
    import boto3

    with tempfile.TemporaryDirectory(prefix="samlfed-function-") as tmp:
        zip_path = os.path.join(tmp, "bootstrap.zip")
        lambda_local.package(bootstrap, zip_path)
        code = Path(zip_path).read_bytes()

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id=LOCAL_FUNCTION_ACCOUNT, aws_secret_access_key="local")

    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    role = client("iam").create_role(RoleName="samlfed-local-function", AssumeRolePolicyDocument=json.dumps(trust))
    fn = client("lambda").create_function(
        FunctionName=LOCAL_FUNCTION_NAME, Runtime="provided.al2", Handler="bootstrap", Role=role["Role"]["Arn"],
        Code={"ZipFile": code}, Timeout=60, MemorySize=128, LoggingConfig={"LogFormat": "JSON"},
        Environment={"Variables": {"SAMLFED_ORIGIN_CHECK": "off"}},
    )
    log(f"deployed {bootstrap} as {fn['FunctionArn']} (origin check off)")
    return str(fn["FunctionArn"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = pick a free one)")
    parser.add_argument(
        "--verbose", action="store_true", help="log every request, and every stack status change, to stderr"
    )
    parser.add_argument(
        "--no-stdin-watchdog", action="store_true", help="do not exit when stdin reaches EOF (manual runs)"
    )
    parser.add_argument(
        "--function", metavar="PATH",
        help=f"deploy this bootstrap as the Lambda function {LOCAL_FUNCTION_NAME!r} (for samlfed invoke)",
    )
    args = parser.parse_args(argv)

    if moto.__version__ != TESTED_MOTO_VERSION:
        log(f"warning: patches written for moto {TESTED_MOTO_VERSION}, running {moto.__version__}")

    verbose = args.verbose
    if verbose:
        VERBOSE.set()

    class Handler(MotoRequestHandler):
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            if verbose:
                super().log_request(code, size)

    app = EmulatorApp()
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=Handler)
    server.daemon_threads = True  # type: ignore[attr-defined]
    port = server.server_address[1]
    set_endpoint(f"http://127.0.0.1:{port}")

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    if not args.no_stdin_watchdog:

        def watchdog() -> None:
            # os.read on the raw descriptor: a thread blocked in a buffered read of sys.stdin
            # would abort the interpreter at exit.
            try:
                fd = sys.stdin.fileno()
                while os.read(fd, 65536):
                    pass
            except (OSError, ValueError, AttributeError):
                pass
            stop.set()

        threading.Thread(target=watchdog, name="stdin-watchdog", daemon=True).start()

    serving = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    serving.start()
    if args.function:
        try:
            deploy_local_function(f"http://127.0.0.1:{port}", args.function)
        except Exception as exc:  # noqa: BLE001 - said plainly, then the emulator stops
            log(f"--function {args.function}: {exc}")
            LAMBDA_POOL.stop_all()
            return 2
    print(f"PORT={port}", flush=True)
    log(f"listening on http://127.0.0.1:{port}")

    while not stop.wait(0.5):
        if not serving.is_alive():
            log("server thread died")
            LAMBDA_POOL.stop_all()
            return 1
    log("stopping")
    SHUTDOWN.set()  # stack operations stop waiting for answers
    LAMBDA_POOL.stop_all()  # the functions' processes, killed by PID
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Request threads and the stdin watchdog are daemon threads that may be blocked in I/O;
    # leave without the interpreter's shutdown sequence waiting on them.
    os._exit(code)
