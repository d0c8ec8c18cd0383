"""A region's dispatch state as stored (its surveyors' and vehicles' records at a state version), the
surveyors' and vehicles' states built from it, and a worker's cache of regions kept while their version
holds. Pure: the store reads the records, the dispatch service asks for states."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from models.contract.loss_report import LossType
from models.dispatch.priority import Priority
from models.dispatch.fleet import SurveyorRecord, SurveyorState, VehicleState, driven_back, fleet_states
from models.dispatch.rules import DispatchRules


@dataclass
class RegionRows:
    """One region's dispatch state as stored, at a version: the records ``SurveyorState`` and
    ``VehicleState`` are built from. States depend on the clock too (``SurveyorRecord.state_at``), so each
    one built is kept with the span of time in which building it again would give the same, and reused
    within it."""

    version: int | None
    day_start: datetime
    surveyors: list[SurveyorRecord] = field(default_factory=list)
    vehicles: list[tuple] = field(default_factory=list)  # (vehicle, lat, lon)
    _built: list = field(default_factory=list, repr=False, compare=False)  # per surveyor: (state, from, until)
    _fleet: list[VehicleState] | None = field(default=None, repr=False, compare=False)
    _survey: tuple | None = field(default=None, repr=False, compare=False)  # the times on scene states were built with

    def states(self, now: datetime, rules: DispatchRules) -> tuple[list[SurveyorState], list[VehicleState]]:
        survey = (rules.survey_minutes, tuple(sorted(rules.survey_minutes_by_loss_type.items())))
        if self._survey != survey or len(self._built) != len(self.surveyors):
            self._built, self._survey = [None] * len(self.surveyors), survey
        people = []
        for n, record in enumerate(self.surveyors):
            kept = self._built[n]
            if kept is not None and kept[1] <= now < kept[2]:
                people.append(kept[0])
                continue
            state, until = record.state_at(now, rules.survey_minutes_for(record.loss_type))
            self._built[n] = (state, now, until) if until > now else None
            people.append(state)
        if self._fleet is None:
            self._fleet = fleet_states(self.vehicles, self.surveyors)
        return people, list(driven_back(self._fleet, self.surveyors, now))

    def assigned(self, version: int, tasks: list, scenes: dict[str, tuple[float, float]],
                 kinds: dict[str, LossType] | None = None, priorities: dict[str, int] | None = None,
                 set_out: dict[str, tuple[float, float]] | None = None) -> "RegionRows":
        """These rows after this worker's own survey tasks were stored (``SurveyorAssigned`` or
        ``SurveyorReassigned``; ``scenes``: each task's report id → its location; ``kinds``: → its loss type;
        ``priorities``: → its claim's priority class; ``set_out``: surveyor id → where a surveyor turned round on
        the way set out from, the task they gave up ended by the new one):
        what reading them back at ``version`` would give: each surveyor sent carries the task's scene, which their vehicle
        follows (as ``fleet_states`` would have it; the fleet is updated, not built again: 120 vehicles a
        region in the pipeline bench, after every assignment)."""
        task_of = {t.surveyor_id: t for t in tasks}
        set_out = set_out or {}
        keep_built = len(self._built) == len(self.surveyors)
        records, built = [], []
        for n, record in enumerate(self.surveyors):
            t = task_of.get(record.surveyor.surveyor_id)
            if t is not None:
                turned = t.surveyor_id in set_out
                if turned:  # the task given up no longer counts in today's tasks, the new one does
                    record = replace(record, tasks_today=record.tasks_today - 1)
                priority = (priorities or {}).get(t.report_id, int(Priority.ROUTINE))
                task = (t.task_id, t.report_id, t.region_id, priority, t.occurred_at,
                        *(set_out[t.surveyor_id] if turned else record.position_at(t.occurred_at)))
                record = record.with_task(t.vehicle_id, t.estimated_arrival_at, scenes[t.report_id],
                                          (kinds or {}).get(t.report_id), task)
            records.append(record)
            built.append(self._built[n] if t is None and keep_built else None)
        fleet = None
        if self._fleet is not None:  # what fleet_states would build again: each vehicle taken, at its scene
            taken = {t.vehicle_id: scenes[t.report_id] for t in tasks}
            fleet = [v if v.vehicle.vehicle_id not in taken else
                     VehicleState(v.vehicle, True, *taken[v.vehicle.vehicle_id]) for v in self._fleet]
        return RegionRows(version, self.day_start, records, self.vehicles, built, fleet, _survey=self._survey)


class RegionStateCache:
    """Regions' rows kept in memory by a worker, valid while the region's ``state_version`` is unchanged
    (bumped by triggers on every write to surveyors, vehicles and survey tasks: migration 006). The
    database stays the record: a region whose version moved is read again."""

    def __init__(self) -> None:
        self._rows: dict[str, RegionRows] = {}
        self.hits = 0
        self.misses = 0

    def get(self, region_id: str, version: int, day_start: datetime) -> RegionRows | None:
        rows = self._rows.get(region_id)
        if rows is not None and rows.version == version and rows.day_start == day_start:
            self.hits += 1
            return rows
        self.misses += 1
        return None

    def put(self, region_id: str, rows: RegionRows) -> None:
        if rows.version is not None:
            self._rows[region_id] = rows

    def take_counts(self) -> tuple[int, int]:
        """(hits, misses) since the last call."""
        counts = self.hits, self.misses
        self.hits = self.misses = 0
        return counts
