"""Plain aiokafka clients for the simulators, the demo, the audit, topic creation and the tests.

(The workers use Faust.) Every client connects with the process's Kafka security settings
(CLAIMS_KAFKA_SECURITY_PROTOCOL, ...; streams/kafka_security.py) unless given others.
"""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from streams.topic_names import on_broker
from streams.kafka_security import aiokafka_auth
from streams.settings import Settings


def _auth(settings: Settings | None) -> dict:
    return aiokafka_auth(settings or Settings())


def producer(bootstrap: str, settings: Settings | None = None) -> AIOKafkaProducer:
    # acks=all; idempotent where the broker has it (Settings.idempotence): Tansu does not implement
    # InitProducerId (docs/embedded-broker.md), so without settings it is off.
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                            enable_idempotence=bool(settings and settings.idempotence), **_auth(settings))


def reader(bootstrap: str, *topics: str, group: str | None = None, from_start: bool = True,
           settings: Settings | None = None) -> AIOKafkaConsumer:
    """A consumer in a group of its own, reading from the start (or only what comes next)."""
    return AIOKafkaConsumer(
        *(on_broker(t) for t in topics),
        bootstrap_servers=bootstrap,
        group_id=group or f"claims-reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest" if from_start else "latest",
        enable_auto_commit=True,
        session_timeout_ms=8000,
        heartbeat_interval_ms=1000,
        fetch_max_wait_ms=10,
        metadata_max_age_ms=(settings or Settings()).kafka_metadata_max_age_ms,  # Settings: a leader's move
        **_auth(settings),
    )


def unmanaged_consumer(bootstrap: str, settings: Settings | None = None) -> AIOKafkaConsumer:
    """A consumer without a group, for reading assigned partitions (the audit)."""
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10,
                            **_auth(settings))


def admin(bootstrap: str, timeout_s: float, settings: Settings | None = None) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000),
                               **_auth(settings))
