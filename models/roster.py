"""The 24-hour roster: regions, surveyors with skills and shifts, survey vehicles."""

from __future__ import annotations

from datetime import time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.reports import LossType
from models.zones import Region


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
    shift_end: time = Field(description="Local time it ends; earlier than the start for a shift across midnight.")

    def on_duty_at(self, local: time) -> bool:
        """Whether ``local`` (wall-clock time in the region) falls in this surveyor's shift."""
        if self.shift_start == self.shift_end:  # a 24-hour on-call duty
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
        if problems:
            raise ValueError("; ".join(problems))
        return self
