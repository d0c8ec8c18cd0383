"""Dashboards are code: the committed JSON is what infra/grafana/dashboards.py builds, and it is well formed."""

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("dashboards", ROOT / "infra/grafana/dashboards.py")
dashboards = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dashboards)


@pytest.mark.parametrize("name", sorted(dashboards.DASHBOARDS))
def test_committed_dashboard_json_is_what_the_code_builds(name):
    committed = (ROOT / "infra/grafana/dashboards" / name).read_text()
    assert committed == dashboards.render()[name], f"run: python infra/grafana/dashboards.py ({name} is stale)"


def test_three_dashboards_with_queries_on_the_provisioned_datasource():
    uid = yaml.safe_load((ROOT / "infra/grafana/provisioning/datasources/prometheus.yml").read_text())
    ds_uid = uid["datasources"][0]["uid"]
    titles = set()
    for name in dashboards.DASHBOARDS:
        d = json.loads((ROOT / "infra/grafana/dashboards" / name).read_text())
        titles.add(d["title"])
        panels = [p for p in d["panels"] if p["type"] != "row"]
        assert panels, name
        for p in panels:
            assert p["targets"], p["title"]
            refs = [t["refId"] for t in p["targets"]]
            assert len(set(refs)) == len(refs) and all(refs), p["title"]
            assert all(t["datasource"]["uid"] == ds_uid and t["expr"] for t in p["targets"]), p["title"]
    assert titles == {"Dispatch board", "Callbacks", "Pipeline health"}


def test_every_alert_has_a_runbook_entry_and_a_row_in_the_alert_table():
    rules = yaml.safe_load((ROOT / "infra/prometheus/rules/claims.rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    operations = (ROOT / "docs/operations.md").read_text()
    entries = set()
    for line in operations.splitlines():
        if line.startswith("### "):
            entries |= {name.strip("` ") for name in line[4:].split("/")}
    assert alerts and alerts <= entries, f"no runbook entry in docs/operations.md for {sorted(alerts - entries)}"
    assert entries <= alerts, f"runbook entries for alerts that do not exist: {sorted(entries - alerts)}"
    assert all(f"`{a}`" in operations.split("## Runbook")[0] for a in alerts)
