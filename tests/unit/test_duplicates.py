"""Duplicate reports, pure: scenarios with known answers, plates normalised, and properties of the score."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings, strategies as st

from models.dispatch.duplicates import (DuplicateRules, Evidence, Fingerprint, best_match, cell_key, cell_of,
                                        cells_near, compare, fingerprint_of, look_ups, plate, recognise)
from models.contract.loss_report import LossReported
from models.dispatch.geo import distance_km
from tests.report_factory import report_dict
from tests.unit.builders import NOW, offset

RULES = DuplicateRules()
JUNCTION = offset(3)


def fp(rid, at=JUNCTION, minutes=0.0, policy="P1", insured="浙A12345", third=("浙B54321",), caller="c1"):
    return Fingerprint(rid, NOW + timedelta(minutes=minutes), at[0], at[1], policy, plate(insured),
                       frozenset(p for t in third if (p := plate(t))), caller)


def metres_east(m: float) -> tuple[float, float]:
    return offset(3, m / 1000.0)


def test_both_drivers_of_one_crash_are_linked():
    first = fp("A", policy="P1", insured="浙A12345", third=("浙B54321",), caller="driver-a")
    second = fp("B", at=metres_east(40), minutes=2, policy="P9", insured="浙B54321", third=("浙A12345",),
                caller="driver-b")
    m = compare(second, first, RULES)
    assert m.evidence == (Evidence.CROSSED_PLATES,) and m.verdict(RULES) == "link"


def test_a_customer_calling_again_under_a_new_report_id_is_linked():
    again = fp("A2", at=metres_east(20), minutes=0)
    m = compare(again, fp("A"), RULES)
    assert set(m.evidence) == {Evidence.SAME_INSURED_PLATE, Evidence.SAME_CALLER, Evidence.SAME_POLICY,
                               Evidence.SAME_THIRD_PARTY_PLATE}
    assert m.verdict(RULES) == "link"


def test_the_same_junction_two_hours_apart_and_the_same_policy_at_two_places_stay_separate():
    assert compare(fp("B", minutes=120), fp("A"), RULES) is None
    assert compare(fp("B", at=metres_east(2000)), fp("A"), RULES) is None
    assert compare(fp("B", at=metres_east(301)), fp("A"), RULES) is None


def test_two_accidents_at_one_junction_with_nothing_in_common_are_not_compared_further():
    other = fp("B", minutes=5, policy="P2", insured="浙C11111", third=("浙D22222",), caller="c2")
    assert compare(other, fp("A"), RULES) is None


def test_one_driver_naming_the_others_plate_is_flagged_not_linked():
    first = fp("A", insured="浙A12345", third=(), caller="a", policy="P1")
    second = fp("B", minutes=3, insured="浙B54321", third=("浙A12345",), caller="b", policy="P2")
    m = compare(second, first, RULES)
    assert m.evidence == (Evidence.PLATE_AS_THIRD_PARTY,) and m.verdict(RULES) == "flag"


def test_plates_written_with_spaces_dashes_lower_case_or_full_width_are_one_plate():
    assert {plate("浙A 12345"), plate("浙a-12345"), plate("浙Ａ１２３４５"), plate(" 浙A.12345 ")} == {"浙A12345"}
    assert plate("") is None and plate(None) is None and plate(" - ") is None
    first = fp("A", insured="浙A12345", third=("浙B54321",), caller="a", policy="P1")
    second = fp("B", insured="浙b 54321", third=("浙Ａ-１２３４５",), caller="b", policy="P2")
    assert compare(second, first, RULES).verdict(RULES) == "link"


def test_a_report_linked_to_a_linked_one_belongs_to_the_first_claim():
    a, b, c = fp("A"), fp("B", minutes=1), fp("C", minutes=2)
    linked, flagged = recognise([(a, None)], [b, c], RULES)
    assert {r: m.other for r, m in linked.items()} == {"B": "A", "C": "A"} and not flagged
    linked, _ = recognise([(a, None), (b, "A")], [c], RULES)
    assert linked["C"].other == "A"


def test_the_fingerprint_of_a_report_holds_no_phone_number_and_normalises_its_plates():
    raw = report_dict(at=JUNCTION, now=NOW)
    raw["insured_vehicle"] = {"plate": "浙a 12345"}
    f = fingerprint_of(LossReported.model_validate(raw))
    assert f.insured_plate == "浙A12345" and raw["reporter"]["phone"] not in str(f.as_json())
    assert len(f.caller) == 64
    bad_phone = LossReported.model_validate(raw | {"reporter": {"name": "x", "phone": "123"}})
    assert fingerprint_of(bad_phone).caller is None


def test_cells_cover_every_scene_within_the_radius():
    for east_m in (0, 150, 299, 480):
        a, b = JUNCTION, metres_east(east_m)
        row, col = cell_of(*b)
        assert row * 1_000_000 + col in cells_near(*a)


fingerprints = st.builds(
    lambda rid, minutes, east, policy, ins, tp, caller: fp(rid, metres_east(east), minutes, policy, ins, tp, caller),
    st.sampled_from(["A", "B"]), st.floats(0, 40), st.floats(0, 400), st.sampled_from(["P1", "P2"]),
    st.sampled_from(["浙A12345", "浙B54321", None]), st.lists(st.sampled_from(["浙A12345", "浙B54321", "浙C1"]), max_size=2),
    st.sampled_from(["a", "b", None]))


@settings(max_examples=300, deadline=None)
@given(fingerprints, fingerprints)
def test_the_score_is_symmetric_bounded_and_only_given_near_in_time_and_place(x, y):
    m, n = compare(x, y, RULES), compare(y, x, RULES)
    assert (m is None) == (n is None)
    if m is None:
        return
    assert abs(m.score - n.score) < 1e-9 and set(m.evidence) == set(n.evidence)
    assert 0 < m.score <= 1 and m.minutes_apart <= RULES.window_minutes and m.metres_apart <= RULES.radius_m


@settings(max_examples=200, deadline=None)
@given(st.lists(fingerprints, min_size=1, max_size=6), fingerprints)
def test_a_batchs_look_ups_find_every_claim_near_one_of_its_reports(batch, claim):
    """One range per cell for the whole batch: any claim a report of it would be compared with (near in
    time and place) lies in one of the cells looked up, inside that cell's time range."""
    found = look_ups(batch, RULES)
    assert len({cell for cell, _, _ in found}) == len(found)  # one look-up per cell
    def near(new: Fingerprint) -> bool:
        return (abs((new.loss_time - claim.loss_time).total_seconds()) <= RULES.window_minutes * 60
                and distance_km(new.lat, new.lon, claim.lat, claim.lon) * 1000 <= RULES.radius_m)

    if any(near(new) for new in batch):
        home = cell_key(*cell_of(claim.lat, claim.lon))
        assert any(cell == home and lo <= claim.loss_time <= hi for cell, lo, hi in found)


@settings(max_examples=200, deadline=None)
@given(fingerprints, st.floats(0, 25))
def test_more_evidence_never_lowers_the_score(x, extra_minutes):
    y = fp("Z", at=(x.lat, x.lon), minutes=(x.loss_time - NOW).total_seconds() / 60, policy="P-other",
           insured=None, third=(), caller="someone-else")
    base = compare(x, y, RULES)
    same_caller = Fingerprint(**{**y.__dict__, "caller": x.caller or "a"})
    more = compare(Fingerprint(**{**x.__dict__, "caller": x.caller or "a"}), same_caller, RULES)
    assert more is not None and (base is None or more.score >= base.score)


def test_best_match_prefers_the_strongest_then_the_earliest():
    weak = fp("W", policy="P1", insured="浙Z99999", third=(), caller="z")
    strong = fp("S")
    m = best_match(fp("N", minutes=1), [weak, strong], RULES)
    assert m.other == "S"
    twin = fp("S2")
    assert best_match(fp("N", minutes=1), [strong, twin], RULES).other == "S"


def test_the_monthly_report_counts_duplicates_and_the_trips_they_saved():
    from models.reporting.monthly import MonthRows, duplicate_figures

    rows = MonthRows(claims=[{"zone": "urban", "linked_by": "intake", "never_surveyed": True},
                             {"zone": "urban", "linked_by": "merge_duplicate", "never_surveyed": True},
                             {"zone": "urban", "linked_by": "merge_duplicate", "never_surveyed": False},
                             {"zone": "urban", "linked_by": None, "never_surveyed": False}])
    assert duplicate_figures(rows) == {"linked_at_intake": 1, "merged_by_dispatcher": 2, "surveyor_trips_saved": 2}
