"""Security for real, on Apache Kafka: a node with a SASL_SSL listener only (SCRAM-SHA-512 users, TLS from a
private CA) and the standard authorizer. The worker runs as its own user with the ACLs
``claims-dispatch topics acls`` prints (its topics and its group, nothing else) and decides a report end
to end; a wrong password, a plaintext client and a user without ACLs are refused.

The node is this module's own (Tansu has no SASL users and no authorizer, docs/security.md), so it runs in
the Apache Kafka pass of ``make test`` (CLAIMS_BROKER=kafka) and is skipped in the Tansu pass.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time

import asyncpg
import pytest
from aiokafka.errors import GroupAuthorizationFailedError, KafkaConnectionError, TopicAuthorizationFailedError

from tests.conftest import roster_for_tests, valid_report

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.environ.get("CLAIMS_BROKER", "tansu") != "kafka",
                       reason="a secured Apache Kafka node of its own; runs in the Apache Kafka pass (CLAIMS_BROKER=kafka)"),
]

AREAS = ["probe"]


def _as(cluster, certs, user: str, password: str):
    from streams.settings import Settings

    return Settings(kafka_bootstrap=cluster.bootstrap, kafka_security_protocol="SASL_SSL",
                    kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username=user, kafka_sasl_password=password,
                    kafka_ssl_cafile=certs.ca)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    from models.contract.topics import all_topic_names
    from models.dispatch.roster import Roster
    from streams.apache_kafka import Cluster, Security
    from streams.commands.bootstrap import load_roster
    from streams.embedded_stack import create_topics, start_stack
    from streams.kafka_security import worker_acls
    from tests.tls_parts import make_certs

    folder = tmp_path_factory.mktemp("secured-kafka")
    certs = make_certs(folder / "certs")
    users = {"admin": secrets.token_hex(12), "claims": secrets.token_hex(12), "intruder": secrets.token_hex(12)}
    cluster = Cluster.start(folder / "kafka", 1, security=Security(users, certs.server_cert, certs.server_key, certs.ca))
    stack = None
    try:
        admin = _as(cluster, certs, "admin", users["admin"])
        asyncio.run(create_topics(cluster.bootstrap, all_topic_names() + [("elsewhere", 1)], settings=admin))
        for acl in worker_acls("User:claims", "claims-dispatch"):
            cluster.tool(cluster.acl_tool, "--bootstrap-server", cluster.bootstrap,
                         "--command-config", str(cluster.admin_properties()), *acl)
        # The worker's stack as a deployment has it: this broker from outside, as the worker's user.
        stack = start_stack(_as(cluster, certs, "claims", users["claims"]).model_copy(
            update={"state_dir": folder / "state"}))
        asyncio.run(load_roster(stack.database_url, Roster.model_validate(roster_for_tests(AREAS))))
        yield cluster, certs, users, stack
    finally:
        if stack is not None:
            stack.stop()
        cluster.stop()


def _worker_env(cluster, certs, users) -> dict[str, str]:
    return {"CLAIMS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "CLAIMS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "CLAIMS_KAFKA_SASL_USERNAME": "claims", "CLAIMS_KAFKA_SASL_PASSWORD": users["claims"],
            "CLAIMS_KAFKA_SSL_CAFILE": str(certs.ca),
            # Apache Kafka's minimum session; a quick first join (docs/deployment.md, client settings)
            "CLAIMS_KAFKA_SESSION_TIMEOUT_S": "6", "CLAIMS_KAFKA_HEARTBEAT_S": "1"}


def test_the_worker_decides_a_report_as_its_own_user_over_sasl_ssl(secured, tmp_path):
    from streams.embedded_stack import free_port
    from streams.kafka_clients import producer, reader
    from streams.processes import start_worker, stop_process

    cluster, certs, users, stack = secured
    log = tmp_path / "worker.log"
    proc, _port = start_worker(stack, free_port(), log, {"CLAIMS_STATE_DIR": str(tmp_path / "w"),
                                                          **_worker_env(cluster, certs, users)})
    report = valid_report("probe", areas=AREAS)

    async def go() -> dict:
        watch = reader(cluster.bootstrap, "dispatch.assignments", settings=_as(cluster, certs, "admin", users["admin"]))
        await watch.start()
        hotline = producer(cluster.bootstrap, _as(cluster, certs, "claims", users["claims"]))
        await hotline.start()
        try:
            await hotline.send_and_wait("hotline.reports", json.dumps(report).encode(), key=report["report_id"].encode())
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text()[-3000:]
                for msgs in (await watch.getmany(timeout_ms=500)).values():
                    for m in msgs:
                        if json.loads(m.value)["report_id"] == report["report_id"]:
                            return json.loads(m.value)
            raise AssertionError(f"no decision within 90 s:\n{log.read_text()[-3000:]}")
        finally:
            await hotline.stop()
            await watch.stop()

    try:
        decision = asyncio.run(go())
    finally:
        stop_process(proc)
    assert decision["type"] == "surveyor_assigned"
    text = log.read_text()
    assert users["claims"] not in text and "AuthorizationFailed" not in text

    async def stored() -> int:
        conn = await asyncpg.connect(stack.database_url)
        try:
            return await conn.fetchval("SELECT count(*) FROM claims WHERE report_id = $1", report["report_id"])
        finally:
            await conn.close()

    assert asyncio.run(stored()) == 1


async def _send(cluster, certs, user: str, password: str, topic: str, protocol: str = "SASL_SSL") -> None:
    from streams.kafka_clients import producer

    # Not idempotent: its InitProducerId would be refused first, as a cluster permission, hiding which topic
    settings = _as(cluster, certs, user, password).model_copy(update={"kafka_security_protocol": protocol,
                                                                      "kafka_idempotence": False})
    p = producer(cluster.bootstrap, settings)
    p.client._request_timeout_ms = 10_000  # a refusal shows in seconds; do not wait aiokafka's 40 s
    try:
        await asyncio.wait_for(p.start(), 20)
        await asyncio.wait_for(p.send_and_wait(topic, b"{}", key=b"k"), 20)
    finally:
        await p.stop()


def test_a_wrong_password_is_refused(secured, caplog):
    """Refused by the broker for the credentials (aiokafka gives up bootstrapping and logs why), not for
    anything else: the same send with the right password is accepted in the ACL test."""
    cluster, certs, users, _ = secured
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError) as refused:
        asyncio.run(_send(cluster, certs, "claims", users["claims"] + "x", "hotline.reports"))
    assert "SaslAuthenticationFailed" in caplog.text and "invalid credentials" in caplog.text
    assert users["claims"] not in str(refused.value) and users["claims"] not in caplog.text


def test_a_plaintext_client_is_refused(secured, caplog):
    """The SASL_SSL listener closes a plaintext connection: nothing is sent."""
    cluster, certs, users, _ = secured
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        asyncio.run(_send(cluster, certs, "claims", users["claims"], "hotline.reports", protocol="PLAINTEXT"))
    assert "closed" in caplog.text


def test_the_workers_user_has_its_topics_and_group_and_nothing_else(secured):
    from streams.kafka_clients import reader

    cluster, certs, users, _ = secured
    asyncio.run(_send(cluster, certs, "claims", users["claims"], "hotline.reports"))  # its own topic: allowed
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(_send(cluster, certs, "claims", users["claims"], "elsewhere"))
    with pytest.raises(TopicAuthorizationFailedError):  # a real user without ACLs
        asyncio.run(_send(cluster, certs, "intruder", users["intruder"], "hotline.reports"))

    async def join(group: str) -> None:
        c = reader(cluster.bootstrap, "hotline.reports", group=group,
                   settings=_as(cluster, certs, "claims", users["claims"]))
        try:
            await c.start()
            await asyncio.wait_for(c.getmany(timeout_ms=3000), 30)
        finally:
            await c.stop()

    with pytest.raises(GroupAuthorizationFailedError):
        asyncio.run(join("someone-elses-group"))
