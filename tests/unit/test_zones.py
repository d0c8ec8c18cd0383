from datetime import timedelta

from models.zones import ArrivalLimits, Region, Zone, locate
from tests.unit.builders import NOW, REGION, offset


def test_rings_around_the_centre_give_the_zone():
    assert REGION.zone_at(*offset(10)) is Zone.URBAN
    assert REGION.zone_at(*offset(20)) is Zone.SUBURBAN
    assert REGION.zone_at(*offset(60)) is Zone.FAR
    assert REGION.zone_at(*offset(150)) is Zone.REMOTE
    assert REGION.zone_at(*offset(250)) is None


def test_default_arrival_limits_are_30_60_90_minutes():
    limits = ArrivalLimits()
    assert [limits.deadline(z, NOW) - NOW for z in (Zone.URBAN, Zone.SUBURBAN, Zone.FAR)] == [
        timedelta(minutes=30), timedelta(minutes=60), timedelta(minutes=90)]


def test_limits_are_configuration():
    assert ArrivalLimits(urban_minutes=20).deadline(Zone.URBAN, NOW) - NOW == timedelta(minutes=20)


def test_the_nearest_region_serves_a_point_covered_by_two():
    other = Region(region_id="nb", name="Ningbo", centre_lat=REGION.centre_lat + 1.0, centre_lon=REGION.centre_lon)
    region, zone = locate((REGION, other), *offset(100))
    assert region.region_id == "nb" and zone is Zone.URBAN


def test_a_region_can_override_the_limits():
    from models.dispatch_rules import DispatchRules, rules_for

    strict = REGION.model_copy(update={"arrival": ArrivalLimits(urban_minutes=20), "ack_within_minutes": 1})
    rules = rules_for(DispatchRules(), strict)
    assert rules.arrival.urban_minutes == 20 and rules.ack_within_minutes == 1
    assert rules.contact_within_minutes == DispatchRules().contact_within_minutes
    assert rules_for(DispatchRules(), REGION) == DispatchRules()
