#!/usr/bin/env python3
"""samlfed local demo: the real ``bootstrap`` binary serving ``Custom::SAMLProvider`` and
``Custom::SAMLRole`` events the way CloudFormation sends them, and the scheduled metadata refresh
the way EventBridge sends it, against the local AWS emulator (moto with stricter IAM).

    .venv/bin/python tools/demo.py --bootstrap target/release/bootstrap

What it does:

1. starts ``tools/emulator.py`` (a subprocess on 127.0.0.1), creates a versioned metadata bucket and
   a bucket for CloudFormation's responses;
2. makes a self-signed IdP certificate and a SAML 2.0 IdP metadata document, uploads it;
3. starts a Lambda Runtime API (``tools/runtime_api.py``) and the ``bootstrap`` binary against it;
4. sends the events of a stack's life, each custom-resource event with a presigned S3 PUT URL as
   ``ResponseURL``: Create of the provider; Create of a role that trusts it (printing the
   ``IdentityCenterRoleAttribute`` for IAM Identity Center); Update with rotated metadata
   (``?versionId=``); two scheduled refreshes (``{"Refresh": {...}}``) - one right after the IdP
   publishes a new object version (Changed true, UpdateSAMLProvider), one with nothing new
   (Changed false: one conditional GetObject answered 304, no IAM call); Update with a new Name (a
   replacement), the Update CloudFormation then sends the role (its ProviderArn changed),
   CloudFormation's cleanup Delete of the old provider; the stack deletion's Delete of the role,
   then of the provider; and an event whose ResponseURL points at the instance metadata service,
   which the function must refuse;
5. after each step prints the CloudFormation response (read back from S3) or the refresh outcome,
   what the function returned to the Runtime API, the AWS calls the step made (the emulator's call
   log), the function's log lines and the IAM state (SAML providers and roles).

Everything it started is stopped on exit, also on Ctrl-C or failure. The exit status is 0 only
when every step ended as it should; the function's log and the emulator's log stay in a temporary
directory whose path is printed.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runtime_api import FunctionExited, InvokeTimeout, RuntimeApi  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EMULATOR = ROOT / "tools" / "emulator.py"

ACCOUNT = "123456789012"
REGION = "us-east-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:samlfed"
METADATA_BUCKET = "acme-idp-metadata"
RESPONSE_BUCKET = "cloudformation-custom-resource-response-useast1"
METADATA_KEY = "metadata/idp.xml"
ENTITY_ID = "https://demo-idp.example.com/saml"
LOGICAL_ID = "IdentityProvider"
RESOURCE_TYPE = "Custom::SAMLProvider"
ROLE_LOGICAL_ID = "FederatedRole"
ROLE_TYPE = "Custom::SAMLRole"
ROLE_NAME = "DemoIdP-ReadOnly"
READ_ONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"  # the default of the role's Audiences
IDC_ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
INVOKE_TIMEOUT_S = 30.0  # the function's timeout for each invocation (Lambda-Runtime-Deadline-Ms)
STARTUP_TIMEOUT_S = 30.0
MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
IMDS_URL = "https://169.254.169.254/latest/meta-data/"


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------
class Out:
    """Plain text; bold/colour only when stdout is a terminal (and NO_COLOR is unset)."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def _c(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.tty else text

    def line(self, text: str = "") -> None:
        print(text, flush=True)

    def title(self, text: str) -> None:
        self.line()
        self.line(self._c("1", text))
        self.line("=" * len(text))

    def section(self, text: str) -> None:
        self.line(self._c("1", f"  {text}"))

    def kv(self, key: str, value: Any, indent: int = 4, width: int = 20) -> None:
        self.line(f"{' ' * indent}{key:<{width}} {value}")

    def text(self, text: str, indent: int = 4) -> None:
        for part in text.splitlines():
            self.line(f"{' ' * indent}{part}")

    def para(self, text: str, indent: int = 2, width: int = 100) -> None:
        self.line(textwrap.fill(" ".join(text.split()), width=width, initial_indent=" " * indent,
                                subsequent_indent=" " * indent, break_on_hyphens=False, break_long_words=False))

    def ok(self, text: str) -> None:
        self.line(f"    {self._c('32', 'ok  ')}  {text}")

    def bad(self, text: str) -> None:
        self.line(f"    {self._c('31;1', 'FAIL')}  {text}")


out = Out()


# ------------------------------------------------------------------------------------------------
# Certificates and metadata
# ------------------------------------------------------------------------------------------------
@dataclass
class Cert:
    der: bytes
    not_after: dt.datetime
    serial: int

    @property
    def b64(self) -> str:
        return base64.b64encode(self.der).decode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()


def make_certificate(cn: str = "demo-idp.example.com", days: int = 365) -> Cert:
    """A self-signed RSA-2048 signing certificate, as an IdP generates for itself."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Demo IdP Inc."),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    serial = x509.random_serial_number()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Cert(der=cert.public_bytes(serialization.Encoding.DER), not_after=now + dt.timedelta(days=days),
                serial=serial)


def _wrap(b64: str, indent: str) -> str:
    return "\n".join(indent + b64[i:i + 64] for i in range(0, len(b64), 64))


def metadata_document(certs: list[Cert]) -> str:
    """SAML 2.0 IdP metadata for ``ENTITY_ID`` with one signing KeyDescriptor per certificate."""
    key_descriptors = "".join(
        f"""
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo>
        <ds:X509Data>
          <ds:X509Certificate>
{_wrap(c.b64, "            ")}
          </ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>"""
        for c in certs
    )
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{MD_NS}" xmlns:ds="{DS_NS}"
    entityID="{ENTITY_ID}" ID="_{uuid.uuid4().hex}" cacheDuration="PT24H">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{key_descriptors}
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="https://demo-idp.example.com/saml/slo"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="https://demo-idp.example.com/saml/sso"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://demo-idp.example.com/saml/sso"/>
  </md:IDPSSODescriptor>
  <md:Organization>
    <md:OrganizationName xml:lang="en">Demo IdP Inc.</md:OrganizationName>
    <md:OrganizationDisplayName xml:lang="en">Demo IdP</md:OrganizationDisplayName>
    <md:OrganizationURL xml:lang="en">https://demo-idp.example.com/</md:OrganizationURL>
  </md:Organization>
  <md:ContactPerson contactType="technical">
    <md:GivenName>Platform Team</md:GivenName>
    <md:EmailAddress>mailto:platform@demo-idp.example.com</md:EmailAddress>
  </md:ContactPerson>
</md:EntityDescriptor>
"""
    assert len(doc) >= 1000, "IAM needs at least 1000 characters of metadata"
    return doc


def signing_certificates(document: str) -> list[str]:
    """The base64 signing certificates of the IDPSSODescriptor (whitespace removed)."""
    root = ET.fromstring(document.encode())
    found = []
    for kd in root.iter(f"{{{MD_NS}}}KeyDescriptor"):
        if kd.get("use", "signing") != "signing":
            continue
        for c in kd.iter(f"{{{DS_NS}}}X509Certificate"):
            found.append("".join((c.text or "").split()))
    return found


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------------
@dataclass
class Started:
    """Everything the demo started, stopped in reverse order by ``stop_all``."""

    emulator: subprocess.Popen | None = None
    bootstrap: subprocess.Popen | None = None
    api: RuntimeApi | None = None
    files: list[Any] = field(default_factory=list)


def stop_process(proc: subprocess.Popen | None, name: str, close_stdin: bool = False) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        if close_stdin and proc.stdin:
            proc.stdin.close()  # the emulator's watchdog exits on stdin EOF
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        out.line(f"  {name} (pid {proc.pid}) ignored SIGTERM; sending SIGKILL")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def stop_all(s: Started) -> None:
    stop_process(s.bootstrap, "bootstrap")
    if s.api is not None:
        s.api.stop()
    stop_process(s.emulator, "emulator", close_stdin=True)
    for f in s.files:
        try:
            f.close()
        except OSError:
            pass


def start_emulator(s: Started, workdir: Path) -> str:
    log = open(workdir / "emulator.log", "wb")
    s.files.append(log)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    s.emulator = subprocess.Popen(
        [sys.executable, str(EMULATOR)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
        cwd=ROOT,
    )
    assert s.emulator.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(s.emulator.stdout, selectors.EVENT_READ)
    buf = b""
    end = time.monotonic() + STARTUP_TIMEOUT_S
    try:
        while b"\n" not in buf:
            left = end - time.monotonic()
            if left <= 0 or s.emulator.poll() is not None:
                raise DemoError(f"the emulator did not print PORT=<n> within {STARTUP_TIMEOUT_S:g} s "
                                f"(see {workdir / 'emulator.log'})")
            if sel.select(timeout=min(left, 0.5)):
                chunk = os.read(s.emulator.stdout.fileno(), 256)
                if not chunk:
                    raise DemoError(f"the emulator closed stdout before PORT=<n> (see {workdir / 'emulator.log'})")
                buf += chunk
    finally:
        sel.close()
    first = buf.split(b"\n", 1)[0].decode().strip()
    if not first.startswith("PORT="):
        raise DemoError(f"unexpected first line from the emulator: {first!r}")
    return f"http://127.0.0.1:{int(first[5:])}"


def bootstrap_env(api_address: str, endpoint: str, workdir: Path) -> dict[str, str]:
    """Lambda's own variables plus the emulator's endpoint; nothing from this shell's AWS_* or
    profile settings (no AWS_PROFILE; AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name empty
    files written by ``main``, so no ~/.aws file is read)."""
    env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ") if k in os.environ}
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "AWS_LAMBDA_FUNCTION_NAME": "samlfed",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/samlfed",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{dt.date.today():%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCOUNT,
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(workdir / "aws-config-empty"),
        "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "aws-credentials-empty"),
    })
    return env


class DemoError(Exception):
    pass


# ------------------------------------------------------------------------------------------------
# The demo
# ------------------------------------------------------------------------------------------------
class Demo:
    def __init__(self, bootstrap: Path, workdir: Path) -> None:
        self.bootstrap = bootstrap
        self.workdir = workdir
        self.started = Started()
        self.failures: list[str] = []
        self.stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/samlfed-demo/{uuid.uuid4()}"
        self.log_path = workdir / "function.log"
        self.log_offset = 0
        self.current = "set-up"
        self.counts: list[tuple[int, int]] = []  # (SAML providers, roles) in IAM after each step

    # -- checks ----------------------------------------------------------------------------------
    def check(self, ok: bool, text: str) -> bool:
        if ok:
            out.ok(text)
        else:
            out.bad(text)
            self.failures.append(f"{self.current}: {text}")
        return ok

    # -- set-up ----------------------------------------------------------------------------------
    def setup(self) -> None:
        import boto3
        from botocore.config import Config

        self.current = "set-up"
        out.title("samlfed local demo")
        out.kv("bootstrap", self.bootstrap, indent=2)
        out.kv("logs", self.workdir, indent=2)
        out.kv("stack", self.stack_id, indent=2)

        t0 = time.monotonic()
        self.endpoint = start_emulator(self.started, self.workdir)
        out.kv("emulator", f"{self.endpoint} (moto, stricter IAM; pid {self.started.emulator.pid})", indent=2)

        def client(service: str) -> Any:
            return boto3.client(
                service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ACCOUNT,
                aws_secret_access_key="demo",
                config=Config(s3={"addressing_style": "path"}, signature_version="s3v4" if service == "s3" else None,
                              retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=15),
            )

        self.s3, self.iam = client("s3"), client("iam")
        self.s3.create_bucket(Bucket=METADATA_BUCKET)
        self.s3.put_bucket_versioning(Bucket=METADATA_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.s3.create_bucket(Bucket=RESPONSE_BUCKET)
        out.kv("buckets", f"s3://{METADATA_BUCKET} (versioned), s3://{RESPONSE_BUCKET} (responses)", indent=2)

        self.cert1 = make_certificate()
        self.doc1 = metadata_document([self.cert1])
        put = self.s3.put_object(Bucket=METADATA_BUCKET, Key=METADATA_KEY, Body=self.doc1.encode(),
                                 ContentType="application/samlmetadata+xml")
        self.version1 = put["VersionId"]
        out.kv("metadata v1", f"s3://{METADATA_BUCKET}/{METADATA_KEY}  version {self.version1}", indent=2)
        out.kv("", f"{len(self.doc1)} chars, sha256 {sha256_text(self.doc1)[:16]}…, 1 signing certificate "
                   f"(CN=demo-idp.example.com, sha256 {self.cert1.sha256[:16]}…, "
                   f"NotAfter {self.cert1.not_after:%Y-%m-%dT%H:%M:%SZ})", indent=2)

        api = RuntimeApi(function_arn=FUNCTION_ARN, default_timeout_s=INVOKE_TIMEOUT_S)
        self.started.api = api.start()
        log = open(self.log_path, "wb")
        self.started.files.append(log)
        self.started.bootstrap = subprocess.Popen(
            [str(self.bootstrap)], env=bootstrap_env(api.address, self.endpoint, self.workdir),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
        )
        out.kv("runtime API", f"http://{api.address}/2018-06-01/runtime", indent=2)
        if not api.wait_for_poll(timeout_s=STARTUP_TIMEOUT_S, process=self.started.bootstrap):
            detail = api.init_error.body if api.init_error else f"exit status {self.started.bootstrap.poll()}"
            self.print_log()
            raise DemoError(f"the function did not reach /invocation/next ({detail}); log: {self.log_path}")
        out.kv("function", f"pid {self.started.bootstrap.pid}, waiting for events "
                           f"(ready {time.monotonic() - t0:.1f} s after the demo started)", indent=2)

    # -- one step --------------------------------------------------------------------------------
    def event(self, request_type: str, properties: dict[str, Any], physical_id: str | None = None,
              old_properties: dict[str, Any] | None = None, response_url: str | None = None,
              logical_id: str = LOGICAL_ID, resource_type: str = RESOURCE_TYPE) -> dict[str, Any]:
        request_id = str(uuid.uuid4())
        url = response_url or self.s3.generate_presigned_url(
            "put_object", Params={"Bucket": RESPONSE_BUCKET, "Key": request_id}, ExpiresIn=7200)
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": FUNCTION_ARN,
            "ResponseURL": url,
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": {"ServiceToken": FUNCTION_ARN, **properties},
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = {"ServiceToken": FUNCTION_ARN, **old_properties}
        return event

    def step(self, title: str, event: dict[str, Any], note: str = "") -> dict[str, Any]:
        """Sends ``event``; prints and returns what happened. The IAM state shown in full is that of
        the event's resource type (SAML providers or roles); the other is one line."""
        self.current = title
        out.title(title)
        if note:
            out.para(note)
            out.line()
        props = {k: v for k, v in event["ResourceProperties"].items() if k != "ServiceToken"}
        out.section("Event")
        out.kv("RequestType", event["RequestType"])
        out.kv("ResourceType", f"{event['ResourceType']}  (LogicalResourceId {event['LogicalResourceId']})")
        if "PhysicalResourceId" in event:
            out.kv("PhysicalResourceId", event["PhysicalResourceId"])
        out.kv("ResourceProperties", json.dumps(props))
        shown_url = event["ResponseURL"].split("?", 1)[0] + ("?X-Amz-…(presigned)" if "?" in event["ResponseURL"] else "")
        out.kv("ResponseURL", shown_url)

        self.clear_calls()
        # The demo plays CloudFormation: its record shows the operation the event stands for, which
        # is what the function's origin check asks (tools/emulator.py, /_samlfed/cfn-operations).
        record = json.dumps({"Event": event}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/_samlfed/cfn-operations", data=record,
                                                      method="POST"), timeout=10).close()
        try:
            result = self.started.api.invoke(event, timeout_s=INVOKE_TIMEOUT_S, process=self.started.bootstrap)
        except (InvokeTimeout, FunctionExited) as exc:
            self.print_log()
            raise DemoError(str(exc)) from exc
        calls = self.calls()

        response, size = self.read_response(event["RequestId"])
        out.section("CloudFormation response (read back from the response bucket)")
        if response is None:
            out.kv("(none)", f"no object s3://{RESPONSE_BUCKET}/{event['RequestId']}")
        else:
            for key in ("Status", "Reason", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId",
                        "NoEcho"):
                if key in response:
                    value = response[key]
                    out.kv(key, value if isinstance(value, str) else json.dumps(value))
            data = response.get("Data") or {}
            if data:
                out.kv("Data", "")
                for k, v in sorted(data.items()):
                    out.kv(k, v, indent=6, width=28)
            else:
                out.kv("Data", "(none)")
            unexpected = sorted(set(response) - {"Status", "Reason", "PhysicalResourceId", "StackId", "RequestId",
                                                 "LogicalResourceId", "NoEcho", "Data"})
            if unexpected:
                out.kv("other fields", ", ".join(unexpected))

        out.section("Function's return to the Runtime API")
        out.kv(f"/{result.kind}", json.dumps(result.body) + (f"  ({result.error_type})" if result.error_type else ""))
        out.kv("duration", f"{result.duration_s * 1000:.0f} ms")

        out.section("AWS calls made during the step (emulator call log, in order)")
        if not calls:
            out.kv("(none)", "")
        for c in calls:
            out.kv(f"{c['service']}:{c['action']}", f"account {c['account']}", width=30)

        out.section("Function log")
        self.print_log(indent=4)

        providers, roles = self.iam_state(focus="roles" if event["ResourceType"] == ROLE_TYPE else "providers")
        return {"result": result, "response": response, "size": size, "calls": calls, "providers": providers,
                "roles": roles}

    def refresh_step(self, title: str, refresh: dict[str, Any], note: str = "",
                     probe_not_modified: bool = False) -> dict[str, Any]:
        """Invokes the function with the scheduled refresh event ``{"Refresh": refresh}`` (what the
        EventBridge rule sends: no ResponseURL, nobody to answer but the invoker); prints and returns
        what happened. With ``probe_not_modified``, the demo then sends S3 the conditional GetObject
        a warm function sends (If-None-Match: the current ETag) and shows S3's answer."""
        self.current = title
        out.title(title)
        if note:
            out.para(note)
            out.line()
        event = {"Refresh": refresh}
        out.section("Event (the EventBridge schedule's input; no ResponseURL - the invoker gets the return value)")
        out.kv("input", json.dumps(event))

        self.clear_calls()
        try:
            result = self.started.api.invoke(event, timeout_s=INVOKE_TIMEOUT_S, process=self.started.bootstrap)
        except (InvokeTimeout, FunctionExited) as exc:
            self.print_log()
            raise DemoError(str(exc)) from exc
        calls = self.calls()

        out.section("Function's return to the Runtime API: the refresh outcome")
        out.kv(f"/{result.kind}", "" if result.kind == "response" else f"({result.error_type})")
        out.text(json.dumps(result.body, indent=2), indent=6)
        out.kv("duration", f"{result.duration_s * 1000:.0f} ms")

        out.section("AWS calls made during the step (emulator call log, in order)")
        if not calls:
            out.kv("(none)", "")
        for c in calls:
            out.kv(f"{c['service']}:{c['action']}", f"account {c['account']}", width=30)
        probe: int | None = None
        if probe_not_modified:
            probe, etag = self.conditional_get_status()
            out.para(f"The GetObject above is conditional: the warm function sent If-None-Match with the ETag of "
                     f"the document it last applied. The demo sends S3 the same request now (If-None-Match: {etag}); "
                     f"S3 answers {probe}{' Not Modified, no body' if probe == 304 else ''}.", indent=4)

        out.section("Function log")
        self.print_log(indent=4)

        providers, roles = self.iam_state(focus="providers")
        return {"result": result, "calls": calls, "providers": providers, "roles": roles, "probe": probe}

    # -- helpers ---------------------------------------------------------------------------------
    def clear_calls(self) -> None:
        req = urllib.request.Request(f"{self.endpoint}/_samlfed/calls", method="DELETE")
        with urllib.request.urlopen(req, timeout=5):
            pass

    def calls(self) -> list[dict[str, str]]:
        with urllib.request.urlopen(f"{self.endpoint}/_samlfed/calls", timeout=5) as r:
            return json.loads(r.read())

    def read_response(self, request_id: str) -> tuple[dict[str, Any] | None, int]:
        """The response object CloudFormation would read, and its size in bytes."""
        from botocore.exceptions import ClientError

        try:
            obj = self.s3.get_object(Bucket=RESPONSE_BUCKET, Key=request_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, 0
            raise
        body = obj["Body"].read()
        return json.loads(body), len(body)

    def conditional_get_status(self) -> tuple[int, str]:
        """The HTTP status S3 gives a GetObject of the metadata's latest version with If-None-Match
        set to that version's ETag, and the ETag."""
        from botocore.exceptions import ClientError

        etag = self.s3.head_object(Bucket=METADATA_BUCKET, Key=METADATA_KEY)["ETag"]
        try:
            obj = self.s3.get_object(Bucket=METADATA_BUCKET, Key=METADATA_KEY, IfNoneMatch=etag)
            obj["Body"].read()
            return 200, etag
        except ClientError as exc:
            return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0), etag

    def iam_state(self, focus: str = "providers") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """IAM's SAML providers and roles after a step; ``focus`` is printed in full."""
        providers = []
        for p in sorted(self.iam.list_saml_providers()["SAMLProviderList"], key=lambda p: p["Arn"]):
            got = self.iam.get_saml_provider(SAMLProviderArn=p["Arn"])
            doc = got["SAMLMetadataDocument"]
            providers.append({
                "Arn": p["Arn"],
                "Uuid": got.get("SAMLProviderUUID"),
                "Tags": {t["Key"]: t["Value"] for t in got.get("Tags", [])},
                "Sha256": sha256_text(doc),
                "Certificates": signing_certificates(doc),
            })
        roles = []
        for listed in sorted(self.iam.list_roles()["Roles"], key=lambda r: r["Arn"]):
            name = listed["RoleName"]
            role = self.iam.get_role(RoleName=name)["Role"]
            trust = role.get("AssumeRolePolicyDocument")
            if isinstance(trust, str):  # botocore decodes it; URL-encoded JSON if it did not
                trust = json.loads(urllib.parse.unquote(trust))
            roles.append({
                "Arn": role["Arn"],
                "RoleName": name,
                "RoleId": role["RoleId"],
                "MaxSessionDuration": role.get("MaxSessionDuration"),
                "Tags": {t["Key"]: t["Value"] for t in role.get("Tags", [])},
                "Trust": trust,
                "Attached": [a["PolicyArn"] for a in
                             self.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]],
                "Inline": self.iam.list_role_policies(RoleName=name)["PolicyNames"],
            })
        if focus == "roles":
            self.print_roles(roles)
            self.print_providers(providers, brief=True)
        else:
            self.print_providers(providers)
            self.print_roles(roles, brief=True)
        return providers, roles

    def print_providers(self, providers: list[dict[str, Any]], brief: bool = False) -> None:
        out.section(f"IAM SAML providers in account {ACCOUNT} after the step: {len(providers)}")
        if brief:
            if providers:
                out.text(", ".join(f"{p['Arn'].rsplit('/', 1)[1]} ({len(p['Certificates'])} signing certificate(s), "
                                   f"document sha256 {p['Sha256'][:16]}…)" for p in providers))
                out.line()
            return
        for p in providers:
            out.kv("Arn", p["Arn"])
            out.kv("UUID", p["Uuid"])
            out.kv("Tags", "")
            for k, v in p["Tags"].items():
                out.kv(k, v, indent=6, width=26)
            out.kv("document sha256", p["Sha256"])
            out.kv("certificates", f"{len(p['Certificates'])} signing")
            out.line()

    def print_roles(self, roles: list[dict[str, Any]], brief: bool = False) -> None:
        out.section(f"IAM roles in account {ACCOUNT} after the step: {len(roles)}")
        if brief:
            if roles:
                out.text(", ".join(f"{r['RoleName']} (trusts {', '.join(trusted_providers(r['Trust'])) or '-'})"
                                   for r in roles))
                out.line()
            return
        for r in roles:
            out.kv("Arn", r["Arn"])
            out.kv("RoleId", r["RoleId"])
            out.kv("MaxSessionDuration", r["MaxSessionDuration"])
            out.kv("attached policies", ", ".join(r["Attached"]) or "(none)")
            out.kv("inline policies", ", ".join(r["Inline"]) or "(none)")
            out.kv("Tags", "")
            for k, v in r["Tags"].items():
                out.kv(k, v, indent=6, width=26)
            out.kv("trust policy", "(GetRole's AssumeRolePolicyDocument, decoded)")
            out.text(json.dumps(r["Trust"], indent=2), indent=6)
            out.line()

    def print_log(self, indent: int = 4) -> None:
        """The function's log lines written since the last call, one readable line each."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                data = f.read()
        except OSError:
            return
        complete = data[: data.rfind(b"\n") + 1] if b"\n" in data else b""
        self.log_offset += len(complete)
        lines = [ln for ln in complete.decode("utf-8", "replace").splitlines() if ln.strip()]
        if not lines:
            out.kv("(nothing logged)", "", indent=indent)
        for ln in lines:
            if "X-Amz-Signature" in ln or "X-Amz-Credential" in ln:
                self.check(False, "a log line contains the presigned ResponseURL's query string")
            out.text(format_log_line(ln), indent=indent)

    # -- the story -------------------------------------------------------------------------------
    def run(self) -> None:
        self.setup()
        url1 = f"s3://{METADATA_BUCKET}/{METADATA_KEY}"
        props1 = {"Name": "DemoIdP", "MetadataUrl": url1, "Tags": [{"Key": "team", "Value": "platform"}]}
        arn1 = f"arn:aws:iam::{ACCOUNT}:saml-provider/DemoIdP"
        arn2 = f"arn:aws:iam::{ACCOUNT}:saml-provider/DemoIdP-v2"
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
        role_tags = [{"Key": "team", "Value": "platform"}, {"Key": "access", "Value": "read-only"}]
        role_props1 = {
            "RoleName": ROLE_NAME,
            "ProviderArn": arn1,  # !Ref IdentityProvider
            "ManagedPolicyArns": [READ_ONLY_POLICY],
            "MaxSessionDuration": "3600",  # CloudFormation sends numbers as strings
            "Tags": role_tags,
        }

        # 1. Create the provider
        note = (
            "CloudFormation creates the resource. The function reads the metadata from S3, validates it "
            "(SAML 2.0 EntityDescriptor, IdP SSO endpoints, a signing certificate that parses as X.509), "
            "creates the provider with the template's tags plus ownership tags naming the stack and logical "
            "id, and answers with the provider ARN and IAM's UUID (the per-provider ACS URL is "
            "https://signin.aws.amazon.com/saml/acs/<UUID>)."
        )
        r = self.step("Step 1 - Create the SAML provider", self.event("Create", props1), note=note)
        self.expect(r, "SUCCESS", arn1, providers=1, roles=0)
        self.expect_provider(r, arn1, self.doc1, certs=1, tags={"team": "platform"})

        # 2. Create a role that trusts it
        note = (
            f"The stack's second resource, {ROLE_LOGICAL_ID} ({ROLE_TYPE}), depends on the provider "
            f"(ProviderArn: !Ref {LOGICAL_ID}), so CloudFormation creates it next. The function creates the role "
            "with a trust policy that lets only SAML assertions from that provider, addressed to "
            f"{SAML_AUDIENCE}, assume it (sts:AssumeRoleWithSAML), attaches ReadOnlyAccess, and answers "
            "with the value IAM Identity Center needs to sign people into this role. MaxSessionDuration "
            "arrives as the string \"3600\", as CloudFormation sends every number."
        )
        r = self.step("Step 2 - Create a role that trusts the provider",
                      self.event("Create", role_props1, logical_id=ROLE_LOGICAL_ID, resource_type=ROLE_TYPE),
                      note=note)
        self.show_identity_center_attribute(r)
        self.expect(r, "SUCCESS", role_arn, providers=1, roles=1)
        self.expect_role(r, role_arn, arn1, tags={t["Key"]: t["Value"] for t in role_tags})
        self.check([f"{c['service']}:{c['action']}" for c in r["calls"]]
                   == ["cloudformation:DescribeStackResource", "iam:CreateRole", "iam:AttachRolePolicy", "s3:PutObject"],
                   "AWS calls: the origin check (DescribeStackResource: is CloudFormation creating this role?), "
                   "CreateRole (trust policy, session length, tags in one call), AttachRolePolicy, then the response PUT")

        # 3. Update: rotated metadata as a new object version, reached through ?versionId=
        self.cert2 = make_certificate()
        self.doc2 = metadata_document([self.cert1, self.cert2])
        put = self.s3.put_object(Bucket=METADATA_BUCKET, Key=METADATA_KEY, Body=self.doc2.encode(),
                                 ContentType="application/samlmetadata+xml")
        version2 = put["VersionId"]
        props2 = {**props1, "MetadataUrl": f"{url1}?versionId={version2}"}
        note = (
            "The IdP starts rotating its signing key: the new metadata carries the old and the new certificate\n"
            f"(new: sha256 {self.cert2.sha256[:16]}…). It is uploaded to the same key as a new object version\n"
            f"({version2}). A new version under the same key changes no property of the resource,\n"
            "so CloudFormation would send no Update at all: putting ?versionId=<new version> into\n"
            "MetadataUrl is what makes the stack update reach the function, and the function then\n"
            "reads exactly that version and calls UpdateSAMLProvider in place (no delete/re-create)."
        )
        r = self.step("Step 3 - Update: rotated metadata (new S3 object version, ?versionId=)",
                      self.event("Update", props2, physical_id=arn1, old_properties=props1), note=note)
        self.expect(r, "SUCCESS", arn1, providers=1, roles=1)
        self.expect_provider(r, arn1, self.doc2, certs=2, tags={"team": "platform"})
        self.check(any(c["action"] == "UpdateSAMLProvider" for c in r["calls"]),
                   "the provider was updated in place (UpdateSAMLProvider)")
        self.check(not any(c["action"] in ("DeleteSAMLProvider", "CreateSAMLProvider") for c in r["calls"]),
                   "no delete/re-create")

        # 4. Scheduled refresh after the IdP publishes again: no stack update needed
        self.doc3 = metadata_document([self.cert2])
        put = self.s3.put_object(Bucket=METADATA_BUCKET, Key=METADATA_KEY, Body=self.doc3.encode(),
                                 ContentType="application/samlmetadata+xml")
        version3 = put["VersionId"]
        refresh = {"ProviderArn": arn1, "MetadataUrl": url1}
        note = (
            "The IdP completes the rotation: it now signs with the new key and its metadata drops the old\n"
            f"certificate. It is uploaded as another object version ({version3}); nobody touches the stack.\n"
            "The template's optional EventBridge schedule invokes the function with a refresh event whose\n"
            "MetadataUrl has no versionId, so a refresh follows the latest object version. This warm function\n"
            "has not refreshed this provider before: it reads the document, validates it, compares it with\n"
            "IAM's copy (GetSAMLProvider) and, as it differs, calls UpdateSAMLProvider."
        )
        r = self.refresh_step("Step 4 - Scheduled refresh after the IdP publishes rotated metadata", refresh, note=note)
        self.expect_refresh(r, arn1, self.doc3, changed=True,
                            calls=["s3:GetObject", "iam:GetSAMLProvider", "iam:UpdateSAMLProvider"])
        self.check(r["providers"] and r["providers"][0]["Certificates"] == [self.cert2.b64],
                   "IAM's copy carries only the new signing certificate")
        self.check((r["result"].body or {}).get("SigningCertificateNotAfter")
                   == f"{self.cert2.not_after:%Y-%m-%dT%H:%M:%SZ}",
                   "SigningCertificateNotAfter is the new certificate's NotAfter")

        # 5. The next scheduled refresh: nothing new
        note = (
            "The schedule fires again; the IdP published nothing new. The warm function remembers the ETag of\n"
            "what it applied, so it sends one conditional GetObject (If-None-Match), S3 answers 304 with no\n"
            "body, and the refresh ends there: Changed false, no IAM call at all."
        )
        r = self.refresh_step("Step 5 - Scheduled refresh with nothing new", refresh, note=note,
                              probe_not_modified=True)
        self.expect_refresh(r, arn1, self.doc3, changed=False, calls=["s3:GetObject"])
        self.check(not any(c["service"] == "iam" for c in r["calls"]), "no IAM call")
        self.check(r["probe"] == 304, "S3 answers that conditional GetObject 304 Not Modified"
                   + (f" (got {r['probe']})" if r["probe"] != 304 else ""))

        # 6. Update with a new Name: a replacement
        props6 = {**props2, "Name": "DemoIdP-v2", "MetadataUrl": f"{url1}?versionId={version3}"}
        note = (
            "Name cannot change in place in IAM, so a new Name is a replacement: the function creates\n"
            "DemoIdP-v2 and answers with its ARN as the new PhysicalResourceId. The template now pins the\n"
            f"current object version ({version3}, what the refresh applied), as the deploy targets do.\n"
            "CloudFormation sees the id change, updates what refers to it (step 7) and, once the update\n"
            "succeeds, sends a Delete for the old id (step 8)."
        )
        r = self.step("Step 6 - Update: new Name (replacement)",
                      self.event("Update", props6, physical_id=arn1, old_properties=props2), note=note)
        self.expect(r, "SUCCESS", arn2, providers=2, roles=1)
        self.expect_provider(r, arn2, self.doc3, certs=1, tags={"team": "platform"})

        # 7. The role's ProviderArn (a !Ref of the provider) changed: an in-place Update of the role
        role_props2 = {**role_props1, "ProviderArn": arn2}
        note = (
            f"The role's ProviderArn is !Ref {LOGICAL_ID}, which is now DemoIdP-v2's ARN, so CloudFormation "
            "sends the role an Update. Same RoleName: the function updates the trust policy in place "
            "(UpdateAssumeRolePolicy) - no delete/re-create, the RoleId and ARN stay - and the "
            "IdentityCenterRoleAttribute changes with the provider."
        )
        r = self.step("Step 7 - Update the role: it now trusts DemoIdP-v2 (in place)",
                      self.event("Update", role_props2, physical_id=role_arn, old_properties=role_props1,
                                 logical_id=ROLE_LOGICAL_ID, resource_type=ROLE_TYPE), note=note)
        self.show_identity_center_attribute(r)
        self.expect(r, "SUCCESS", role_arn, providers=2, roles=1)
        self.expect_role(r, role_arn, arn2, tags={t["Key"]: t["Value"] for t in role_tags})
        actions = [c["action"] for c in r["calls"]]
        self.check("UpdateAssumeRolePolicy" in actions, "the trust policy was updated in place (UpdateAssumeRolePolicy)")
        self.check(not any(a in ("CreateRole", "DeleteRole") for a in actions), "no delete/re-create")
        self.check("UpdateRole" not in actions,
                   'no UpdateRole: MaxSessionDuration "3600" (a string) equals IAM\'s 3600')

        # 8. CloudFormation's cleanup Delete of the old physical id (with the old properties)
        note = (
            "After the replacement, CloudFormation's cleanup phase deletes the old physical id, with the old "
            "properties. The function deletes it only because it carries this stack's ownership tags."
        )
        r = self.step("Step 8 - Delete of the replaced provider (CloudFormation's cleanup phase)",
                      self.event("Delete", props2, physical_id=arn1), note=note)
        self.expect(r, "SUCCESS", arn1, providers=1, roles=1)
        self.check([p["Arn"] for p in r["providers"]] == [arn2], "only DemoIdP-v2 is left")

        # 9. Stack deletion: the role first (it depends on the provider)
        note = (
            "The stack is deleted. CloudFormation deletes in reverse dependency order: the role first. The "
            "function checks the role carries this stack's ownership tags, detaches ReadOnlyAccess, then "
            "deletes the role."
        )
        r = self.step("Step 9 - Delete the role (stack deletion)",
                      self.event("Delete", role_props2, physical_id=role_arn, logical_id=ROLE_LOGICAL_ID,
                                 resource_type=ROLE_TYPE), note=note)
        self.expect(r, "SUCCESS", role_arn, providers=1, roles=0)
        actions = [c["action"] for c in r["calls"]]
        self.check("DetachRolePolicy" in actions and "DeleteRole" in actions,
                   "ReadOnlyAccess detached, then the role deleted (DetachRolePolicy, DeleteRole)")

        # 10. ... then the provider
        r = self.step("Step 10 - Delete the provider (stack deletion)", self.event("Delete", props6, physical_id=arn2),
                      note="Then CloudFormation deletes the current provider. The account is back to empty.")
        self.expect(r, "SUCCESS", arn2, providers=0, roles=0)

        # 11. A refused event: its ResponseURL points at the instance metadata service
        event = self.event("Create", {**props1, "Name": "DemoIdP-refused"}, response_url=IMDS_URL)
        note = (
            f"This event's ResponseURL is {IMDS_URL} - not a presigned S3 URL. A function that\n"
            "PUT its answer wherever the event says would be a request-forwarding service (SSRF).\n"
            "The function must refuse the event whole: no AWS call, no fetch, no response PUT - and go on "
            "serving the next event."
        )
        r = self.step("Step 11 - Refused event (ResponseURL is the instance metadata service)", event, note=note)
        out.section("Checks")
        self.check(r["response"] is None, f"no response object s3://{RESPONSE_BUCKET}/{event['RequestId']}")
        self.check(r["calls"] == [], "no AWS call (the emulator saw no request during the step)")
        body = r["result"].body
        self.check(r["result"].kind == "response" and isinstance(body, dict) and body.get("Status") == "REFUSED",
                   "the function returned Status REFUSED to the Runtime API")
        self.check(len(r["providers"]) == 0 and len(r["roles"]) == 0, "IAM SAML providers: 0, roles: 0")
        self.counts.append((len(r["providers"]), len(r["roles"])))
        alive = self.started.api.wait_for_poll(timeout_s=5, process=self.started.bootstrap)
        self.check(alive and self.started.bootstrap.poll() is None,
                   "the function keeps serving: its process is running and polling /invocation/next again")

    def show_identity_center_attribute(self, r: dict[str, Any]) -> None:
        """The role's IdentityCenterRoleAttribute, set apart, with where it goes."""
        value = ((r["response"] or {}).get("Data") or {}).get("IdentityCenterRoleAttribute", "(missing)")
        out.section(">>> IdentityCenterRoleAttribute (Data of the role; a stack output)")
        out.line()
        out.line(f"      {value}")
        out.line()
        out.para(f"Where it goes: in IAM Identity Center, open the \"External AWS Account\" application for this "
                 f"account and, under Attribute mappings, give {IDC_ROLE_ATTRIBUTE} exactly this value, so the "
                 "SAML assertion it sends names this provider and this role.", indent=4)
        out.line()

    def expect(self, r: dict[str, Any], status: str, physical_id: str, providers: int, roles: int) -> None:
        out.section("Checks")
        resp = r["response"] or {}
        self.check(r["response"] is not None and r["size"] <= 4096,
                   f"CloudFormation received a response ({r['size']} bytes; its limit is 4096)")
        self.check(resp.get("Status") == status, f"Status {status}" + (f" (got {resp.get('Status')}: "
                                                                        f"{resp.get('Reason')})" if resp.get("Status") != status else ""))
        self.check(resp.get("PhysicalResourceId") == physical_id, f"PhysicalResourceId {physical_id}")
        self.check(r["result"].kind == "response", "the invocation ended with /response (Lambda will not retry it)")
        self.expect_counts(r, providers, roles)

    def expect_counts(self, r: dict[str, Any], providers: int, roles: int) -> None:
        self.counts.append((len(r["providers"]), len(r["roles"])))
        self.check(len(r["providers"]) == providers, f"IAM SAML providers: {providers}"
                   + (f" (got {len(r['providers'])})" if len(r["providers"]) != providers else ""))
        self.check(len(r["roles"]) == roles, f"IAM roles: {roles}"
                   + (f" (got {len(r['roles'])})" if len(r["roles"]) != roles else ""))

    def expect_provider(self, r: dict[str, Any], arn: str, document: str, certs: int, tags: dict[str, str]) -> None:
        p = next((p for p in r["providers"] if p["Arn"] == arn), None)
        if not self.check(p is not None, f"{arn.rsplit('/', 1)[1]} exists in IAM"):
            return
        data = (r["response"] or {}).get("Data") or {}
        self.check(p["Sha256"] == sha256_text(document), "IAM holds the uploaded document byte for byte (sha256)")
        self.check(data.get("MetadataSha256") == p["Sha256"], "Data.MetadataSha256 is the sha256 of what IAM holds")
        self.check(len(p["Certificates"]) == certs, f"{certs} signing certificate(s) in IAM's copy")
        self.check(bool(p["Uuid"]) and data.get("Uuid") == p["Uuid"], "Data.Uuid is IAM's SAMLProviderUUID")
        self.check(all(p["Tags"].get(k) == v for k, v in tags.items()),
                   "tags: " + ", ".join(f"{k}={v}" for k, v in tags.items()))
        self.check(len(p["Tags"]) > len(tags), "ownership tags naming the stack and logical id are set")
        self.check(data.get("EntityId") == ENTITY_ID, f"Data.EntityId {ENTITY_ID}")

    def expect_role(self, r: dict[str, Any], arn: str, provider_arn: str, tags: dict[str, str]) -> None:
        role = next((x for x in r["roles"] if x["Arn"] == arn), None)
        if not self.check(role is not None, f"{arn.rsplit('/', 1)[1]} exists in IAM"):
            return
        data = (r["response"] or {}).get("Data") or {}
        expected = f"{provider_arn},{arn}"
        self.check(data.get("IdentityCenterRoleAttribute") == expected,
                   f"Data.IdentityCenterRoleAttribute is <provider ARN>,<role ARN> = {expected}")
        self.check(data.get("Arn") == arn and data.get("RoleName") == role["RoleName"]
                   and data.get("RoleId") == role["RoleId"], "Data.Arn, RoleName and RoleId are IAM's")
        statements = (role["Trust"] or {}).get("Statement") or [{}]
        st = statements[0] if isinstance(statements, list) else statements
        self.check(len(statements) == 1 and st.get("Effect") == "Allow"
                   and st.get("Principal") == {"Federated": provider_arn},
                   f"trust policy: one Allow statement, Principal Federated = {provider_arn}")
        self.check(st.get("Action") == "sts:AssumeRoleWithSAML", "trust policy: Action sts:AssumeRoleWithSAML")
        self.check(st.get("Condition") == {"StringEquals": {"SAML:aud": SAML_AUDIENCE}},
                   f"trust policy: Condition StringEquals SAML:aud = {SAML_AUDIENCE}")
        self.check(role["Attached"] == [READ_ONLY_POLICY] and role["Inline"] == [],
                   f"attached policies: {READ_ONLY_POLICY} (and no inline policy)")
        self.check(role["MaxSessionDuration"] == 3600, 'MaxSessionDuration 3600 (sent as the string "3600")')
        self.check(all(role["Tags"].get(k) == v for k, v in tags.items()),
                   "tags: " + ", ".join(f"{k}={v}" for k, v in tags.items()))
        self.check(role["Tags"].get("samlfed:stack-id") == self.stack_id
                   and role["Tags"].get("samlfed:logical-id") == ROLE_LOGICAL_ID,
                   "ownership tags naming the stack and logical id are set")

    def expect_refresh(self, r: dict[str, Any], arn: str, document: str, changed: bool, calls: list[str]) -> None:
        out.section("Checks")
        body = r["result"].body if isinstance(r["result"].body, dict) else {}
        self.check(r["result"].kind == "response",
                   "the refresh succeeded (/response, not a function error)"
                   + (f" (got {r['result'].kind}: {r['result'].body})" if r["result"].kind != "response" else ""))
        self.check(body.get("ProviderArn") == arn, f"ProviderArn {arn}")
        self.check(body.get("Changed") is changed, f"Changed {str(changed).lower()}"
                   + (f" (got {body.get('Changed')})" if body.get("Changed") is not changed else ""))
        self.check(body.get("MetadataSha256") == sha256_text(document),
                   "MetadataSha256 is the sha256 of the latest object version")
        got = [f"{c['service']}:{c['action']}" for c in r["calls"]]
        self.check(got == calls, "AWS calls: " + ", ".join(calls) + (f" (got {', '.join(got) or 'none'})"
                                                                     if got != calls else ""))
        p = next((p for p in r["providers"] if p["Arn"] == arn), None)
        self.check(p is not None and p["Sha256"] == sha256_text(document),
                   "IAM holds the latest object version byte for byte (sha256)")
        self.expect_counts(r, providers=1, roles=1)


def trusted_providers(trust: Any) -> list[str]:
    """The names of the SAML providers a trust policy's Federated principals name."""
    statements = trust.get("Statement", []) if isinstance(trust, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    names = []
    for st in statements:
        principal = st.get("Principal") if isinstance(st, dict) else None
        federated = principal.get("Federated") if isinstance(principal, dict) else None
        for arn in [federated] if isinstance(federated, str) else federated or []:
            names.append(arn.rsplit("/", 1)[-1])
    return names


def format_log_line(line: str) -> str:
    """``LEVEL message key=value ...`` from a JSON tracing line; other lines unchanged."""
    try:
        rec = json.loads(line)
    except ValueError:
        return line
    if not isinstance(rec, dict):
        return line
    emf = rec.get("_aws")
    if isinstance(emf, dict) and emf.get("CloudWatchMetrics"):
        # An Embedded Metric Format line: CloudWatch Logs turns it into a metric.
        parts, dims = [], []
        for directive in emf["CloudWatchMetrics"]:
            for m in directive.get("Metrics", []):
                parts.append(f"{m.get('Name')}={rec.get(m.get('Name'))} {m.get('Unit', '')}".rstrip())
            for dim_set in directive.get("Dimensions", []):
                dims.extend(f"{d}={rec.get(d)}" for d in dim_set)
            namespace = directive.get("Namespace", "")
        return f"{'METRIC':<5} {', '.join(parts)}  [EMF namespace={namespace} {' '.join(dims)}]"
    fields = dict(rec.get("fields") or {})
    message = fields.pop("message", "")
    level = str(rec.get("level", "")).upper()
    extra = " ".join(f"{k}={v}" for k, v in fields.items())
    return f"{level:<5} {message}" + (f"  [{extra}]" if extra else "")



def isolated_workdir(prefix: str) -> Path:
    """A fresh working directory, with this process cut off from the local AWS configuration:
    no AWS_* variable survives, and empty config and credentials files stand in for ~/.aws, so a
    developer's profile cannot change what runs (for this process, boto3, and the functions it
    starts), and the SDKs have nothing to warn about."""
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[k]
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    for name, var in (("aws-config-empty", "AWS_CONFIG_FILE"), ("aws-credentials-empty", "AWS_SHARED_CREDENTIALS_FILE")):
        (workdir / name).write_text("")
        os.environ[var] = str(workdir / name)
    return workdir

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="samlfed local demo (real bootstrap, local AWS emulator)")
    parser.add_argument("--bootstrap", type=Path, default=ROOT / "target" / "release" / "bootstrap",
                        help="the Lambda binary (default: target/release/bootstrap)")
    args = parser.parse_args(argv)
    bootstrap = args.bootstrap.resolve()
    if not (bootstrap.is_file() and os.access(bootstrap, os.X_OK)):
        print(f"demo: no executable at {bootstrap}; build it with `cargo build --release --bin bootstrap`",
              file=sys.stderr)
        return 2

    workdir = isolated_workdir("samlfed-demo-")

    def on_sigterm(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_sigterm)
    demo = Demo(bootstrap, workdir)
    started = time.monotonic()
    code = 0
    try:
        demo.run()
    except KeyboardInterrupt:
        print("\ndemo: interrupted; stopping what it started", file=sys.stderr)
        code = 130
    except DemoError as exc:
        print(f"\ndemo: {exc}", file=sys.stderr)
        code = 1
    except Exception as exc:  # noqa: BLE001 - report, clean up, exit non-zero
        import traceback

        traceback.print_exc()
        print(f"\ndemo: failed: {exc!r}", file=sys.stderr)
        code = 1
    finally:
        # A second Ctrl-C must not interrupt the clean-up itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(demo.started)
    if code == 0 and demo.failures:
        code = 1
    out.title("Summary")
    if demo.failures:
        out.line(f"  {len(demo.failures)} check(s) failed:")
        for f in demo.failures:
            out.bad(f)
    elif code == 0:
        out.para("every step ended as it should: SUCCESS x8 to CloudFormation; the role's "
                 "IdentityCenterRoleAttribute was <provider ARN>,<role ARN>; the refresh after the IdP published "
                 "rotated metadata applied it (Changed true, UpdateSAMLProvider), the next one found nothing new "
                 "(Changed false: one conditional GetObject answered 304, no IAM call); the refused event got no "
                 "response and caused no AWS call.")
        out.kv("providers per step", ", ".join(str(p) for p, _ in demo.counts), indent=2)
        out.kv("roles per step", ", ".join(str(r) for _, r in demo.counts), indent=2)
    out.kv("function log", demo.log_path, indent=2)
    out.kv("emulator log", workdir / "emulator.log", indent=2)
    out.kv("time", f"{time.monotonic() - started:.1f} s", indent=2)
    out.kv("result", "ok" if code == 0 else f"FAILED (exit {code})", indent=2)
    return code


if __name__ == "__main__":
    sys.exit(main())
