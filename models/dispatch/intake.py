"""Intake: turn the bytes hotline telephony published into a claim, or a reason it is not one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
import json

from pydantic import ValidationError

from models.contract.dispatch_events import ClaimRegistered, SceneContact
from models.dispatch.rules import DispatchRules
from models.contract.event import SCHEMA_VERSION, derived_event_id
from models.contract.loss_report import LossReported
from models.dispatch.zones import Region, locate

#: Larger payloads are refused before parsing; a loss report is a few KiB.
MAX_REPORT_BYTES = 256 * 1024


class RejectReason(StrEnum):
    """Why a payload became a dead letter; a bounded set, used as a metric label."""

    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    INVALID_SCHEMA = "invalid_schema"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    UNKNOWN_LOSS_TYPE = "unknown_loss_type"
    LOSS_TIME_IN_FUTURE = "loss_time_in_future"
    AGREED_ARRIVAL_BEFORE_REPORT = "agreed_arrival_before_report"
    AGREED_ARRIVAL_TOO_FAR_AHEAD = "agreed_arrival_too_far_ahead"
    OUTSIDE_SERVICE_AREA = "outside_service_area"
    HANDLER_ERROR = "handler_error"


@dataclass(frozen=True)
class Rejected:
    reason: RejectReason
    detail: str


@dataclass(frozen=True)
class Accepted:
    report: LossReported
    claim: ClaimRegistered
    #: Why the claim is registered for the dispatcher to agree a survey time, not raced against the limit.
    appointment: str | None = None


def _describe(error: ValidationError) -> tuple[RejectReason, str]:
    """The reason and what is wrong: every missing field by name, then up to ten other faults. A report
    missing fields is ``invalid_schema`` even when ``loss_type`` is among them; ``unknown_loss_type`` is for
    a loss type given and not known."""
    # include_input=False: the offending values may be phone numbers or names.
    items = error.errors(include_input=False, include_url=False)
    missing = [".".join(str(p) for p in i["loc"]) for i in items if i["type"] == "missing"]
    faults = [i for i in items if i["type"] != "missing"]
    reason = RejectReason.INVALID_SCHEMA
    if not missing:
        if any(i["loc"][:1] == ("loss_type",) for i in faults):
            reason = RejectReason.UNKNOWN_LOSS_TYPE
        if any(i["loc"][:1] == ("schema_version",) for i in faults):
            reason = RejectReason.UNSUPPORTED_SCHEMA_VERSION
    parts = [f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"] if missing else []
    parts += [f"{'.'.join(str(p) for p in i['loc']) or '(payload)'}: {i['msg']}" for i in faults[:10]]
    more = f" (and {len(faults) - 10} more)" if len(faults) > 10 else ""
    return reason, "; ".join(parts) + more


def register_report(raw: bytes, regions: tuple[Region, ...], rules: DispatchRules, now: datetime) -> Accepted | Rejected:
    """Validate a raw loss report and place it: region, zone and arrival deadline.

    Syntax, schema and meaning are all checked here; every refusal carries a
    reason a person can act on and that contains no personal data.
    """
    if len(raw) > MAX_REPORT_BYTES:
        return Rejected(RejectReason.TOO_LARGE, f"payload of {len(raw)} bytes exceeds {MAX_REPORT_BYTES}")
    try:  # the fast path: pydantic-core parses and validates in one pass (~10% of a backlog's CPU before)
        report = LossReported.model_validate_json(raw)
    except ValidationError:  # find out exactly why, for the dead letter
        result = _refusal(raw)
        if isinstance(result, Rejected):
            return result
        report = result
    return _place(report, regions, rules, now)


def _refusal(raw: bytes) -> LossReported | Rejected:
    """The reason a payload is not a loss report: not JSON, not an object, a schema version too new, the
    fields that fail (or, should the slow path accept what the fast one did not, the report)."""
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        return Rejected(RejectReason.NOT_JSON, f"not UTF-8 text: invalid byte at position {exc.start}")
    except json.JSONDecodeError as exc:  # its message names the fault, never the content
        return Rejected(RejectReason.NOT_JSON, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    except ValueError as exc:
        return Rejected(RejectReason.NOT_JSON, f"not valid JSON: {type(exc).__name__}")
    if not isinstance(data, dict):
        return Rejected(RejectReason.INVALID_SCHEMA, f"expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return Rejected(
            RejectReason.UNSUPPORTED_SCHEMA_VERSION,
            f"schema_version {version} is newer than the {SCHEMA_VERSION} this intake understands",
        )
    try:
        return LossReported.model_validate(data)
    except ValidationError as exc:
        return Rejected(*_describe(exc))


def _place(report: LossReported, regions: tuple[Region, ...], rules: DispatchRules,
           now: datetime) -> Accepted | Rejected:
    """A valid report checked for meaning (times, service area) and placed: region, zone, deadline."""
    if report.loss_time > now + timedelta(seconds=rules.max_future_skew_seconds):
        return Rejected(RejectReason.LOSS_TIME_IN_FUTURE, f"loss_time {report.loss_time.isoformat()} is after now ({now.isoformat()})")
    if report.occurred_at > now + timedelta(seconds=rules.max_future_skew_seconds):
        return Rejected(RejectReason.LOSS_TIME_IN_FUTURE, f"report time {report.occurred_at.isoformat()} is after now ({now.isoformat()})")
    placed = locate(regions, report.location.lat, report.location.lon)
    if placed is None:
        return Rejected(
            RejectReason.OUTSIDE_SERVICE_AREA,
            f"location ({report.location.lat:.4f}, {report.location.lon:.4f}) is outside every region's service area",
        )
    agreed = report.agreed_arrival_at
    # Against the report's own time, not the moment intake reads it: a report that waited in a backlog
    # is as valid as when it was made.
    if agreed is not None and agreed <= report.occurred_at:
        return Rejected(RejectReason.AGREED_ARRIVAL_BEFORE_REPORT,
                        f"agreed_arrival_at {agreed.isoformat()} is not after the report ({report.occurred_at.isoformat()})")
    if agreed is not None and agreed > report.occurred_at + timedelta(hours=rules.agreed_arrival_horizon_hours):
        return Rejected(RejectReason.AGREED_ARRIVAL_TOO_FAR_AHEAD,
                        f"agreed_arrival_at {agreed.isoformat()} is more than {rules.agreed_arrival_horizon_hours:g} h "
                        f"after the report ({report.occurred_at.isoformat()})")
    region, zone = placed
    limits = region.arrival or rules.arrival
    deadline = limits.deadline(zone, report.occurred_at, agreed)
    age = report.occurred_at - report.loss_time
    appointment = None
    if age > timedelta(hours=rules.race_losses_within_hours):
        appointment = (f"the loss ({report.loss_time.isoformat()}) was {_age_text(age)} before the report, more than "
                       f"{rules.race_losses_within_hours:g} h: registered for the dispatcher to agree a survey time "
                       f"with the customer, not raced against the {zone.value} arrival limit")
    claim = ClaimRegistered(
        event_id=derived_event_id("registered", report.event_id),
        occurred_at=now,
        report_id=report.report_id,
        region_id=region.region_id,
        zone=zone,
        loss_type=report.loss_type,
        reported_at=report.occurred_at,
        lat=report.location.lat,
        lon=report.location.lon,
        deadline_at=deadline,
        address=report.location.address,
        contact=SceneContact(name=report.reporter.name, phone=report.reporter.phone, relation=report.reporter.relation),
        priority=rules.priority.of(report),
    )
    return Accepted(report, claim, appointment)


def _age_text(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} h"
