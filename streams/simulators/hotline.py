"""Realistic loss reports across the urban, suburban and far zones of the demo regions."""

from __future__ import annotations

import json
import math
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from models.contract.loss_report import (Injuries, InjurySeverity, Insured, Location, LossReported, LossType, Police, Policy,
                            Reporter, Vehicle)
from models.dispatch.zones import Region

_LOSS_TYPES = [(LossType.VEHICLE, 70), (LossType.PROPERTY, 10), (LossType.INJURY, 6), (LossType.THEFT, 5),
               (LossType.CARGO, 4), (LossType.NATURAL_DISASTER, 5)]
_SURNAMES = "王李張劉陳楊黃趙吳周徐孫馬朱胡郭何高林羅"
_GIVEN = "偉芳娜敏靜麗強磊軍洋勇艷傑娟濤明超秀霞平剛"


@dataclass(frozen=True)
class SimulatedReport:
    report_id: str
    payload: bytes
    valid: bool
    flaw: str = ""  # for an invalid one: what is wrong with it
    duplicate: str = ""  # for another report of an earlier accident: other_party or repeat_call


def _point(rng: random.Random, region: Region) -> tuple[float, float]:
    band = rng.choices(["urban", "suburban", "far"], weights=[60, 30, 10])[0]
    # Most losses happen near town: suburban ones mostly within 35 km, far ones just past 50 km.
    lo, hi = {"urban": (0.5, region.urban_radius_km * 0.9),
              "suburban": (region.urban_radius_km * 1.05, min(35.0, region.far_beyond_km * 0.95)),
              "far": (region.far_beyond_km * 1.02, min(75.0, region.remote_beyond_km * 0.95))}[band]
    d = rng.uniform(lo, hi)
    bearing = rng.uniform(0, 2 * math.pi)
    lat = region.centre_lat + (d / 111.0) * math.cos(bearing)
    lon = region.centre_lon + (d / (111.0 * math.cos(math.radians(region.centre_lat)))) * math.sin(bearing)
    return lat, lon


def loss_report(rng: random.Random, region: Region, now: datetime, seq: int) -> LossReported:
    loss_type = rng.choices([t for t, _ in _LOSS_TYPES], weights=[w for _, w in _LOSS_TYPES])[0]
    lat, lon = _point(rng, region)
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(["", rng.choice(_GIVEN)])
    phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
    injured = loss_type is LossType.INJURY
    event_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    # One injury report in five is of a serious injury (class 1: a surveyor may be turned round for it), about 1%
    # of all reports. Read from the event id's bits, not drawn: every other draw stays as it was for a seed.
    serious = injured and event_id.int % 5 == 0
    return LossReported(
        event_id=event_id,
        occurred_at=now,
        report_id=f"RPT-{now:%Y%m%d}-{seq:07d}-{rng.getrandbits(32):08x}",  # unique across runs of a day
        reporter=Reporter(name=name, phone=phone, relation="insured"),
        insured=Insured(name=name, id_number=None),
        policy=Policy(number=f"P{rng.randrange(10**11):011d}",
                      line_of_business="motor" if loss_type in (LossType.VEHICLE, LossType.THEFT) else "property"),
        loss_time=now - timedelta(minutes=rng.randint(2, 40)),
        location=Location(address=f"{region.name} road {rng.randint(1, 999)}", lat=round(lat, 6), lon=round(lon, 6)),
        cause=rng.choice(["rear-end collision", "scrape", "flooding", "fire", "break-in", "fall"]),
        loss_type=loss_type,
        injuries=Injuries(count=rng.randint(1, 2) if injured else 0,
                          severity=InjurySeverity.SERIOUS if serious else InjurySeverity.MINOR if injured
                          else InjurySeverity.NONE),
        police=Police(involved=injured, report_no=f"JJ{rng.randrange(10**8):08d}" if injured else None),
        vehicle_drivable=rng.random() > 0.3 if loss_type is LossType.VEHICLE else None,
        insured_vehicle=Vehicle(plate=_plate(rng)) if loss_type is LossType.VEHICLE else None,
        # Most crashes involve another car, and the caller mostly gives its plate.
        third_party_vehicles=(Vehicle(plate=_plate(rng)),) if loss_type is LossType.VEHICLE and rng.random() < 0.7
        else (),
        estimated_loss=round(rng.uniform(500, 30000), 2),
    )


def _plate(rng: random.Random) -> str:
    return f"浙{rng.choice('ABCDEFGHJK')}{rng.randrange(10**5):05d}"


def _as_typed(rng: random.Random, plate: str) -> str:
    """A plate as a second caller might give it: with a space, a dash, in lower case or as it is."""
    return rng.choice([plate, plate[:2] + " " + plate[2:], plate[:2] + "-" + plate[2:], plate.lower()])


def _near(rng: random.Random, lat: float, lon: float, metres: float) -> tuple[float, float]:
    d, bearing = rng.uniform(0, metres) / 1000.0, rng.uniform(0, 2 * math.pi)
    return (round(lat + (d / 111.0) * math.cos(bearing), 6),
            round(lon + (d / (111.0 * math.cos(math.radians(lat)))) * math.sin(bearing), 6))


def other_party(rng: random.Random, first: LossReported, region: Region, now: datetime, seq: int
                ) -> LossReported | None:
    """The other driver of ``first``'s crash reporting it too: their own policy and phone, their car as the
    insured one and ``first``'s as the third party (when they noted it), the scene described a few dozen
    metres apart. None when ``first`` names no other car."""
    if not first.third_party_vehicles or first.insured_vehicle is None:
        return None
    own = loss_report(rng, region, now, seq)
    lat, lon = _near(rng, first.location.lat, first.location.lon, 60)
    seen = (Vehicle(plate=_as_typed(rng, first.insured_vehicle.plate)),) if rng.random() < 0.85 else ()
    return own.model_copy(update={
        "loss_type": LossType.VEHICLE, "loss_time": first.loss_time + timedelta(minutes=rng.uniform(-2, 2)),
        "location": Location(address=first.location.address, lat=lat, lon=lon),
        "insured_vehicle": Vehicle(plate=_as_typed(rng, first.third_party_vehicles[0].plate)),
        "third_party_vehicles": seen, "injuries": first.injuries, "police": first.police})


def repeat_call(rng: random.Random, first: LossReported, now: datetime, seq: int) -> LossReported:
    """The same customer calling again ("where is my surveyor?") and given a new report id: the same phone,
    policy and cars, the scene described again, the loss time remembered a little differently."""
    lat, lon = _near(rng, first.location.lat, first.location.lon, 80)
    plates = {"insured_vehicle": Vehicle(plate=_as_typed(rng, first.insured_vehicle.plate))} \
        if first.insured_vehicle else {}
    return first.model_copy(update={
        "event_id": uuid.UUID(int=rng.getrandbits(128), version=4), "occurred_at": now,
        "report_id": f"RPT-{now:%Y%m%d}-{seq:07d}-{rng.getrandbits(32):08x}",
        "loss_time": first.loss_time + timedelta(minutes=rng.uniform(-5, 5)),
        "location": Location(address=first.location.address, lat=lat, lon=lon), **plates})


def _flawed(rng: random.Random, good: LossReported) -> tuple[bytes, str]:
    flaw = rng.choice(["not_json", "missing_policy", "future_loss_time"])
    if flaw == "not_json":
        return b"{report: " + good.report_id.encode() + b", this is not JSON", flaw
    data = json.loads(good.model_dump_json())
    if flaw == "missing_policy":
        del data["policy"]["number"]
    else:
        data["loss_time"] = (good.occurred_at + timedelta(days=2)).isoformat()
    return json.dumps(data, ensure_ascii=False).encode(), flaw


def make_report(rng: random.Random, regions: tuple[Region, ...], now: datetime, seq: int,
                bad_ratio: float = 0.0, duplicate_ratio: float = 0.0,
                recent: list[tuple[LossReported, Region]] | None = None) -> SimulatedReport:
    """One report made at ``now``; with probability ``bad_ratio`` broken the way hotline feeds break, and with
    ``duplicate_ratio`` another report of one of the ``recent`` accidents (the other driver, or the same
    customer calling again); ``recent`` is kept up to date."""
    if recent and rng.random() < duplicate_ratio:
        first, region = rng.choice(recent)
        kind = rng.choice(["other_party", "repeat_call"])
        dup = other_party(rng, first, region, now, seq) if kind == "other_party" else None
        if dup is None:
            kind, dup = "repeat_call", repeat_call(rng, first, now, seq)
        return SimulatedReport(dup.report_id, dup.model_dump_json().encode(), True, duplicate=kind)
    region = rng.choice(regions)
    report = loss_report(rng, region, now, seq)
    if rng.random() < bad_ratio:
        payload, flaw = _flawed(rng, report)
        return SimulatedReport(report.report_id, payload, False, flaw)
    if recent is not None:  # (a broken report has no claim to be a duplicate of)
        recent.append((report, region))
        del recent[:-50]
    return SimulatedReport(report.report_id, report.model_dump_json().encode(), True)
