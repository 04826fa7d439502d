"""Tests for tools/runtime_api.py and tools/demo.py.

    .venv/bin/python -m pytest tools/test_demo.py

The Runtime API is tested against a tiny fake function: a Python thread doing what a Lambda runtime
client does (GET /next, then POST /response or /error) with urllib. The demo test runs
tools/demo.py against the real bootstrap binary and is skipped when none is built (neither
target/release/bootstrap nor target/debug/bootstrap exists).
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
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, f"demo failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    assert proc.stdout.count("Status               SUCCESS") == 8
    assert "FAIL" not in proc.stdout
    # The role's attribute for IAM Identity Center, and both refreshes: one applying rotated
    # metadata, one finding nothing new.
    assert "IdentityCenterRoleAttribute" in proc.stdout
    assert '"Changed": true' in proc.stdout and '"Changed": false' in proc.stdout
    assert "\033[" not in proc.stdout  # no colour when stdout is not a terminal
