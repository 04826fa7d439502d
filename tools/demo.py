#!/usr/bin/env python3
"""samlfed local demo: the project's own template, deployed through a CloudFormation engine whose
custom resources are answered by the real ``bootstrap`` binary, against the local AWS emulator.

    .venv/bin/python tools/demo.py --bootstrap target/release/bootstrap

Every custom-resource event of the demo comes from ``templates/saml-federation.yaml`` through the
emulator's CloudFormation engine (tools/emulator.py, "PATCHES — CloudFormation"): CreateStack,
UpdateStack and DeleteStack run asynchronously, the engine renders each request as CloudFormation
does (every scalar a string, ``ServiceToken``/``ServiceTimeout`` present, a ResponseURL of its
own), the emulator's Lambda unpacks the function's zip and runs its ``bootstrap`` through
tools/runtime_api.py (tools/lambda_local.py), and ``Ref``/``Fn::GetAtt`` and the Outputs read the
function's answers. The function's origin check (src/cfn/origin.rs: DescribeStackResource) is
answered by the engine's own record of each operation. Hand-written events hid a real bug (the
template's ServiceTimeout, which no hand-written event carried, was refused); the only
hand-written events left are the forged ones of step 7, which no CloudFormation sends.

The story:

1. packages the bootstrap (``tools/lambda_local.py package``) and uploads the zip to a code
   bucket; makes a self-signed IdP certificate and SAML 2.0 IdP metadata and uploads it to a
   versioned metadata bucket (under the template's default FederationFile);
2. CreateStack (FederationName, FederationBucket, CodeBucket, CodeKey, this machine's
   Architecture, RoleName, RefreshSchedule) -> CREATE_COMPLETE: the custom resources' stack events,
   the provider and role in IAM, the Outputs, and the IdentityCenterRoleAttribute with where it goes;
3. the IdP rotates its key: a new object version, UpdateStack with FederationFileVersion ->
   UPDATE_COMPLETE, only the provider updated, in place (UpdateSAMLProvider, same ARN);
4. and 5. the scheduled refresh: the RefreshRule's target Input, read from the emulator's
   EventBridge (ListTargetsByRule), is sent to the stack's function with Lambda Invoke - once after
   the IdP publishes a newer version (Changed true), once with nothing new (Changed false, one
   conditional GetObject answered 304, no IAM call);
6. rename: UpdateStack with FederationName=<new> and PreviousFederationName=<old> -> the provider
   replaced, the role updated to trust the new one, the old provider deleted in the cleanup phase;
7. forged events, invoked directly on the stack's function: a Create whose ResponseURL is the
   instance metadata service (refused whole: REFUSED, no AWS call) and an Update of the provider,
   with a valid presigned S3 ResponseURL, while no stack operation runs (FAILED "no CloudFormation
   operation on SAMLProvider is in progress", IAM unchanged);
8. DeleteStack -> DELETE_COMPLETE: the role first, then the provider; IAM is empty.

After each step it prints what happened, the checks, the AWS calls the function made (the
emulator's call log, /_samlfed/calls, without the demo's own calls), the function's log lines
(the emulator's stderr, lines prefixed ``lambda <name>:``) and the IAM state.

The demo starts one process, the emulator (on 127.0.0.1), which starts the function's; everything
is stopped on exit, also on Ctrl-C or failure. Every wait is bounded. The exit status is 0 only
when every check passed; the emulator's log (with the function's lines) and the deployment
package stay in a temporary directory whose path is printed.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import platform
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import emulator_launch  # noqa: E402  (tools/emulator_launch.py: the one way the emulator is started)

EMULATOR = ROOT / "tools" / "emulator.py"
LAMBDA_LOCAL = ROOT / "tools" / "lambda_local.py"
TEMPLATE = ROOT / "templates" / "saml-federation.yaml"

ACCOUNT = "123456789012"  # the emulator's default account: the stack's and the function's
REGION = "us-east-1"
# The demo's own calls are signed with this key (the emulator maps it to ACCOUNT too); the
# function signs with its account id, so the call log tells the two apart. The forged step's
# ResponseURL is presigned with another key: the function's PUT to it is the function's call.
INSPECTOR_KEY = "demo-inspector"
ATTACKER_KEY = "demo-attacker"
STACK_NAME = "samlfed-demo"
CODE_BUCKET = "samlfed-demo-code"
METADATA_BUCKET = "acme-idp-metadata"
METADATA_KEY = "metadata/idp-metadata.xml"  # the template's FederationFile default
ATTACKER_BUCKET = "attacker-owned"
ENTITY_ID = "https://demo-idp.example.com/saml"
EVIL_ENTITY_ID = "https://evil.example.com/idp"
FEDERATION_NAME = "DemoIdP"
NEW_FEDERATION_NAME = "DemoIdP-v2"
ROLE_NAME = "DemoIdP-ReadOnly"
REFRESH_SCHEDULE = "rate(1 hour)"
READ_ONLY_POLICY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"  # the default of the role's Audiences
IDC_ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
IMDS_URL = "https://169.254.169.254/latest/meta-data/"
PROVIDER_LOGICAL_ID = "SAMLProvider"
ROLE_LOGICAL_ID = "SAMLRole"
STARTUP_TIMEOUT_S = 30.0
OPERATION_TIMEOUT_S = 100.0  # one stack operation, at most
# The engine gives up on an unanswered custom-resource request after this (instead of the
# template's ServiceTimeout of 300 s), so a function that never answers fails the stack in time.
CFN_RESPONSE_TIMEOUT_S = "30"
INVOKE_READ_TIMEOUT_S = 75  # the template's function Timeout is 60 s
MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
STACK_TYPE = "AWS::CloudFormation::Stack"


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


def metadata_document(certs: list[Cert], entity_id: str = ENTITY_ID) -> str:
    """SAML 2.0 IdP metadata for ``entity_id`` with one signing KeyDescriptor per certificate."""
    host = urllib.parse.urlsplit(entity_id).hostname or "demo-idp.example.com"
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
    entityID="{entity_id}" ID="_{uuid.uuid4().hex}" cacheDuration="PT24H">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{key_descriptors}
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="https://{host}/saml/slo"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="https://{host}/saml/sso"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://{host}/saml/sso"/>
  </md:IDPSSODescriptor>
  <md:Organization>
    <md:OrganizationName xml:lang="en">Demo IdP Inc.</md:OrganizationName>
    <md:OrganizationDisplayName xml:lang="en">Demo IdP</md:OrganizationDisplayName>
    <md:OrganizationURL xml:lang="en">https://{host}/</md:OrganizationURL>
  </md:Organization>
  <md:ContactPerson contactType="technical">
    <md:GivenName>Platform Team</md:GivenName>
    <md:EmailAddress>mailto:platform@{host}</md:EmailAddress>
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
# Pure helpers (tested in tools/test_demo.py)
# ------------------------------------------------------------------------------------------------
def lambda_architecture(machine: str | None = None) -> str:
    """The Lambda architecture that runs a build of this machine (``platform.machine()``)."""
    machine = (machine if machine is not None else platform.machine()).lower()
    if machine in ("aarch64", "arm64", "armv8l", "armv8b"):
        return "arm64"
    if machine in ("x86_64", "amd64"):
        return "x86_64"
    raise ValueError(f"no Lambda architecture runs a {machine} build (Lambda has arm64 and x86_64)")


def stack_parameters(architecture: str, name: str, previous_name: str = "", version: str = "", *,
                     role_name: str = ROLE_NAME, refresh_schedule: str = REFRESH_SCHEDULE,
                     federation_bucket: str = METADATA_BUCKET, code_bucket: str = CODE_BUCKET) -> list[dict[str, str]]:
    """The parameters of every stack operation of the demo (and of `make bench`'s, which turns the
    role and the refresh off with ``role_name=""``, ``refresh_schedule=""``). Each one is given every
    time: an UpdateStack without a parameter resets it to its Default, as in CloudFormation.
    FederationFile keeps its Default (the key the metadata is uploaded to)."""
    values = {
        "FederationName": name,
        "PreviousFederationName": previous_name,
        "FederationBucket": federation_bucket,
        "FederationFileVersion": version,
        "RoleName": role_name,
        "CodeBucket": code_bucket,
        "CodeKey": code_key(architecture),
        "Architecture": architecture,
        "RefreshSchedule": refresh_schedule,
    }
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def code_key(architecture: str) -> str:
    return f"samlfed/bootstrap-{architecture}.zip"


def cfn_string(value: Any) -> Any:
    """A value as CloudFormation puts it into a custom-resource request: every scalar a string,
    lists and maps keeping their shape."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return {str(k): cfn_string(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [cfn_string(v) for v in value if v is not None]
    return str(value)


def forged_event(request_type: str, *, stack_id: str, function_arn: str, logical_id: str, resource_type: str,
                 properties: dict[str, Any], response_url: str, request_id: str | None = None,
                 physical_id: str | None = None, old_properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """A custom-resource event written by hand in the shape CloudFormation gives its own
    (crpg-ref-requests.html; ServiceToken and the template's ServiceTimeout also inside
    ResourceProperties, every scalar a string) - what someone holding lambda:InvokeFunction can
    send the function. Only the forged step of the demo uses it."""
    props = cfn_string({"ServiceToken": function_arn, "ServiceTimeout": 300, **properties})
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": function_arn,
        "ServiceTimeout": props["ServiceTimeout"],
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id or str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": props,
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = cfn_string({"ServiceToken": function_arn, "ServiceTimeout": 300,
                                                      **old_properties})
    return event


def shown_url(url: str) -> str:
    """A URL without its query string (a presigned URL's query is its credential)."""
    base, sep, _ = url.partition("?")
    return base + ("?…(presigned)" if sep else "")


@dataclass
class StackEvent:
    logical_id: str
    resource_type: str
    status: str
    physical_id: str
    reason: str

    @property
    def custom(self) -> bool:
        return self.resource_type.startswith("Custom::") or self.resource_type == "AWS::CloudFormation::CustomResource"

    @property
    def stack(self) -> bool:
        return self.resource_type == STACK_TYPE


def stack_events(described: list[dict[str, Any]]) -> list[StackEvent]:
    """DescribeStackEvents' StackEvents (newest first) as a list, oldest first."""
    return [StackEvent(e.get("LogicalResourceId", ""), e.get("ResourceType", ""), e.get("ResourceStatus", ""),
                       e.get("PhysicalResourceId") or "", e.get("ResourceStatusReason") or "")
            for e in reversed(described)]


def custom_sequence(events: list[StackEvent]) -> list[tuple[str, str]]:
    """``(logical id, status)`` of the custom resources' events, in order."""
    return [(e.logical_id, e.status) for e in events if e.custom]


def first_index(events: list[StackEvent], match: Callable[[StackEvent], bool]) -> int:
    """The position of the first event ``match`` accepts, or -1."""
    return next((i for i, e in enumerate(events) if match(e)), -1)


def function_calls(calls: list[dict[str, str]], inspector_key: str = INSPECTOR_KEY) -> list[str]:
    """``service:action`` of the calls the demo did not make itself, in order: the function's
    (signed with its account id, as tools/lambda_local.py gives it), its answers to the engine's
    ResponseURLs (unsigned) and its PUTs to presigned URLs (signed by whoever presigned them).
    The demo's own calls, signed with ``inspector_key``, are left out."""
    return [f"{c['service']}:{c['action']}" for c in calls if c.get("access_key") != inspector_key]


def function_log_lines(text: str) -> list[tuple[str, str]]:
    """The emulator log lines that belong to functions, as ``(function name, line)``: the
    function's own output (``lambda <name>: …``) and the emulator's notes about a function or a
    stack operation (``emulator: lambda <name>: …``, ``emulator: cloudformation: …``)."""
    found = []
    for line in text.splitlines():
        if line.startswith("lambda ") and ": " in line:
            name, rest = line[len("lambda "):].split(": ", 1)
            found.append((name, rest))
        elif line.startswith("emulator: lambda ") or line.startswith("emulator: cloudformation: "):
            found.append(("emulator", line[len("emulator: "):]))
    return found


def format_log_line(line: str) -> str:
    """``LEVEL [RequestType LogicalResourceId] message key=value ...`` from a JSON tracing line;
    other lines unchanged."""
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
        namespace = ""
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
    span = rec.get("span") if isinstance(rec.get("span"), dict) else {}
    context = " ".join(str(span[k]) for k in ("request_type", "logical_resource_id") if span.get(k))
    if not context and span.get("name") == "refresh":
        context = "refresh"
    extra = " ".join(f"{k}={v}" for k, v in fields.items())
    return f"{level:<5} " + (f"[{context}] " if context else "") + f"{message}" + (f"  [{extra}]" if extra else "")


def leaks_credential(line: str) -> bool:
    """Does a log line carry a ResponseURL's credential (a presigned S3 query, or the engine's
    ``signature=``)?"""
    return any(marker in line for marker in ("X-Amz-Signature", "X-Amz-Credential", "signature="))


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


# ------------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------------
class DemoError(Exception):
    pass


# Started, stop_process, stop_all, start_emulator and isolated_workdir are also the process kit of
# bench/run.py, which runs a bootstrap against its own Runtime API: keep their signatures.
@dataclass
class Started:
    """Everything the demo (or the bench) started, stopped by ``stop_all``."""

    emulator: subprocess.Popen | None = None
    bootstrap: subprocess.Popen | None = None  # a bootstrap run outside the emulator (bench/run.py)
    api: Any = None  # its runtime_api.RuntimeApi
    files: list[Any] = field(default_factory=list)
    leftovers: list[int] = field(default_factory=list)  # function processes still alive after the emulator


def child_pids(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        fields_after_name = stat.rsplit(")", 1)[-1].split()
        if len(fields_after_name) > 1 and fields_after_name[1] == str(pid) and fields_after_name[0] != "Z":
            found.append(int(entry))
    return found


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().decode("utf-8", "replace").rsplit(")", 1)[-1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def stop_process(proc: subprocess.Popen | None, name: str, close_stdin: bool = False) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        if close_stdin and proc.stdin:
            proc.stdin.close()  # the emulator's watchdog exits on stdin EOF
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        out.line(f"  {name} (pid {proc.pid}) ignored SIGTERM; sending SIGKILL")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def stop_all(s: Started) -> None:
    """Stops what was started: a bootstrap run outside the emulator and its Runtime API, then the
    emulator (which kills the functions' processes it started, by PID), making sure none of those
    outlived it."""
    stop_process(s.bootstrap, "bootstrap")
    if s.api is not None:
        s.api.stop()
    functions = child_pids(s.emulator.pid) if s.emulator is not None and s.emulator.poll() is None else []
    stop_process(s.emulator, "emulator", close_stdin=True)
    end = time.monotonic() + 5
    while any(pid_alive(p) for p in functions) and time.monotonic() < end:
        time.sleep(0.1)
    for pid in [p for p in functions if pid_alive(p)]:
        s.leftovers.append(pid)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for f in s.files:
        try:
            f.close()
        except OSError:
            pass


def start_emulator(s: Started, workdir: Path) -> str:
    """Starts tools/emulator.py (or whatever ``EMULATOR`` names: bench/timed_emulator.py) through
    tools/emulator_launch.py, its stderr (and so the functions' output) into emulator.log;
    returns its endpoint."""
    log = open(workdir / "emulator.log", "wb")
    s.files.append(log)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["SAMLFED_CFN_RESPONSE_TIMEOUT_S"] = CFN_RESPONSE_TIMEOUT_S
    try:
        s.emulator, port = emulator_launch.start(
            log, program=EMULATOR, env=env, cwd=ROOT, timeout_s=STARTUP_TIMEOUT_S
        )
    except emulator_launch.EmulatorStartError as exc:
        raise DemoError(f"{exc} (see {workdir / 'emulator.log'})") from exc
    return f"http://127.0.0.1:{port}"


# ------------------------------------------------------------------------------------------------
# Deploying the template through the engine (also used by bench/run.py)
# ------------------------------------------------------------------------------------------------
def package_bootstrap(bootstrap: Path, zip_path: Path) -> bytes:
    """Packages ``bootstrap`` as Lambda wants it (``tools/lambda_local.py package``: the executable
    at the root of a zip) into ``zip_path``; returns the zip's bytes."""
    done = subprocess.run([sys.executable, str(LAMBDA_LOCAL), "package", str(bootstrap), str(zip_path)],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise DemoError(f"tools/lambda_local.py package failed: {done.stderr.strip() or done.returncode}")
    return zip_path.read_bytes()


def upload_code(s3: Any, package: bytes, architecture: str, bucket: str = CODE_BUCKET) -> str:
    """Creates the code bucket and uploads the zip under the key the stack's CodeKey names
    (``code_key``); returns that key."""
    s3.create_bucket(Bucket=bucket)
    key = code_key(architecture)
    s3.put_object(Bucket=bucket, Key=key, Body=package)
    return key


def create_stack(cfn: Any, params: list[dict[str, str]], stack_name: str = STACK_NAME) -> str:
    """CreateStack of templates/saml-federation.yaml (answers at once; the engine works on);
    returns the StackId."""
    return cfn.create_stack(StackName=stack_name, TemplateBody=TEMPLATE.read_text(), Parameters=params,
                            Capabilities=["CAPABILITY_IAM"])["StackId"]


def update_stack(cfn: Any, stack_id: str, params: list[dict[str, str]]) -> None:
    """UpdateStack with the previous template and ``params`` (answers at once)."""
    cfn.update_stack(StackName=stack_id, UsePreviousTemplate=True, Parameters=params, Capabilities=["CAPABILITY_IAM"])


def wait_for_stack(cfn: Any, stack_id: str, timeout_s: float = OPERATION_TIMEOUT_S) -> tuple[dict[str, Any], float]:
    """Polls DescribeStacks until the stack's operation ends (at most ``timeout_s``, then
    DemoError); returns the stack and the time it took."""
    start = time.monotonic()
    while True:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack, time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            raise DemoError(f"the stack is still {stack['StackStatus']} after {timeout_s:g} s")
        time.sleep(0.2)


# ------------------------------------------------------------------------------------------------
# The demo
# ------------------------------------------------------------------------------------------------
class Demo:
    def __init__(self, bootstrap: Path, workdir: Path, architecture: str) -> None:
        self.bootstrap = bootstrap
        self.workdir = workdir
        self.architecture = architecture
        self.started = Started()
        self.failures: list[str] = []
        self.current = "set-up"
        self.log_path = workdir / "emulator.log"
        self.log_offset = 0
        self.stack_id = ""
        self.function_arn = ""
        self.counts: list[tuple[int, int]] = []  # (SAML providers, federated roles) in IAM after each step
        self.statuses: list[str] = []  # the stack's status after each stack operation
        self.step_times: list[tuple[str, float]] = []

    # -- checks ----------------------------------------------------------------------------------
    def check(self, ok: bool, text: str) -> bool:
        if ok:
            out.ok(text)
        else:
            out.bad(text)
            self.failures.append(f"{self.current}: {text}")
        return ok

    def check_equal(self, got: Any, want: Any, text: str) -> bool:
        return self.check(got == want, text + ("" if got == want else f" (got {got!r})"))

    # -- AWS clients -----------------------------------------------------------------------------
    def client(self, service: str, read_timeout: int = 15, key: str = INSPECTOR_KEY) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=key,
            aws_secret_access_key="demo",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4" if service == "s3" else None,
                          retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5,
                          read_timeout=read_timeout),
        )

    # -- the emulator's call log and the function's log -------------------------------------------
    def clear_calls(self) -> None:
        req = urllib.request.Request(f"{self.endpoint}/_samlfed/calls", method="DELETE")
        with urllib.request.urlopen(req, timeout=5):
            pass

    def calls(self) -> list[dict[str, str]]:
        with urllib.request.urlopen(f"{self.endpoint}/_samlfed/calls", timeout=5) as r:
            return json.loads(r.read())

    def settle_log(self, quiet_s: float = 0.3, limit_s: float = 3.0) -> None:
        """Waits (bounded) until the emulator's log stops growing: the functions' output reaches
        it through a pipe, a moment after the invocation it belongs to has ended."""
        end = time.monotonic() + limit_s
        size = -1
        while time.monotonic() < end:
            now = self.log_path.stat().st_size if self.log_path.exists() else 0
            if now == size:
                return
            size = now
            time.sleep(quiet_s)

    def new_log_lines(self) -> list[tuple[str, str]]:
        """The functions' lines the emulator logged since the last call."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                data = f.read()
        except OSError:
            return []
        complete = data[: data.rfind(b"\n") + 1] if b"\n" in data else b""
        self.log_offset += len(complete)
        return function_log_lines(complete.decode("utf-8", "replace"))

    def print_calls(self, calls: list[str], what: str = "AWS calls the function made during the step") -> None:
        out.section(f"{what} (emulator call log, in order)")
        if not calls:
            out.kv("(none)", "")
        for c in calls:
            out.kv(c, "", width=40)

    def print_function_log(self) -> None:
        self.settle_log()
        lines = self.new_log_lines()
        out.section("Function log (the emulator's stderr, lines prefixed `lambda <name>:`)")
        if not lines:
            out.kv("(nothing logged)", "")
        for _name, line in lines:
            if leaks_credential(line):
                self.check(False, "a log line carries a ResponseURL's credential (its query string)")
            out.text(format_log_line(line), indent=4)

    # -- set-up ----------------------------------------------------------------------------------
    def setup(self) -> None:
        self.current = "set-up"
        out.title("samlfed local demo: templates/saml-federation.yaml through the emulator's CloudFormation")
        out.kv("bootstrap", self.bootstrap, indent=2)
        out.kv("workdir", f"{self.workdir} (logs, deployment package)", indent=2)
        self.endpoint = start_emulator(self.started, self.workdir)
        out.kv("emulator", f"{self.endpoint} (moto with stricter IAM, a CloudFormation engine and a local "
                           f"Lambda; pid {self.started.emulator.pid})", indent=2)
        self.s3, self.iam, self.cfn = self.client("s3"), self.client("iam"), self.client("cloudformation")
        self.events_api, self.lam = self.client("events"), self.client("lambda", read_timeout=INVOKE_READ_TIMEOUT_S)

    # -- stack operations ------------------------------------------------------------------------
    def describe_stack(self) -> dict[str, Any]:
        return self.cfn.describe_stacks(StackName=self.stack_id)["Stacks"][0]

    def all_events(self) -> list[StackEvent]:
        return stack_events(self.cfn.describe_stack_events(StackName=self.stack_id)["StackEvents"])

    def wait_for_stack(self) -> tuple[dict[str, Any], float]:
        """Polls DescribeStacks until the operation ends (bounded); returns the stack and the time."""
        try:
            return wait_for_stack(self.cfn, self.stack_id)
        except DemoError:
            self.print_events(self.all_events(), everything=True)
            raise

    def physical_id(self, logical_id: str) -> str:
        detail = self.cfn.describe_stack_resource(StackName=self.stack_id, LogicalResourceId=logical_id)
        return detail["StackResourceDetail"].get("PhysicalResourceId", "")

    def stack_operation(self, title: str, note: str, call: str, run: Callable[[], None], expected: str,
                        changed: dict[str, str] | None = None,
                        full: tuple[str, ...] = ("providers", "roles")) -> dict[str, Any]:
        """Runs one stack operation and prints what happened; returns the stack, its new events,
        the function's calls and the IAM state."""
        self.begin(title, note)
        before = len(self.all_events()) if self.stack_id else 0
        self.clear_calls()
        out.section("Stack operation")
        out.kv(call, STACK_NAME)
        for k, v in (changed or {}).items():
            out.kv(k, v or '""', indent=6, width=26)
        run()
        stack, took = self.wait_for_stack()
        calls = function_calls(self.calls())
        events = self.all_events()[before:]
        self.statuses.append(stack["StackStatus"])
        out.kv("result", f"{stack['StackStatus']} after {took:.1f} s"
               + (f" ({stack['StackStatusReason']})" if stack.get("StackStatusReason") else ""))
        self.print_events(events)
        self.print_calls(calls)
        self.print_function_log()
        state = self.iam_state(full)
        result = {"stack": stack, "events": events, "calls": calls, **state}
        out.section("Checks")
        self.check_equal(stack["StackStatus"], expected, f"the stack ended {expected}")
        return result

    def print_events(self, events: list[StackEvent], everything: bool = False) -> None:
        out.section("Stack events (DescribeStackEvents, oldest first): the stack and its custom resources")
        others: dict[str, str] = {}
        for e in events:
            if not (e.custom or e.stack or everything):
                others[e.logical_id] = e.status
                continue
            physical = "" if e.stack else e.physical_id
            out.line(f"    {e.logical_id:<14} {e.status:<38} {physical}".rstrip())
            if e.reason and e.reason != "User Initiated":
                out.text(textwrap.fill(e.reason, width=90), indent=20)
        if others:
            out.para("other resources (created, updated or deleted by the engine itself): "
                     + ", ".join(f"{k} {v}" for k, v in others.items()), indent=4)

    def print_outputs(self, stack: dict[str, Any]) -> dict[str, str]:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
        out.section("Outputs (DescribeStacks: Ref and Fn::GetAtt of what the function answered)")
        if not outputs:
            out.kv("(none)", "")
        for k, v in outputs.items():
            out.kv(k, v, width=28)
        return outputs

    def show_identity_center_attribute(self, value: str) -> None:
        """The stack's IdentityCenterRoleAttribute output, set apart, with where it goes."""
        out.section(">>> IdentityCenterRoleAttribute (stack output; Fn::GetAtt SAMLRole.IdentityCenterRoleAttribute)")
        out.line()
        out.line(f"      {value}")
        out.line()
        out.para(f"Where it goes: in IAM Identity Center, open the \"External AWS Account\" application for this "
                 f"account and, under Attribute mappings, give {IDC_ROLE_ATTRIBUTE} exactly this value, so the "
                 "SAML assertion it sends names this provider and this role.", indent=4)
        out.line()

    # -- steps -----------------------------------------------------------------------------------
    def begin(self, title: str, note: str) -> None:
        self.current = title
        self.step_started = time.monotonic()
        out.title(title)
        if note:
            out.para(note)
            out.line()

    def end(self) -> None:
        self.step_times.append((self.current.split(" - ", 1)[0], time.monotonic() - self.step_started))

    def put_metadata(self, document: str) -> str:
        put = self.s3.put_object(Bucket=METADATA_BUCKET, Key=METADATA_KEY, Body=document.encode(),
                                 ContentType="application/samlmetadata+xml")
        return put["VersionId"]

    def step1_package(self) -> None:
        note = (
            "The release bootstrap is packaged as Lambda wants it (tools/lambda_local.py package: the executable "
            "bootstrap at the root of a zip) and uploaded to a code bucket; the template's AWS::Lambda::Function "
            "names it (CodeBucket, CodeKey). The IdP's metadata - a SAML 2.0 EntityDescriptor with a freshly "
            "generated self-signed signing certificate - goes to a versioned bucket, under the template's "
            "default FederationFile."
        )
        self.begin("Step 1 - Package the function, upload it and the IdP metadata", note)
        zip_path = self.workdir / f"bootstrap-{self.architecture}.zip"
        t0 = time.monotonic()
        package = package_bootstrap(self.bootstrap, zip_path)
        out.section("Deployment package")
        out.kv("zip", f"{zip_path} ({len(package) / 1e6:.1f} MB, packaged in {time.monotonic() - t0:.1f} s)")
        out.kv("CodeSha256", base64.b64encode(hashlib.sha256(package).digest()).decode())
        upload_code(self.s3, package, self.architecture)
        out.kv("uploaded", f"s3://{CODE_BUCKET}/{code_key(self.architecture)} (Architecture {self.architecture}, "
                           f"this machine's)")

        self.s3.create_bucket(Bucket=METADATA_BUCKET)
        self.s3.put_bucket_versioning(Bucket=METADATA_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.cert1 = make_certificate()
        self.doc1 = metadata_document([self.cert1])
        self.version1 = self.put_metadata(self.doc1)
        out.section("IdP metadata")
        out.kv("uploaded", f"s3://{METADATA_BUCKET}/{METADATA_KEY} (versioned bucket), version {self.version1}")
        out.kv("document", f"{len(self.doc1)} chars, sha256 {sha256_text(self.doc1)[:16]}…, entityID {ENTITY_ID}")
        out.kv("certificate", f"CN=demo-idp.example.com, sha256 {self.cert1.sha256[:16]}…, "
                              f"NotAfter {self.cert1.not_after:%Y-%m-%dT%H:%M:%SZ}")
        out.section("Checks")
        listed = self.s3.list_object_versions(Bucket=METADATA_BUCKET, Prefix=METADATA_KEY).get("Versions", [])
        self.check([v["VersionId"] for v in listed] == [self.version1], "one object version of the metadata")
        head = self.s3.head_object(Bucket=CODE_BUCKET, Key=code_key(self.architecture))
        self.check(head["ContentLength"] == len(package), "the code bucket holds the package")
        self.end()

    def step2_create(self) -> None:
        params = stack_parameters(self.architecture, FEDERATION_NAME)
        note = (
            "CreateStack with the project's template. CloudFormation (the emulator's engine) creates the log "
            "group, the execution role and the function from the uploaded zip, then sends each custom resource "
            "the Create request CloudFormation renders from the template: every property a string, ServiceToken "
            "and ServiceTimeout (\"300\") inside ResourceProperties as well, a ResponseURL of its own. The "
            "function asks CloudFormation whether it really is creating that resource (DescribeStackResource), "
            "creates the provider and the role that trusts it (!Ref SAMLProvider) and answers; the stack waits "
            "for each answer, and Ref/Fn::GetAtt and the Outputs read it."
        )

        def run() -> None:
            self.stack_id = create_stack(self.cfn, params)

        r = self.stack_operation("Step 2 - CreateStack: the SAML provider and a role that trusts it", note,
                                 "CreateStack", run, "CREATE_COMPLETE",
                                 {p["ParameterKey"]: p["ParameterValue"] for p in params})
        self.provider_arn = f"arn:aws:iam::{ACCOUNT}:saml-provider/{FEDERATION_NAME}"
        self.role_arn = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
        self.check_equal(custom_sequence(r["events"]), [
            (PROVIDER_LOGICAL_ID, "CREATE_IN_PROGRESS"), (PROVIDER_LOGICAL_ID, "CREATE_COMPLETE"),
            (ROLE_LOGICAL_ID, "CREATE_IN_PROGRESS"), (ROLE_LOGICAL_ID, "CREATE_COMPLETE"),
        ], "the provider was created, then the role that refers to it (dependency order)")
        self.check_equal(self.physical_id(PROVIDER_LOGICAL_ID), self.provider_arn,
                         "the provider's PhysicalResourceId is the ARN the function answered")
        self.check_equal(self.physical_id(ROLE_LOGICAL_ID), self.role_arn, "the role's PhysicalResourceId is its ARN")
        self.check(r["calls"].count("cloudformation:DescribeStackResource") >= 2,
                   "the origin check asked CloudFormation about each request (DescribeStackResource) and was "
                   "satisfied: the engine's record shows each resource CREATE_IN_PROGRESS")
        self.check(r["calls"].count("cloudformation:CustomResourceResponse") == 2,
                   "two answers PUT to the engine's ResponseURLs")
        self.expect_provider(r, self.provider_arn, self.doc1, certs=1)
        self.expect_role(r, self.provider_arn)
        self.expect_counts(r, providers=1, roles=1)
        outputs = self.print_outputs(r["stack"])
        out.line()
        self.show_identity_center_attribute(outputs.get("IdentityCenterRoleAttribute", "(missing)"))
        out.section("Checks of the Outputs")
        self.check_equal(outputs.get("SAMLProviderArn"), self.provider_arn, "SAMLProviderArn is the provider's ARN")
        self.check_equal(outputs.get("IdentityCenterRoleAttribute"), f"{self.provider_arn},{self.role_arn}",
                         "IdentityCenterRoleAttribute is exactly <provider ARN>,<role ARN>")
        provider = self.find_provider(r, self.provider_arn)
        self.check(provider is not None and outputs.get("SAMLProviderUuid") == provider["Uuid"],
                   "SAMLProviderUuid (Fn::GetAtt SAMLProvider.Uuid) is IAM's SAMLProviderUUID")
        self.check_equal(outputs.get("SigningCertificateNotAfter"), f"{self.cert1.not_after:%Y-%m-%dT%H:%M:%SZ}",
                         "SigningCertificateNotAfter is the certificate's NotAfter")
        self.function_arn = outputs.get("FunctionArn", "")
        self.check(self.function_arn.startswith(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"),
                   f"FunctionArn {self.function_arn}")
        self.end()

    def step3_rotate(self) -> None:
        self.cert2 = make_certificate()
        self.doc2 = metadata_document([self.cert1, self.cert2])
        self.version2 = self.put_metadata(self.doc2)
        params = stack_parameters(self.architecture, FEDERATION_NAME, version=self.version2)
        note = (
            "The IdP starts rotating its signing key: its metadata now carries the old and the new certificate "
            f"(new: sha256 {self.cert2.sha256[:16]}…), uploaded to the same key as a new object version "
            f"({self.version2}). A new version under the same key changes no property, so CloudFormation would "
            "send no Update at all: FederationFileVersion=<new version> puts ?versionId= into MetadataUrl, the "
            "engine sees the provider's properties change and sends it (only it) an Update; the function reads "
            "exactly that version and calls UpdateSAMLProvider in place - no delete/re-create, the ARN stays."
        )
        r = self.stack_operation("Step 3 - UpdateStack: rotated metadata (new object version, FederationFileVersion)",
                                 note, "UpdateStack (UsePreviousTemplate)",
                                 lambda: self.update_stack(params), "UPDATE_COMPLETE",
                                 {"FederationFileVersion": self.version2}, full=("providers",))
        self.check_equal(custom_sequence(r["events"]), [
            (PROVIDER_LOGICAL_ID, "UPDATE_IN_PROGRESS"), (PROVIDER_LOGICAL_ID, "UPDATE_COMPLETE"),
        ], "only the provider got an Update (the role's properties did not change)")
        self.check_equal(self.physical_id(PROVIDER_LOGICAL_ID), self.provider_arn, "same ARN: updated in place")
        self.check("iam:UpdateSAMLProvider" in r["calls"], "UpdateSAMLProvider")
        self.check(not any(c in r["calls"] for c in ("iam:CreateSAMLProvider", "iam:DeleteSAMLProvider")),
                   "no delete/re-create")
        self.expect_provider(r, self.provider_arn, self.doc2, certs=2)
        self.expect_counts(r, providers=1, roles=1)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in r["stack"].get("Outputs") or []}
        self.check_equal(outputs.get("SAMLProviderArn"), self.provider_arn, "the SAMLProviderArn output is unchanged")
        self.end()

    def update_stack(self, params: list[dict[str, str]]) -> None:
        update_stack(self.cfn, self.stack_id, params)

    def refresh_event(self) -> tuple[dict[str, Any], str]:
        """The event EventBridge sends the function on the RefreshRule's schedule: the rule's
        target Input, read from the emulator's EventBridge; and the rule's description."""
        rule_name = self.physical_id("RefreshRule")
        rule = self.events_api.describe_rule(Name=rule_name)
        targets = self.events_api.list_targets_by_rule(Rule=rule_name)["Targets"]
        target = targets[0] if targets else {}
        out.section("EventBridge: the stack's RefreshRule (DescribeRule, ListTargetsByRule)")
        out.kv("rule", f"{rule_name}: {rule.get('ScheduleExpression')} {rule.get('State')}")
        out.kv("target", target.get("Arn", "(none)"))
        self.check(len(targets) == 1 and target.get("Arn") == self.function_arn,
                   "the rule's one target is the stack's function")
        self.check_equal(rule.get("ScheduleExpression"), REFRESH_SCHEDULE, f"ScheduleExpression {REFRESH_SCHEDULE}")
        if "Input" in target:
            event = json.loads(target["Input"])
            source = "the target's Input, as EventBridge sends it"
        else:  # the engine gave the target no Input: what the template's Input renders to
            event = {"Refresh": {"ProviderArn": self.physical_id(PROVIDER_LOGICAL_ID),
                                 "MetadataUrl": f"s3://{METADATA_BUCKET}/{METADATA_KEY}"}}
            source = "NOT from the rule (the emulator gave its target no Input): rendered from the stack's physical ids"
        out.kv("event", f"{json.dumps(event)}  ({source})")
        return event, rule_name

    def function_environment(self) -> dict[str, str]:
        config = self.lam.get_function_configuration(FunctionName=self.function_arn)
        return (config.get("Environment") or {}).get("Variables") or {}

    def invoke(self, payload: Any) -> tuple[Any, str | None, float]:
        """Lambda Invoke (RequestResponse) of the stack's function: (returned value, FunctionError, s)."""
        t0 = time.monotonic()
        r = self.lam.invoke(FunctionName=self.function_arn, Payload=json.dumps(payload).encode())
        raw = r["Payload"].read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        return body, r.get("FunctionError"), time.monotonic() - t0

    def refresh_step(self, title: str, note: str, probe_not_modified: bool = False) -> dict[str, Any]:
        self.begin(title, note)
        event, _rule = self.refresh_event()
        env = {k: v for k, v in self.function_environment().items() if k.startswith("SAMLFED_REFRESH_")}
        out.section("What the function refreshes (GetFunctionConfiguration: Environment, set by the template)")
        if env:
            for k, v in env.items():
                out.kv(k, v or '""', width=44)
        else:
            out.kv("(no SAMLFED_REFRESH_* variable)", "the event names the provider and the source")
        self.clear_calls()
        body, error, took = self.invoke(event)
        calls = function_calls(self.calls())
        out.section("Lambda Invoke of the stack's function with that event: the refresh outcome")
        out.kv("FunctionError", error or "(none)")
        out.text(json.dumps(body, indent=2), indent=6)
        out.kv("duration", f"{took * 1000:.0f} ms")
        self.print_calls(calls)
        probe: int | None = None
        if probe_not_modified:
            probe, etag = self.conditional_get_status()
            out.para(f"The GetObject above is conditional: the warm function sent If-None-Match with the ETag of "
                     f"the document it last applied. The demo sends S3 the same request now (If-None-Match: {etag}); "
                     f"S3 answers {probe}{' Not Modified, no body' if probe == 304 else ''}.", indent=4)
        self.print_function_log()
        state = self.iam_state(full=("providers",))
        return {"result": body if isinstance(body, dict) else {}, "error": error, "calls": calls, "probe": probe,
                **state}

    def step4_refresh_changed(self) -> None:
        self.doc3 = metadata_document([self.cert2])
        self.version3 = self.put_metadata(self.doc3)
        note = (
            "The IdP completes the rotation: it signs with the new key and its metadata drops the old "
            f"certificate - another object version ({self.version3}); nobody touches the stack. The template's "
            f"RefreshRule ({REFRESH_SCHEDULE}) invokes the function with its target's Input; the demo reads that "
            "Input from the emulator's EventBridge and sends it with Lambda Invoke, as EventBridge would. A "
            "refresh follows the latest object version (no versionId). This warm function has not refreshed "
            "before: it reads the document, validates it, compares it with IAM's copy (GetSAMLProvider) and, as "
            "it differs, calls UpdateSAMLProvider."
        )
        r = self.refresh_step("Step 4 - Scheduled refresh after the IdP publishes rotated metadata", note)
        out.section("Checks")
        self.expect_refresh(r, self.doc3, changed=True,
                            calls=["s3:GetObject", "iam:GetSAMLProvider", "iam:UpdateSAMLProvider"])
        provider = self.find_provider(r, self.provider_arn)
        self.check(provider is not None and provider["Certificates"] == [self.cert2.b64],
                   "IAM's copy carries only the new signing certificate")
        self.check_equal(r["result"].get("SigningCertificateNotAfter"), f"{self.cert2.not_after:%Y-%m-%dT%H:%M:%SZ}",
                         "SigningCertificateNotAfter is the new certificate's NotAfter")
        self.end()

    def step5_refresh_unchanged(self) -> None:
        note = (
            "The schedule fires again; the IdP published nothing new. The warm function remembers the ETag of "
            "what it applied, so it sends one conditional GetObject (If-None-Match), S3 answers 304 with no body, "
            "and the refresh ends there: Changed false, no IAM call at all."
        )
        r = self.refresh_step("Step 5 - Scheduled refresh with nothing new", note, probe_not_modified=True)
        out.section("Checks")
        self.expect_refresh(r, self.doc3, changed=False, calls=["s3:GetObject"])
        self.check(not any(c.startswith("iam:") for c in r["calls"]), "no IAM call")
        self.check_equal(r["probe"], 304, "S3 answers that conditional GetObject 304 Not Modified")
        self.end()

    def step6_rename(self) -> None:
        old_arn = self.provider_arn
        new_arn = f"arn:aws:iam::{ACCOUNT}:saml-provider/{NEW_FEDERATION_NAME}"
        params = stack_parameters(self.architecture, NEW_FEDERATION_NAME, previous_name=FEDERATION_NAME,
                                  version=self.version3)
        role_before = self.iam.get_role(RoleName=ROLE_NAME)["Role"]
        note = (
            f"The provider is renamed: FederationName={NEW_FEDERATION_NAME}, with PreviousFederationName="
            f"{FEDERATION_NAME} so the execution role may still delete the old one, and FederationFileVersion "
            f"pinned to the current object version ({self.version3}, what the refresh applied). IAM cannot "
            "rename a provider, so the function creates the new one and answers its ARN: a new "
            "PhysicalResourceId, which CloudFormation treats as a replacement. The role's ProviderArn "
            "(!Ref SAMLProvider) changes with it, so the role gets an Update and now trusts the new provider (in "
            "place: UpdateAssumeRolePolicy). Only when every update is done, in the cleanup phase, does "
            "CloudFormation send the Delete of the old provider."
        )
        r = self.stack_operation(f"Step 6 - UpdateStack: rename the provider to {NEW_FEDERATION_NAME} (replacement)",
                                 note, "UpdateStack (UsePreviousTemplate)", lambda: self.update_stack(params),
                                 "UPDATE_COMPLETE", {"FederationName": NEW_FEDERATION_NAME,
                                                     "PreviousFederationName": FEDERATION_NAME,
                                                     "FederationFileVersion": self.version3})
        events = r["events"]
        replaced = first_index(events, lambda e: e.logical_id == PROVIDER_LOGICAL_ID and e.status == "UPDATE_COMPLETE"
                               and e.physical_id == new_arn)
        role_updated = first_index(events, lambda e: e.logical_id == ROLE_LOGICAL_ID and e.status == "UPDATE_COMPLETE")
        cleanup = first_index(events, lambda e: e.stack and e.status == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        old_deleted = first_index(events, lambda e: e.logical_id == PROVIDER_LOGICAL_ID
                                  and e.status == "DELETE_COMPLETE" and e.physical_id == old_arn)
        self.check(replaced >= 0 and any(e.reason.startswith("Requested update requires the creation of a new physical")
                                         for e in events if e.logical_id == PROVIDER_LOGICAL_ID),
                   f"the provider was replaced: new PhysicalResourceId {new_arn}")
        self.check(0 <= replaced < role_updated, "then the role was updated (its ProviderArn changed)")
        self.check(0 <= role_updated < cleanup < old_deleted,
                   f"then, in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, the old provider {FEDERATION_NAME} got its Delete")
        self.check_equal(self.physical_id(PROVIDER_LOGICAL_ID), new_arn, "the stack's provider is the new one")
        calls = r["calls"]
        self.check("iam:CreateSAMLProvider" in calls and "iam:DeleteSAMLProvider" in calls
                   and calls.index("iam:CreateSAMLProvider") < calls.index("iam:DeleteSAMLProvider"),
                   "CreateSAMLProvider of the new one before DeleteSAMLProvider of the old one")
        self.check("iam:UpdateAssumeRolePolicy" in calls and not any(c in calls for c in ("iam:CreateRole",
                                                                                          "iam:DeleteRole")),
                   "the role's trust policy was updated in place (UpdateAssumeRolePolicy, no delete/re-create)")
        self.check_equal([p["Arn"] for p in r["providers"]], [new_arn], f"IAM holds only {NEW_FEDERATION_NAME}")
        self.expect_provider(r, new_arn, self.doc3, certs=1)
        self.expect_role(r, new_arn)
        role_after = self.iam.get_role(RoleName=ROLE_NAME)["Role"]
        self.check(role_after["RoleId"] == role_before["RoleId"], "the role kept its RoleId (same role)")
        self.expect_counts(r, providers=1, roles=1)
        outputs = self.print_outputs(r["stack"])
        out.line()
        self.show_identity_center_attribute(outputs.get("IdentityCenterRoleAttribute", "(missing)"))
        out.section("Checks of the Outputs")
        self.check_equal(outputs.get("SAMLProviderArn"), new_arn, "SAMLProviderArn is the new provider's ARN")
        self.check_equal(outputs.get("IdentityCenterRoleAttribute"), f"{new_arn},{self.role_arn}",
                         "IdentityCenterRoleAttribute names the new provider and the same role")
        self.provider_arn = new_arn
        self.end()

    def step7_forged(self) -> None:
        note = (
            "These two events are hand-written on purpose: no CloudFormation operation sends them. They are what "
            "anyone allowed lambda:InvokeFunction on the stack's function can send it directly, and the function "
            "must not act on them. The stack is at rest (UPDATE_COMPLETE)."
        )
        self.begin("Step 7 - Forged events sent straight to the function (hand-written on purpose)", note)
        self.s3.create_bucket(Bucket=ATTACKER_BUCKET)
        before = self.iam_snapshot()
        stack_before = self.describe_stack()["StackStatus"]

        # (a) ResponseURL = the instance metadata service
        request_id = str(uuid.uuid4())
        event = forged_event("Create", stack_id=self.stack_id, function_arn=self.function_arn,
                             logical_id=PROVIDER_LOGICAL_ID, resource_type="Custom::SAMLProvider",
                             properties={"Name": "Attacker", "MetadataUrl": f"s3://{METADATA_BUCKET}/{METADATA_KEY}"},
                             response_url=IMDS_URL, request_id=request_id)
        out.section("7a. A Create whose ResponseURL is the instance metadata service")
        out.para(f"ResponseURL {IMDS_URL}: not a presigned S3 URL. A function that PUT its answer wherever the "
                 "event says would be a request-forwarding service (SSRF); the function must refuse the event "
                 "whole - no AWS call, no fetch, no response PUT - and go on serving.", indent=4)
        out.kv("event", json.dumps({k: v for k, v in event.items() if k != "ResourceProperties"}))
        out.kv("ResourceProperties", json.dumps(event["ResourceProperties"]))
        self.clear_calls()
        body, error, took = self.invoke(event)
        calls = function_calls(self.calls())
        out.kv("returned", f"{json.dumps(body)}" + (f"  (FunctionError {error})" if error else "")
               + f"  in {took * 1000:.0f} ms")
        self.print_calls(calls)
        self.print_function_log()
        out.section("Checks")
        self.check(isinstance(body, dict) and body.get("Status") == "REFUSED" and not error,
                   "the function returned Status REFUSED")
        self.check_equal(calls, [], "no AWS call (nothing fetched, nothing asked, nothing PUT)")
        self.check(self.iam_snapshot() == before, "IAM unchanged")

        # (b) a valid presigned S3 ResponseURL, but no CloudFormation operation behind it
        request_id = str(uuid.uuid4())
        url = self.client("s3", key=ATTACKER_KEY).generate_presigned_url("put_object", Params={"Bucket": ATTACKER_BUCKET, "Key": request_id},
                                             ExpiresIn=3600)
        current = {"Name": NEW_FEDERATION_NAME, "MetadataUrl": f"s3://{METADATA_BUCKET}/{METADATA_KEY}"
                                                               f"?versionId={self.version3}"}
        evil = metadata_document([make_certificate(cn="evil.example.com")], entity_id=EVIL_ENTITY_ID)
        event = forged_event("Update", stack_id=self.stack_id, function_arn=self.function_arn,
                             logical_id=PROVIDER_LOGICAL_ID, resource_type="Custom::SAMLProvider",
                             properties={"Name": NEW_FEDERATION_NAME, "MetadataDocument": evil},
                             old_properties=current, physical_id=self.provider_arn, response_url=url,
                             request_id=request_id)
        out.section("7b. An Update of the provider to another IdP, with a valid ResponseURL, while the stack is at rest")
        out.para(f"The event names this stack, its SAMLProvider and the provider's ARN, and asks to replace the "
                 f"trusted IdP with {EVIL_ENTITY_ID} (an inline MetadataDocument); its ResponseURL is a presigned PUT "
                 f"into s3://{ATTACKER_BUCKET}. Nothing in the event proves who sent it; CloudFormation's own record "
                 "does: the function asks DescribeStackResource, sees no Update of SAMLProvider in progress, "
                 "changes nothing and answers FAILED.", indent=4)
        out.kv("event", json.dumps({k: v for k, v in event.items() if k not in ("ResourceProperties", "ResponseURL",
                                                                                  "OldResourceProperties")}))
        out.kv("ResponseURL", shown_url(url))
        out.kv("ResourceProperties", f"Name {NEW_FEDERATION_NAME}, MetadataDocument: {len(evil)} chars, entityID "
                                     f"{EVIL_ENTITY_ID}")
        self.clear_calls()
        body, error, took = self.invoke(event)
        calls = function_calls(self.calls())
        response = self.read_response(ATTACKER_BUCKET, request_id)
        out.kv("returned", f"{json.dumps(body)[:160]}" + (f"  (FunctionError {error})" if error else "")
               + f"  in {took * 1000:.0f} ms")
        out.section(f"The answer PUT to the ResponseURL (read back from s3://{ATTACKER_BUCKET}/{request_id})")
        for k in ("Status", "Reason", "PhysicalResourceId"):
            if response and k in response:
                out.kv(k, textwrap.fill(str(response[k]), width=105, initial_indent=" " * 25,
                                        subsequent_indent=" " * 25)[25:])
        if response is None:
            out.kv("(none)", "")
        self.print_calls(calls)
        self.print_function_log()
        out.section("Checks")
        reason = str((response or {}).get("Reason", ""))
        self.check(response is not None and response.get("Status") == "FAILED", "the answer is FAILED")
        self.check(f"no CloudFormation operation on {PROVIDER_LOGICAL_ID} is in progress" in reason,
                   f"its Reason: no CloudFormation operation on {PROVIDER_LOGICAL_ID} is in progress")
        asked = [c for c in calls if c.startswith("cloudformation:Describe")]
        self.check(bool(asked) and calls == asked + ["s3:PutObject"],
                   f"AWS calls: the origin check ({len(asked)} x DescribeStackResource, asked again in case "
                   "CloudFormation's record lagged), then the answer's PUT - no IAM call, no metadata fetch")
        self.check(self.iam_snapshot() == before, "IAM unchanged (providers, documents, tags; the role)")
        self.check_equal(self.describe_stack()["StackStatus"], stack_before, "the stack is untouched")
        state = self.iam_state(full=())
        out.section("Checks")
        self.expect_counts(state, providers=1, roles=1)
        self.end()

    def step8_delete(self) -> None:
        note = (
            "DeleteStack. CloudFormation deletes in reverse dependency order: the role before the provider it "
            "trusts, and the function last but one (it must answer both Deletes). The function checks that each "
            "carries this stack's ownership tags, detaches ReadOnlyAccess and deletes the role, then the "
            "provider. The log group is kept (DeletionPolicy: Retain)."
        )
        r = self.stack_operation("Step 8 - DeleteStack", note, "DeleteStack",
                                 lambda: self.cfn.delete_stack(StackName=self.stack_id), "DELETE_COMPLETE")
        self.check_equal(custom_sequence(r["events"]), [
            (ROLE_LOGICAL_ID, "DELETE_IN_PROGRESS"), (ROLE_LOGICAL_ID, "DELETE_COMPLETE"),
            (PROVIDER_LOGICAL_ID, "DELETE_IN_PROGRESS"), (PROVIDER_LOGICAL_ID, "DELETE_COMPLETE"),
        ], "the role was deleted first, then the provider")
        calls = r["calls"]
        self.check("iam:DeleteRole" in calls and "iam:DeleteSAMLProvider" in calls
                   and calls.index("iam:DeleteRole") < calls.index("iam:DeleteSAMLProvider"),
                   "DeleteRole, then DeleteSAMLProvider")
        self.check("iam:DetachRolePolicy" in calls, "ReadOnlyAccess detached (DetachRolePolicy)")
        self.check_equal(len(r["providers"]), 0, "IAM SAML providers: 0")
        self.check_equal([x["RoleName"] for x in r["roles"]], [], "IAM roles: 0 (the execution role went too)")
        self.counts.append((len(r["providers"]), len(r["roles"])))
        self.end()

    # -- IAM -------------------------------------------------------------------------------------
    def iam_snapshot(self) -> dict[str, Any]:
        """Everything in IAM a forged event could change, comparable with ``==``."""
        providers, roles = self.read_iam()
        return {"providers": providers, "roles": roles}

    def read_iam(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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
        return providers, roles

    def iam_state(self, full: tuple[str, ...] = ("providers", "roles")) -> dict[str, Any]:
        """Prints IAM's SAML providers and roles after a step (those named in ``full`` in full,
        the others one line); returns them."""
        providers, roles = self.read_iam()
        out.section(f"IAM SAML providers in account {ACCOUNT} after the step: {len(providers)}")
        if "providers" not in full and providers:
            out.text(", ".join(f"{p['Arn'].rsplit('/', 1)[1]} ({len(p['Certificates'])} signing certificate(s), "
                               f"document sha256 {p['Sha256'][:16]}…)" for p in providers))
        for p in providers if "providers" in full else []:
            out.kv("Arn", p["Arn"])
            out.kv("UUID", p["Uuid"])
            out.kv("Tags", "")
            for k, v in p["Tags"].items():
                out.kv(k, v, indent=6, width=26)
            out.kv("document", f"sha256 {p['Sha256']}, {len(p['Certificates'])} signing certificate(s)")
            out.line()
        federated = [x for x in roles if trusted_providers(x["Trust"])]
        out.section(f"IAM roles in account {ACCOUNT} after the step: {len(roles)} "
                    f"({len(federated)} trusting a SAML provider)")
        if "roles" not in full and roles:
            out.text(", ".join(f"{x['RoleName']} (trusts {', '.join(trusted_providers(x['Trust']))})" if x in federated
                               else f"{x['RoleName']} (the function's execution role)" for x in roles))
        for x in roles if "roles" in full else []:
            if x not in federated:
                out.kv(x["RoleName"], "the function's execution role (AWS::IAM::Role FunctionRole)")
                continue
            out.kv("Arn", x["Arn"])
            out.kv("RoleId", x["RoleId"])
            out.kv("MaxSessionDuration", x["MaxSessionDuration"])
            out.kv("attached policies", ", ".join(x["Attached"]) or "(none)")
            out.kv("inline policies", ", ".join(x["Inline"]) or "(none)")
            out.kv("Tags", "")
            for k, v in x["Tags"].items():
                out.kv(k, v, indent=6, width=26)
            out.kv("trust policy", "(GetRole's AssumeRolePolicyDocument, decoded)")
            out.text(json.dumps(x["Trust"], indent=2), indent=6)
        out.line()
        return {"providers": providers, "roles": roles, "federated": federated}

    @staticmethod
    def find_provider(r: dict[str, Any], arn: str) -> dict[str, Any] | None:
        return next((p for p in r["providers"] if p["Arn"] == arn), None)

    def expect_counts(self, r: dict[str, Any], providers: int, roles: int) -> None:
        federated = r.get("federated", [])
        self.counts.append((len(r["providers"]), len(federated)))
        self.check_equal(len(r["providers"]), providers, f"IAM SAML providers: {providers}")
        self.check_equal(len(federated), roles, f"IAM roles trusting a SAML provider: {roles}")

    def expect_provider(self, r: dict[str, Any], arn: str, document: str, certs: int) -> None:
        p = self.find_provider(r, arn)
        if not self.check(p is not None, f"{arn.rsplit('/', 1)[1]} exists in IAM"):
            return
        self.check(p["Sha256"] == sha256_text(document), "IAM holds the uploaded document byte for byte (sha256)")
        self.check_equal(len(p["Certificates"]), certs, f"{certs} signing certificate(s) in IAM's copy")
        self.check_equal(p["Tags"], {"samlfed:stack-id": self.stack_id, "samlfed:logical-id": PROVIDER_LOGICAL_ID},
                         "ownership tags name this stack and SAMLProvider")

    def expect_role(self, r: dict[str, Any], provider_arn: str) -> None:
        role = next((x for x in r["roles"] if x["RoleName"] == ROLE_NAME), None)
        if not self.check(role is not None, f"{ROLE_NAME} exists in IAM"):
            return
        statements = (role["Trust"] or {}).get("Statement") or [{}]
        st = statements[0] if isinstance(statements, list) else statements
        self.check(len(statements) == 1 and st.get("Effect") == "Allow"
                   and st.get("Principal") == {"Federated": provider_arn}
                   and st.get("Action") == "sts:AssumeRoleWithSAML",
                   f"trust policy: Allow sts:AssumeRoleWithSAML to Federated {provider_arn}")
        self.check(st.get("Condition") == {"StringEquals": {"SAML:aud": SAML_AUDIENCE}},
                   f"trust policy: Condition StringEquals SAML:aud = {SAML_AUDIENCE}")
        self.check(role["Attached"] == [READ_ONLY_POLICY] and role["Inline"] == [],
                   f"attached: {READ_ONLY_POLICY} (the template's default RoleManagedPolicyArns), no inline policy")
        self.check_equal(role["MaxSessionDuration"], 3600,
                         'MaxSessionDuration 3600 (the template\'s number, sent as the string "3600")')
        self.check_equal(role["Tags"], {"samlfed:stack-id": self.stack_id, "samlfed:logical-id": ROLE_LOGICAL_ID},
                         "ownership tags name this stack and SAMLRole")

    def expect_refresh(self, r: dict[str, Any], document: str, changed: bool, calls: list[str]) -> None:
        body = r["result"]
        self.check(not r["error"], "the refresh succeeded (no FunctionError)"
                   + (f" (got {r['error']}: {body or ''})" if r["error"] else ""))
        self.check_equal(body.get("ProviderArn"), self.provider_arn, f"ProviderArn {self.provider_arn}")
        self.check_equal(body.get("Changed"), changed, f"Changed {str(changed).lower()}")
        self.check(body.get("MetadataSha256") == sha256_text(document),
                   "MetadataSha256 is the sha256 of the latest object version")
        self.check_equal(r["calls"], calls, "AWS calls: " + ", ".join(calls))
        p = self.find_provider(r, self.provider_arn)
        self.check(p is not None and p["Sha256"] == sha256_text(document),
                   "IAM holds the latest object version byte for byte (sha256)")
        self.expect_counts(r, providers=1, roles=1)

    # -- S3 --------------------------------------------------------------------------------------
    def read_response(self, bucket: str, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            obj = self.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return json.loads(obj["Body"].read())

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

    # -- the story -------------------------------------------------------------------------------
    def run(self) -> None:
        self.setup()
        self.step1_package()
        self.step2_create()
        self.step3_rotate()
        self.step4_refresh_changed()
        self.step5_refresh_unchanged()
        self.step6_rename()
        self.step7_forged()
        self.step8_delete()


def isolated_workdir(prefix: str) -> Path:
    """A fresh working directory, with this process cut off from the local AWS configuration:
    no AWS_* variable survives, and empty config and credentials files stand in for ~/.aws, so a
    developer's profile cannot change what runs (for this process and boto3), and the SDKs have
    nothing to warn about."""
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[k]
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    for name, var in (("aws-config-empty", "AWS_CONFIG_FILE"), ("aws-credentials-empty", "AWS_SHARED_CREDENTIALS_FILE")):
        (workdir / name).write_text("")
        os.environ[var] = str(workdir / name)
    return workdir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="samlfed local demo (the template through the emulator's "
                                                 "CloudFormation, the real bootstrap)")
    parser.add_argument("--bootstrap", type=Path, default=ROOT / "target" / "release" / "bootstrap",
                        help="the Lambda binary (default: target/release/bootstrap)")
    args = parser.parse_args(argv)
    bootstrap = args.bootstrap.resolve()
    if not (bootstrap.is_file() and os.access(bootstrap, os.X_OK)):
        print(f"demo: no executable at {bootstrap}; build it with `make target/release/bootstrap`", file=sys.stderr)
        return 2
    try:
        architecture = lambda_architecture()
    except ValueError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2

    workdir = isolated_workdir("samlfed-demo-")

    def on_sigterm(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_sigterm)
    demo = Demo(bootstrap, workdir, architecture)
    started = time.monotonic()
    code = 0
    try:
        demo.run()
    except KeyboardInterrupt:
        print("\ndemo: interrupted; stopping what it started", file=sys.stderr)
        code = 130
    except DemoError as exc:
        print(f"\ndemo: {demo.current}: {exc}", file=sys.stderr)
        code = 1
    except Exception as exc:  # noqa: BLE001 - report, clean up, exit non-zero
        import traceback

        traceback.print_exc()
        print(f"\ndemo: {demo.current}: failed: {exc!r}", file=sys.stderr)
        code = 1
    finally:
        # A second Ctrl-C must not interrupt the clean-up itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(demo.started)
    if demo.started.leftovers:
        demo.failures.append(f"clean-up: function process(es) {demo.started.leftovers} outlived the emulator "
                             "(killed by PID)")
    if code == 0 and demo.failures:
        code = 1
    out.title("Summary")
    if demo.failures:
        out.line(f"  {len(demo.failures)} check(s) failed:")
        for f in demo.failures:
            out.bad(f)
    elif code == 0:
        out.para("every check passed. Every custom-resource event came from templates/saml-federation.yaml "
                 "through the emulator's CloudFormation engine and was answered by the real bootstrap: the "
                 "stack was created, updated in place with rotated metadata, refreshed twice by its own "
                 "RefreshRule's event (Changed true, then false with no IAM call), renamed (the provider "
                 "replaced, the role updated, the old provider deleted in the cleanup) and deleted (the role, "
                 "then the provider); the two forged events changed nothing (REFUSED; FAILED by the origin "
                 "check).")
        out.kv("stack statuses", ", ".join(demo.statuses), indent=2)
        out.kv("providers, steps 2-8", ", ".join(str(p) for p, _ in demo.counts), indent=2)
        out.kv("SAML roles, steps 2-8", ", ".join(str(r) for _, r in demo.counts), indent=2)
    if demo.step_times:
        out.kv("step times", ", ".join(f"{name.replace('Step ', '')}: {t:.1f} s" for name, t in demo.step_times),
               indent=2)
    out.kv("emulator log", f"{workdir / 'emulator.log'} (the function's lines: `lambda <name>:`)", indent=2)
    out.kv("time", f"{time.monotonic() - started:.1f} s", indent=2)
    out.kv("result", "ok" if code == 0 else f"FAILED (exit {code})", indent=2)
    return code


if __name__ == "__main__":
    sys.exit(main())
