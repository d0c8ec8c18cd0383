"""Which business events call for a callback, of which kind, and which are excluded (with the reason)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.contract.business_events import (ClaimClosed, ComplaintFiled, ComplaintResolved, CustomerContact, CustomerType,
                                    PolicyIssued, PolicySurrendered)
from models.contract.callback_events import CallbackKind
from models.callbacks.rules import CallbackRules


@dataclass(frozen=True)
class Trigger:
    """A business event that may call for a callback."""

    source_event_id: object
    kind: CallbackKind
    occurred_at: datetime
    customer: CustomerContact
    subject: str                       # policy, complaint, claim or report id: what the callback is about
    excluded: str | None = None        # reason, when the event is not eligible


def trigger_for(event, rules: CallbackRules) -> Trigger | None:
    """The callback an event calls for, eligible or excluded; None when the event calls for none."""
    if isinstance(event, PolicyIssued):
        return Trigger(event.event_id, CallbackKind.UNDERWRITING, event.occurred_at, event.customer, event.policy_no,
                       _underwriting_exclusion(event, rules))
    if isinstance(event, PolicySurrendered):
        return Trigger(event.event_id, CallbackKind.SURRENDER, event.occurred_at, event.customer, event.policy_no)
    if isinstance(event, (ComplaintFiled, ComplaintResolved)):
        wanted = ComplaintResolved if rules.complaint_trigger == "resolved" else ComplaintFiled
        if not isinstance(event, wanted):
            return None
        return Trigger(event.event_id, CallbackKind.COMPLAINT, event.occurred_at, event.customer, event.complaint_id)
    if isinstance(event, ClaimClosed):
        return Trigger(event.event_id, CallbackKind.CLOSURE, event.paid_at, event.customer, event.claim_id)
    return None


def _underwriting_exclusion(event: PolicyIssued, rules: CallbackRules) -> str | None:
    """Underwriting callbacks cover non-direct-sales individual business, never corporate cargo (docs/domain.md)."""
    if event.customer_type is CustomerType.CORPORATE and event.line_of_business == "cargo":
        return "corporate_cargo"
    if event.customer_type is not CustomerType.INDIVIDUAL:
        return "not_individual_business"
    if event.sales_channel.value in rules.underwriting_excluded_channels:
        return "direct_sales"
    return None


def survey_trigger(source_event_id, occurred_at: datetime, customer: CustomerContact, report_id: str) -> Trigger:
    """A finished survey calls for a survey & loss-assessment callback to the reporter."""
    return Trigger(source_event_id, CallbackKind.SURVEY, occurred_at, customer, report_id)


def exclusion(trigger: Trigger, on_do_not_call: bool) -> str | None:
    """Why a trigger gets no callback: its own exclusion first, then a customer who asked not to be called."""
    if trigger.excluded is not None:
        return trigger.excluded
    return "do_not_call" if on_do_not_call else None
