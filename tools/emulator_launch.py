"""Starts the local AWS emulator as a child process: the one Python launcher of tools/emulator.py
(the demo, the bench and the Python tests use it; the Rust tests' tests/it/support/emulator.rs keeps
the same contract in Rust).

The contract of tools/emulator.py: it listens on 127.0.0.1 on a free port, prints ``PORT=<n>`` as
its first stdout line, logs to stderr, and exits when its stdin reaches EOF or on SIGTERM — so a
crashed parent never leaves it running, and the parent stops it by its PID.

    proc, port = start(stderr=log_file)
    ...
    stop(proc)

Imports nothing of moto: cheap for callers that only need the process.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Sequence

EMULATOR = Path(__file__).with_name("emulator.py")
STARTUP_TIMEOUT_S = 60.0


class EmulatorStartError(Exception):
    """The emulator did not come up (its exit, its first line, or the time it took is said)."""


def start(
    stderr: IO[bytes] | int,
    *,
    program: Path = EMULATOR,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> tuple[subprocess.Popen[bytes], int]:
    """Starts ``program`` (tools/emulator.py, or a wrapper with its contract such as
    bench/timed_emulator.py) and returns the process and its port, waiting at most ``timeout_s``
    for ``PORT=<n>``; kills it by PID and raises :class:`EmulatorStartError` otherwise."""
    proc = subprocess.Popen(
        [sys.executable, str(program), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
        env=env, cwd=cwd,
    )
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    buffer = b""
    end = time.monotonic() + timeout_s
    try:
        while b"\n" not in buffer:
            left = end - time.monotonic()
            if left <= 0:
                raise EmulatorStartError(f"{program.name} did not print PORT=<n> within {timeout_s:g} s")
            if proc.poll() is not None:
                raise EmulatorStartError(f"{program.name} exited with {proc.returncode} before printing PORT=<n>")
            if selector.select(timeout=min(left, 0.5)):
                chunk = os.read(proc.stdout.fileno(), 256)
                if not chunk:
                    raise EmulatorStartError(f"{program.name} closed stdout before printing PORT=<n>")
                buffer += chunk
        first = buffer.split(b"\n", 1)[0].decode(errors="replace").strip()
        if not first.startswith("PORT=") or not first[5:].isdigit():
            raise EmulatorStartError(f"unexpected first line from {program.name}: {first!r}")
        return proc, int(first[5:])
    except BaseException:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        raise
    finally:
        selector.close()


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> int:
    """SIGTERM by PID, then SIGKILL if it has not exited within ``timeout_s``; returns its exit code."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(timeout=10)
