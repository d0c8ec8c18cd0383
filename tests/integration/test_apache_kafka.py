"""The project-managed Apache Kafka: jars resolved by Maven, a KRaft node started in the state folder, and
the product's demo on it end to end; Debian's stock kcat talks to it."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import CLI

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("version", ["3.9.1", "4.1.1"])
def test_a_kraft_node_starts_from_maven_resolved_jars_and_kcat_produces_and_consumes(tmp_path, version):
    """Each version the project runs (streams/apache_kafka.py VERSIONS): 4.1.1 the suites and docker-compose
    run, 3.9.1 the last 3.x."""
    from streams.apache_kafka import VERSIONS, Cluster, jars
    from streams.embedded_stack import create_topics
    import asyncio

    assert version in VERSIONS
    assert any(p.name.startswith(f"kafka_2.13-{version}") for p in jars(version))
    cluster = Cluster.start(tmp_path / "kafka", version=version)
    try:
        asyncio.run(create_topics(cluster.bootstrap, [("smoke", 3)]))
        sent = subprocess.run(["kcat", "-P", "-b", cluster.bootstrap, "-t", "smoke", "-k", "k"], input=b"hello\n",
                              capture_output=True, timeout=30)
        assert sent.returncode == 0, sent.stderr.decode()
        got = subprocess.run(["kcat", "-C", "-b", cluster.bootstrap, "-t", "smoke", "-e", "-q"], capture_output=True,
                             timeout=30)
        assert got.stdout == b"hello\n", got.stderr.decode()
    finally:
        cluster.stop()
    assert all(n.proc.poll() is not None for n in cluster.nodes)


def test_the_demo_runs_on_apache_kafka_and_accounts_for_every_report(tmp_path, cli_env):
    summary = tmp_path / "summary.json"
    out = subprocess.run([*CLI, "demo", "--broker", "kafka", "--reports", "40", "--rate", "20",
                          "--summary-json", str(summary)], env=cli_env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    s = json.loads(summary.read_text())
    assert s["received"] == 40 and s["unaccounted"] == 0 and s["dispatched"] > 0
