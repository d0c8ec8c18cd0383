"""The public contract: schemas on disk are the models, and every topic has one."""

import json
from pathlib import Path

import pytest

from models.contract.topics import TOPICS, all_topic_names
from models.dispatch.roster import Roster
from streams.schema_export import documents, render

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.mark.parametrize("name", sorted(documents()))
def test_committed_schema_files_match_the_models(name):
    path = SCHEMAS / name
    assert path.exists(), f"{path} missing: run `claims-dispatch schemas export`"
    assert path.read_text() == render(documents()[name]), f"{name} is stale: run `claims-dispatch schemas export`"


def test_no_schema_file_is_left_over_from_a_removed_topic():
    assert {p.name for p in SCHEMAS.glob("*.json")} == set(documents())


def test_every_event_has_id_time_and_version():
    """Events carry an event id and when they happened; a command (``dispatch.commands``) carries the id its
    sender chose and when it was issued."""
    for t in TOPICS:
        schema = documents()[f"{t.name}.schema.json"]
        variants = [schema] if "properties" in schema else [schema["$defs"][r["$ref"].split("/")[-1]]
                                                            for r in schema["oneOf"]]
        identity, time = ("command_id", "issued_at") if t.name == "dispatch.commands" else ("event_id", "occurred_at")
        for v in variants:
            assert {identity, time, "schema_version"} <= set(v["properties"]), t.name
            assert {identity, time} <= set(v["required"]), t.name


def test_every_consumed_topic_has_a_dead_letter_topic(tmp_path):
    """What the worker's agents actually subscribe to, against the topics the stack creates: every consumed
    topic has its `.dlq`, and no `.dlq` is made for a topic nobody here consumes."""
    from streams.app import create_app
    from streams.settings import Settings

    app, _rt = create_app(Settings(state_dir=tmp_path), "postgresql://unused", "127.0.0.1:1")  # connects nothing
    consumed = {t for agent in app.agents.values() for t in agent.channel.topics}
    assert {"hotline.reports", "surveyor.status", "callbacks.attempts", "policy.events"} <= consumed
    created = {n for n, _ in all_topic_names()}
    assert {f"{t}.dlq" for t in consumed} <= created
    assert {n.removesuffix(".dlq") for n in created if n.endswith(".dlq")} == consumed


def test_asyncapi_document_describes_every_topic():
    doc = documents()["asyncapi.json"]
    assert doc["asyncapi"].startswith("3.")
    assert {c["address"] for c in doc["channels"].values()} == {n for n, _ in all_topic_names()}


def test_roster_refuses_unknown_region_references():
    data = json.loads((Path(__file__).resolve().parents[2] / "streams/data/demo_roster.json").read_text())
    data["surveyors"][0]["region_id"] = "nowhere"
    with pytest.raises(ValueError, match="unknown region 'nowhere'"):
        Roster.model_validate(data)


def test_the_contract_document_names_every_topic_and_every_dead_letter_reason():
    from pathlib import Path

    from models.contract.topics import TOPICS
    from models.dispatch.intake import RejectReason

    doc = (Path(__file__).resolve().parents[2] / "docs/contract.md").read_text()
    for t in TOPICS:
        assert f"| `{t.name}` | {t.summary} |" in doc, t.name
    for reason in RejectReason:
        assert f"`{reason.value}`" in doc, reason
