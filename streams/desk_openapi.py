"""The desk API's OpenAPI 3.1 document, served at ``/openapi.json`` and checked against the running server
by ``tests/integration/test_desk_api.py``. Command bodies are the command models' own JSON Schemas
(``models.contract.desk_commands``) less the fields the server fills in from the token and the clock."""

from __future__ import annotations

import copy
from functools import lru_cache

from pydantic import TypeAdapter

from models.contract.desk_commands import DeskOption, DispatchCommand

#: Set by the server: who (from the token), when, and the supervisor for a forced command.
SERVER_SET = ("dispatcher_id", "issued_at", "forced_by", "schema_version")


def _command_request_schemas() -> tuple[dict, dict]:
    schema = TypeAdapter(DispatchCommand).json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    for name, d in defs.items():
        if "properties" in d and "command_id" in d["properties"]:
            for f in SERVER_SET:
                d["properties"].pop(f, None)
            d["required"] = [r for r in d.get("required", []) if r not in (*SERVER_SET, "command_id")]
            d["properties"]["command_id"]["description"] = ("Optional: the server makes one. Send the same one "
                                                            "again to re-send a command safely.")
    return schema, defs


def _error() -> dict:
    return {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_UNAUTHORISED = {"401": {"$ref": "#/components/responses/Unauthorised"}}


@lru_cache(maxsize=1)
def _document() -> dict:
    request, defs = _command_request_schemas()
    result_schema = {
        "type": "object",
        "required": ["command_id", "status", "command", "outcome", "refusals", "detail", "dispatcher_id",
                     "decided_at", "state_before", "state_after"],
        "properties": {
            "command_id": {"type": "string", "format": "uuid"}, "status": {"const": "decided"},
            "command": {"type": "string"}, "outcome": {"enum": ["applied", "forced", "refused"]},
            "refusals": {"type": "array", "items": {"type": "string"}}, "detail": {"type": "string"},
            "dispatcher_id": {"type": "string"}, "forced_by": {"type": ["string", "null"]},
            "report_id": {"type": ["string", "null"]}, "surveyor_id": {"type": ["string", "null"]},
            "task_id": {"type": ["string", "null"]}, "decided_at": {"type": "string", "format": "date-time"},
            "state_before": {"type": "object"}, "state_after": {"type": "object"}}}
    escalation = {
        "type": "object",
        "required": ["escalation_id", "report_id", "region_id", "zone", "reason", "detail", "state", "raised_at",
                     "age_s", "deadline_at", "loss_type", "claim_state"],
        "properties": {
            "escalation_id": {"type": "string", "format": "uuid"}, "report_id": {"type": "string"},
            "region_id": {"type": "string"}, "zone": {"type": "string"}, "reason": {"type": "string"},
            "detail": {"type": "string"}, "state": {"enum": ["open", "acknowledged"]},
            "raised_at": {"type": "string", "format": "date-time"}, "age_s": {"type": "number"},
            "acknowledged_by": {"type": ["string", "null"]},
            "acknowledged_at": {"type": ["string", "null"], "format": "date-time"},
            "deadline_at": {"type": "string", "format": "date-time"}, "loss_type": {"type": "string"},
            "claim_state": {"type": "string"}, "address": {"type": "string"}}}
    option = TypeAdapter(DeskOption).json_schema(mode="serialization")
    defs.update({
        "CommandRequest": request, "CommandDecided": result_schema, "Escalation": escalation, "DeskOption": option,
        "Error": _error()})
    bearer = [{"bearer": []}]
    paths = {
        "/api/escalations": {"get": {
            "summary": "Escalations not yet resolved or superseded, the oldest first.", "security": bearer,
            "responses": {"200": _json({"type": "object", "required": ["escalations"], "properties": {
                "escalations": {"type": "array", "items": {"$ref": "#/components/schemas/Escalation"}}}},
                "The unclosed escalations."), **_UNAUTHORISED}}},
        "/api/escalations/{escalation_id}/options": {"get": {
            "summary": "What can be done about the escalation now, naming who and when.", "security": bearer,
            "parameters": [{"name": "escalation_id", "in": "path", "required": True,
                            "schema": {"type": "string", "format": "uuid"}}],
            "responses": {"200": _json({"type": "object", "required": ["escalation", "options"], "properties": {
                "escalation": {"type": "object"},
                "options": {"type": "array", "items": {"$ref": "#/components/schemas/DeskOption"}}}},
                "The escalation and its options, worked out now."),
                "404": _json({"$ref": "#/components/schemas/Error"}, "No such escalation."), **_UNAUTHORISED}}},
        "/api/commands": {"post": {
            "summary": "Send a command; its result when decided within the wait, else 202.", "security": bearer,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/CommandRequest"}}}},
            "responses": {
                "200": _json({"$ref": "#/components/schemas/CommandDecided"}, "Decided: applied, forced or refused."),
                "202": _json({"type": "object", "required": ["command_id", "status"], "properties": {
                    "command_id": {"type": "string", "format": "uuid"}, "status": {"const": "pending"}}},
                    "Sent, not decided yet: ask GET /api/commands/{command_id}."),
                "400": _json({"$ref": "#/components/schemas/Error"}, "Not a JSON object."),
                "403": _json({"$ref": "#/components/schemas/Error"},
                             "A viewer's token, or forcing without a supervisor's."),
                "422": _json({"type": "object", "required": ["error", "problems"], "properties": {
                    "error": {"type": "string"}, "problems": {"type": "array", "items": {"type": "object"}}}},
                    "Not a valid command."), **_UNAUTHORISED}}},
        "/api/commands/{command_id}": {"get": {
            "summary": "A command's result and its audit (state before and after).", "security": bearer,
            "parameters": [{"name": "command_id", "in": "path", "required": True,
                            "schema": {"type": "string", "format": "uuid"}}],
            "responses": {"200": _json({"$ref": "#/components/schemas/CommandDecided"}, "Decided."),
                          "404": _json({"$ref": "#/components/schemas/Error"}, "Unknown, or not decided yet."),
                          **_UNAUTHORISED}}},
        "/api/claims/{report_id}/timeline": {"get": {
            "summary": "Everything that happened to a claim, in order.", "security": bearer,
            "parameters": [{"name": "report_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json({"type": "object", "required": ["report_id", "events"], "properties": {
                "report_id": {"type": "string"}, "events": {"type": "array", "items": {
                    "type": "object", "required": ["at", "what", "detail"], "properties": {
                        "at": {"type": "string", "format": "date-time"}, "what": {"type": "string"},
                        "detail": {"type": "object"}}}}}}, "The claim's timeline."),
                "404": _json({"$ref": "#/components/schemas/Error"}, "No such claim."), **_UNAUTHORISED}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "claims-dispatch desk", "version": "1",
                 "description": "The dispatcher's desk: escalations, options, commands, timelines. Every /api/ route "
                                "needs a bearer token."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Unauthorised": _json({"$ref": "#/components/schemas/Error"}, "No valid bearer token.")},
            "schemas": defs},
    }


def openapi_document() -> dict:
    return copy.deepcopy(_document())
