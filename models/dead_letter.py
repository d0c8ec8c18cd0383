"""`<topic>.dlq`: an input that could not be processed, kept with the reason."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import Field

from models.events import Event, derived_event_id


class DeadLetter(Event):
    type: Literal["dead_letter"] = "dead_letter"
    source_topic: str
    source_partition: int
    source_offset: int
    reason: str = Field(description="A bounded reason code, e.g. not_json, loss_time_in_future.")
    detail: str = Field(description="Human-readable explanation; never contains personal data.")
    original_key_b64: str | None = None
    original_value_b64: str = Field(description="The original bytes, base64-encoded, exactly as consumed.")

    def original_value(self) -> bytes:
        return base64.b64decode(self.original_value_b64)


def dead_letter_for(
    topic: str, partition: int, offset: int, key: bytes | None, value: bytes, reason: str, detail: str, now: datetime
) -> DeadLetter:
    """The dead letter for one consumed record; its id is derived from the record's position."""
    return DeadLetter(
        event_id=derived_event_id("dlq", topic, partition, offset),
        occurred_at=now,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        reason=reason,
        detail=detail,
        original_key_b64=None if key is None else base64.b64encode(key).decode(),
        original_value_b64=base64.b64encode(value).decode(),
    )
