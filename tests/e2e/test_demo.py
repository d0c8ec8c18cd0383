"""The main job, as `make demo` runs it: every simulated report ends dispatched, escalated or dead-lettered."""

import asyncio
import json
import re
import subprocess

from tests.conftest import CLI, broker_env, processes_using

LIVE = ("hotline.reports", "policy.events", "complaints.events", "claims.events", "surveyor.status",
        "callbacks.attempts")


async def _ends(bootstrap: str, topics) -> dict[str, int]:
    from aiokafka import TopicPartition

    from streams.kafka_clients import unmanaged_consumer

    consumer = unmanaged_consumer(bootstrap)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        parts = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        return {t: sum(v for tp, v in ends.items() if tp.topic == t) for t in topics}
    finally:
        await consumer.stop()


def test_the_demo_on_a_configured_broker_keeps_to_its_own_topics_and_group(stack, tmp_path, cli_env):
    """A live system's broker (here the session's): the demo runs under topics and a consumer group of its
    own, so nothing reaches the live topics (the inputs the live workers read) and its worker is in a group
    of its own (the name it prints); it removes its topics when it ends."""
    before = asyncio.run(_ends(stack.kafka_bootstrap, LIVE))
    env = dict(cli_env, **broker_env(stack))
    summary_path = tmp_path / "summary.json"
    out = subprocess.run([*CLI, "demo", "--reports", "30", "--rate", "15", "--business-events", "30",
                          "--summary-json", str(summary_path)],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    s = json.loads(summary_path.read_text())
    assert s["received"] == 30 and s["unaccounted"] == 0 and s["dispatched"] > 0
    own = re.search(r"the demo's topics are (demo-[0-9a-f]{8}\.)\*, its group (claims-dispatch-demo-[0-9a-f]{8})",
                    out.stdout)
    assert own, out.stdout[:2000]
    assert asyncio.run(_ends(stack.kafka_bootstrap, LIVE)) == before, "the demo wrote to the live topics"
    assert f"removed the demo's topics {own.group(1)}*" in out.stdout or "were left on the broker" in out.stdout


def test_demo_accounts_for_every_report_and_leaves_nothing_running(tmp_path, cli_env):
    summary_path = tmp_path / "summary.json"
    out = subprocess.run([*CLI, "demo", "--reports", "120", "--rate", "15", "--bad-ratio", "0.1", "--summary-json", str(summary_path)],
                         env=cli_env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "claims-dispatch demo summary" in out.stdout
    s = json.loads(summary_path.read_text())
    assert s["settled"] and "NOT SETTLED" not in out.stdout
    assert s["received"] == 120 and s["unaccounted"] == 0
    assert s["dispatched"] + s["escalated"] + s["duplicates_linked"] == s["valid"]
    # The simulated hotline's duplicate calls (the other driver, the same customer again): each recognised.
    assert s["duplicates_linked"] + s["duplicates_flagged"] == sum(s["duplicates_sent"].values())
    assert s["dead_lettered"] == s["received"] - s["valid"] > 0  # the demo feeds some broken reports
    assert s["dispatched"] > 0 and s["surveys_completed"] > 0
    # surveys done with nothing next: the surveyor told to drive back to base, read back off the broker
    assert 0 < s["sent_back_to_base"] <= s["surveys_completed"]
    assert 0 <= s["predicted_on_time_share"] <= 1 and s["time_to_assign_p50_s"] is not None
    callbacks = s["callbacks"]
    assert {"underwriting", "closure", "survey"} <= set(callbacks)
    for kind, c in callbacks.items():
        assert c["open"] == 0, f"{kind}: callback tasks left open"
        if kind in ("surrender", "complaint", "survey"):
            assert c["tasks"] == c["eligible"], f"{kind}: every eligible event gets a task"
    assert callbacks["survey"]["eligible"] == s["surveys_completed"]
    assert sum(s["findings_by_department"].values()) > 0
    assert sum(s["dead_letter_reasons"].values()) == s["dead_lettered"]
    assert 0 < s["arrivals"]["on_time"] <= s["arrivals"]["arrived"] <= s["dispatched"]
    assert f"arrived on time         {s['arrivals']['on_time']} of {s['arrivals']['arrived']}" in out.stdout
    for kind, c in callbacks.items():  # a kind below its target says so
        below = c["eligible"] and c["successes"] / c["eligible"] < s["targets"][kind]
        row = [line for line in out.stdout.splitlines() if line.strip().startswith(f"{kind} ")][0]
        assert row.endswith("BELOW TARGET") == bool(below), row
    progress = [line for line in out.stderr.splitlines() if line.startswith("sent ")]
    assert progress and all(" · waiting for " in line or line.endswith("settling the callbacks")
                            for line in progress[:-1])
    assert not [line for line in out.stdout.splitlines() + out.stderr.splitlines() if line.startswith("{")], \
        "raw JSON log lines among the demo's output"
    assert processes_using(tmp_path / "state") == []


def test_a_demo_that_runs_out_of_time_says_so_and_fails(tmp_path, cli_env):
    """Stopped by its --timeout before every report is decided and every callback settled, the demo says its
    figures are partial and exits 1: a person (or CI) is not shown half a run as a success."""
    summary_path = tmp_path / "summary.json"
    out = subprocess.run([*CLI, "demo", "--reports", "60", "--rate", "15", "--timeout", "1",
                          "--summary-json", str(summary_path)], env=cli_env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]
    assert "NOT SETTLED: stopped waiting after 1 s" in out.stdout
    assert json.loads(summary_path.read_text())["settled"] is False
    assert processes_using(tmp_path / "state") == []
