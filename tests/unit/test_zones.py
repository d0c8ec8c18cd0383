from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from models.dispatch.zones import ArrivalLimits, Region, Zone, locate
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
    from models.dispatch.rules import DispatchRules, rules_for

    strict = REGION.model_copy(update={"arrival": ArrivalLimits(urban_minutes=20), "ack_within_minutes": 1})
    rules = rules_for(DispatchRules(), strict)
    assert rules.arrival.urban_minutes == 20 and rules.ack_within_minutes == 1
    assert rules.contact_within_minutes == DispatchRules().contact_within_minutes
    assert rules_for(DispatchRules(), REGION) == DispatchRules()


def _locate_every_region(regions, lat, lon):
    """``locate`` without its shortcut: every region's zone and distance worked out."""
    served = [(r.distance_km(lat, lon), r.region_id, r, r.zone_at(lat, lon)) for r in regions]
    served = [s for s in served if s[3] is not None]
    return None if not served else min(served, key=lambda s: s[:2])[2:]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(-60, 60), st.floats(-170, 170), st.floats(5, 400)), min_size=1, max_size=8),
       st.floats(-62, 62), st.floats(-175, 175), st.integers(0, 7), st.floats(0.9, 1.1))
def test_locating_skips_only_regions_that_cannot_serve_the_point(centres, lat, lon, near, at_edge):
    regions = tuple(Region(region_id=f"r{i}", name="r", centre_lat=c_lat, centre_lon=c_lon, service_radius_km=radius,
                           remote_beyond_km=min(120.0, radius), far_beyond_km=min(50.0, radius),
                           urban_radius_km=min(15.0, radius))
                    for i, (c_lat, c_lon, radius) in enumerate(centres))
    # Also points due north or south of a centre, around its service radius: where the shortcut cuts.
    r = regions[near % len(regions)]
    for point in ((lat, lon), (r.centre_lat + at_edge * r.service_radius_km / 111.195, r.centre_lon)):
        assert locate(regions, *point) == _locate_every_region(regions, *point)
