from datetime import datetime, timezone

from models.dispatch.travel import StraightLineTravel
from models.dispatch.zones import Zone
from tests.unit.builders import CENTRE, offset

TRAVEL = StraightLineTravel()


def test_night_speeds_follow_the_local_clock_not_utc():
    # 8 km north at the urban speed, plus set-up: 8 × 1.25 km at 30 km/h by day, 40 km/h by night
    to = offset(8)
    day = TRAVEL.minutes(*CENTRE, *to, Zone.URBAN, datetime(2026, 7, 15, 2, 0, tzinfo=timezone.utc))  # 10:00 local
    night = TRAVEL.minutes(*CENTRE, *to, Zone.URBAN, datetime(2026, 7, 15, 15, 0, tzinfo=timezone.utc))  # 23:00
    assert round(day - TRAVEL.setup_minutes, 1) == 20.0
    assert round(night - TRAVEL.setup_minutes, 1) == 15.0
    assert StraightLineTravel(timezone="UTC").minutes(*CENTRE, *to, Zone.URBAN,
                                                      datetime(2026, 7, 15, 2, 0, tzinfo=timezone.utc)) == night


def test_a_long_route_into_town_drives_only_its_last_stretch_at_town_speed():
    # 70 km north (87.5 road km) into a town scene by day: 12 km at 30 km/h, 35 km at 55, the rest at 75
    from models.dispatch.geo import distance_km

    at = datetime(2026, 7, 15, 2, 0, tzinfo=timezone.utc)
    road = distance_km(*offset(70), *CENTRE) * TRAVEL.detour_factor
    assert 87 < road < 88
    town = TRAVEL.minutes(*offset(70), *CENTRE, Zone.URBAN, at) - TRAVEL.setup_minutes
    assert abs(town - (24 + 35 / 55 * 60 + (road - 47) / 75 * 60)) < 1e-9  # 95 min, not 175 at town speed
    # into a suburban scene: 35 km at 55, the rest at 75; a far scene all at 75
    suburban = TRAVEL.minutes(*offset(70), *CENTRE, Zone.SUBURBAN, at) - TRAVEL.setup_minutes
    assert abs(suburban - (35 / 55 * 60 + (road - 35) / 75 * 60)) < 1e-9
    assert abs(TRAVEL.minutes(*offset(70), *CENTRE, Zone.FAR, at) - 3 - road / 75 * 60) < 1e-9
    # a short trip is all at the scene's zone's speed, and the matrix agrees with the single trip
    import numpy as np
    lat, lon = offset(70)
    matrix = TRAVEL.drive_matrix(np.array([lat, CENTRE[0]]), np.array([lon, CENTRE[1]]), np.array([CENTRE[0]]),
                                 np.array([CENTRE[1]]), [Zone.URBAN], at)
    assert round(matrix[0, 0], 6) == round(town, 6) and matrix[1, 0] == 0


def test_distance_matrices_agree_with_the_formula_for_two_points_in_either_form():
    # small matrices take the direct form, large ones the form without a sine of the whole matrix
    import numpy as np

    from models.dispatch.geo import distance_km
    from models.dispatch.travel import _OUTER_FROM, haversine_matrix

    rng = np.random.default_rng(7)
    for rows, cols in ((1, 40), (12, 12), (40, 40), (120, 120)):
        assert (rows * cols < _OUTER_FROM) == ((rows, cols) in ((1, 40), (12, 12)))
        lat1, lon1 = rng.uniform(27, 32, rows), rng.uniform(118, 123, rows)
        lat2, lon2 = rng.uniform(27, 32, cols), rng.uniform(118, 123, cols)
        lat2[0], lon2[0] = lat1[0], lon1[0]  # a vehicle exactly where a surveyor is: 0, not a rounding error
        got = haversine_matrix(lat1, lon1, lat2, lon2)
        want = np.array([[distance_km(a, b, c, d) for c, d in zip(lat2, lon2)] for a, b in zip(lat1, lon1)])
        assert got[0, 0] == 0.0
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9)


def test_a_matrix_into_scenes_of_every_zone_agrees_with_each_single_trip_by_day_and_night():
    # each destination's legs looked up by its zone (the plan's matrices mix zones): every cell as its own trip
    import numpy as np

    zones = [Zone.FAR, Zone.URBAN, Zone.REMOTE, Zone.SUBURBAN, Zone.URBAN, Zone.FAR]
    origins = [offset(km) for km in (0, 5, 30, 70, 120)]
    scenes = [offset(km) for km in (3, 10, 45, 60, 90, 150)]
    for at in (datetime(2026, 7, 15, 2, 0, tzinfo=timezone.utc), datetime(2026, 7, 15, 15, 0, tzinfo=timezone.utc)):
        matrix = TRAVEL.drive_matrix(np.array([o[0] for o in origins]), np.array([o[1] for o in origins]),
                                     np.array([s[0] for s in scenes]), np.array([s[1] for s in scenes]), zones, at)
        for i, o in enumerate(origins):
            for j, (s, zone) in enumerate(zip(scenes, zones)):
                single = TRAVEL.minutes(*o, *s, zone, at) - TRAVEL.setup_minutes
                assert abs(matrix[i, j] - single) < 1e-9, (i, j, zone)
