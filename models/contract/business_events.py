"""Business events that trigger callbacks: `policy.events`, `complaints.events`, `claims.events`."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.contract.event import Event


class CustomerContact(BaseModel):
    """Who to call back. Personal data: stored and sent to the dialer, never logged."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    customer_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=3, max_length=32)


class SalesChannel(StrEnum):
    DIRECT = "direct"
    AGENT = "agent"
    BROKER = "broker"
    BANCASSURANCE = "bancassurance"
    DEALER = "dealer"
    ONLINE = "online"


class CustomerType(StrEnum):
    INDIVIDUAL = "individual"
    CORPORATE = "corporate"


class _PolicyEvent(Event):
    policy_no: str = Field(min_length=1, max_length=64, description="The topic key.")
    line_of_business: str = Field(description="e.g. motor, property, cargo.")
    sales_channel: SalesChannel
    customer_type: CustomerType
    customer: CustomerContact


class PolicyIssued(_PolicyEvent):
    type: Literal["policy_issued"] = "policy_issued"
    premium: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    effective_from: AwareDatetime


class PolicySurrendered(_PolicyEvent):
    type: Literal["policy_surrendered"] = "policy_surrendered"
    reason: str = Field(default="", max_length=500)
    refund: Decimal = Field(default=Decimal(0), ge=0, max_digits=14, decimal_places=2)


PolicyEvent = Annotated[Union[PolicyIssued, PolicySurrendered], Field(discriminator="type")]


class _ComplaintEvent(Event):
    complaint_id: str = Field(min_length=1, max_length=64, description="The topic key.")
    customer: CustomerContact
    policy_no: str | None = None


class ComplaintFiled(_ComplaintEvent):
    type: Literal["complaint_filed"] = "complaint_filed"
    category: str = Field(max_length=100)
    summary: str = Field(default="", max_length=4000)


class ComplaintResolved(_ComplaintEvent):
    type: Literal["complaint_resolved"] = "complaint_resolved"
    resolution: str = Field(default="", max_length=4000)


ComplaintEvent = Annotated[Union[ComplaintFiled, ComplaintResolved], Field(discriminator="type")]


class ClaimClosed(Event):
    """A claim was settled and paid (結案); starts the 15-working-day callback clock."""

    type: Literal["claim_closed"] = "claim_closed"
    claim_id: str = Field(min_length=1, max_length=64, description="The topic key.")
    report_id: str
    policy_no: str
    customer: CustomerContact
    paid_amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    paid_at: AwareDatetime
