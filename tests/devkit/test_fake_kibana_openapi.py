"""Fake Kibana self-check: every answer of a broad session validates against the project's
Kibana spec (devkit/openapi/kibana.yaml, or $KIBANA_OPENAPI_SPEC)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from devkit.contract import load_spec, spec_path
from devkit.fake_kibana import TEMPLATES, Exchange, FakeKibana, seed_demo

APM = {"elastic-api-version": "2023-10-31"}
# Routes the fake serves that the bot never calls, so the project's spec does not describe them.
NOT_IN_THE_SPEC = {
    ("PATCH", "/api/cases"),
    ("DELETE", "/api/apm/settings/agent-configuration"),
    ("DELETE", "/api/maintenance_window/{id}"),
}


def check(
    openapi: OpenAPI, operations: set[tuple[str, str]], exchange: Exchange, skipped: set[tuple[str, str]]
) -> str | None:
    request = exchange.request
    if request.route is None:
        return None  # not a Kibana API route the spec describes
    if (request.method, request.route) not in operations:
        skipped.add((request.method, request.route))
        return None
    host = "http://localhost:5601" + ("" if request.space == "default" else f"/s/{request.space}")
    api_path = request.path.removeprefix(f"/s/{request.space}") if request.space != "default" else request.path
    mock_request = MockRequest(host, request.method.lower(), api_path, headers=dict(request.headers))
    content_type = (exchange.content_type or "application/json").split(";")[0]
    mock_response = MockResponse(exchange.body, exchange.status, dict(exchange.headers), content_type)
    try:
        openapi.validate_response(mock_request, mock_response)
    except Exception as error:  # report every mismatch, not only the first
        return f"{request.method} {request.path} -> {exchange.status}: {error!r} {getattr(error, '__cause__', '')}"
    return None


async def test_every_answer_matches_the_spec() -> None:
    spec = spec_path()
    openapi = OpenAPI.from_file_path(str(spec))
    operations = {(m.upper(), path) for path, item in load_spec(spec)["paths"].items() for m in item}
    problems: list[str] = []
    skipped: set[tuple[str, str]] = set()
    fake = FakeKibana(on_exchange=lambda exchange: problems.append(check(openapi, operations, exchange, skipped) or ""))
    seed_demo(fake)
    headers = {"Authorization": "ApiKey test-api-key", "kbn-xsrf": "true"}
    async with fake, httpx.AsyncClient(base_url=fake.url, headers=headers) as kibana:
        start = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        await kibana.get("/api/alerting/_health")
        await kibana.get("/api/alerting/_health", headers={"Authorization": "ApiKey wrong"})
        await kibana.get("/api/alerting/rule/cpu-high")
        await kibana.get("/api/alerting/rule/nope")
        await kibana.get("/api/alerting/rules/_find", params={"search": "prod"})
        await kibana.get("/s/ops/api/alerting/rules/_find", params={"zzz": "1"})
        await kibana.post("/api/alerting/rule/cpu-high/_disable", json={"untrack": True})
        await kibana.post("/api/alerting/rule/cpu-high/_disable", json={"untrack": "yes"})
        await kibana.post("/api/alerting/rule/cpu-high/_enable", headers={"kbn-xsrf": ""})
        await kibana.post("/api/alerting/rule/cpu-high/_mute_all")
        await kibana.post("/api/alerting/rule/cpu-high/_unmute_all")
        await kibana.post("/api/alerting/rule/disk-full/alert/db-01/_mute")
        await kibana.post("/api/alerting/rule/disk-full/alert/ghost/_mute")
        await kibana.post("/api/alerting/rule/disk-full/alert/db-01/_unmute")
        snoozed = await kibana.post(
            "/api/alerting/rule/cpu-high/snooze_schedule",
            json={"schedule": {"custom": {"start": start, "duration": "1h", "recurring": {"every": "1d"}}}},
        )
        await kibana.get("/api/alerting/rule/cpu-high")
        await kibana.post("/api/alerting/rule/cpu-high/snooze_schedule", json={"schedule": {}})
        await kibana.delete(f"/api/alerting/rule/cpu-high/snooze_schedule/{snoozed.json()['schedule']['id']}")
        await kibana.delete("/api/alerting/rule/cpu-high/snooze_schedule/nope")
        fake.state.security_alerts[("default", "sig-1")] = "open"
        signals = "/api/detection_engine/signals/status"
        await kibana.post(signals, json={"signal_ids": ["sig-1", "unknown"], "status": "acknowledged"})
        await kibana.post(signals, json={"signal_ids": [], "status": "acknowledged"})
        await kibana.post(signals, json={"signal_ids": ["sig-1"], "status": "snoozed"})
        fake.forbid("disable", rule_id="checkout-latency")
        await kibana.post("/api/alerting/rule/checkout-latency/_disable")
        case_body = {
            "title": "t",
            "description": "d",
            "tags": ["x"],
            "owner": "cases",
            "connector": {"id": "none", "name": "none", "type": ".none", "fields": None},
            "settings": {"syncAlerts": True},
        }
        case = (await kibana.post("/api/cases", json=case_body)).json()
        await kibana.post("/api/cases", json={**case_body, "title": ""})
        commented = await kibana.post(
            f"/api/cases/{case['id']}/comments", json={"type": "user", "comment": "c", "owner": "cases"}
        )
        alerts = {
            "type": "alert",
            "alertId": ["a-1", "a-2"],
            "index": [".internal.alerts-stack.alerts-default-000001"] * 2,
            "rule": {"id": "cpu-high", "name": "CPU usage above 90%"},
            "owner": "cases",
        }
        await kibana.post(f"/api/cases/{case['id']}/comments", json=alerts)
        await kibana.post(f"/api/cases/{case['id']}/comments", json={**alerts, "index": ["one-index"]})
        await kibana.get(
            "/api/cases/_find",
            params={"search": "t", "searchFields": ["title", "description"], "status": "open", "owner": "cases",
                    "sortField": "updatedAt", "perPage": "50"},
        )  # fmt: skip
        await kibana.get(f"/api/cases/{case['id']}")
        await kibana.get("/api/cases/nope")
        await kibana.get("/api/cases/_find", params={"tags": "x"})
        activity = {"page": 1, "perPage": 100, "sortOrder": "asc", "types": ["comment", "status"]}
        await kibana.get(f"/api/cases/{case['id']}/user_actions/_find", params=activity)
        await kibana.get(f"/api/cases/{case['id']}/user_actions/_find", params={"perPage": 101})
        await kibana.get("/api/cases/nope/user_actions/_find")
        await kibana.patch("/api/cases", json={"cases": [{"id": case["id"], "version": case["version"], "title": "u"}]})
        await kibana.patch(
            "/api/cases",
            json={"cases": [{"id": case["id"], "version": commented.json()["version"], "status": "closed"}]},
        )
        await kibana.get(f"/api/cases/{case['id']}/user_actions/_find", params={"sortOrder": "asc"})
        config = {"service": {"name": "svc", "environment": "prod"}, "settings": {"capture_body": "off"}}
        await kibana.put("/api/apm/settings/agent-configuration", json=config, headers=APM)
        await kibana.put("/api/apm/settings/agent-configuration", json=config, headers=APM)
        await kibana.get("/api/apm/settings/agent-configuration", headers=APM)
        await kibana.request("DELETE", "/api/apm/settings/agent-configuration", json={"service": {"name": "svc",
                             "environment": "prod"}}, headers=APM)  # fmt: skip
        await kibana.post("/api/apm/agent_keys", json={"name": "k", "privileges": ["event:write"]}, headers=APM)
        basic = {**APM, "Authorization": "Basic " + base64.b64encode(b"elastic:changeme").decode()}
        await kibana.post("/api/apm/agent_keys", json={"name": "k", "privileges": ["event:write"]}, headers=basic)
        await kibana.get("/api/status")
        await kibana.get("/api/cases/configure", params={"owner": "cases"})
        await kibana.get("/api/licensing/info")
        await kibana.post("/api/apm/agent_keys", json={"name": "k", "privileges": ["nope"]}, headers=APM)
        form = {"service_name": "web", "service_version": "1", "bundle_filepath": "/main.js"}
        source_map = json.dumps({"version": 3, "sources": ["a.ts"], "mappings": "AAAA"}).encode()
        uploaded = await kibana.post("/api/apm/sourcemaps", data=form, files={"sourcemap": ("m", source_map)})
        await kibana.post("/api/apm/sourcemaps", data=form, files={"sourcemap": ("m", b"x" * 1_100_000)})
        await kibana.get("/api/apm/sourcemaps", headers=APM)
        await kibana.delete(f"/api/apm/sourcemaps/{uploaded.json()['id']}", headers=APM)
        window = {"title": "Deploy", "schedule": {"custom": {"start": start, "duration": "2h"}}}
        scoped = {**window, "scope": {"alerting": {"query": {"kql": 'kibana.alert.rule.tags: "web"'}}}}
        made = (await kibana.post("/api/maintenance_window", json=scoped)).json()
        await kibana.post("/s/ops/api/maintenance_window", json=window)
        await kibana.post("/api/maintenance_window", json={**window, "colour": "red"})  # 400
        await kibana.get(f"/api/maintenance_window/{made['id']}")
        await kibana.get("/api/maintenance_window/nope")  # 404
        await kibana.get("/api/maintenance_window/_find", params={"status": ["running", "upcoming"], "per_page": 20})
        await kibana.get("/api/maintenance_window/_find", params={"per_page": 500})  # 400
        await kibana.post(f"/api/maintenance_window/{made['id']}/_archive")
        await kibana.post("/api/maintenance_window/nope/_archive")  # 404
        fake.license = "gold"
        await kibana.post("/api/maintenance_window", json=window)  # 403: Platinum needed
        fake.license = "platinum"
        await kibana.delete(f"/api/maintenance_window/{made['id']}")
        fake.version = "9.5.0"  # the alert snooze routes exist from 9.5
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        await kibana.post("/api/alerting/rule/disk-full/alert/db-01/_snooze", json={"expires_at": later})
        await kibana.post("/api/alerting/rule/disk-full/alert/db-01/_snooze", json={})
        await kibana.post(
            "/api/alerting/rule/disk-full/alert/ghost/_snooze", json={"conditions": [{"type": "severity_change"}]}
        )
        await kibana.post("/api/alerting/rule/disk-full/alert/db-01/_unsnooze")
    routes_seen = {exchange.route for exchange in fake.exchanges}
    assert routes_seen == set(TEMPLATES)
    assert skipped <= NOT_IN_THE_SPEC  # every other answer was validated
    assert [p for p in problems if p] == []
