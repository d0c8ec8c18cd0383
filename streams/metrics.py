"""Prometheus metrics of the workers. Labels are bounded sets only: never a report, policy or phone number."""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from models.desk.escalations import AGE_BANDS

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
BROKER_RETRIES = Counter(
    "claims_broker_retries_total", "Retries of a record after the broker did not take what it produced.", ["agent"]
)
AGENT_LOOP_ERRORS = Counter(
    "claims_agent_loop_errors_total",
    "Failures outside a handler (publishing a dead letter, acknowledging); the same events are taken again.",
    ["agent"],
)
BATCH_SIZE = Histogram(
    "claims_batch_size", "Records an agent applied in one transaction (the high-volume agents batch).", ["agent"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
BATCH_SECONDS = Histogram(
    "claims_batch_seconds", "Time to handle one batch, from taking it to acknowledging it.", ["agent"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
COMMIT_SECONDS = Histogram(
    "claims_db_commit_seconds",
    "Time PostgreSQL took to commit a batch (mostly its WAL reaching the disk); a decision is published only after.",
    ["agent"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
LAST_EVENT_TIME = Gauge(
    "claims_agent_last_event_timestamp_seconds", "Unix time each agent last finished a record.", ["agent"]
)

# Dispatch engine
TIME_TO_CONTACT = Histogram(
    "claims_time_to_contact_seconds", "From dispatch to the surveyor's first call to the customer.", ["zone"],
    buckets=(60, 120, 180, 300, 450, 600, 900, 1200, 1800),
)
TIME_TO_SCENE = Histogram(
    "claims_time_to_scene_seconds", "From the report to the surveyor's arrival at the scene.", ["zone"],
    buckets=(300, 600, 900, 1200, 1500, 1800, 2400, 3000, 3600, 4500, 5400, 7200, 10800),
)
ARRIVALS = Counter("claims_arrivals_total", "Arrivals at the scene, by zone and whether within the deadline.",
                   ["zone", "on_time"])
ARRIVAL_ESTIMATE_ERROR = Histogram(
    "claims_arrival_estimate_error_seconds",
    "A surveyor's actual arrival minus the arrival estimated at dispatch (positive: later than estimated).",
    ["zone"], buckets=(-1800, -900, -600, -300, -120, -60, 0, 60, 120, 300, 600, 900, 1800, 3600),
)
TRAVEL_FACTOR = Gauge(
    "claims_travel_time_factor",
    "Learned from real trips: the factor on estimated driving time, by region, scene zone and time of day "
    "(1: as the base model estimates; bounded 0.6..1.8).", ["region", "zone", "time_of_day"])
SURVEY_MINUTES = Gauge(
    "claims_survey_minutes",
    "Expected time on scene by loss type, learned from completed surveys (when a busy surveyor will be free).",
    ["loss_type"])
TRAVEL_LEARNING_RUNS = Counter("claims_travel_learning_runs_total", "Passes correcting travel times from trips.",
                               ["outcome"])
ARRIVALS_ON_PROMISE = Counter(
    "claims_arrivals_on_promise_total",
    "Arrivals after the zone's limit but by the arrival the plan promised the customer (counted apart from "
    "arrivals within the limit, which claims_arrivals_total{on_time=\"true\"} counts).", ["zone"])
ARRIVAL_DEADLINES_MISSED = Counter(
    "claims_arrival_deadlines_missed_total", "Arrival deadlines that passed before the surveyor arrived.", ["zone"]
)
ARRIVAL_PROMISES_MISSED = Counter(
    "claims_arrival_promises_missed_total",
    "Arrivals promised to claims that could not be met, passed before the surveyor arrived.", ["zone"]
)
DEADLINE_MET_RATIO = Gauge(
    "claims_deadline_met_ratio", "Share of arrival deadlines met, of those decided in the last 24 hours.", ["zone"]
)
REASSIGNMENTS = Counter("claims_reassignments_total", "Tasks given to another surveyor, by reason.", ["reason"])
ESCALATIONS = Counter("claims_escalations_total", "Escalations to a dispatcher, by reason.", ["reason"])
CONTACT_REMINDERS = Counter("claims_contact_reminders_total", "Surveyors reminded to call the customer.")
OPEN_TASKS = Gauge("claims_open_tasks", "Live survey tasks, by region.", ["region"])
PENDING_REPORTS = Gauge("claims_pending_reports", "Claims waiting for a surveyor, by region.", ["region"])
AVAILABLE_SURVEYORS = Gauge("claims_available_surveyors", "On-duty surveyors without a task, by region.", ["region"])
WATCHDOG_RUNS = Counter("claims_watchdog_runs_total", "Watchdog passes, by outcome.", ["outcome"])
REGION_STATE_READS = Counter(
    "claims_region_state_reads_total",
    "Region states a plan needed, by where they came from: the worker's memory, or the database (changed since).",
    ["source"])
RETENTION_RUNS = Counter("claims_retention_runs_total", "Passes deleting old inbox and outbox rows, by outcome.",
                         ["outcome"])
ROWS_PRUNED = Counter("claims_rows_pruned_total", "Inbox and outbox rows deleted past their retention, by table.",
                      ["table"])
BOARD_REFRESHES = Counter("claims_board_refreshes_total", "Recomputations of the board's gauges, by outcome.",
                          ["outcome"])

# Callbacks
CALLBACK_TRIGGERS = Counter("claims_callback_triggers_total", "Business events that call for a callback, by kind.",
                            ["kind"])
CALLBACK_EXCLUSIONS = Counter("claims_callback_exclusions_total", "Triggers excluded from callbacks, by reason.",
                              ["kind", "reason"])
CALLBACKS_ELIGIBLE = Counter("claims_callbacks_eligible_total", "Eligible callback triggers, by kind.", ["kind"])
CALLBACKS_SCHEDULED = Counter("claims_callbacks_scheduled_total", "Callback tasks created, by kind.", ["kind"])
CALLBACK_ATTEMPTS = Counter("claims_callback_attempts_total", "Callback attempts reported, by kind, channel, outcome.",
                            ["kind", "channel", "outcome"])
CALLBACKS_CLOSED = Counter("claims_callbacks_closed_total", "Callback tasks ended, by kind and terminal state.",
                           ["kind", "state"])
CALLBACKS_SUCCEEDED = Counter("claims_callbacks_succeeded_total", "Successful callbacks, by kind and channel.",
                              ["kind", "channel"])
CALLBACK_SUCCESS_RATIO = Gauge("claims_callback_success_ratio",
                               "Month to date: eligible events with a successful callback / eligible events.", ["kind"])
CALLBACK_COVERAGE_RATIO = Gauge("claims_callback_coverage_ratio",
                                "Month to date: eligible events given a callback task / eligible events.", ["kind"])
CALLBACK_TARGET_RATIO = Gauge("claims_callback_target_ratio", "The monthly success-rate target, by kind.", ["kind"])
CALLBACKS_OVERDUE = Gauge("claims_callbacks_overdue", "Open callback tasks past their due date, by kind.", ["kind"])
FINDINGS_ROUTED = Counter("claims_findings_routed_total", "Callback findings routed, by kind and department.",
                          ["kind", "department"])

# Monthly report
MONTHLY_REPORT_PUBLISHED = Gauge("claims_monthly_report_published",
                                 "1 when last month's callback report has been published, else 0.")
MONTHLY_REPORT_DUE = Gauge("claims_monthly_report_due_timestamp_seconds",
                           "End of the due date (5th working day) of last month's report, Unix time.")
MONTHLY_REPORT_CHECKS = Counter("claims_monthly_report_checks_total",
                                "Checks whether last month's report is due (and its generation), by outcome.",
                                ["outcome"])
MONTHLY_REPORT_LAST_PUBLISHED = Gauge("claims_monthly_report_last_published_timestamp_seconds",
                                      "When this worker last published a monthly report, Unix time.")

# The holiday calendar's year-end turn (models/working_days.py)
CALENDAR_DAYS_UNTIL_PROVISIONAL = Gauge(
    "claims_calendar_days_until_provisional",
    "Days from today to the first day of a year whose official holiday schedule is neither in the package nor "
    "configured (0 while in it); a series for each such year among this one and the next.", ["year"])
CALENDAR_PROVISIONAL_DATES = Gauge(
    "claims_calendar_provisional_dates",
    "Open items whose due dates were reckoned on a provisional holiday calendar, by item.", ["item"])
CALENDAR_DATES_RECOMPUTED = Counter(
    "claims_calendar_dates_recomputed_total",
    "Provisional dates recomputed once a year's schedule was known: moved, or confirmed unchanged.",
    ["item", "outcome"])
CALENDAR_ITEMS = ("callback_task", "finding", "monthly_report")

DESK_COMMANDS = Counter("claims_desk_commands_total", "Dispatchers' commands decided, by command and outcome "
                        "(applied, forced, refused).", ["command", "outcome"])
DUPLICATE_REPORTS = Counter("claims_duplicate_reports_total", "Reports recognised as another report of an accident "
                            "with a claim: linked at intake, flagged for the desk, merged or kept apart by a "
                            "dispatcher.", ["outcome"])
DESK_COMMANDS_DEAD_LETTERED = Counter("claims_desk_commands_dead_lettered_total",
                                      "Commands that could not be read, by reason.", ["reason"])
DESK_REFUSALS = Counter("claims_desk_refusals_total", "Reasons commands were refused (or forced over).", ["refusal"])
ESCALATIONS_OPEN = Gauge("claims_escalations_open", "Escalations not yet resolved or superseded, by reason, state "
                         "(open, acknowledged) and age band.", ["reason", "state", "age"])
ESCALATION_OLDEST_UNACKNOWLEDGED = Gauge(
    "claims_escalation_oldest_unacknowledged_seconds",
    "Age of the oldest escalation no dispatcher has acknowledged (0: none).")
ESCALATION_ACK_LIMIT = Gauge("claims_escalation_acknowledge_limit_seconds",
                             "How soon an escalation should be acknowledged (DeskRules.acknowledge_within_s).")


def faust_monitor():
    """Faust's own Kafka metrics (consumer offsets and lag, commit latency, rebalances, send latency, messages
    received) under ``claims_faust_``, on the same registry: created once per process, as Prometheus requires.

    Without the per-event series of Faust's ``PrometheusMonitor`` (messages and events in flight, per topic,
    per stream, each event's run time): they cost each record ten metric updates on the worker's loop (2.4%
    of a backlog's samples under py-spy, 2026-11-27), and the agents count what they handle themselves
    (``claims_events_handled_total``, the batch histograms)."""
    global _FAUST_METRICS
    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor

    class KafkaMonitor(PrometheusMonitor):
        def on_message_in(self, tp, offset, message) -> None:
            self._metrics.messages_received.inc()

        def on_stream_event_in(self, tp, offset, stream, event):
            return None

        def on_stream_event_out(self, tp, offset, stream, event, state=None) -> None:
            pass

        def on_message_out(self, tp, offset, message) -> None:
            pass

    if _FAUST_METRICS is None:
        _FAUST_METRICS = FaustMetrics.create(REGISTRY, "claims_faust")
    return KafkaMonitor(metrics=_FAUST_METRICS)


_FAUST_METRICS = None


def initialise(zones, kinds, reasons, departments, finding_kinds, commands=()) -> None:
    """Create every labelled series at zero, so that dashboards and alerts see 0 rather than nothing."""
    for zone in zones:
        DISPATCH_LATENCY.labels(zone)
        TIME_TO_CONTACT.labels(zone)
        TIME_TO_SCENE.labels(zone)
        ARRIVAL_DEADLINES_MISSED.labels(zone)
        ARRIVALS_ON_PROMISE.labels(zone)
        ARRIVAL_PROMISES_MISSED.labels(zone)
        ARRIVAL_ESTIMATE_ERROR.labels(zone)
        for flag in ("true", "false"):
            ARRIVALS.labels(zone, flag)
            PREDICTED_ON_TIME.labels(zone, flag)
    for reason in reasons["escalation"]:
        ESCALATIONS.labels(reason)
    for reason in ("declined", "no_acknowledgement", "diverted"):
        REASSIGNMENTS.labels(reason)
    DISPATCH_DECISIONS.labels("withdrawn", "diverted")
    DISPATCH_DECISIONS.labels("sent_to_base", "")
    for reason in reasons["dead_letter"]:
        REPORTS_DEAD_LETTERED.labels(reason)
        DEAD_LETTERS.labels("hotline.reports", reason)
    for agent in ("intake", "surveyor-status", "callback-triggers", "callback-attempts", "desk-commands"):
        EVENTS_HANDLED.labels(agent)
        STORE_RETRIES.labels(agent)
        BROKER_RETRIES.labels(agent)
        AGENT_LOOP_ERRORS.labels(agent)
    BATCH_SIZE.labels("intake")
    for source in ("memory", "database"):
        REGION_STATE_READS.labels(source)
    BATCH_SECONDS.labels("intake")
    COMMIT_SECONDS.labels("intake")
    for outcome in ("ok", "failed"):
        WATCHDOG_RUNS.labels(outcome)
        BOARD_REFRESHES.labels(outcome)
        RETENTION_RUNS.labels(outcome)
        MONTHLY_REPORT_CHECKS.labels(outcome)
    for table in ("inbox", "outbox"):
        ROWS_PRUNED.labels(table)
    for kind in kinds:
        for m in (CALLBACK_TRIGGERS, CALLBACKS_ELIGIBLE, CALLBACKS_SCHEDULED):
            m.labels(kind)
        for channel in ("phone", "sms"):
            CALLBACKS_SUCCEEDED.labels(kind, channel)
        CALLBACKS_CLOSED.labels(kind, "expired")
    for kind in finding_kinds:
        for department in departments:
            FINDINGS_ROUTED.labels(kind, department)
    for command in commands:
        for outcome in ("applied", "forced", "refused"):
            DESK_COMMANDS.labels(command, outcome)
    for reason in reasons["escalation"]:
        for state in ("open", "acknowledged"):
            for band, _ in AGE_BANDS:
                ESCALATIONS_OPEN.labels(reason, state, band)
    ESCALATION_OLDEST_UNACKNOWLEDGED.set(0)
    for outcome in ("linked", "flagged", "merged", "kept_apart"):
        DUPLICATE_REPORTS.labels(outcome)
    for item in CALENDAR_ITEMS:
        CALENDAR_PROVISIONAL_DATES.labels(item)
        for outcome in ("moved", "confirmed"):
            CALENDAR_DATES_RECOMPUTED.labels(item, outcome)
