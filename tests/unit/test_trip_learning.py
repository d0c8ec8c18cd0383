"""Travel times corrected from real trips: robust, bounded, per region, zone and time of day."""

from datetime import datetime, timedelta, timezone

import pytest

from models.dispatch.travel import StraightLineTravel
from models.dispatch.trip_learning import CorrectedTravel, LearningRules, Trip, TripFactors, learn, time_of_day
from models.dispatch.zones import Zone
from tests.unit.builders import CENTRE, offset

TZ = "Asia/Shanghai"
DAY = datetime(2026, 7, 15, 3, 0, tzinfo=timezone.utc)     # 11:00 local
NIGHT = datetime(2026, 7, 15, 16, 0, tzinfo=timezone.utc)  # 00:00 local


def trips(n, ratio, at=DAY, region="hz", zone=Zone.URBAN, estimate=23.0):
    return [Trip(region, zone, at + timedelta(minutes=i), estimate, 3 + (estimate - 3) * ratio) for i in range(n)]


def test_the_time_of_day_is_local():
    assert (time_of_day(DAY, TZ), time_of_day(NIGHT, TZ)) == ("day", "night")
    assert time_of_day(datetime(2026, 7, 15, 0, 30, tzinfo=timezone.utc), TZ) == "rush"  # 08:30 local


def test_slow_trips_raise_the_factor_shrunk_while_few_and_the_median_ignores_absurd_ones():
    f = learn(trips(60, 1.5) + trips(5, 40.0), TZ, 3.0)  # five forgotten taps: 40 × the estimate
    assert abs(f.factor("hz", Zone.URBAN, "day") - (1 + 0.5 * 60 / 80)) < 1e-9
    assert f.factor("hz", Zone.URBAN, "night") == f.factor("hz", Zone.URBAN, "day")  # no night trips: all hours
    assert f.factor("nb", Zone.URBAN, "day") == f.factor("hz", Zone.URBAN, "day")     # no nb trips: every region
    assert f.factor("nb", Zone.FAR, "day") == 1.0                                     # nothing known: as estimated
    assert not learn(trips(9, 1.5), TZ, 3.0).table                                    # too few: nothing learned


def test_the_factor_is_bounded():
    rules = LearningRules(prior_trips=0)
    assert learn(trips(50, 4.0), TZ, 3.0, rules).factor("hz", Zone.URBAN, "day") == rules.ceiling
    assert learn(trips(50, 0.3), TZ, 3.0, rules).factor("hz", Zone.URBAN, "day") == rules.floor


def test_corrected_travel_scales_driving_by_the_scenes_zone_and_hour_not_the_set_up():
    base = StraightLineTravel()
    f = learn(trips(40, 1.5), TZ, base.setup_minutes, LearningRules(prior_trips=0))
    travel = CorrectedTravel(base, f, "hz", TZ)
    plain = base.minutes(*CENTRE, *offset(5), Zone.URBAN, DAY)
    assert abs(travel.minutes(*CENTRE, *offset(5), Zone.URBAN, DAY) - (3 + 1.5 * (plain - 3))) < 1e-9
    assert travel.minutes(*CENTRE, *offset(5), Zone.SUBURBAN, DAY) == base.minutes(*CENTRE, *offset(5),
                                                                                  Zone.SUBURBAN, DAY)


def test_loans_and_the_desk_estimate_with_the_travel_the_planner_learned():
    from streams.runtime import Runtime
    from streams.settings import Settings

    rt = Runtime(Settings(), "postgresql://unused")
    base = rt.travel.minutes(30.27, 120.15, 30.30, 120.15, Zone.URBAN, DAY)
    assert rt.dispatcher.travel_in("hz").minutes(30.27, 120.15, 30.30, 120.15, Zone.URBAN, DAY) == base
    rt.trip_factors = TripFactors({("hz", Zone.URBAN): 1.5})
    setup = rt.travel.setup_minutes
    for travel in (rt.dispatcher.travel_in("hz"), rt.desk.travel_in("hz")):
        assert travel.minutes(30.27, 120.15, 30.30, 120.15, Zone.URBAN, DAY) == pytest.approx(setup + 1.5 * (base - setup))
    assert rt.desk.travel_in("nb").minutes(30.27, 120.15, 30.30, 120.15, Zone.URBAN, DAY) == base


def test_time_on_scene_is_the_median_per_loss_type_robust_and_shrunk_while_surveys_are_few():
    from models.contract.loss_report import LossType
    from models.dispatch.rules import DispatchRules
    from models.dispatch.scene_times import SceneTimeRules, Survey, learn_scene_times

    cargo = [Survey(LossType.CARGO, m) for m in (110, 120, 130, 125, 115, 118, 122, 600, 1.0, 119)]  # two absurd
    theft = [Survey(LossType.THEFT, 15.0)] * 9
    rules = SceneTimeRules(min_surveys=8, prior_surveys=0)
    learned = learn_scene_times(cargo + theft, lambda _: 45.0, rules)
    assert learned[LossType.CARGO] == pytest.approx(119.5)       # the 8 sane ones' median
    assert learned[LossType.THEFT] == pytest.approx(15.0)
    assert LossType.VEHICLE not in learned                      # none: the configured 45 stays
    assert LossType.CARGO not in learn_scene_times(cargo, lambda _: 45.0, SceneTimeRules(min_surveys=9, prior_surveys=0))
    shrunk = learn_scene_times(theft, lambda _: 45.0, SceneTimeRules(min_surveys=8, prior_surveys=9))
    assert shrunk[LossType.THEFT] == pytest.approx(45 + (15 - 45) * 9 / 18)
    # shrunk towards the time configured for the loss type, where there is one
    configured = DispatchRules(survey_minutes_by_loss_type={LossType.THEFT: 30.0}).survey_minutes_for
    towards = learn_scene_times(theft, configured, SceneTimeRules(min_surveys=8, prior_surveys=9))
    assert towards[LossType.THEFT] == pytest.approx(30 + (15 - 30) * 9 / 18)


def test_a_worker_expects_busy_surveyors_free_after_the_time_learned_for_their_claims_loss_type():
    from models.contract.loss_report import LossType
    from streams.runtime import Runtime
    from streams.settings import Settings

    rt = Runtime(Settings(), "postgresql://unused")
    rt.learn_scene_times({LossType.CARGO: 120.0})
    for rules in (rt.rules, rt.dispatcher.rules, rt.desk.dispatcher.rules):
        assert rules.survey_minutes_for(LossType.CARGO) == 120.0
        assert rules.survey_minutes_for(LossType.VEHICLE) == rules.survey_minutes_for(None) == 45.0


def test_corrected_matrices_scale_each_destination_by_its_own_zones_factor():
    import numpy as np

    base = StraightLineTravel()
    f = learn(trips(40, 1.5), TZ, base.setup_minutes, LearningRules(prior_trips=0))
    travel = CorrectedTravel(base, f, "hz", TZ)
    zones = [Zone.SUBURBAN, Zone.URBAN, Zone.FAR, Zone.URBAN]
    scenes = [offset(km) for km in (4, 8, 40, 2)]
    lat, lon = np.array([s[0] for s in scenes]), np.array([s[1] for s in scenes])
    matrix = travel.drive_matrix(np.array([CENTRE[0]]), np.array([CENTRE[1]]), lat, lon, zones, DAY)
    for j, (s, zone) in enumerate(zip(scenes, zones)):
        assert abs(matrix[0, j] - (travel.minutes(*CENTRE, *s, zone, DAY) - base.setup_minutes)) < 1e-9
    # the learned trips were urban: only the urban scenes take longer than the base model's
    plain = base.drive_matrix(np.array([CENTRE[0]]), np.array([CENTRE[1]]), lat, lon, zones, DAY)
    assert [bool(matrix[0, j] > plain[0, j] + 1e-9) for j in range(4)] == [False, True, False, True]
