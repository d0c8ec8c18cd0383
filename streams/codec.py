"""Events to and from Kafka records: JSON values validated by the models, keyed by entity id."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from pydantic import BaseModel

from models.contract.topics import topic as topic_spec
from models.contract.dead_letter import DeadLetter


@dataclass(frozen=True)
class Outgoing:
    """A record to publish: the topic, its key and value, and the event id it carries."""

    topic: str
    key: bytes
    value: bytes
    event_id: str


def encode(topic: str, event: BaseModel) -> Outgoing:
    """Serialise an event (or a command, identified by its command id) for ``topic``, keyed by the topic's
    key field."""
    spec = topic_spec(topic)
    key = str(getattr(event, spec.key)).encode()
    identity = event.event_id if hasattr(event, "event_id") else event.command_id
    return Outgoing(topic, key, event.model_dump_json().encode(), str(identity))


def encode_dead_letter(source_topic: str, letter: DeadLetter) -> Outgoing:
    """A dead letter for ``<source_topic>.dlq``, keyed like the original record."""
    key = base64.b64decode(letter.original_key_b64) if letter.original_key_b64 else b""
    return Outgoing(f"{source_topic}.dlq", key, letter.model_dump_json().encode(), str(letter.event_id))
