"""A minimal AWS Lambda Runtime API (2018-06-01) server, for running the real ``bootstrap`` locally.

Used by ``tools/demo.py`` and meant to be imported by other scripts (the benchmark, tests):

    from runtime_api import RuntimeApi

    api = RuntimeApi()             # function ARN, default timeout: see the constructor
    api.start()
    env["AWS_LAMBDA_RUNTIME_API"] = api.address        # "127.0.0.1:PORT"
    proc = subprocess.Popen(["target/release/bootstrap"], env=env)
    api.wait_for_poll(timeout_s=10, process=proc)      # the function finished its cold start
    result = api.invoke({"some": "event"}, timeout_s=30, process=proc)
    result.kind   # "response" or "error"
    result.body   # the JSON the function posted (decoded), or its raw text
    api.init_error                                     # an InitError, if the function posted one
    api.stop()

What it implements (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):

* ``GET  /2018-06-01/runtime/invocation/next`` — long poll: blocks until an event is queued, then
  200 with the JSON event and the headers ``Lambda-Runtime-Aws-Request-Id``,
  ``Lambda-Runtime-Deadline-Ms`` (epoch milliseconds), ``Lambda-Runtime-Invoked-Function-Arn`` and
  ``Lambda-Runtime-Trace-Id``.
* ``POST /2018-06-01/runtime/invocation/{id}/response`` and ``.../{id}/error`` — 202; an unknown
  or already answered id gets 400 (``InvalidRequestID``).
* ``POST /2018-06-01/runtime/init/error`` — 202; kept in :attr:`RuntimeApi.init_error`.

The server listens on 127.0.0.1 only, on a free port, one thread per connection, HTTP/1.1 with
keep-alive (every answer carries Content-Length; request bodies may be sized or chunked), which is
what the Rust runtime client (hyper, pooled connections) expects.

Not implemented: response streaming, the Extensions and Telemetry APIs, SnapStart's restore
endpoints, freezing the process between invocations, and killing it at the deadline — a timed-out
invocation raises :class:`InvokeTimeout` here and the caller decides what to do with the process.

Every wait is bounded: :meth:`RuntimeApi.invoke` waits at most ``timeout_s + grace_s``;
:meth:`RuntimeApi.wait_for_poll` at most ``timeout_s``; a blocked ``/next`` wakes up at least every
half second to notice :meth:`RuntimeApi.stop`; idle keep-alive connections are closed after
``idle_timeout_s``; ``stop`` waits at most a few seconds.
"""

from __future__ import annotations

import collections
import json
import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

__all__ = [
    "DEFAULT_FUNCTION_ARN",
    "InitError",
    "InvokeResult",
    "InvokeTimeout",
    "FunctionExited",
    "RuntimeApi",
]

DEFAULT_FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:samlfed"
PREFIX = "/2018-06-01/runtime"
MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit (6 MB)


class _Process(Protocol):
    """What :meth:`RuntimeApi.invoke` needs of a process (``subprocess.Popen`` fits)."""

    pid: int

    def poll(self) -> int | None: ...


@dataclass
class InvokeResult:
    """What the function posted for one invocation."""

    kind: str  # "response" or "error"
    body: Any  # decoded JSON, or the raw text when the body is not JSON
    raw: bytes
    request_id: str
    duration_s: float
    headers: dict[str, str] = field(default_factory=dict)  # the POST's headers, lower-case names

    @property
    def error_type(self) -> str | None:
        """``Lambda-Runtime-Function-Error-Type`` of an error, if the function sent one."""
        return self.headers.get("lambda-runtime-function-error-type")


@dataclass
class InitError:
    """What the function posted to ``/runtime/init/error``."""

    body: Any
    raw: bytes
    headers: dict[str, str]

    @property
    def error_type(self) -> str | None:
        return self.headers.get("lambda-runtime-function-error-type")


class InvokeTimeout(Exception):
    """The function did not answer an invocation within its timeout (plus grace)."""


class FunctionExited(Exception):
    """The function's process ended, or it reported an init error, while an invocation waited."""


@dataclass
class _Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    trace_id: str
    queued_at: float
    done: threading.Event = field(default_factory=threading.Event)
    result: InvokeResult | None = None


def _trace_id() -> str:
    """An X-Ray trace header as Lambda passes it: Root=1-<epoch hex>-<96 bits>;Parent=…;Sampled=0."""
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=0"


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


class RuntimeApi:
    """A Runtime API endpoint for one function, serving one invocation at a time in queue order.

    ``function_arn`` goes into ``Lambda-Runtime-Invoked-Function-Arn``; ``default_timeout_s`` is
    the function timeout used when :meth:`invoke` is not given one (Lambda's default is 3 s; 60 s
    suits CloudFormation custom resources); ``idle_timeout_s`` closes keep-alive connections on
    which nothing is sent for that long.
    """

    def __init__(
        self,
        function_arn: str = DEFAULT_FUNCTION_ARN,
        default_timeout_s: float = 60.0,
        idle_timeout_s: float = 300.0,
    ) -> None:
        self.function_arn = function_arn
        self.default_timeout_s = default_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self._lock = threading.Condition()
        self._queue: collections.deque[_Invocation] = collections.deque()
        self._in_flight: dict[str, _Invocation] = {}
        self._stopping = False
        self._pollers = 0
        self._polls_total = 0
        self._init_error: InitError | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "RuntimeApi":
        if self._server is not None:
            raise RuntimeError("RuntimeApi already started")
        api = self

        class Handler(_Handler):
            runtime = api
            timeout = api.idle_timeout_s  # socket timeout: idle keep-alive connections end

        server = _Server(("127.0.0.1", 0), Handler)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="runtime-api", daemon=True)
        self._thread.start()
        return self

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, the value for ``AWS_LAMBDA_RUNTIME_API``."""
        if self._server is None:
            raise RuntimeError("RuntimeApi not started")
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def stop(self) -> None:
        """Stops serving: blocked ``/next`` polls get a 500 (the process would be frozen or killed
        in Lambda), pending invocations fail with :class:`FunctionExited`, connections close."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._lock.notify_all()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()  # returns once serve_forever has left its loop (<= poll_interval)
            server.server_close()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "RuntimeApi":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------------
    @property
    def init_error(self) -> InitError | None:
        with self._lock:
            return self._init_error

    @property
    def pollers(self) -> int:
        """How many ``/next`` requests are blocked right now (1 when the function is idle)."""
        with self._lock:
            return self._pollers

    @property
    def polls_total(self) -> int:
        """How many ``/next`` requests have arrived since start."""
        with self._lock:
            return self._polls_total

    def wait_for_poll(self, timeout_s: float = 10.0, process: _Process | None = None) -> bool:
        """Waits until the function is blocked in ``/next`` (its cold start is over and it is
        ready for an event). False on timeout, init error, or when ``process`` has exited."""
        end = time.monotonic() + timeout_s
        with self._lock:
            while self._pollers == 0:
                if self._init_error is not None or self._stopping:
                    return False
                if process is not None and process.poll() is not None:
                    return False
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.1))
            return True

    # -- invoking --------------------------------------------------------------------------------
    def invoke(
        self,
        event: Any,
        timeout_s: float | None = None,
        grace_s: float = 2.0,
        process: _Process | None = None,
        request_id: str | None = None,
    ) -> InvokeResult:
        """Queues ``event`` (JSON-serialised) and waits for the function's response or error.

        ``timeout_s`` is the function timeout: it sets ``Lambda-Runtime-Deadline-Ms``, and the wait
        ends ``grace_s`` after the deadline with :class:`InvokeTimeout`. With ``process``, the wait
        also ends (:class:`FunctionExited`) as soon as that process has exited; an init error
        ends it too.
        """
        if self._server is None or self._stopping:
            raise RuntimeError("RuntimeApi is not running")
        timeout_s = self.default_timeout_s if timeout_s is None else timeout_s
        payload = json.dumps(event).encode()
        now = time.time()
        inv = _Invocation(
            request_id=request_id or str(uuid.uuid4()),
            payload=payload,
            deadline_ms=int((now + timeout_s) * 1000),
            trace_id=_trace_id(),
            queued_at=time.monotonic(),
        )
        with self._lock:
            self._queue.append(inv)
            self._lock.notify_all()
        end = time.monotonic() + timeout_s + grace_s
        try:
            while not inv.done.wait(0.05):
                if time.monotonic() >= end:
                    raise InvokeTimeout(
                        f"request {inv.request_id}: no response or error within {timeout_s:g} s (+{grace_s:g} s grace)"
                    )
                if process is not None and process.poll() is not None:
                    raise FunctionExited(
                        f"request {inv.request_id}: the function's process (pid {process.pid}) exited"
                        f" with status {process.poll()} before answering"
                    )
                init_error = self.init_error
                if init_error is not None:
                    raise FunctionExited(f"request {inv.request_id}: the function reported an init error: {init_error.body!r}")
                if self._stopping:
                    raise FunctionExited(f"request {inv.request_id}: the Runtime API was stopped")
        finally:
            with self._lock:  # a timed-out or abandoned invocation must not be served later
                if inv in self._queue:
                    self._queue.remove(inv)
                self._in_flight.pop(inv.request_id, None)
        assert inv.result is not None
        return inv.result

    # -- called by the handler -------------------------------------------------------------------
    def _next(self) -> _Invocation | None:
        """Blocks until an invocation is queued; None when stopping."""
        with self._lock:
            self._pollers += 1
            self._polls_total += 1
            self._lock.notify_all()
            try:
                while not self._queue:
                    if self._stopping:
                        return None
                    self._lock.wait(0.5)
                if self._stopping:
                    return None
                inv = self._queue.popleft()
                self._in_flight[inv.request_id] = inv
                return inv
            finally:
                self._pollers -= 1

    def _complete(self, request_id: str, kind: str, raw: bytes, headers: dict[str, str]) -> bool:
        with self._lock:
            inv = self._in_flight.pop(request_id, None)
        if inv is None:
            return False
        inv.result = InvokeResult(
            kind=kind,
            body=_decode(raw),
            raw=raw,
            request_id=request_id,
            duration_s=time.monotonic() - inv.queued_at,
            headers=headers,
        )
        inv.done.set()
        return True

    def _set_init_error(self, raw: bytes, headers: dict[str, str]) -> None:
        with self._lock:
            self._init_error = InitError(body=_decode(raw), raw=raw, headers=headers)
            self._lock.notify_all()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)


class _BodyError(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (the function was stopped mid-request) is not worth a
        traceback; anything else still gets one on stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server_version = "samlfed-runtime-api/1"
    runtime: RuntimeApi  # set on the subclass made by RuntimeApi.start

    def setup(self) -> None:
        super().setup()
        self.runtime._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.runtime._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by default
        pass

    # -- helpers ---------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def _send_error(self, status: int, error_type: str, message: str) -> None:
        self._send(status, json.dumps({"errorMessage": message, "errorType": error_type}).encode())

    def _read_body(self) -> bytes:
        """The request body, sized (Content-Length) or chunked; bounded by MAX_BODY_BYTES."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise _BodyError("connection closed inside a chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                        pass  # trailers (e.g. Lambda-Runtime-Function-Error-Type) are ignored
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise _BodyError("body larger than 6 MB")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)  # CRLF after the chunk
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise _BodyError("body larger than 6 MB")
        return self.rfile.read(length) if length > 0 else b""

    def _lower_headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    # -- endpoints -------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0] != f"{PREFIX}/invocation/next":
            self._send_error(404, "NotFound", f"no such endpoint: GET {self.path}")
            return
        inv = self.runtime._next()
        if inv is None:
            self.close_connection = True
            self._send_error(500, "ServiceStopping", "the Runtime API is stopping")
            return
        self._send(200, inv.payload, headers={
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.runtime.function_arn,
            "Lambda-Runtime-Trace-Id": inv.trace_id,
        })

    def do_POST(self) -> None:  # noqa: N802
        try:
            raw = self._read_body()
        except (_BodyError, ValueError) as exc:
            self.close_connection = True
            self._send_error(413 if "6 MB" in str(exc) else 400, "InvalidRequest", str(exc))
            return
        path = self.path.split("?", 1)[0]
        headers = self._lower_headers()
        if path == f"{PREFIX}/init/error":
            self.runtime._set_init_error(raw, headers)
            self._send(202, b'{"status":"OK"}')
            return
        parts = path[len(PREFIX) + 1:].split("/") if path.startswith(PREFIX + "/") else []
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            if self.runtime._complete(parts[1], parts[2], raw, headers):
                self._send(202, b'{"status":"OK"}')
            else:
                self._send_error(400, "InvalidRequestID", f"no invocation {parts[1]!r} is awaiting an answer")
            return
        self._send_error(404, "NotFound", f"no such endpoint: POST {self.path}")
