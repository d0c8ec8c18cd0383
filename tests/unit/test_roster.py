import json
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.dispatch.rules import DispatchRules
from models.dispatch.roster import (Roster, ShiftKind, StoredEntry, Surveyor, describe_change, entry_errors, roster_change,
                           roster_problems)

DEMO = json.loads((Path(__file__).resolve().parents[2] / "streams/data/demo_roster.json").read_text())
KNOWN = DispatchRules().known_equipment()


def surveyor(**kw) -> dict:
    return {"surveyor_id": "hz-s99", "name": "測試", "region_id": "hz", "skills": ["vehicle"], "base_lat": 30.27,
            "base_lon": 120.15, "shift": "day", "shift_start": "08:00", "shift_end": "20:00"} | kw


def refusal(**kw) -> str:
    data = {"regions": DEMO["regions"], "surveyors": [surveyor(**kw)]}
    with pytest.raises(ValidationError) as exc:
        Roster.model_validate(data)
    return "\n".join(entry_errors(data, exc.value.errors(include_input=False, include_url=False)))


def test_a_day_shift_across_midnight_is_refused_naming_the_surveyor():
    assert refusal(shift_start="20:00", shift_end="08:00") == (
        "surveyor hz-s99: a day shift of 20:00–08:00 crosses midnight; a shift across midnight is a night shift")
    Surveyor.model_validate(surveyor(shift="night", shift_start="20:00", shift_end="08:00"))


def test_a_shift_that_starts_when_it_ends_must_be_declared_a_24_hour_duty():
    assert "surveyor hz-s99: shift 08:00–08:00 starts when it ends; declare a 24-hour duty with all_day: true" \
        == refusal(shift_start="08:00", shift_end="08:00")
    s = Surveyor.model_validate(surveyor(shift="on_call", shift_start="00:00", shift_end="00:00", all_day=True))
    assert all(s.on_duty_at(time(h)) for h in range(24))


def test_an_unknown_skill_is_refused_naming_the_surveyor():
    assert refusal(skills=["vehicle", "levitation"]).startswith("surveyor hz-s99: skills.1: Input should be")


def test_a_base_outside_the_service_area_and_unknown_equipment_are_refused_naming_the_entry():
    data = {"regions": DEMO["regions"], "surveyors": [surveyor(base_lat=35.0)],
            "vehicles": [{"vehicle_id": "hz-v99", "region_id": "hz", "equipment": ["camera", "camra"],
                          "base_lat": 30.27, "base_lon": 120.15}]}
    problems = roster_problems(Roster.model_validate(data), KNOWN)
    assert problems[0].startswith("surveyor hz-s99: base 525 km from the centre of region hz, outside its 200 km")
    assert problems[1].startswith("vehicle hz-v99: unknown equipment camra (known: camera, first_aid,")
    assert roster_problems(Roster.model_validate(DEMO), KNOWN) == []


def stored(roster: Roster) -> list[StoredEntry]:
    return ([StoredEntry("region", r.region_id, r.region_id, r.model_dump_json()) for r in roster.regions]
            + [StoredEntry("surveyor", s.surveyor_id, s.region_id, s.model_dump_json()) for s in roster.surveyors]
            + [StoredEntry("vehicle", v.vehicle_id, v.region_id, v.model_dump_json()) for v in roster.vehicles])


def test_a_partial_file_deactivates_nobody_unless_asked_and_says_what_it_changes():
    demo = Roster.model_validate(DEMO)
    one = demo.surveyors[0].model_copy(update={"name": "新名字"})
    partial = Roster(regions=demo.regions, surveyors=(one, Surveyor.model_validate(surveyor())),
                     vehicles=demo.vehicles[:1])
    changes = roster_change(stored(demo), partial, deactivate_missing=False)
    kinds = {(c.kind, c.change): sum(1 for d in changes if (d.kind, d.change) == (c.kind, c.change)) for c in changes}
    assert kinds == {("surveyor", "changed"): 1, ("surveyor", "added"): 1, ("surveyor", "absent"): 59,
                     ("vehicle", "absent"): len(demo.vehicles) - 1}
    assert not [c for c in changes if c.change == "deactivated"]
    flagged = roster_change(stored(demo), partial, deactivate_missing=True)
    assert sum(c.change == "deactivated" for c in flagged) == 59 + len(demo.vehicles) - 1
    lines = describe_change(changes)
    assert lines[0].startswith("region hz: 1 surveyor added (hz-s99); 1 surveyor changed (hz-s01); ")
    assert "absent from the file, kept active" in lines[0]
    assert roster_change(stored(demo), demo, deactivate_missing=True) == []
    assert describe_change([]) == ["no change"]


def test_an_inactive_surveyor_listed_again_is_reactivated():
    demo = Roster.model_validate(DEMO)
    entries = [e if e.ident != "hz-s01" else StoredEntry(e.kind, e.ident, e.region_id, e.definition, active=False)
               for e in stored(demo)]
    assert [(c.ident, c.change) for c in roster_change(entries, demo, False)] == [("hz-s01", "reactivated")]
    assert ShiftKind.NIGHT.value == "night"
