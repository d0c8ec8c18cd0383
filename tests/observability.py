"""The expressions dashboards and alert rules use, and the metric names they refer to."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "infra/prometheus/rules/claims.rules.yml"
DASHBOARDS = ROOT / "infra/grafana/dashboards"
_NAME = re.compile(r"\b((?:claims|process)_[a-z0-9_]+)\b")
_RECORD = re.compile(r"\bclaims:[a-z0-9_:]+")


def rules() -> tuple[dict[str, str], dict[str, str]]:
    """(recording rule name → expr, alert name → expr)."""
    records, alerts = {}, {}
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                records[rule["record"]] = rule["expr"].strip()
            else:
                alerts[rule["alert"]] = rule["expr"].strip()
    return records, alerts


def dashboard_exprs() -> dict[str, str]:
    """'dashboard / panel' → expr, for every query of every panel."""
    out = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        d = json.loads(path.read_text())
        for panel in d["panels"]:
            for t in panel.get("targets", []):
                out[f"{d['title']} / {panel['title']} / {t['refId']}"] = t["expr"]
    return out


def expand(expr: str, records: dict[str, str], rate_interval: str = "1m") -> str:
    """Replace recording-rule names with their expressions, and Grafana's $__rate_interval."""
    for _ in range(3):
        expr = _RECORD.sub(lambda m: f"({records[m.group(0)]})" if m.group(0) in records else m.group(0), expr)
    return expr.replace("$__rate_interval", rate_interval)


def metric_names(expr: str) -> set[str]:
    return set(_NAME.findall(expr))


def exposed_families(metrics_text: str) -> set[str]:
    families = set()
    for line in metrics_text.splitlines():
        if line.startswith("# TYPE "):
            families.add(line.split()[2])
    return families


def is_exposed(name: str, families: set[str]) -> bool:
    if name in families:
        return True
    for suffix in ("_bucket", "_sum", "_count", "_total", "_created"):
        if name.endswith(suffix) and name[: -len(suffix)] in families:
            return True
    return False
