"""A worker, the clients and the audit over TLS to Kafka and to PostgreSQL, configured by settings only.

PostgreSQL (Debian's: pgserver's is built without SSL) serves TLS itself and refuses plaintext (pg_hba). Kafka is Tansu behind a TLS
terminator that the broker advertises as its address (tests/tls_parts.py). SASL cannot be exercised on
Tansu (docs/security.md); its settings are unit-tested in tests/unit/test_kafka_security.py.
"""

import asyncio
import os
import ssl
import subprocess
import sys

import asyncpg
import pytest

from tests.conftest import broker_env, probe_worker, roster_for_tests
from tests.tls_parts import TlsPostgres, TlsTerminator, make_certs

pytestmark = pytest.mark.integration

AREAS = ["probe"]


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory):
    from models.contract.topics import all_topic_names
    from models.dispatch.roster import Roster
    from streams.commands.bootstrap import load_roster
    from streams.embedded_stack import Stack, create_topics, free_port, start_broker
    from streams.store.migrations import apply_migrations

    state = tmp_path_factory.mktemp("tls-stack")
    certs = make_certs(state / "certs")
    env = pytest.MonkeyPatch()
    # How an operator turns TLS on: settings only (these reach the worker process through its environment).
    env.setenv("CLAIMS_KAFKA_SECURITY_PROTOCOL", "SSL")
    env.setenv("CLAIMS_KAFKA_SSL_CAFILE", str(certs.ca))
    broker_port, tls_port = free_port(), free_port()
    stack = Stack("", "", True, False, broker_kind="tansu")  # workers get Tansu's client profile
    terminator = None
    postgres = TlsPostgres(certs, free_port())
    try:
        stack.broker, _plain, stack.broker_log = start_broker(state, broker_port,
                                                              advertised_url=f"tcp://localhost:{tls_port}")
        terminator = TlsTerminator(tls_port, broker_port, certs).start()
        stack.kafka_bootstrap = f"localhost:{tls_port}"
        stack.database_url = postgres.start()
        asyncio.run(create_topics(stack.kafka_bootstrap, all_topic_names()))
        asyncio.run(apply_migrations(stack.database_url))
        asyncio.run(load_roster(stack.database_url, Roster.model_validate(roster_for_tests(AREAS))))
        yield stack, terminator, certs
    finally:
        stack.stop()
        postgres.stop()
        if terminator:
            terminator.stop()
        env.undo()


def test_a_worker_dispatches_over_tls_to_kafka_and_postgresql(tls_stack, tmp_path):
    from streams.embedded_stack import free_port
    from streams.processes import start_worker, stop_process

    stack, terminator, _certs = tls_stack
    proc, _port = start_worker(stack, free_port(), tmp_path / "worker.log", {"CLAIMS_STATE_DIR": str(tmp_path)})
    try:
        assignment = asyncio.run(probe_worker(stack.kafka_bootstrap, proc, tmp_path / "worker.log", areas=AREAS))
        assert assignment["type"] == "surveyor_assigned"

        async def database_view():
            conn = await asyncpg.connect(stack.database_url)
            try:
                stored = await conn.fetchval("SELECT count(*) FROM claims WHERE report_id = $1",
                                             assignment["report_id"])
                sessions = await conn.fetch(
                    "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                    "WHERE a.backend_type = 'client backend'")
                return stored, [r["ssl"] for r in sessions]
            finally:
                await conn.close()

        stored, ssl_flags = asyncio.run(database_view())
        assert stored == 1
        assert len(ssl_flags) >= 2 and all(ssl_flags), ssl_flags  # the worker's pool and this connection
        assert terminator.tls_sessions >= 3  # worker consumer + producer, test producer + reader
    finally:
        stop_process(proc)


def test_the_audit_command_reads_over_tls(tls_stack, tmp_path):
    import json
    import re

    from streams.kafka_clients import producer
    from tests.conftest import valid_report

    stack, _terminator, _certs = tls_stack

    async def send_one() -> None:  # so that there is a report for the audit to read, whichever test ran first
        p = producer(stack.kafka_bootstrap)
        await p.start()
        try:
            report = valid_report("probe", areas=AREAS)
            await p.send_and_wait("hotline.reports", json.dumps(report).encode(), key=report["report_id"].encode())
        finally:
            await p.stop()

    asyncio.run(send_one())
    env = dict(os.environ, **broker_env(stack), CLAIMS_DATABASE_URL=stack.database_url,
               CLAIMS_STATE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "streams.cli", "audit"], env=env, capture_output=True, text=True,
                          timeout=120)
    counted = re.search(r"counted: reports (\d+)", done.stdout)
    assert counted and int(counted.group(1)) >= 1, done.stdout + done.stderr  # it read hotline.reports over TLS


def test_plaintext_and_unverified_connections_are_refused(tls_stack, tmp_path):
    from aiokafka.errors import KafkaConnectionError

    from streams.kafka_clients import producer
    from streams.settings import Settings

    stack, _terminator, _certs = tls_stack

    async def kafka_refuses(settings: Settings) -> None:
        p = producer(stack.kafka_bootstrap, settings)
        with pytest.raises(KafkaConnectionError):
            await p.start()
        await p.stop()

    asyncio.run(kafka_refuses(Settings(kafka_security_protocol="PLAINTEXT", kafka_ssl_cafile=None)))
    # TLS to a server whose CA this client does not trust (the system store only).
    asyncio.run(kafka_refuses(Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=None)))

    async def postgres_refuses(url: str, error) -> None:
        with pytest.raises(error):
            await asyncpg.connect(url, timeout=10)

    plain = stack.database_url.split("?")[0] + "?sslmode=disable"
    asyncio.run(postgres_refuses(plain, asyncpg.InvalidAuthorizationSpecificationError))
    stranger = make_certs(tmp_path / "other-ca").ca  # a CA that did not sign the server's certificate
    unverified = stack.database_url.split("?")[0] + f"?sslmode=verify-full&sslrootcert={stranger}"
    asyncio.run(postgres_refuses(unverified, ssl.SSLCertVerificationError))
