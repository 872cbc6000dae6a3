"""Fake Kibana: APM version header, agent configuration, agent keys, source maps (behaviours.md §6)."""

from __future__ import annotations

import base64
import json

import httpx

from devkit.fake_kibana import FakeKibana

CONFIG = "/api/apm/settings/agent-configuration"
APM = {"elastic-api-version": "2023-10-31"}
BASIC = "Basic " + base64.b64encode(b"elastic:changeme").decode()
SOURCE_MAP = {"version": 3, "sources": ["src/app.ts"], "mappings": "AAAA;AACA"}


def config_body(**settings: object) -> dict:
    return {"service": {"name": "checkout", "environment": "prod"}, "settings": settings or {"capture_body": "all"}}


async def test_version_header_missing_malformed_unknown(kibana_http: httpx.AsyncClient) -> None:
    assert (await kibana_http.get(CONFIG)).status_code == 200  # missing: default version
    assert (await kibana_http.get(CONFIG, headers=APM)).status_code == 200
    malformed = await kibana_http.put(CONFIG, json=config_body(), headers={"elastic-api-version": "1"})
    assert malformed.status_code == 400
    assert malformed.json()["message"] == (
        'Invalid version. Received "1", expected a valid date string formatted as YYYY-MM-DD.'
    )
    unknown = await kibana_http.put(CONFIG, json=config_body(), headers={"elastic-api-version": "2099-01-01"})
    assert unknown.json()["message"] == (
        'No version "2099-01-01" available for [put] [/api/apm/settings/agent-configuration]. '
        "Available versions are: [2023-10-31]"
    )


async def test_agent_configuration_put_list_overwrite(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    created = await kibana_http.put(CONFIG, json=config_body(transaction_sample_rate="0.4"), headers=APM)
    assert created.status_code == 200 and created.json() == {}
    listed = (await kibana_http.get(CONFIG, headers=APM)).json()
    assert listed["configurations"][0]["settings"] == {"transaction_sample_rate": "0.4"}
    assert listed["configurations"][0]["service"] == {"name": "checkout", "environment": "prod"}
    again = await kibana_http.put(CONFIG, json=config_body(transaction_sample_rate="0.5"), headers=APM)
    assert again.status_code == 400
    assert again.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": 'A configuration already exists for "checkout/prod. '
        "Use ?overwrite=true to overwrite the existing configuration.",
        "attributes": {"data": None, "_inspect": []},
    }
    replaced = await kibana_http.put(
        CONFIG, params={"overwrite": "true"}, json=config_body(transaction_sample_rate="0.5"), headers=APM
    )
    assert replaced.status_code == 200
    assert [c["settings"] for c in fake_kibana.agent_configurations] == [{"transaction_sample_rate": "0.5"}]


async def test_agent_configuration_validation(kibana_http: httpx.AsyncClient) -> None:
    number = await kibana_http.put(CONFIG, json=config_body(transaction_sample_rate=0.4), headers=APM)
    assert number.status_code == 400 and number.json()["attributes"] == {"data": None, "_inspect": []}
    extra = await kibana_http.put(CONFIG, json={**config_body(), "foo": 1}, headers=APM)
    assert extra.status_code == 400
    query = await kibana_http.put(CONFIG, params={"zzz": "1"}, json=config_body(), headers=APM)
    assert query.status_code == 400


async def test_agent_configuration_delete(kibana_http: httpx.AsyncClient) -> None:
    await kibana_http.put(CONFIG, json=config_body(), headers=APM)
    body = {"service": {"name": "checkout", "environment": "prod"}}
    deleted = await kibana_http.request("DELETE", CONFIG, json=body, headers=APM)
    assert deleted.status_code == 200 and deleted.json() == {"result": "deleted"}
    again = await kibana_http.request("DELETE", CONFIG, json=body, headers=APM)
    assert again.status_code == 404


async def test_agent_keys(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    url = "/api/apm/agent_keys"
    derived = await kibana_http.post(url, json={"name": "rum", "privileges": ["event:write"]}, headers=APM)
    assert derived.status_code == 400  # the client authenticates with an API key: Elasticsearch refuses
    assert derived.json()["message"] == (
        "creating derived api keys requires an explicit role descriptor that is empty (has no privileges)"
    )
    assert fake_kibana.agent_keys == []
    basic = {**APM, "Authorization": BASIC}
    created = await kibana_http.post(url, json={"name": "rum", "privileges": ["event:write"]}, headers=basic)
    assert created.status_code == 200
    key = created.json()["agentKey"]
    assert key["name"] == "rum"
    assert base64.b64decode(key["encoded"]).decode() == f"{key['id']}:{key['api_key']}"
    assert fake_kibana.agent_keys[0]["privileges"] == ["event:write"]
    bad = await kibana_http.post(url, json={"name": "x", "privileges": ["sourcemap:write"]}, headers=basic)
    assert bad.status_code == 400
    fake_kibana.forbid("createAgentKey")
    denied = await kibana_http.post(url, json={"name": "x", "privileges": ["config_agent:read"]}, headers=basic)
    assert denied.status_code == 403
    assert denied.json()["message"].startswith(
        "elastic is missing the following requested privilege(s): config_agent:read"
    )
    assert denied.json()["attributes"]["data"]["missingPrivileges"] == ["config_agent:read"]


async def test_sourcemap_upload_list_delete(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    form = {"service_name": "frontend", "service_version": "1.2.3", "bundle_filepath": "/static/main.js"}
    files = {"sourcemap": ("main.js.map", json.dumps(SOURCE_MAP).encode(), "application/json")}
    uploaded = await kibana_http.post("/api/apm/sourcemaps", data=form, files=files, headers=APM)
    assert uploaded.status_code == 200
    artifact = uploaded.json()
    assert artifact["type"] == "sourcemap" and artifact["identifier"] == "frontend-1.2.3"
    assert artifact["id"].startswith("apm:frontend-1.2.3-")
    listed = (await kibana_http.get("/api/apm/sourcemaps", headers=APM)).json()
    assert listed["total"] == 1
    assert listed["artifacts"][0]["body"]["sourceMap"] == SOURCE_MAP
    assert listed["artifacts"][0]["body"]["serviceName"] == "frontend"
    deleted = await kibana_http.delete(f"/api/apm/sourcemaps/{artifact['id']}", headers=APM)
    assert deleted.status_code == 200 and deleted.json() == {}
    assert fake_kibana.sourcemaps == []


async def test_sourcemap_json_is_checked(kibana_http: httpx.AsyncClient) -> None:
    form = {"service_name": "frontend", "service_version": "1", "bundle_filepath": "/main.js"}
    for bad in (b"{not json", json.dumps({"version": 3, "sources": ["a"]}).encode()):
        files = {"sourcemap": ("main.js.map", bad, "application/json")}
        response = await kibana_http.post("/api/apm/sourcemaps", data=form, files=files, headers=APM)
        assert response.status_code == 400
        assert response.json()["attributes"] == {"data": None, "_inspect": []}
    missing = await kibana_http.post("/api/apm/sourcemaps", data=form, files={"x": ("x", b"1")}, headers=APM)
    assert missing.status_code == 400


async def test_sourcemap_over_one_mebibyte_is_413(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    form = {"service_name": "frontend", "service_version": "1", "bundle_filepath": "/main.js"}
    big = {**SOURCE_MAP, "sourcesContent": ["x" * 1_100_000]}
    files = {"sourcemap": ("main.js.map", json.dumps(big).encode(), "application/json")}
    response = await kibana_http.post("/api/apm/sourcemaps", data=form, files=files, headers=APM)
    assert response.status_code == 413
    assert response.json() == {
        "statusCode": 413,
        "error": "Request Entity Too Large",
        "message": "Payload content length greater than maximum allowed: 1048576",
    }
    assert fake_kibana.sourcemaps == []


async def test_route_privilege_403_has_no_apm_attributes(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.forbid("saveAgentConfiguration")
    denied = await kibana_http.put(CONFIG, json=config_body(), headers=APM)
    assert denied.status_code == 403
    assert denied.json() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": "API [PUT /api/apm/settings/agent-configuration] is unauthorized for user, "
        "this action is granted by the Kibana privileges [apm_settings_write]",
    }
