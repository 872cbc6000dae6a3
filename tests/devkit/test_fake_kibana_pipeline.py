"""Fake Kibana: request pipeline order, auth, kbn-xsrf, Boom bodies, headers (behaviours.md §0–§4)."""

from __future__ import annotations

import base64

import httpx

from devkit.fake_kibana import FakeKibana

DISABLE = "/api/alerting/rule/{id}/_disable"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_no_credentials_and_no_xsrf_is_401(fake_kibana: FakeKibana) -> None:
    fake_kibana.add_rule(id="r1")
    async with httpx.AsyncClient(base_url=fake_kibana.url) as client:
        response = await client.post("/api/alerting/rule/r1/_disable", json={"foo": 1})
    assert response.status_code == 401
    assert response.json() == {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"}
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert fake_kibana.rule("r1")["enabled"] is True


async def test_unknown_api_key_and_wrong_password_are_401_with_www_authenticate(fake_kibana: FakeKibana) -> None:
    async with httpx.AsyncClient(base_url=fake_kibana.url) as client:
        wrong_key = await client.get("/api/alerting/_health", headers={"Authorization": "ApiKey nope"})
        wrong_password = await client.get("/api/alerting/_health", headers={"Authorization": basic("elastic", "wrong")})
        good_basic = await client.get("/api/alerting/_health", headers={"Authorization": basic("elastic", "changeme")})
    for response in (wrong_key, wrong_password):
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
        assert "security_exception" in response.json()["message"]
        assert "ApiKey" in response.headers["www-authenticate"]
    assert "unable to authenticate user [elastic]" in wrong_password.json()["message"]
    assert good_basic.status_code == 200


async def test_missing_xsrf_wins_over_bad_body(fake_kibana: FakeKibana) -> None:
    fake_kibana.add_rule(id="r1")
    async with httpx.AsyncClient(base_url=fake_kibana.url, headers={"Authorization": "ApiKey test-api-key"}) as c:
        response = await c.post("/api/alerting/rule/r1/_disable", json={"untrack": "yes"})
        empty_value = await c.post("/api/alerting/rule/r1/_disable", headers={"kbn-xsrf": ""})
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "Request must contain a kbn-xsrf header.",
    }
    assert empty_value.status_code == 204  # presence is all that counts


async def test_validation_wins_over_unknown_rule(kibana_http: httpx.AsyncClient) -> None:
    response = await kibana_http.post("/api/alerting/rule/missing/_disable", json={"untrack": "yes"})
    assert response.status_code == 400
    assert response.json()["message"] == "[request body.untrack]: expected value of type [boolean] but got [string]"


async def test_unknown_rule_wins_over_forbidden(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.forbid("disable")
    response = await kibana_http.post("/api/alerting/rule/missing/_disable")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "Saved object [alert/missing] not found",
    }


async def test_forbidden_rule_operation_has_kibanas_message(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.add_rule(id="r1")
    fake_kibana.add_rule(id="r2")
    fake_kibana.forbid("disable", rule_id="r1")
    denied = await kibana_http.post("/api/alerting/rule/r1/_disable")
    allowed = await kibana_http.post("/api/alerting/rule/r2/_disable")
    assert denied.status_code == 403
    assert denied.json() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": 'Unauthorized by "alerts" to disable ".index-threshold" rule',
    }
    assert allowed.status_code == 204
    assert fake_kibana.rule("r1")["enabled"] is True


async def test_malformed_json_is_400(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="r1")
    response = await kibana_http.post(
        "/api/alerting/rule/r1/_disable", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request payload JSON format"


async def test_unknown_body_key_and_number_are_rejected(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.add_rule(id="r1")
    unknown = await kibana_http.post("/api/alerting/rule/r1/_disable", json={"foo": 1})
    number = await kibana_http.post("/api/alerting/rule/r1/_disable", json={"untrack": 1})
    assert unknown.json()["message"] == "[request body.foo]: definition for this key is missing"
    assert number.json()["message"] == "[request body.untrack]: expected value of type [boolean] but got [number]"
    assert fake_kibana.rule("r1")["enabled"] is True


async def test_success_has_version_header_and_204_has_no_body(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.add_rule(id="r1")
    response = await kibana_http.post("/api/alerting/rule/r1/_enable")
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["elastic-api-version"] == "2023-10-31"
    shown = await kibana_http.get("/api/alerting/rule/r1")
    assert shown.headers["elastic-api-version"] == "2023-10-31"
    assert shown.headers["content-type"] == "application/json; charset=utf-8"


async def test_unknown_route_is_404(kibana_http: httpx.AsyncClient) -> None:
    response = await kibana_http.get("/api/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "error": "Not Found", "message": "Not Found"}


async def test_requests_are_recorded_with_route_templates(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.add_rule(id="r1", space="ops")
    seen = []
    fake_kibana.on_exchange = seen.append
    await kibana_http.post("/s/ops/api/alerting/rule/r1/_disable?x=1&x=2", json={"untrack": True})
    await kibana_http.post("/api/alerting/rule/r1/_disable")
    first = fake_kibana.requests[0]
    assert (first.method, first.path, first.space, first.route) == (
        "POST",
        "/s/ops/api/alerting/rule/r1/_disable",
        "ops",
        DISABLE,
    )
    assert first.path_params == {"id": "r1"}
    assert first.query == {"x": ["1", "2"]}
    assert first.json == {"untrack": True}
    assert first.headers["kbn-xsrf"] == "true"
    assert fake_kibana.count("POST", DISABLE) == 2
    assert fake_kibana.count("POST", DISABLE, space="ops") == 1
    assert [exchange.status for exchange in seen] == [204, 404]
    assert seen[1].json["message"] == "Saved object [alert/r1] not found"
    assert seen[1].content_type == "application/json; charset=utf-8"
    assert seen[0].route == DISABLE and seen[0].path_params == {"id": "r1"}
