"""What a dispatcher's command does, decided against the state it finds: applied, forced or refused.

``decide`` is pure: it is given the claim, the surveyor and the vehicles as they stand (``DeskState``,
loaded under the regions' locks) and returns the result and every change to make (``Decision``), which
the desk's service writes in one unit of work. The rules:

- A claim that is cancelled or surveyed is closed: nothing is done to it.
- Assigning needs a claim without a live task (reassign otherwise); reassigning needs one, and another
  surveyor. Neither may give a surveyor or a vehicle a second live task: those refusals cannot be forced.
- The surveyor must be on duty and handle the loss type, and the vehicle carry its equipment: a
  supervisor may force these, with a reason (a surveyor called in from home, a dispatcher's judgement).
- An agreed arrival time must lie ahead; it becomes the claim's deadline (and its live task's), the
  zone's limit kept beside it. An appointment case with an agreed time is dispatched against it.
- Taking a surveyor off duty withdraws their live task: the claim goes back to dispatch, without them.
- Turning a surveyor round (``turn_round`` on an assignment or a reassignment) needs one on the way to a claim
  of a lower class (not yet at its scene): that task is withdrawn (``diverted``), its claim goes back to
  dispatch, and they come from about where they are, in the vehicle they drive. A supervisor may force a turn
  from a claim of the same class or a higher one.
- Merging a claim into another (another report of its accident) withdraws its task: the trip saved; keeping
  a flagged claim apart clears the flag.
- Acknowledging needs an escalation not yet acknowledged or closed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from models.contract.desk_commands import (FORCEABLE, AcknowledgeEscalation, AgreeArrivalTime, AssignSurveyor,
                                           CancelClaim, CancelReason, CommandResult, DispatchCommand, KeepApart,
                                           MergeDuplicate, Outcome, Reassign, Refusal, SetSurveyorDuty)
from models.contract.dispatch_events import (ArrivalTimeAgreed, ClaimCancelled, ClaimRegistered, DuplicateReportLinked,
                                             SurveyorAssigned, SurveyorReassigned, TaskWithdrawn)
from models.contract.event import Event, derived_event_id
from models.dispatch.arrivals import Option, eta_with
from models.dispatch.diversion import turned
from models.dispatch.fleet import SurveyorState, VehicleState, local_time
from models.dispatch.planner import PendingClaim, assignment_for
from models.dispatch.rules import DispatchRules
from models.dispatch.tasks import DIVERTED, DispatchState, TaskStatus
from models.dispatch.travel import TravelTimeModel


@dataclass(frozen=True)
class LiveTask:
    task_id: uuid.UUID
    surveyor_id: str
    vehicle_id: str
    status: TaskStatus
    home_region_id: str


@dataclass(frozen=True)
class ClaimView:
    """A claim as a command finds it."""

    claim: ClaimRegistered          # its deadline the one it is held to now
    state: DispatchState
    attempts: int
    live: LiveTask | None = None
    surveyed: bool = False          # a task of it completed
    exclude: frozenset[str] = frozenset()  # surveyors who declined it or had it withdrawn

    possible_duplicate_of: str | None = None

    @property
    def closed(self) -> bool:
        """Cancelled, served with another claim (linked), or surveyed: nothing more is done to it."""
        return self.state in (DispatchState.CANCELLED, DispatchState.LINKED) or self.surveyed


@dataclass(frozen=True)
class EscalationView:
    escalation_id: uuid.UUID
    report_id: str
    state: str                      # open, acknowledged, resolved, superseded


@dataclass(frozen=True)
class DeskState:
    """What a command is decided against (None: not found)."""

    claim: ClaimView | None = None
    surveyor: SurveyorState | None = None
    #: The surveyor's live task (taking them off duty withdraws it), and its claim.
    surveyor_task: LiveTask | None = None
    surveyor_task_claim: ClaimView | None = None
    #: Vehicles a named surveyor could take: their region's, and a named vehicle wherever it is.
    vehicles: tuple[VehicleState, ...] = ()
    escalation: EscalationView | None = None
    duplicate_of_known: bool = False
    #: For a merge: the claim merged into (None: unknown), whose live task hears of the second party.
    into: ClaimView | None = None


@dataclass(frozen=True)
class Decision:
    """A command decided: its result, the events to publish on ``dispatch.assignments``, and the changes."""

    result: CommandResult
    events: tuple[Event, ...] = ()
    assignment: SurveyorAssigned | SurveyorReassigned | None = None
    attempt: int | None = None                  # the new task's attempt number
    home_region_id: str | None = None           # the new task's surveyor's region
    withdraw: tuple[tuple[LiveTask, str], ...] = ()  # the tasks taken back, and why, in the order written
    back_to_dispatch: ClaimView | None = None   # a withdrawn task's claim, pending again (its ``live``: that task)
    set_out_from: tuple[float, float] | None = None  # a surveyor turned round: where the new task sets out from
    deadline: tuple[datetime, datetime] | None = None  # (the agreed deadline, the limit it replaces)
    dispatch_now: bool = False                  # an appointment case becomes a pending claim
    cancel: CancelClaim | None = None
    merge: MergeDuplicate | None = None
    keep_apart: bool = False
    duty: bool | None = None
    acknowledge: uuid.UUID | None = None
    #: Regions to plan again once the changes are written (a surveyor freed, a claim back to dispatch).
    replan: tuple[str, ...] = ()
    #: The claim whose open escalations this command resolves.
    resolves: str | None = None

    @property
    def applied(self) -> bool:
        return self.result.outcome is not Outcome.REFUSED


@dataclass
class _Check:
    refusals: list[Refusal] = field(default_factory=list)

    def refuse(self, why: Refusal) -> None:
        if why not in self.refusals:
            self.refusals.append(why)


def decide(command: DispatchCommand, state: DeskState, rules: DispatchRules, travel: TravelTimeModel,
           now: datetime) -> Decision:
    """What ``command`` does, given ``state``. See the module docstring."""
    check = _Check()
    if command.forced_by and not command.force_reason:
        check.refuse(Refusal.FORCE_WITHOUT_REASON)
    if isinstance(command, (AssignSurveyor, Reassign)):
        return _assign(command, state, rules, travel, now, check)
    if isinstance(command, AgreeArrivalTime):
        return _agree(command, state, rules, now, check)
    if isinstance(command, CancelClaim):
        return _cancel(command, state, now, check)
    if isinstance(command, MergeDuplicate):
        return _merge(command, state, now, check)
    if isinstance(command, KeepApart):
        return _keep_apart(command, state, now, check)
    if isinstance(command, SetSurveyorDuty):
        return _duty(command, state, now, check)
    return _acknowledge(command, state, now, check)


def _outcome(command: DispatchCommand, check: _Check) -> Outcome:
    if not check.refusals:
        return Outcome.APPLIED
    if command.forced_by and command.force_reason and all(r in FORCEABLE for r in check.refusals):
        return Outcome.FORCED
    return Outcome.REFUSED


def _result(command: DispatchCommand, outcome: Outcome, check: _Check, detail: str, now: datetime,
            report_id: str | None = None, surveyor_id: str | None = None,
            task_id: uuid.UUID | None = None) -> CommandResult:
    return CommandResult(
        event_id=derived_event_id("command-result", command.command_id), occurred_at=now,
        command_id=command.command_id, command=command.type, dispatcher_id=command.dispatcher_id, outcome=outcome,
        refusals=tuple(check.refusals), detail=detail, report_id=report_id, surveyor_id=surveyor_id, task_id=task_id)


def _refused(command: DispatchCommand, check: _Check, now: datetime, **ids) -> Decision:
    detail = "refused: " + ", ".join(r.value.replace("_", " ") for r in check.refusals)
    if any(r in FORCEABLE for r in check.refusals) and all(r in FORCEABLE for r in check.refusals):
        detail += " (a supervisor may force this, with a reason)"
    return Decision(_result(command, Outcome.REFUSED, check, detail, now, **ids))


def _claim_open(claim: ClaimView | None, check: _Check) -> None:
    if claim is None:
        check.refuse(Refusal.CLAIM_UNKNOWN)
    elif claim.closed:
        check.refuse(Refusal.CLAIM_CLOSED)


def _assign(command: AssignSurveyor | Reassign, state: DeskState, rules: DispatchRules, travel: TravelTimeModel,
            now: datetime, check: _Check) -> Decision:
    ids = dict(report_id=command.report_id, surveyor_id=command.surveyor_id)
    claim, s = state.claim, state.surveyor
    _claim_open(claim, check)
    live = claim.live if claim is not None else None
    if claim is not None and not claim.closed:
        if isinstance(command, AssignSurveyor) and live is not None:
            check.refuse(Refusal.CLAIM_HAS_LIVE_TASK)
        if isinstance(command, Reassign):
            if live is None:
                check.refuse(Refusal.CLAIM_HAS_NO_LIVE_TASK)
            elif live.surveyor_id == command.surveyor_id:
                check.refuse(Refusal.SAME_SURVEYOR)
    turn = None
    if s is None:
        check.refuse(Refusal.SURVEYOR_UNKNOWN)
    else:
        if command.turn_round:
            turn = _turn(s, state, claim, now, check)
        elif s.busy:
            check.refuse(Refusal.SURVEYOR_BUSY)
        if not s.on_duty(local_time(now, rules)):
            check.refuse(Refusal.SURVEYOR_OFF_DUTY)
        if claim is not None and claim.claim.loss_type not in s.surveyor.skills:
            check.refuse(Refusal.SURVEYOR_UNSKILLED)
    vehicle = None
    # (A turn asked of someone not on the way is refused for that alone, not also for the vehicles left.)
    if s is not None and claim is not None and not (command.turn_round and turn is None):
        # The vehicle of a task withdrawn here is free for the new one (a turn: the one they drive, unless named).
        freed = {t.vehicle_id for t in (live if isinstance(command, Reassign) else None,
                                        turn.given.live if turn else None) if t is not None}
        fleet = state.vehicles
        if turn is not None:
            s = turn.surveyor
            fleet = tuple(turn.vehicle if v.vehicle.vehicle_id == turn.vehicle.vehicle.vehicle_id else v for v in fleet)
        named = command.vehicle_id or (turn.vehicle.vehicle.vehicle_id if turn else None)
        vehicle = _vehicle(named, s, claim.claim, fleet, freed, rules, travel, now, check)
    outcome = _outcome(command, check)
    if outcome is Outcome.REFUSED or vehicle is None or s is None or claim is None:
        return _refused(command, check, now, **ids)
    attempt = claim.attempts + 1
    # A reassignment names the task it replaces; a first assignment by hand after a withdrawn task does too.
    previous = live.task_id if live is not None else None
    pending = PendingClaim(claim=claim.claim, attempt=attempt, previous_task_id=previous,
                           reassign_reason="reassigned_by_dispatcher" if previous else None)
    option = Option(s.surveyor_id, vehicle.vehicle.vehicle_id,
                    eta_with(s, vehicle, claim.claim.lat, claim.claim.lon, claim.claim.zone, travel, now),
                    s.tasks_today)
    assignment = assignment_for(pending, option, now)
    events: list[Event] = []
    withdraw: list[tuple[LiveTask, str]] = []
    if turn is not None:
        withdraw.append((turn.given.live, DIVERTED))
        events.append(_withdrawn(command, turn.given.live, turn.given, DIVERTED, now))
    if isinstance(command, Reassign) and live is not None:
        withdraw.append((live, "reassigned"))
        events.append(_withdrawn(command, live, claim, "reassigned", now))
    events.append(assignment)
    late = (option.eta - claim.claim.deadline_at).total_seconds() / 60.0
    detail = (f"{s.surveyor_id} with {vehicle.vehicle.vehicle_id} to {claim.claim.report_id}, arriving "
              f"{option.eta.astimezone(ZoneInfo(rules.timezone)):%H:%M} "
              f"({abs(late):.0f} min {'late' if late > 0 else 'early'})")
    if turn is not None:
        detail += f"; turned round from {turn.given.claim.report_id}, back to dispatch"
    if outcome is Outcome.FORCED:
        detail += "; forced over " + ", ".join(r.value.replace("_", " ") for r in check.refusals)
    replan = tuple(sorted({t.home_region_id for t, _ in withdraw} | ({turn.given.claim.region_id} if turn else set())))
    return Decision(_result(command, outcome, check, detail, now, task_id=assignment.task_id, **ids),
                    events=tuple(events), assignment=assignment, attempt=attempt,
                    home_region_id=s.surveyor.region_id, withdraw=tuple(withdraw), replan=replan,
                    back_to_dispatch=turn.given if turn else None,
                    set_out_from=(s.lat, s.lon) if turn else None, resolves=claim.claim.report_id)


@dataclass(frozen=True)
class _Turn:
    """A surveyor turned round: the claim they give up (its ``live``: their task), and they and the vehicle they
    drive as they would set out now, from about where they are."""

    given: ClaimView
    surveyor: SurveyorState
    vehicle: VehicleState


def _turn(s: SurveyorState, state: DeskState, claim: ClaimView | None, now: datetime, check: _Check) -> _Turn | None:
    given, route = state.surveyor_task_claim, s.en_route
    if (not s.busy or route is None or given is None or given.live is None
            or given.live.task_id != route.task_id or given.live.surveyor_id != s.surveyor_id):
        check.refuse(Refusal.SURVEYOR_NOT_ON_THE_WAY)
        return None
    if claim is not None and given.claim.priority <= claim.claim.priority:
        check.refuse(Refusal.NOT_A_LOWER_CLASS)
    now_s, v = turned(s, state.vehicles, now)
    if v is None:
        check.refuse(Refusal.VEHICLE_UNKNOWN)
        return None
    return _Turn(given, now_s, v)


def _vehicle(named: str | None, s: SurveyorState, claim: ClaimRegistered, vehicles: tuple[VehicleState, ...],
             freed: set[str], rules: DispatchRules, travel: TravelTimeModel, now: datetime,
             check: _Check) -> VehicleState | None:
    """The named vehicle, or the surveyor's fastest way there among their region's free vehicles (those
    carrying the equipment first)."""
    need = rules.equipment_needed(claim.loss_type)

    def free(v: VehicleState) -> bool:
        return not v.busy or v.vehicle.vehicle_id in freed

    if named is not None:
        v = next((v for v in vehicles if v.vehicle.vehicle_id == named), None)
        if v is None:
            check.refuse(Refusal.VEHICLE_UNKNOWN)
            return None
        if not free(v):
            check.refuse(Refusal.VEHICLE_BUSY)
        if not need <= v.vehicle.equipment:
            check.refuse(Refusal.VEHICLE_MISSING_EQUIPMENT)
        return v
    own = [v for v in vehicles if v.vehicle.region_id == s.surveyor.region_id and free(v)]
    if not own:
        check.refuse(Refusal.NO_FREE_VEHICLE)
        return None
    equipped = [v for v in own if need <= v.vehicle.equipment]
    if not equipped:
        check.refuse(Refusal.VEHICLE_MISSING_EQUIPMENT)
    pool = equipped or own
    return min(pool, key=lambda v: (eta_with(s, v, claim.lat, claim.lon, claim.zone, travel, now),
                                    v.vehicle.vehicle_id))


def _withdrawn(command: DispatchCommand, live: LiveTask, claim: ClaimView, reason: str, now: datetime) -> TaskWithdrawn:
    return TaskWithdrawn(event_id=derived_event_id("withdrawn", command.command_id, live.task_id), occurred_at=now,
                         task_id=live.task_id, report_id=claim.claim.report_id, region_id=claim.claim.region_id,
                         surveyor_id=live.surveyor_id, reason=reason)


def _agree(command: AgreeArrivalTime, state: DeskState, rules: DispatchRules, now: datetime,
           check: _Check) -> Decision:
    claim = state.claim
    _claim_open(claim, check)
    if command.arrive_by <= now:
        check.refuse(Refusal.ARRIVAL_NOT_IN_FUTURE)
    if _outcome(command, check) is Outcome.REFUSED or claim is None:
        return _refused(command, check, now, report_id=command.report_id)
    c = claim.claim
    notice = ArrivalTimeAgreed(
        event_id=derived_event_id("arrival-agreed", command.command_id), occurred_at=now, report_id=c.report_id,
        region_id=c.region_id, zone=c.zone, previous_deadline_at=c.deadline_at, deadline_at=command.arrive_by,
        task_id=claim.live.task_id if claim.live else None)
    appointment = claim.state is DispatchState.APPOINTMENT
    detail = f"{c.report_id} to be reached by {command.arrive_by.astimezone(ZoneInfo(rules.timezone)):%Y-%m-%d %H:%M}"
    if appointment:
        detail += "; dispatched against it"
    return Decision(_result(command, Outcome.APPLIED, check, detail, now, report_id=c.report_id),
                    events=(notice,), deadline=(command.arrive_by, c.deadline_at), dispatch_now=appointment,
                    replan=(c.region_id,) if appointment or claim.state is DispatchState.PENDING else (),
                    resolves=c.report_id)


def _cancel(command: CancelClaim, state: DeskState, now: datetime, check: _Check) -> Decision:
    claim = state.claim
    _claim_open(claim, check)
    if command.cancellation is CancelReason.DUPLICATE and (
            not state.duplicate_of_known or command.duplicate_of == command.report_id):
        check.refuse(Refusal.DUPLICATE_OF_UNKNOWN)
    if _outcome(command, check) is Outcome.REFUSED or claim is None:
        return _refused(command, check, now, report_id=command.report_id)
    c = claim.claim
    events: list[Event] = []
    withdraw = ()
    if claim.live is not None:
        withdraw = ((claim.live, "claim_cancelled"),)
        events.append(_withdrawn(command, claim.live, claim, "claim_cancelled", now))
    events.append(ClaimCancelled(event_id=derived_event_id("cancelled", command.command_id), occurred_at=now,
                                 report_id=c.report_id, region_id=c.region_id,
                                 cancellation=command.cancellation.value, duplicate_of=command.duplicate_of))
    detail = f"{c.report_id} cancelled ({command.cancellation.value.replace('_', ' ')})"
    if withdraw:
        detail += f"; {claim.live.surveyor_id}'s task withdrawn"
    return Decision(_result(command, Outcome.APPLIED, check, detail, now, report_id=c.report_id,
                            surveyor_id=claim.live.surveyor_id if claim.live else None),
                    events=tuple(events), withdraw=withdraw, cancel=command,
                    replan=(claim.live.home_region_id,) if withdraw else (), resolves=c.report_id)


def _merge(command: MergeDuplicate, state: DeskState, now: datetime, check: _Check) -> Decision:
    claim, into = state.claim, state.into
    _claim_open(claim, check)
    # Into a claim of its own (a surveyed one too: the accident is the same), never into itself.
    if into is None or command.into == command.report_id or into.state in (DispatchState.CANCELLED,
                                                                           DispatchState.LINKED):
        check.refuse(Refusal.DUPLICATE_OF_UNKNOWN)
    if _outcome(command, check) is Outcome.REFUSED or claim is None or into is None:
        return _refused(command, check, now, report_id=command.report_id)
    c = claim.claim
    events: list[Event] = []
    withdraw = ()
    if claim.live is not None:
        withdraw = ((claim.live, "merged"),)
        events.append(_withdrawn(command, claim.live, claim, "merged", now))
    events.append(DuplicateReportLinked(
        event_id=derived_event_id("duplicate-linked", c.report_id, into.claim.report_id), occurred_at=now,
        report_id=c.report_id, linked_to=into.claim.report_id, region_id=c.region_id, score=1.0,
        evidence=("dispatcher",), by=command.dispatcher_id, task_id=into.live.task_id if into.live else None,
        surveyor_id=into.live.surveyor_id if into.live else None, contact=c.contact))
    detail = f"{c.report_id} merged into {into.claim.report_id}"
    if withdraw:
        detail += f"; {claim.live.surveyor_id}'s task withdrawn (a trip saved)"
    return Decision(_result(command, Outcome.APPLIED, check, detail, now, report_id=c.report_id),
                    events=tuple(events), withdraw=withdraw, merge=command,
                    replan=(claim.live.home_region_id,) if withdraw else (), resolves=c.report_id)


def _keep_apart(command: KeepApart, state: DeskState, now: datetime, check: _Check) -> Decision:
    claim = state.claim
    if claim is None:
        check.refuse(Refusal.CLAIM_UNKNOWN)
    elif claim.possible_duplicate_of is None:
        check.refuse(Refusal.NOT_FLAGGED)
    if _outcome(command, check) is Outcome.REFUSED or claim is None:
        return _refused(command, check, now, report_id=command.report_id)
    return Decision(_result(command, Outcome.APPLIED, check, f"{claim.claim.report_id} kept apart from "
                            f"{claim.possible_duplicate_of}", now, report_id=claim.claim.report_id),
                    keep_apart=True, resolves=claim.claim.report_id)


def _duty(command: SetSurveyorDuty, state: DeskState, now: datetime, check: _Check) -> Decision:
    s = state.surveyor
    if s is None:
        check.refuse(Refusal.SURVEYOR_UNKNOWN)
    if _outcome(command, check) is Outcome.REFUSED or s is None:
        return _refused(command, check, now, surveyor_id=command.surveyor_id)
    events: list[Event] = []
    withdraw, back = (), None
    regions = {s.surveyor.region_id}
    task, claim = state.surveyor_task, state.surveyor_task_claim
    if not command.on_duty and task is not None and claim is not None:
        withdraw, back = ((task, "surveyor_off_duty"),), claim
        events.append(_withdrawn(command, task, claim, "surveyor_off_duty", now))
        regions.add(claim.claim.region_id)
    detail = f"{s.surveyor_id} {'on' if command.on_duty else 'off'} duty ({command.cause.value.replace('_', ' ')})"
    if back is not None:
        detail += f"; {back.claim.report_id} back to dispatch"
    return Decision(_result(command, Outcome.APPLIED, check, detail, now, surveyor_id=s.surveyor_id,
                            report_id=back.claim.report_id if back else None),
                    events=tuple(events), withdraw=withdraw, back_to_dispatch=back, duty=command.on_duty,
                    replan=tuple(sorted(regions)))


def _acknowledge(command: AcknowledgeEscalation, state: DeskState, now: datetime, check: _Check) -> Decision:
    e = state.escalation
    if e is None:
        check.refuse(Refusal.ESCALATION_UNKNOWN)
    elif e.state != "open":
        check.refuse(Refusal.ESCALATION_CLOSED)
    if _outcome(command, check) is Outcome.REFUSED or e is None:
        return _refused(command, check, now, report_id=e.report_id if e else None)
    return Decision(_result(command, Outcome.APPLIED, check, f"escalation of {e.report_id} acknowledged by "
                            f"{command.dispatcher_id}", now, report_id=e.report_id),
                    acknowledge=e.escalation_id)

