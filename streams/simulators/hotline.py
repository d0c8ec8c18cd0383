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
    return LossReported(
        event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
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
                          severity=InjurySeverity.MINOR if injured else InjurySeverity.NONE),
        police=Police(involved=injured, report_no=f"JJ{rng.randrange(10**8):08d}" if injured else None),
        vehicle_drivable=rng.random() > 0.3 if loss_type is LossType.VEHICLE else None,
        insured_vehicle=Vehicle(plate=f"浙A{rng.randrange(10**5):05d}") if loss_type is LossType.VEHICLE else None,
        estimated_loss=round(rng.uniform(500, 30000), 2),
    )


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
                bad_ratio: float = 0.0) -> SimulatedReport:
    """One report made at ``now``; with probability ``bad_ratio`` broken the way hotline feeds break."""
    report = loss_report(rng, rng.choice(regions), now, seq)
    if rng.random() < bad_ratio:
        payload, flaw = _flawed(rng, report)
        return SimulatedReport(report.report_id, payload, False, flaw)
    return SimulatedReport(report.report_id, report.model_dump_json().encode(), True)
