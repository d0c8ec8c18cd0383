"""Prometheus metrics of the workers. Labels are bounded sets only: never a report, policy or phone number."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REPORTS_RECEIVED = Counter("claims_reports_received_total", "Records consumed from hotline.reports.")
REPORTS_REGISTERED = Counter("claims_reports_registered_total", "Loss reports stored as new claims.")
REPORTS_DUPLICATE = Counter(
    "claims_reports_duplicate_total", "Reports that were redelivered or re-sent and changed nothing."
)
REPORTS_DEAD_LETTERED = Counter(
    "claims_reports_dead_lettered_total", "Loss reports sent to hotline.reports.dlq, by reason.", ["reason"]
)
DEAD_LETTERS = Counter("claims_dead_letters_total", "Records sent to any dead-letter topic.", ["topic", "reason"])
DISPATCH_DECISIONS = Counter(
    "claims_dispatch_decisions_total", "Dispatch decisions, by outcome and escalation reason.", ["outcome", "reason"]
)
DISPATCH_LATENCY = Histogram(
    "claims_dispatch_latency_seconds",
    "From the report's time to the dispatch decision (assignment or escalation).",
    ["zone"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
PREDICTED_ON_TIME = Counter(
    "claims_assignments_total", "Assignments, by zone and whether the estimated arrival meets the deadline.",
    ["zone", "meets_deadline"],
)
EVENTS_HANDLED = Counter("claims_events_handled_total", "Records handled by each agent.", ["agent"])
STORE_RETRIES = Counter(
    "claims_store_retries_total", "Retries of a record after PostgreSQL could not be reached.", ["agent"]
)
LAST_EVENT_TIME = Gauge(
    "claims_agent_last_event_timestamp_seconds", "Unix time each agent last finished a record.", ["agent"]
)
