"""What a callback attempt's result means: success, another phone attempt, SMS, or a terminal failure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.contract.callback_events import AttemptOutcome, CallbackAttempted, Channel, Finding, FindingKind
from models.callbacks.rules import KindRules



class CallbackState(StrEnum):
    """Where a callback task stands (``callback_tasks.state``): open until an attempt ends it."""

    OPEN = "open"
    REACHED = "reached"              # in person, identity confirmed: a success
    PROBLEM_CASE = "problem_case"    # reached, negative or unclear answers: a success, flagged for follow-up
    REFUSED = "refused"
    WRONG_NUMBER = "wrong_number"
    SMS_DELIVERED = "sms_delivered"  # a success where the kind counts one
    SMS_SENT = "sms_sent"            # no delivery receipt (yet)
    EXPIRED = "expired"              # no result before the task expired


@dataclass(frozen=True)
class Retry:
    channel: Channel
    spaced: bool  # wait the spacing after the last attempt (False: SMS may go at once)


@dataclass(frozen=True)
class Done:
    state: CallbackState
    success: bool
    reason: str
    problem_case: bool = False


def after_attempt(attempt: CallbackAttempted, phone_attempts: int, max_phone: int, kind: KindRules) -> Retry | Done:
    """The task's next step after ``attempt`` (``phone_attempts`` counts phone attempts made, this one included).

    A successful callback: the customer reached in person with identity confirmed
    (docs/domain.md); a problem case is such a callback with negative or unclear
    answers: it counts as reached, and is flagged for follow-up.
    """
    o = attempt.outcome
    if o is AttemptOutcome.REACHED:
        if attempt.identity_confirmed:
            return Done(CallbackState.REACHED, True, "reached in person, identity confirmed")
        return _phone_failed(phone_attempts, max_phone, "reached but identity not confirmed")
    if o is AttemptOutcome.PROBLEM_CASE:
        return Done(CallbackState.PROBLEM_CASE, True, "reached; negative or unclear answers", problem_case=True)
    if o is AttemptOutcome.REFUSED:
        return Done(CallbackState.REFUSED, False, attempt.failure_reason or "customer refused the callback")
    if o is AttemptOutcome.WRONG_NUMBER:
        return Done(CallbackState.WRONG_NUMBER, False, attempt.failure_reason or "wrong number: no channel reaches the customer")
    if o in (AttemptOutcome.NO_ANSWER, AttemptOutcome.BUSY):
        return _phone_failed(phone_attempts, max_phone, o.value)
    if o is AttemptOutcome.SMS_DELIVERED:
        return Done(CallbackState.SMS_DELIVERED, kind.sms_counts_as_success, "SMS delivered")
    if o is AttemptOutcome.SMS_SENT:
        return Done(CallbackState.SMS_SENT, False, "SMS sent; no delivery receipt")
    raise ValueError(f"unknown outcome {o}")


def _phone_failed(phone_attempts: int, max_phone: int, why: str) -> Retry:
    if phone_attempts < max_phone:
        return Retry(Channel.PHONE, spaced=True)
    return Retry(Channel.SMS, spaced=False)


def findings_to_route(attempt: CallbackAttempted) -> tuple[Finding, ...]:
    """What an attempt found; a problem case with nothing written down is still routed for follow-up."""
    if attempt.outcome is AttemptOutcome.PROBLEM_CASE and not attempt.findings:
        return (Finding(kind=FindingKind.OPINION, text="problem case: negative or unclear answers to the callback"),)
    return attempt.findings


def upgrade(current_state: str, attempt: CallbackAttempted, kind: KindRules) -> Done | None:
    """A task already closed changes only when a delivery receipt arrives for one closed as 'SMS sent':
    it becomes 'SMS delivered' (a success where the kind counts one)."""
    if current_state == CallbackState.SMS_SENT and attempt.outcome is AttemptOutcome.SMS_DELIVERED:
        return Done(CallbackState.SMS_DELIVERED, kind.sms_counts_as_success, "SMS delivered")
    return None


#: An open task past its expiry (docs/domain.md: 5 working days after its due date) ends unsuccessful.
EXPIRED = Done(CallbackState.EXPIRED, False, "no result before the task expired")
