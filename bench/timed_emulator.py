#!/usr/bin/env python3
"""``tools/emulator.py`` unchanged, plus a request timer for `make bench`.

Same command line and contract as ``tools/emulator.py`` (prints ``PORT=<n>``, 127.0.0.1 only,
exits on SIGTERM or stdin EOF, ``/_samlfed/calls`` call log). In addition every request except the
control endpoints is timed in the WSGI layer and kept as

    {"t0": ..., "t1": ..., "method": ..., "path": ..., "access_key": ..., "status": ...}

* ``t0``: ``time.monotonic()`` when the request reaches the emulator's WSGI app (headers parsed,
  body not yet read);
* ``t1``: ``time.monotonic()`` when the WSGI server closes the response iterable, i.e. after the
  response has been written to the socket (for a PUT: after the object is stored).

``time.monotonic()`` is CLOCK_MONOTONIC, one clock for every process on the machine, so the
benchmark compares these times with its own (process exec, Runtime API events).

``GET /_bench/timings`` returns the list as JSON, ``DELETE /_bench/timings`` clears it.
``/_bench`` cannot be an S3 path-style bucket (bucket names start with a letter or digit).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import emulator  # noqa: E402

CONTROL = "/_bench/timings"


class _Timed:
    """Wraps a WSGI response iterable; ``close`` stamps ``t1``."""

    def __init__(self, inner: Any, done: Callable[[], None]) -> None:
        self._inner = inner
        self._done = done

    def __iter__(self) -> Any:
        return iter(self._inner)

    def close(self) -> None:
        try:
            if hasattr(self._inner, "close"):
                self._inner.close()
        finally:
            self._done()


class TimedEmulatorApp(emulator.EmulatorApp):
    def __init__(self) -> None:
        super().__init__()
        self._timings: list[dict[str, Any]] = []
        self._timings_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") == CONTROL:
            return self._timings_control(environ, start_response)
        if path.startswith(emulator.CONTROL_PREFIX) or path.startswith("/moto-api"):
            return super().__call__(environ, start_response)
        t0 = time.monotonic()
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        entry: dict[str, Any] = {
            "t0": t0,
            "method": environ.get("REQUEST_METHOD", ""),
            "path": path,
            "access_key": emulator.access_key_id(environ.get("HTTP_AUTHORIZATION"), query) or "",
        }

        def timed_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            entry["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        def done() -> None:
            entry["t1"] = time.monotonic()
            with self._timings_lock:
                self._timings.append(entry)

        return _Timed(super().__call__(environ, timed_start_response), done)

    def _timings_control(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "GET":
            with self._timings_lock:
                body = json.dumps(self._timings).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if method == "DELETE":
            with self._timings_lock:
                self._timings.clear()
            start_response("204 No Content", [("Content-Length", "0")])
            return [b""]
        start_response("405 Method Not Allowed", [("Allow", "GET, DELETE"), ("Content-Length", "0")])
        return [b""]


if __name__ == "__main__":
    emulator.EmulatorApp = TimedEmulatorApp  # main() builds its app from this module global
    code = emulator.main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
