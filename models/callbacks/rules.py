"""Callback configuration: targets, windows, attempts, calling hours, routing. Defaults and their sources: docs/domain.md."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.contract.callback_events import CallbackKind, FindingKind


class KindRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    target: float = Field(ge=0, le=1, description="Month-to-date share of eligible events with a successful callback.")
    sampled: bool = Field(description="False: every eligible event gets a task; True: selected to reach the target.")
    due_working_days: int = Field(ge=1, description="Working days after the trigger by which the callback is due.")
    sms_counts_as_success: bool = False
    questions: tuple[str, ...] = ()


def _kinds() -> dict[CallbackKind, KindRules]:
    return {
        CallbackKind.UNDERWRITING: KindRules(target=0.5, sampled=True, due_working_days=10, questions=(
            "Did you receive the policy documents?", "Were the coverage and exclusions explained to you?",
            "Did you sign the application yourself?")),
        CallbackKind.SURRENDER: KindRules(target=1.0, sampled=False, due_working_days=5, questions=(
            "Why did you surrender the policy?", "Was the refund explained to you?")),
        CallbackKind.COMPLAINT: KindRules(target=1.0, sampled=False, due_working_days=3, questions=(
            "Has your complaint been resolved?", "Are you satisfied with how it was handled?")),
        CallbackKind.SURVEY: KindRules(target=1.0, sampled=False, due_working_days=3, questions=(
            "Did the surveyor arrive on time?", "Was the loss assessment explained to you?",
            "Did anyone ask you for money or gifts?")),
        # Claim callback within 15 working days of payment (2012 motor-claims guideline, art. 99).
        CallbackKind.CLOSURE: KindRules(target=0.5, sampled=True, due_working_days=15, questions=(
            "Did you receive the full payment?", "How satisfied are you with the claim service (1-5)?")),
    }


def _departments() -> dict[FindingKind, str]:
    return {
        FindingKind.CONSULTATION: "customer-service",
        FindingKind.COMPLAINT: "complaints",
        FindingKind.TIP_OFF: "anti-fraud",
        FindingKind.OPINION: "service-quality",
        FindingKind.SUGGESTION: "service-quality",
    }


def _follow_up_days() -> dict[FindingKind, int]:
    # A complaint starts the 15-day complaint clock (2020 consumer-complaint rules); the rest are the branch's own.
    return {FindingKind.CONSULTATION: 2, FindingKind.COMPLAINT: 15, FindingKind.TIP_OFF: 5,
            FindingKind.OPINION: 10, FindingKind.SUGGESTION: 10}


class CallbackRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    kinds: dict[CallbackKind, KindRules] = Field(default_factory=_kinds)
    complaint_trigger: Literal["resolved", "filed"] = "resolved"
    max_phone_attempts: int = Field(default=3, ge=1)
    attempt_spacing_minutes: float = Field(default=120, ge=0)
    calling_start: time = time(9, 0)
    calling_end: time = time(21, 0)
    timezone: str = "Asia/Shanghai"
    expire_after_working_days: int = Field(default=5, ge=0, description="Past the due date, an open task expires.")
    # Sampling of the rate kinds (see models/callbacks/sampling.py)
    sampling_seed: str = "claims-dispatch-callbacks"
    sampling_margin: float = Field(default=0.02, ge=0, le=0.5, description="Aim this far above the target.")
    prior_reach_rate: float = Field(default=0.7, gt=0, le=1)
    prior_weight: float = Field(default=20, ge=0, description="Pseudo-attempts behind the prior reach rate.")
    underwriting_excluded_channels: frozenset[str] = frozenset({"direct"})
    departments: dict[FindingKind, str] = Field(default_factory=_departments)
    follow_up_days: dict[FindingKind, int] = Field(default_factory=_follow_up_days)
    complaint_clock_calendar_days: bool = Field(default=True, description="The complaint clock counts calendar days.")
