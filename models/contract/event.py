"""The envelope every event on every topic shares.

Events are past-tense facts, frozen once made. Inbound payloads are read as
tolerant readers (unknown fields are ignored, so producers can add fields
without breaking consumers); ``schema_version`` says which shape a producer
meant, and a consumer refuses a major version it does not know.
"""

from __future__ import annotations

import uuid

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

#: Namespace for every event id this system derives (uuid5), so that a
#: re-sent output is byte-for-byte the same event and downstream can dedupe.
EVENT_NAMESPACE = uuid.UUID("6f3f1c1e-2b7a-4c55-9c0e-4f1f5a8d2c01")


class Event(BaseModel):
    """Fields carried by every event: identity, time and schema version."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    event_id: uuid.UUID = Field(description="Unique id of this event; consumers dedupe on it.")
    occurred_at: AwareDatetime = Field(description="When the fact happened (timezone-aware).")
    schema_version: int = Field(
        default=SCHEMA_VERSION,
        ge=1,
        le=SCHEMA_VERSION,
        description="Version of this event's schema; a consumer rejects versions it does not know.",
    )


def derived_event_id(*parts: object) -> uuid.UUID:
    """A deterministic event id from the ids of what caused it (uuid5).

    The same input always yields the same output id, so a redelivered input
    republishes an identical event rather than a new one.
    """
    return uuid.uuid5(EVENT_NAMESPACE, "/".join(str(p) for p in parts))
