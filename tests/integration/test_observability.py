"""Alert rules pass promtool, and every metric the dashboards and rules use is exposed by a real worker."""

import json
import shutil
import subprocess
import urllib.request

import pytest

from tests.observability import RULES, ROOT, dashboard_exprs, expand, exposed_families, is_exposed, metric_names, rules

pytestmark = pytest.mark.integration


def promtool() -> str:
    exe = shutil.which("promtool")
    assert exe, "promtool is needed: `apt-get install prometheus` (.ci/run does this)"
    return exe


def test_promtool_checks_the_rules():
    out = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_unit_tests_cover_every_alert():
    tests = ROOT / "infra/prometheus/tests/claims.rules.test.yml"
    out = subprocess.run([promtool(), "test", "rules", str(tests)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    text = tests.read_text()
    _, alerts = rules()
    untested = [a for a in alerts if f"alertname: {a}" not in text]
    assert untested == [], f"alerts without a promtool test: {untested}"


def test_every_metric_in_dashboards_and_rules_is_exposed_by_the_worker(worker, bus):
    body = urllib.request.urlopen(f"http://127.0.0.1:{worker['web_port']}/metrics", timeout=5).read().decode()
    families = exposed_families(body)
    records, alerts = rules()
    referenced = {}
    for where, expr in {**dashboard_exprs(), **{f"alert {k}": v for k, v in alerts.items()},
                        **{f"record {k}": v for k, v in records.items()}}.items():
        for name in metric_names(expand(expr, records)):
            referenced.setdefault(name, where)
    missing = {name: where for name, where in referenced.items() if not is_exposed(name, families)}
    assert missing == {}, f"referenced but not exposed: {missing}"
    assert len(referenced) > 25


def test_the_worker_runs_on_the_configured_event_loop(worker):
    # Settings.event_loop (uvloop by default): the running worker says which loop it got.
    lines = [json.loads(line) for line in worker["log"].read_text(errors="replace").splitlines()
             if '"worker_event_loop"' in line]
    assert [line["event_loop"] for line in lines] == ["uvloop.Loop"]
