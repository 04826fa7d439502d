"""Baseline for `make bench`: a plain Python 3 + boto3 CloudFormation custom resource for an IAM
SAML provider, written the most direct way (the shape of the AWS blog's handlers and of
``cfnresponse``), so samlfed has something honest to be compared with.

What it does, per request type (AWS calls in brackets):

* Create: read the metadata (S3 GetObject, or the inline ``MetadataDocument``), create the
  provider with the template's tags [CreateSAMLProvider], answer with its ARN.
* Update: read the metadata [GetObject]; same Name: [UpdateSAMLProvider] on the physical id;
  new Name: [CreateSAMLProvider] (CloudFormation deletes the old one).
* Delete: [DeleteSAMLProvider] on the physical id; NoSuchEntity counts as success.
* Every outcome, also an exception, is PUT to the ResponseURL with ``urllib.request`` (once).

Clients are built once at import (init), as Lambda's guidance says.

Properties. The bench sends it the events CloudFormation renders from templates/saml-federation.yaml
(bench/run.py), the same ones samlfed gets. It reads ``Name``, ``MetadataUrl`` (``s3://`` with an
optional ``?versionId=``) or ``MetadataDocument``, and ``Tags``; everything else is accepted and
ignored, as most hand-written handlers do:

* ``ServiceToken``, ``ServiceTimeout``: CloudFormation's own fields, not properties of the provider;
* ``AdoptExisting``: adoption is not implemented; it acts as "false" (the template's default, and
  what the bench sends): a Create over an existing provider fails with IAM's EntityAlreadyExists;
* ``MetadataSha256``, ``TrustedCertificateSha256``: pins are not implemented (see below).

What it does NOT do that samlfed does (so it makes fewer calls and less work per request):

* no metadata validation before the IAM call (no XML parse with DTDs refused, no SAML 2.0
  IdP/SSO/signing-certificate checks, no X.509 parse, no ``validUntil`` check, no size cap while
  reading) - IAM's own checks are all there is;
* no ``MetadataSha256`` / ``TrustedCertificateSha256`` pins, no property validation
  (unknown properties, Name pattern, tag rules);
* no ownership tags and no ownership check: Update and Delete act on whatever provider the
  physical id names (no GetSAMLProvider), so a rollback Delete after a failed Create can delete a
  pre-existing provider of the same name; a replayed Create fails instead of converging;
* no GetSAMLProvider, so no ``Uuid`` (SAMLProviderUUID) in ``Data``, no ``EntityId``,
  ``MetadataSha256`` or ``SigningCertificateNotAfter`` either; tags are not updated on Update;
* no ResponseURL allow-list (it PUTs wherever the event says), no stack-account check;
* no response retry/backoff, no 4096-byte cap on the body, no timer that answers before the
  Lambda deadline, no structured logs.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config

# Path-style S3 only against a local emulator (AWS_ENDPOINT_URL), as samlfed does.
_s3_config = Config(s3={"addressing_style": "path"}) if os.environ.get("AWS_ENDPOINT_URL") else None
s3 = boto3.client("s3", config=_s3_config)
iam = boto3.client("iam")


def handler(event, context):
    physical_id = event.get("PhysicalResourceId", context.log_stream_name)
    data = {}
    try:
        props = event["ResourceProperties"]
        request_type = event["RequestType"]
        if request_type == "Delete":
            try:
                iam.delete_saml_provider(SAMLProviderArn=physical_id)
            except iam.exceptions.NoSuchEntityException:
                pass
        else:
            document = read_metadata(props)
            name = props["Name"]
            old_name = physical_id.rsplit("/", 1)[-1] if request_type == "Update" else None
            if old_name == name:
                iam.update_saml_provider(SAMLProviderArn=physical_id, SAMLMetadataDocument=document)
            else:
                created = iam.create_saml_provider(Name=name, SAMLMetadataDocument=document,
                                                   Tags=props.get("Tags", []))
                physical_id = created["SAMLProviderArn"]
            data = {"Arn": physical_id, "Name": name}
        send(event, "SUCCESS", physical_id, data, "")
    except Exception as exc:  # answer CloudFormation whatever happened
        print(f"FAILED: {exc!r}")
        send(event, "FAILED", physical_id, {}, str(exc))
    return {"PhysicalResourceId": physical_id}


def read_metadata(props):
    if "MetadataDocument" in props:
        return props["MetadataDocument"]
    url = urllib.parse.urlsplit(props["MetadataUrl"])  # s3://bucket/key[?versionId=...]
    args = {"Bucket": url.netloc, "Key": urllib.parse.unquote(url.path.lstrip("/"))}
    version = urllib.parse.parse_qs(url.query).get("versionId")
    if version:
        args["VersionId"] = version[0]
    return s3.get_object(**args)["Body"].read().decode("utf-8")


def send(event, status, physical_id, data, reason):
    body = json.dumps({
        "Status": status,
        "Reason": reason or f"See the details in CloudWatch Log Stream: {physical_id}",
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
