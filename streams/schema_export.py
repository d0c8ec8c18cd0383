"""JSON Schema per topic and an AsyncAPI 3 document, generated from the models (never written by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter

from models.contract.topics import TOPICS
from models.contract.dead_letter import DeadLetter

DEFAULT_DIR = Path("schemas")


def _schema(payload) -> dict:
    return TypeAdapter(payload).json_schema(mode="serialization")


def documents() -> dict[str, dict]:
    """File name → JSON document, for every topic, the dead-letter record and the AsyncAPI description."""
    docs: dict[str, dict] = {}
    for t in TOPICS:
        docs[f"{t.name}.schema.json"] = {"$id": f"{t.name}.schema.json", "title": t.name, **_schema(t.payload)}
    docs["dead-letter.schema.json"] = {"$id": "dead-letter.schema.json", "title": "<topic>.dlq",
                                       **_schema(DeadLetter)}
    channels, operations, messages = {}, {}, {}
    dlq_names = []
    for t in TOPICS:
        cid = t.name.replace(".", "_")
        messages[cid] = {
            "name": t.name,
            "contentType": "application/json",
            "payload": {"$ref": f"./{t.name}.schema.json"},
            "bindings": {"kafka": {"key": {"type": "string", "description": f"the payload's `{t.key}`"}}},
        }
        channels[cid] = {
            "address": t.name,
            "description": f"{t.summary} Produced by: {t.producer}." + (" Internal to claims-dispatch." if t.internal else ""),
            "messages": {cid: {"$ref": f"#/components/messages/{cid}"}},
            "bindings": {"kafka": {"partitions": t.partitions}},
        }
        operations[f"publish_{cid}"] = {"action": "send", "channel": {"$ref": f"#/channels/{cid}"}}
        if t.dead_letters:
            dlq_names.append(t.dlq)
    messages["dead_letter"] = {"name": "dead letter", "contentType": "application/json",
                               "payload": {"$ref": "./dead-letter.schema.json"}}
    for name in dlq_names:
        cid = name.replace(".", "_")
        channels[cid] = {
            "address": name,
            "description": "Records that could not be processed, with the original bytes, the reason and the time.",
            "messages": {"dead_letter": {"$ref": "#/components/messages/dead_letter"}},
            "bindings": {"kafka": {"partitions": 1}},
        }
        operations[f"publish_{cid}"] = {"action": "send", "channel": {"$ref": f"#/channels/{cid}"}}
    docs["asyncapi.json"] = {
        "asyncapi": "3.0.0",
        "info": {"title": "claims-dispatch topics", "version": "1.0.0",
                 "description": "Kafka topics of the claims dispatch and callback system. Values are JSON; "
                                "every event carries event_id, occurred_at and schema_version."},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
    return docs


def render(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def export(directory: Path = DEFAULT_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, doc in documents().items():
        path = directory / name
        path.write_text(render(doc))
        written.append(path)
    return written
