"""The desk's rules, pure: what each command does or why it is refused, what may be forced, the options an
escalation offers (naming someone), and how open escalations are counted."""

from __future__ import annotations

import uuid
from datetime import time, timedelta

from hypothesis import given, settings, strategies as st

from models.contract.desk_commands import (COMMAND_TYPES, FORCEABLE, AcknowledgeEscalation, AgreeArrivalTime,
                                           AssignSurveyor, CancelClaim, DispatchCommand, Outcome, Reassign, Refusal,
                                           SetSurveyorDuty)
from models.contract.dispatch_events import ArrivalTimeAgreed, ClaimCancelled, SurveyorAssigned, SurveyorReassigned, TaskWithdrawn
from models.contract.loss_report import LossType
from models.desk.commands import ClaimView, DeskState, EscalationView, LiveTask, decide
from models.desk.escalations import age_band, unclosed_figures
from models.desk.options import desk_options, earliest_promise
from models.dispatch.rules import DispatchRules
from models.dispatch.tasks import DispatchState, TaskStatus
from models.dispatch.travel import StraightLineTravel
from tests.unit.builders import NOW, claim, offset, on_the_way, state, surveyor, vehicle

RULES = DispatchRules()
TRAVEL = StraightLineTravel()


def cmd(kind, **kw):
    base = dict(command_id=uuid.uuid4(), dispatcher_id="d-07", reason="night desk", issued_at=NOW)
    return kind(**base, **kw)


def view(c=None, state_=DispatchState.PENDING, live=None, surveyed=False, attempts=0):
    return ClaimView(claim=c or claim(), state=state_, attempts=attempts, live=live, surveyed=surveyed)


def live(sid="hz-s2", vid="hz-v2", status=TaskStatus.ACCEPTED):
    return LiveTask(uuid.uuid4(), sid, vid, status, "hz")


S1 = surveyor("hz-s1")
FREE = state(S1)
CAR = vehicle("hz-v1")


def test_assigning_a_free_skilled_surveyor_on_duty_creates_the_task_with_their_best_vehicle():
    d = decide(cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s1"),
               DeskState(claim=view(), surveyor=FREE, vehicles=(vehicle("far", at=offset(40)), CAR)), RULES, TRAVEL, NOW)
    assert d.result.outcome is Outcome.APPLIED and d.result.refusals == ()
    assert isinstance(d.assignment, SurveyorAssigned)
    assert (d.assignment.surveyor_id, d.assignment.vehicle_id, d.attempt) == ("hz-s1", "hz-v1", 1)
    assert d.result.task_id == d.assignment.task_id and d.resolves == "R1"
    assert "hz-s1 with hz-v1 to R1" in d.result.detail


def test_assigning_refuses_with_every_reason_and_a_supervisor_forces_only_the_judgement_calls():
    night = state(surveyor("hz-s1", skills=(LossType.PROPERTY,), start=time(20), end=time(23)))
    bare = vehicle("hz-v1", equipment=())
    state_ = DeskState(claim=view(), surveyor=night, vehicles=(bare,))
    refused = decide(cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s1"), state_, RULES, TRAVEL, NOW)
    assert refused.result.outcome is Outcome.REFUSED and refused.assignment is None
    assert set(refused.result.refusals) == {Refusal.SURVEYOR_OFF_DUTY, Refusal.SURVEYOR_UNSKILLED,
                                            Refusal.VEHICLE_MISSING_EQUIPMENT}
    assert "a supervisor may force this" in refused.result.detail
    no_reason = decide(cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s1", forced_by="sup-1"), state_, RULES,
                       TRAVEL, NOW)
    assert no_reason.result.outcome is Outcome.REFUSED and Refusal.FORCE_WITHOUT_REASON in no_reason.result.refusals
    forced = decide(cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s1", forced_by="sup-1",
                        force_reason="called in from home"), state_, RULES, TRAVEL, NOW)
    assert forced.result.outcome is Outcome.FORCED and forced.assignment.vehicle_id == "hz-v1"
    assert "forced over" in forced.result.detail


def test_what_would_contradict_the_records_cannot_be_forced():
    force = dict(forced_by="sup-1", force_reason="I say so")
    cases = [
        (DeskState(claim=view(live=live()), surveyor=FREE, vehicles=(CAR,)), Refusal.CLAIM_HAS_LIVE_TASK),
        (DeskState(claim=view(), surveyor=state(S1, busy=True), vehicles=(CAR,)), Refusal.SURVEYOR_BUSY),
        (DeskState(claim=view(), surveyor=FREE, vehicles=(vehicle("hz-v1", busy=True),)), Refusal.NO_FREE_VEHICLE),
        (DeskState(claim=view(state_=DispatchState.CANCELLED), surveyor=FREE, vehicles=(CAR,)), Refusal.CLAIM_CLOSED),
        (DeskState(claim=view(surveyed=True), surveyor=FREE, vehicles=(CAR,)), Refusal.CLAIM_CLOSED),
        (DeskState(claim=None, surveyor=FREE, vehicles=(CAR,)), Refusal.CLAIM_UNKNOWN),
        (DeskState(claim=view(), surveyor=None, vehicles=(CAR,)), Refusal.SURVEYOR_UNKNOWN),
    ]
    for desk_state, why in cases:
        d = decide(cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s1", **force), desk_state, RULES, TRAVEL, NOW)
        assert d.result.outcome is Outcome.REFUSED and why in d.result.refusals, (why, d.result)
        assert why not in FORCEABLE


def test_a_named_vehicle_that_is_out_is_refused_and_an_unknown_one_too():
    out = decide(cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s1", vehicle_id="hz-v1"),
                 DeskState(claim=view(), surveyor=FREE, vehicles=(vehicle("hz-v1", busy=True),)), RULES, TRAVEL, NOW)
    assert out.result.refusals == (Refusal.VEHICLE_BUSY,)
    unknown = decide(cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s1", vehicle_id="nope"),
                     DeskState(claim=view(), surveyor=FREE, vehicles=(CAR,)), RULES, TRAVEL, NOW)
    assert unknown.result.refusals == (Refusal.VEHICLE_UNKNOWN,)


def test_reassigning_withdraws_the_live_task_and_its_vehicle_is_free_for_the_new_one():
    held = live(sid="hz-s2", vid="hz-v1")
    d = decide(cmd(Reassign, report_id="R1", surveyor_id="hz-s1"),
               DeskState(claim=view(live=held, state_=DispatchState.ASSIGNED, attempts=1), surveyor=FREE,
                         vehicles=(vehicle("hz-v1", busy=True),)), RULES, TRAVEL, NOW)
    assert d.result.outcome is Outcome.APPLIED
    assert isinstance(d.assignment, SurveyorReassigned) and d.assignment.previous_task_id == held.task_id
    assert d.assignment.vehicle_id == "hz-v1" and d.attempt == 2
    assert d.withdraw == ((held, "reassigned"),) and d.replan == ("hz",)
    withdrawn = [e for e in d.events if isinstance(e, TaskWithdrawn)]
    assert [(w.task_id, w.surveyor_id, w.reason) for w in withdrawn] == [(held.task_id, "hz-s2", "reassigned")]
    same = decide(cmd(Reassign, report_id="R1", surveyor_id="hz-s2"),
                  DeskState(claim=view(live=held), surveyor=state(surveyor("hz-s2")), vehicles=(CAR,)), RULES, TRAVEL,
                  NOW)
    assert Refusal.SAME_SURVEYOR in same.result.refusals
    nothing = decide(cmd(Reassign, report_id="R1", surveyor_id="hz-s1"), DeskState(claim=view(), surveyor=FREE,
                                                                                     vehicles=(CAR,)), RULES, TRAVEL, NOW)
    assert nothing.result.refusals == (Refusal.CLAIM_HAS_NO_LIVE_TASK,)


def test_an_agreed_arrival_becomes_the_deadline_and_an_appointment_case_is_dispatched_against_it():
    later = NOW + timedelta(hours=2)
    d = decide(cmd(AgreeArrivalTime, report_id="R1", arrive_by=later),
               DeskState(claim=view(state_=DispatchState.APPOINTMENT)), RULES, TRAVEL, NOW)
    assert d.result.outcome is Outcome.APPLIED and d.deadline == (later, claim().deadline_at) and d.dispatch_now
    assert d.replan == ("hz",)
    notice = d.events[0]
    assert isinstance(notice, ArrivalTimeAgreed) and notice.deadline_at == later
    assert notice.previous_deadline_at == claim().deadline_at
    past = decide(cmd(AgreeArrivalTime, report_id="R1", arrive_by=NOW - timedelta(minutes=1)),
                  DeskState(claim=view()), RULES, TRAVEL, NOW)
    assert past.result.refusals == (Refusal.ARRIVAL_NOT_IN_FUTURE,)
    assigned = decide(cmd(AgreeArrivalTime, report_id="R1", arrive_by=later),
                      DeskState(claim=view(state_=DispatchState.ASSIGNED, live=live())), RULES, TRAVEL, NOW)
    assert not assigned.dispatch_now and assigned.replan == () and assigned.events[0].task_id is not None


def test_cancelling_withdraws_the_live_task_and_a_duplicate_must_name_a_known_claim():
    held = live()
    d = decide(cmd(CancelClaim, report_id="R1", cancellation="withdrawn_by_customer"),
               DeskState(claim=view(live=held, state_=DispatchState.ASSIGNED)), RULES, TRAVEL, NOW)
    assert d.result.outcome is Outcome.APPLIED and d.cancel is not None and d.withdraw == ((held, "claim_cancelled"),)
    assert [type(e) for e in d.events] == [TaskWithdrawn, ClaimCancelled] and d.replan == ("hz",)
    unknown = decide(cmd(CancelClaim, report_id="R1", cancellation="duplicate", duplicate_of="R9"),
                     DeskState(claim=view(), duplicate_of_known=False), RULES, TRAVEL, NOW)
    assert unknown.result.refusals == (Refusal.DUPLICATE_OF_UNKNOWN,)
    itself = decide(cmd(CancelClaim, report_id="R1", cancellation="duplicate", duplicate_of="R1"),
                    DeskState(claim=view(), duplicate_of_known=True), RULES, TRAVEL, NOW)
    assert itself.result.refusals == (Refusal.DUPLICATE_OF_UNKNOWN,)
    again = decide(cmd(CancelClaim, report_id="R1", cancellation="false_report"),
                   DeskState(claim=view(state_=DispatchState.CANCELLED)), RULES, TRAVEL, NOW)
    assert again.result.refusals == (Refusal.CLAIM_CLOSED,)


def test_a_surveyor_taken_off_duty_gives_up_their_task_and_the_claim_goes_back_to_dispatch():
    held = live(sid="hz-s1")
    their_claim = view(claim(report_id="R5"), state_=DispatchState.ASSIGNED, live=held)
    d = decide(cmd(SetSurveyorDuty, surveyor_id="hz-s1", on_duty=False, cause="sick"),
               DeskState(surveyor=state(S1, busy=True), surveyor_task=held, surveyor_task_claim=their_claim),
               RULES, TRAVEL, NOW)
    assert d.result.outcome is Outcome.APPLIED and d.duty is False
    assert d.withdraw == ((held, "surveyor_off_duty"),) and d.back_to_dispatch == their_claim
    assert d.replan == ("hz",) and d.result.report_id == "R5"
    back = decide(cmd(SetSurveyorDuty, surveyor_id="hz-s1", on_duty=True, cause="back_on_duty"),
                  DeskState(surveyor=FREE), RULES, TRAVEL, NOW)
    assert back.duty is True and back.withdraw == ()
    assert decide(cmd(SetSurveyorDuty, surveyor_id="x", on_duty=True, cause="other"), DeskState(), RULES, TRAVEL,
                  NOW).result.refusals == (Refusal.SURVEYOR_UNKNOWN,)


def test_an_escalation_is_acknowledged_once():
    e = EscalationView(uuid.uuid4(), "R1", "open")
    d = decide(cmd(AcknowledgeEscalation, escalation_id=e.escalation_id), DeskState(escalation=e), RULES, TRAVEL, NOW)
    assert d.acknowledge == e.escalation_id and d.result.report_id == "R1"
    seen = EscalationView(e.escalation_id, "R1", "acknowledged")
    assert decide(cmd(AcknowledgeEscalation, escalation_id=e.escalation_id), DeskState(escalation=seen), RULES,
                  TRAVEL, NOW).result.refusals == (Refusal.ESCALATION_CLOSED,)


def test_the_result_of_a_command_is_the_same_event_when_decided_again():
    c = cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s1")
    desk_state = DeskState(claim=view(), surveyor=FREE, vehicles=(CAR,))
    assert decide(c, desk_state, RULES, TRAVEL, NOW).result == decide(c, desk_state, RULES, TRAVEL, NOW).result


def test_every_command_type_is_counted():
    from typing import get_args
    union = get_args(get_args(DispatchCommand)[0])
    assert sorted(m.model_fields["type"].default for m in union) == sorted(COMMAND_TYPES)


@st.composite
def desk_states(draw):
    claim_live = draw(st.one_of(st.none(), st.sampled_from(["hz-s1", "hz-s2"])))
    task = live(sid=claim_live, vid="hz-v1") if claim_live else None
    state_ = draw(st.sampled_from(list(DispatchState)))
    surveyor_busy = draw(st.booleans()) or claim_live == "hz-s1"
    vehicles = (vehicle("hz-v1", busy=claim_live is not None or draw(st.booleans())),
                vehicle("hz-v2", busy=draw(st.booleans()), equipment=draw(st.sampled_from([(), ("camera",)]))))
    return DeskState(claim=view(live=task, state_=state_, surveyed=draw(st.booleans())),
                     surveyor=state(S1, busy=surveyor_busy, duty=draw(st.sampled_from([None, True, False]))),
                     vehicles=vehicles)


@settings(max_examples=300, deadline=None)
@given(desk_states(), st.sampled_from([AssignSurveyor, Reassign]), st.sampled_from([None, "hz-v1", "hz-v2"]),
       st.booleans())
def test_no_command_gives_a_surveyor_a_vehicle_or_a_claim_a_second_live_task(desk_state, kind, vehicle_id, force):
    extra = dict(forced_by="sup-1", force_reason="judgement") if force else {}
    d = decide(cmd(kind, report_id="R1", surveyor_id="hz-s1", vehicle_id=vehicle_id, **extra), desk_state, RULES,
               TRAVEL, NOW)
    if d.assignment is None:
        assert not d.applied
        return
    claim_task = desk_state.claim.live
    assert not desk_state.surveyor.busy                              # the surveyor had no live task
    assert not desk_state.claim.closed
    assert claim_task is None or [t for t, _ in d.withdraw] == [claim_task]  # the claim's is withdrawn
    chosen = next(v for v in desk_state.vehicles if v.vehicle.vehicle_id == d.assignment.vehicle_id)
    assert not chosen.busy or (claim_task is not None and claim_task.vehicle_id == chosen.vehicle.vehicle_id)
    assert d.result.outcome is (Outcome.FORCED if d.result.refusals else Outcome.APPLIED)
    assert all(r in FORCEABLE for r in d.result.refusals)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([1, 2, 3]), st.booleans(), st.sampled_from([None, "hz-s2"]),
       st.sampled_from([AssignSurveyor, Reassign]), st.sampled_from([None, "v-hz-s9", "hz-v1"]), st.booleans())
def test_a_turn_round_leaves_every_surveyor_vehicle_and_claim_with_one_live_task_at_most(
        given_class, arrived, claim_held_by, kind, vehicle_id, force):
    base = _turning(priority=given_class, arrived=arrived)
    held = live(sid=claim_held_by, vid="hz-v2") if claim_held_by else None
    desk_state = DeskState(**{**base.__dict__, "claim": view(base.claim.claim, live=held, attempts=1 if held else 0)})
    extra = dict(forced_by="sup-1", force_reason="judgement") if force else {}
    d = decide(cmd(kind, report_id="R1", surveyor_id="hz-s9", vehicle_id=vehicle_id, turn_round=True, **extra),
               desk_state, RULES, TRAVEL, NOW)
    # Applied exactly when the rules allow it (on the way, from a lower class or forced, the command fitting the
    # claim's task): the properties below are never checked on refusals alone.
    assert d.applied == (not arrived and (given_class > 1 or force) and (kind is Reassign) == (held is not None))
    if d.assignment is None:
        return
    their = desk_state.surveyor_task
    assert not arrived and d.withdraw[0] == (their, "diverted")     # on the way, and that task taken back
    assert [t for t, _ in d.withdraw[1:]] == ([held] if held else [])  # and the claim's own (reassign only)
    assert isinstance(d.assignment, SurveyorReassigned if held else SurveyorAssigned)
    freed = {t.vehicle_id for t, _ in d.withdraw}
    chosen = next(v for v in desk_state.vehicles if v.vehicle.vehicle_id == d.assignment.vehicle_id)
    assert not chosen.busy or chosen.vehicle.vehicle_id in freed
    assert given_class > 1 or d.result.outcome is Outcome.FORCED     # from class 1 only by a supervisor


def test_options_name_a_neighbours_surveyor_an_on_call_one_and_the_earliest_promise():
    c = claim(minutes=30)
    home_busy = state(surveyor("hz-s1"), busy=True, free_at=NOW + timedelta(minutes=50))
    neighbour = state(surveyor("sx-s1", at=offset(15), region="sx"))
    too_far = state(surveyor("nb-s1", at=offset(200), region="nb"))
    off_shift = state(surveyor("sx-s2", at=offset(10), region="sx", start=time(20), end=time(23)))
    regions = {"hz": ([home_busy], [vehicle("hz-v1", busy=True)]),
               "sx": ([neighbour, off_shift], [vehicle("sx-v1", at=offset(15), region="sx")]),
               "nb": ([too_far], [vehicle("nb-v1", at=offset(200), region="nb")])}
    options = desk_options(c, frozenset(), regions, RULES, TRAVEL, NOW, max_km=60, call_in_minutes=20)
    kinds = {o.kind: o for o in options}
    assert set(kinds) == {"neighbour_surveyor", "on_call_surveyor", "agree_later_time"}
    n = kinds["neighbour_surveyor"]
    assert (n.surveyor_id, n.region_id, n.vehicle_id) == ("sx-s1", "sx", "sx-v1")
    assert n.command == {"type": "assign_surveyor", "report_id": "R1", "surveyor_id": "sx-s1", "vehicle_id": "sx-v1"}
    assert n.minutes_late == round((n.estimated_arrival_at - c.deadline_at).total_seconds() / 60, 1)
    assert kinds["on_call_surveyor"].surveyor_id == "sx-s2" and "called in" in kinds["on_call_surveyor"].summary
    promise = kinds["agree_later_time"]
    assert promise.command["type"] == "agree_arrival_time"
    assert promise.estimated_arrival_at >= home_busy.free_at and promise.estimated_arrival_at.minute % 5 == 0
    assert all(o.surveyor_id != "nb-s1" for o in options)
    assert all(o.surveyor_id or o.kind == "agree_later_time" for o in options)  # every other option names someone
    held = desk_options(c, frozenset(), regions, RULES, TRAVEL, NOW, max_km=60, has_surveyor=True)
    assert {o.command["type"] for o in held if o.surveyor_id} == {"reassign"}  # a claim with a surveyor: reassign


def _turning(priority=3, arrived=False):
    """An urgent claim 3 km south of the centre, and "hz-s9" on the way (6 of 20 minutes gone) from the centre to
    "going-hz-s9", 12 km north, of class ``priority``: the desk state of turning them round."""
    s, car = on_the_way("hz-s9", 0, 12, priority=priority, arrived=arrived)
    task = LiveTask(uuid.uuid5(uuid.NAMESPACE_URL, "task-hz-s9"), "hz-s9", "v-hz-s9", TaskStatus.ACCEPTED, "hz")
    given = view(claim(at=offset(12), report_id="going-hz-s9", priority=priority), state_=DispatchState.ASSIGNED,
                 live=task, attempts=1)
    urgent = view(claim(at=offset(-3), report_id="R1", priority=1))
    return DeskState(claim=urgent, surveyor=s, surveyor_task=task, surveyor_task_claim=given, vehicles=(car, CAR))


def test_a_dispatcher_turns_a_surveyor_round_from_a_routine_claim_to_a_serious_injury():
    desk_state = _turning()
    d = decide(cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s9", turn_round=True), desk_state, RULES, TRAVEL,
               NOW)
    assert d.result.outcome is Outcome.APPLIED
    given = desk_state.surveyor_task_claim
    assert d.withdraw == ((given.live, "diverted"),) and d.back_to_dispatch == given and d.replan == ("hz",)
    withdrawn, assigned = d.events
    assert isinstance(withdrawn, TaskWithdrawn)
    assert (withdrawn.report_id, withdrawn.reason) == ("going-hz-s9", "diverted")
    assert (assigned.report_id, assigned.surveyor_id, assigned.vehicle_id) == ("R1", "hz-s9", "v-hz-s9")
    # from about where they are (3.6 km north): 6.6 km to the injury, well within its 30 minutes
    assert abs(d.set_out_from[0] - offset(3.6)[0]) < 1e-6 and assigned.meets_deadline
    assert "turned round from going-hz-s9" in d.result.detail
    # the same surveyor without turn_round is busy
    busy = decide(cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s9"), desk_state, RULES, TRAVEL, NOW)
    assert busy.result.refusals == (Refusal.SURVEYOR_BUSY,)


def test_a_turn_round_needs_someone_on_the_way_and_from_a_lower_class_unless_a_supervisor_forces_it():
    turn = dict(report_id="R1", surveyor_id="hz-s9", turn_round=True)
    at_scene = decide(cmd(AssignSurveyor, **turn), _turning(arrived=True), RULES, TRAVEL, NOW)
    assert at_scene.result.refusals == (Refusal.SURVEYOR_NOT_ON_THE_WAY,) and at_scene.assignment is None
    # one reason only, even where no vehicle is left free: the dispatcher reads why in one line
    no_car = DeskState(**{**_turning(arrived=True).__dict__, "vehicles": _turning(arrived=True).vehicles[:1]})
    assert decide(cmd(AssignSurveyor, **turn), no_car, RULES, TRAVEL, NOW).result.detail == \
        "refused: surveyor not on the way"
    free = decide(cmd(AssignSurveyor, report_id="R1", surveyor_id="hz-s1", turn_round=True),
                  DeskState(claim=view(), surveyor=FREE, vehicles=(CAR,)), RULES, TRAVEL, NOW)
    assert free.result.refusals == (Refusal.SURVEYOR_NOT_ON_THE_WAY,)
    forced = dict(forced_by="sup-1", force_reason="the other customer agreed to wait")
    assert not decide(cmd(AssignSurveyor, **turn, **forced), _turning(arrived=True), RULES, TRAVEL, NOW).applied
    same = decide(cmd(AssignSurveyor, **turn), _turning(priority=1), RULES, TRAVEL, NOW)
    assert same.result.refusals == (Refusal.NOT_A_LOWER_CLASS,) and not same.applied
    over = decide(cmd(AssignSurveyor, **turn, **forced), _turning(priority=1), RULES, TRAVEL, NOW)
    assert over.result.outcome is Outcome.FORCED and [r for _, r in over.withdraw] == ["diverted"]


def test_reassigning_a_late_claim_to_a_surveyor_turned_round_withdraws_both_tasks():
    desk_state = _turning()
    late = live(sid="hz-s2", vid="hz-v2")
    desk_state = DeskState(**{**desk_state.__dict__, "claim": view(desk_state.claim.claim, live=late,
                                                                   state_=DispatchState.ASSIGNED, attempts=1)})
    d = decide(cmd(Reassign, report_id="R1", surveyor_id="hz-s9", turn_round=True), desk_state, RULES, TRAVEL, NOW)
    assert d.applied and [(t.surveyor_id, r) for t, r in d.withdraw] == [("hz-s9", "diverted"), ("hz-s2", "reassigned")]
    assert isinstance(d.assignment, SurveyorReassigned) and d.assignment.previous_task_id == late.task_id


def test_options_offer_to_turn_round_a_surveyor_on_the_way_to_a_lower_class():
    urgent = claim(at=offset(-3), report_id="R1", priority=1)
    s, car = on_the_way("hz-s9", 0, 12)
    regions = {"hz": ([s], [car])}
    [turn, promise] = desk_options(urgent, frozenset(), regions, RULES, TRAVEL, NOW)
    assert (turn.kind, turn.surveyor_id, turn.vehicle_id, turn.gives_up) == \
        ("turn_round_surveyor", "hz-s9", "v-hz-s9", "going-hz-s9")
    assert turn.command == {"type": "assign_surveyor", "report_id": "R1", "surveyor_id": "hz-s9",
                            "vehicle_id": "v-hz-s9", "turn_round": True}
    assert turn.minutes_late < 0 and turn.summary.startswith("turn hz-s9 round from going-hz-s9 (class 3")
    assert promise.kind == "agree_later_time"
    # not for a claim of the same class, nor with the surveyor at the scene already
    assert all(o.kind != "turn_round_surveyor" for o in desk_options(claim(at=offset(-3)), frozenset(), regions,
                                                                     RULES, TRAVEL, NOW))
    there = {"hz": [list(x) for x in zip(on_the_way("hz-s9", 0, 12, arrived=True))]}
    assert all(o.kind != "turn_round_surveyor" for o in desk_options(urgent, frozenset(), there, RULES, TRAVEL, NOW))


def test_no_promise_when_nobody_of_the_region_handles_the_claim():
    c = claim(loss_type=LossType.CARGO)
    assert earliest_promise(c, frozenset(), [state(S1)], [CAR], RULES, TRAVEL, NOW) is None


def test_open_escalations_are_counted_by_reason_state_and_age_and_the_oldest_unacknowledged_kept():
    assert [age_band(a) for a in (0, 179.9, 180, 599, 600, 1800, 99999)] == [
        "under_3m", "under_3m", "3m_to_10m", "3m_to_10m", "10m_to_30m", "over_30m", "over_30m"]
    f = unclosed_figures([("all_surveyors_busy", "open", 200.0), ("all_surveyors_busy", "open", 10.0),
                          ("deadline_unreachable", "acknowledged", 4000.0)])
    assert f.counts[("all_surveyors_busy", "open", "3m_to_10m")] == 1
    assert f.counts[("all_surveyors_busy", "open", "under_3m")] == 1
    assert f.oldest_unacknowledged_s == 200.0  # the acknowledged one is older, and owned
    assert unclosed_figures([]).oldest_unacknowledged_s == 0.0


def test_merging_withdraws_the_extra_task_and_keeping_apart_needs_a_flag():
    from models.contract.desk_commands import KeepApart, MergeDuplicate
    from models.contract.dispatch_events import DuplicateReportLinked

    held, theirs = live(sid="hz-s2"), live(sid="hz-s3")
    extra = view(claim(report_id="R2"), state_=DispatchState.ASSIGNED, live=held)
    first = view(claim(report_id="R1"), state_=DispatchState.ASSIGNED, live=theirs)
    d = decide(cmd(MergeDuplicate, report_id="R2", into="R1"), DeskState(claim=extra, into=first), RULES, TRAVEL, NOW)
    assert d.result.outcome is Outcome.APPLIED and d.withdraw == ((held, "merged"),) and d.merge is not None
    linked = next(e for e in d.events if isinstance(e, DuplicateReportLinked))
    assert (linked.linked_to, linked.task_id, linked.by) == ("R1", theirs.task_id, "d-07")
    for into in (None, view(claim(report_id="R1"), state_=DispatchState.CANCELLED)):
        refused = decide(cmd(MergeDuplicate, report_id="R2", into="R1"), DeskState(claim=extra, into=into), RULES,
                         TRAVEL, NOW)
        assert refused.result.refusals == (Refusal.DUPLICATE_OF_UNKNOWN,)
    assert decide(cmd(MergeDuplicate, report_id="R2", into="R2"), DeskState(claim=extra, into=extra), RULES, TRAVEL,
                  NOW).result.refusals == (Refusal.DUPLICATE_OF_UNKNOWN,)
    not_flagged = decide(cmd(KeepApart, report_id="R2"), DeskState(claim=extra), RULES, TRAVEL, NOW)
    assert not_flagged.result.refusals == (Refusal.NOT_FLAGGED,)
    flagged = ClaimView(claim=extra.claim, state=extra.state, attempts=1, live=held, possible_duplicate_of="R1")
    apart = decide(cmd(KeepApart, report_id="R2"), DeskState(claim=flagged), RULES, TRAVEL, NOW)
    assert apart.keep_apart and apart.resolves == "R2" and apart.withdraw == ()
