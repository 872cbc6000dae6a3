"""The contract validator itself: it must catch what breaks the contract, and say where."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devkit.contract import (
    DEFAULT_SPEC,
    SPEC_ENV,
    ContractValidator,
    ContractViolation,
    load_spec,
    spec_path,
    strip_space,
)

AUTH = {"authorization": "ApiKey test-api-key"}
WRITE = {**AUTH, "kbn-xsrf": "kibana-chatops", "content-type": "application/json"}
APM = {"elastic-api-version": "2023-10-31"}
JSON_HEADERS = {"content-type": "application/json; charset=utf-8"}


def test_strip_space() -> None:
    assert strip_space("/s/ops/api/cases") == ("ops", "/api/cases")
    assert strip_space("/api/cases") == ("default", "/api/cases")
    assert strip_space("/s/ops") == ("default", "/s/ops")


def test_good_requests_pass(contract: ContractValidator) -> None:
    contract.validate_request("POST", "http://k/s/ops/api/alerting/rule/r1/_disable", headers=WRITE, body=b"{}")
    contract.validate_request(
        "GET", "/api/alerting/rules/_find?search=cpu&search_fields=name&search_fields=tags", headers=AUTH
    )
    contract.validate_request("GET", "/api/cases/_find", query={"tags": ["a", "b"], "perPage": "5"}, headers=AUTH)
    contract.validate_request("GET", "/api/apm/sourcemaps", query=[("page", "1")], headers={**AUTH, **APM})


@pytest.mark.parametrize(
    ("method", "url", "headers", "body", "expected"),
    [
        ("POST", "/api/alerting/rule/r1/_enable", AUTH, None, "kbn-xsrf"),
        ("POST", "/api/alerting/rule/r1/_disable", WRITE, b'{"untrack": "yes"}', "untrack: 'yes' is not of type"),
        ("POST", "/api/alerting/rule/r1/_disable", WRITE, b'{"foo": 1}', "Additional properties"),
        ("GET", "/api/alerting/rule/r1", {}, None, "Security"),
        ("GET", "/api/alerting/rules/_find?per_page=-1", AUTH, None, "per_page"),
        ("GET", "/api/alerting/rules", AUTH, None, "Path not found"),
        ("DELETE", "/api/alerting/rule/r1", WRITE, None, "OperationNotFound"),
        ("PUT", "/api/apm/settings/agent-configuration", {**WRITE, **APM}, b'{"settings": {}}', "'service'"),
        (
            "PUT",
            "/api/apm/settings/agent-configuration",
            {**WRITE, "elastic-api-version": "2099-01-01"},
            b'{"service": {}, "settings": {}}',
            "elastic-api-version",
        ),
        ("POST", "/api/cases", WRITE, json.dumps({"title": "x" * 161}).encode(), "too long"),
    ],
)
def test_bad_requests_are_caught(
    contract: ContractValidator, method: str, url: str, headers: dict, body: bytes | None, expected: str
) -> None:
    with pytest.raises(ContractViolation) as caught:
        contract.validate_request(method, url, headers=headers, body=body, content_type=headers.get("content-type"))

    message = str(caught.value)
    assert message.startswith(f"request {method} ")
    assert expected in message


def test_multipart_upload_is_checked(contract: ContractValidator) -> None:
    def upload(fields: dict[str, str]) -> httpx.Request:
        request = httpx.Request(
            "POST",
            "http://k/api/apm/sourcemaps",
            data=fields,
            files={"sourcemap": ("sourcemap.json", b'{"version":3,"sources":[],"mappings":""}', "application/json")},
            headers={**AUTH, **APM, "kbn-xsrf": "x"},
        )
        request.read()
        return request

    good = upload({"service_name": "web", "service_version": "1", "bundle_filepath": "/a.js"})
    contract.validate_request("POST", str(good.url), headers=dict(good.headers), body=good.content)

    bad = upload({"service_version": "1", "bundle_filepath": "/a.js"})
    with pytest.raises(ContractViolation, match="'service_name' is a required property"):
        contract.validate_request("POST", str(bad.url), headers=dict(bad.headers), body=bad.content)


def test_good_responses_pass(contract: ContractValidator) -> None:
    contract.validate_response("POST", "/s/ops/api/alerting/rule/r1/_mute_all", 204, {}, b"")
    body = json.dumps({"statusCode": 404, "error": "Not Found", "message": "Saved object [alert/x] not found"})
    contract.validate_response("GET", "/api/alerting/rule/x", 404, JSON_HEADERS, body.encode())


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "expected"),
    [
        ("GET", "/api/alerting/rule/x", 200, {"id": "x"}, "'enabled' is a required property"),
        ("GET", "/api/alerting/rules/_find", 200, {"id": "x"}, "'data' is a required property"),
        ("GET", "/api/alerting/rule/x", 503, {}, "Unknown response http status: 503"),
        (
            "GET",
            "/api/alerting/_health",
            200,
            {"alerting_framework_health": {"read_health": {"status": "bad"}}},
            "'bad' is not one of",
        ),
        ("POST", "/api/apm/agent_keys", 200, {"agentKey": {"id": "x"}}, "'encoded' is a required property"),
        ("GET", "/api/cases/c1", 404, {"statusCode": "404"}, "is not of type 'integer'"),
    ],
)
def test_bad_responses_are_caught(
    contract: ContractValidator, method: str, path: str, status: int, body: Any, expected: str
) -> None:
    with pytest.raises(ContractViolation) as caught:
        contract.validate_response(method, path, status, JSON_HEADERS, json.dumps(body).encode())

    assert str(caught.value).startswith(f"{status} response to {method} ")
    assert expected in str(caught.value)


def test_media_type_parameters_are_stripped(tmp_path: Path) -> None:
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/api/x": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json; Elastic-Api-Version=2023-10-31": {
                                    "schema": {"type": "object", "required": ["a"]}
                                }
                            },
                        }
                    }
                }
            }
        },
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))

    loaded = load_spec(path)
    assert list(loaded["paths"]["/api/x"]["get"]["responses"]["200"]["content"]) == ["application/json"]

    validator = ContractValidator(path)
    validator.validate_response("GET", "/api/x", 200, JSON_HEADERS, b'{"a": 1}')
    with pytest.raises(ContractViolation, match="'a' is a required property"):
        validator.validate_response("GET", "/api/x", 200, JSON_HEADERS, b"{}")


def test_spec_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SPEC_ENV, raising=False)
    assert spec_path(tmp_path / "repo") == spec_path() == DEFAULT_SPEC  # the project's own, wherever the repo is
    assert DEFAULT_SPEC.is_file() and "tests" not in DEFAULT_SPEC.parts

    monkeypatch.setenv(SPEC_ENV, "../elsewhere/spec.yaml")
    assert spec_path(tmp_path / "repo") == tmp_path / "elsewhere" / "spec.yaml"
    with pytest.raises(FileNotFoundError):
        ContractValidator(tmp_path / "elsewhere" / "spec.yaml")


async def test_a_client_breaking_the_contract_is_reported(run: Any) -> None:
    """The checking transport and the fake's answer hook really look at the traffic."""
    async with httpx.AsyncClient(base_url=run.fake.url, transport=run.transport) as raw:
        await raw.post("/api/alerting/rule/r1/_enable", headers=AUTH)  # no kbn-xsrf
    run.fake.fault("GET", r"/api/alerting/_health", status=200, body={"is_sufficiently_secure": "yes"})
    async with httpx.AsyncClient(base_url=run.fake.url, transport=run.transport) as raw:
        await raw.get("/api/alerting/_health", headers=AUTH)

    assert len(run.request_violations) == 1 and "kbn-xsrf" in run.request_violations[0]
    assert len(run.response_violations) == 1 and "is_sufficiently_secure" in run.response_violations[0]
    with pytest.raises(AssertionError):
        run.assert_clean()
