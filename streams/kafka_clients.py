"""Plain aiokafka clients for the simulators, the demo and the tests (the workers use Faust)."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def producer(bootstrap: str) -> AIOKafkaProducer:
    # acks=all, no idempotence: Tansu does not implement InitProducerId (DESIGN.md).
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=5)


def reader(bootstrap: str, *topics: str, group: str | None = None, from_start: bool = True) -> AIOKafkaConsumer:
    """A consumer in a group of its own, reading from the start (or only what comes next)."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group or f"claims-reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest" if from_start else "latest",
        enable_auto_commit=True,
        session_timeout_ms=8000,
        heartbeat_interval_ms=1000,
        fetch_max_wait_ms=10,
    )
