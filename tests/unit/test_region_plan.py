from datetime import time, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from models.dispatch.arrivals import best_option
from models.dispatch.fleet import VehicleState
from models.contract.dispatch_events import EscalationReason, SurveyorAssigned, SurveyorReassigned
from models.dispatch.rules import DispatchRules
from models.dispatch.planner import _IMPOSSIBLE, _pairs, plan_region
from models.contract.loss_report import LossType
from models.dispatch.roster import ShiftKind
from models.dispatch.travel import StraightLineTravel
from tests.unit.builders import CENTRE, NOW, claim, offset, pending, state, surveyor, vehicle

RULES = DispatchRules()
TRAVEL = StraightLineTravel()


def plan(claims, surveyors, vehicles, now=NOW):
    return plan_region([c if hasattr(c, "claim") else pending(c) for c in claims], surveyors, vehicles, RULES,
                       TRAVEL, now)


def only(p):
    [a] = p.assigned
    return a


def test_one_report_gets_the_surveyor_who_arrives_first():
    near, far = surveyor("near", at=offset(4)), surveyor("far", at=offset(-10))
    a = only(plan([claim(at=offset(5))], [state(far), state(near)], [vehicle("v1", at=offset(4)),
                                                                       vehicle("v2", at=offset(-10))]))
    assert (a.surveyor_id, a.vehicle_id) == ("near", "v1") and a.meets_deadline


def test_workload_breaks_a_tie_in_arrival_time():
    a = only(plan([claim()], [state(surveyor("a"), tasks_today=3), state(surveyor("b"), tasks_today=1)], [vehicle("v")]))
    assert a.surveyor_id == "b"


def test_never_a_busy_off_duty_or_unskilled_surveyor():
    night = surveyor("night", shift=ShiftKind.NIGHT, start=time(20), end=time(8))
    ss = [state(surveyor("busy"), busy=True), state(night), state(surveyor("prop", skills=(LossType.PROPERTY,))),
          state(surveyor("ok", at=offset(-12)))]
    assert only(plan([claim()], ss, [vehicle("v")])).surveyor_id == "ok"


def test_a_shift_ended_in_the_app_overrides_the_roster_window():
    ss = [state(surveyor("gone"), duty=False), state(surveyor("called_in", shift=ShiftKind.NIGHT, start=time(20),
                                                              end=time(8)), duty=True)]
    assert only(plan([claim()], ss, [vehicle("v")])).surveyor_id == "called_in"


def test_the_vehicle_must_carry_what_the_loss_type_needs():
    s = state(surveyor("s", skills=(LossType.INJURY,)))
    a = only(plan([claim(loss_type=LossType.INJURY)], [s], [vehicle("plain"), vehicle("aid", equipment=("camera", "first_aid"))]))
    assert a.vehicle_id == "aid"
    p = plan([claim(loss_type=LossType.INJURY)], [s], [vehicle("plain")])
    assert not p.assigned and p.escalated[0].reason is EscalationReason.NO_EQUIPPED_VEHICLE


def test_escalates_at_once_with_the_reason_when_no_one_can_go():
    c = claim()
    assert plan([c], [], [vehicle("v")]).escalated[0].reason is EscalationReason.NO_SURVEYOR_ON_DUTY
    p = plan([c], [state(surveyor("p", skills=(LossType.PROPERTY,)))], [vehicle("v")])
    assert p.escalated[0].reason is EscalationReason.NO_SKILLED_SURVEYOR and p.escalated[0].options


def test_a_late_arrival_predicted_at_dispatch_is_sent_and_escalated_at_once():
    p = plan([claim(at=offset(10))], [state(surveyor("far", at=offset(-40)))], [vehicle("v", at=offset(-40))])
    a = only(p)
    assert not a.meets_deadline
    [e] = p.escalated
    assert e.reason is EscalationReason.DEADLINE_UNREACHABLE and "min after the deadline" in e.detail


def test_a_claim_waits_for_a_surveyor_who_will_still_be_on_time_rather_than_escalating():
    busy = state(surveyor("busy", at=offset(4)), busy=True, free_at=NOW + timedelta(minutes=5))
    c = claim(at=offset(5))
    p = plan([c], [busy], [vehicle("v", at=offset(4))])
    assert p.waiting == ["R1"] and not p.escalated and not p.assigned
    assert p.reviews == {"R1": c.reported_at + timedelta(minutes=RULES.dispatch_within_minutes)}  # to raise overdue


def test_a_claim_waits_for_a_busy_surveyor_on_time_rather_than_taking_a_free_one_who_is_late():
    busy = state(surveyor("busy", at=offset(4)), busy=True, free_at=NOW + timedelta(minutes=5))
    far = state(surveyor("far", at=offset(-40)))
    p = plan([claim(at=offset(5))], [far, busy], [vehicle("v", at=offset(4)), vehicle("w", at=offset(-40))])
    assert p.waiting == ["R1"] and not p.assigned and not p.escalated
    # and when the busy one would be late too, the free one is sent (late, and escalated at once)
    slow = state(surveyor("busy", at=offset(4)), busy=True, free_at=NOW + timedelta(hours=3))
    q = plan([claim(at=offset(5))], [far, slow], [vehicle("v", at=offset(4)), vehicle("w", at=offset(-40))])
    assert only(q).surveyor_id == "far" and [e.reason for e in q.escalated] == [EscalationReason.DEADLINE_UNREACHABLE]


def test_a_claim_does_not_wait_for_a_busy_surveyor_on_the_vehicle_the_plan_sends_out():
    # Found by the property test. One vehicle; the free surveyor can reach A on time or B late; the busy one,
    # free in 20 minutes, could reach A on time, but only with that vehicle. Waiting for her while the free
    # one drives it to B meets no deadline; sending the free one to A meets one.
    free, busy = surveyor("free"), surveyor("busy")
    a, b = claim(at=offset(0), report_id="A"), claim(at=offset(11), report_id="B")
    p = plan([a, b], [state(free), state(busy, busy=True, free_at=NOW + timedelta(minutes=20))], [vehicle("v")])
    assert [(x.report_id, x.surveyor_id, x.meets_deadline) for x in p.assigned] == [("A", "free", True)]
    assert not p.waiting and [e.report_id for e in p.escalated] == ["B"]
    # with a second vehicle for her, A waits for her and the free one goes to B (late, escalated at once)
    q = plan([a, b], [state(free), state(busy, busy=True, free_at=NOW + timedelta(minutes=20))],
             [vehicle("v"), vehicle("w")])
    assert q.waiting == ["A"] and [(x.report_id, x.surveyor_id) for x in q.assigned] == [("B", "free")]


def test_waiting_past_the_dispatch_limit_is_escalated_once():
    busy = state(surveyor("busy", at=offset(4)), busy=True, free_at=NOW + timedelta(minutes=6))
    late = NOW + timedelta(minutes=5)
    p = plan([pending(claim(at=offset(5)), pending_since=NOW)], [busy], [vehicle("v", at=offset(4))], now=late)
    assert [e.reason for e in p.escalated] == [EscalationReason.DISPATCH_OVERDUE] and p.reviews == {"R1": None}
    again = plan([pending(claim(at=offset(5)), pending_since=NOW, raised=frozenset({"dispatch_overdue"}))],
                 [busy], [vehicle("v", at=offset(4))], now=late)
    assert not again.escalated and again.waiting == ["R1"] and again.reviews == {"R1": None}


def test_only_a_claim_left_waiting_without_an_escalation_has_a_review_time():
    busy = state(surveyor("busy", at=offset(4)), busy=True, free_at=NOW + timedelta(minutes=5))
    sent = plan([claim(at=offset(5))], [state(surveyor("s"))], [vehicle("v", at=offset(4))])
    hopeless = plan([claim(at=offset(5))], [state(surveyor("b"), busy=True, free_at=NOW + timedelta(hours=3))],
                    [vehicle("v", at=offset(4))])
    waiting = plan([claim(at=offset(5))], [busy], [vehicle("v", at=offset(4))])
    assert sent.reviews == {"R1": None} and hopeless.reviews == {"R1": None}
    assert waiting.reviews["R1"] is not None


def test_with_everyone_busy_the_reason_is_that_not_the_vehicles_they_took():
    p = plan([claim()], [state(surveyor("b"), busy=True, free_at=NOW + timedelta(hours=3))],
             [vehicle("v", busy=True)])
    assert [e.reason for e in p.escalated] == [EscalationReason.ALL_SURVEYORS_BUSY]


def test_a_stored_surveyor_is_seen_as_of_now_and_says_how_long_that_holds():
    from models.dispatch.fleet import FOREVER, SurveyorRecord

    s, m = surveyor("s"), timedelta(minutes=1)
    free = SurveyorRecord(s, 30.0, 120.0, busy=False)
    assert free.state_at(NOW, 25) == (state(s, at=(30.0, 120.0)), FOREVER)
    override = SurveyorRecord(s, 30.0, 120.0, busy=False, duty=False, duty_until=NOW + 60 * m)
    assert override.state_at(NOW, 25)[0].duty is False and override.state_at(NOW, 25)[1] == NOW + 60 * m
    assert override.state_at(NOW + 60 * m, 25) == (state(s, at=(30.0, 120.0)), FOREVER)  # lapsed

    driving = SurveyorRecord(s, 30.0, 120.0, busy=True, estimated_arrival_at=NOW + 10 * m, vehicle_id="v")
    assert driving.state_at(NOW, 25) == (state(s, busy=True, at=(30.0, 120.0), free_at=NOW + 35 * m), NOW + 10 * m)
    late = driving.state_at(NOW + 15 * m, 25)  # past the expected arrival, not arrived: from now, and moving
    assert late == (state(s, busy=True, at=(30.0, 120.0), free_at=NOW + 40 * m), NOW + 15 * m)

    there = SurveyorRecord(s, 30.0, 120.0, busy=True, arrived_at=NOW, estimated_arrival_at=NOW - m, vehicle_id="v")
    assert there.state_at(NOW + 5 * m, 25) == (state(s, busy=True, at=(30.0, 120.0), free_at=NOW + 25 * m),
                                               NOW + 25 * m)
    assert there.state_at(NOW + 30 * m, 25)[0].free_at == NOW + 30 * m  # overrunning: free "now"
    assert there.state_at(NOW + 30 * m, 25)[1] == NOW + 30 * m

    sent = free.with_task("v9", NOW + 12 * m, (30.2, 120.3))
    assert (sent.busy, sent.arrived_at, sent.estimated_arrival_at, sent.vehicle_id, sent.tasks_today) == \
        (True, None, NOW + 12 * m, "v9", 1)
    assert sent.state_at(NOW, 25)[0].lat == 30.2 and sent.state_at(NOW, 25)[0].lon == 120.3  # free at the scene
    assert (sent.lat, sent.lon) == (30.0, 120.0)  # where it was last reported stays the record's


def test_a_vehicle_out_on_a_task_is_out_and_with_its_surveyor_at_the_scene():
    from models.dispatch.fleet import SurveyorRecord, fleet_states

    m = timedelta(minutes=1)
    v_out, v_home = vehicle("v-out").vehicle, vehicle("v-home", at=offset(3)).vehicle
    out = SurveyorRecord(surveyor("a"), 30.0, 120.0, busy=True, estimated_arrival_at=NOW + 9 * m, vehicle_id="v-out",
                         scene=(30.3, 120.4))
    home = SurveyorRecord(surveyor("b"), 30.1, 120.1, busy=False, vehicle_id="v-home")  # a task that ended
    fleet = fleet_states([(v_out, 30.0, 120.0), (v_home, None, None)], [out, home])
    assert [(v.vehicle.vehicle_id, v.busy, v.position) for v in fleet] == \
        [("v-out", True, (30.3, 120.4)), ("v-home", False, offset(3))]


def test_free_on_duty_is_free_and_on_shift_by_the_roster_or_the_app():
    from models.dispatch.fleet import free_on_duty

    ss = [state(surveyor("free")), state(surveyor("busy"), busy=True),
          state(surveyor("night", shift=ShiftKind.NIGHT, start=time(20), end=time(8))),
          state(surveyor("went_home"), duty=False)]
    assert [s.surveyor_id for s in free_on_duty(ss, NOW, RULES)] == ["free"]


def test_a_surveyor_who_declined_is_passed_over_and_the_task_is_a_reassignment():
    import uuid

    prev = uuid.uuid4()
    p = plan([pending(claim(at=offset(5)), attempt=2, exclude=frozenset({"a"}), previous_task_id=prev,
                      reassign_reason="declined")],
             [state(surveyor("a", at=offset(5))), state(surveyor("b", at=offset(-8)))], [vehicle("v")])
    a = only(p)
    assert isinstance(a, SurveyorReassigned) and a.surveyor_id == "b" and a.previous_task_id == prev
    assert a.reason == "declined"


def test_in_a_storm_the_joint_decision_meets_a_deadline_that_one_at_a_time_misses():
    # A is reported first. Alone, A would take S1 (nearest); then only S2 is left for B, who is too far.
    s1, s2 = surveyor("s1", at=offset(0)), surveyor("s2", at=offset(10))
    fleet = [vehicle("v1", at=offset(0)), vehicle("v2", at=offset(10))]
    a, b = claim(at=offset(3), report_id="A"), claim(at=offset(-9), report_id="B", minutes=31)

    first = only(plan([a], [state(s1), state(s2)], fleet))
    assert first.surveyor_id == "s1"
    second = only(plan([b], [state(s1, busy=True), state(s2)], [vehicle("v1", busy=True), fleet[1]]))
    assert not second.meets_deadline  # one at a time: a missed deadline

    joint = plan([a, b], [state(s1), state(s2)], fleet)
    by_report = {x.report_id: x for x in joint.assigned}
    assert by_report["A"].surveyor_id == "s2" and by_report["B"].surveyor_id == "s1"
    assert all(x.meets_deadline for x in joint.assigned) and not joint.escalated


def test_the_same_input_gives_the_same_plan():
    ss = [state(surveyor(f"s{i}", at=offset(i))) for i in range(5)]
    vs = [vehicle(f"v{i}", at=offset(-i)) for i in range(3)]
    cs = [claim(at=offset(k), report_id=f"R{k}") for k in range(4)]
    assert plan(cs, ss, vs).assigned == plan(list(reversed(cs)), list(reversed(ss)), list(reversed(vs))).assigned



def test_a_claim_is_not_left_waiting_for_a_busy_surveyor_whose_only_vehicle_another_claims_surveyor_takes():
    # Found by the property test below. Two claims at the busy surveyor's scene (free in 20 min: on time for
    # either), one vehicle there, and a free surveyor 12 km off (late for either). One claim counts on the busy
    # surveyor; the other is sent the free one, in the only vehicle: then the first has no prospect either.
    people = [state(surveyor("far", at=offset(12))), state(surveyor("busy", at=offset(0)), busy=True,
                                                            free_at=NOW + timedelta(minutes=20))]
    p = plan([claim(at=offset(0), report_id="R0"), claim(at=offset(0), report_id="R1")], people,
             [vehicle("v0", at=offset(0))])
    assert [(a.surveyor_id, a.vehicle_id) for a in p.assigned] == [("far", "v0")] and not p.waiting
    [left] = [e for e in p.escalated if e.report_id not in {a.report_id for a in p.assigned}]
    assert left.reason is EscalationReason.ALL_SURVEYORS_BUSY


def test_one_vehicle_fit_for_the_claims_goes_to_the_surveyor_on_time_however_the_rounds_go():
    # Found by the property test below. One camera among four vehicles, two free surveyors (one beside it, one
    # 8 km off), five town claims and a property claim only the near surveyor can take. Each round of settling
    # vehicles leaves a claim that lost the camera without it for good; the plan is the best round's, not the
    # last: the near surveyor takes the camera to a claim beside it, on time.
    people = [state(surveyor("nb", region="nb")), state(surveyor("far", at=offset(8))),
              state(surveyor("near", skills=(LossType.VEHICLE, LossType.PROPERTY)))]
    fleet = [vehicle(f"v{k}", equipment=()) for k in range(3)] + [
        vehicle("v3", equipment=("camera", "measuring_kit", "first_aid"))]
    claims = ([claim(at=offset(3), report_id="R0")] + [claim(at=offset(0), report_id=f"R{k}") for k in range(1, 5)]
              + [claim(at=offset(12), loss_type=LossType.PROPERTY, report_id="R5")])
    [a] = plan(claims, people, fleet).assigned
    assert (a.surveyor_id, a.vehicle_id, a.meets_deadline) == ("near", "v3", True)

people = st.lists(
    st.tuples(st.booleans(), st.sampled_from([ShiftKind.DAY, ShiftKind.NIGHT]),
              st.sets(st.sampled_from(list(LossType)), min_size=1), st.floats(-40, 40), st.sampled_from(["hz", "nb"])),
    max_size=10,
)
cars = st.lists(st.tuples(st.booleans(), st.sets(st.sampled_from(["camera", "first_aid", "measuring_kit", "rain_gear"])),
                          st.sampled_from(["hz", "nb"]), st.floats(-20, 20)), max_size=8)
reports = st.lists(st.tuples(st.sampled_from(list(LossType)), st.floats(-14, 14)), min_size=1, max_size=8)


@settings(max_examples=250, deadline=None)
@given(people, cars, reports)
def test_property_every_claim_is_assigned_waiting_or_escalated_and_nobody_is_double_booked(ps, vs, rs):
    surveyors = []
    for i, (busy, shift, skills, km, region) in enumerate(ps):
        start, end = (time(8), time(20)) if shift is ShiftKind.DAY else (time(20), time(8))
        surveyors.append(state(surveyor(f"s{i}", at=offset(km), skills=skills, shift=shift, start=start, end=end,
                                        region=region), busy=busy, free_at=NOW + timedelta(minutes=20) if busy else None))
    vehicles = [vehicle(f"v{i}", equipment=eq, region=region, busy=busy, at=offset(km))
                for i, (busy, eq, region, km) in enumerate(vs)]
    claims = [claim(at=offset(km), loss_type=lt, report_id=f"R{i}") for i, (lt, km) in enumerate(rs)]
    p = plan(claims, surveyors, vehicles)

    assigned = {a.report_id for a in p.assigned}
    escalated = {e.report_id for e in p.escalated}
    for c in claims:
        outcomes = (c.report_id in assigned) + (c.report_id in p.waiting) + (c.report_id in escalated and
                                                                             c.report_id not in assigned)
        assert outcomes == 1, c.report_id
    assert len({a.surveyor_id for a in p.assigned}) == len(p.assigned)
    assert len({a.vehicle_id for a in p.assigned}) == len(p.assigned)
    by_id = {s.surveyor_id: s for s in surveyors}
    cars_by_id = {v.vehicle.vehicle_id: v for v in vehicles}
    for a in p.assigned:
        s, v = by_id[a.surveyor_id], cars_by_id[a.vehicle_id]
        lt = next(c.loss_type for c in claims if c.report_id == a.report_id)
        assert not s.busy and s.surveyor.region_id == "hz" and lt in s.surveyor.skills and s.on_duty(time(10))
        assert not v.busy and v.vehicle.region_id == "hz" and RULES.equipment_for[lt] <= v.vehicle.equipment
        assert isinstance(a, SurveyorAssigned)
    for e in p.escalated:
        assert e.detail and e.options
    on_time = sum(a.meets_deadline for a in p.assigned)
    # A claim left waiting has a real prospect: a busy surveyor who, once free, reaches it in time with a vehicle
    # the plan does not send out. Deadlines met in prospect: as many such claims as there are busy surveyors for.
    taken = {a.vehicle_id for a in p.assigned}
    spare = [VehicleState(v.vehicle, False, v.lat, v.lon) for v in vehicles if v.vehicle.vehicle_id not in taken]
    busy = [s for s in surveyors if s.busy]
    reach = np.array([[o is not None and o.eta <= c.deadline_at
                       for o in (best_option(c, s, spare, RULES, TRAVEL, NOW) for s in busy)]
                      for c in claims if c.report_id in p.waiting], dtype=bool).reshape(len(p.waiting), len(busy))
    assert reach.any(axis=1).all(), "a claim left waiting for a surveyor who cannot make it"
    rows, cols = linear_sum_assignment(reach, maximize=True)
    prospects = int(reach[rows, cols].sum())
    # never fewer deadlines met (assigned on time, or in prospect) than deciding the claims one at a time in order
    greedy_on_time, taken_s, taken_v = 0, set(), set()
    for c in sorted(claims, key=lambda c: (c.deadline_at, c.report_id)):
        ss = [s if s.surveyor_id not in taken_s else state(s.surveyor, busy=True, at=(s.lat, s.lon)) for s in surveyors]
        vv = [v if v.vehicle.vehicle_id not in taken_v else vehicle(v.vehicle.vehicle_id, busy=True) for v in vehicles]
        single = plan([c], ss, vv)
        for a in single.assigned:
            taken_s.add(a.surveyor_id)
            taken_v.add(a.vehicle_id)
            greedy_on_time += a.meets_deadline
    assert on_time + prospects >= greedy_on_time


def test_two_pairs_wanting_one_vehicle_are_solved_again_so_no_deadline_is_lost_to_it():
    # Found by the property test: two surveyors beside one vehicle, a second vehicle 8 km off. Paired by arrival
    # alone, both would take the near vehicle to the two claims beside it, and the second pair, left with the
    # far one, is late; one of them should instead take the far vehicle to the claim 2 km off, which it reaches
    # in time (at night speeds: 15 + 11.25 + 3 min set-up).
    night = NOW + timedelta(hours=13)  # 23:00 in Shanghai
    ss = [state(surveyor("s0", shift=ShiftKind.ON_CALL, start=time(0), end=time(0), all_day=True)),
          state(surveyor("s1", shift=ShiftKind.ON_CALL, start=time(0), end=time(0), all_day=True))]
    vs = [vehicle("v0"), vehicle("v1", at=offset(8))]
    cs = [claim(at=CENTRE, report_id="R0", reported=night), claim(at=offset(2), report_id="R1", reported=night),
          claim(at=CENTRE, report_id="R2", reported=night)]
    p = plan(cs, ss, vs, now=night)
    assert sum(a.meets_deadline for a in p.assigned) == 2
    assert {a.vehicle_id for a in p.assigned} == {"v0", "v1"}


def test_a_claim_that_cannot_have_the_one_vehicle_does_not_wear_the_rounds_out_surveyor_by_surveyor():
    # Found by the property test: six surveyors beside the depot, one 4 km on, the only equipped vehicle 8 km
    # off, two claims. The claim that loses the vehicle was tried with each surveyor in turn (a round each) until
    # the rounds ran out on a late pair; now the claim's arrivals are worked out again with every surveyor.
    near = [state(surveyor(f"s{i}", at=offset(0))) for i in range(6)]
    ahead = state(surveyor("s6", at=offset(4)))
    cars = [vehicle(f"v{i}", at=offset(0), equipment=set()) for i in range(5)] + [vehicle("v5", at=offset(8))]
    p = plan([claim(at=offset(2), report_id="R0"), claim(at=offset(0), report_id="R1")], near + [ahead], cars)
    a = only(p)
    assert (a.report_id, a.surveyor_id, a.vehicle_id, a.meets_deadline) == ("R0", "s6", "v5", True)



def test_an_assignment_carries_the_scene_and_whom_to_call():
    from models.contract.dispatch_events import SceneContact

    who = SceneContact(name="王偉", phone="13812345678", relation="driver")
    c = claim(at=offset(5)).model_copy(update={"address": "West Lake Road 1", "contact": who})
    a = only(plan([c], [state(surveyor("s"))], [vehicle("v")]))
    assert (a.scene.address, a.scene.lat, a.scene.lon) == ("West Lake Road 1", c.lat, c.lon)
    assert a.contact == who


def _reference_total(cost: np.ndarray, leave: np.ndarray) -> float:
    """The least total of pairs and claims left, by the square form: every claim takes a surveyor or a column of
    its own that leaves it."""
    n = len(leave)
    left = np.full((n, n), _IMPOSSIBLE)
    np.fill_diagonal(left, leave)
    full = np.hstack([cost, left])
    rows, cols = linear_sum_assignment(full)
    return float(full[rows, cols].sum())


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_property_pairs_cost_the_least_whichever_way_round_the_problem_is_solved(n, m, seed):
    # A storm's backlog (more claims than free surveyors) is solved as the surveyors' problem, not the claims':
    # it must cost as little as the claims' form, and never pair what cannot be paired.
    rng = np.random.default_rng(seed)
    cost = np.where(rng.random((n, m)) < 0.2, _IMPOSSIBLE, rng.choice([0.0, 1e4, 2e4], (n, m)) + rng.random((n, m)))
    leave = rng.choice([0.0, 1e4 - 1.0, 1e6], n) + rng.random(n) * 10
    chosen = _pairs(cost, leave)
    assert len(set(chosen.values())) == len(chosen)
    assert all(cost[i, j] < _IMPOSSIBLE for i, j in chosen.items())
    total = sum(cost[i, j] for i, j in chosen.items()) + sum(leave[i] for i in range(n) if i not in chosen)
    assert abs(total - _reference_total(cost, leave)) <= 1e-6 * max(1.0, abs(total))
