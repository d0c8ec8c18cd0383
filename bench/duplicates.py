"""Duplicate reports: how many true duplicates the product links or flags, and how many distinct accidents it
links, on a labelled simulated hotline stream.

Run on purpose (never part of the tests):  .venv/bin/python bench/duplicates.py [--reports 6000] [--seeds 3]

The stream: accidents across the demo roster's regions over four hours, each reported once; then, as on a
real hotline, the other driver of some crashes reports it too (the simulator's `other_party`: their own
phone and policy, the plates crossed, written as they come), and some customers call again under a new
report id (`repeat_call`). Hard negatives are made on purpose: another accident at the same junction within
20 minutes (different people and cars), the same policy at a scene kilometres away, the same car at the
same junction two hours apart, a fleet's one phone reporting two of its cars' accidents at one junction.
Each report is decided in arrival order by the product's own
`models.dispatch.duplicates.recognise`, against the earlier reports its store look-up would find (the same
window and radius); the generator is the simulator's, never the detector's rules.

Prints, per seed: true duplicates linked / flagged / missed (and linked to the right accident), distinct
accidents linked and flagged.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.contract.loss_report import Location  # noqa: E402
from models.dispatch.duplicates import (DuplicateRules, cell_of, cells_near, cell_key, fingerprint_of,  # noqa: E402
                                        recognise)
from streams.commands.bootstrap import demo_roster_path, read_roster  # noqa: E402
from streams.simulators.hotline import _near, loss_report, other_party, repeat_call  # noqa: E402


def stream(rng: random.Random, n: int, start: datetime):
    """(report, accident id, kind) in arrival order; kind: original, other_party, repeat_call, or one of the
    hard negatives (same_junction, same_policy_elsewhere, same_car_later), which are accidents of their own."""
    regions = read_roster(demo_roster_path()).regions
    out = []
    seq = 0
    span = timedelta(hours=4)
    while len(out) < n:
        seq += 1
        at = start + span * rng.random()
        region = rng.choice(regions)
        first = loss_report(rng, region, at, seq)
        accident = f"A{seq}"
        out.append((first, accident, "original"))
        roll = rng.random()
        if roll < 0.10:
            dup = other_party(rng, first, region, at + timedelta(minutes=rng.uniform(1, 15)), seq * 10 + 1)
            if dup is not None:
                out.append((dup, accident, "other_party"))
        elif roll < 0.16:
            out.append((repeat_call(rng, first, at + timedelta(minutes=rng.uniform(5, 40)), seq * 10 + 2), accident,
                        "repeat_call"))
        elif roll < 0.22:
            other = loss_report(rng, region, at + timedelta(minutes=rng.uniform(2, 20)), seq * 10 + 3)
            lat, lon = _near(rng, first.location.lat, first.location.lon, 150)
            out.append((other.model_copy(update={"location": Location(address=first.location.address, lat=lat,
                                                                      lon=lon),
                                                 "loss_time": first.loss_time + timedelta(minutes=rng.uniform(-20, 20))}),
                        f"A{seq}-junction", "same_junction"))
        elif roll < 0.23:
            other = loss_report(rng, region, at + timedelta(minutes=rng.uniform(2, 20)), seq * 10 + 4)
            lat, lon = _near(rng, first.location.lat, first.location.lon, 5000)
            if abs(lat - first.location.lat) + abs(lon - first.location.lon) > 0.01:
                out.append((other.model_copy(update={"policy": first.policy, "location": Location(
                    address="elsewhere", lat=lat, lon=lon), "loss_time": first.loss_time}), f"A{seq}-elsewhere",
                    "same_policy_elsewhere"))
        elif roll < 0.25:
            # A fleet's or a tow firm's one phone reporting another of its cars' accidents at the same junction.
            other = loss_report(rng, region, at + timedelta(minutes=rng.uniform(2, 20)), seq * 10 + 6)
            lat, lon = _near(rng, first.location.lat, first.location.lon, 150)
            out.append((other.model_copy(update={"reporter": first.reporter, "location": Location(
                address=first.location.address, lat=lat, lon=lon), "loss_time": first.loss_time + timedelta(
                    minutes=rng.uniform(-15, 15))}), f"A{seq}-fleet", "same_caller_other_car"))
        elif roll < 0.26:
            again = repeat_call(rng, first, at + timedelta(hours=2), seq * 10 + 5)
            out.append((again.model_copy(update={"loss_time": first.loss_time + timedelta(hours=2)}),
                        f"A{seq}-later", "same_car_later"))
    out = out[:n]
    out.sort(key=lambda x: (x[0].occurred_at, x[0].report_id))
    return out


def run(seed: int, n: int, rules: DuplicateRules) -> dict:
    rng = random.Random(seed)
    reports = stream(rng, n, datetime(2026, 12, 3, 0, 0, tzinfo=timezone.utc))
    by_cell: dict[int, list] = defaultdict(list)     # what the store's (cell, loss time) index finds
    primary: dict[str, str | None] = {}
    accident_of: dict[str, str] = {}
    first_of: dict[str, str] = {}                    # accident → its first report
    verdicts: dict[str, str | None] = {}
    window = timedelta(minutes=rules.window_minutes)
    for report, accident, _kind in reports:
        fp = fingerprint_of(report)
        near = [(c, primary[c.report_id]) for key in cells_near(fp.lat, fp.lon) for c in by_cell[key]
                if abs(c.loss_time - fp.loss_time) <= window]
        linked, flagged = recognise(near, [fp], rules)
        if fp.report_id in linked:
            verdicts[fp.report_id], primary[fp.report_id] = "link", linked[fp.report_id].other
        else:
            verdicts[fp.report_id], primary[fp.report_id] = ("flag" if fp.report_id in flagged else None), None
        accident_of[fp.report_id] = accident
        first_of.setdefault(accident, fp.report_id)
        by_cell[cell_key(*cell_of(fp.lat, fp.lon))].append(fp)
    true_dups = [r.report_id for r, a, k in reports if k in ("other_party", "repeat_call")]
    # A duplicate counts as one only when its accident's first report came before it in the stream.
    distinct = [r.report_id for r, a, k in reports if first_of[a] == r.report_id]
    return {
        "reports": len(reports), "true duplicates": len(true_dups),
        "linked": sum(verdicts[r] == "link" for r in true_dups),
        "linked to the right accident": sum(verdicts[r] == "link" and accident_of[primary[r]] == accident_of[r]
                                            for r in true_dups),
        "flagged": sum(verdicts[r] == "flag" for r in true_dups),
        "missed": sum(verdicts[r] is None for r in true_dups),
        "distinct accidents": len(distinct),
        "hard negatives": sum(k in ("same_junction", "same_policy_elsewhere", "same_car_later", "same_caller_other_car")
                              for _, _, k in reports),
        "distinct linked": sum(verdicts[r] == "link" for r in distinct),
        "distinct flagged": sum(verdicts[r] == "flag" for r in distinct),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reports", type=int, default=6000)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    rules = DuplicateRules()
    print(f"{'seed':>4} {'reports':>7} {'dups':>5} {'linked':>6} {'right':>6} {'flagged':>7} {'missed':>6}"
          f" {'recall':>7} {'distinct':>8} {'hard neg':>8} {'linked':>6} {'flagged':>7} {'false link':>10}")
    for seed in range(1, args.seeds + 1):
        r = run(seed, args.reports, rules)
        recall = (r["linked"] + r["flagged"]) / r["true duplicates"]
        false_link = r["distinct linked"] / r["distinct accidents"]
        print(f"{seed:>4} {r['reports']:>7} {r['true duplicates']:>5} {r['linked']:>6}"
              f" {r['linked to the right accident']:>6} {r['flagged']:>7} {r['missed']:>6} {recall:>7.2%}"
              f" {r['distinct accidents']:>8} {r['hard negatives']:>8} {r['distinct linked']:>6}"
              f" {r['distinct flagged']:>7} {false_link:>10.3%}")


if __name__ == "__main__":
    main()
