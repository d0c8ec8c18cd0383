"""The 24-hour roster: regions, surveyors with skills and shifts, survey vehicles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.contract.loss_report import LossType
from models.dispatch.zones import Region


class ShiftKind(StrEnum):
    DAY = "day"
    NIGHT = "night"
    ON_CALL = "on_call"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Surveyor(_Frozen):
    """A surveyor (查勘員). The name is personal data: stored, never logged."""

    surveyor_id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    region_id: str
    skills: frozenset[LossType] = Field(min_length=1)
    base_lat: float = Field(ge=-90, le=90)
    base_lon: float = Field(ge=-180, le=180)
    shift: ShiftKind
    shift_start: time = Field(description="Local time the shift starts.")
    shift_end: time = Field(description="Local time it ends; earlier than the start for a night shift across "
                                        "midnight; equal to the start only for a 24-hour duty (all_day).")
    all_day: bool = Field(default=False, description="A 24-hour duty: on duty at every hour.")

    @model_validator(mode="after")
    def _shift_holds(self) -> "Surveyor":
        span = f"{self.shift_start:%H:%M}–{self.shift_end:%H:%M}"
        if self.all_day:
            return self
        if self.shift_start == self.shift_end:
            raise ValueError(f"surveyor {self.surveyor_id}: shift {span} starts when it ends; declare a 24-hour "
                             f"duty with all_day: true")
        if self.shift is ShiftKind.DAY and self.shift_end < self.shift_start:
            raise ValueError(f"surveyor {self.surveyor_id}: a day shift of {span} crosses midnight; a shift across "
                             f"midnight is a night shift")
        return self

    def on_duty_at(self, local: time) -> bool:
        """Whether ``local`` (wall-clock time in the region) falls in this surveyor's shift."""
        if self.all_day:
            return True
        if self.shift_start < self.shift_end:
            return self.shift_start <= local < self.shift_end
        return local >= self.shift_start or local < self.shift_end


class SurveyVehicle(_Frozen):
    """A dedicated survey vehicle (專用勘查車輛) and the equipment it carries."""

    vehicle_id: str = Field(min_length=1, max_length=32)
    region_id: str
    equipment: frozenset[str] = frozenset()
    base_lat: float = Field(ge=-90, le=90)
    base_lon: float = Field(ge=-180, le=180)


class Roster(_Frozen):
    """Everything `claims-dispatch roster load` reads from a roster file."""

    regions: tuple[Region, ...] = Field(min_length=1)
    surveyors: tuple[Surveyor, ...] = ()
    vehicles: tuple[SurveyVehicle, ...] = ()

    @model_validator(mode="after")
    def _references_hold(self) -> "Roster":
        region_ids = [r.region_id for r in self.regions]
        problems: list[str] = []
        for kind, ids in (
            ("region", region_ids),
            ("surveyor", [s.surveyor_id for s in self.surveyors]),
            ("vehicle", [v.vehicle_id for v in self.vehicles]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                problems.append(f"duplicate {kind} id(s): {', '.join(dupes)}")
        known = set(region_ids)
        for item in (*self.surveyors, *self.vehicles):
            if item.region_id not in known:
                ident = getattr(item, "surveyor_id", None) or getattr(item, "vehicle_id")
                problems.append(f"{ident} refers to unknown region {item.region_id!r}")
        for r in self.regions:
            for n in r.neighbours:
                if n not in known or n == r.region_id:
                    what = "itself" if n == r.region_id else "unknown"
                    problems.append(f"region {r.region_id}: neighbour {n!r} is {what}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def roster_problems(roster: Roster, known_equipment: frozenset[str]) -> list[str]:
    """What a roster file gets wrong beyond its shape, each naming the entry: a base outside its region's
    service area, equipment no loss type needs (a misspelt name would never match a claim)."""
    regions = {r.region_id: r for r in roster.regions}
    problems = []
    for item, ident in ((s, s.surveyor_id) for s in roster.surveyors):
        problems += _base_problem("surveyor", ident, regions[item.region_id], item.base_lat, item.base_lon)
    for v in roster.vehicles:
        problems += _base_problem("vehicle", v.vehicle_id, regions[v.region_id], v.base_lat, v.base_lon)
        unknown = sorted(v.equipment - known_equipment)
        if unknown:
            problems.append(f"vehicle {v.vehicle_id}: unknown equipment {', '.join(unknown)} "
                            f"(known: {', '.join(sorted(known_equipment))})")
    return problems


def _base_problem(kind: str, ident: str, region: Region, lat: float, lon: float) -> list[str]:
    d = region.distance_km(lat, lon)
    if d <= region.service_radius_km:
        return []
    return [f"{kind} {ident}: base {d:.0f} km from the centre of region {region.region_id}, outside its "
            f"{region.service_radius_km:g} km service area"]


def entry_errors(data: object, errors: list[dict]) -> list[str]:
    """Pydantic's errors on a roster file, each naming the entry it is about (``surveyor hz-s3: skills.0:
    Input should be 'vehicle', ...``) instead of its position in a list."""
    out = []
    for e in errors:
        loc = list(e["loc"])
        name = ".".join(map(str, loc)) or "(file)"
        if len(loc) >= 2 and loc[0] in ("regions", "surveyors", "vehicles") and isinstance(loc[1], int):
            kind = loc[0].removesuffix("s")
            entry = None
            try:
                entry = data[loc[0]][loc[1]].get(f"{kind}_id")  # type: ignore[index, union-attr]
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
            where = ".".join(map(str, loc[2:]))
            name = f"{kind} {entry or f'#{loc[1] + 1}'}" + (f": {where}" if where else "")
        msg = e["msg"].removeprefix("Value error, ")
        out.append(msg if msg.startswith(name.split(":")[0]) else f"{name}: {msg}")
    return out


@dataclass(frozen=True)
class StoredEntry:
    """A region, surveyor or vehicle as the database holds it."""

    kind: str          # region, surveyor, vehicle
    ident: str
    region_id: str
    definition: str    # JSON
    active: bool = True


@dataclass(frozen=True)
class EntryChange:
    kind: str
    ident: str
    region_id: str
    change: str        # added, changed, reactivated, deactivated, absent (kept active: not in the file)


_MODELS = {"region": Region, "surveyor": Surveyor, "vehicle": SurveyVehicle}


def roster_change(stored: list[StoredEntry], roster: Roster, deactivate_missing: bool) -> list[EntryChange]:
    """What loading ``roster`` changes: entries added, changed (or made active again), and the active ones
    the file does not list, deactivated only when asked (a partial file must not empty a region)."""
    have = {(e.kind, e.ident): e for e in stored}
    wanted = [("region", r.region_id, r.region_id, r) for r in roster.regions]
    wanted += [("surveyor", s.surveyor_id, s.region_id, s) for s in roster.surveyors]
    wanted += [("vehicle", v.vehicle_id, v.region_id, v) for v in roster.vehicles]
    out = []
    for kind, ident, region_id, model in wanted:
        old = have.get((kind, ident))
        if old is None:
            out.append(EntryChange(kind, ident, region_id, "added"))
        elif _differs(old, model):
            out.append(EntryChange(kind, ident, region_id, "changed"))
        elif not old.active:
            out.append(EntryChange(kind, ident, region_id, "reactivated"))
    listed = {(kind, ident) for kind, ident, _, _ in wanted}
    for e in stored:
        if e.kind != "region" and e.active and (e.kind, e.ident) not in listed:
            out.append(EntryChange(e.kind, e.ident, e.region_id, "deactivated" if deactivate_missing else "absent"))
    return out


def _differs(old: StoredEntry, model: BaseModel) -> bool:
    try:
        return _MODELS[old.kind].model_validate_json(old.definition) != model or old.region_id != getattr(
            model, "region_id")
    except ValueError:  # a definition today's rules refuse: the file's replaces it
        return True


_KIND_ORDER = ("region", "surveyor", "vehicle")
_CHANGE_ORDER = ("added", "changed", "reactivated", "deactivated", "absent")


def describe_change(changes: list[EntryChange]) -> list[str]:
    """One line per region: what loading the file adds, changes and deactivates there, and what it leaves."""
    by_region: dict[str, dict[tuple[str, str], list[str]]] = {}
    for c in changes:
        by_region.setdefault(c.region_id, {}).setdefault((c.kind, c.change), []).append(c.ident)
    lines = []
    for region_id in sorted(by_region):
        parts = []
        for (kind, change), ids in sorted(by_region[region_id].items(),
                                          key=lambda kv: (_KIND_ORDER.index(kv[0][0]), _CHANGE_ORDER.index(kv[0][1]))):
            if kind == "region":
                parts.append(f"region {change}")
                continue
            shown = ", ".join(sorted(ids)[:6]) + (f", … {len(ids) - 6} more" if len(ids) > 6 else "")
            what = "absent from the file, kept active" if change == "absent" else change
            parts.append(f"{len(ids)} {kind}{'s' if len(ids) > 1 else ''} {what} ({shown})")
        lines.append(f"region {region_id}: " + "; ".join(parts))
    return lines or ["no change"]
