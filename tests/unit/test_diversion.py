"""Rule 1 when everyone is out: a surveyor on the way to a claim of a lower class is turned round to one of a higher
class that no one else reaches in time (models/dispatch/diversion.py)."""

import uuid
from datetime import timedelta

from models.dispatch.fleet import EnRoute
from models.dispatch.neighbours import lend
from models.dispatch.planner import plan_region
from models.dispatch.priority import PriorityRules
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import StraightLineTravel
from tests.unit.builders import NOW, claim, offset, on_the_way, pending, state, surveyor, vehicle

RULES = DispatchRules()
TRAVEL = StraightLineTravel()


def plan(claims, people, rules=RULES):
    states, cars = zip(*people)
    return plan_region([pending(c) for c in claims], list(states), list(cars), rules, TRAVEL, NOW)


def test_the_surveyor_on_the_way_to_a_routine_claim_is_turned_to_a_serious_injury_no_one_else_reaches():
    # Sent 6 minutes ago from the centre to a claim 12 km north; the injury is 3 km south of the centre.
    urgent = claim(at=offset(-3), report_id="urgent", priority=1)
    p = plan([urgent], [on_the_way("s", 0, 12)])
    [a] = p.assigned
    assert (a.report_id, a.surveyor_id, a.vehicle_id, a.meets_deadline) == ("urgent", "s", "v-s", True)
    [w] = p.withdrawn
    assert (w.report_id, w.surveyor_id, w.reason) == ("going-s", "s", "diverted")
    assert w.task_id == uuid.uuid5(uuid.NAMESPACE_URL, "task-s")
    # from about where they are: 6 of 20 minutes along, 3.6 km north
    assert abs(p.turned_at["s"][0] - offset(3.6)[0]) < 1e-6 and not p.escalated


def test_no_one_is_turned_round_for_a_claim_of_the_same_class_or_when_the_rules_say_never():
    routine = claim(at=offset(-3), report_id="routine")
    p = plan([routine], [on_the_way("s", 0, 12)])
    assert not p.assigned and not p.withdrawn and p.escalated
    never = RULES.model_copy(update={"priority": PriorityRules(divert_up_to=0)})
    q = plan([claim(at=offset(-3), report_id="urgent", priority=1)], [on_the_way("s", 0, 12)], never)
    assert not q.assigned and not q.withdrawn
    # a vulnerable claim (class 2): by default no one is turned round for it; where the rules say so, one going
    # to a routine claim, never one going to an urgent one
    hurt = claim(at=offset(-3), report_id="hurt", priority=2)
    assert not plan([hurt], [on_the_way("s", 0, 12)]).withdrawn
    also = RULES.model_copy(update={"priority": PriorityRules(divert_up_to=2)})
    assert [w.report_id for w in plan([hurt], [on_the_way("s", 0, 12)], also).withdrawn] == ["going-s"]
    assert not plan([hurt], [on_the_way("s", 0, 12, priority=1)], also).withdrawn


def test_not_turned_round_when_at_the_scene_already_or_too_far_to_be_in_time_or_someone_free_is():
    urgent = claim(at=offset(-3), report_id="urgent", priority=1)
    assert not plan([urgent], [on_the_way("s", 0, 12, arrived=True)]).withdrawn
    # 40 km north by now: about 80 min to the injury, late anyway
    assert not plan([urgent], [on_the_way("s", 40, 60, minutes=(-30, 1))]).withdrawn
    free = surveyor("free", at=offset(-1))
    p = plan([urgent], [on_the_way("s", 0, 12), (state(free), vehicle("v-free", at=offset(-1)))])
    assert [a.surveyor_id for a in p.assigned] == ["free"] and not p.withdrawn


def test_of_two_on_the_way_the_one_going_to_the_lower_class_is_turned_round():
    urgent = claim(at=offset(-3), report_id="urgent", priority=1)
    p = plan([urgent], [on_the_way("near", 0, 12, priority=2), on_the_way("far", 2, 14, priority=3)])
    assert [(a.surveyor_id, w.report_id) for a, w in zip(p.assigned, p.withdrawn)] == [("far", "going-far")]


def test_a_surveyor_a_claim_of_the_same_class_counts_on_to_be_in_time_is_not_turned_round():
    # "s" frees up in time for a claim waiting on them 13 km north; the urgent claim 3 km south is out of everyone's
    # reach but theirs. Waiting is of the urgent class too: "s" stays theirs. Waiting routine: "s" turns round.
    urgent = claim(at=offset(-3), report_id="urgent", priority=1)
    waiting = claim(at=offset(13), report_id="waiting", minutes=60, priority=1)
    p = plan([waiting, urgent], [on_the_way("s", 0, 12, minutes=(-6, 4))])
    assert p.waiting == ["waiting"] and not p.withdrawn
    q = plan([claim(at=offset(13), report_id="waiting", minutes=60), urgent], [on_the_way("s", 0, 12, minutes=(-6, 4))])
    assert [(a.report_id, a.surveyor_id) for a in q.assigned] == [("urgent", "s")] and len(q.withdrawn) == 1


def _neighbour(*people):
    """Region "sx"'s free surveyors, ``(id, km north)`` each, with a vehicle beside them."""
    states, cars = zip(*[(state(surveyor(sid, at=offset(km), region="sx")),
                          vehicle(f"v-{sid}", at=offset(km), region="sx")) for sid, km in people])
    return {"sx": (list(states), list(cars))}


def test_a_neighbours_spare_surveyor_in_time_takes_the_claim_instead_of_turning_someone_round():
    # The home plan turns "s" round from a routine claim; the neighbour has two free, one 6 km from the injury
    # (3 km south of the centre, so 9 km off: in time). The loan spares the routine customer: the turn is undone.
    urgent = claim(at=offset(-3), report_id="urgent", priority=1)
    p = plan([urgent], [on_the_way("s", 0, 12)])
    assert p.withdrawn
    loans = lend([pending(urgent)], p, _neighbour(("sx-a", -9), ("sx-b", 40)), RULES, TRAVEL, NOW)
    assert [(x.report_id, x.surveyor_id) for x in loans] == [("urgent", "sx-a")]
    [a] = p.assigned
    assert (a.surveyor_id, a.meets_deadline) == ("sx-a", True)
    assert not p.withdrawn and not p.turned_at and p.loans == {"urgent": "sx"}


def test_the_turn_stands_when_the_neighbour_would_only_be_late_or_cannot_spare_anyone():
    urgent = claim(at=offset(-3), report_id="urgent", priority=1)
    # 20 km from the injury (about 50 min): late, however much sooner than nobody; the turned surveyor is in time
    p = plan([urgent], [on_the_way("s", 0, 12)])
    assert not lend([pending(urgent)], p, _neighbour(("sx-a", -23), ("sx-b", 40)), RULES, TRAVEL, NOW)
    assert [a.surveyor_id for a in p.assigned] == ["s"] and [w.report_id for w in p.withdrawn] == ["going-s"]
    assert "s" in p.turned_at
    # in time, but the neighbour's only free surveyor: kept for its own claims
    q = plan([urgent], [on_the_way("s", 0, 12)])
    assert not lend([pending(urgent)], q, _neighbour(("sx-a", -9)), RULES, TRAVEL, NOW)
    assert [w.report_id for w in q.withdrawn] == ["going-s"]


def test_where_the_app_last_reported_is_where_they_are_then_even_past_the_time_expected_at_the_scene():
    # Expected at the scene 10 minutes ago; the app reports them 1 km short of it now: that is where they are now,
    # not at the scene (later, overdue, about at the scene).
    route = EnRoute(uuid.uuid4(), "r", "hz", 3, "v", NOW, *offset(11), NOW - timedelta(minutes=10))
    assert route.position(*offset(12), NOW) == offset(11)
    assert route.position(*offset(12), NOW + timedelta(minutes=1)) == offset(12)
    halfway = EnRoute(uuid.uuid4(), "r", "hz", 3, "v", NOW, *offset(0), NOW + timedelta(minutes=20))
    assert abs(halfway.position(*offset(12), NOW + timedelta(minutes=10))[0] - offset(6)[0]) < 1e-9
