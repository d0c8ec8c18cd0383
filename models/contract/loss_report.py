"""`hotline.reports`: a loss report (報案) as hotline telephony publishes it.

Field groups follow docs/domain.md and, for naming, ACORD's loss notice
(ClaimsOccurrence, AutoLossInfo, ClaimsParty, ClaimsInjuredInfo).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.contract.event import Event


class LossType(StrEnum):
    VEHICLE = "vehicle"
    PROPERTY = "property"
    CARGO = "cargo"
    INJURY = "injury"
    THEFT = "theft"
    NATURAL_DISASTER = "natural_disaster"


class ReportChannel(StrEnum):
    PHONE = "phone"
    APP = "app"
    WEB = "web"
    AGENT = "agent"


class InjurySeverity(StrEnum):
    NONE = "none"
    MINOR = "minor"
    SERIOUS = "serious"
    FATAL = "fatal"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)


class Reporter(_Part):
    """Who called. Personal data: never logged unmasked."""

    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=3, max_length=32)
    relation: str = Field(default="insured", max_length=50, description="Relation to the insured.")


class Insured(_Part):
    name: str = Field(min_length=1, max_length=200)
    id_number: str | None = Field(default=None, max_length=64, description="Personal data: masked in logs.")


class Policy(_Part):
    number: str = Field(min_length=1, max_length=64)
    line_of_business: str = Field(min_length=1, max_length=64, description="e.g. motor, property, cargo.")


class Location(_Part):
    address: str = Field(min_length=1, max_length=500)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Injuries(_Part):
    count: int = Field(default=0, ge=0, le=1000)
    severity: InjurySeverity = InjurySeverity.NONE


class Police(_Part):
    involved: bool = False
    report_no: str | None = Field(default=None, max_length=64)


class Vehicle(_Part):
    plate: str | None = Field(default=None, max_length=20)
    vin: str | None = Field(default=None, max_length=32)


#: A complete report as hotline telephony sends it (the contract's example; docs/contract.md).
EXAMPLE_REPORT = {
    "event_id": "1b4e28ba-2fa1-4d2b-883f-0016d3cca427", "occurred_at": "2026-12-03T09:14:05+08:00",
    "schema_version": 1, "type": "loss_reported", "report_id": "RPT-20261203-000417", "channel": "phone",
    "reporter": {"name": "王偉", "phone": "13812345678", "relation": "insured"},
    "insured": {"name": "王偉", "id_number": "330102199001011234"},
    "policy": {"number": "P00012345678", "line_of_business": "motor"},
    "loss_time": "2026-12-03T09:02:00+08:00",
    "location": {"address": "杭州市西湖区西湖大道1号 (West Lake Road 1)", "lat": 30.2591, "lon": 120.1551},
    "cause": "rear-end collision at a red light", "description": "two cars, no injuries", "loss_type": "vehicle",
    "injuries": {"count": 0, "severity": "none"}, "police": {"involved": False}, "original_scene": True,
    "vehicle_drivable": True, "insured_vehicle": {"plate": "浙A12345"}, "third_party_vehicles": [{"plate": "浙B54321"}],
    "estimated_loss": "3500.00",
}


class LossReported(Event):
    """A customer reported a loss to the hotline.

    The arrival limit counts from ``occurred_at``, the time of the report, not from ``loss_time``: the
    hotline's promise starts when the customer calls. A loss much older than its report is registered as an
    appointment case for the dispatcher (``DispatchRules.race_losses_within_hours``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_REPORT]})

    type: Literal["loss_reported"] = "loss_reported"
    report_id: str = Field(min_length=1, max_length=64, description="Hotline's report id; the topic key.")
    channel: ReportChannel = ReportChannel.PHONE
    reporter: Reporter
    insured: Insured
    policy: Policy
    loss_time: AwareDatetime
    location: Location
    cause: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=4000)
    loss_type: LossType
    injuries: Injuries = Injuries()
    police: Police = Police()
    original_scene: bool = True
    vehicle_drivable: bool | None = None
    people_stranded: bool = Field(
        default=False, description="People are stuck at the scene (a car on a motorway shoulder at night, a flooded "
                                   "road): raises the claim's dispatch priority.")
    insured_vehicle: Vehicle | None = None
    third_party_vehicles: tuple[Vehicle, ...] = Field(default=(), max_length=50)
    estimated_loss: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2, description="CNY.")
    agreed_arrival_at: AwareDatetime | None = Field(
        default=None,
        description="An arrival time agreed with the customer: the deadline when later than the zone's limit (in "
                    "any zone), and always for a remote scene. Refused when not after the report, or more than "
                    "DispatchRules.agreed_arrival_horizon_hours (72) after it.")
