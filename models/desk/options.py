"""What a dispatcher can do about an escalated claim, naming who and when, as things stand now.

Worked out when the desk asks (so never stale), from every region's surveyors and vehicles:

- ``home_surveyor``: a free, on-duty surveyor of the claim's own region who handles its loss type (there
  is one when the planner sent someone late elsewhere, or one has just freed up);
- ``neighbour_surveyor``: the same in another region, within ``max_km`` of the scene;
- ``on_call_surveyor``: a surveyor off shift now, not on a task, within ``max_km``, who could be called in
  (their arrival counts ``call_in_minutes`` to get going);
- ``turn_round_surveyor``: a surveyor on the way to a claim of a lower class than this one (not yet at its
  scene), of its region or within ``max_km``, turned round from about where they are in the vehicle they drive;
  the claim they give up goes back to dispatch (``gives_up``);
- ``agree_later_time``: the earliest arrival the claim's region can promise with its own people (a busy
  surveyor from when they are free), for the customer to agree to.

At most ``per_kind`` of each kind (the soonest), all listed soonest first; each option carries the command that carries it
out, so a front end sends it as it is (with its own command id, dispatcher and reason).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from models.contract.desk_commands import DeskOption
from models.contract.dispatch_events import ClaimRegistered
from models.dispatch.deadlines import round_up
from models.dispatch.arrivals import eta_matrix, eta_with
from models.dispatch.diversion import turned
from models.dispatch.fleet import SurveyorState, VehicleState, local_time
from models.dispatch.geo import distance_km
from models.dispatch.rules import DispatchRules
from models.dispatch.travel import TravelTimeModel

Regions = dict[str, tuple[list[SurveyorState], list[VehicleState]]]


def desk_options(claim: ClaimRegistered, exclude: frozenset[str], regions: Regions, rules: DispatchRules,
                 travel: TravelTimeModel, now: datetime, max_km: float = 60.0, call_in_minutes: float = 20.0,
                 per_kind: int = 3, has_surveyor: bool = False) -> list[DeskOption]:
    """The options for ``claim`` (its surveyors in ``exclude`` left out). See the module docstring. A claim
    that ``has_surveyor`` already (late, or the wrong one) is given a new one by reassignment."""
    local = local_time(now, rules)
    zone = ZoneInfo(rules.timezone)  # summaries in the dispatchers' clock
    need = rules.equipment_needed(claim.loss_type)
    found: dict[str, list[DeskOption]] = {"home_surveyor": [], "neighbour_surveyor": [], "on_call_surveyor": [],
                                          "turn_round_surveyor": []}
    for region_id, (surveyors, vehicles) in sorted(regions.items()):
        home = region_id == claim.region_id
        found["turn_round_surveyor"] += _turns(claim, exclude, home, surveyors, vehicles, need, travel, now, local,
                                               max_km, zone, has_surveyor)
        fleet = [v for v in vehicles if not v.busy and need <= v.vehicle.equipment]
        if not fleet:
            continue
        for s in surveyors:
            if s.busy or s.surveyor_id in exclude or claim.loss_type not in s.surveyor.skills:
                continue
            if not home and distance_km(s.lat, s.lon, claim.lat, claim.lon) > max_km:
                continue
            on_duty = s.on_duty(local)
            kind = ("home_surveyor" if home else "neighbour_surveyor") if on_duty else "on_call_surveyor"
            lead = timedelta(0) if on_duty else timedelta(minutes=call_in_minutes)
            v, eta = min(((v, eta_with(s, v, claim.lat, claim.lon, claim.zone, travel, now) + lead) for v in fleet),
                         key=lambda pair: (pair[1], pair[0].vehicle.vehicle_id))
            found[kind].append(_surveyor_option(kind, claim, s, v, eta, on_duty, zone, has_surveyor))
    options = [o for kind in found.values()
               for o in sorted(kind, key=lambda o: (o.estimated_arrival_at, o.surveyor_id))[:per_kind]]
    promise = earliest_promise(claim, exclude, *regions.get(claim.region_id, ([], [])), rules, travel, now)
    if promise is not None:
        late = (promise - claim.deadline_at).total_seconds() / 60.0
        options.append(DeskOption(
            kind="agree_later_time", region_id=claim.region_id, estimated_arrival_at=promise, minutes_late=round(late, 1),
            summary=f"agree {promise.astimezone(zone):%H:%M} with the customer: the earliest the region's own "
                    "surveyors can promise",
            command={"type": "agree_arrival_time", "report_id": claim.report_id, "arrive_by": promise.isoformat()}))
    # The soonest arrival first, whatever the kind: the dispatcher reads the list from the top.
    return sorted(options, key=lambda o: (o.estimated_arrival_at, o.kind, o.surveyor_id or ""))


def _turns(claim: ClaimRegistered, exclude: frozenset[str], home: bool, surveyors: list[SurveyorState],
           vehicles: list[VehicleState], need: frozenset[str], travel: TravelTimeModel, now: datetime, local,
           max_km: float, zone: ZoneInfo, reassign: bool) -> list[DeskOption]:
    """The region's surveyors on the way to a claim of a lower class whom this claim could turn round."""
    options = []
    for s in surveyors:
        e = s.en_route
        if (e is None or not s.busy or e.priority <= claim.priority or s.surveyor_id in exclude
                or claim.loss_type not in s.surveyor.skills or not s.on_duty(local)):
            continue
        turned_s, v = turned(s, vehicles, now)
        if v is None or not need <= v.vehicle.equipment:
            continue
        if not home and distance_km(turned_s.lat, turned_s.lon, claim.lat, claim.lon) > max_km:
            continue
        eta = eta_with(turned_s, v, claim.lat, claim.lon, claim.zone, travel, now)
        option = _surveyor_option("turn_round_surveyor", claim, turned_s, v, eta, True, zone, reassign,
                                  turning=f" round from {e.report_id} (class {e.priority}, back to dispatch)")
        options.append(option.model_copy(update={"gives_up": e.report_id,
                                                 "command": {**option.command, "turn_round": True}}))
    return options


def _surveyor_option(kind: str, claim: ClaimRegistered, s: SurveyorState, v: VehicleState, eta: datetime,
                     on_duty: bool, zone: ZoneInfo, reassign: bool, turning: str = "") -> DeskOption:
    """``turning``: what a surveyor turned round gives up (their summary says turn, not send)."""
    late = (eta - claim.deadline_at).total_seconds() / 60.0
    where = "" if s.surveyor.region_id == claim.region_id else f" of {s.surveyor.region_id}"
    called = ("" if on_duty else ", called in off shift") + (", on the way back to base" if s.on_way_back else "")
    summary = (f"{'turn' if turning else 'send'} {s.surveyor_id}{where}{turning} with {v.vehicle.vehicle_id}{called}: "
               f"arrives {eta.astimezone(zone):%H:%M}, "
               f"{abs(late):.0f} min {'late' if late > 0 else 'early'}")
    command = {"type": "reassign" if reassign else "assign_surveyor", "report_id": claim.report_id, "surveyor_id": s.surveyor_id,
               "vehicle_id": v.vehicle.vehicle_id}
    return DeskOption(kind=kind, summary=summary, surveyor_id=s.surveyor_id, region_id=s.surveyor.region_id,
                      vehicle_id=v.vehicle.vehicle_id, estimated_arrival_at=eta, minutes_late=round(late, 1),
                      command=command)


def earliest_promise(claim: ClaimRegistered, exclude: frozenset[str], surveyors: list[SurveyorState],
                     vehicles: list[VehicleState], rules: DispatchRules, travel: TravelTimeModel,
                     now: datetime, round_to_minutes: int = 5) -> datetime | None:
    """The earliest arrival the claim's region can promise with its own on-duty surveyors (a busy one from
    when they are free, their vehicle with them), rounded up to ``round_to_minutes``; None: nobody can."""
    eta, _ = eta_matrix([claim], surveyors, vehicles, rules, travel, now, [exclude], vehicles_out_return=True)
    if not eta.size or not np.isfinite(eta).any():
        return None
    return round_up(now + timedelta(minutes=float(np.min(eta))), round_to_minutes)
