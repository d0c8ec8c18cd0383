"""The Grafana dashboards, as code (grafana-foundation-sdk). `python infra/grafana/dashboards.py` writes the JSON
files Grafana provisions from; a test fails when the committed JSON differs from what this produces."""

from __future__ import annotations

import sys
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row, ThresholdsConfig
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, Threshold, ThresholdsMode

OUT = Path(__file__).resolve().parent / "dashboards"
DS = DataSourceRef(type_val="prometheus", uid="prometheus")


def q(expr: str, legend: str = "") -> Dataquery:
    return Dataquery().expr(expr).legend_format(legend or "__auto").datasource(DS)


def ts(title: str, unit: str, *queries: Dataquery, width: int = 12, limit: float | None = None) -> Timeseries:
    panel = Timeseries().title(title).unit(unit).span(width).height(8).datasource(DS)
    for i, query in enumerate(queries):
        panel = panel.with_target(query.ref_id(chr(ord("A") + i)))
    if limit is not None:
        panel = panel.thresholds(ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(
            [Threshold(value=None, color="green"), Threshold(value=limit, color="red")]))
    return panel


def stat(title: str, unit: str, query: Dataquery, width: int = 6) -> Stat:
    return Stat().title(title).unit(unit).span(width).height(4).datasource(DS).with_target(query.ref_id("A"))


def board(uid: str, title: str, tags: list[str]) -> Dashboard:
    return Dashboard(title).uid(uid).tags(["claims-dispatch", *tags]).refresh("30s").time("now-6h", "now")


def dispatch_board() -> Dashboard:
    return (
        board("claims-dispatch-board", "Dispatch board", ["dispatch"])
        .with_row(Row("Now"))
        .with_panel(stat("Reports waiting for a surveyor", "short", q("sum(max by (region) (claims_pending_reports))")))
        .with_panel(stat("Surveyors available", "short", q("sum(max by (region) (claims_available_surveyors))")))
        .with_panel(stat("Open survey tasks", "short", q("sum(max by (region) (claims_open_tasks))")))
        .with_panel(stat("Escalations, last hour", "short", q("sum(increase(claims_escalations_total[1h]))")))
        .with_panel(ts("Open reports by region", "short", q("max by (region) (claims_pending_reports)", "{{region}}")))
        .with_panel(ts("Available surveyors by region", "short",
                       q("max by (region) (claims_available_surveyors)", "{{region}}")))
        .with_panel(ts("Open survey tasks by region", "short", q("max by (region) (claims_open_tasks)", "{{region}}")))
        .with_panel(ts("Reports at risk: sent with a late estimate, per hour", "short",
                       q('sum by (zone) (increase(claims_assignments_total{meets_deadline="false"}[1h]))', "{{zone}}")))
        .with_row(Row("Against the time limits"))
        .with_panel(ts("Time to scene p90 by zone (limit 30 / 60 / 90 min)", "m",
                       q("histogram_quantile(0.9, sum by (zone, le) "
                         "(rate(claims_time_to_scene_seconds_bucket[$__rate_interval]))) / 60", "p90 {{zone}}"),
                       q("histogram_quantile(0.5, sum by (zone, le) "
                         "(rate(claims_time_to_scene_seconds_bucket[$__rate_interval]))) / 60", "p50 {{zone}}"),
                       limit=30))
        .with_panel(ts("Arrival deadlines met, last 24 h", "percentunit",
                       q("max by (zone) (claims_deadline_met_ratio)", "{{zone}}")))
        .with_panel(ts("Deadlines missed (share, 30 min)", "percentunit",
                       q("claims:arrival_deadline_missed_ratio:30m", "{{zone}}"), limit=0.2))
        .with_panel(ts("Arrivals late on the limit: by the promised time, and promises missed, per hour", "short",
                       q("sum by (zone) (increase(claims_arrivals_on_promise_total[1h]))", "kept {{zone}}"),
                       q("sum by (zone) (increase(claims_arrival_promises_missed_total[1h]))", "missed {{zone}}")))
        .with_panel(ts("Arrival estimates: actual − predicted, p10 / p50 / p90", "m",
                       *(q(f"histogram_quantile({p}, sum by (zone, le) "
                           "(rate(claims_arrival_estimate_error_seconds_bucket[$__rate_interval]))) / 60",
                           f"p{int(p * 100)} {{{{zone}}}}") for p in (0.1, 0.5, 0.9))))
        .with_panel(ts("Time to assign p90", "s",
                       q("histogram_quantile(0.9, sum by (zone, le) "
                         "(rate(claims_dispatch_latency_seconds_bucket[$__rate_interval])))", "{{zone}}")))
        .with_panel(ts("Time to contact the customer p90 (limit 10 min)", "m",
                       q("histogram_quantile(0.9, sum by (zone, le) "
                         "(rate(claims_time_to_contact_seconds_bucket[$__rate_interval]))) / 60", "{{zone}}"),
                       limit=10))
        .with_row(Row("Escalations and reassignments"))
        .with_panel(ts("Escalations by reason, per hour", "short",
                       q("sum by (reason) (increase(claims_escalations_total[1h]))", "{{reason}}")))
        .with_panel(ts("Reassignments by reason, per hour", "short",
                       q("sum by (reason) (increase(claims_reassignments_total[1h]))", "{{reason}}")))
        .with_row(Row("The desk"))
        .with_panel(ts("Escalations on the desk by age", "short",
                       q("sum by (age) (max by (reason, state, age) (claims_escalations_open))", "{{age}}")))
        .with_panel(ts("Oldest unacknowledged escalation (limit 3 min)", "s",
                       q("max(claims_escalation_oldest_unacknowledged_seconds)", "oldest"), limit=180))
        .with_panel(ts("Dispatchers' commands, per hour", "short",
                       q("sum by (command, outcome) (increase(claims_desk_commands_total[1h]))",
                         "{{command}} {{outcome}}")))
    )


def callbacks() -> Dashboard:
    return (
        board("claims-callbacks", "Callbacks", ["callbacks"])
        .with_row(Row("Month to date against target"))
        .with_panel(ts("Success rate against target", "percentunit",
                       q("max by (kind) (claims_callback_success_ratio)", "{{kind}}"),
                       q("max by (kind) (claims_callback_target_ratio)", "target {{kind}}")))
        .with_panel(ts("Pace: projected month-end rate", "percentunit",
                       q("claims:callback_projected_ratio", "{{kind}}")))
        .with_panel(ts("Coverage: eligible events with a task", "percentunit",
                       q("max by (kind) (claims_callback_coverage_ratio)", "{{kind}}")))
        .with_panel(ts("Overdue callback tasks", "short", q("max by (kind) (claims_callbacks_overdue)", "{{kind}}")))
        .with_row(Row("Attempts"))
        .with_panel(ts("Attempts by channel and outcome, per hour", "short",
                       q("sum by (channel, outcome) (increase(claims_callback_attempts_total[1h]))",
                         "{{channel}} {{outcome}}")))
        .with_panel(ts("Successful callbacks by channel, per hour", "short",
                       q("sum by (channel) (increase(claims_callbacks_succeeded_total[1h]))", "{{channel}}")))
        .with_panel(ts("Callback tasks scheduled by kind, per hour", "short",
                       q("sum by (kind) (increase(claims_callbacks_scheduled_total[1h]))", "{{kind}}")))
        .with_panel(ts("Exclusions by reason, per hour", "short",
                       q("sum by (reason) (increase(claims_callback_exclusions_total[1h]))", "{{reason}}")))
        .with_row(Row("Findings and the monthly report"))
        .with_panel(ts("Findings routed by department, per hour", "short",
                       q("sum by (department) (increase(claims_findings_routed_total[1h]))", "{{department}}")))
        .with_panel(stat("Last month's report published", "bool", q("max(claims_monthly_report_published)")))
        .with_panel(stat("Days until it is due", "d", q("claims:monthly_report_seconds_to_due / 86400")))
        .with_panel(ts("Open dates on a provisional holiday calendar (year not yet published)", "short",
                       q("max by (item) (claims_calendar_provisional_dates)", "{{item}}")))
    )


def pipeline_health() -> Dashboard:
    return (
        board("claims-pipeline-health", "Pipeline health", ["operations"])
        .with_row(Row("Flow"))
        .with_panel(ts("Records handled per second by agent", "ops",
                       q("sum by (agent) (rate(claims_events_handled_total[$__rate_interval]))", "{{agent}}")))
        .with_panel(ts("Loss reports received per second", "ops",
                       q("sum(rate(claims_reports_received_total[$__rate_interval]))", "received")))
        .with_panel(ts("Report to decision latency", "s",
                       q("histogram_quantile(0.5, sum by (le) (rate(claims_dispatch_latency_seconds_bucket"
                         "[$__rate_interval])))", "p50"),
                       q("histogram_quantile(0.99, sum by (le) (rate(claims_dispatch_latency_seconds_bucket"
                         "[$__rate_interval])))", "p99")))
        .with_panel(ts("Consumer lag by partition", "short", q("claims:consumer_lag", "{{topic}}[{{partition}}]")))
        .with_panel(ts("Intake batches: reports per batch and seconds per batch (mean)", "short",
                       q('sum(rate(claims_batch_size_sum{agent="intake"}[$__rate_interval])) / '
                         'sum(rate(claims_batch_size_count{agent="intake"}[$__rate_interval]))', "reports"),
                       q('sum(rate(claims_batch_seconds_sum{agent="intake"}[$__rate_interval])) / '
                         'sum(rate(claims_batch_seconds_count{agent="intake"}[$__rate_interval]))', "seconds")))
        .with_row(Row("Trouble"))
        .with_panel(ts("Dead letters (10 min)", "short", q("claims:dead_letters:increase10m", "{{topic}} {{reason}}")))
        .with_panel(ts("Kafka offset commit latency p99", "ms",
                       q("histogram_quantile(0.99, sum by (le) (rate(claims_faust_consumer_commit_latency_bucket"
                         "[$__rate_interval])))", "p99")))
        .with_panel(ts("PostgreSQL commit time, intake (every decision waits for it)", "s",
                       q('histogram_quantile(0.5, sum by (le) (rate(claims_db_commit_seconds_bucket{agent="intake"}'
                         '[$__rate_interval])))', "p50"),
                       q('histogram_quantile(0.99, sum by (le) (rate(claims_db_commit_seconds_bucket{agent="intake"}'
                         '[$__rate_interval])))', "p99")))
        .with_panel(ts("Retries per hour: PostgreSQL or broker away, failures outside a handler", "short",
                       q("sum by (agent) (increase(claims_store_retries_total[1h]))", "PostgreSQL {{agent}}"),
                       q("sum by (agent) (increase(claims_broker_retries_total[1h]))", "broker {{agent}}"),
                       q("sum by (agent) (increase(claims_agent_loop_errors_total[1h]))", "loop {{agent}}")))
        .with_panel(ts("Worker restarts per hour", "short",
                       q("sum by (instance) (changes(process_start_time_seconds[1h]))", "{{instance}}")))
        .with_panel(ts("Watchdog passes failed per hour", "short",
                       q('sum(increase(claims_watchdog_runs_total{outcome="failed"}[1h]))', "failed")))
    )


DASHBOARDS = {"dispatch-board.json": dispatch_board, "callbacks.json": callbacks,
              "pipeline-health.json": pipeline_health}


def render() -> dict[str, str]:
    encoder = JSONEncoder(sort_keys=True, indent=2)
    return {name: encoder.encode(make().build()) + "\n" for name, make in DASHBOARDS.items()}


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
        print(OUT / name, file=sys.stderr)
