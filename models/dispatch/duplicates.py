"""One accident, one claim: a new report compared with the open claims near it in time and place.

Two reports are compared only when their losses happened within ``window_minutes`` of each other and
their scenes lie within ``radius_m``; then they are linked by evidence, each kind with a weight (how
often it alone means the same accident), combined as independent signs (1 - Π(1 - w)) and discounted a
little for distance in time and place:

- ``crossed_plates``: each names the other's plate as the third party (both drivers of one crash);
- ``same_insured_plate``: the same insured vehicle (a customer calling again under a new report id);
- ``plate_as_third_party``: one report's insured plate is the other's third party (one driver knew the
  other's plate);
- ``same_caller``: the same phone number (compared by its hash; the number is never kept);
- ``same_policy``: the same policy;
- ``same_third_party_plate``: both name the same third vehicle (a pile-up: perhaps one accident).

At ``link_at`` or above the report is linked to the existing claim and not dispatched on its own; from
``flag_at`` it is dispatched and flagged for the dispatcher to merge or keep apart; below, nothing.
Plates are compared normalised: full-width forms folded (NFKC), letters upper-case, spaces, dots and
dashes dropped.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from models.callbacks.phones import caller_hash
from models.contract.loss_report import LossReported
from models.dispatch.geo import distance_km


class Evidence(StrEnum):
    CROSSED_PLATES = "crossed_plates"
    SAME_INSURED_PLATE = "same_insured_plate"
    PLATE_AS_THIRD_PARTY = "plate_as_third_party"
    SAME_CALLER = "same_caller"
    SAME_POLICY = "same_policy"
    SAME_THIRD_PARTY_PLATE = "same_third_party_plate"


class DuplicateRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    window_minutes: float = Field(default=30, gt=0, description="Losses further apart in time are distinct.")
    radius_m: float = Field(default=300, gt=0, le=480, description="Scenes further apart are distinct accidents.")
    link_at: float = Field(default=0.8, gt=0, le=1, description="Linked to the existing claim from this score.")
    flag_at: float = Field(default=0.4, gt=0, le=1, description="Flagged for the dispatcher from this score.")
    weights: dict[Evidence, float] = Field(default_factory=lambda: {
        Evidence.CROSSED_PLATES: 0.95, Evidence.SAME_INSURED_PLATE: 0.75, Evidence.PLATE_AS_THIRD_PARTY: 0.6,
        Evidence.SAME_CALLER: 0.7, Evidence.SAME_POLICY: 0.6, Evidence.SAME_THIRD_PARTY_PLATE: 0.45})


@dataclass(frozen=True)
class Fingerprint:
    """What a report is compared by: no names, no phone number (its hash)."""

    report_id: str
    loss_time: datetime
    lat: float
    lon: float
    policy_no: str
    insured_plate: str | None
    third_party_plates: frozenset[str]
    caller: str | None

    def as_json(self) -> dict:
        return {"policy_no": self.policy_no, "insured_plate": self.insured_plate,
                "third_party_plates": sorted(self.third_party_plates), "caller": self.caller}


def fingerprint_of(report: LossReported) -> Fingerprint:
    """A report's fingerprint: its caller by the hash of the normalised number (None when not a number)."""
    caller = caller_hash(report.reporter.phone)
    insured = report.insured_vehicle.plate if report.insured_vehicle else None
    return Fingerprint(report.report_id, report.loss_time, report.location.lat, report.location.lon,
                       report.policy.number, plate(insured),
                       frozenset(p for v in report.third_party_vehicles if (p := plate(v.plate))), caller)


def plate(raw: str | None) -> str | None:
    """A plate as compared: ``浙a 12345``, ``浙A-12345`` and ``浙Ａ１２３４５`` are one plate."""
    if not raw:
        return None
    folded = unicodedata.normalize("NFKC", raw).upper()
    kept = "".join(ch for ch in folded if ch.isalnum())
    return kept or None


@dataclass(frozen=True)
class Match:
    """A new report against one existing claim: the score and the evidence behind it."""

    report_id: str          # the new report
    other: str              # the existing claim's report id
    score: float
    evidence: tuple[Evidence, ...]
    minutes_apart: float
    metres_apart: float

    def verdict(self, rules: DuplicateRules) -> str | None:
        """``link``, ``flag`` or None."""
        if self.score >= rules.link_at:
            return "link"
        if self.score >= rules.flag_at:
            return "flag"
        return None


def compare(new: Fingerprint, old: Fingerprint, rules: DuplicateRules) -> Match | None:
    """How strongly ``new`` looks like ``old``'s accident; None: not near enough in time and place, or no
    evidence at all."""
    minutes = abs((new.loss_time - old.loss_time).total_seconds()) / 60.0
    if minutes > rules.window_minutes:
        return None
    metres = distance_km(new.lat, new.lon, old.lat, old.lon) * 1000.0
    if metres > rules.radius_m:
        return None
    found: list[Evidence] = []
    a, b = new.insured_plate, old.insured_plate
    if a and b and a in old.third_party_plates and b in new.third_party_plates:
        found.append(Evidence.CROSSED_PLATES)
    elif (a and a in old.third_party_plates) or (b and b in new.third_party_plates):
        found.append(Evidence.PLATE_AS_THIRD_PARTY)
    if a and a == b:
        found.append(Evidence.SAME_INSURED_PLATE)
    if new.caller and new.caller == old.caller:
        found.append(Evidence.SAME_CALLER)
    if new.policy_no and new.policy_no == old.policy_no:
        found.append(Evidence.SAME_POLICY)
    if new.third_party_plates & old.third_party_plates:
        found.append(Evidence.SAME_THIRD_PARTY_PLATE)
    if not found:
        return None
    unlikely = math.prod(1.0 - rules.weights[e] for e in found)
    # Nearer in time and place is a little more likely the same: at the window's edge 10% less.
    nearness = 1.0 - 0.05 * (minutes / rules.window_minutes) - 0.05 * (metres / rules.radius_m)
    return Match(new.report_id, old.report_id, round((1.0 - unlikely) * nearness, 4), tuple(found),
                 round(minutes, 1), round(metres))


def best_match(new: Fingerprint, candidates: list[Fingerprint], rules: DuplicateRules) -> Match | None:
    """The strongest match among ``candidates`` (the earliest claim breaks a tie), or None."""
    matches = [m for c in candidates if c.report_id != new.report_id and (m := compare(new, c, rules))]
    if not matches:
        return None
    order = {c.report_id: n for n, c in enumerate(candidates)}
    return max(matches, key=lambda m: (m.score, -order[m.other]))


def recognise(known: list[tuple[Fingerprint, str | None]], new: list[Fingerprint], rules: DuplicateRules
              ) -> tuple[dict[str, Match], dict[str, Match]]:
    """The new reports (in arrival order) that are other reports of a known accident (``linked``: their
    match names the first claim of it) or may be (``flagged``). ``known``: the open claims near them, each
    with the claim it was linked to (None: its own). Each new report is compared with the known claims and
    with the new ones before it."""
    primary = {fp.report_id: (of or fp.report_id) for fp, of in known}
    # By cell, in arrival order: a new report is compared only with those whose scene can lie within the radius
    # (a storm's batch of a thousand reports would otherwise compare each with every other).
    by_cell: dict[int, list[Fingerprint]] = {}
    order: dict[str, int] = {}

    def keep(fp: Fingerprint) -> None:
        order[fp.report_id] = len(order)
        by_cell.setdefault(cell_key(*cell_of(fp.lat, fp.lon)), []).append(fp)

    for fp, _ in known:
        keep(fp)
    linked: dict[str, Match] = {}
    flagged: dict[str, Match] = {}
    for fp in new:
        near = sorted((c for key in cells_near(fp.lat, fp.lon, rules.radius_m) for c in by_cell.get(key, ())),
                      key=lambda c: order[c.report_id])
        m = best_match(fp, near, rules)
        verdict = m.verdict(rules) if m else None
        if verdict == "link":
            root = primary.get(m.other, m.other)
            linked[fp.report_id] = Match(m.report_id, root, m.score, m.evidence, m.minutes_apart, m.metres_apart)
            primary[fp.report_id] = root
        elif verdict == "flag":
            flagged[fp.report_id] = m
        keep(fp)
    return linked, flagged


#: Scenes are looked up by cell: 0.0045° of latitude (500 m) by 0.008° of longitude (at least 500 m up to 51°
#: north, China's far north-east 53°: 480 m), so that a circle of any radius up to 480 m
#: (``DuplicateRules.radius_m`` is bounded by it) overlaps at most four cells.
CELL_LAT_DEG = 0.0045
CELL_LON_DEG = 0.008


def cell_of(lat: float, lon: float) -> tuple[int, int]:
    """The cell (row, column) a point lies in."""
    return math.floor(lat / CELL_LAT_DEG), math.floor(lon / CELL_LON_DEG)


def cell_key(row: int, col: int) -> int:
    """One integer per cell, for an index."""
    return row * 1_000_000 + col


def look_ups(prints, rules: DuplicateRules) -> list[tuple[int, datetime, datetime]]:
    """Where a batch's reports are looked for: per grid cell any of their scenes' circles overlaps, the
    loss times of the reports there, widened by the window either side (one index range per cell, however
    many of the batch's reports share it)."""
    window = timedelta(minutes=rules.window_minutes)
    spans: dict[int, tuple[datetime, datetime]] = {}
    for fp in prints:
        for cell in cells_near(fp.lat, fp.lon, rules.radius_m):
            lo, hi = spans.get(cell, (fp.loss_time, fp.loss_time))
            spans[cell] = (min(lo, fp.loss_time), max(hi, fp.loss_time))
    return [(cell, lo - window, hi + window) for cell, (lo, hi) in spans.items()]


def cells_near(lat: float, lon: float, radius_m: float = 480.0) -> list[int]:
    """The keys of the cells a circle of ``radius_m`` around a scene overlaps (its bounding box's): one to
    four, as a cell is larger than the radius each way."""
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(0.1, math.cos(math.radians(lat))))
    (r0, c0), (r1, c1) = cell_of(lat - dlat, lon - dlon), cell_of(lat + dlat, lon + dlon)
    return [cell_key(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
