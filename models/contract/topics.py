"""The topic catalogue: every topic, its payload schema, its key and partitions, in one place.

The stack creates topics from this list, the workers declare them from it, and
`claims-dispatch schemas export` writes the JSON Schemas and the AsyncAPI
document from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.contract.business_events import ClaimClosed, ComplaintEvent, PolicyEvent
from models.contract.callback_events import CallbackAttempted, CallbackTaskIssued, FindingRouted
from models.contract.desk_commands import CommandResult, DispatchCommand
from models.contract.dispatch_events import DispatchDecision
from models.contract.monthly_report_events import MonthlyReportPublished
from models.contract.loss_report import LossReported
from models.contract.surveyor_events import SurveyorStatus


@dataclass(frozen=True)
class TopicSpec:
    name: str
    payload: Any  # a pydantic model or an annotated union of models
    key: str  # the payload field whose value is the record key
    partitions: int
    summary: str
    producer: str
    internal: bool = False
    dead_letters: bool = False  # consumed by this system, so it has a `<name>.dlq`

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("hotline.reports", LossReported, "report_id", 6,
              "Loss reports (報案) from hotline telephony, 24x7.", "hotline telephony", dead_letters=True),
    TopicSpec("dispatch.assignments", DispatchDecision, "report_id", 6,
              "Dispatch decisions: assigned, reassigned, escalated, arrival deadline missed, arrival promise missed, "
              "task withdrawn, arrival time agreed, claim cancelled.", "claims-dispatch dispatch"),
    TopicSpec("surveyor.status", SurveyorStatus, "surveyor_id", 6,
              "Surveyor app: shift, position, accepted, declined, contacted, arrived, completed.", "surveyor app",
              dead_letters=True),
    TopicSpec("policy.events", PolicyEvent, "policy_no", 3,
              "Policies issued and surrendered.", "policy administration", dead_letters=True),
    TopicSpec("complaints.events", ComplaintEvent, "complaint_id", 3,
              "Complaints filed and resolved.", "complaint desk", dead_letters=True),
    TopicSpec("claims.events", ClaimClosed, "claim_id", 3,
              "Claims closed and paid.", "claims administration", dead_letters=True),
    TopicSpec("callbacks.tasks", CallbackTaskIssued, "task_id", 3,
              "Callback attempts to make, for the outbound dialer, agent desk and SMS gateway.", "claims-dispatch callbacks"),
    TopicSpec("callbacks.attempts", CallbackAttempted, "task_id", 3,
              "Results of callback attempts.", "outbound dialer, agent desk, SMS gateway", dead_letters=True),
    TopicSpec("feedback.routed", FindingRouted, "finding_id", 3,
              "Findings of callbacks, routed to the responsible department.", "claims-dispatch callbacks"),
    TopicSpec("dispatch.commands", DispatchCommand, "command_id", 3,
              "Dispatchers' commands: assign, reassign, agree an arrival time, cancel a claim, a surveyor's duty, "
              "acknowledge an escalation.", "the dispatcher's desk (API, console) or any front end", dead_letters=True),
    TopicSpec("dispatch.command_results", CommandResult, "command_id", 3,
              "What came of each command: applied, forced or refused, with the reasons.", "claims-dispatch desk"),
    TopicSpec("reports.monthly", MonthlyReportPublished, "month", 1,
              "Monthly callback analysis report and brief published.", "claims-dispatch reporter"),
)

DLQ_PARTITIONS = 1


def topic(name: str) -> TopicSpec:
    for spec in TOPICS:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown topic {name!r}; known: {', '.join(t.name for t in TOPICS)}")


def all_topic_names() -> list[tuple[str, int]]:
    """Every topic to create, dead-letter topics included, with its partition count."""
    names = [(t.name, t.partitions) for t in TOPICS]
    names += [(t.dlq, DLQ_PARTITIONS) for t in TOPICS if t.dead_letters]
    return names

