"""Worker processes started by `run` and `demo`, and stopping everything on exit, Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from streams.embedded_stack import Stack, _die_with_parent, free_port


def worker_env(stack: Stack, web_port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["CLAIMS_KAFKA_BOOTSTRAP"] = stack.kafka_bootstrap
    env["CLAIMS_DATABASE_URL"] = stack.database_url
    env["CLAIMS_WEB_PORT"] = str(web_port)
    if stack.embedded_kafka:
        env.setdefault("CLAIMS_KAFKA_PROFILE", "embedded")
    env.update(extra or {})
    return env


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def start_worker(stack: Stack, preferred_port: int, log_path: Path | None = None,
                 extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    """Start `claims-dispatch worker` as a child process; returns it and its web (metrics) port."""
    port = preferred_port if _port_free(preferred_port) else free_port()
    out = open(log_path, "ab") if log_path else None
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker"],
        env=worker_env(stack, port, extra_env),
        stdout=out or None,
        stderr=subprocess.STDOUT if out else None,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    return proc, port


def wait_until_ready(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> float:
    """Wait until the worker on ``port`` holds partitions; returns the seconds waited."""
    import time
    import urllib.error
    import urllib.request

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"worker on port {port} was not consuming after {timeout} s")


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Interrupted(Exception):
    """SIGTERM arrived: unwind like Ctrl-C so that everything started is stopped."""


@contextmanager
def sigterm_unwinds():
    def raise_interrupt(signum, frame):
        # Once: a second signal (from `timeout`, a service manager, an impatient
        # Ctrl-C) must not cut the shutdown short and orphan the broker or postgres.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, raise_interrupt), signal.signal(signal.SIGINT, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
