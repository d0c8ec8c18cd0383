"""Charts for the HTML report: PNG images embedded in the page as data URIs."""

from __future__ import annotations

import base64
import io
from functools import cache


@cache
def _pyplot():
    """matplotlib, loaded when a chart is first drawn (once a month), not when a worker starts: it is 0.4 s of
    the worker's ~1.8 s of imports, on the way to its first assignment (python -X importtime)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory
    import matplotlib.pyplot as plt

    return plt


def _subplots(height: float):
    return _pyplot().subplots(figsize=(6.4, height))


def _data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def success_vs_target(report: dict) -> str:
    kinds = [k for k, f in report["callbacks"].items() if f["eligible"]]  # no events, no bar
    rates = [100 * (report["callbacks"][k]["success_rate"] or 0) for k in kinds]
    targets = [100 * report["callbacks"][k]["target"] for k in kinds]
    fig, ax = _subplots(3.0)
    if kinds:
        bars = ax.bar(kinds, rates, color=["#2e7d32" if r >= t else "#c62828" for r, t in zip(rates, targets)])
        ax.scatter(kinds, targets, marker="_", s=900, color="black", label="target", zorder=3)
        ax.bar_label(bars, fmt="%.0f%%", fontsize=8)
        ax.legend(loc="lower right", fontsize=8)
    else:  # (an empty bar chart drew an x axis of -0.04 to 0.04 and said nothing)
        ax.set_xticks([])
        ax.text(0.5, 0.5, "no eligible callback events this month", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylim(0, 110)
    ax.set_ylabel("success rate %")
    ax.set_title("Callback success rate against target")
    return _data_uri(fig)


def time_to_scene(report: dict) -> str:
    zones = [z for z, f in report["dispatch"]["by_zone"].items() if f["arrived"]]
    fig, ax = _subplots(3.0)
    if zones:
        x = range(len(zones))
        by = report["dispatch"]["by_zone"]
        ax.bar([i - 0.2 for i in x], [by[z]["time_to_scene_p50_min"] for z in zones], width=0.4, label="p50")
        ax.bar([i + 0.2 for i in x], [by[z]["time_to_scene_p90_min"] for z in zones], width=0.4, label="p90")
        for i, z in enumerate(zones):
            if by[z]["limit_minutes"]:
                ax.hlines(by[z]["limit_minutes"], i - 0.45, i + 0.45, colors="black", linestyles="dashed")
        ax.set_xticks(list(x), zones)
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no arrivals this month", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("minutes from report")
    ax.set_title("Time to scene by zone (dashed: limit)")
    return _data_uri(fig)


def findings_by_department(report: dict) -> str:
    deps = report["findings"]["by_department"]
    fig, ax = _subplots(2.6)
    if deps:
        names = list(deps)
        ax.barh(names, [deps[d]["open"] for d in names], label="open", color="#ef6c00")
        ax.barh(names, [deps[d]["closed"] for d in names], left=[deps[d]["open"] for d in names], label="closed",
                color="#90a4ae")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no findings this month", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Findings by department")
    return _data_uri(fig)
