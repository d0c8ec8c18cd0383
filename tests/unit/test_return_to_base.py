"""Back to base: the drive home after a survey with nothing next, and where dispatch reckons the surveyor and
their vehicle on the way (models/dispatch/return_to_base.py, models/dispatch/fleet.py)."""

from datetime import timedelta

from models.desk.options import desk_options
from models.dispatch.fleet import FOREVER, SurveyorRecord, driven_back, fleet_states
from models.dispatch.planner import plan_region
from models.dispatch.region_state import RegionRows
from models.dispatch.return_to_base import trip_back
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import StraightLineTravel
from tests.unit.builders import CENTRE, NOW, claim, offset, pending, surveyor, vehicle

M = timedelta(minutes=1)
TRAVEL = StraightLineTravel()
RULES = DispatchRules()
SCENE = offset(30)  # a suburban scene 30 km north of the base at the centre


def free(s, at) -> SurveyorRecord:
    """``s`` free at ``at``, the survey just done."""
    return SurveyorRecord(s, *at, busy=False)


def test_a_surveyor_far_from_base_drives_back_at_the_pick_up_speed_without_set_up_time():
    trip = trip_back(free(surveyor("a"), SCENE), "v1", NOW, RULES, TRAVEL)
    assert (trip.vehicle_id, trip.set_off_at, (trip.from_lat, trip.from_lon), (trip.to_lat, trip.to_lon)) == \
        ("v1", NOW, SCENE, CENTRE)
    expected = TRAVEL.minutes(*SCENE, *CENTRE, "urban", NOW) - TRAVEL.setup_minutes
    assert abs((trip.there_at - NOW).total_seconds() / 60 - expected) < 1e-6 and 50 < expected < 55


def test_no_drive_back_near_base_or_with_the_rule_off():
    assert trip_back(free(surveyor("a"), offset(1.5)), "v1", NOW, RULES, TRAVEL) is None
    assert trip_back(free(surveyor("a"), offset(2.5)), "v1", NOW, RULES, TRAVEL) is not None
    assert trip_back(free(surveyor("a"), SCENE), "v1", NOW, RULES.model_copy(update={"return_to_base_km": None}),
                     TRAVEL) is None


def test_no_drive_back_off_duty_or_on_a_task():
    s = surveyor("a")  # the roster's day shift, 08:00-20:00 local
    assert trip_back(free(s, SCENE), "v1", NOW, RULES, TRAVEL) is not None  # 10:00 local
    assert trip_back(free(s, SCENE), "v1", NOW + 11 * 60 * M, RULES, TRAVEL) is None  # 21:00: the shift is over
    off = SurveyorRecord(s, *SCENE, busy=False, duty=False, duty_until=NOW + 60 * M)  # ended in the app
    assert trip_back(off, "v1", NOW, RULES, TRAVEL) is None
    assert trip_back(off, "v1", NOW + 61 * M, RULES, TRAVEL) is not None  # the override lapsed
    assert trip_back(SurveyorRecord(s, *SCENE, busy=True), "v1", NOW, RULES, TRAVEL) is None


def test_on_the_way_back_dispatch_sees_them_part_way_and_at_base_once_the_drive_is_done():
    s = surveyor("a")
    trip = trip_back(free(s, SCENE), "v1", NOW, RULES, TRAVEL)
    record = SurveyorRecord(s, *SCENE, busy=False, returning=trip)
    half = NOW + (trip.there_at - NOW) / 2
    state, until = record.state_at(half, 25)
    assert abs(state.lat - (SCENE[0] + CENTRE[0]) / 2) < 1e-9 and abs(state.lon - CENTRE[1]) < 1e-9
    assert until == half  # moving with the clock: not kept
    assert state.on_way_back and not record.state_at(trip.there_at + M, 25)[0].on_way_back
    assert record.state_at(trip.there_at + M, 25) == (record.state_at(trip.there_at + M, 25)[0], FOREVER)
    assert (record.state_at(trip.there_at + M, 25)[0].lat, record.state_at(trip.there_at + M, 25)[0].lon) == CENTRE
    # the vehicle they drive goes with them; another stays where it is
    fleet = fleet_states([(vehicle("v1").vehicle, *SCENE), (vehicle("v2").vehicle, *SCENE)], [record])
    moved = driven_back(fleet, [record], half)
    assert moved[0].position == (state.lat, state.lon) and moved[1].position == SCENE
    # a new task ends the drive back: they set out from its scene
    sent = record.with_task("v1", NOW + 40 * M, offset(5))
    assert sent.returning is None and sent.state_at(NOW, 25)[0].lat == offset(5)[0]


def test_a_position_reported_on_the_way_back_restarts_the_drive_from_there_and_ends_it_once_its_time_is_up():
    trip = trip_back(free(surveyor("a"), SCENE), "v1", NOW, RULES, TRAVEL)
    quarter, where = NOW + (trip.there_at - NOW) / 4, offset(15)
    on = trip.after_position(*where, quarter)
    assert (on.from_lat, on.from_lon, on.set_off_at, on.there_at) == (*where, quarter, trip.there_at)
    assert on.position(quarter + (trip.there_at - quarter) / 2) == \
        ((where[0] + CENTRE[0]) / 2, (where[1] + CENTRE[1]) / 2)
    assert trip.after_position(*where, trip.there_at) is None  # the drive's time is up: they are where they say
    assert trip.after_position(*where, NOW - M) is trip  # a report from before the drive began


def test_a_claim_reported_while_they_drive_back_is_met_from_the_road():
    """30 km out, a town claim has 30 minutes: from the last scene no one makes it; reckoned on the way back
    (35 minutes into a drive of about 52), the same surveyor is there in about 25."""
    s = surveyor("a", all_day=True)
    trip = trip_back(free(s, SCENE), "v1", NOW - 35 * M, RULES, TRAVEL)
    c = pending(claim(at=offset(1), minutes=30))
    for returning, met in ((None, False), (trip, True)):
        rows = RegionRows(1, NOW, [SurveyorRecord(s, *SCENE, busy=False, returning=returning)],
                          [(vehicle("v1").vehicle, *SCENE)])
        people, fleet = rows.states(NOW, RULES)
        plan = plan_region([c], people, fleet, RULES, TRAVEL, NOW)
        assert [a.meets_deadline for a in plan.assigned] == [met]
    # the desk's option names them from the road, and says so
    [option, _] = desk_options(c.claim, frozenset(), {"hz": (people, fleet)}, RULES, TRAVEL, NOW)
    assert option.surveyor_id == "a" and "on the way back to base" in option.summary
    assert option.minutes_late < 0
