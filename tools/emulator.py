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
Requests to ``/_samlfed/...`` and to moto's own ``/moto-api/...`` (reset, etc.) are never
recorded. ``/_samlfed`` cannot collide with S3 path-style bucket paths: bucket names start with a
lower-case letter or digit.

Stricter IAM
------------
moto 5.2.5 is laxer than IAM for SAML providers (duplicate names overwritten, missing ARNs
deleted with 200, no name/length/tag/quota checks, Tags and SAMLProviderUUID dropped, the SAML
provider tag APIs unimplemented) and for a few role APIs. The section "PATCHES" below makes it
answer as the IAM API reference documents; each patch cites its page.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import sys
import threading
import uuid
from typing import Any, Callable
from urllib.parse import parse_qs, unquote

# Must be set before moto builds any IAM backend.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

import moto  # noqa: E402
from moto.core.responses import ActionResult, BaseResponse, EmptyResult  # noqa: E402
from moto.iam import models as iam_models  # noqa: E402
from moto.iam.exceptions import (  # noqa: E402
    EntityAlreadyExists,
    LimitExceededException,
    MalformedPolicyDocument,
    TooManyTags,
    ValidationError,
)
from moto.iam.models import IAMBackend, get_account_id_from  # noqa: E402
from moto.iam.policy_validation import IAMTrustPolicyDocumentValidator  # noqa: E402
from moto.iam.responses import IamResponse  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402

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
    return twelve_digit_account(auth, query) or get_account_id_from(access_key_id(auth, query) or "")


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
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/"):
            return self._control(environ, start_response)
        if not path.startswith("/moto-api"):
            try:
                self._record(environ)
            except Exception as exc:  # the log must never break a request
                log(f"call log: {exc!r}")
        return self.moto(environ, start_response)


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = pick a free one)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument(
        "--no-stdin-watchdog", action="store_true", help="do not exit when stdin reaches EOF (manual runs)"
    )
    args = parser.parse_args(argv)

    if moto.__version__ != TESTED_MOTO_VERSION:
        log(f"warning: patches written for moto {TESTED_MOTO_VERSION}, running {moto.__version__}")

    verbose = args.verbose

    class Handler(MotoRequestHandler):
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            if verbose:
                super().log_request(code, size)

    app = EmulatorApp()
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=Handler)
    server.daemon_threads = True  # type: ignore[attr-defined]
    port = server.server_address[1]

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
    print(f"PORT={port}", flush=True)
    log(f"listening on http://127.0.0.1:{port}")

    while not stop.wait(0.5):
        if not serving.is_alive():
            log("server thread died")
            return 1
    log("stopping")
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
