"""What the client puts on the wire, checked on a scripted transport (no server)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from bot.kibana import CaseCreate, KibanaClient, KibanaInvalidInput
from bot.settings import Settings


def _json(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


async def test_get_has_auth_and_no_xsrf_and_no_apm_version(kit: Any) -> None:
    script = kit.Script(httpx.Response(200, json=kit.health_body))
    client = kit.client(script)

    health = await client.health()

    request = script.last
    assert (request.method, request.url.path) == ("GET", "/api/alerting/_health")
    assert request.headers["authorization"] == f"ApiKey {kit.api_key}"
    assert "kbn-xsrf" not in request.headers
    assert "elastic-api-version" not in request.headers
    assert health.status == "warn"
    assert health.alerting_framework_health.read_health.status == "ok"


async def test_basic_auth_when_no_api_key(kit: Any) -> None:
    script = kit.Script(httpx.Response(204))
    client = kit.client(script, api_key=None, username="elastic", password=kit.password)

    await client.enable_rule("r1")

    expected = base64.b64encode(f"elastic:{kit.password}".encode()).decode()
    assert script.last.headers["authorization"] == f"Basic {expected}"


@pytest.mark.parametrize(
    ("space", "default_space", "prefix"),
    [(None, "default", ""), ("default", "ops", ""), ("ops", "default", "/s/ops"), (None, "team-a_1", "/s/team-a_1")],
)
async def test_space_prefix(kit: Any, space: str | None, default_space: str, prefix: str) -> None:
    script = kit.Script(httpx.Response(204))
    client = kit.client(script, default_space=default_space)

    await client.mute_all("r1", space=space)

    assert script.last.url.path == f"{prefix}/api/alerting/rule/r1/_mute_all"


async def test_ids_are_one_encoded_path_segment(kit: Any) -> None:
    script = kit.Script(httpx.Response(204))
    client = kit.client(script)

    await client.mute_alert("rule/../x", "host a?b", space="ops")

    assert script.last.url.raw_path == b"/s/ops/api/alerting/rule/rule%2F..%2Fx/alert/host%20a%3Fb/_mute"


@pytest.mark.parametrize(
    ("call", "method", "path", "body"),
    [
        (lambda c: c.mute_alert("r1", "a1"), "POST", "/api/alerting/rule/r1/alert/a1/_mute", None),
        (lambda c: c.unmute_alert("r1", "a1"), "POST", "/api/alerting/rule/r1/alert/a1/_unmute", None),
        (lambda c: c.mute_all("r1"), "POST", "/api/alerting/rule/r1/_mute_all", None),
        (lambda c: c.unmute_all("r1"), "POST", "/api/alerting/rule/r1/_unmute_all", None),
        (lambda c: c.enable_rule("r1"), "POST", "/api/alerting/rule/r1/_enable", None),
        (lambda c: c.disable_rule("r1"), "POST", "/api/alerting/rule/r1/_disable", {"untrack": False}),
        (lambda c: c.disable_rule("r1", untrack=True), "POST", "/api/alerting/rule/r1/_disable", {"untrack": True}),
        (lambda c: c.unsnooze_rule("r1", "s1"), "DELETE", "/api/alerting/rule/r1/snooze_schedule/s1", None),
    ],
)
async def test_rule_writes(kit: Any, call: Any, method: str, path: str, body: Any) -> None:
    script = kit.Script(httpx.Response(204))
    client = kit.client(script)

    assert await call(client) is None

    request = script.last
    assert (request.method, request.url.path, request.url.query) == (method, path, b"")
    assert request.headers["kbn-xsrf"] == "kibana-chatops"
    assert _json(request) == body


async def test_mute_alert_sends_validate_alerts_existence_only_when_asked(kit: Any) -> None:
    script = kit.Script(httpx.Response(204))
    client = kit.client(script)

    await client.mute_alert("r1", "a1", validate_alerts_existence=False)

    assert script.last.url.params["validate_alerts_existence"] == "false"


async def test_find_rules_searches_name_and_tags(kit: Any) -> None:
    page = {"page": 2, "per_page": 5, "total": 6, "data": [kit.rule_body]}
    script = kit.Script(httpx.Response(200, json=page))
    client = kit.client(script)

    found = await client.find_rules("cpu prod", page=2, per_page=5)

    params = script.last.url.params
    assert params["search"] == "cpu prod"
    assert params.get_list("search_fields") == ["name", "tags"]
    assert (params["page"], params["per_page"]) == ("2", "5")
    assert (found.total, found.data[0].id, found.data[0].active_alerts) == (6, "rule-1", 3)


async def test_find_rules_without_search_lists_all(kit: Any) -> None:
    script = kit.Script(httpx.Response(200, json={"page": 1, "per_page": 20, "total": 0, "data": []}))
    client = kit.client(script)

    await client.find_rules()

    assert "search" not in script.last.url.params
    assert "search_fields" not in script.last.url.params


async def test_snooze_body_and_answer(kit: Any) -> None:
    answer = {"schedule": {"id": "s-9", "custom": {"start": "2025-03-12T12:00:00.000Z", "duration": "4h"}}}
    script = kit.Script(httpx.Response(200, json=answer))
    client = kit.client(script)
    start = datetime(2025, 3, 12, 13, 0, tzinfo=timezone(timedelta(hours=1)))

    schedule = await client.snooze_rule("r1", "4h", start=start, timezone="Europe/Paris")

    assert script.last.url.path == "/api/alerting/rule/r1/snooze_schedule"
    assert _json(script.last) == {
        "schedule": {"custom": {"start": "2025-03-12T12:00:00.000Z", "duration": "4h", "timezone": "Europe/Paris"}}
    }
    assert schedule.id == "s-9"
    assert schedule.custom is not None and schedule.custom.start == datetime(2025, 3, 12, 12, tzinfo=UTC)


async def test_snooze_starts_now_by_default(kit: Any) -> None:
    script = kit.Script(httpx.Response(200, json={"schedule": {"id": "s"}}))
    client = kit.client(script)
    before = datetime.now(UTC).replace(microsecond=0)

    await client.snooze_rule("r1", "30m")

    custom = _json(script.last)["schedule"]["custom"]
    assert set(custom) == {"start", "duration"}
    assert custom["start"].endswith("Z")
    assert datetime.fromisoformat(custom["start"]) >= before


@pytest.mark.parametrize("duration", ["", "4", "h", "0h", "4 h", "1w", "-1d", "4h30m"])
async def test_snooze_refuses_bad_durations_without_sending(kit: Any, duration: str) -> None:
    script = kit.Script()
    client = kit.client(script)

    with pytest.raises(KibanaInvalidInput, match="snooze duration"):
        await client.snooze_rule("r1", duration)
    assert script.requests == []


@pytest.mark.parametrize("space", ["Ops", "../x", "a/b", ""])
async def test_bad_space_ids_are_refused_without_sending(kit: Any, space: str) -> None:
    script = kit.Script()
    client = kit.client(script)

    with pytest.raises(KibanaInvalidInput) as caught:
        await client.get_rule("r1", space=space)
    assert isinstance(caught.value, ValueError)
    assert script.requests == []


@pytest.mark.parametrize("rule_id", ["", " ", ".", ".."])
async def test_empty_ids_are_refused(kit: Any, rule_id: str) -> None:
    script = kit.Script()
    client = kit.client(script)

    with pytest.raises(KibanaInvalidInput, match="rule id"):
        await client.get_rule(rule_id)
    assert script.requests == []


async def test_create_case_body(kit: Any) -> None:
    script = kit.Script(httpx.Response(200, json=kit.case_body))
    client = kit.client(script)

    case = await client.create_case(
        CaseCreate(title="Disk full", description="db-1", tags=["slack"], severity="high"), space="ops"
    )

    assert script.last.url.path == "/s/ops/api/cases"
    assert _json(script.last) == {
        "title": "Disk full",
        "description": "db-1",
        "tags": ["slack"],
        "severity": "high",
        "owner": "cases",
        "connector": {"id": "none", "name": "none", "type": ".none", "fields": None},
        "settings": {"syncAlerts": True},
    }
    assert (case.id, case.version, case.total_comment, case.comments[0].comment) == (
        "case-1",
        "WzUzMiwxXQ==",
        1,
        "looking",
    )


async def test_find_cases_query(kit: Any) -> None:
    page = {"cases": [kit.case_body], "page": 1, "per_page": 5, "total": 1, "count_open_cases": 1}
    script = kit.Script(httpx.Response(200, json=page))
    client = kit.client(script)

    found = await client.find_cases(tags=["slack", "dedup:x"], search="disk", owner="cases", per_page=5)

    params = script.last.url.params
    assert params.get_list("tags") == ["slack", "dedup:x"]
    assert (params["search"], params["owner"], params["perPage"]) == ("disk", "cases", "5")
    assert (found.total, found.cases[0].id, found.count_open_cases) == (1, "case-1", 1)


async def test_add_case_comment_and_get_case(kit: Any) -> None:
    script = kit.Script(httpx.Response(200, json=kit.case_body))
    client = kit.client(script)

    await client.add_case_comment("case-1", "hello", owner="observability")
    assert script.last.url.path == "/api/cases/case-1/comments"
    assert _json(script.last) == {"type": "user", "comment": "hello", "owner": "observability"}

    case = await client.get_case("case-1")
    assert (script.last.method, script.last.url.path, case.title) == ("GET", "/api/cases/case-1", "Disk full on db-1")


async def test_apm_calls_send_the_version_header(kit: Any) -> None:
    configuration = {
        "service": {"name": "frontend", "environment": "production"},
        "settings": {"transaction_sample_rate": "0.4"},
        "@timestamp": 1730194190636,
        "etag": "0bc3",
    }
    script = kit.Script(httpx.Response(200, json={"configurations": [configuration]}))
    client = kit.client(script)

    configurations = await client.list_agent_configurations()

    assert script.last.headers["elastic-api-version"] == "2023-10-31"
    assert "kbn-xsrf" not in script.last.headers
    assert configurations[0].service.name == "frontend"
    assert configurations[0].settings == {"transaction_sample_rate": "0.4"}
    assert configurations[0].timestamp == 1730194190636


@pytest.mark.parametrize(
    ("environment", "overwrite", "service", "query"),
    [(None, False, {"name": "api"}, b""), ("prod", True, {"name": "api", "environment": "prod"}, b"overwrite=true")],
)
async def test_put_agent_configuration(
    kit: Any, environment: str | None, overwrite: bool, service: dict[str, str], query: bytes
) -> None:
    script = kit.Script(httpx.Response(200, json={}))
    client = kit.client(script)

    await client.put_agent_configuration("api", environment, {"capture_body": "all"}, overwrite=overwrite)

    request = script.last
    assert (request.method, request.url.path, request.url.query) == (
        "PUT",
        "/api/apm/settings/agent-configuration",
        query,
    )
    assert request.headers["kbn-xsrf"] and request.headers["elastic-api-version"] == "2023-10-31"
    assert _json(request) == {"service": service, "settings": {"capture_body": "all"}}


async def test_create_agent_key_keeps_the_key_secret(kit: Any) -> None:
    key = {"id": "3DCL", "name": "apm-key", "api_key": "PjGloCGOT", "encoded": "M0RDTG1uMEI="}
    script = kit.Script(httpx.Response(200, json={"agentKey": key}))
    client = kit.client(script)

    agent_key = await client.create_agent_key("apm-key", ["event:write", "config_agent:read"])

    assert _json(script.last) == {"name": "apm-key", "privileges": ["event:write", "config_agent:read"]}
    assert agent_key.encoded.get_secret_value() == "M0RDTG1uMEI="
    assert "M0RDTG1uMEI=" not in repr(agent_key) and "PjGloCGOT" not in str(agent_key)


async def test_sourcemaps(kit: Any) -> None:
    artifact = {
        "id": "apm:web-1.0-abc",
        "identifier": "web-1.0",
        "type": "sourcemap",
        "created": "2025-01-01T00:00:00.000Z",
        "body": {"serviceName": "web", "serviceVersion": "1.0", "bundleFilepath": "/static/app.js"},
    }
    script = kit.Script(
        httpx.Response(200, json={"artifacts": [artifact], "total": 1}),
        httpx.Response(200, json={**artifact, "body": "eJzT0yMAAGTvBe8="}),
        httpx.Response(200, json={}),
    )
    client = kit.client(script)

    page = await client.list_sourcemaps(page=2, per_page=10)
    assert (script.last.url.params["page"], script.last.url.params["perPage"]) == ("2", "10")
    assert (page.total, page.artifacts[0].service_name, page.artifacts[0].bundle_filepath) == (
        1,
        "web",
        "/static/app.js",
    )

    sourcemap = b'{"version":3,"sources":["a.ts"],"mappings":"AAAA"}'
    uploaded = await client.upload_sourcemap(
        service_name="web", service_version="1.0", bundle_filepath="/static/app.js", sourcemap=sourcemap
    )
    upload = script.last
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert upload.headers["kbn-xsrf"] and upload.headers["elastic-api-version"] == "2023-10-31"
    for part in (b'name="service_name"\r\n\r\nweb', b'name="bundle_filepath"\r\n\r\n/static/app.js', sourcemap):
        assert part in upload.content
    assert uploaded.id == "apm:web-1.0-abc"

    await client.delete_sourcemap("apm:web-1.0-abc")
    assert (script.last.method, script.last.url.raw_path) == ("DELETE", b"/api/apm/sourcemaps/apm%3Aweb-1.0-abc")


def test_rule_and_case_links(kit: Any) -> None:
    client = KibanaClient(base_url="http://kibana:5601", default_space="ops")
    base = "https://kibana.example.com/"

    assert client.rule_url("r 1", public_base=base) == (
        "https://kibana.example.com/s/ops/app/management/insightsAndAlerting/triggersActions/rule/r%201"
    )
    assert client.rule_url("r1", space="default", public_base=base) == (
        "https://kibana.example.com/app/management/insightsAndAlerting/triggersActions/rule/r1"
    )
    assert client.case_url("c1", owner="cases", space="default", public_base=base).endswith(
        ".com/app/management/insightsAndAlerting/cases/c1"
    )
    assert client.case_url("c1", owner="observability", public_base=base).endswith("/s/ops/app/observability/cases/c1")
    assert client.case_url("c1", owner="securitySolution", public_base=base).endswith("/s/ops/app/security/cases/c1")


async def test_from_settings(kit: Any) -> None:
    settings = Settings(
        slack_bot_token="xoxb-1",
        kibana_url="https://kibana.example.com:5601/base",
        kibana_api_key=kit.api_key,
        kibana_space="ops",
        kibana_timeout=3,
    )
    script = kit.Script(httpx.Response(204))
    client = KibanaClient.from_settings(settings, transport=script.transport)
    try:
        await client.enable_rule("r1")
    finally:
        await client.aclose()

    assert str(script.last.url) == "https://kibana.example.com:5601/base/s/ops/api/alerting/rule/r1/_enable"
    assert script.last.headers["authorization"] == f"ApiKey {kit.api_key}"
    assert client.default_space == "ops"


def test_repr_hides_credentials(kit: Any) -> None:
    with_key = KibanaClient(base_url="http://kibana:5601", api_key=kit.api_key)
    with_password = KibanaClient(base_url="http://kibana:5601", username="elastic", password=kit.password)

    assert "ApiKey" in repr(with_key) and kit.api_key not in repr(with_key)
    assert "Basic" in repr(with_password) and kit.password not in repr(with_password)
    assert kit.password not in str(vars(with_password))


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(ValueError, match="credentials") as caught:
        KibanaClient(base_url="http://elastic:changeme@kibana:5601")
    assert "changeme" not in str(caught.value)
