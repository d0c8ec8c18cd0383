import json
from datetime import timedelta

from models.dispatch.rules import DispatchRules
from models.dispatch.intake import MAX_REPORT_BYTES, Accepted, Rejected, RejectReason, register_report
from models.dispatch.zones import Zone
from tests.unit.builders import NOW, REGION, offset
from tests.report_factory import report_dict

RULES = DispatchRules()


def register(data) -> Accepted | Rejected:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return register_report(raw, (REGION,), RULES, NOW)


def test_a_valid_report_is_placed_in_its_region_and_zone_with_a_deadline():
    result = register(report_dict(at=offset(5)))
    assert isinstance(result, Accepted)
    assert result.claim.region_id == "hz" and result.claim.zone is Zone.URBAN
    assert result.claim.deadline_at == result.report.occurred_at + timedelta(minutes=30)


def test_zone_decides_the_deadline():
    assert register(report_dict(at=offset(30))).claim.deadline_at - NOW == timedelta(minutes=60)
    assert register(report_dict(at=offset(70))).claim.deadline_at - NOW == timedelta(minutes=90)


def test_a_remote_scene_is_held_to_the_time_agreed_with_the_customer():
    agreed = NOW + timedelta(hours=4)
    result = register(report_dict(at=offset(150), agreed_arrival_at=agreed.isoformat()))
    assert result.claim.zone is Zone.REMOTE and result.claim.deadline_at == agreed


def test_not_json_is_refused_with_a_readable_reason():
    result = register(b"{report: not json")
    assert isinstance(result, Rejected) and result.reason is RejectReason.NOT_JSON
    assert "not valid JSON" in result.detail


def test_a_missing_policy_number_names_the_field():
    data = report_dict()
    del data["policy"]["number"]
    result = register(data)
    assert result.reason is RejectReason.INVALID_SCHEMA and result.detail == "missing field: policy.number"


def test_a_loss_time_in_the_future_is_refused():
    result = register(report_dict(loss_time=(NOW + timedelta(days=1)).isoformat()))
    assert result.reason is RejectReason.LOSS_TIME_IN_FUTURE


def test_a_scene_outside_every_service_area_is_refused():
    assert register(report_dict(at=(39.9, 116.4))).reason is RejectReason.OUTSIDE_SERVICE_AREA


def test_an_unknown_loss_type_has_its_own_reason():
    assert register(report_dict(loss_type="meteor")).reason is RejectReason.UNKNOWN_LOSS_TYPE


def test_a_naive_time_is_refused():
    result = register(report_dict(loss_time="2026-11-26T09:00:00"))
    assert result.reason is RejectReason.INVALID_SCHEMA and "loss_time" in result.detail


def test_a_newer_schema_version_is_refused_not_guessed():
    assert register(report_dict(schema_version=2)).reason is RejectReason.UNSUPPORTED_SCHEMA_VERSION


def test_oversized_payloads_are_refused_before_parsing():
    assert register(b" " * (MAX_REPORT_BYTES + 1)).reason is RejectReason.TOO_LARGE


def test_reasons_never_carry_the_reporters_phone_or_name():
    data = report_dict()
    data["reporter"]["phone"] = 12345  # wrong type: pydantic would echo the input if allowed
    data["reporter"]["name"] = ""
    result = register(data)
    assert isinstance(result, Rejected)
    assert "12345" not in result.detail and "reporter.phone" in result.detail


def test_the_fast_json_path_reads_a_report_exactly_as_the_checked_path_does():
    """register_report validates straight from bytes (pydantic-core's JSON mode) and only takes the slower
    json.loads route to explain a refusal: both must read a valid report the same way."""
    from models.contract.loss_report import LossReported

    for data in (report_dict(at=offset(5)), report_dict(at=offset(70), loss_type="theft"),
                 report_dict(at=offset(150), agreed_arrival_at=(NOW + timedelta(hours=4)).isoformat()),
                 {**report_dict(at=offset(5)), "unknown_field": 1, "description": "  padded  "}):
        raw = json.dumps(data, ensure_ascii=False).encode()
        assert LossReported.model_validate_json(raw) == LossReported.model_validate(json.loads(raw))
        assert register(raw).report == LossReported.model_validate(json.loads(raw))


def test_an_empty_object_is_invalid_schema_and_names_every_missing_field():
    result = register({})
    assert result.reason is RejectReason.INVALID_SCHEMA
    assert result.detail == ("missing fields: event_id, occurred_at, report_id, reporter, insured, policy, loss_time, "
                             "location, loss_type")
    no_type = report_dict()
    del no_type["loss_type"]
    assert register(no_type).reason is RejectReason.INVALID_SCHEMA  # missing, not unknown
    assert register(report_dict(loss_type="meteor")).reason is RejectReason.UNKNOWN_LOSS_TYPE


def test_an_agreed_arrival_not_after_the_report_is_refused():
    for agreed in (NOW - timedelta(hours=1), NOW):
        result = register(report_dict(at=offset(5), now=NOW, agreed_arrival_at=agreed.isoformat()))
        assert result.reason is RejectReason.AGREED_ARRIVAL_BEFORE_REPORT, agreed
        assert "is not after the report" in result.detail


def test_an_agreed_arrival_beyond_the_horizon_is_refused():
    result = register(report_dict(at=offset(150), now=NOW, agreed_arrival_at=(NOW + timedelta(hours=73)).isoformat()))
    assert result.reason is RejectReason.AGREED_ARRIVAL_TOO_FAR_AHEAD and "72 h" in result.detail
    shorter = DispatchRules(agreed_arrival_horizon_hours=2)
    raw = json.dumps(report_dict(at=offset(5), now=NOW, agreed_arrival_at=(NOW + timedelta(hours=3)).isoformat()))
    assert register_report(raw.encode(), (REGION,), shorter, NOW).reason is RejectReason.AGREED_ARRIVAL_TOO_FAR_AHEAD


def test_an_agreed_arrival_later_than_the_limit_is_honoured_in_every_zone_and_an_earlier_one_is_not_tighter():
    later = NOW + timedelta(hours=5)
    for km, zone in ((5, Zone.URBAN), (30, Zone.SUBURBAN), (70, Zone.FAR), (150, Zone.REMOTE)):
        result = register(report_dict(at=offset(km), now=NOW, agreed_arrival_at=later.isoformat()))
        assert result.claim.zone is zone and result.claim.deadline_at == later, zone
    sooner = register(report_dict(at=offset(5), now=NOW, agreed_arrival_at=(NOW + timedelta(minutes=10)).isoformat()))
    assert sooner.claim.deadline_at == NOW + timedelta(minutes=30)  # the limit still holds


def test_a_loss_older_than_the_window_is_registered_as_an_appointment_case_not_raced():
    old = register(report_dict(at=offset(5), now=NOW, loss_time=(NOW - timedelta(days=400)).isoformat()))
    assert isinstance(old, Accepted) and old.appointment is not None
    assert "400 days before the report" in old.appointment and "not raced" in old.appointment
    yesterday = register(report_dict(at=offset(5), now=NOW, loss_time=(NOW - timedelta(hours=23)).isoformat()))
    assert yesterday.appointment is None
    narrow = DispatchRules(race_losses_within_hours=6)
    raw = json.dumps(report_dict(at=offset(5), now=NOW, loss_time=(NOW - timedelta(hours=7)).isoformat())).encode()
    assert "7 h before the report" in register_report(raw, (REGION,), narrow, NOW).appointment


def test_an_assignment_tells_the_surveyor_where_to_go_and_whom_to_call():
    raw = report_dict(at=offset(5), now=NOW)
    result = register(raw)
    assert result.claim.address == "West Lake Road 1"
    assert (result.claim.contact.name, result.claim.contact.phone) == ("王偉", raw["reporter"]["phone"])


def test_the_report_schema_example_is_a_valid_report():
    from models.contract.loss_report import EXAMPLE_REPORT, LossReported

    example = LossReported.model_validate(EXAMPLE_REPORT)
    assert example.loss_time < example.occurred_at
    assert LossReported.model_json_schema()["examples"] == [EXAMPLE_REPORT]


def test_a_dead_letter_names_the_report_and_event_when_they_can_be_read():
    from datetime import datetime, timezone

    from models.contract.dead_letter import dead_letter_for

    now = datetime.now(timezone.utc)
    data = report_dict(report_id="RPT-42")
    del data["loss_type"]
    letter = dead_letter_for("hotline.reports", 0, 7, None, json.dumps(data).encode(), "invalid_schema", "x", now)
    assert (letter.report_id, letter.source_event_id) == ("RPT-42", data["event_id"])
    for raw in (b"{not json", b"[1, 2]", b'{"report_id": 17}', b"\xff\xfe"):
        letter = dead_letter_for("hotline.reports", 0, 8, None, raw, "not_json", "x", now)
        assert (letter.report_id, letter.source_event_id) == (None, None), raw
