"""What a handler is given and what it may answer: a record as read from its topic, and a refusal that
makes it a dead letter."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter, ValidationError


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class Refused(Exception):
    """A record that is not processable: goes to the dead-letter topic with ``reason`` and ``detail``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse(adapter: TypeAdapter, record: Record):
    """Decode a record with a model's type adapter, or refuse it with a readable reason."""
    try:
        return adapter.validate_json(record.value)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)[:5]  # inputs may be personal data
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(payload)'}: {e['msg']}" for e in errors)
        raise Refused("invalid_schema", detail) from None
