from datetime import datetime, timezone

from models.travel import StraightLineTravel
from models.zones import Zone
from tests.unit.builders import CENTRE, offset

TRAVEL = StraightLineTravel()


def test_night_speeds_follow_the_local_clock_not_utc():
    # 10 km north at the urban speed, plus set-up: 10 × 1.25 km at 30 km/h by day, 40 km/h by night
    to = offset(10)
    day = TRAVEL.minutes(*CENTRE, *to, Zone.URBAN, datetime(2026, 7, 15, 2, 0, tzinfo=timezone.utc))  # 10:00 local
    night = TRAVEL.minutes(*CENTRE, *to, Zone.URBAN, datetime(2026, 7, 15, 15, 0, tzinfo=timezone.utc))  # 23:00
    assert round(day - TRAVEL.setup_minutes, 1) == 25.0
    assert round(night - TRAVEL.setup_minutes, 1) == 18.8
    assert StraightLineTravel(timezone="UTC").minutes(*CENTRE, *to, Zone.URBAN,
                                                      datetime(2026, 7, 15, 2, 0, tzinfo=timezone.utc)) == night
