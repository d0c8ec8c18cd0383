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
    if stack.broker_kind == "tansu":
        env.setdefault("CLAIMS_KAFKA_PROFILE", "embedded")
    elif stack.broker_kind == "kafka":
        # Apache Kafka refuses sessions under its group.min.session.timeout.ms (6 s); at 6 s a worker that
        # died is replaced within seconds (docs/deployment.md, client settings per broker).
        env.setdefault("CLAIMS_KAFKA_SESSION_TIMEOUT_S", "6")
        env.setdefault("CLAIMS_KAFKA_HEARTBEAT_S", "1")
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
        # A session of its own: Ctrl-C in a terminal signals the whole foreground process group, and a
        # worker that stops by itself while `run` stops the broker under it hangs in its shutdown (22 s
        # and 160 lines of warnings, measured). `run` stops each part itself, in order.
        start_new_session=True,
    )
    return proc, port


def start_surveyor_app(stack: Stack, decline_ratio: float, log_path: Path | None = None) -> subprocess.Popen:
    """The simulated surveyor app (`run --simulate-surveyors`) as a child process, in a session of its own."""
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "streams.simulators.surveyor_app", stack.kafka_bootstrap, str(decline_ratio)],
        env=worker_env(stack, 0), stdout=out, stderr=subprocess.STDOUT if log_path else None,
        stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent, start_new_session=True)


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
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    stop_processes([proc], timeout)


def stop_processes(procs: list[subprocess.Popen], timeout: float = 20) -> None:
    """SIGTERM to each at once, then SIGKILL to those still running after ``timeout`` seconds in all."""
    import time

    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
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
