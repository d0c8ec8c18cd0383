"""The dispatcher's desk over HTTP: the escalations, their options, commands and their results, a claim's
timeline, and the console page that uses them (``claims-dispatch desk serve``).

Every ``/api/`` route needs a bearer token (``CLAIMS_DESK__TOKENS``: each token's SHA-256, the dispatcher it
belongs to and a role): none or an unknown one is 401; a viewer sending a command, or a dispatcher forcing
one, is 403. The command's dispatcher and supervisor are the token's, never the request's. The console page
and the OpenAPI document are public: they hold no data and act on nothing without a token.

Commands go onto ``dispatch.commands`` like any front end's; the worker decides them. The API waits a
little for the result (``CLAIMS_DESK__WAIT_FOR_RESULT_S``) and otherwise answers 202 with the command id.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from datetime import datetime, timezone
from importlib import resources

import asyncpg
from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from models.contract.desk_commands import DispatchCommand
from streams.topic_names import on_broker
from streams.codec import encode
from streams.desk_openapi import openapi_document
from streams.services.desk import DeskContext, options_for
from streams.settings import DeskToken, Settings
from streams.store import desk_store

_COMMAND = TypeAdapter(DispatchCommand)
_ROLES = {"viewer": 0, "dispatcher": 1, "supervisor": 2}
_PUBLIC = {"/", "/openapi.json"}
POOL, PRODUCER, SETTINGS, DESK, LOCAL_DAY_START = (web.AppKey(n, object) for n in
                                                  ("pool", "producer", "settings", "desk", "local_day_start"))
WHO = "who"


def token_of(tokens: list[DeskToken], header: str | None) -> DeskToken | None:
    """The token entry a ``Bearer`` header names (compared by its SHA-256, in constant time), or None."""
    if not header or not header.startswith("Bearer "):
        return None
    digest = hashlib.sha256(header[len("Bearer "):].strip().encode()).hexdigest()
    found = None
    for t in tokens:
        if hmac.compare_digest(t.sha256, digest):
            found = t
    return found


def _error(status: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="claims-dispatch desk"'} if status == 401 else None
    return web.json_response({"error": message}, status=status, headers=headers)


@web.middleware
async def _auth(request: web.Request, handler):
    if request.path in _PUBLIC:
        return await handler(request)
    who = token_of(request.app[SETTINGS].desk.tokens, request.headers.get("Authorization"))
    if who is None:
        return _error(401, "a valid bearer token is required")
    request[WHO] = who
    return await handler(request)


def _allowed(request: web.Request, role: str) -> bool:
    return _ROLES[request[WHO].role] >= _ROLES[role]


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


async def console(request: web.Request) -> web.Response:
    page = resources.files("streams.data").joinpath("desk.html").read_text(encoding="utf-8")
    return web.Response(text=page, content_type="text/html")


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


async def escalations(request: web.Request) -> web.Response:
    now = datetime.now(timezone.utc)
    rows = await desk_store.unclosed_escalations(request.app[POOL])
    return web.json_response({"escalations": [
        {"escalation_id": str(r["escalation_id"]), "report_id": r["report_id"], "region_id": r["region_id"],
         "zone": r["zone"], "reason": r["reason"], "detail": r["detail"], "state": r["state"],
         "raised_at": r["created_at"].isoformat(), "age_s": round((now - r["created_at"]).total_seconds(), 1),
         "acknowledged_by": r["acknowledged_by"], "acknowledged_at": _iso(r["acknowledged_at"]),
         "deadline_at": r["deadline_at"].isoformat(), "loss_type": r["loss_type"],
         "claim_state": r["dispatch_state"], "address": r["address"] or ""}
        for r in rows]})


async def options(request: web.Request) -> web.Response:
    try:
        escalation_id = uuid.UUID(request.match_info["escalation_id"])
    except ValueError:
        return _error(404, "no such escalation")
    now = datetime.now(timezone.utc)
    found = await options_for(request.app[POOL], escalation_id, now, request.app[LOCAL_DAY_START](now),
                              request.app[DESK])
    if found is None:
        return _error(404, "no such escalation")
    summary, opts = found
    return web.json_response({"escalation": summary, "options": [o.model_dump(mode="json") for o in opts]})


async def send_command(request: web.Request) -> web.Response:
    if not _allowed(request, "dispatcher"):
        return _error(403, "this token may look, not send commands")
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return _error(400, "the body is not JSON")
    if not isinstance(body, dict):
        return _error(400, "the body is not a JSON object")
    who = request[WHO]
    forcing = bool(body.get("force_reason"))
    if forcing and not _allowed(request, "supervisor"):
        return _error(403, "only a supervisor may force a command")
    body = {**body, "dispatcher_id": who.dispatcher_id, "forced_by": who.dispatcher_id if forcing else None,
            "issued_at": datetime.now(timezone.utc).isoformat(), "command_id": body.get("command_id") or str(uuid.uuid4())}
    try:
        command = _COMMAND.validate_python(body)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)[:5]
        return web.json_response({"error": "not a valid command", "problems": [
            {"field": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in errors]}, status=422)
    out = encode("dispatch.commands", command)
    await request.app[PRODUCER].send_and_wait(on_broker(out.topic), out.value, key=out.key)
    row = await _wait_for_result(request.app[POOL], command.command_id, request.app[SETTINGS].desk.wait_for_result_s)
    if row is None:
        return web.json_response({"command_id": str(command.command_id), "status": "pending"}, status=202)
    return web.json_response(_result(row))


async def _wait_for_result(pool: asyncpg.Pool, command_id: uuid.UUID, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while True:
        row = await desk_store.command_row(pool, command_id)
        if row is not None or time.monotonic() >= deadline:
            return row
        await asyncio.sleep(0.1)


def _result(row) -> dict:
    return {"command_id": str(row["command_id"]), "status": "decided", "command": row["type"],
            "outcome": row["outcome"], "refusals": list(row["refusals"]), "detail": row["detail"],
            "dispatcher_id": row["dispatcher_id"], "forced_by": row["forced_by"],
            "report_id": row["report_id"], "surveyor_id": row["surveyor_id"],
            "task_id": str(row["task_id"]) if row["task_id"] else None, "decided_at": row["decided_at"].isoformat(),
            "state_before": json.loads(row["state_before"]), "state_after": json.loads(row["state_after"])}


async def command_result(request: web.Request) -> web.Response:
    try:
        command_id = uuid.UUID(request.match_info["command_id"])
    except ValueError:
        return _error(404, "no such command")
    row = await desk_store.command_row(request.app[POOL], command_id)
    if row is None:
        return _error(404, "no such command (or not decided yet)")
    return web.json_response(_result(row))


async def timeline(request: web.Request) -> web.Response:
    report_id = request.match_info["report_id"]
    rows = await desk_store.timeline(request.app[POOL], report_id)
    if not rows:
        return _error(404, "no such claim")
    return web.json_response({"report_id": report_id, "events": [
        {"at": r["at"].isoformat(), "what": r["what"], "detail": json.loads(r["detail"])} for r in rows]})


def create_desk_app(settings: Settings, pool: asyncpg.Pool, producer, desk: DeskContext, local_day_start) -> web.Application:
    """The desk's aiohttp application over an open pool and a started producer."""
    app = web.Application(middlewares=[_auth])
    app[POOL], app[PRODUCER], app[SETTINGS], app[DESK], app[LOCAL_DAY_START] = (pool, producer, settings, desk,
                                                                               local_day_start)
    app.router.add_get("/", console)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/api/escalations", escalations)
    app.router.add_get("/api/escalations/{escalation_id}/options", options)
    app.router.add_post("/api/commands", send_command)
    app.router.add_get("/api/commands/{command_id}", command_result)
    app.router.add_get("/api/claims/{report_id}/timeline", timeline)
    return app
