"""The desk's API and console, served by `claims-dispatch desk serve` against the real stack: no token, no access;
roles; every answer as the OpenAPI document says; the console in headless Chromium sends an option the
planner named and the worker stores and publishes the assignment."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path

import aiohttp
import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

from tests.conftest import CLI, broker_env, valid_report

pytestmark = pytest.mark.integration

TOKENS = {"viewer": "viewer-token-1", "dispatcher": "dispatcher-token-1", "supervisor": "supervisor-token-1"}


@pytest.fixture(scope="module")
def desk(stack, database_url, worker, tmp_path_factory):
    from streams.embedded_stack import free_port
    from streams.processes import stop_process

    port = free_port()
    entries = [{"sha256": hashlib.sha256(t.encode()).hexdigest(), "dispatcher_id": f"{role}-1", "role": role}
               for role, t in TOKENS.items()]
    env = dict(os.environ, **broker_env(stack), CLAIMS_DATABASE_URL=database_url,
               CLAIMS_DESK__PORT=str(port), CLAIMS_DESK__TOKENS=json.dumps(entries), CLAIMS_LOG_LEVEL="WARNING",
               # The test regions lie 333 km apart: a neighbour within reach of the options.
               CLAIMS_DESK_RULES__NEIGHBOUR_MAX_KM="400",
               CLAIMS_STATE_DIR=str(tmp_path_factory.mktemp("desk")))
    proc = subprocess.Popen([*CLI, "desk", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []
    while not any(line.startswith("desk ") for line in lines):
        line = proc.stdout.readline().decode()
        assert line, "desk exited early:\n" + "".join(lines)
        lines.append(line)
    yield f"http://127.0.0.1:{port}"
    stop_process(proc)


def _auth(role: str | None) -> dict:
    return {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}


class Checked:
    """Calls the API and checks each answer against the OpenAPI document the server itself serves."""

    def __init__(self, base: str, document: dict) -> None:
        self.base, self.doc = base, document

    def _schema(self, template: str, method: str, status: int) -> dict:
        response = self.doc["paths"][template][method]["responses"][str(status)]
        if "$ref" in response:
            response = self.doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return {**response["content"]["application/json"]["schema"], "components": self.doc["components"]}

    async def call(self, method: str, template: str, role: str | None = None, body=None, **path) -> tuple[int, dict]:
        url = self.base + template.format(**path)
        async with aiohttp.ClientSession() as s:
            async with s.request(method.upper(), url, headers=_auth(role), json=body) as r:
                status, payload = r.status, await r.json()
        assert str(status) in self.doc["paths"][template][method]["responses"], (template, status, payload)
        jsonschema.validate(payload, self._schema(template, method, status))
        return status, payload


async def test_every_route_needs_a_token_roles_are_enforced_and_answers_match_the_openapi_document(desk, bus, db):
    async with aiohttp.ClientSession() as s:
        async with s.get(desk + "/openapi.json") as r:
            doc = await r.json()
    validate_openapi(doc)
    api = Checked(desk, doc)
    r = valid_report("deskapi") | {"loss_type": "cargo"}  # escalated: nobody handles cargo
    await bus.send("hotline.reports", r, key=r["report_id"])
    [escalated] = await bus.wait_for(lambda: bus.about("dispatch.assignments", r["report_id"]), what="an escalation")
    eid, some = escalated["event_id"], str(uuid.uuid4())

    routes = [("get", "/api/escalations", {}), ("get", "/api/escalations/{escalation_id}/options", {"escalation_id": eid}),
              ("post", "/api/commands", {}), ("get", "/api/commands/{command_id}", {"command_id": some}),
              ("get", "/api/claims/{report_id}/timeline", {"report_id": r["report_id"]})]
    for method, template, path in routes:
        assert (await api.call(method, template, None, {}, **path))[0] == 401
    async with aiohttp.ClientSession() as s:
        async with s.get(desk + "/api/escalations", headers={"Authorization": "Bearer not-a-token"}) as resp:
            assert resp.status == 401 and "Bearer" in resp.headers["WWW-Authenticate"]

    status, listed = await api.call("get", "/api/escalations", "viewer")
    assert status == 200 and eid in [e["escalation_id"] for e in listed["escalations"]]
    assert r["reporter"]["phone"] not in json.dumps(listed)
    status, opts = await api.call("get", "/api/escalations/{escalation_id}/options", "viewer", escalation_id=eid)
    assert status == 200 and opts["escalation"]["report_id"] == r["report_id"]
    assert (await api.call("get", "/api/escalations/{escalation_id}/options", "viewer",
                           escalation_id=some))[0] == 404

    ack = {"type": "acknowledge_escalation", "escalation_id": eid, "reason": "mine"}
    assert (await api.call("post", "/api/commands", "viewer", ack))[0] == 403
    forcing = {"type": "assign_surveyor", "report_id": r["report_id"], "surveyor_id": "deskapi-s0",
               "reason": "expert", "force_reason": "knows cargo"}
    assert (await api.call("post", "/api/commands", "dispatcher", forcing))[0] == 403
    status, invalid = await api.call("post", "/api/commands", "dispatcher", {"type": "assign_surveyor", "reason": "x"})
    assert status == 422 and {p["field"] for p in invalid["problems"]} >= {"assign_surveyor.report_id"}
    status, decided = await api.call("post", "/api/commands", "dispatcher", ack | {"dispatcher_id": "someone-else"})
    assert status == 200 and decided["outcome"] == "applied"
    assert decided["dispatcher_id"] == "dispatcher-1"  # the token's, not the body's
    status, again = await api.call("get", "/api/commands/{command_id}", "viewer", command_id=decided["command_id"])
    assert status == 200 and again["outcome"] == "applied"

    status, forced = await api.call("post", "/api/commands", "supervisor", forcing)
    assert status == 200 and forced["outcome"] == "forced" and forced["forced_by"] == "supervisor-1"
    status, line = await api.call("get", "/api/claims/{report_id}/timeline", "viewer", report_id=r["report_id"])
    assert status == 200
    whats = [e["what"] for e in line["events"]]
    assert whats[0] == "reported" and "escalated" in whats and "command_forced" in whats and "assigned" in whats
    assert (await api.call("get", "/api/claims/{report_id}/timeline", "viewer", report_id="no-such"))[0] == 404


async def test_the_console_in_chromium_logs_in_shows_an_escalation_and_an_option_becomes_an_assignment(
        desk, bus, db, tmp_path):
    import asyncio

    # The region's three surveyors all out on tasks: a fourth claim has nobody in time at home.
    first = [valid_report("deskui") for _ in range(3)]
    for r in first:
        await bus.send("hotline.reports", r, key=r["report_id"])
    for r in first:
        await bus.wait_for(lambda: bus.about("dispatch.assignments", r["report_id"]), what="assigned")
    fourth = valid_report("deskui")
    await bus.send("hotline.reports", fourth, key=fourth["report_id"])
    [escalated] = await bus.wait_for(lambda: bus.about("dispatch.assignments", fourth["report_id"]),
                                     what="the fourth escalated")
    assert escalated["type"] == "dispatch_escalated"

    shot = tmp_path / "desk-console.png"
    chosen = await asyncio.to_thread(_click_neighbour_option, desk, fourth["report_id"], shot)
    assigned = await bus.wait_for(lambda: [d for d in bus.about("dispatch.assignments", fourth["report_id"])
                                           if d["type"] == "surveyor_assigned"], what="the assignment published")
    home = chosen.rsplit("-s", 1)[0]  # (test surveyors are <region>-s<n>)
    assert assigned[0]["surveyor_id"] == chosen and home != "deskui"
    task = await db.fetchrow("SELECT surveyor_id, region_id, home_region_id FROM survey_tasks"
                             " WHERE report_id = $1 AND live", fourth["report_id"])
    assert dict(task) == {"surveyor_id": chosen, "region_id": "deskui", "home_region_id": home}
    row = await db.fetchrow("SELECT dispatcher_id, outcome FROM desk_commands WHERE report_id = $1",
                            fourth["report_id"])
    assert dict(row) == {"dispatcher_id": "dispatcher-1", "outcome": "applied"}
    print(f"console screenshot: {shot}")


def _click_neighbour_option(base: str, report_id: str, shot: Path) -> str:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        wait = WebDriverWait(driver, 20)
        driver.get(base + "/")
        driver.find_element(By.ID, "token").send_keys("wrong")
        driver.find_element(By.ID, "login-button").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "login-error"), "not accepted"))
        assert "hidden" in driver.find_element(By.ID, "desk").get_attribute("class")
        token = driver.find_element(By.ID, "token")
        token.clear()
        token.send_keys(TOKENS["dispatcher"])
        driver.find_element(By.ID, "login-button").click()
        row = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f"tr[data-report-id='{report_id}']")))
        row.click()
        button = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[data-kind='neighbour_surveyor']")))
        summary = button.find_element(By.XPATH, "..").text
        chosen = summary.split("send ", 1)[1].split(" ", 1)[0]
        driver.save_screenshot(str(shot))  # the escalation chosen and its options (docs/desk-console.png)
        button.click()
        wait.until(lambda d: d.find_element(By.ID, "result").get_attribute("data-outcome") in ("applied", "pending"))
        assert driver.find_element(By.ID, "result").get_attribute("data-outcome") == "applied", \
            driver.find_element(By.ID, "result").text
        return chosen
    finally:
        driver.quit()
