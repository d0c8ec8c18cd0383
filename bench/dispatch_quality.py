"""Dispatch quality in a storm: this dispatcher against greedy nearest-available and the offline optimum.

Run on purpose (never part of the tests):  .venv/bin/python bench/dispatch_quality.py [--seeds 5]

The storm: 400 reports in 30 minutes over 3 regions, 40 surveyors (one region
short-staffed), each surveyor with a vehicle of their own, every skill and all
equipment, so that the comparison is about who goes where and when. Time is
modelled (a discrete-event simulation); travel uses the product's default
travel model, and time on scene is drawn per report.

(a) this dispatcher: `models.region_plan.plan_region` re-plans a region's pending
    claims on every report, every finished survey and every modelled minute;
(b) greedy nearest-available, the usual practice: a report takes the nearest
    free surveyor at once, else waits in a queue; a freed surveyor takes the
    oldest waiting report;
(c) the offline optimum: knows every report in advance and chooses each
    surveyor's sequence of reports to maximise the deadlines met, solved exactly
    as a mixed-integer programme (scipy.optimize.milp / HiGHS, per region).

Prints deadlines met, total and p90 lateness, escalations side by side, and
the planner's decision time for 10, 100 and 500 pending claims against 200
surveyors.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.candidates import SurveyorState, VehicleState  # noqa: E402
from models.dispatch_events import ClaimRegistered  # noqa: E402
from models.dispatch_rules import DispatchRules  # noqa: E402
from models.region_plan import PendingClaim, plan_region  # noqa: E402
from models.reports import LossType  # noqa: E402
from models.roster import ShiftKind, Surveyor, SurveyVehicle  # noqa: E402
from models.travel import StraightLineTravel  # noqa: E402
from models.zones import ArrivalLimits, Region  # noqa: E402

T0 = datetime(2026, 7, 15, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai: day speeds throughout
TRAVEL = StraightLineTravel()
RULES = DispatchRules(survey_minutes=25)
REGIONS = (
    Region(region_id="hz", name="Hangzhou", centre_lat=30.2741, centre_lon=120.1551, urban_radius_km=15),
    Region(region_id="nb", name="Ningbo", centre_lat=29.8683, centre_lon=121.5440, urban_radius_km=12),
    Region(region_id="wz", name="Wenzhou", centre_lat=27.9938, centre_lon=120.6994, urban_radius_km=10),
)
STAFF = {"hz": 16, "nb": 16, "wz": 8}  # Wenzhou is short-staffed


@dataclass(frozen=True)
class Report:
    rid: str
    region: str
    t: float          # minutes after T0
    lat: float
    lon: float
    zone: object
    deadline: float   # minutes after T0
    survey: float     # minutes on scene


@dataclass
class Person:
    sid: str
    region: str
    lat: float
    lon: float
    free_at: float = 0.0


def _point(rng, region: Region) -> tuple[float, float]:
    band = rng.choices(["urban", "suburban", "far"], weights=[60, 30, 10])[0]
    lo, hi = {"urban": (0.5, region.urban_radius_km * 0.9), "suburban": (region.urban_radius_km * 1.05, 35.0),
              "far": (region.far_beyond_km * 1.02, 75.0)}[band]
    d, bearing = rng.uniform(lo, hi), rng.uniform(0, 2 * math.pi)
    return (region.centre_lat + d / 111.0 * math.cos(bearing),
            region.centre_lon + d / (111.0 * math.cos(math.radians(region.centre_lat))) * math.sin(bearing))


def storm(seed: int, n_reports: int = 400, window: float = 30.0,
          staff: dict[str, int] = STAFF) -> tuple[list[Report], list[Person]]:
    rng = random.Random(seed)
    limits = ArrivalLimits()
    reports = []
    for i, t in enumerate(sorted(rng.uniform(0, window) for _ in range(n_reports))):
        region = rng.choice(REGIONS)
        lat, lon = _point(rng, region)
        zone = region.zone_at(lat, lon)
        deadline = (limits.deadline(zone, T0 + timedelta(minutes=t)) - T0).total_seconds() / 60
        reports.append(Report(f"R{i:04d}", region.region_id, t, lat, lon, zone, deadline, rng.uniform(15, 35)))
    people = []
    for region in REGIONS:
        for k in range(staff[region.region_id]):
            d, bearing = rng.uniform(0, 12), rng.uniform(0, 2 * math.pi)
            people.append(Person(f"{region.region_id}-s{k:02d}", region.region_id,
                                 region.centre_lat + d / 111.0 * math.cos(bearing),
                                 region.centre_lon + d / (111.0 * math.cos(math.radians(region.centre_lat)))
                                 * math.sin(bearing)))
    return reports, people


def _minutes(lat1, lon1, lat2, lon2, zone) -> float:
    return TRAVEL.minutes(lat1, lon1, lat2, lon2, zone, T0)


@dataclass
class Outcome:
    arrivals: dict[str, float] = field(default_factory=dict)
    escalations: int = 0


def _surveyor(p: Person) -> Surveyor:
    return Surveyor(surveyor_id=p.sid, name="x", region_id=p.region, skills=frozenset(LossType), base_lat=p.lat,
                    base_lon=p.lon, shift=ShiftKind.ON_CALL, shift_start=dtime(0), shift_end=dtime(0))


def run_planner(reports: list[Report], people: list[Person]) -> Outcome:
    """(a) this dispatcher, driven the way the workers drive it."""
    out = Outcome()
    people = {p.sid: Person(p.sid, p.region, p.lat, p.lon) for p in people}
    roster = {sid: _surveyor(p) for sid, p in people.items()}
    kit = frozenset({"camera", "measuring_kit", "first_aid", "rain_gear"})
    by_id = {r.rid: r for r in reports}
    pending: dict[str, list[Report]] = {r.region_id: [] for r in REGIONS}
    raised: dict[str, set[str]] = {}
    events = [(r.t, 0, r.rid) for r in reports] + [(float(m), 1, "") for m in range(0, 600)]
    heapq.heapify(events)
    while events:
        t, kind, rid = heapq.heappop(events)
        if kind == 0:
            pending[by_id[rid].region].append(by_id[rid])
        if not any(pending.values()):
            if t > reports[-1].t and all(p.free_at <= t for p in people.values()):
                break
            continue
        now = T0 + timedelta(minutes=t)
        for region, waiting in pending.items():
            if not waiting:
                continue
            claims = [PendingClaim(ClaimRegistered(
                event_id=uuid.uuid5(uuid.NAMESPACE_OID, r.rid), occurred_at=T0 + timedelta(minutes=r.t),
                report_id=r.rid, region_id=region, zone=r.zone, loss_type=LossType.VEHICLE,
                reported_at=T0 + timedelta(minutes=r.t), lat=r.lat, lon=r.lon,
                deadline_at=T0 + timedelta(minutes=r.deadline)), pending_since=T0 + timedelta(minutes=r.t),
                raised=frozenset(raised.get(r.rid, ()))) for r in waiting]
            staff = [p for p in people.values() if p.region == region]
            states = [SurveyorState(roster[p.sid], p.lat, p.lon, p.free_at > t, 0,
                                    T0 + timedelta(minutes=p.free_at) if p.free_at > t else None) for p in staff]
            vehicles = [VehicleState(SurveyVehicle(vehicle_id=f"v-{p.sid}", region_id=region, equipment=kit,
                                                   base_lat=p.lat, base_lon=p.lon), p.free_at > t) for p in staff]
            plan = plan_region(claims, states, vehicles, RULES, TRAVEL, now)
            for e in plan.escalated:
                raised.setdefault(e.report_id, set()).add(e.reason.value)
                out.escalations += 1
            for a in plan.assigned:
                r = by_id[a.report_id]
                p = people[a.surveyor_id]
                arrive = (a.estimated_arrival_at - T0).total_seconds() / 60
                out.arrivals[r.rid] = arrive
                p.free_at, p.lat, p.lon = arrive + r.survey, r.lat, r.lon
                heapq.heappush(events, (p.free_at, 2, ""))
                waiting.remove(r)
    return out


def run_greedy(reports: list[Report], people: list[Person]) -> Outcome:
    """(b) greedy nearest-available: the nearest free surveyor at once, else a FIFO queue."""
    out = Outcome()
    people = [Person(p.sid, p.region, p.lat, p.lon) for p in people]
    queue: dict[str, list[Report]] = {r.region_id: [] for r in REGIONS}
    events = [(r.t, 0, i) for i, r in enumerate(reports)]
    heapq.heapify(events)

    def send(p: Person, r: Report, t: float) -> None:
        arrive = t + _minutes(p.lat, p.lon, r.lat, r.lon, r.zone)
        out.arrivals[r.rid] = arrive
        p.free_at, p.lat, p.lon = arrive + r.survey, r.lat, r.lon
        heapq.heappush(events, (p.free_at, 1, people.index(p)))

    while events:
        t, kind, idx = heapq.heappop(events)
        if kind == 0:
            r = reports[idx]
            free = [p for p in people if p.region == r.region and p.free_at <= t]
            if free:
                send(min(free, key=lambda p: (_minutes(p.lat, p.lon, r.lat, r.lon, r.zone), p.sid)), r, t)
            else:
                queue[r.region].append(r)
        else:
            p = people[idx]
            if p.free_at <= t and queue[p.region]:
                send(p, queue[p.region].pop(0), t)
    return out


def offline_optimum(reports: list[Report], people: list[Person], time_limit: float) -> tuple[int, int, str]:
    """(c) deadlines met when every report is known in advance: (best found, proven upper bound, status)."""
    found = bound = 0
    statuses = []
    for region in REGIONS:
        rs = [r for r in reports if r.region == region.region_id]
        ps = [p for p in people if p.region == region.region_id]
        f, b, s = _offline_region(rs, ps, time_limit)
        found, bound = found + f, bound + b
        statuses.append(f"{region.region_id}: {s}")
    return found, bound, ", ".join(statuses)


def _offline_region(rs: list[Report], ps: list[Person], time_limit: float) -> tuple[int, int, str]:
    n = len(rs)
    start = {(k, i): r.t + _minutes(p.lat, p.lon, r.lat, r.lon, r.zone)
             for k, p in enumerate(ps) for i, r in enumerate(rs)}
    a_arcs = [(k, i) for (k, i), arrive in start.items() if arrive <= rs[i].deadline]
    earliest = [min((start[k, i] for k in range(len(ps))), default=math.inf) for i in range(n)]
    hop = {(i, j): _minutes(rs[i].lat, rs[i].lon, rs[j].lat, rs[j].lon, rs[j].zone)
           for i in range(n) for j in range(n) if i != j}
    b_arcs = [(i, j) for (i, j), tau in hop.items()
              if earliest[i] <= rs[i].deadline and max(earliest[i] + rs[i].survey, rs[j].t) + tau <= rs[j].deadline]
    na, nb = len(a_arcs), len(b_arcs)
    nv = na + nb + n  # a arcs, b arcs, arrival times
    T = na + nb
    c = np.zeros(nv)
    c[:na + nb] = -1.0  # each arc into a report serves it (on time: arrival times are bounded by the deadlines)
    lo, hi = [], []
    A = lil_matrix((3 * n + len(ps) + na + 2 * nb, nv))
    r_ = 0
    into = [[] for _ in range(n)]
    out_of = [[] for _ in range(n)]
    for x, (k, i) in enumerate(a_arcs):
        into[i].append(x)
    for y, (i, j) in enumerate(b_arcs):
        into[j].append(na + y)
        out_of[i].append(na + y)
    for i in range(n):  # served at most once
        for x in into[i]:
            A[r_, x] = 1
        lo.append(-np.inf), hi.append(1)
        r_ += 1
    for i in range(n):  # a successor only after being served
        for x in out_of[i]:
            A[r_, x] = 1
        for x in into[i]:
            A[r_, x] = -1
        lo.append(-np.inf), hi.append(0)
        r_ += 1
    for k in range(len(ps)):  # each surveyor starts one chain
        for x, (kk, _i) in enumerate(a_arcs):
            if kk == k:
                A[r_, x] = 1
        lo.append(-np.inf), hi.append(1)
        r_ += 1
    for x, (k, i) in enumerate(a_arcs):  # T_i >= start_ki * a_ki
        A[r_, T + i] = 1
        A[r_, x] = -start[k, i]
        lo.append(0), hi.append(np.inf)
        r_ += 1
    for y, (i, j) in enumerate(b_arcs):  # T_j >= T_i + S_i + tau_ij  if b_ij
        # the smallest big-M that is still valid: T_i <= d_i and T_j >= 0
        m = rs[i].deadline + rs[i].survey + hop[i, j]
        A[r_, T + j] = 1
        A[r_, T + i] = -1
        A[r_, na + y] = -m
        lo.append(rs[i].survey + hop[i, j] - m), hi.append(np.inf)
        r_ += 1
        A[r_, T + j] = 1  # T_j >= (r_j + tau_ij) b_ij : not before the report
        A[r_, na + y] = -(rs[j].t + hop[i, j])
        lo.append(0), hi.append(np.inf)
        r_ += 1
    A = A[:r_]
    integrality = np.r_[np.ones(na + nb), np.zeros(n)]
    bounds = Bounds(np.zeros(nv), np.r_[np.ones(na + nb), [r.deadline for r in rs]])
    res = milp(c, constraints=LinearConstraint(A.tocsr(), lo, hi), integrality=integrality, bounds=bounds,
               options={"time_limit": time_limit, "disp": False})
    found = int(round(-res.fun)) if res.x is not None else 0
    dual = getattr(res, "mip_dual_bound", None)
    bound = int(math.floor(-dual + 1e-6)) if dual is not None and np.isfinite(dual) else found
    status = "optimal" if res.status == 0 else f"time limit, gap {bound - found}"
    return found, max(found, bound), status


def score(out: Outcome, reports: list[Report]) -> dict:
    lateness = [max(0.0, out.arrivals.get(r.rid, math.inf) - r.deadline) for r in reports]
    met = sum(1 for x in lateness if x == 0)
    finite = [x for x in lateness if math.isfinite(x)]
    return {"met": met, "total_late": sum(finite), "p90_late": statistics.quantiles(lateness, n=10)[-1],
            "escalations": out.escalations, "unserved": len(reports) - len(finite)}


def decision_times(n_pending: int, n_surveyors: int, reps: int, seed: int = 3) -> tuple[float, float]:
    rng = random.Random(seed)
    region = REGIONS[0]
    kit = frozenset({"camera", "measuring_kit", "first_aid", "rain_gear"})
    states, vehicles = [], []
    for k in range(n_surveyors):
        lat, lon = _point(rng, region)
        s = Surveyor(surveyor_id=f"s{k:03d}", name="x", region_id="hz", skills=frozenset(LossType), base_lat=lat,
                     base_lon=lon, shift=ShiftKind.ON_CALL, shift_start=dtime(0), shift_end=dtime(0))
        states.append(SurveyorState(s, lat, lon, False))
        vehicles.append(VehicleState(SurveyVehicle(vehicle_id=f"v{k:03d}", region_id="hz", equipment=kit,
                                                   base_lat=lat, base_lon=lon), False))
    claims = []
    for i in range(n_pending):
        lat, lon = _point(rng, region)
        zone = region.zone_at(lat, lon)
        claims.append(PendingClaim(ClaimRegistered(
            event_id=uuid.uuid4(), occurred_at=T0, report_id=f"R{i}", region_id="hz", zone=zone,
            loss_type=LossType.VEHICLE, reported_at=T0, lat=lat, lon=lon,
            deadline_at=ArrivalLimits().deadline(zone, T0))))
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        plan_region(claims, states, vehicles, RULES, TRAVEL, T0)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(math.ceil(0.99 * len(samples))) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5, help="storms compared against greedy")
    ap.add_argument("--storm-seed", type=int, default=1, help="the storm also solved offline")
    ap.add_argument("--milp-seconds", type=float, default=120.0, help="time limit per region for the optimum")
    args = ap.parse_args()

    print(f"storm: 400 reports in 30 min, 3 regions, 40 surveyors {STAFF}\n")
    print(f"{'seed':>4}  {'dispatcher':<22}{'met':>5}{'met %':>8}{'total late min':>16}{'p90 late min':>14}"
          f"{'escalations':>13}")
    for seed in range(1, args.seeds + 1):
        reports, people = storm(seed)
        a, b = score(run_planner(reports, people), reports), score(run_greedy(reports, people), reports)
        for name, s in (("this dispatcher", a), ("greedy nearest", b)):
            print(f"{seed:>4}  {name:<22}{s['met']:>5}{100 * s['met'] / len(reports):>7.1f}%"
                  f"{s['total_late']:>16.0f}{s['p90_late']:>14.1f}{s['escalations'] if name[0] == 't' else '—':>13}")
        verdict = "≥" if a["met"] >= b["met"] else "<"
        print(f"{'':>6}deadlines met: this dispatcher {verdict} greedy ({a['met']} vs {b['met']})")

    print("\noffline optimum (exact MILP): deadlines met when every report is known in advance")
    print(f"{'storm':<34}{'this':>6}{'greedy':>8}{'optimum':>9}{'bound':>7}{'this/opt':>10}{'greedy/opt':>12}  solver")
    scaled = [(60, {"hz": 4, "nb": 4, "wz": 2}), (100, {"hz": 6, "nb": 6, "wz": 3}), (400, STAFF)]
    for n, staff in scaled:
        reports, people = storm(args.storm_seed, n, 30.0, staff)
        a = score(run_planner(reports, people), reports)["met"]
        g = score(run_greedy(reports, people), reports)["met"]
        t = time.perf_counter()
        found, bound, status = offline_optimum(reports, people, args.milp_seconds)
        proven = found == bound
        label = f"{n} reports, {sum(staff.values())} surveyors"
        ratio = f"{100 * a / found:.1f}%" if proven else f"≥{100 * a / bound:.1f}%"
        g_ratio = f"{100 * g / found:.1f}%" if proven else f"≥{100 * g / bound:.1f}%"
        print(f"{label:<34}{a:>6}{g:>8}{found if proven else '—':>9}{bound:>7}{ratio:>10}{g_ratio:>12}"
              f"  {'proven optimal' if proven else 'not proven: ' + status} ({time.perf_counter() - t:.0f} s)")

    print("\nbatch decision time (plan_region), 200 surveyors")
    print(f"{'pending':>8}{'p50 ms':>10}{'p99 ms':>10}")
    for n, reps in ((10, 200), (100, 100), (500, 30)):
        p50, p99 = decision_times(n, 200, reps)
        print(f"{n:>8}{p50:>10.1f}{p99:>10.1f}")


if __name__ == "__main__":
    main()
