#!/usr/bin/env python3
"""Runs a Lambda function's deployment package on this machine, for tests and the emulator.

An OS-only Lambda runtime (``provided.al2``, ``provided.al2023``) starts the executable
``bootstrap`` from the root of the function's zip and lets it talk to the Lambda Runtime API
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html,
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). This module does the same with
``runtime_api.RuntimeApi`` — the project's one Runtime API implementation — and a child process:

    pool = LambdaPool(log=sys.stderr)
    result = pool.invoke(spec, code_zip_bytes, {"some": "event"})
    result.kind, result.body           # "response"/"error" and what the function posted
    pool.stop_all()                    # kills every process by its PID, removes the unpacked code

* The zip is unpacked into a fresh temporary directory (file modes from the zip kept; a
  ``bootstrap`` that is missing or not executable fails as in Lambda, ``Runtime.InvalidEntrypoint``).
* One **warm process per function**: the first invocation starts it (the init phase, at most
  ``INIT_TIMEOUT_S`` seconds as in Lambda); later invocations reuse it while the function's code
  (``CodeSha256``) and configuration are unchanged; a new code or configuration replaces it.
  Invocations of one function run one at a time (one execution environment).
* The child's environment is the one Lambda documents for a function
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime):
  ``AWS_LAMBDA_RUNTIME_API``, ``AWS_LAMBDA_FUNCTION_NAME`` / ``_MEMORY_SIZE`` / ``_VERSION``,
  ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, ``AWS_LAMBDA_LOG_GROUP_NAME`` / ``_STREAM_NAME``,
  ``AWS_LAMBDA_LOG_FORMAT`` and (JSON format only) ``AWS_LAMBDA_LOG_LEVEL`` from the function's
  ``LoggingConfig`` (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html),
  ``_HANDLER``, ``LAMBDA_TASK_ROOT``, ``TZ``, the function's ``Environment.Variables`` (which cannot
  override the reserved names), plus what a local run needs instead of an execution role:
  ``AWS_ENDPOINT_URL`` (the emulator), ``AWS_ACCESS_KEY_ID`` = the function's account id (the
  emulator maps a 12-digit key to that account), a dummy secret and session token, and ``PATH``.
* Each invocation carries the function's ARN (``Lambda-Runtime-Invoked-Function-Arn``) and a
  deadline of ``Timeout`` seconds (``Lambda-Runtime-Deadline-Ms``). A function that does not
  answer by then is killed, as Lambda ends a timed-out execution environment, and the invocation
  fails with ``Sandbox.Timedout``; one whose process exits fails with ``Runtime.ExitError``.
* The child's stdout and stderr go, line by line and prefixed with ``lambda <name>:``, to ``log``
  (the emulator's stderr), and are kept per function (the last ``OUTPUT_LIMIT`` bytes):
  ``pool.output(arn)`` returns them, where Lambda would have sent them to CloudWatch Logs.
* Test-only: an ``Environment.Variables`` entry named ``LOCAL_LAMBDA_SET_<NAME>`` sets ``<NAME>``
  in the process even where Lambda reserves it (an empty value removes it). Real Lambda refuses
  reserved names; the tests use this to start a function without credentials or Region, or with a
  secret key of their own that no log line may contain. The entry itself is not passed on.

Not done: layers, extensions, container images, runtimes other than OS-only ones, freezing the
process between invocations, concurrency above one per function, and async-invocation retries.

As a command, it packages a ``bootstrap`` as Lambda wants it (tests use this to build the zip
they upload):

    python tools/lambda_local.py package path/to/bootstrap out.zip
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runtime_api import FunctionExited, InvokeResult, InvokeTimeout, RuntimeApi  # noqa: E402

__all__ = ["FunctionSpec", "LambdaError", "LambdaPool", "function_environment", "package"]

INIT_TIMEOUT_S = 10.0  # Lambda's init phase limit for on-demand functions
OS_ONLY_RUNTIMES = ("provided", "provided.al2", "provided.al2023")
# Environment variables Lambda reserves: a function's Environment.Variables cannot set them.
RESERVED = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}
OVERRIDE_PREFIX = "LOCAL_LAMBDA_SET_"
OUTPUT_LIMIT = 4 << 20  # bytes of output kept per function
DUMMY_SECRET = "local-lambda-secret-key"
DUMMY_SESSION_TOKEN = "local-lambda-session-token"


class LambdaError(Exception):
    """An invocation that ended without the function's own response or error."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message

    def payload(self) -> dict[str, str]:
        """The error document Lambda returns for it (``errorType``, ``errorMessage``)."""
        return {"errorType": self.error_type, "errorMessage": self.message}


@dataclass(frozen=True)
class FunctionSpec:
    """What Lambda knows of a function that shapes how it runs (not its code)."""

    function_arn: str
    function_name: str
    account_id: str
    region: str
    endpoint_url: str
    runtime: str = "provided.al2"
    handler: str = "bootstrap"
    code_sha256: str = ""
    memory_size: int = 128
    timeout_s: float = 3.0
    version: str = "$LATEST"
    environment: tuple[tuple[str, str], ...] = ()
    log_format: str = "Text"
    log_level: str | None = None
    log_group: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def fingerprint(self) -> str:
        """Changes whenever the code or a setting the process sees changes."""
        fields = {k: v for k, v in self.__dict__.items() if k != "extra"}
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def function_environment(spec: FunctionSpec, runtime_api: str, task_root: str, path: str | None = None) -> dict[str, str]:
    """The process environment of the function, as Lambda sets it (see the module doc)."""
    env: dict[str, str] = {
        k: str(v) for k, v in spec.environment if k not in RESERVED and not k.startswith(OVERRIDE_PREFIX)
    }
    log_group = spec.log_group or f"/aws/lambda/{spec.function_name}"
    env.update({
        "PATH": path if path is not None else os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "TZ": ":UTC",
        "_HANDLER": spec.handler or "",
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": task_root,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/") + f"[{spec.version}]" + os.urandom(16).hex(),
        "AWS_LAMBDA_LOG_FORMAT": spec.log_format or "Text",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_ENDPOINT_URL": spec.endpoint_url,
        "AWS_ACCESS_KEY_ID": spec.account_id,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
        "AWS_SESSION_TOKEN": DUMMY_SESSION_TOKEN,
    })
    # "AWS_LAMBDA_LOG_LEVEL ... is set only for functions using the JSON log format"
    # (configuration-envvars.html); Lambda's default application log level is INFO.
    if (spec.log_format or "").upper() == "JSON":
        env["AWS_LAMBDA_LOG_LEVEL"] = (spec.log_level or "INFO").upper()
    for key, value in spec.environment:
        if key.startswith(OVERRIDE_PREFIX) and len(key) > len(OVERRIDE_PREFIX):
            name = key[len(OVERRIDE_PREFIX):]
            if value == "":
                env.pop(name, None)
            else:
                env[name] = str(value)
    return env


def unpack(code_zip: bytes, into: str) -> Path:
    """Extracts the zip into ``into`` keeping each file's mode; returns the bootstrap's path."""
    with zipfile.ZipFile(io.BytesIO(code_zip)) as archive:
        for info in archive.infolist():
            target = Path(archive.extract(info, into))  # extract() drops "..", absolute paths
            mode = (info.external_attr >> 16) & 0o7777
            if mode and not info.is_dir():
                os.chmod(target, mode)
    return Path(into) / "bootstrap"


def package(bootstrap: str, out: str) -> None:
    """Writes ``out``: a zip with the executable ``bootstrap`` at its root (its file mode kept),
    deflated at the fastest level (a debug build is hundreds of megabytes)."""
    if not os.access(bootstrap, os.X_OK):
        raise SystemExit(f"{bootstrap} is not executable; Lambda would not start it")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.write(bootstrap, "bootstrap")


class WarmFunction:
    """One execution environment: the unpacked code, a RuntimeApi and the bootstrap process."""

    def __init__(self, spec: FunctionSpec, code_zip: bytes, log: IO[str], output: "FunctionOutput") -> None:
        self.spec = spec
        self._output = output
        self._pump_thread: threading.Thread | None = None
        self.fingerprint = spec.fingerprint()
        self._code_zip = code_zip
        self._log = log
        self._lock = threading.Lock()  # one invocation at a time
        self._dir: str | None = None
        self._api: RuntimeApi | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Unpacks the code, starts the process and waits for its first ``/next`` (the init)."""
        runtime = self.spec.runtime or ""
        if runtime not in OS_ONLY_RUNTIMES:
            raise LambdaError(
                "Runtime.Unsupported", f"the local Lambda runs only OS-only runtimes {OS_ONLY_RUNTIMES}, not {runtime!r}"
            )
        self._dir = tempfile.mkdtemp(prefix=f"lambda-{self.spec.function_name[:40]}-")
        try:
            bootstrap = unpack(self._code_zip, self._dir)
        except zipfile.BadZipFile as exc:
            raise LambdaError("InvalidZipFileException", f"Could not unzip uploaded file: {exc}") from exc
        if not bootstrap.is_file() or not os.access(bootstrap, os.X_OK):
            raise LambdaError(
                "Runtime.InvalidEntrypoint",
                "RequestId: - Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
            )
        self._api = RuntimeApi(function_arn=self.spec.function_arn, default_timeout_s=self.spec.timeout_s).start()
        env = function_environment(self.spec, self._api.address, self._dir)
        try:
            self._proc = subprocess.Popen(
                [str(bootstrap)], cwd=self._dir, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            )
        except OSError as exc:  # e.g. a binary for another architecture: "Exec format error"
            raise LambdaError(
                "Runtime.InvalidEntrypoint", f"RequestId: - Error: fork/exec /var/task/bootstrap: {exc.strerror}"
            ) from exc
        self._pump_thread = threading.Thread(
            target=self._pump, args=(self._proc.stdout,), name=f"lambda-log-{self._proc.pid}", daemon=True
        )
        self._pump_thread.start()
        if not self._api.wait_for_poll(timeout_s=INIT_TIMEOUT_S, process=self._proc):
            init_error = self._api.init_error
            status = self._proc.poll()
            if init_error is not None:
                raise LambdaError(init_error.error_type or "Runtime.InitError", f"init error: {init_error.body!r}")
            if status is not None:
                raise LambdaError("Runtime.ExitError", f"RequestId: - Error: Runtime exited with error: exit status {status}")
            raise LambdaError("Sandbox.Timedout", f"the init phase did not end within {INIT_TIMEOUT_S:g} s")

    def _pump(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        prefix = f"lambda {self.spec.function_name}: "
        for raw in iter(stream.readline, b""):
            self._output.add(raw)
            try:
                self._log.write(prefix + raw.decode("utf-8", "replace").rstrip("\n") + "\n")
                self._log.flush()
            except (OSError, ValueError):
                return

    def invoke(self, event: Any) -> InvokeResult:
        with self._lock:
            if self._api is None or self._proc is None:
                raise LambdaError("ServiceException", "the function's execution environment is not running")
            try:
                return self._api.invoke(event, timeout_s=self.spec.timeout_s, process=self._proc)
            except InvokeTimeout as exc:
                self.stop()  # Lambda ends a timed-out execution environment
                raise LambdaError("Sandbox.Timedout", f"Task timed out after {self.spec.timeout_s:.2f} seconds") from exc
            except FunctionExited as exc:
                status = self._proc.poll() if self._proc else None
                self.stop()
                raise LambdaError("Runtime.ExitError", f"Runtime exited with error: exit status {status} ({exc})") from exc

    def stop_when_idle(self) -> None:
        """Stops the environment once its invocation in flight (if any) has ended, waiting at most
        the function's timeout: a function deleted mid-invocation still finishes it."""
        acquired = self._lock.acquire(timeout=self.spec.timeout_s + 5)
        try:
            self.stop()
        finally:
            if acquired:
                self._lock.release()

    def stop(self) -> None:
        """Kills the process by its PID, stops the Runtime API, removes the unpacked code."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        pump, self._pump_thread = self._pump_thread, None
        if pump is not None and pump is not threading.current_thread():
            pump.join(timeout=2)  # what the process wrote before it ended is all read
        api, self._api = self._api, None
        if api is not None:
            api.stop()
        directory, self._dir = self._dir, None
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


class FunctionOutput:
    """What a function's processes wrote, the last ``OUTPUT_LIMIT`` bytes of it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data = bytearray()

    def add(self, raw: bytes) -> None:
        with self._lock:
            self._data.extend(raw)
            if len(self._data) > OUTPUT_LIMIT:
                del self._data[: len(self._data) - OUTPUT_LIMIT]

    def text(self) -> str:
        with self._lock:
            return self._data.decode("utf-8", "replace")


class LambdaPool:
    """Warm functions by ARN (see the module doc)."""

    def __init__(self, log: IO[str] | None = None) -> None:
        self._log = log if log is not None else sys.stderr
        self._lock = threading.Lock()
        self._functions: dict[str, WarmFunction] = {}
        self._outputs: dict[str, FunctionOutput] = {}
        self._stopped = False

    def _warm(self, spec: FunctionSpec, code_zip: bytes) -> WarmFunction:
        with self._lock:
            if self._stopped:
                raise LambdaError("ServiceException", "the local Lambda service is shutting down")
            current = self._functions.get(spec.function_arn)
            if current is not None and current.fingerprint == spec.fingerprint() and current.alive():
                return current
            if current is not None:
                current.stop()
                del self._functions[spec.function_arn]
            output = self._outputs.setdefault(spec.function_arn, FunctionOutput())
            function = WarmFunction(spec, code_zip, self._log, output)
            try:
                function.start()
            except BaseException:
                function.stop()
                raise
            self._functions[spec.function_arn] = function
            return function

    def invoke(self, spec: FunctionSpec, code_zip: bytes, event: Any) -> InvokeResult:
        """Runs ``event`` through the function; raises :class:`LambdaError` when the invocation
        ends without the function's own response or error."""
        return self._warm(spec, code_zip).invoke(event)

    def discard(self, function_arn: str) -> None:
        """Stops the function's process (the function was deleted)."""
        with self._lock:
            function = self._functions.pop(function_arn, None)
        if function is not None:
            function.stop_when_idle()

    def output(self, function_arn: str, stop: bool = False) -> str:
        """What the function's processes wrote so far ("" if it never ran). ``stop`` first ends
        its process (as :meth:`discard`), so that everything it wrote has been read."""
        if stop:
            self.discard(function_arn)
        with self._lock:
            output = self._outputs.get(function_arn)
        return output.text() if output is not None else ""

    def pids(self) -> list[int]:
        with self._lock:
            return [f.pid for f in self._functions.values() if f.pid is not None]

    def stop_all(self) -> None:
        with self._lock:
            self._stopped = True
            functions, self._functions = list(self._functions.values()), {}
        for function in functions:
            function.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pkg = sub.add_parser("package", help="zip a bootstrap executable as a Lambda deployment package")
    pkg.add_argument("bootstrap")
    pkg.add_argument("out")
    args = parser.parse_args(argv)
    if args.command == "package":
        package(args.bootstrap, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
