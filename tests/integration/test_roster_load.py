"""`claims-dispatch roster load` on a real database: what a file changes, a partial file that deactivates
nobody without the flag, a dry run that writes nothing, and files refused naming the entry."""

import json
import subprocess

import pytest
import pytest_asyncio

from tests.conftest import CLI, own_database
from tests.unit.test_roster import DEMO, surveyor

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(loop_scope="session")
async def roster_db(database_url):
    async with own_database(database_url, "roster") as (url, pool):
        yield url, pool


def load(env, path, *flags) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "roster", "load", str(path), *flags], env=env, capture_output=True, text=True,
                          timeout=60)


async def test_a_partial_roster_shows_its_change_and_deactivates_only_with_the_flag(roster_db, cli_env, tmp_path):
    url, pool = roster_db
    env = dict(cli_env, CLAIMS_DATABASE_URL=url)
    full, partial = tmp_path / "full.json", tmp_path / "one.json"
    full.write_text(json.dumps(DEMO, ensure_ascii=False))
    partial.write_text(json.dumps({"regions": DEMO["regions"], "surveyors": DEMO["surveyors"][:1],
                                   "vehicles": DEMO["vehicles"][:1]}, ensure_ascii=False))
    first = load(env, full)
    assert first.returncode == 0, first.stderr
    assert "region hz: region added; 20 surveyors added" in first.stdout and "loaded: 3 regions, 60 surveyors" in first.stdout

    async def active():
        return (await pool.fetchval("SELECT count(*) FROM surveyors WHERE active"),
                await pool.fetchval("SELECT count(*) FROM vehicles WHERE active"))

    everyone = await active()
    dry = load(env, partial, "--dry-run", "--deactivate-missing")
    assert dry.returncode == 0 and "dry run: nothing written" in dry.stdout and "deactivated" in dry.stdout
    assert await active() == everyone

    kept = load(env, partial)
    assert kept.returncode == 0, kept.stderr
    assert "absent from the file, kept active" in kept.stdout and "--deactivate-missing makes them inactive" in kept.stdout
    assert await active() == everyone

    flagged = load(env, partial, "--deactivate-missing")
    assert flagged.returncode == 0 and "59 surveyors" not in flagged.stdout  # counted per region
    assert "region hz: 19 surveyors deactivated" in flagged.stdout
    assert await active() == (1, 1)
    again = load(env, full)
    assert "region hz: 19 surveyors reactivated" in again.stdout and await active() == everyone


@pytest.mark.parametrize("bad, says", [
    ({"shift_start": "20:00", "shift_end": "08:00"}, "surveyor hz-s99: a day shift of 20:00–08:00 crosses midnight"),
    ({"shift_start": "09:00", "shift_end": "09:00"}, "surveyor hz-s99: shift 09:00–09:00 starts when it ends"),
    ({"base_lat": 35.0}, "surveyor hz-s99: base 525 km from the centre of region hz, outside its 200 km"),
    ({"skills": ["levitation"]}, "surveyor hz-s99: skills.0: Input should be"),
])
async def test_a_bad_entry_is_refused_naming_it_and_nothing_is_written(roster_db, cli_env, tmp_path, bad, says):
    url, pool = roster_db
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"regions": DEMO["regions"], "surveyors": [surveyor(**bad)]}, ensure_ascii=False))
    out = load(dict(cli_env, CLAIMS_DATABASE_URL=url), path)
    assert out.returncode != 0 and says in out.stderr and "Traceback" not in out.stderr
    assert not await pool.fetchval("SELECT count(*) FROM surveyors WHERE surveyor_id = 'hz-s99'")


async def test_unknown_equipment_is_refused_naming_the_vehicle(roster_db, cli_env, tmp_path):
    url, _pool = roster_db
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"regions": DEMO["regions"], "vehicles": [
        {"vehicle_id": "hz-v99", "region_id": "hz", "equipment": ["camra"], "base_lat": 30.27, "base_lon": 120.15}]}))
    out = load(dict(cli_env, CLAIMS_DATABASE_URL=url), path)
    assert out.returncode != 0 and "vehicle hz-v99: unknown equipment camra" in out.stderr
