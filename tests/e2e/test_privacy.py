"""No phone number, name or ID number in any log line, metric label or dead-letter reason of a demo run."""

import json
import re
import subprocess

import asyncpg
import pytest

from tests.conftest import CLI

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


def test_a_demo_run_logs_no_personal_data(tmp_path, cli_env):
    out = subprocess.run([*CLI, "demo", "--reports", "60", "--rate", "20", "--business-events", "60",
                          "--summary-json", str(tmp_path / "summary.json")],
                         env=dict(cli_env, CLAIMS_LOG_LEVEL="DEBUG"),  # every line the code can write
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    demo_dir = tmp_path / "state" / "demo"
    logs = out.stdout + out.stderr + (demo_dir / "demo-worker.log").read_text(errors="replace")
    assert '"event": "report_registered"' in logs  # the worker did log its events
    assert PHONE.findall(logs) == []
    assert ID_NUMBER.findall(logs) == []


@pytest.fixture
def personal_data(stack, worker, database_url):
    """Names and phone numbers the system holds (from the integration tests' reports), to look for in its output."""
    import asyncio

    async def fetch():
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch("SELECT report->'reporter'->>'name' AS name, report->'reporter'->>'phone' AS phone,"
                                    " report->'insured'->>'id_number' AS id FROM claims")
            letters = await conn.fetch("SELECT reason, detail FROM dead_letters")
        finally:
            await conn.close()
        return rows, letters

    return asyncio.run(fetch())


def test_worker_logs_metric_labels_and_dead_letter_reasons_hold_no_personal_data(worker, personal_data):
    import urllib.request

    rows, letters = personal_data
    assert rows, "no claims to look for"
    names = {r["name"] for r in rows if r["name"] and len(r["name"]) >= 2}
    phones = {r["phone"] for r in rows if r["phone"]}
    ids = {r["id"] for r in rows if r["id"]}
    log = worker["log"].read_text(errors="replace")
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{worker['web_port']}/metrics", timeout=5).read().decode()
    reasons = json.dumps([dict(r) for r in letters], ensure_ascii=False)
    for where, text in (("worker log", log), ("metrics", metrics), ("dead letters", reasons)):
        for secret in names | phones | ids:
            assert secret not in text, f"{where} contains personal data"
        assert PHONE.findall(text) == [], where
