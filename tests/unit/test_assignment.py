from datetime import time

from hypothesis import given, settings
from hypothesis import strategies as st

from models.assignment import decide_dispatch
from models.dispatch_events import DispatchEscalated, EscalationReason, SurveyorAssigned
from models.dispatch_rules import DispatchRules
from models.reports import LossType
from models.roster import ShiftKind
from models.travel import StraightLineTravel
from tests.unit.builders import NOW, claim, offset, state, surveyor, vehicle

RULES = DispatchRules()
TRAVEL = StraightLineTravel()


def decide(c, surveyors, vehicles, **kw):
    return decide_dispatch(c, surveyors, vehicles, RULES, TRAVEL, NOW, **kw)


def test_sends_the_surveyor_who_arrives_first():
    near, far = surveyor("near", at=offset(4)), surveyor("far", at=offset(-10))
    d = decide(claim(at=offset(5)), [state(far), state(near)], [vehicle("v1", at=offset(4)), vehicle("v2", at=offset(-10))])
    assert isinstance(d, SurveyorAssigned)
    assert (d.surveyor_id, d.vehicle_id) == ("near", "v1")
    assert d.meets_deadline and d.estimated_arrival_at <= d.deadline_at


def test_workload_breaks_a_tie_in_arrival_time():
    a, b = surveyor("a"), surveyor("b")
    d = decide(claim(), [state(a, tasks_today=3), state(b, tasks_today=1)], [vehicle("v1")])
    assert d.surveyor_id == "b"


def test_never_sends_a_busy_off_duty_or_unskilled_surveyor():
    busy = surveyor("busy")
    night = surveyor("night", shift=ShiftKind.NIGHT, start=time(20), end=time(8))
    property_only = surveyor("prop", skills=(LossType.PROPERTY,))
    ok = surveyor("ok", at=offset(-12))
    d = decide(claim(), [state(busy, busy=True), state(night), state(property_only), state(ok)], [vehicle("v1")])
    assert d.surveyor_id == "ok"


def test_a_night_shift_across_midnight_is_on_duty_at_night():
    night = surveyor("night", shift=ShiftKind.NIGHT, start=time(20), end=time(8))
    assert night.on_duty_at(time(23, 30)) and night.on_duty_at(time(2)) and not night.on_duty_at(time(9))


def test_vehicle_must_carry_the_equipment_the_loss_type_needs():
    s = surveyor("s", skills=(LossType.INJURY,))
    d = decide(claim(loss_type=LossType.INJURY), [state(s)], [vehicle("plain"), vehicle("aid", equipment=("camera", "first_aid"))])
    assert d.vehicle_id == "aid"
    d = decide(claim(loss_type=LossType.INJURY), [state(s)], [vehicle("plain")])
    assert isinstance(d, DispatchEscalated) and d.reason is EscalationReason.NO_EQUIPPED_VEHICLE


def test_escalates_with_the_reason_when_no_one_can_go():
    c = claim()
    assert decide(c, [], [vehicle("v")]).reason is EscalationReason.NO_SURVEYOR_ON_DUTY
    assert decide(c, [state(surveyor("p", skills=(LossType.PROPERTY,)))], [vehicle("v")]).reason is \
        EscalationReason.NO_SKILLED_SURVEYOR
    busy = decide(c, [state(surveyor("b"), busy=True)], [vehicle("v")])
    assert busy.reason is EscalationReason.ALL_SURVEYORS_BUSY and busy.options and busy.detail


def test_a_surveyor_who_declined_is_passed_over():
    a, b = surveyor("a", at=offset(5)), surveyor("b", at=offset(-8))
    d = decide(claim(at=offset(5)), [state(a), state(b)], [vehicle("v")], exclude=frozenset({"a"}))
    assert d.surveyor_id == "b"


def test_an_estimate_past_the_deadline_is_flagged_not_hidden():
    far = surveyor("far", at=offset(-40))
    d = decide(claim(at=offset(10)), [state(far)], [vehicle("v", at=offset(-40))])
    assert isinstance(d, SurveyorAssigned) and not d.meets_deadline


def test_the_same_input_gives_the_same_decision():
    ss = [state(surveyor(f"s{i}", at=offset(i)) ) for i in range(5)]
    vs = [vehicle(f"v{i}", at=offset(-i)) for i in range(3)]
    assert decide(claim(), ss, vs) == decide(claim(), list(reversed(ss)), list(reversed(vs)))


people = st.lists(
    st.tuples(st.booleans(), st.sampled_from([ShiftKind.DAY, ShiftKind.NIGHT]),
              st.sets(st.sampled_from(list(LossType)), min_size=1), st.floats(-30, 30), st.sampled_from(["hz", "nb"])),
    max_size=8,
)
cars = st.lists(st.tuples(st.booleans(), st.sets(st.sampled_from(["camera", "first_aid", "measuring_kit", "rain_gear"])),
                          st.sampled_from(["hz", "nb"])), max_size=6)


@settings(max_examples=300, deadline=None)
@given(people, cars, st.sampled_from(list(LossType)))
def test_property_only_eligible_surveyors_and_vehicles_are_ever_assigned(ps, vs, loss_type):
    surveyors = []
    for i, (busy, shift, skills, km, region) in enumerate(ps):
        start, end = (time(8), time(20)) if shift is ShiftKind.DAY else (time(20), time(8))
        surveyors.append(state(surveyor(f"s{i}", at=offset(km), skills=skills, shift=shift, start=start, end=end,
                                        region=region), busy=busy))
    vehicles = [vehicle(f"v{i}", equipment=eq, region=region, busy=busy) for i, (busy, eq, region) in enumerate(vs)]
    d = decide(claim(loss_type=loss_type), surveyors, vehicles)
    if isinstance(d, SurveyorAssigned):
        s = next(x for x in surveyors if x.surveyor.surveyor_id == d.surveyor_id)
        v = next(x for x in vehicles if x.vehicle.vehicle_id == d.vehicle_id)
        assert not s.busy and s.surveyor.region_id == "hz" and loss_type in s.surveyor.skills
        assert s.surveyor.on_duty_at(time(10))  # NOW is 10:00 in Asia/Shanghai
        assert not v.busy and v.vehicle.region_id == "hz"
        assert RULES.equipment_for[loss_type] <= v.vehicle.equipment
    else:
        assert isinstance(d, DispatchEscalated) and d.detail and d.reason in EscalationReason
        eligible = [x for x in surveyors if not x.busy and x.surveyor.region_id == "hz"
                    and loss_type in x.surveyor.skills and x.surveyor.on_duty_at(time(10))]
        fleet = [v for v in vehicles if not v.busy and v.vehicle.region_id == "hz"
                 and RULES.equipment_for[loss_type] <= v.vehicle.equipment]
        assert not eligible or not fleet
