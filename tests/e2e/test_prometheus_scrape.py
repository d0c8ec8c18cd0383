"""A real Prometheus scrapes a worker of `claims-dispatch run` under the demo's load: every dashboard query and
every recording rule returns data, and every alert expression is valid."""

import asyncio
import json
import shutil
import signal
import subprocess
import urllib.parse
import urllib.request

import asyncpg

from streams.embedded_stack import free_port
from tests.conftest import CLI, processes_using
from tests.observability import RULES, dashboard_exprs, expand, rules
from tests.waiting import wait_until


def _query(port: int, expr: str) -> dict:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:  # 400 for an invalid expression, with the reason in the body
        return json.loads(exc.read())


def _ready(port: int, proc) -> bool:
    assert proc.poll() is None, "prometheus exited"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_every_panel_and_rule_has_data_in_a_real_prometheus(tmp_path, cli_env):
    prometheus = shutil.which("prometheus")
    assert prometheus, "Debian's prometheus is needed: `apt-get install prometheus` (.ci/run does this)"
    state = tmp_path / "state"
    # The worker logs a line per event: to a file, not a pipe nobody drains (a full pipe stalls the worker).
    run_log = tmp_path / "run.log"
    run = subprocess.Popen([*CLI, "run"], env=cli_env, stdout=open(run_log, "wb"), stderr=subprocess.STDOUT)
    prom = None
    try:
        def started() -> bool:
            assert run.poll() is None, run_log.read_text()[-3000:]
            return "stack file" in run_log.read_text(errors="replace")

        wait_until(started, timeout=60, what="`run` up")
        info = json.loads((state / "stack.json").read_text())
        target = info["metrics_urls"][0].split("//")[1].split("/")[0]
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(json.dumps({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": "claims-dispatch-worker", "static_configs": [{"targets": [target]}]}],
        }))
        prom = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                 f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                                stderr=open(tmp_path / "prometheus.log", "w"))
        wait_until(lambda: _ready(port, prom), timeout=30, what="prometheus ready", every=0.2)

        async def load():
            from models.dispatch.zones import Region
            from streams.demo import run_demo

            conn = await asyncpg.connect(info["database_url"])
            try:
                regions = tuple(Region.model_validate_json(r["definition"])
                                for r in await conn.fetch("SELECT definition FROM regions"))
            finally:
                await conn.close()
            return await run_demo(info["kafka_bootstrap"], regions, reports=80, rate=20, bad_ratio=0.05,
                                  decline_ratio=0.1, seed=5, timeout_s=120, business=150,
                                  database_url=info["database_url"])

        summary = asyncio.run(load())
        assert summary["unaccounted"] == 0

        records, alerts = rules()
        wanted = {**{f"panel {k}": expand(v, records) for k, v in dashboard_exprs().items()},
                  **{f"record {k}": expand(v, records) for k, v in records.items()}}
        empty: dict[str, str] = {}

        def every_expression_has_data() -> bool:
            empty.clear()
            for where, expr in wanted.items():
                answer = _query(port, expr)
                assert answer["status"] == "success", f"{where}: {answer.get('error')}"
                if not answer["data"]["result"]:
                    empty[where] = expr
            return not empty

        try:
            wait_until(every_expression_has_data, timeout=60, what="data for every expression", every=2)
        except AssertionError:
            raise AssertionError(f"no data for: {list(empty)}") from None
        for name, expr in alerts.items():  # as Prometheus evaluates them: on the recorded series
            answer = _query(port, expr.replace("$__rate_interval", "1m"))
            assert answer["status"] == "success", f"alert {name}: {answer.get('error')}"
        rule_health = _query(port, "ALERTS")  # the rule groups loaded and evaluate
        assert rule_health["status"] == "success"
        print(f"{len(wanted)} dashboard and recording-rule expressions returned data; {len(alerts)} alerts valid")
    finally:
        if prom is not None:
            prom.terminate()
            prom.wait(20)
        run.send_signal(signal.SIGTERM)
        run.wait(60)
    assert processes_using(state) == []
