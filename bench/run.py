#!/usr/bin/env python3
"""`make bench`: samlfed's release ``bootstrap`` side by side with a plain Python + boto3 baseline.

    .venv/bin/python bench/run.py [--rounds 5] [--bootstrap target/release/bootstrap] [--results bench/results.md]

Both functions get the same CloudFormation events (Custom::SAMLProvider Create, Update with new
metadata, Delete) through a Lambda Runtime API (``tools/runtime_api.py``) and talk to the same
local AWS emulator (``tools/emulator.py``, run through ``bench/timed_emulator.py`` which adds a
per-request timer). Each ResponseURL is a presigned S3 PUT URL on the emulator, as on AWS.

Where the events come from: nobody writes them. In the set-up (not measured) the bench deploys
``templates/saml-federation.yaml`` once through the emulator's CloudFormation engine, with
tools/demo.py's helpers (samlfed's zip uploaded; RoleName and RefreshSchedule empty, so the
provider only; MetadataUrl from S3, FederationFileVersion = v1), updates the stack to
FederationFileVersion = v2 and deletes it. The engine's function answers those requests, and
``GET /_samlfed/cfn-requests`` returns them as CloudFormation rendered them (every property a
string, ServiceToken and ServiceTimeout inside ResourceProperties too, AdoptExisting "false").
Its Custom::SAMLProvider Create, Update and Delete are the templates of every measured event: each
delivery is a copy with only RequestId, ResponseURL, ServiceToken, StackId and PhysicalResourceId
replaced (``delivered_event`` says which and why). Both implementations read the one metadata
bucket, so MetadataUrl is the engine's, unchanged. The function's environment is the one the
emulator's Lambda gives a function (``lambda_local.function_environment``), from a FunctionSpec
made of the configuration the template gave the engine's function (MemorySize, Timeout,
LoggingConfig, ...) with the implementation's name, ARN and account.

The origin check stays on. samlfed asks CloudFormation (DescribeStackResource) whether the
event's resource has an operation of its kind in progress; as the bench plays CloudFormation for
the implementation's stack, it records that operation with the emulator before each delivery
(``POST /_samlfed/cfn-operations``), so the check is answered - and its call paid for - as on AWS.

Implementations alternate, A B A B ..., for ``--rounds`` rounds. Per round and implementation:

* process 1, cold: Create; then warm in the same process: ``--warm-cycles`` x (Update, Delete,
  Create). Its peak RSS is read after the last event.
* process 2, cold: Update (metadata v1 -> v2, same Name: UpdateSAMLProvider in place).
* process 3, cold: Delete.

What is measured (all times from CLOCK_MONOTONIC, shared by every process on the machine):

* cold start = fork/exec of the function (just before ``subprocess.Popen``) -> the emulator has
  stored the CloudFormation response and written its HTTP answer (the response PUT's ``t1`` in
  the emulator's timer). Split into init (exec -> first ``/invocation/next`` poll) and the rest.
* warm invoke = the Runtime API hands the event out (``/next`` returns) -> the response PUT's
  ``t1``. Only the second and later events of process 1.
* peak RSS = ``VmHWM`` of ``/proc/<pid>/status`` of the function's process after its last event
  (process 1: 1 cold + 3 x warm-cycles events).
* CPU per warm request = CPU time of the function's process (sum over its threads of
  ``/proc/<pid>/task/*/schedstat``, nanoseconds) from idle in ``/next`` to idle in ``/next``
  again. The process is blocked while AWS (the emulator) works, so this is the handler's own work
  beyond the AWS calls: runtime client, JSON, SigV4 signing, HTTP client, XML/X.509 validation,
  logging.
* wall residual = warm invoke - the summed emulator-side time (t0 -> t1) of the function's AWS
  calls and of its response PUT. An upper bound of the same overhead: it also holds loopback
  transit and the emulator's HTTP parsing before ``t0``.
* AWS calls per operation = the emulator's call log (``GET /_samlfed/calls``) filtered by the
  function's access key (each implementation has its own 12-digit key = account), compared with
  the minimum in docs/resources.md / src/resources/saml_provider.rs. The response PUT is signed by the
  ResponseURL's presigner (CloudFormation's key), so it is not one of these; it is checked
  separately (exactly one per event). Calls before the first event (at init) are counted too.
* zip sizes: samlfed's from ``build/bootstrap-<arch>.zip`` (``make build``), else what exists is
  said plainly; the baseline's zip = handler.py + bootstrap.py (boto3 is part of Lambda's Python
  runtime), with the size of vendored boto3 for reference.
* peak RSS on the largest accepted documents and on hostile inputs (samlfed only, after the
  rounds; ``--memory-only`` runs just this): one fresh process per input, one Create (or Update),
  ``VmHWM`` after its answer, held against the template's MemorySize (128 MB). The inputs: a
  document of exactly the fetch cap (10,000,000 bytes; once ASCII letters, once ``&``, which the
  IAM request percent-encodes and IAM's answer XML-escapes, created and then updated in place),
  one at the XML node bound, an HTTPS body of
  UTF-8 continuation bytes without Content-Length (210 MB offered), 10 MB of ``<a/>`` (a node
  bomb), one element with 750,000 attributes, and an entity bomb. Each event is the engine's
  Create (or Update) with Name and MetadataUrl as the template renders them for FederationName
  ``BenchMemory<n>`` and FederationFileVersion = the input's object version (MetadataHttpsUrl for
  the stream).

Every server is on 127.0.0.1 on a free port and stopped by PID; every wait is bounded.
Exit status: 0 when the template went through the engine (CREATE, UPDATE, DELETE_COMPLETE, one
Custom::SAMLProvider request of each type), every event was answered SUCCESS with the expected
PhysicalResourceId and samlfed made exactly the minimum calls; 1 otherwise (the table and results
are still written when the rounds ran).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import io
import json
import os
import platform
import re
import shlex
import signal
import socket
import ssl
import threading
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True  # no __pycache__ in tools/ or bench/
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import demo  # noqa: E402  (certificates + metadata, deploying the template, process helpers)
import lambda_local  # noqa: E402  (FunctionSpec, function_environment: the function's environment)
from runtime_api import FunctionExited, InvokeTimeout, RuntimeApi  # noqa: E402

BENCH = ROOT / "bench"
TIMED_EMULATOR = BENCH / "timed_emulator.py"
REGION = "us-east-1"
CFN_ACCOUNT = "999999999999"  # presigns the ResponseURLs, owns the response bucket
RESPONSE_BUCKET = "cloudformation-custom-resource-response-useast1"
# The one deployment of templates/saml-federation.yaml through the emulator's CloudFormation engine
# (set-up, not measured) whose custom-resource requests are the templates of the measured events.
ENGINE_ACCOUNT = demo.ACCOUNT  # deploys the stack; its function is the engine's (run by the emulator)
STACK_NAME = "samlfed-bench"
CODE_BUCKET = "samlfed-bench-code"
# FederationBucket: one versioned bucket both implementations read (as every account of an
# organisation reads the one metadata bucket, templates/metadata-bucket.yaml), so the engine's
# MetadataUrl - s3://bucket/FederationFile?versionId=... - is delivered to both unchanged.
METADATA_BUCKET = "samlfed-bench-idp-metadata"
METADATA_KEY = demo.METADATA_KEY  # the template's FederationFile default
PROVIDER_NAME = "BenchIdP"  # FederationName
PROVIDER_TYPE = "Custom::SAMLProvider"
INVOKE_TIMEOUT_S = 30.0
STARTUP_TIMEOUT_S = 30.0

# The minimum AWS calls per operation (docs/resources.md "What each request does",
# src/resources/saml_provider.rs): Update = document changed, tags unchanged. Each starts with the
# origin check (src/cfn/origin.rs), which asks CloudFormation whether it sent the event.
ORIGIN_CHECK = "cloudformation:DescribeStackResource"
SAMLFED_MINIMUM = {
    "Create": [ORIGIN_CHECK, "s3:GetObject", "iam:CreateSAMLProvider", "iam:GetSAMLProvider"],
    "Update": [ORIGIN_CHECK, "s3:GetObject", "iam:GetSAMLProvider", "iam:UpdateSAMLProvider"],
    "Delete": [ORIGIN_CHECK, "iam:GetSAMLProvider", "iam:DeleteSAMLProvider"],
}
BASELINE_CALLS = {
    "Create": ["s3:GetObject", "iam:CreateSAMLProvider"],
    "Update": ["s3:GetObject", "iam:UpdateSAMLProvider"],
    "Delete": ["iam:DeleteSAMLProvider"],
}
TYPES = ("Create", "Update", "Delete")
# Cold start at most an eighth of the baseline's, the origin check included; the arm64 zip at
# most 3.5 MiB (the budget once the origin check brought the CloudFormation SDK in).
TARGETS = {"cold": 1 / 8, "rss": 1 / 3, "zip_arm64": 3.5 * 1024 * 1024, "overhead_ms": 1.0}
# The memory phase: the template's MemorySize, and samlfed's bounds (src/metadata/mod.rs
# MAX_DOCUMENT_BYTES, src/metadata/validate/xml.rs MAX_XML_NODES).
MEMORY_SIZE_MIB = 128
MAX_DOCUMENT_BYTES = 10_000_000
MAX_XML_NODES = 100_000
MEMORY_INVOKE_TIMEOUT_S = 60.0


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
class BenchError(Exception):
    pass


class TimedRuntimeApi(RuntimeApi):
    """``RuntimeApi`` that also stamps (CLOCK_MONOTONIC) the first ``/next`` poll, when each event
    is handed out, and when each ``/response`` or ``/error`` arrives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.first_poll: float | None = None
        self.first_poll_cpu_ns: int | None = None
        self.pid: int | None = None  # the function's process, once started
        self.delivered: dict[str, float] = {}
        self.completed: dict[str, float] = {}

    def _next(self) -> Any:
        if self.first_poll is None:
            self.first_poll = time.monotonic()
            if self.pid is not None:
                self.first_poll_cpu_ns = cpu_ns(self.pid)  # ~0.1 ms, the same for every implementation
        inv = super()._next()
        if inv is not None:
            self.delivered[inv.request_id] = time.monotonic()
        return inv

    def _complete(self, request_id: str, kind: str, raw: bytes, headers: dict[str, str]) -> bool:
        self.completed.setdefault(request_id, time.monotonic())
        return super()._complete(request_id, kind, raw, headers)


def cpu_ns(pid: int) -> int:
    """CPU time of all live threads of ``pid`` (schedstat: ns on CPU)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def proc_status_kb(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def http(method: str, url: str, data: bytes | None = None, timeout: float = 10.0) -> bytes:
    req = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


def med(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def fmt_ms(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.3f}"


def run_cmd(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "(unavailable)"


# ------------------------------------------------------------------------------------------------
# Events: CloudFormation's own, from the engine
# ------------------------------------------------------------------------------------------------
def in_account(arn: str, account: str) -> str:
    """``arn`` with its account field replaced (partition, service, Region and resource kept)."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        raise BenchError(f"not an ARN: {arn!r}")
    parts[4] = account
    return ":".join(parts)


def delivered_event(template: dict[str, Any], *, request_id: str, response_url: str, function_arn: str,
                    account: str) -> dict[str, Any]:
    """One delivery of a request the engine sent (``template``, from ``GET /_samlfed/cfn-requests``)
    to one implementation. Everything is the engine's - RequestType, ResourceType,
    LogicalResourceId, ServiceTimeout, every resource property (MetadataUrl included: both
    implementations read the one metadata bucket) - except what must differ per delivery:

    * ``RequestId``: fresh for each delivery, as CloudFormation gives each request its own; the
      bench's response object is stored under it.
    * ``ResponseURL``: the bench's own presigned S3 PUT URL (CloudFormation's form on AWS), whose
      PUT the timed emulator stamps and whose object the bench reads back. The engine's URL was
      closed once the engine had its answer.
    * ``ServiceToken`` (top level, and in ResourceProperties / OldResourceProperties, where
      CloudFormation also puts it): the implementation's function ARN; each implementation is a
      function in its own account (the engine's function was deleted with its stack).
    * ``StackId``: the engine's stack moved to the implementation's account (same name and
      UUID). samlfed tags what it creates with it, and its origin check asks CloudFormation about
      this stack (the bench records the operation for it, see ``Bench.record_operation``).
    * ``PhysicalResourceId`` (Update, Delete): the engine's provider ARN moved to the
      implementation's account - the ARN that implementation's Create answers (checked).
    """
    event = copy.deepcopy(template)
    event["RequestId"] = request_id
    event["ResponseURL"] = response_url
    event["ServiceToken"] = function_arn
    for key in ("ResourceProperties", "OldResourceProperties"):
        if isinstance(event.get(key), dict) and "ServiceToken" in event[key]:
            event[key]["ServiceToken"] = function_arn
    event["StackId"] = in_account(event["StackId"], account)
    if event.get("PhysicalResourceId"):
        event["PhysicalResourceId"] = in_account(event["PhysicalResourceId"], account)
    return event


# ------------------------------------------------------------------------------------------------
# Implementations
# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Impl:
    name: str
    kind: str  # "rust" | "python"
    cmd: list[str]
    account: str
    expected: dict[str, list[str]]
    check_minimum: bool  # a mismatch fails the run (samlfed); for the baseline it is information

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{self.account}:function:{self.name}"

    @property
    def task_root(self) -> str:
        """Where the function's code is (LAMBDA_TASK_ROOT): the bootstrap's or handler's directory."""
        return str(Path(self.cmd[-1]).resolve().parent)


@dataclasses.dataclass
class InvocationRecord:
    impl: str
    round: int
    process: int
    index: int  # 0 = the cold one
    request_type: str
    request_id: str
    t_exec: float
    first_poll: float | None = None
    delivered: float | None = None
    completed: float | None = None
    put_t0: float | None = None
    put_t1: float | None = None
    puts: int = 0
    status: str | None = None
    reason: str | None = None
    physical_id: str | None = None  # the answer's PhysicalResourceId
    kind: str | None = None
    calls: list[str] = dataclasses.field(default_factory=list)
    aws_s: float = 0.0  # emulator-side time of the function's calls + the response PUT
    cpu_ns: int | None = None
    own_ms: float | None = None  # samlfed's own log: the answer's time not spent in AWS calls

    @property
    def cold(self) -> bool:
        return self.index == 0

    def latency_ms(self) -> float | None:
        start = self.t_exec if self.cold else self.delivered
        if start is None or self.put_t1 is None:
            return None
        return (self.put_t1 - start) * 1000


@dataclasses.dataclass
class ProcessRecord:
    impl: str
    round: int
    process: int
    vmhwm_kb: int | None
    init_ms: float | None
    init_calls: list[str]
    cold_cpu_ms: float | None
    init_cpu_ms: float | None


@dataclasses.dataclass
class MemoryRecord:
    """One input of the memory phase: what was sent, what came back, the process's peak RSS."""
    name: str
    size: int  # bytes of the document, or offered by the stream
    expect: str  # SUCCESS or FAILED
    phrase: str  # what a FAILED Reason must say
    vmhwm_kb: int | None = None
    status: str | None = None
    reason: str | None = None
    seconds: float | None = None
    sent: int | None = None  # bytes the hostile server managed to write (streams only)
    update_of: int | None = None  # an Update of the provider an earlier case created (its index)


# ------------------------------------------------------------------------------------------------
# Peak RSS on the largest accepted documents and on hostile inputs
# ------------------------------------------------------------------------------------------------
def with_before_end(document: str, markup: str) -> str:
    """``document`` with ``markup`` just before its closing ``</md:EntityDescriptor>``."""
    end = document.rindex("</md:EntityDescriptor>")
    return document[:end] + markup + document[end:]


def padded_to(document: str, size: int, filler: str) -> str:
    """``document`` with a comment of ``filler`` that makes it exactly ``size`` bytes."""
    room = size - len(document.encode()) - len("<!--\n-->\n")
    return with_before_end(document, "<!--\n" + filler * room + "-->\n")


def tls_files(workdir: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a ``localhost`` certificate it signed: (ca.pem, cert.pem, key.pem). The
    function trusts the CA only through the test-only ``SAMLFED_TEST_CA_PEM``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "samlfed bench CA")])

    def builder(subject: x509.Name, key: Any) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=1)))

    ca = (builder(ca_name, ca_key).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]), leaf_key)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = workdir / "bench-ca.pem", workdir / "bench-localhost.pem", workdir / "bench-localhost.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return paths


class ContinuationStream:
    """An HTTPS "IdP" on 127.0.0.1 whose every answer is 200 with no Content-Length and ``total``
    bytes of 0x80 - UTF-8 continuation bytes, not one character - until the client hangs up.
    ``sent`` counts what it managed to write."""

    def __init__(self, workdir: Path, total: int) -> None:
        self.ca_pem, cert, key = tls_files(workdir)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.total = total
        self.sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            try:
                conn.settimeout(10)
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    head = b""
                    while b"\r\n\r\n" not in head and len(head) < 16384:
                        chunk = tls.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n")
                    block = b"\x80" * (64 * 1024)
                    while self.sent < self.total and not self.stopped.is_set():
                        tls.sendall(block)
                        self.sent += len(block)
            except OSError:
                pass  # the client hung up: what it read is counted
            finally:
                conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.listener.close()


# ------------------------------------------------------------------------------------------------
# The bench
# ------------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace, impls: list[Impl], workdir: Path) -> None:
        self.args = args
        self.impls = impls
        self.workdir = workdir
        self.started = demo.Started()
        self.invocations: list[InvocationRecord] = []
        self.processes: list[ProcessRecord] = []
        self.failures: list[str] = []
        self.rounds_done = 0
        self.memory: list[MemoryRecord] = []

    # -- set-up ----------------------------------------------------------------------------------
    def client(self, service: str, account: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=account,
            aws_secret_access_key="bench",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4" if service == "s3" else None,
                          retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=15),
        )

    def setup(self) -> None:
        demo.EMULATOR = TIMED_EMULATOR  # demo.start_emulator runs whatever this names
        self.endpoint = demo.start_emulator(self.started, self.workdir)
        self.cfn_s3 = self.client("s3", CFN_ACCOUNT)
        self.cfn_s3.create_bucket(Bucket=RESPONSE_BUCKET)
        cert1, cert2 = demo.make_certificate(), demo.make_certificate()
        self.doc1 = demo.metadata_document([cert1])
        self.doc2 = demo.metadata_document([cert1, cert2])
        self.deploy_through_engine()
        self.specs = {impl.name: self.function_spec(impl) for impl in self.impls}
        for impl in self.impls:
            # moto builds an account's IAM backend (with every AWS managed policy) on its first IAM
            # request, which takes about a second: do it here, not inside the first measured event.
            self.client("iam", impl.account).list_saml_providers()

    def deploy_through_engine(self) -> None:
        """The events' source: templates/saml-federation.yaml deployed once through the emulator's
        CloudFormation engine, as tools/demo.py deploys it - samlfed's zip uploaded, CreateStack
        with the role and the refresh off (the provider only) and the metadata from S3 at
        FederationFileVersion = v1, UpdateStack to v2, DeleteStack. The engine's function (the
        same bootstrap, run by the emulator's Lambda) answers them. Keeps the engine's
        Custom::SAMLProvider Create, Update and Delete requests (``self.templates``) and the
        function's configuration as deployed (``self.function_config``)."""
        s3 = self.client("s3", ENGINE_ACCOUNT)
        cfn = self.client("cloudformation", ENGINE_ACCOUNT)
        architecture = demo.lambda_architecture()
        package = demo.package_bootstrap(Path(self.impls[0].cmd[-1]), self.workdir / f"bootstrap-{architecture}.zip")
        demo.upload_code(s3, package, architecture, bucket=CODE_BUCKET)
        s3.create_bucket(Bucket=METADATA_BUCKET)
        s3.put_bucket_versioning(Bucket=METADATA_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.versions = [s3.put_object(Bucket=METADATA_BUCKET, Key=METADATA_KEY, Body=doc.encode())["VersionId"]
                         for doc in (self.doc1, self.doc2)]

        def params(version: str) -> list[dict[str, str]]:
            return demo.stack_parameters(architecture, PROVIDER_NAME, version=version, role_name="",
                                         refresh_schedule="", federation_bucket=METADATA_BUCKET,
                                         code_bucket=CODE_BUCKET)

        def finish(stack_id: str, expected: str) -> dict[str, Any]:
            stack, _ = demo.wait_for_stack(cfn, stack_id)
            if stack["StackStatus"] != expected:
                raise BenchError(f"engine: stack {STACK_NAME} ended {stack['StackStatus']}, not {expected}: "
                                 f"{stack.get('StackStatusReason', '')} (see the emulator log)")
            return stack

        t = time.monotonic()
        stack_id = demo.create_stack(cfn, params(self.versions[0]), STACK_NAME)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in finish(stack_id, "CREATE_COMPLETE").get("Outputs") or []}
        if "FunctionArn" not in outputs:
            raise BenchError(f"engine: stack {STACK_NAME} has no FunctionArn output (outputs: {sorted(outputs)})")
        self.function_config = self.client("lambda", ENGINE_ACCOUNT).get_function_configuration(
            FunctionName=outputs["FunctionArn"])
        if int(self.function_config["MemorySize"]) != MEMORY_SIZE_MIB:
            self.failures.append(f"the template's MemorySize is {self.function_config['MemorySize']} MB; the memory "
                                 f"phase holds peaks against {MEMORY_SIZE_MIB} MB (MEMORY_SIZE_MIB in bench/run.py)")
        demo.update_stack(cfn, stack_id, params(self.versions[1]))
        finish(stack_id, "UPDATE_COMPLETE")
        cfn.delete_stack(StackName=stack_id)
        finish(stack_id, "DELETE_COMPLETE")
        sent = [e for e in json.loads(http("GET", f"{self.endpoint}/_samlfed/cfn-requests"))
                if e.get("StackId") == stack_id and e.get("ResourceType") == PROVIDER_TYPE]
        got = [e.get("RequestType") for e in sent]
        if got != list(TYPES):
            raise BenchError(f"engine: the stack's {PROVIDER_TYPE} requests were {got}, not {list(TYPES)}")
        self.templates = {e["RequestType"]: e for e in sent}
        print(f"bench: events from {demo.TEMPLATE.relative_to(ROOT)} through the emulator's CloudFormation "
              f"(CreateStack, UpdateStack FederationFileVersion v1 -> v2, DeleteStack: {time.monotonic() - t:.1f} s); "
              f"{PROVIDER_TYPE} properties: {', '.join(self.templates['Create']['ResourceProperties'])}", flush=True)

    def stop(self) -> None:
        demo.stop_all(self.started)

    # -- events ----------------------------------------------------------------------------------
    def expected_physical_id(self, impl: Impl) -> str:
        """The provider ARN the implementation's Create answers: the engine's, in its account."""
        return in_account(self.templates["Update"]["PhysicalResourceId"], impl.account)

    def event(self, impl: Impl, request_type: str) -> dict[str, Any]:
        """The engine's ``request_type`` request, delivered to ``impl`` (see ``delivered_event``)."""
        request_id = str(uuid.uuid4())
        url = self.cfn_s3.generate_presigned_url(
            "put_object", Params={"Bucket": RESPONSE_BUCKET, "Key": request_id}, ExpiresIn=7200)
        return delivered_event(self.templates[request_type], request_id=request_id, response_url=url,
                               function_arn=impl.function_arn, account=impl.account)

    def record_operation(self, event: dict[str, Any]) -> None:
        """The origin check stays on: samlfed asks CloudFormation (DescribeStackResource) whether
        this very resource has an operation of the event's kind in progress. The bench plays
        CloudFormation's part for the implementation's stack, so before each delivery it tells
        the emulator what CloudFormation's record shows during it (``POST /_samlfed/cfn-operations``:
        the resource ``<TYPE>_IN_PROGRESS`` with the event's PhysicalResourceId), and the check is
        answered, and paid for, as on AWS."""
        http("POST", f"{self.endpoint}/_samlfed/cfn-operations", data=json.dumps({"Event": event}).encode())

    # -- one process -----------------------------------------------------------------------------
    def function_spec(self, impl: Impl) -> lambda_local.FunctionSpec:
        """What Lambda knows of the implementation's function: the configuration the template gave
        the engine's function (GetFunctionConfiguration: Runtime, Handler, MemorySize, Timeout,
        Environment, LoggingConfig), with the implementation's name, ARN and account. The bench's
        own variables go in through the spec's environment, like Environment.Variables."""
        config = self.function_config
        logging = config.get("LoggingConfig") or {}
        env = dict((config.get("Environment") or {}).get("Variables") or {})
        # Nothing from this shell's AWS profile: the empty files isolated_workdir wrote.
        env["AWS_CONFIG_FILE"] = os.environ["AWS_CONFIG_FILE"]
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"]
        if impl.kind == "python":
            # Lambda's /var/task is read-only: the handler is compiled at every cold start.
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(dict(spec.split("=", 1) for spec in self.args.env))
        return lambda_local.FunctionSpec(
            function_arn=impl.function_arn, function_name=impl.name, account_id=impl.account, region=REGION,
            endpoint_url=self.endpoint, runtime=config.get("Runtime") or "provided.al2",
            handler=config.get("Handler") or "bootstrap", memory_size=int(config["MemorySize"]),
            timeout_s=float(config["Timeout"]), environment=tuple(sorted(env.items())),
            log_format=logging.get("LogFormat") or "JSON", log_level=logging.get("ApplicationLogLevel") or "INFO",
            log_group=logging.get("LogGroup"))

    def env(self, impl: Impl, api: RuntimeApi, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The process environment, as the emulator's Lambda builds it (lambda_local.function_environment)."""
        spec = self.specs[impl.name]
        if extra:
            spec = dataclasses.replace(spec, environment=tuple(sorted({**dict(spec.environment), **extra}.items())))
        return lambda_local.function_environment(spec, api.address, impl.task_root)

    def run_process(self, impl: Impl, round_no: int, process_no: int, types: list[str]) -> None:
        api = TimedRuntimeApi(function_arn=impl.function_arn, default_timeout_s=INVOKE_TIMEOUT_S)
        api.start()
        self.started.api = api
        log = open(self.workdir / f"{impl.name}.log", "ab")
        self.started.files.append(log)
        records: list[InvocationRecord] = []
        proc: subprocess.Popen | None = None
        vmhwm = None
        cold_cpu = None
        try:
            env = self.env(impl, api)
            http("DELETE", f"{self.endpoint}/_samlfed/calls")
            http("DELETE", f"{self.endpoint}/_bench/timings")
            events = [self.event(impl, t) for t in types]
            t_exec = time.monotonic()
            proc = subprocess.Popen(impl.cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=self.workdir)
            api.pid = proc.pid
            self.started.bootstrap = proc
            for i, event in enumerate(events):
                rec = InvocationRecord(impl=impl.name, round=round_no, process=process_no, index=i,
                                       request_type=event["RequestType"], request_id=event["RequestId"],
                                       t_exec=t_exec)
                cpu_before = None
                if i > 0:
                    if not api.wait_for_poll(timeout_s=10, process=proc):
                        raise BenchError(f"{impl.name}: not polling /next before event {i}")
                    http("DELETE", f"{self.endpoint}/_samlfed/calls")
                    cpu_before = cpu_ns(proc.pid)
                # CloudFormation's record shows the operation (the function's origin check asks it).
                self.record_operation(event)
                try:
                    result = api.invoke(event, timeout_s=INVOKE_TIMEOUT_S, process=proc, request_id=rec.request_id)
                except (InvokeTimeout, FunctionExited) as exc:
                    raise BenchError(f"{impl.name}: {exc}") from exc
                rec.kind = result.kind
                if api.wait_for_poll(timeout_s=10, process=proc):
                    cpu_after = cpu_ns(proc.pid)
                    if i == 0:
                        cold_cpu = cpu_after / 1e6
                    elif cpu_before is not None:
                        rec.cpu_ns = cpu_after - cpu_before
                calls = json.loads(http("GET", f"{self.endpoint}/_samlfed/calls"))
                rec.calls = [f"{c['service']}:{c['action']}" for c in calls if c["access_key"] == impl.account]
                rec.delivered = api.delivered.get(rec.request_id)
                rec.completed = api.completed.get(rec.request_id)
                rec.first_poll = api.first_poll
                try:
                    body = self.cfn_s3.get_object(Bucket=RESPONSE_BUCKET, Key=rec.request_id)["Body"].read()
                    answer = json.loads(body)
                    rec.status, rec.reason = answer.get("Status"), answer.get("Reason")
                    rec.physical_id = answer.get("PhysicalResourceId")
                except Exception as exc:  # noqa: BLE001 - recorded as a failure below
                    rec.status, rec.reason = None, f"no readable response object: {exc!r}"
                records.append(rec)
            vmhwm = proc_status_kb(proc.pid, "VmHWM")
        finally:
            if proc is not None:
                demo.stop_process(proc, impl.name)
            self.started.bootstrap = None
            api.stop()
            self.started.api = None
        timings = json.loads(http("GET", f"{self.endpoint}/_bench/timings"))
        fn_timings = [t for t in timings if t["access_key"] == impl.account and "t1" in t]
        first_delivered = records[0].delivered if records else None
        init_calls = [f"{t['method']} {t['path']}" for t in fn_timings
                      if first_delivered is not None and t["t0"] < first_delivered]
        for rec in records:
            puts = [t for t in timings if t["method"] == "PUT" and "t1" in t
                    and t["path"] == f"/{RESPONSE_BUCKET}/{rec.request_id}"]
            rec.puts = len(puts)
            if puts:
                rec.put_t0, rec.put_t1 = puts[0]["t0"], puts[0]["t1"]
            if rec.delivered is not None and rec.put_t1 is not None:
                inside = [t for t in fn_timings if t["t0"] >= rec.delivered and t["t1"] <= rec.put_t1]
                rec.aws_s = sum(t["t1"] - t["t0"] for t in inside) + (rec.put_t1 - rec.put_t0)
            self.check_invocation(impl, rec)
        init_ms = (records[0].first_poll - records[0].t_exec) * 1000 if records and records[0].first_poll else None
        self.processes.append(ProcessRecord(impl=impl.name, round=round_no, process=process_no, vmhwm_kb=vmhwm,
                                            init_ms=init_ms, init_calls=init_calls, cold_cpu_ms=cold_cpu,
                                            init_cpu_ms=api.first_poll_cpu_ns / 1e6 if api.first_poll_cpu_ns else None))
        if init_calls:
            self.failures.append(f"{impl.name}: AWS calls before the first event (at init): {init_calls}")
        self.invocations.extend(records)

    def check_invocation(self, impl: Impl, rec: InvocationRecord) -> None:
        where = f"{impl.name} round {rec.round} process {rec.process} event {rec.index} ({rec.request_type})"
        if rec.kind != "response":
            self.failures.append(f"{where}: the invocation ended with /{rec.kind}, not /response")
        if rec.status != "SUCCESS":
            self.failures.append(f"{where}: CloudFormation response {rec.status}: {rec.reason}")
        if rec.puts != 1:
            self.failures.append(f"{where}: {rec.puts} response PUTs (exactly one expected)")
        if rec.status == "SUCCESS" and rec.physical_id != self.expected_physical_id(impl):
            # The Update and Delete events carry this ARN as their PhysicalResourceId.
            self.failures.append(f"{where}: PhysicalResourceId {rec.physical_id!r}, "
                                 f"expected {self.expected_physical_id(impl)!r}")
        if rec.calls != impl.expected[rec.request_type]:
            msg = (f"{where}: AWS calls {rec.calls} != {'minimum' if impl.check_minimum else 'expected'} "
                   f"{impl.expected[rec.request_type]}")
            if impl.check_minimum:
                self.failures.append(msg)
            else:
                print(f"  note: {msg}", flush=True)

    # -- peak RSS on the largest accepted documents and on hostile inputs ------------------------
    def run_memory(self) -> None:
        """One fresh samlfed process per input, one Create each; VmHWM after the answer. A peak at
        or over the template's MemorySize, or an unexpected verdict, fails the run.

        The events are the engine's Create and Update (``delivered_event``) with two properties
        set as the template renders them for other parameter values: ``Name`` = FederationName
        ``BenchMemory<n>`` (one provider per input) and ``MetadataUrl`` = the S3 URL of
        FederationFileVersion = the input's object version (each input is uploaded as a new
        version of the template's FederationFile), or MetadataHttpsUrl for the HTTPS stream."""
        impl = self.impls[0]
        s3 = self.client("s3", ENGINE_ACCOUNT)  # the metadata bucket's owner
        stream = ContinuationStream(self.workdir, total=210 * 1024 * 1024)
        try:
            doc = self.doc1
            nodes = MAX_XML_NODES - 1000  # the fixture's own nodes stay well inside the rest
            cases: list[tuple[MemoryRecord, str | bytes]] = [
                (MemoryRecord("largest accepted: 10,000,000 bytes, ASCII letters", MAX_DOCUMENT_BYTES, "SUCCESS", ""),
                 padded_to(doc, MAX_DOCUMENT_BYTES, "x")),
                (MemoryRecord("largest accepted: 10,000,000 bytes of '&' (IAM request x3, IAM answer x5)",
                              MAX_DOCUMENT_BYTES, "SUCCESS", ""),
                 padded_to(doc, MAX_DOCUMENT_BYTES, "&")),
                (MemoryRecord("largest accepted, as an Update: 10,000,000 bytes of '&' over the one above",
                              MAX_DOCUMENT_BYTES, "SUCCESS", "", update_of=1),
                 padded_to(doc.replace("</md:EntityDescriptor>", "<!-- v2 --></md:EntityDescriptor>"),
                           MAX_DOCUMENT_BYTES, "&")),
                (MemoryRecord(f"at the node bound: {nodes:,} extra elements", 0, "SUCCESS", ""),
                 with_before_end(doc, "<a/>" * nodes)),
                (MemoryRecord("HTTPS: 0x80 bytes, no Content-Length, 210 MB offered", stream.total, "FAILED",
                              "larger than IAM's limit"), ""),
                (MemoryRecord("node bomb: 10 MB of <a/> (2.5 million elements)", 0, "FAILED", "XML nodes"),
                 with_before_end(doc, "<a/>" * ((MAX_DOCUMENT_BYTES - len(doc) - 100) // 4))),
                (MemoryRecord("attribute bomb: 750,000 attributes on one element", 0, "FAILED",
                              "attributes on one element"),
                 with_before_end(doc, "<x" + "".join(f' a{i}=""' for i in range(750_000)) + "/>")),
                (MemoryRecord("entity bomb: billion laughs", 0, "FAILED", "DOCTYPE"),
                 '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">'
                 + "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
                 + "]>" + with_before_end(doc, "<x>&lol9;</x>").split("?>", 1)[-1]),
            ]
            urls: list[str] = []
            for n, (rec, body) in enumerate(cases):
                if rec.name.startswith("HTTPS"):
                    url = f"https://localhost:{stream.port}/metadata.xml"
                else:
                    data = body.encode() if isinstance(body, str) else body
                    rec.size = rec.size or len(data)
                    version = s3.put_object(Bucket=METADATA_BUCKET, Key=METADATA_KEY, Body=data)["VersionId"]
                    # The template's MetadataUrl for FederationFileVersion = version.
                    url = f"s3://{METADATA_BUCKET}/{METADATA_KEY}?versionId={version}"
                urls.append(url)
                name = f"BenchMemory{n if rec.update_of is None else rec.update_of}"
                old = None if rec.update_of is None else {"Name": name, "MetadataUrl": urls[rec.update_of]}
                self.memory_case(impl, rec, {"Name": name, "MetadataUrl": url}, stream, old)
                print(f"  memory: {rec.name}: {rec.status}, peak RSS "
                      f"{'-' if rec.vmhwm_kb is None else f'{rec.vmhwm_kb / 1024:.1f} MiB'}"
                      + (f", {rec.sent:,} bytes sent" if rec.sent is not None else ""), flush=True)
        finally:
            stream.stop()

    def memory_case(self, impl: Impl, rec: MemoryRecord, props: dict[str, str], stream: ContinuationStream,
                    old: dict[str, str] | None) -> None:
        """``props`` (and ``old``, for an Update) replace those properties in the engine's event."""
        api = TimedRuntimeApi(function_arn=impl.function_arn, default_timeout_s=MEMORY_INVOKE_TIMEOUT_S)
        api.start()
        self.started.api = api
        log = open(self.workdir / f"{impl.name}-memory.log", "ab")
        self.started.files.append(log)
        proc: subprocess.Popen | None = None
        try:
            env = self.env(impl, api, {"SAMLFED_TEST_CA_PEM": str(stream.ca_pem), "SAMLFED_TEST_ALLOW_LOOPBACK": "1",
                                       "SAMLFED_METADATA_TIMEOUT_MS": "30000"})
            event = self.event(impl, "Create" if old is None else "Update")
            event["ResourceProperties"].update(props)
            if old is not None:
                event["OldResourceProperties"].update(old)
                event["PhysicalResourceId"] = event["PhysicalResourceId"].rsplit("/", 1)[0] + "/" + props["Name"]
            proc = subprocess.Popen(impl.cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=self.workdir)
            api.pid = proc.pid
            self.started.bootstrap = proc
            self.record_operation(event)
            sent_before = stream.sent
            t = time.monotonic()
            try:
                api.invoke(event, timeout_s=MEMORY_INVOKE_TIMEOUT_S, process=proc, request_id=event["RequestId"])
            except (InvokeTimeout, FunctionExited) as exc:
                rec.reason = f"no answer: {exc}"
            rec.seconds = time.monotonic() - t
            api.wait_for_poll(timeout_s=10, process=proc)
            rec.vmhwm_kb = proc_status_kb(proc.pid, "VmHWM")
            if rec.name.startswith("HTTPS"):
                rec.sent = stream.sent - sent_before
            try:
                answer = json.loads(self.cfn_s3.get_object(Bucket=RESPONSE_BUCKET, Key=event["RequestId"])["Body"].read())
                rec.status, rec.reason = answer.get("Status"), answer.get("Reason")
            except Exception as exc:  # noqa: BLE001 - recorded as a failure below
                rec.reason = rec.reason or f"no readable response object: {exc!r}"
        finally:
            if proc is not None:
                demo.stop_process(proc, impl.name)
            self.started.bootstrap = None
            api.stop()
            self.started.api = None
        self.memory.append(rec)
        where = f"memory phase, {rec.name}"
        if rec.status != rec.expect or (rec.expect == "FAILED" and rec.phrase not in (rec.reason or "")):
            self.failures.append(f"{where}: expected {rec.expect} ({rec.phrase}), got {rec.status}: {rec.reason}")
        if rec.vmhwm_kb is None or rec.vmhwm_kb >= MEMORY_SIZE_MIB * 1024:
            self.failures.append(f"{where}: peak RSS {rec.vmhwm_kb} kB, the function has {MEMORY_SIZE_MIB} MiB")

    def memory_text(self) -> list[str]:
        """The memory phase as a table (markdown and terminal alike)."""
        if not self.memory:
            return []
        lines = [f"| input | size | answer | peak RSS (MiB) of {MEMORY_SIZE_MIB} | time (s) |",
                 "|---|---:|---|---:|---:|"]
        for r in self.memory:
            size = f"{r.size:,} B" if r.size else "-"
            if r.sent is not None:
                size += f" ({r.sent:,} B sent)"
            verdict = r.status or "none"
            if r.status == "FAILED" and r.reason:
                verdict += ": " + r.reason.split(": ", 1)[-1][:70] + ("..." if len(r.reason) > 70 else "")
            rss = "-" if r.vmhwm_kb is None else f"{r.vmhwm_kb / 1024:.1f}"
            lines.append(f"| {r.name} | {size} | {verdict} | {rss} | {fmt_ms(r.seconds)} |")
        return lines

    # -- the rounds ------------------------------------------------------------------------------
    def run(self) -> None:
        warm = ["Update", "Delete", "Create"] * self.args.warm_cycles
        deadline = time.monotonic() + self.args.max_seconds
        for r in range(1, self.args.rounds + 1):
            if time.monotonic() > deadline:
                print(f"  --max-seconds {self.args.max_seconds:g} reached: stopping after {r - 1} rounds", flush=True)
                break
            t = time.monotonic()
            for impl in self.impls:
                self.run_process(impl, r, 1, ["Create"] + warm)
                self.run_process(impl, r, 2, ["Update"])
                self.run_process(impl, r, 3, ["Delete"])
            self.rounds_done = r
            self.read_own_times()
            cold = "  ".join(
                f"{i.name} " + "/".join(fmt_ms(x.latency_ms()) for x in self.invocations
                                        if x.impl == i.name and x.round == r and x.cold)
                for i in self.impls)
            print(f"  round {r}/{self.args.rounds}: cold C/U/D ms  {cold}  ({time.monotonic() - t:.1f} s)", flush=True)

    def read_own_times(self) -> None:
        """samlfed logs each answer's split (``aws_ms``: SDK operations + the response PUT, timed in
        the process; ``own_ms``: the rest, from the event's arrival to its answer). Attach it to
        the records by RequestId. The baseline logs nothing of the kind."""
        by_id = {x.request_id: x for x in self.invocations}
        for impl in self.impls:
            path = self.workdir / f"{impl.name}.log"
            if impl.kind != "rust" or not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                fields = entry.get("fields", {}) if isinstance(entry, dict) else {}
                if fields.get("message") != "answered CloudFormation" or "own_ms" not in fields:
                    continue
                rec = by_id.get(entry.get("span", {}).get("request_id"))
                if rec is not None:
                    rec.own_ms = float(fields["own_ms"])


# ------------------------------------------------------------------------------------------------
# Sizes, facts, report
# ------------------------------------------------------------------------------------------------
def zip_bytes(files: dict[str, Path]) -> int:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, path in files.items():
            z.write(path, arcname)
    return len(buf.getvalue())


def vendored_boto3_zip_bytes() -> int | None:
    """Zip size of boto3 and what it imports, as they would be vendored into a function zip."""
    try:
        import boto3
    except ImportError:
        return None
    site = Path(boto3.__file__).resolve().parent.parent
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for pkg in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"):
            base = site / pkg
            paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
            for p in paths:
                if "__pycache__" not in p.parts:
                    z.write(p, p.relative_to(site))
    return len(buf.getvalue())


def newest_source_mtime() -> float:
    paths = [ROOT / "Cargo.toml", ROOT / "Cargo.lock", *(ROOT / "src").rglob("*.rs")]
    return max(p.stat().st_mtime for p in paths if p.exists())


def zip_sizes(args: argparse.Namespace, bootstrap: Path) -> dict[str, Any]:
    src_mtime = newest_source_mtime()
    out: dict[str, Any] = {"samlfed": {}, "notes": []}
    given = dict(spec.split("=", 1) for spec in args.zip)
    for arch in ("arm64", "x86_64"):
        z = ROOT / args.zip_dir / f"bootstrap-{arch}.zip"
        if arch in given:
            z = Path(given[arch]).resolve()
            st = z.stat()
            out["samlfed"][arch] = st.st_size
            out["notes"].append(f"samlfed {arch}: {z} ({st.st_size:,} bytes, given with --zip, made "
                                f"{dt.datetime.fromtimestamp(st.st_mtime):%Y-%m-%d %H:%M})")
        elif z.is_file():
            st = z.stat()
            stale = st.st_mtime < src_mtime
            out["samlfed"][arch] = st.st_size
            out["notes"].append(
                f"samlfed {arch}: {z.relative_to(ROOT)} ({st.st_size:,} bytes), built by `make build` at "
                f"{dt.datetime.fromtimestamp(st.st_mtime):%Y-%m-%d %H:%M}"
                + (" - OLDER than the newest Cargo.toml/Cargo.lock/src file: re-run `make build`" if stale else ""))
        else:
            out["samlfed"][arch] = None
            out["notes"].append(f"samlfed {arch}: no {args.zip_dir}/bootstrap-{arch}.zip "
                                "(run `make build`, or `make bench BENCH_BUILD_ZIPS=1`)")
    if platform.machine() in ("x86_64", "AMD64") and out["samlfed"]["x86_64"] is None and bootstrap.is_file():
        size = zip_bytes({"bootstrap": bootstrap})
        out["samlfed_native_x86_64"] = size
        out["notes"].append(f"samlfed x86_64 (stand-in): {bootstrap.relative_to(ROOT) if bootstrap.is_relative_to(ROOT) else bootstrap} "
                            f"(native host build, not the glibc {os.environ.get('GLIBC', '2.26')} cross build) "
                            f"zipped by the bench: {size:,} bytes")
    out["baseline"] = zip_bytes({"handler.py": BENCH / "baseline" / "handler.py",
                                 "bootstrap.py": BENCH / "baseline" / "bootstrap.py"})
    out["baseline_vendored_boto3"] = vendored_boto3_zip_bytes()
    return out


def _cert_dir_entries() -> int:
    try:
        return len(os.listdir("/etc/ssl/certs"))
    except OSError:
        return 0


def machine_facts() -> dict[str, str]:
    model, mhz = "", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("cpu MHz") and not mhz:
                mhz = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = ""
    try:
        m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB" if m else ""
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "cpu": model + (f" ({float(mhz):.0f} MHz)" if mhz else ""),
        "memory": mem,
        "kernel": platform.release(),
        "arch": platform.machine(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def tool_versions(args: argparse.Namespace) -> dict[str, str]:
    import boto3
    import botocore
    import moto

    cargo_lambda = ROOT / ".venv" / "bin" / "cargo-lambda"
    return {
        "rustc": run_cmd(["rustc", "-V"]),
        "cargo": run_cmd(["cargo", "-V"]),
        "cargo-lambda": run_cmd([str(cargo_lambda), "lambda", "--version"]) if cargo_lambda.exists() else "(not installed)",
        "python (runner, baseline)": f"{platform.python_implementation()} {platform.python_version()} ({args.python})",
        "boto3 / botocore": f"{boto3.__version__} / {botocore.__version__}",
        "moto": moto.__version__,
    }


def release_profile() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    m = re.search(r"^\[profile\.release\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    return ("[profile.release]\n" + m.group(1).strip()) if m else "(no [profile.release])"


class Report:
    def __init__(self, bench: Bench, sizes: dict[str, Any], args: argparse.Namespace) -> None:
        self.b = bench
        self.sizes = sizes
        self.args = args
        self.a = bench.impls[0].name
        self.bname = bench.impls[1].name if len(bench.impls) > 1 else None

    def lat(self, impl: str, rtype: str | None, cold: bool) -> list[float]:
        return [x.latency_ms() for x in self.b.invocations
                if x.impl == impl and x.cold == cold and (rtype is None or x.request_type == rtype)
                and x.latency_ms() is not None]

    def warm(self, impl: str) -> list[InvocationRecord]:
        return [x for x in self.b.invocations if x.impl == impl and not x.cold and x.latency_ms() is not None]

    def metrics(self, impl: str) -> dict[str, Any]:
        m: dict[str, Any] = {}
        for t in TYPES:
            m[f"cold_{t}"] = self.lat(impl, t, True)
            m[f"warm_{t}"] = self.lat(impl, t, False)
        procs = [p for p in self.b.processes if p.impl == impl]
        m["init"] = [p.init_ms for p in procs if p.init_ms is not None]
        m["cold_cpu"] = [p.cold_cpu_ms for p in procs if p.cold_cpu_ms is not None]
        m["init_cpu"] = [p.init_cpu_ms for p in procs if p.init_cpu_ms is not None]
        m["rss"] = [p.vmhwm_kb / 1024 for p in procs if p.process == 1 and p.vmhwm_kb]
        warm = self.warm(impl)
        m["warm_all"] = [x.latency_ms() for x in warm]
        m["cpu"] = [x.cpu_ns / 1e6 for x in warm if x.cpu_ns is not None]
        m["own"] = [x.own_ms for x in warm if x.own_ms is not None]
        m["residual"] = [x.latency_ms() - x.aws_s * 1000 for x in warm]
        m["aws"] = [x.aws_s * 1000 for x in warm]
        for t in TYPES:
            seqs = {tuple(x.calls) for x in self.b.invocations if x.impl == impl and x.request_type == t}
            m[f"calls_{t}"] = sorted(seqs)
        return m

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """(metric, A, B, A/B, target) rows."""
        A = self.metrics(self.a)
        B = self.metrics(self.bname) if self.bname else None
        rows = []

        def add(label: str, key: str, target: str = "", fmt=fmt_ms, ratio_target: float | None = None) -> None:
            a = med(A[key])
            b = med(B[key]) if B else None
            verdict = target
            if ratio_target is not None and a is not None and b:
                verdict = f"{target} {'met' if a / b <= ratio_target else 'MISSED'}"
            rows.append((label, fmt(a), fmt(b) if B else "", fmt_ratio(a, b) if B else "", verdict))

        for t in TYPES:
            add(f"cold start {t} (ms)", f"cold_{t}", "A/B <= 0.125", ratio_target=TARGETS["cold"])
        add("  of which init: exec -> first /next (ms)", "init")
        add("  CPU: exec -> first /next (ms)", "init_cpu")
        add("  CPU: exec -> end of first event (ms)", "cold_cpu")
        for t in TYPES:
            add(f"warm invoke {t} (ms)", f"warm_{t}")
        add("peak RSS, VmHWM (MiB)", "rss", "A/B <= 0.33", ratio_target=TARGETS["rss"])
        a_own = med(A["own"])
        add("handler overhead beyond the AWS calls (ms)", "own",
            "A < 1 ms " + ("-" if a_own is None else ("met" if a_own < TARGETS["overhead_ms"] else "MISSED")))
        add("CPU per warm request, whole process (ms)", "cpu")
        add("  wall residual: warm - emulator time (ms)", "residual", "(upper bound)")
        add("  emulator time of its calls + PUT (ms)", "aws")

        def mb(x: int | None) -> str:
            return "-" if x is None else (f"{x / 1e6:.2f} MB" if x >= 100_000 else f"{x / 1e3:.1f} kB")

        base = self.sizes["baseline"]
        for arch in ("arm64", "x86_64"):
            a = self.sizes["samlfed"].get(arch)
            label = f"zip {arch}"
            if a is None and arch == "x86_64" and self.sizes.get("samlfed_native_x86_64"):
                a = self.sizes["samlfed_native_x86_64"]
                label += " (native build, see notes)"
            target = ""
            if arch == "arm64":
                target = "A <= 3.5 MiB " + ("-" if a is None else ("met" if a <= TARGETS["zip_arm64"] else "MISSED"))
            rows.append((label, mb(a), mb(base) if B else "", fmt_ratio(a, base) if (B and a) else "", target))
        for t in TYPES:
            a = A[f"calls_{t}"]
            b = B[f"calls_{t}"] if B else []
            ok = a == [tuple(SAMLFED_MINIMUM[t])]
            rows.append((f"AWS calls {t}", "/".join(str(len(s)) for s in a) or "-",
                         "/".join(str(len(s)) for s in b) if B else "", "",
                         f"= {len(SAMLFED_MINIMUM[t])} {'ok' if ok else 'MISMATCH'}"))
        return rows

    def table(self, markdown: bool) -> str:
        head = ("metric", f"A {self.a}", f"B {self.bname}" if self.bname else "", "A/B", "target")
        rows = [head, *self.rows()]
        if markdown:
            lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---:", "---:", "---:", "---"]) + "|"]
            lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
            return "\n".join(lines)
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        out = []
        for n, r in enumerate(rows):
            out.append("  ".join(r[i].ljust(widths[i]) if i in (0, 4) else r[i].rjust(widths[i]) for i in range(5)))
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)

    def calls_text(self) -> list[str]:
        lines = []
        for impl in self.b.impls:
            m = self.metrics(impl.name)
            for t in TYPES:
                seqs = m[f"calls_{t}"]
                want = tuple(impl.expected[t])
                flag = "" if seqs == [want] else ("  <-- MISMATCH with the minimum" if impl.check_minimum else "  <-- differs")
                lines.append(f"{impl.name} {t}: " + " | ".join(", ".join(s) for s in seqs) + flag)
        return lines

    def json(self) -> dict[str, Any]:
        return {
            "metrics": {i.name: self.metrics(i.name) for i in self.b.impls},
            "sizes": self.sizes,
            "failures": self.b.failures,
            "rounds": self.b.rounds_done,
        }


def memory_section(b: Bench) -> list[str]:
    """results.md's part on the memory phase: the table and what it means."""
    if not b.memory:
        return []
    return [
        f"## Peak RSS on the largest accepted documents and on hostile inputs (MemorySize {MEMORY_SIZE_MIB} MB)",
        "",
        *b.memory_text(),
        "",
        "One fresh samlfed process per input, one Create or Update (S3, or HTTPS from a local server for the "
        "stream); "
        "`VmHWM` after the answer. The fetch reads at most 10,000,000 bytes (IAM's 10,000,000-character limit "
        "counted in bytes, src/metadata/mod.rs) and the parse at most 100,000 XML nodes, 100,000 attributes "
        "(1,000 on one element) and 1,000 namespace declarations (src/metadata/validate/xml.rs). The accepted "
        "documents go on to IAM - Create: CreateSAMLProvider, then GetSAMLProvider, whose answer carries the "
        "document back; Update: GetSAMLProvider (the current document), then UpdateSAMLProvider - so their peak "
        "includes the SDK's request and response bodies.",
        "",
    ]


def write_results(path: Path, rep: Report, facts: dict[str, str], versions: dict[str, str], args: argparse.Namespace,
                  started: dt.datetime, elapsed: float, bootstrap: Path, facts_end: dict[str, str]) -> None:
    b = rep.b
    st = bootstrap.stat()
    commit = run_cmd(["git", "rev-parse", "--short", "HEAD"])
    dirty = run_cmd(["git", "status", "--porcelain", "--untracked-files=no", "--", "Cargo.toml", "Cargo.lock", "src"])
    n_warm = len(rep.warm(rep.a))
    lines = [
        "# `make bench` results",
        "",
        f"Written by `bench/run.py` on {started:%Y-%m-%d %H:%M} (local time), {b.rounds_done} rounds "
        f"(A B alternating), {elapsed:.0f} s. Medians; A/B < 1 means samlfed is smaller/faster.",
        "",
        rep.table(markdown=True),
        "",
        "## Machine and tools",
        "",
        f"- CPU: {facts['cpu']}, {facts['cores']} cores, {facts['memory']} RAM, {facts['arch']}, Linux {facts['kernel']}",
        f"- load average at start: {facts['load']}; at end: {facts_end['load']} (the machine is shared: "
        "other builds run at the same time, which is why A and B alternate)",
    ]
    lines += [f"- {k}: {v}" for k, v in versions.items()]
    lines += [
        f"- samlfed binary: `{bootstrap.relative_to(ROOT) if bootstrap.is_relative_to(ROOT) else bootstrap}`, "
        f"{st.st_size:,} bytes, built {dt.datetime.fromtimestamp(st.st_mtime):%Y-%m-%d %H:%M}, "
        f"git {commit}{' with uncommitted changes in Cargo.toml/Cargo.lock/src' if dirty else ''}",
        "",
        "```toml",
        release_profile(),
        "```",
        "",
        "## Commands",
        "",
        "```sh",
        "make bench" + (f" BENCH_ROUNDS={args.rounds}" if args.rounds != 5 else ""),
        "# which runs:",
        " ".join(shlex.quote(a) for a in [os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else sys.executable,
                                            os.path.relpath(__file__, ROOT), *sys.argv[1:]]),
        "```",
        "",
        "## Zip sizes",
        "",
    ]
    lines += [f"- {n}" for n in rep.sizes["notes"]]
    lines.append(f"- baseline: handler.py + bootstrap.py zipped by the bench: {rep.sizes['baseline']:,} bytes; boto3 "
                 "comes with Lambda's Python runtime and is not in the zip"
                 + (f" (vendored boto3 + botocore + deps would add {rep.sizes['baseline_vendored_boto3'] / 1e6:.1f} MB zipped)"
                    if rep.sizes.get("baseline_vendored_boto3") else ""))
    lines += [
        "",
        "## AWS calls per event (emulator call log, the function's access key)",
        "",
        "```",
        *rep.calls_text(),
        "```",
        "",
        "samlfed's minimum (docs/resources.md, src/resources/saml_provider.rs): each request first asks "
        "DescribeStackResource (the origin check: did CloudFormation send it?); then Create = GetObject, "
        "CreateSAMLProvider, GetSAMLProvider (for the Uuid); Update with new metadata = GetObject, GetSAMLProvider "
        "(ownership, current document and tags), UpdateSAMLProvider; Delete = GetSAMLProvider (ownership), "
        "DeleteSAMLProvider. The baseline makes fewer because it checks nothing (see bench/baseline/handler.py).",
        "",
        *memory_section(b),
        "## What is measured",
        "",
        f"Per round and implementation: process 1 gets Create cold, then {args.warm_cycles} x (Update, Delete, Create) "
        "warm; process 2 gets Update cold (metadata v1 -> v2, same Name); process 3 gets Delete cold. "
        f"Samples: {b.rounds_done} per cold figure, {n_warm} warm events per implementation.",
        "",
        "- **cold start**: CLOCK_MONOTONIC just before `subprocess.Popen` of the function -> the emulator has stored "
        "the CloudFormation response and written its HTTP answer (`t1` of the response PUT in "
        "`bench/timed_emulator.py`). The event is queued at the Runtime API right after exec, as Lambda has it "
        "waiting. *init* is exec -> the first `/invocation/next` poll.",
        "- **warm invoke**: the Runtime API hands out the event -> the response PUT's `t1`.",
        "- **the events**: the emulator's CloudFormation engine rendered them from `templates/saml-federation.yaml` "
        "(set-up: CreateStack with the provider only and FederationFileVersion = v1, UpdateStack to v2, DeleteStack; "
        "`GET /_samlfed/cfn-requests`). Each delivery is the engine's Custom::SAMLProvider request with only "
        "RequestId (fresh), ResponseURL (the bench's presigned S3 PUT), ServiceToken (top level and in the "
        "properties: the implementation's function), StackId and PhysicalResourceId (the engine's, in the "
        "implementation's account) replaced; the properties, MetadataUrl included, are the engine's, the same for "
        "both (`delivered_event` in bench/run.py). The baseline ignores the properties it does not implement "
        "(ServiceTimeout, AdoptExisting; see bench/baseline/handler.py).",
        "- **origin check: on.** samlfed's DescribeStackResource is answered from the emulator's record of the "
        "operation, which the bench writes before each delivery (`POST /_samlfed/cfn-operations`), as CloudFormation's "
        "record would show it during the request; the call is part of every samlfed figure.",
        "- **the function's environment**: `lambda_local.function_environment` (the emulator's Lambda), from the "
        "configuration the template gave the engine's function (MemorySize, Timeout, LoggingConfig), with the "
        "implementation's name, ARN and account (each its own 12-digit access key) and empty AWS config files.",
        "- **peak RSS**: `VmHWM` of process 1 after its last event.",
        "- **handler overhead beyond the AWS calls**: from samlfed's own log line for each answer "
        "(`own_ms`, `src/timing.rs`): the time from the event's arrival in the handler to its answer, minus the "
        "time spent in AWS calls, measured in the process: every SDK operation whole (an interceptor from before "
        "serialisation to after parsing: signing, HTTP, retries) and the response PUT. What remains is samlfed's "
        "own work: event parsing, validation of properties and metadata (XML, X.509, SHA-256), reading the S3 "
        "body, building the answer, logs. This is the figure held against the < 1 ms target. The baseline has no "
        "such log (n/a).",
        "- **CPU per warm request, whole process**: CPU time of the function's process (all threads, "
        "`/proc/<pid>/task/*/schedstat`) from idle in `/next` to idle in `/next` again: the overhead above plus "
        "the client side of the AWS calls (SigV4, HTTP, TCP on loopback, which the kernel charges to the sender) "
        "and the Lambda runtime client.",
        "- **wall residual**: warm invoke - the emulator-side time (`t0`->`t1`) of the function's calls and its "
        "response PUT; an upper bound of the same overhead, as it also holds loopback transit and the emulator's "
        "HTTP parsing before `t0`.",
        "- The baseline runs under `bench/baseline/bootstrap.py`, a minimal runtime loop that does less than Lambda's "
        "own Python runtime (awslambdaric), with the same interpreter as the runner and `PYTHONDONTWRITEBYTECODE=1` "
        "(Lambda's /var/task is read-only). boto3's own modules are pre-compiled in the venv.",
        "- The emulator (moto in Python) is the same for both and dominates warm latency; on AWS, IAM calls take "
        "tens to hundreds of ms, so warm latency there is AWS's, not the handler's.",
        "- The emulator's HTTP server (werkzeug) closes the connection after every answer, so each AWS call and each "
        "response PUT opens a new TCP connection, for both implementations (on AWS, connections are kept alive but "
        "need TLS). On loopback the kernel's TCP work for both ends runs in the sender's context, so it is part of "
        "the function's CPU figures.",
        f"- TLS root certificates: the Rust SDK's HTTP client and reqwest each load the system roots at init "
        f"(rustls-native-certs: the bundle file and every file in /etc/ssl/certs, {_cert_dir_entries()} entries on "
        "this machine; provided.al2 has a handful). That walk is part of samlfed's init CPU here.",
        "",
        "## Raw samples (ms; RSS in MiB)",
        "",
        "```",
    ]
    for impl in b.impls:
        m = rep.metrics(impl.name)
        for key in [*(f"cold_{t}" for t in TYPES), "init", "init_cpu", "cold_cpu", *(f"warm_{t}" for t in TYPES), "rss", "own", "cpu", "residual"]:
            lines.append(f"{impl.name:9} {key:12} " + " ".join(fmt_ms(x) for x in m[key]))
    lines += ["```", ""]
    if b.failures:
        lines += ["## FAILURES", "", *[f"- {f}" for f in b.failures], ""]
    path.write_text("\n".join(lines))


# ------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="A B rounds (default 5)")
    p.add_argument("--warm-cycles", type=int, default=2, help="warm (Update, Delete, Create) cycles in process 1")
    p.add_argument("--bootstrap", type=Path, default=ROOT / "target" / "release" / "bootstrap")
    p.add_argument("--impl", action="append", default=[], metavar="NAME=PATH",
                   help="extra Rust bootstrap binaries to alternate with (tuning); the first one is A")
    p.add_argument("--no-baseline", action="store_true", help="only the Rust binaries (tuning runs)")
    p.add_argument("--wrap-rust", default="", metavar="CMD",
                   help="profiling aid: run the Rust binaries under CMD (e.g. 'perf record -g -o F --'); "
                        "RSS and CPU figures then describe CMD's process, not the function's")
    p.add_argument("--env", action="append", default=[], metavar="K=V",
                   help="experiments: extra environment for every function process (the FunctionSpec's "
                        "environment, like Environment.Variables: a name Lambda reserves needs "
                        "LOCAL_LAMBDA_SET_<NAME>=V, see tools/lambda_local.py)")
    p.add_argument("--python", default=sys.executable, help="interpreter for the baseline (needs boto3)")
    p.add_argument("--zip-dir", default="build")
    p.add_argument("--zip", action="append", default=[], metavar="ARCH=PATH",
                   help="take samlfed's zip for ARCH (arm64, x86_64) from PATH instead of --zip-dir")
    p.add_argument("--results", default=str(BENCH / "results.md"), help="'' = do not write")
    p.add_argument("--json", type=Path, default=None, help="also write all metrics as JSON here")
    p.add_argument("--max-seconds", type=float, default=420, help="start no new round after this long")
    p.add_argument("--no-memory", action="store_true",
                   help="skip the peak-RSS phase (largest accepted documents, hostile inputs)")
    p.add_argument("--memory-only", action="store_true",
                   help="only the peak-RSS phase: no rounds, no baseline, results.md left alone")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")

    bootstrap = args.bootstrap.resolve()
    if not (bootstrap.is_file() and os.access(bootstrap, os.X_OK)):
        print(f"bench: no executable at {bootstrap}; `make target/release/bootstrap` builds it", file=sys.stderr)
        return 2
    wrap = shlex.split(args.wrap_rust)
    impls = [Impl("samlfed", "rust", [*wrap, str(bootstrap)], "111111111111", SAMLFED_MINIMUM, True)]
    for n, spec in enumerate(args.impl):
        name, _, path = spec.partition("=")
        impls.append(Impl(name, "rust", [*wrap, str(Path(path).resolve())], f"{300000000000 + n:012d}",
                          SAMLFED_MINIMUM, True))
    if args.memory_only:
        args.no_baseline, args.results = True, ""
    if not args.no_baseline:
        impls.insert(1, Impl("baseline", "python", [args.python, str(BENCH / "baseline" / "bootstrap.py")],
                             "222222222222", BASELINE_CALLS, False))

    workdir = demo.isolated_workdir("samlfed-bench-")

    def on_sigterm(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_sigterm)
    started = dt.datetime.now()
    t0 = time.monotonic()
    facts = machine_facts()
    print(f"bench: {', '.join(i.name for i in impls)}; {args.rounds} rounds; logs in {workdir}", flush=True)
    print(f"bench: {facts['cpu']}, {facts['cores']} cores, load {facts['load']}", flush=True)
    bench = Bench(args, impls, workdir)
    code = 0
    try:
        bench.setup()
        if not args.memory_only:
            bench.run()
        if not args.no_memory:
            bench.run_memory()
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping what it started", file=sys.stderr)
        code = 130
    except (BenchError, demo.DemoError) as exc:
        print(f"\nbench: {exc} (logs in {workdir})", file=sys.stderr)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.stop()
    if args.memory_only:
        print("\n" + "\n".join(bench.memory_text()))
        for f in bench.failures:
            print(f"!!! {f}", file=sys.stderr)
        return code or (1 if bench.failures or not bench.memory else 0)
    if bench.rounds_done == 0:
        return code or 1

    sizes = zip_sizes(args, bootstrap) if not args.no_baseline else {"samlfed": {}, "notes": [], "baseline": 0}
    rep = Report(bench, sizes, args)
    print()
    print(rep.table(markdown=False))
    print()
    for line in rep.calls_text():
        print("  " + line)
    if bench.memory:
        print("\n" + "\n".join(bench.memory_text()))
    for n in sizes["notes"]:
        print("  " + n)
    if args.json:
        args.json.write_text(json.dumps(rep.json(), indent=1, default=str))
    if args.results and not args.no_baseline:
        results = Path(args.results).resolve()
        write_results(results, rep, facts, tool_versions(args), args, started, time.monotonic() - t0,
                      bootstrap, machine_facts())
        print(f"\nbench: wrote {results.relative_to(ROOT) if results.is_relative_to(ROOT) else results}")
    if bench.failures:
        print("\n" + "!" * 100, file=sys.stderr)
        for f in bench.failures:
            print(f"!!! {f}", file=sys.stderr)
        print("!" * 100, file=sys.stderr)
        code = code or 1
    print(f"bench: {time.monotonic() - t0:.0f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
