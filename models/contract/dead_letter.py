"""`<topic>.dlq`: an input that could not be processed, kept with the reason."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Literal

from pydantic import Field

from models.contract.event import Event, derived_event_id


class DeadLetter(Event):
    type: Literal["dead_letter"] = "dead_letter"
    source_topic: str
    source_partition: int
    source_offset: int
    reason: str = Field(description="A bounded reason code, e.g. not_json, loss_time_in_future.")
    detail: str = Field(description="Human-readable explanation; never contains personal data.")
    report_id: str | None = Field(default=None, description="The loss report it is about, when it can be read.")
    source_event_id: str | None = Field(default=None, description="The original's event_id, when it can be read.")
    original_key_b64: str | None = None
    original_value_b64: str = Field(description="The original bytes, base64-encoded, exactly as consumed.")

    def original_value(self) -> bytes:
        return base64.b64decode(self.original_value_b64)


def dead_letter_for(
    topic: str, partition: int, offset: int, key: bytes | None, value: bytes, reason: str, detail: str, now: datetime
) -> DeadLetter:
    """The dead letter for one consumed record; its id is derived from the record's position."""
    report_id, event_id = _ids_in(value)
    return DeadLetter(
        event_id=derived_event_id("dlq", topic, partition, offset),
        occurred_at=now,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        reason=reason,
        detail=detail,
        report_id=report_id,
        source_event_id=event_id,
        original_key_b64=None if key is None else base64.b64encode(key).decode(),
        original_value_b64=base64.b64encode(value).decode(),
    )


def _ids_in(value: bytes) -> tuple[str | None, str | None]:
    """The report id and event id of a record, where it is a JSON object that has them as strings: so that a
    person reading the dead letter knows which report it was without decoding the original."""
    try:
        data = json.loads(value)
    except ValueError:  # (UnicodeDecodeError and JSONDecodeError are ValueErrors)
        return None, None
    if not isinstance(data, dict):
        return None, None

    def text(name: str) -> str | None:
        v = data.get(name)
        return v[:100] if isinstance(v, str) and v.strip() else None

    return text("report_id"), text("event_id")
