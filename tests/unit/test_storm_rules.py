"""The planner's storm rules, each on a case whose answer is known: priorities, no late send when a busy
surveyor is clearly sooner, one busy surveyor per claim counting on them, the overdue first among late
claims, and cover among surveyors who would all be on time.

Day speeds (10:00 in Shanghai): urban 30 km/h with a detour of 1.25 and 3 min to set off, so a scene d km
away in town is 3 + 2.5 d minutes off; each surveyor drives their own vehicle, parked beside them."""

from dataclasses import replace
from datetime import timedelta

import pytest

from models.contract.dispatch_events import EscalationReason
from models.contract.loss_report import EXAMPLE_REPORT, InjurySeverity, LossReported, LossType
from models.dispatch.coverage import DemandPoint, cover_lost
from models.dispatch.load import region_load
from models.dispatch.neighbours import lend
from models.dispatch.planner import plan_region
from models.dispatch.priority import Priority, PriorityRules
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import StraightLineTravel
from models.dispatch.zones import Zone
from tests.unit.builders import NOW, claim, offset, pending, state, surveyor, vehicle

RULES = DispatchRules()
TRAVEL = StraightLineTravel()


def crew(*people):
    """(id, km north, free in minutes or None) → surveyor states and their vehicles."""
    states, cars = [], []
    for sid, km, free_in in people:
        s = surveyor(sid, at=offset(km))
        busy = free_in is not None
        states.append(state(s, busy=busy, free_at=NOW + timedelta(minutes=free_in) if busy else None))
        cars.append(vehicle(f"v-{sid}", at=offset(km), busy=busy))
    return states, cars


def plan(claims, people, demand=(), now=NOW):
    states, cars = crew(*people)
    return plan_region([c if hasattr(c, "claim") else pending(c) for c in claims], states, cars, RULES, TRAVEL, now,
                       list(demand))


def test_a_claim_no_one_reaches_in_time_waits_for_a_busy_surveyor_much_sooner_than_the_free_one():
    # The free surveyor is 70 km off (178 min: 148 late); the busy one, 4.5 km off and free in 25 min,
    # arrives at 39 min (9 late): the claim waits for her, escalated at once with who and when.
    p = plan([claim(at=offset(0))], [("far", -70, None), ("near", 4.5, 25)])
    assert not p.assigned and not p.waiting
    [e] = p.escalated
    assert e.reason is EscalationReason.DEADLINE_UNREACHABLE and "waiting for near" in e.detail
    # When the busy one is not clearly sooner (14 km free: 38 min; her 39 min), the free one goes now.
    q = plan([claim(at=offset(0))], [("free", 14, None), ("near", 4.5, 25)])
    assert [a.surveyor_id for a in q.assigned] == ["free"] and not q.assigned[0].meets_deadline


def test_a_higher_class_is_never_left_waiting_so_that_a_lower_one_is_met():
    # One free surveyor; a routine claim 5 km off and an urgent one 10 km off, both reachable in time.
    routine, urgent = claim(at=offset(5), report_id="routine"), claim(at=offset(10), report_id="urgent", priority=1)
    p = plan([routine, urgent], [("s", 0, None)])
    assert [a.report_id for a in p.assigned] == ["urgent"]
    # even when the urgent one will be late anyway (14 km: 38 min) and the routine one could be met
    late_urgent = claim(at=offset(14), report_id="urgent", priority=1)
    q = plan([routine, late_urgent], [("s", 0, None)])
    assert [(a.report_id, a.meets_deadline) for a in q.assigned] == [("urgent", False)]
    # without classes the same input meets the routine one
    r = plan([routine, claim(at=offset(14), report_id="urgent")], [("s", 0, None)])
    assert [a.report_id for a in r.assigned] == ["routine"]


def test_of_two_overdue_claims_the_one_waiting_longer_goes_first_unless_far_out_of_the_way():
    # Both past their deadline; one free surveyor at the centre. "old" is 8 km off and 40 min overdue,
    # "new" 6 km off and 5 min overdue: 35 min longer waiting outweighs 5 min more driving.
    old = pending(claim(at=offset(8), report_id="old", minutes=-40), pending_since=NOW - timedelta(minutes=70))
    new = pending(claim(at=offset(6), report_id="new", minutes=-5), pending_since=NOW - timedelta(minutes=35))
    p = plan([old, new], [("s", 0, None)])
    assert [a.report_id for a in p.assigned] == ["old"]
    # with no preference the nearer goes first (the lateness of a late pair already counts its wait once)
    flat = plan_region([old, new], *crew(("s", 0, None)), RULES.model_copy(update={"overdue_preference": 0.0}),
                       TRAVEL, NOW)
    assert [a.report_id for a in flat.assigned] == ["new"]


def test_two_claims_do_not_count_on_one_busy_surveyor():
    # One busy surveyor, free in 5 min beside both claims, would be on time for either but not both; the free one
    # is 12 km off (33 min): one claim waits for the busy one, the other takes the free one (late) at once.
    a, b = claim(at=offset(1), report_id="A"), claim(at=offset(1.2), report_id="B")
    p = plan([a, b], [("busy", 1, 5), ("free", -12, None)])
    assert len(p.waiting) == 1 and [x.surveyor_id for x in p.assigned] == ["free"]
    assert {p.waiting[0], p.assigned[0].report_id} == {"A", "B"}


def test_among_surveyors_both_on_time_the_one_whose_leaving_costs_less_cover_goes():
    # A suburban claim 20 km south (limit 60 min, at 55 km/h): "centre" reaches it in 30 min, "out" (20 km east)
    # in 47. The region's recent scenes are in town, which only "centre" covers within 30 min: "out" goes.
    c = claim(at=offset(-20), zone=Zone.SUBURBAN, minutes=60)
    town = [DemandPoint(*offset(dn, de), Zone.URBAN) for dn in (-2, 0, 2) for de in (-2, 0, 2)]
    states, cars = crew(("centre", 0, None), ("out", 0, None))
    states[1] = state(states[1].surveyor, at=offset(5, 20))
    cars[1] = vehicle("v-out", at=offset(5, 20))
    [a] = plan_region([pending(c)], states, cars, RULES, TRAVEL, NOW, town).assigned
    assert a.surveyor_id == "out" and a.meets_deadline
    # with nothing known of where claims come from, the earliest arrival goes
    assert [a.surveyor_id for a in plan_region([pending(c)], states, cars, RULES, TRAVEL, NOW).assigned] == ["centre"]


def test_cover_lost_is_what_a_surveyor_alone_covers_and_nothing_with_one_free():
    states, _ = crew(("a", 0, None), ("b", 0.5, None), ("c", -30, None))
    town = [DemandPoint(*offset(0), Zone.URBAN)]
    lost = cover_lost(states, town, RULES.arrival, TRAVEL, NOW)
    assert lost[2] == 0 and lost[0] == lost[1] > 0          # two cover town; c covers nothing
    alone = cover_lost(states[::2], town, RULES.arrival, TRAVEL, NOW)
    assert alone[0] > lost[0]                               # covering it alone, a's leaving costs more
    assert not cover_lost(states[:1], town, RULES.arrival, TRAVEL, NOW).any()


def _report(**changes) -> LossReported:
    return LossReported.model_validate({**EXAMPLE_REPORT, **changes})


def test_the_class_comes_from_what_the_caller_said():
    rules = PriorityRules()
    assert rules.of(_report()) is Priority.ROUTINE
    assert rules.of(_report(injuries={"count": 1, "severity": "serious"})) is Priority.URGENT
    assert rules.of(_report(injuries={"count": 1, "severity": "fatal"})) is Priority.URGENT
    assert rules.of(_report(injuries={"count": 1, "severity": "minor"})) is Priority.VULNERABLE
    assert rules.of(_report(vehicle_drivable=False)) is Priority.VULNERABLE
    assert rules.of(_report(people_stranded=True)) is Priority.VULNERABLE
    assert rules.of(_report(vehicle_drivable=None)) is Priority.ROUTINE  # not said: not raised
    # configurable: an insurer that treats any injury as urgent
    strict = PriorityRules(urgent_injuries=frozenset({InjurySeverity.MINOR, InjurySeverity.SERIOUS,
                                                      InjurySeverity.FATAL}))
    assert strict.of(_report(injuries={"count": 1, "severity": "minor"})) is Priority.URGENT
    assert rules.weight(1) > rules.weight(2) > rules.weight(3) == 1


def _neighbours(*people, region="sx"):
    states, cars = [], []
    for sid, km, free_in in people:
        s = surveyor(sid, at=offset(km), region=region)
        busy = free_in is not None
        states.append(state(s, busy=busy, free_at=NOW + timedelta(minutes=free_in) if busy else None))
        cars.append(vehicle(f"v-{sid}", at=offset(km), busy=busy, region=region))
    return {region: (states, cars)}


def test_a_neighbours_spare_surveyor_on_time_replaces_a_late_send_at_home():
    # Home's only surveyor is 14 km off (38 min: late); the neighbour has two free, one 6 km off (18 min).
    c = pending(claim(at=offset(0)))
    p = plan([c], [("home", 14, None)])
    loans = lend([c], p, _neighbours(("sx-a", 6, None), ("sx-b", -30, None)), RULES, TRAVEL, NOW)
    assert [(x.report_id, x.surveyor_id, x.region_id) for x in loans] == [("R1", "sx-a", "sx")]
    [a] = p.assigned
    assert a.surveyor_id == "sx-a" and a.meets_deadline and p.loans == {"R1": "sx"}
    assert not p.escalated  # the late send's escalation is answered


def test_a_neighbour_lends_only_what_it_can_spare_on_time_and_near():
    c = pending(claim(at=offset(0)))
    # one free surveyor only: kept for its own claims
    p = plan([c], [("home", 14, None)])
    assert not lend([c], p, _neighbours(("sx-a", 6, None)), RULES, TRAVEL, NOW)
    assert [a.surveyor_id for a in p.assigned] == ["home"]
    # late from the neighbour too (13 and 12 km: 35.5 and 33 min): nothing lent
    q = plan([c], [("home", 14, None)])
    assert not lend([c], q, _neighbours(("sx-a", 13, None), ("sx-b", 12, None)), RULES, TRAVEL, NOW)
    # beyond the distance a neighbour is sent automatically
    near = RULES.model_copy(update={"neighbour_max_km": 5})
    r = plan([c], [("home", 14, None)])
    assert not lend([c], r, _neighbours(("sx-a", 6, None), ("sx-b", 7, None)), near, TRAVEL, NOW)
    # a claim met at home is not a neighbour's business
    met = plan([c], [("home", 2, None)])
    assert not lend([c], met, _neighbours(("sx-a", 1, None), ("sx-b", 1.5, None)), RULES, TRAVEL, NOW)


def test_a_claim_escalated_in_an_earlier_plan_is_still_offered_to_a_neighbour():
    # Home's only surveyor is busy for two hours: no prospect. The escalation was raised by an earlier plan,
    # so this plan raises none; the claim is still unmet and the neighbour's spare surveyor on time takes it.
    c = pending(claim(at=offset(0)), raised=frozenset({EscalationReason.ALL_SURVEYORS_BUSY.value}))
    p = plan([c], [("home", 1, 120)])
    assert not p.escalated and p.no_prospect == ["R1"]
    loans = lend([c], p, _neighbours(("sx-a", 6, None), ("sx-b", -30, None)), RULES, TRAVEL, NOW)
    assert [(x.report_id, x.surveyor_id) for x in loans] == [("R1", "sx-a")]
    assert [a.surveyor_id for a in p.assigned] == ["sx-a"] and p.no_prospect == []


def test_a_roster_naming_an_unknown_neighbour_is_refused_with_the_region_named():
    import pytest
    from models.dispatch.roster import Roster

    region = {"region_id": "hz", "name": "Hangzhou", "centre_lat": 30.27, "centre_lon": 120.16}
    Roster.model_validate({"regions": [{**region, "neighbours": ["sx"]}, {**region, "region_id": "sx"}]})
    with pytest.raises(ValueError, match="region hz: neighbour 'nb' is unknown"):
        Roster.model_validate({"regions": [{**region, "neighbours": ["nb"]}]})


def test_a_late_claim_waits_for_a_busy_surveyor_much_sooner_even_one_free_only_after_its_deadline():
    # The free surveyor is 70 km off (178 min); the busy one, 4.5 km off, is free in 35 min, after the claim's
    # 30-minute deadline, and arrives at 49 min: still far sooner, so the claim waits for her.
    p = plan([claim(at=offset(0))], [("far", -70, None), ("near", 4.5, 35)])
    assert not p.assigned
    [e] = p.escalated
    assert e.reason is EscalationReason.DEADLINE_UNREACHABLE and "waiting for near" in e.detail


def _storm(n=30, minutes=10):
    """Where and when the region's last ``n`` claims came from: all in town, within the last ``minutes``."""
    return [DemandPoint(*offset(2), Zone.URBAN, NOW - timedelta(minutes=minutes * k / n)) for k in range(n)]


def test_a_region_is_overloaded_while_claims_come_faster_than_its_surveyors_can_serve_them():
    storm = RULES.storm
    cycle = RULES.survey_minutes + storm.typical_drive_minutes
    busy = region_load([d.reported_at for d in _storm()], 7, RULES.survey_minutes, storm, NOW)
    assert busy.overloaded and busy.minute_value == pytest.approx(1 / cycle)
    # four calls in ten minutes, 1.86 times what seven can serve (one standard deviation low): worth less
    some = region_load([NOW - timedelta(minutes=m) for m in (1, 3, 5, 7)], 7, RULES.survey_minutes, storm, NOW)
    assert some.rate / some.capacity == pytest.approx(1.857, abs=1e-3)
    assert some.minute_value == pytest.approx((some.rate / some.capacity - 1) / (storm.full_value_at - 1) / cycle)
    # two calls in ten minutes are not a storm for seven surveyors (capacity 6.5 an hour), nor six in an hour
    assert not region_load([NOW - timedelta(minutes=m) for m in (1, 4)], 7, RULES.survey_minutes, storm, NOW).overloaded
    assert not region_load([d.reported_at for d in _storm(6, 60)], 7, RULES.survey_minutes, storm, NOW).overloaded
    # the storm has passed once its reports are older than the window; times not known are not counted
    later = NOW + timedelta(minutes=storm.window_minutes + 1)
    assert not region_load([d.reported_at for d in _storm()], 7, RULES.survey_minutes, storm, later).overloaded
    assert not region_load([None] * 30, 7, RULES.survey_minutes, storm, NOW).overloaded
    assert not region_load([d.reported_at for d in _storm()], 0, RULES.survey_minutes, storm, NOW).overloaded


def test_in_a_storm_a_free_surveyor_is_not_sent_on_a_trip_worth_more_than_a_deadline():
    # A far scene 60 km off (63 min, 90-min limit) and one free surveyor: in a quiet hour she goes, on time.
    far = claim(at=offset(60), zone=Zone.FAR, minutes=90, report_id="far")
    [a] = plan([far], [("s", 0, None)]).assigned
    assert a.surveyor_id == "s" and a.meets_deadline
    # In a storm the trip and the survey (63 + 45 min) are worth more than the cycle (65 min) a claim takes:
    # she is kept for nearer claims, and the far one is escalated as such (and offered to neighbours).
    p = plan([far], [("s", 0, None)], demand=_storm())
    assert not p.assigned and p.no_prospect == ["far"]
    [e] = p.escalated
    assert e.reason is EscalationReason.ALL_SURVEYORS_BUSY and "faster than" in e.detail
    # A town claim 4 km off (13 + 45 min) is still served in the storm, and an urgent far claim always is.
    near = claim(at=offset(4), report_id="near")
    assert [a.report_id for a in plan([near, far], [("s", 0, None)], demand=_storm()).assigned] == ["near"]
    urgent = claim(at=offset(60), zone=Zone.FAR, minutes=90, report_id="urgent", priority=1)
    assert [a.report_id for a in plan([urgent], [("s", 0, None)], demand=_storm()).assigned] == ["urgent"]


def test_in_a_storm_a_late_claim_waits_while_others_can_be_met_but_not_past_late_defer_minutes():
    defer = RULES.storm.late_defer_minutes
    late = claim(at=offset(2), report_id="late", reported=NOW - timedelta(minutes=40))  # 10 min past its deadline
    assert [a.report_id for a in plan([late], [("s", 0, None)]).assigned] == ["late"]    # a quiet hour: sent
    assert not plan([late], [("s", 0, None)], demand=_storm()).assigned                 # a storm: it waits
    starved = claim(at=offset(2), report_id="old", reported=NOW - timedelta(minutes=30 + defer + 1))
    assert [a.report_id for a in plan([starved], [("s", 0, None)], demand=_storm()).assigned] == ["old"]


def test_a_neighbours_surveyor_clearly_sooner_is_lent_to_a_claim_late_anyway():
    # Home's only surveyor is 40 km off (in town: 88 min); the neighbour's, 12 km off, arrives at 33 min, 3 late
    # but 55 min sooner: lent. One only 5 min sooner than home's is not (late_wait_gain_minutes, 10).
    c = pending(claim(at=offset(0)))
    p = plan([c], [("home", 40, None)])
    assert [x.surveyor_id for x in lend([c], p, _neighbours(("sx-a", 12, None), ("sx-b", -30, None)), RULES, TRAVEL,
                                         NOW)] == ["sx-a"]
    assert [a.surveyor_id for a in p.assigned] == ["sx-a"] and not p.assigned[0].meets_deadline
    q = plan([c], [("home", 14, None)])                                   # home: 38 min
    assert not lend([c], q, _neighbours(("sx-a", 12.5, None), ("sx-b", -30, None)), RULES, TRAVEL, NOW)  # 34 min
    # In a storm at home a late claim is deferred there: no late loan until it is late_defer_minutes overdue.
    late = pending(claim(at=offset(0), reported=NOW - timedelta(minutes=40)))
    stormy = plan([late], [("home", 40, None)], demand=_storm())
    assert not lend([late], stormy, _neighbours(("sx-a", 12, None), ("sx-b", -30, None)), RULES, TRAVEL, NOW)
    old = pending(claim(at=offset(0), reported=NOW - timedelta(minutes=30 + RULES.storm.late_defer_minutes)))
    starved = plan([old], [("home", 40, None)], demand=_storm())
    assert lend([old], starved, _neighbours(("sx-a", 12, None), ("sx-b", -30, None)), RULES, TRAVEL, NOW)


def test_a_claim_left_with_everyone_busy_is_promised_when_the_backlog_reaches_it():
    # One surveyor, 4.5 km off, free in 60 min: after both town claims' deadlines. She reaches the first at
    # 60 + 3 + 11.25 = 74.25 min and the second, beside it, after its 45 min on scene and 3 to set off: 122.25.
    # Each claim is told that plus the 10-min margin, rounded up to 5 minutes, at once.
    first = claim(at=offset(0), report_id="first", reported=NOW - timedelta(minutes=1))
    second = claim(at=offset(0), report_id="second")
    p = plan([second, first], [("s", 4.5, 60)])
    assert not p.assigned and sorted(p.no_prospect) == ["first", "second"]
    told = {e.report_id: e for e in p.escalated}
    assert {e.reason for e in told.values()} == {EscalationReason.ALL_SURVEYORS_BUSY}
    assert told["first"].proposed_arrival_at == NOW + timedelta(minutes=85)
    assert told["second"].proposed_arrival_at == NOW + timedelta(minutes=135)
    # An urgent claim reported later goes first, and is told so; the routine ones wait behind it.
    urgent = claim(at=offset(0), report_id="urgent", reported=NOW, priority=1)
    q = {e.report_id: e.proposed_arrival_at for e in plan([second, first, urgent], [("s", 4.5, 60)]).escalated}
    assert q["urgent"] == NOW + timedelta(minutes=85) and q["first"] == NOW + timedelta(minutes=135)
    # No one able to take it (a cargo claim, no one with the skill): escalated as such, with no time to tell.
    cargo = claim(at=offset(0), report_id="cargo", loss_type=LossType.CARGO)
    states, cars = crew(("s", 4.5, 60))
    states = [replace(s, surveyor=s.surveyor.model_copy(update={"skills": frozenset({LossType.VEHICLE})}))
              for s in states]
    [e] = plan_region([pending(cargo)], states, cars, RULES, TRAVEL, NOW).escalated
    assert e.reason is EscalationReason.NO_SKILLED_SURVEYOR and e.proposed_arrival_at is None


def test_a_claim_declined_by_the_busy_surveyor_nearest_is_promised_when_the_other_one_reaches_it():
    # Both out for 60 min more; "near" (4.5 km off) would come at 74.25 min, "far" (20 km, 25 road km: 12 at 30 km/h,
    # 13 at 55) at 60 + 3 + 24 + 14.2 = 101.2. The claim "near" declined, first in the queue, is told far's time
    # (+10, rounded up to 5); the other one near's.
    declined = pending(claim(at=offset(0), report_id="declined", reported=NOW - timedelta(minutes=1)),
                       exclude=frozenset({"near"}))
    other = claim(at=offset(0), report_id="other")
    people = [("near", 4.5, 60), ("far", 20, 60)]
    told = {e.report_id: e.proposed_arrival_at for e in plan([declined, other], people).escalated}
    assert told == {"other": NOW + timedelta(minutes=85), "declined": NOW + timedelta(minutes=115)}


def test_in_a_storm_a_deferred_claim_is_promised_no_sooner_than_its_turn():
    # The far scene kept waiting in a storm (test above) is reached once it is late_defer_minutes past its
    # deadline at the soonest (90 + 60 min, then 63 min of driving), later still for the town claims still to
    # come whose turn falls before it.
    far = claim(at=offset(60), zone=Zone.FAR, minutes=90, report_id="far")
    [e] = plan([far], [("s", 0, None)], demand=_storm()).escalated
    assert e.reason is EscalationReason.ALL_SURVEYORS_BUSY
    assert e.proposed_arrival_at >= NOW + timedelta(minutes=90 + RULES.storm.late_defer_minutes + 63)
    # twice the calls a minute: twice the town claims whose turn comes before it, so a later time
    [heavier] = plan([far], [("s", 0, None)], demand=_storm(n=60)).escalated
    assert heavier.proposed_arrival_at > e.proposed_arrival_at
    calm = plan([far], [("s", 0, None)], demand=_storm(n=30, minutes=10)[:1])  # one call: no storm, she goes
    assert [a.report_id for a in calm.assigned] == ["far"]


def test_a_late_claim_only_few_can_take_goes_before_an_older_one_anyone_could_take():
    # Both claims past their deadline, 4 km off; the one free surveyor is the region's only one with cargo
    # skills, three others (vehicle only) free in 20 min. The vehicle claim has waited longer (40 min overdue
    # against 20), but anyone can take it: the cargo claim, which only she can, goes first.
    cargo_kit = ("camera", "measuring_kit")
    states = [state(surveyor("cargo", skills=(LossType.VEHICLE, LossType.CARGO)))]
    cars = [vehicle("v-cargo", equipment=cargo_kit)]
    for k in range(3):
        states.append(state(surveyor(f"s{k}", at=offset(-1)), busy=True, free_at=NOW + timedelta(minutes=20)))
        cars.append(vehicle(f"v{k}", at=offset(-1), busy=True))
    older = claim(at=offset(4), report_id="vehicle", reported=NOW - timedelta(minutes=70))
    rare = claim(at=offset(4, 0.1), report_id="cargo", loss_type=LossType.CARGO, reported=NOW - timedelta(minutes=50))
    p = plan_region([pending(older), pending(rare)], states, cars, RULES, TRAVEL, NOW)
    assert [(a.report_id, a.surveyor_id) for a in p.assigned] == [("cargo", "cargo")]
    # where everyone can take both, the older goes first
    both = [replace(s, surveyor=s.surveyor.model_copy(update={"skills": frozenset({LossType.VEHICLE, LossType.CARGO})}))
            for s in states]
    q = plan_region([pending(older), pending(rare)], both, cars, RULES, TRAVEL, NOW)
    assert [a.report_id for a in q.assigned] == ["vehicle"]
