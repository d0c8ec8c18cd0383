"""How soon: arrival estimates for every claim and surveyor at once, and the best way one surveyor has.

A surveyor collects a free vehicle that carries the equipment the loss type
needs (the one they already drive, if it is beside them) and drives to the
scene. Estimates are computed for whole matrices at once, since a storm puts
hundreds of claims in front of hundreds of surveyors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from models.contract.dispatch_events import ClaimRegistered
from models.dispatch.fleet import SurveyorState, VehicleState, local_time, suitable_vehicles
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import TravelTimeModel
from models.dispatch.zones import Zone

#: For each surveyor only the nearest few suitable vehicles are considered.
NEAREST_VEHICLES = 3


@dataclass(frozen=True)
class Option:
    """One way to serve a claim: a surveyor, a vehicle, and when they would arrive."""

    surveyor_id: str
    vehicle_id: str
    eta: datetime
    tasks_today: int

    def lateness_minutes(self, deadline: datetime) -> float:
        return max(0.0, (self.eta - deadline).total_seconds() / 60.0)


def eta_matrix(claims: list[ClaimRegistered], surveyors: list[SurveyorState], vehicles: list[VehicleState],
               rules: DispatchRules, travel: TravelTimeModel, now: datetime,
               excludes: list[frozenset[str]] | None = None,
               vehicles_out_return: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from now to arrival for every claim (rows) and surveyor (columns), and the vehicle used.

    ``inf`` where the surveyor cannot take the claim (region, duty, skill, declined it, no suitable vehicle).
    Busy surveyors are estimated from when they are expected to be free, from where they are; for them
    (``vehicles_out_return``) a vehicle out on a task counts as free: the one they drive is free when they are.
    """
    n_c, n_s = len(claims), len(surveyors)
    eta = np.full((n_c, n_s), np.inf)
    chosen = np.full((n_c, n_s), -1, dtype=int)
    if not n_c or not n_s:
        return eta, chosen
    local = local_time(now, rules)
    slat = np.array([s.lat for s in surveyors])
    slon = np.array([s.lon for s in surveyors])
    start = np.array([max(0.0, (s.free_at - now).total_seconds() / 60.0) if s.busy and s.free_at else 0.0
                      for s in surveyors])
    able = np.array([s.on_duty(local) for s in surveyors])
    clat = np.array([c.lat for c in claims])
    clon = np.array([c.lon for c in claims])
    positions = [v.position for v in vehicles]
    vlat_all = np.array([p[0] for p in positions])
    vlon_all = np.array([p[1] for p in positions])
    groups = _groups(claims)
    fleets: dict[tuple, list[int]] = {}  # vehicles that suit a claim, by what decides it
    for region, loss_type in groups:
        need = rules.equipment_needed(loss_type)
        if (region, need) not in fleets:
            fleets[region, need] = suitable_vehicles(vehicles, region, need, vehicles_out_return)
    # Surveyor → vehicle, computed once: for the one fleet most plans need, else for every vehicle.
    pickup_all = None if len({tuple(f) for f in fleets.values()}) == 1 else \
        travel.drive_matrix(slat, slon, vlat_all, vlon_all, [Zone.URBAN] * len(vehicles), now)
    # Claims whose loss types need the same vehicles share the geometry (usually one fleet for a whole region:
    # bench/pipeline.py's six loss types, one fleet): worked out once per fleet, surveyors' skills applied per row.
    by_fleet: dict[tuple[int, ...], list[int]] = {}
    skilled = np.zeros((n_c, n_s), bool)
    kits: dict[tuple[str, frozenset], list[int]] = {}  # surveyors by region and skills: a region has few kinds
    for j, s in enumerate(surveyors):
        kits.setdefault((s.surveyor.region_id, s.surveyor.skills), []).append(j)
    for (region, loss_type), rows in groups.items():
        fleet = fleets[region, rules.equipment_needed(loss_type)]
        can = np.zeros(n_s, bool)
        for (kit_region, skills), columns in kits.items():
            if kit_region == region and loss_type in skills:
                can[columns] = True
        can &= able
        if not can.any() or not fleet:
            continue
        skilled[rows] = can
        by_fleet.setdefault(tuple(fleet), []).extend(rows)
    for fleet_key, row_list in by_fleet.items():
        fleet, rows = list(fleet_key), np.array(row_list)
        vlat, vlon = vlat_all[fleet], vlon_all[fleet]
        pickup = pickup_all[:, fleet] if pickup_all is not None else \
            travel.drive_matrix(slat, slon, vlat, vlon, [Zone.URBAN] * len(fleet), now)             # S × V
        k = min(NEAREST_VEHICLES, len(fleet))
        nearest = np.argpartition(pickup, k - 1, axis=1)[:, :k] if k < len(fleet) else \
            np.tile(np.arange(len(fleet)), (n_s, 1))                                                # S × k
        drive = travel.drive_matrix(vlat, vlon, clat[rows], clon[rows], [claims[r].zone for r in rows], now)  # V × C
        total = np.take_along_axis(pickup, nearest, 1)[:, :, None] + drive[nearest]                # S × k × C
        best_k = total.argmin(axis=1)                                                               # S × C
        best = np.take_along_axis(total, best_k[:, None, :], 1)[:, 0, :] + travel.setup_minutes + start[:, None]
        eta[rows, :] = np.where(skilled[rows], best.T, np.inf)
        chosen[rows, :] = np.asarray(fleet)[np.take_along_axis(nearest, best_k, 1)].T
    if excludes and any(excludes):
        index = {s.surveyor_id: j for j, s in enumerate(surveyors)}
        for i, ex in enumerate(excludes):
            for sid in ex:
                if sid in index:
                    eta[i, index[sid]] = np.inf
    return eta, chosen


def _groups(claims: list[ClaimRegistered]) -> dict[tuple[str, object], list[int]]:
    groups: dict[tuple[str, object], list[int]] = {}
    for i, c in enumerate(claims):
        groups.setdefault((c.region_id, c.loss_type), []).append(i)
    return groups


def best_option(claim: ClaimRegistered, s: SurveyorState, fleet: list[VehicleState], rules: DispatchRules,
                travel: TravelTimeModel, now: datetime) -> Option | None:
    """The surveyor's fastest way to the scene with one of ``fleet``; None when no vehicle suits."""
    suitable_fleet = [fleet[k] for k in suitable_vehicles(fleet, claim.region_id, rules.equipment_needed(claim.loss_type))]
    if not suitable_fleet:
        return None
    eta, chosen = eta_matrix([claim], [s], suitable_fleet, rules, travel, now)
    if not np.isfinite(eta[0, 0]):
        return None
    v = suitable_fleet[chosen[0, 0]]
    return Option(s.surveyor_id, v.vehicle.vehicle_id, now + timedelta(minutes=float(eta[0, 0])), s.tasks_today)


def eta_with(s: SurveyorState, v: VehicleState, lat: float, lon: float, zone: Zone, travel: TravelTimeModel,
             now: datetime) -> datetime:
    """When this surveyor, collecting this vehicle, reaches the scene at (``lat``, ``lon``): the same estimate
    as ``eta_matrix`` (from when they are free, to the vehicle at urban speed, on to the scene at its zone's),
    for a pair a dispatcher named, whatever its region, skills or equipment."""
    start = max(0.0, (s.free_at - now).total_seconds() / 60.0) if s.busy and s.free_at else 0.0
    vlat, vlon = v.position
    pickup = travel.drive_matrix(np.array([s.lat]), np.array([s.lon]), np.array([vlat]), np.array([vlon]),
                                 [Zone.URBAN], now)[0, 0]
    drive = travel.drive_matrix(np.array([vlat]), np.array([vlon]), np.array([lat]), np.array([lon]), [zone], now)[0, 0]
    return now + timedelta(minutes=float(start + pickup + drive + travel.setup_minutes))
