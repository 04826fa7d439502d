"""Tests for tools/runtime_api.py and tools/demo.py.

    .venv/bin/python -m pytest tools/test_demo.py

The Runtime API (which the emulator's Lambda runs every function through) is tested against a tiny
fake function: a Python thread doing what a Lambda runtime client does (GET /next, then POST
/response or /error) with urllib. The demo's helpers are tested as pure functions: the parameters
it deploys the template with (checked against the template's own constraints), the forged events
it writes by hand (in CloudFormation's string-only shape), how it tells the function's calls from
its own in the emulator's call log and the function's lines in the emulator's log. The end-to-end
test runs tools/demo.py (the template through the emulator's CloudFormation engine, the real
bootstrap) and is skipped when no bootstrap is built (neither target/release/bootstrap nor
target/debug/bootstrap exists).
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo  # noqa: E402
from runtime_api import DEFAULT_FUNCTION_ARN, FunctionExited, InvokeTimeout, RuntimeApi  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "/2018-06-01/runtime"


class FakeFunction:
    """A Lambda runtime loop in a thread: ``handler(event, headers)`` returns ``("response", obj)``
    or ``("error", obj)``. Every HTTP call has a timeout; ``stop`` ends the loop."""

    def __init__(self, address: str, handler: Callable[[Any, dict[str, str]], tuple[str, Any]]) -> None:
        self.base = f"http://{address}{PREFIX}"
        self.handler = handler
        self.stopping = threading.Event()
        self.seen: list[tuple[Any, dict[str, str]]] = []
        self.post_statuses: list[int] = []
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> "FakeFunction":
        self.thread.start()
        return self

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                with urllib.request.urlopen(f"{self.base}/invocation/next", timeout=10) as r:
                    headers = {k.lower(): v for k, v in r.headers.items()}
                    event = json.loads(r.read())
            except (urllib.error.URLError, OSError, ValueError):
                return  # the API stopped
            self.seen.append((event, headers))
            kind, body = self.handler(event, headers)
            req = urllib.request.Request(
                f"{self.base}/invocation/{headers['lambda-runtime-aws-request-id']}/{kind}",
                data=json.dumps(body).encode(),
                method="POST",
                headers={"Lambda-Runtime-Function-Error-Type": "Unhandled"} if kind == "error" else {},
            )
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    self.post_statuses.append(r.status)
            except urllib.error.HTTPError as e:
                self.post_statuses.append(e.code)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)


@pytest.fixture
def api() -> Iterator[RuntimeApi]:
    api = RuntimeApi(default_timeout_s=10)
    api.start()
    try:
        yield api
    finally:
        api.stop()


def echo(event: Any, headers: dict[str, str]) -> tuple[str, Any]:
    if isinstance(event, dict) and event.get("fail"):
        return "error", {"errorType": "Boom", "errorMessage": "asked to fail"}
    return "response", {"echo": event}


def test_invoke_delivers_the_event_and_returns_the_response(api: RuntimeApi) -> None:
    fn = FakeFunction(api.address, echo).start()
    try:
        assert api.wait_for_poll(timeout_s=5)
        before = time.time()
        result = api.invoke({"hello": "world"}, timeout_s=7)
        assert result.kind == "response"
        assert result.body == {"echo": {"hello": "world"}}
        event, headers = fn.seen[0]
        assert event == {"hello": "world"}
        assert headers["lambda-runtime-aws-request-id"] == result.request_id
        assert headers["lambda-runtime-invoked-function-arn"] == DEFAULT_FUNCTION_ARN
        assert headers["lambda-runtime-trace-id"].startswith("Root=1-")
        assert headers["content-type"] == "application/json"
        deadline_s = int(headers["lambda-runtime-deadline-ms"]) / 1000
        assert before + 6 <= deadline_s <= time.time() + 7.5
        end = time.monotonic() + 2  # invoke returns as the POST arrives, before its 202 is read
        while not fn.post_statuses and time.monotonic() < end:
            time.sleep(0.01)
        assert fn.post_statuses == [202]
    finally:
        fn.stop()


def test_errors_and_several_invocations_in_order(api: RuntimeApi) -> None:
    fn = FakeFunction(api.address, echo).start()
    try:
        results = [api.invoke({"n": i, "fail": i == 1}, timeout_s=5) for i in range(3)]
        assert [r.kind for r in results] == ["response", "error", "response"]
        assert results[1].body == {"errorType": "Boom", "errorMessage": "asked to fail"}
        assert results[1].error_type == "Unhandled"
        assert [e["n"] for e, _ in fn.seen] == [0, 1, 2]
        assert len({r.request_id for r in results}) == 3
    finally:
        fn.stop()


def test_invoke_is_bounded_when_nobody_answers(api: RuntimeApi) -> None:
    start = time.monotonic()
    with pytest.raises(InvokeTimeout):
        api.invoke({"x": 1}, timeout_s=0.3, grace_s=0.2)
    assert time.monotonic() - start < 3
    # The abandoned event is not served to a function that starts polling later.
    fn = FakeFunction(api.address, echo).start()
    try:
        assert api.invoke({"x": 2}, timeout_s=5).body == {"echo": {"x": 2}}
        assert [e for e, _ in fn.seen] == [{"x": 2}]
    finally:
        fn.stop()


def test_invoke_ends_when_the_process_has_exited(api: RuntimeApi) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=10)
    with pytest.raises(FunctionExited):
        api.invoke({}, timeout_s=30, process=proc)


def test_answers_for_unknown_ids_and_paths_are_refused(api: RuntimeApi) -> None:
    conn = http.client.HTTPConnection(*api.address.split(":"), timeout=5)
    try:
        conn.request("POST", f"{PREFIX}/invocation/no-such-id/response", body=b"{}")
        r = conn.getresponse()
        assert r.status == 400 and json.loads(r.read())["errorType"] == "InvalidRequestID"
        conn.request("GET", "/2018-06-01/runtime/nope")
        r = conn.getresponse()
        assert r.status == 404
        r.read()
    finally:
        conn.close()


def test_init_error_is_kept_and_ends_a_waiting_invoke(api: RuntimeApi) -> None:
    req = urllib.request.Request(
        f"http://{api.address}{PREFIX}/init/error",
        data=json.dumps({"errorType": "Runtime.InitError", "errorMessage": "no config"}).encode(),
        headers={"Lambda-Runtime-Function-Error-Type": "Runtime.InitError"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 202
    assert api.init_error is not None
    assert api.init_error.body["errorMessage"] == "no config"
    assert api.init_error.error_type == "Runtime.InitError"
    assert api.wait_for_poll(timeout_s=1) is False
    with pytest.raises(FunctionExited):
        api.invoke({}, timeout_s=5)


def test_keep_alive_and_chunked_bodies_on_one_connection(api: RuntimeApi) -> None:
    """What hyper does: one connection for /next and the answer, bodies sized or chunked."""
    results: list[Any] = []
    t = threading.Thread(target=lambda: results.append(api.invoke({"a": 1}, timeout_s=5)), daemon=True)
    t.start()
    conn = http.client.HTTPConnection(*api.address.split(":"), timeout=5)
    try:
        conn.request("GET", f"{PREFIX}/invocation/next")
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Content-Length") and json.loads(r.read()) == {"a": 1}
        request_id = r.getheader("Lambda-Runtime-Aws-Request-Id")
        sock = conn.sock
        conn.request("POST", f"{PREFIX}/invocation/{request_id}/response",
                     body=iter([b'{"ok"', b": true}"]), encode_chunked=True)
        r = conn.getresponse()
        assert r.status == 202
        r.read()
        assert conn.sock is sock, "the connection was not kept alive"
    finally:
        conn.close()
    t.join(timeout=5)
    assert results and results[0].body == {"ok": True}


def test_stop_releases_a_blocked_poll() -> None:
    api = RuntimeApi().start()
    outcome: list[int] = []

    def poll() -> None:
        try:
            with urllib.request.urlopen(f"http://{api.address}{PREFIX}/invocation/next", timeout=10) as r:
                outcome.append(r.status)
        except urllib.error.HTTPError as e:
            outcome.append(e.code)
        except OSError:
            outcome.append(-1)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    assert api.wait_for_poll(timeout_s=5)
    start = time.monotonic()
    api.stop()
    t.join(timeout=5)
    assert not t.is_alive() and outcome and outcome[0] != 200
    assert time.monotonic() - start < 5


# ------------------------------------------------------------------------------------------------
# tools/demo.py helpers
# ------------------------------------------------------------------------------------------------
def _template() -> dict[str, Any]:
    """templates/saml-federation.yaml with its short-form intrinsics kept as plain values."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def any_tag(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.SequenceNode):
            return {tag: loader.construct_sequence(node, deep=True)}
        if isinstance(node, yaml.MappingNode):
            return {tag: loader.construct_mapping(node, deep=True)}
        return {tag: loader.construct_scalar(node)}

    Loader.add_multi_constructor("!", any_tag)
    return yaml.load(demo.TEMPLATE.read_text(), Loader=Loader)


def test_lambda_architecture_follows_the_machine() -> None:
    assert demo.lambda_architecture("x86_64") == "x86_64"
    assert demo.lambda_architecture("AMD64") == "x86_64"
    assert demo.lambda_architecture("aarch64") == "arm64"
    assert demo.lambda_architecture("arm64") == "arm64"
    with pytest.raises(ValueError):
        demo.lambda_architecture("riscv64")


@pytest.mark.parametrize("previous,version", [("", ""), ("DemoIdP", "3f1c0e8a-0b7e-4d1c-9a55-0d9c0f6b2a11")])
def test_stack_parameters_meet_the_templates_constraints(previous: str, version: str) -> None:
    import re

    declared = _template()["Parameters"]
    given = {p["ParameterKey"]: p["ParameterValue"]
             for p in demo.stack_parameters("arm64", "DemoIdP-v2", previous_name=previous, version=version)}
    assert set(given) <= set(declared), set(given) - set(declared)
    # Every parameter without a Default is given; FederationFile keeps its Default, which is
    # where the demo uploads the metadata.
    assert {k for k, v in declared.items() if "Default" not in v} <= set(given)
    assert "FederationFile" not in given and declared["FederationFile"]["Default"] == demo.METADATA_KEY
    for key, value in given.items():
        slot = declared[key]
        if "AllowedPattern" in slot:
            assert re.fullmatch(slot["AllowedPattern"], value, re.ASCII), (key, value)
        if "AllowedValues" in slot:
            assert value in [str(v) for v in slot["AllowedValues"]], (key, value)
    assert given["CodeKey"] == "samlfed/bootstrap-arm64.zip" and given["Architecture"] == "arm64"
    assert given["RefreshSchedule"] == demo.REFRESH_SCHEDULE and given["RoleName"] == demo.ROLE_NAME
    assert (given["PreviousFederationName"], given["FederationFileVersion"]) == (previous, version)


def test_stack_parameters_of_the_bench_turn_the_role_and_the_refresh_off() -> None:
    """bench/run.py deploys the provider only: RoleName and RefreshSchedule empty (the template's
    HasRole and HasRefreshSchedule false), its own buckets; still within the constraints."""
    import re

    declared = _template()["Parameters"]
    given = {p["ParameterKey"]: p["ParameterValue"]
             for p in demo.stack_parameters("x86_64", "BenchIdP", version="v2", role_name="", refresh_schedule="",
                                            federation_bucket="samlfed-bench-idp-metadata",
                                            code_bucket="samlfed-bench-code")}
    for key, value in given.items():
        if "AllowedPattern" in declared[key]:
            assert re.fullmatch(declared[key]["AllowedPattern"], value, re.ASCII), (key, value)
    assert (given["RoleName"], given["RefreshSchedule"]) == ("", "")
    assert (given["FederationBucket"], given["CodeBucket"]) == ("samlfed-bench-idp-metadata", "samlfed-bench-code")
    assert given["FederationFileVersion"] == "v2"


def test_the_template_gives_the_refresh_rule_and_the_outputs_the_demo_reads() -> None:
    resources, outputs = _template()["Resources"], _template()["Outputs"]
    assert resources["RefreshRule"]["Type"] == "AWS::Events::Rule"
    assert resources["SAMLProvider"]["Type"] == "Custom::SAMLProvider"
    assert resources["SAMLRole"]["Type"] == "Custom::SAMLRole"
    assert {"SAMLProviderArn", "SAMLProviderUuid", "IdentityCenterRoleAttribute", "FunctionArn"} <= set(outputs)


def _all_scalars(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _all_scalars(v)]
    if isinstance(value, list):
        return [s for v in value for s in _all_scalars(v)]
    return [value]


def test_forged_events_have_cloudformations_shape() -> None:
    fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1"
    event = demo.forged_event("Update", stack_id=stack, function_arn=fn, logical_id="SAMLRole",
                              resource_type="Custom::SAMLRole", response_url="https://example.com/r",
                              properties={"RoleName": "R", "MaxSessionDuration": 3600, "Enabled": True,
                                          "ManagedPolicyArns": ["a", "b"], "Skip": None},
                              old_properties={"RoleName": "R", "MaxSessionDuration": 7200},
                              physical_id="arn:aws:iam::123456789012:role/R", request_id="rid")
    assert all(isinstance(s, str) for s in _all_scalars(event)), event
    assert (event["ServiceToken"], event["ServiceTimeout"]) == (fn, "300")
    props = event["ResourceProperties"]
    assert (props["ServiceToken"], props["ServiceTimeout"]) == (fn, "300")
    assert props["MaxSessionDuration"] == "3600" and props["Enabled"] == "true"
    assert props["ManagedPolicyArns"] == ["a", "b"] and "Skip" not in props
    assert event["OldResourceProperties"]["MaxSessionDuration"] == "7200"
    assert event["OldResourceProperties"]["ServiceTimeout"] == "300"
    assert (event["RequestId"], event["StackId"], event["LogicalResourceId"]) == ("rid", stack, "SAMLRole")
    assert event["PhysicalResourceId"] == "arn:aws:iam::123456789012:role/R"

    create = demo.forged_event("Create", stack_id=stack, function_arn=fn, logical_id="SAMLProvider",
                               resource_type="Custom::SAMLProvider", response_url=demo.IMDS_URL,
                               properties={"Name": "X"})
    assert "PhysicalResourceId" not in create and "OldResourceProperties" not in create
    assert create["RequestId"] and create["ResponseURL"] == demo.IMDS_URL


def test_function_calls_leave_out_the_demos_own() -> None:
    calls = [
        {"service": "cloudformation", "action": "DescribeStacks", "access_key": demo.INSPECTOR_KEY},
        {"service": "cloudformation", "action": "DescribeStackResource", "access_key": demo.ACCOUNT},
        {"service": "iam", "action": "CreateSAMLProvider", "access_key": demo.ACCOUNT},
        {"service": "cloudformation", "action": "CustomResourceResponse", "access_key": ""},
        {"service": "s3", "action": "PutObject", "access_key": demo.ATTACKER_KEY},  # a presigned PUT
        {"service": "awslambda", "action": "POST /2015-03-31/functions/f/invocations",
         "access_key": demo.INSPECTOR_KEY},
    ]
    assert demo.function_calls(calls) == [
        "cloudformation:DescribeStackResource", "iam:CreateSAMLProvider", "cloudformation:CustomResourceResponse",
        "s3:PutObject",
    ]


def test_function_log_lines_come_from_the_emulators_stderr() -> None:
    text = (
        "emulator: listening on http://127.0.0.1:1234\n"
        'lambda stack-Function-ABC: {"level":"INFO","fields":{"message":"created"}}\n'
        "emulator: lambda stack-Function-ABC: Sandbox.Timedout: too slow\n"
        "emulator: cloudformation: SAMLProvider Create r1: the function failed: x\n"
        "some other line\n"
    )
    assert demo.function_log_lines(text) == [
        ("stack-Function-ABC", '{"level":"INFO","fields":{"message":"created"}}'),
        ("emulator", "lambda stack-Function-ABC: Sandbox.Timedout: too slow"),
        ("emulator", "cloudformation: SAMLProvider Create r1: the function failed: x"),
    ]


def test_format_log_line_names_the_request() -> None:
    line = json.dumps({"level": "INFO", "fields": {"message": "created the provider", "arn": "A"},
                       "span": {"request_type": "Create", "logical_resource_id": "SAMLProvider", "name": "request"}})
    assert demo.format_log_line(line) == "INFO  [Create SAMLProvider] created the provider  [arn=A]"
    refresh = json.dumps({"level": "WARN", "fields": {"message": "m"}, "span": {"name": "refresh", "request_id": "r"}})
    assert demo.format_log_line(refresh) == "WARN  [refresh] m"
    emf = json.dumps({"_aws": {"CloudWatchMetrics": [{"Namespace": "samlfed", "Dimensions": [["ProviderName"]],
                                                      "Metrics": [{"Name": "Days", "Unit": "Count"}]}]},
                      "ProviderName": "P", "Days": 3.0})
    assert demo.format_log_line(emf) == "METRIC Days=3.0 Count  [EMF namespace=samlfed ProviderName=P]"
    assert demo.format_log_line("not json") == "not json"
    assert demo.format_log_line("[1, 2]") == "[1, 2]"


def test_credentials_in_log_lines_and_urls_are_noticed() -> None:
    assert demo.leaks_credential("PUT http://h/b/k?X-Amz-Signature=abc")
    assert demo.leaks_credential("url=http://h/cloudformation_us-east-1/cfnresponse?request=r&signature=s")
    assert not demo.leaks_credential("answered CloudFormation status=SUCCESS")
    assert demo.shown_url("http://h/b/k?X-Amz-Credential=x") == "http://h/b/k?…(presigned)"
    assert demo.shown_url("https://169.254.169.254/latest/") == "https://169.254.169.254/latest/"


def test_stack_events_in_order_and_by_kind() -> None:
    described = [  # DescribeStackEvents: newest first
        {"LogicalResourceId": "s", "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": "UPDATE_COMPLETE"},
        {"LogicalResourceId": "SAMLProvider", "ResourceType": "Custom::SAMLProvider",
         "ResourceStatus": "DELETE_COMPLETE", "PhysicalResourceId": "old"},
        {"LogicalResourceId": "s", "ResourceType": "AWS::CloudFormation::Stack",
         "ResourceStatus": "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"},
        {"LogicalResourceId": "Function", "ResourceType": "AWS::Lambda::Function", "ResourceStatus": "UPDATE_COMPLETE"},
        {"LogicalResourceId": "SAMLProvider", "ResourceType": "Custom::SAMLProvider",
         "ResourceStatus": "UPDATE_COMPLETE", "PhysicalResourceId": "new", "ResourceStatusReason": None},
    ]
    events = demo.stack_events(described)
    assert [e.status for e in events][0] == "UPDATE_COMPLETE" and events[0].physical_id == "new"
    assert events[0].reason == ""
    assert demo.custom_sequence(events) == [("SAMLProvider", "UPDATE_COMPLETE"), ("SAMLProvider", "DELETE_COMPLETE")]
    assert [e.stack for e in events] == [False, False, True, False, True]
    cleanup = demo.first_index(events, lambda e: e.stack and e.status.endswith("CLEANUP_IN_PROGRESS"))
    deleted = demo.first_index(events, lambda e: e.custom and e.status == "DELETE_COMPLETE")
    assert 0 < cleanup < deleted
    assert demo.first_index(events, lambda e: e.logical_id == "Nope") == -1


def test_trusted_providers_reads_federated_principals() -> None:
    trust = {"Statement": [{"Principal": {"Federated": "arn:aws:iam::1:saml-provider/A"}},
                           {"Principal": {"Federated": ["arn:aws:iam::1:saml-provider/B"]}},
                           {"Principal": {"Service": "lambda.amazonaws.com"}}]}
    assert demo.trusted_providers(trust) == ["A", "B"]
    assert demo.trusted_providers({"Statement": {"Principal": {"Service": "x"}}}) == []
    assert demo.trusted_providers(None) == []


def test_metadata_documents_carry_their_certificates() -> None:
    one, two = demo.make_certificate(days=1), demo.make_certificate(cn="evil.example.com", days=1)
    doc = demo.metadata_document([one, two], entity_id=demo.EVIL_ENTITY_ID)
    assert demo.signing_certificates(doc) == [one.b64, two.b64]
    assert f'entityID="{demo.EVIL_ENTITY_ID}"' in doc and "https://evil.example.com/saml/sso" in doc
    assert len(doc) >= 1000


def _bootstrap() -> Path | None:
    for profile in ("release", "debug"):
        candidate = ROOT / "target" / profile / "bootstrap"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.mark.skipif(
    _bootstrap() is None,
    reason="no bootstrap binary at target/release/bootstrap or target/debug/bootstrap; "
    "build one with `cargo build --bin bootstrap` to run the demo test",
)
def test_demo_runs_green_against_the_real_bootstrap() -> None:
    bootstrap = _bootstrap()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "demo.py"), "--bootstrap", str(bootstrap)],
        capture_output=True, text=True, timeout=150, cwd=ROOT,
    )
    stdout = proc.stdout
    assert proc.returncode == 0, f"demo failed ({proc.returncode}):\n{stdout[-6000:]}\n{proc.stderr[-3000:]}"
    failed_checks = [line for line in stdout.splitlines() if line.startswith("    FAIL  ")]
    assert not failed_checks, failed_checks
    assert stdout.count("    ok    ") >= 80, "the demo's checks ran"
    assert "result               ok" in stdout
    # The stack's life through the engine: created, updated, renamed (a cleanup phase), deleted.
    for status in ("CREATE_COMPLETE", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "DELETE_COMPLETE"):
        assert status in stdout, status
    assert "Requested update requires the creation of a new physical resource" in stdout
    # The Outputs' attribute for IAM Identity Center, before and after the rename.
    account = demo.ACCOUNT
    for name in (demo.FEDERATION_NAME, demo.NEW_FEDERATION_NAME):
        assert (f"arn:aws:iam::{account}:saml-provider/{name},arn:aws:iam::{account}:role/{demo.ROLE_NAME}"
                in stdout), name
    # Both refreshes: one applying rotated metadata, one finding nothing new.
    assert '"Changed": true' in stdout and '"Changed": false' in stdout
    # The forged events: refused whole; failed by the origin check.
    assert '"Status": "REFUSED"' in stdout
    assert "no CloudFormation operation on SAMLProvider is in progress" in stdout
    assert "\033[" not in stdout  # no colour when stdout is not a terminal
