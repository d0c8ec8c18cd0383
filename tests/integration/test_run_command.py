"""`claims-dispatch run` on the embedded stack: addresses printed, consuming fast, nothing left behind."""

import json
import os
import signal
import subprocess
import time
from datetime import datetime, timezone

import pytest

from tests.conftest import CLI, processes_using
from tests.report_factory import report_dict

pytestmark = pytest.mark.integration


def test_run_prints_addresses_consumes_within_seconds_and_stops_cleanly(tmp_path, cli_env, kcat):
    state = tmp_path / "state"
    started = time.monotonic()
    proc = subprocess.Popen([*CLI, "run"], env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        lines = []
        while not any(line.startswith("stack file") for line in lines):
            line = proc.stdout.readline().decode()
            assert line, "run exited early:\n" + "".join(lines)
            lines.append(line)
        info = json.loads((state / "stack.json").read_text())
        assert any(info["kafka_bootstrap"] in line for line in lines)
        assert any(line.startswith("metrics") and "/metrics" in line for line in lines)

        # Hangzhou, from the demo roster that `run` loads into an empty database
        report = report_dict(at=(30.2841, 120.1651), report_id="RUN-1", now=datetime.now(timezone.utc))
        out = kcat("-P", "-b", info["kafka_bootstrap"], "-t", "hotline.reports", "-k", "RUN-1",
                   input=json.dumps(report).encode() + b"\n")
        assert out.returncode == 0, out.stderr.decode()
        deadline = started + 30
        seen = b""
        while b"RUN-1" not in seen and time.monotonic() < deadline:
            seen = kcat("-C", "-b", info["kafka_bootstrap"], "-t", "dispatch.assignments", "-e", "-q").stdout
        assigned_after = time.monotonic() - started
        assert b"RUN-1" in seen, "no assignment within 30 s of start"
        print(f"first assignment {assigned_after:.1f} s after `claims-dispatch run` started")
        assert assigned_after < 15  # the issue asks for consuming within 10 s; this includes start-up of the stack
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    assert rc == 0
    assert not (state / "stack.json").exists()
    time.sleep(0.5)
    assert processes_using(state) == [], "left running after run stopped"
