"""The desk's numbers: how far a neighbour's surveyor may be sent from, how long calling one in takes,
how many options of each kind to show, and how soon an escalation should be acknowledged."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeskRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    neighbour_max_km: float = Field(
        default=60.0, gt=0,
        description="A surveyor of another region is offered when this close to the scene (straight line): "
                    "an hour's drive at suburban speed, the far zone's limit being 90 minutes.")
    call_in_minutes: float = Field(
        default=20.0, ge=0, description="Added to an off-shift surveyor's arrival: answering, getting ready.")
    options_per_kind: int = Field(default=3, ge=1, le=20)
    acknowledge_within_s: float = Field(
        default=180.0, gt=0,
        description="An escalation unacknowledged longer than this raises EscalationUnacknowledged: at night "
                    "one dispatcher watches the desk, and an urban claim's 30 minutes leave little to wait.")
