"""Every request the client sends and every answer the fake gives match Kibana's OpenAPI spec."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.kibana import (
    CaseCreate,
    KibanaBadRequest,
    KibanaClient,
    KibanaConflict,
    KibanaForbidden,
    KibanaNotFound,
    KibanaPayloadTooLarge,
    KibanaUnauthorized,
)

SOURCE_MAP = json.dumps({"version": 3, "sources": ["src/app.ts"], "mappings": "AAAA"}).encode()
SPACES = ["default", "ops"]


def _client(run: Any) -> KibanaClient:
    assert run.client is not None
    return run.client


@pytest.mark.parametrize("space", SPACES)
async def test_every_alerting_call(run: Any, space: str) -> None:
    kibana = _client(run)
    run.fake.add_rule(id="r1", name="CPU usage", tags=["infra"], active_alerts=["host-1"], space=space)
    run.fake.add_rule(id="r2", execution_status="error", error_reason="read", space=space)

    await kibana.health(space=space)
    await kibana.get_rule("r1", space=space)
    await kibana.find_rules("cpu", space=space, page=1, per_page=5)
    await kibana.find_rules(space=space)
    await kibana.mute_alert("r1", "host-1", space=space)
    await kibana.mute_alert("r1", "host-1", space=space, validate_alerts_existence=True)
    await kibana.unmute_alert("r1", "host-1", space=space)
    await kibana.mute_all("r1", space=space)
    await kibana.unmute_all("r1", space=space)
    await kibana.disable_rule("r1", untrack=True, space=space)
    await kibana.disable_rule("r1", space=space)
    await kibana.enable_rule("r1", space=space)
    schedule = await kibana.snooze_rule("r1", "4h", timezone="Europe/Paris", space=space)
    rule = await kibana.get_rule("r1", space=space)  # now with a snooze_schedule entry
    assert rule.snooze_schedule
    await kibana.unsnooze_rule("r1", schedule.id, space=space)

    assert run.transport.checked == run.responses_checked == 15
    run.assert_clean()


@pytest.mark.parametrize("space", SPACES)
async def test_every_maintenance_window_call(run: Any, space: str) -> None:
    kibana = _client(run)

    scoped = await kibana.create_maintenance_window("Deploy", "2h", kql='kibana.alert.rule.tags: "web"', space=space)
    everything = await kibana.create_maintenance_window("Freeze", "30m", space=space)
    assert scoped.status == everything.status == "running" and scoped.kql == 'kibana.alert.rule.tags: "web"'
    await kibana.get_maintenance_window(scoped.id, space=space)
    page = await kibana.find_maintenance_windows(status=["running", "upcoming"], space=space, per_page=20)
    assert {w.id for w in page.data} == {scoped.id, everything.id}
    ended = await kibana.archive_maintenance_window(scoped.id, space=space)
    assert ended.status == "archived"
    assert (await kibana.find_maintenance_windows(status=["running"], space=space)).total == 1

    assert run.transport.checked == run.responses_checked == 6
    run.assert_clean()


async def test_the_version_licence_and_case_settings_calls(run: Any) -> None:
    kibana = _client(run)

    status = await kibana.status()
    licence = await kibana.licensing_info()

    configurations = await kibana.get_case_configuration("cases")

    assert status.version.number == "9.3.0" and licence.license is not None and licence.license.type == "platinum"
    assert configurations == []
    assert run.transport.checked == run.responses_checked == 3
    run.assert_clean()


@pytest.mark.parametrize("space", SPACES)
async def test_every_cases_call(run: Any, space: str) -> None:
    kibana = _client(run)

    case = await kibana.create_case(
        CaseCreate(title="Disk full", description="from Slack", tags=["slack", "dedup:1"], severity="critical"),
        space=space,
    )
    await kibana.add_case_comment(case.id, "looking into it", owner="cases", space=space)
    await kibana.get_case(case.id, space=space)
    await kibana.find_cases(tags=["dedup:1"], space=space)
    await kibana.find_cases(tags=["a", "b"], search="disk", owner="cases", space=space, per_page=5)

    assert run.transport.checked == run.responses_checked == 5
    run.assert_clean()


@pytest.mark.parametrize("space", SPACES)
async def test_the_case_card_and_activity_calls(run: Any, space: str) -> None:
    """Issue 28: PATCH /api/cases at the case's version (and 409 at a stale one), and its activity."""
    kibana = _client(run)
    case = await kibana.create_case(CaseCreate(title="Disk full", description="from Slack"), space=space)
    commented = await kibana.add_case_comment(case.id, "looking into it", owner="cases", space=space)
    closed = await kibana.update_case(case.id, commented.version, {"status": "closed"}, space=space)
    assert closed.status == "closed" and closed.version != commented.version
    with pytest.raises(KibanaConflict):
        await kibana.update_case(case.id, case.version, {"severity": "high"}, space=space)  # stale: the first version
    page = await kibana.find_case_activity(case.id, space=space)
    assert [(a.type, a.action) for a in page.user_actions] == [("comment", "create"), ("status", "update")]
    assert page.user_actions[0].comment_id == commented.comments[-1].id
    assert page.user_actions[1].payload == {"status": "closed"} and page.user_actions[1].created_by.username
    assert (await kibana.find_case_activity(case.id, page=1, per_page=1, space=space)).total == 2
    with pytest.raises(KibanaNotFound):
        await kibana.find_case_activity("missing", space=space)

    assert run.transport.checked == run.responses_checked == 7
    run.assert_clean()


async def test_every_apm_call(run: Any) -> None:
    kibana = _client(run)
    run.fake.add_agent_configuration(service_name="checkout", environment="prod", agent_name="java")

    await kibana.put_agent_configuration("web", "prod", {"transaction_sample_rate": "0.4"})
    await kibana.put_agent_configuration("web", None, {"capture_body": "all"}, overwrite=True)
    await kibana.list_agent_configurations()
    await kibana.create_agent_key("rum", ["event:write", "config_agent:read"], basic_auth=("elastic", "changeme"))

    artifact = await kibana.upload_sourcemap(
        service_name="web", service_version="1.2.3", bundle_filepath="/static/main.js", sourcemap=SOURCE_MAP
    )
    await kibana.list_sourcemaps()
    await kibana.list_sourcemaps(page=1, per_page=10)
    await kibana.delete_sourcemap(artifact.id)

    assert run.transport.checked == run.responses_checked == 8
    run.assert_clean()


async def test_error_answers_match_the_contract(run: Any) -> None:
    kibana = _client(run)
    run.fake.add_rule(id="r1", active_alerts=["host-1"])
    run.fake.forbid("enable", rule_id="r1")
    run.fake.forbid("createAgentKey")

    with pytest.raises(KibanaNotFound):
        await kibana.get_rule("missing")
    with pytest.raises(KibanaNotFound):
        await kibana.mute_alert("r1", "no-such-alert")
    with pytest.raises(KibanaNotFound):
        await kibana.get_case("missing")
    with pytest.raises(KibanaBadRequest):
        await kibana.unsnooze_rule("r1", "no-schedule")
    with pytest.raises(KibanaForbidden):
        await kibana.enable_rule("r1")
    with pytest.raises(KibanaForbidden):
        await kibana.create_agent_key("k", ["event:write"], basic_auth=("elastic", "changeme"))
    with pytest.raises(KibanaBadRequest):
        await kibana.upload_sourcemap(service_name="w", service_version="1", bundle_filepath="/a.js", sourcemap=b"{}")
    with pytest.raises(KibanaPayloadTooLarge):
        huge = b'{"version":3,"sources":[],"mappings":"' + b"A" * 1_100_000 + b'"}'
        await kibana.upload_sourcemap(service_name="w", service_version="1", bundle_filepath="/a.js", sourcemap=huge)

    assert run.responses_checked == 8
    run.assert_clean()


async def test_unauthorized_answer_matches_the_contract(run: Any) -> None:
    stranger = KibanaClient(base_url=run.fake.url, api_key="wrong", transport=run.transport)
    try:
        with pytest.raises(KibanaUnauthorized):
            await stranger.health()
        with pytest.raises(KibanaUnauthorized):
            await stranger.disable_rule("r1")
    finally:
        await stranger.aclose()

    assert run.responses_checked == 2
    run.assert_clean()


@pytest.mark.parametrize("space", SPACES)
async def test_the_alert_snooze_calls_of_kibana_9_5(run: Any, space: str) -> None:
    """9.5's per-alert snooze: until a time, until it gets worse, both; unsnooze. Each request and each
    answer matches the project's spec, and the fake keeps what Kibana keeps (`snoozedAlerts`)."""
    from datetime import UTC, datetime, timedelta

    kibana = _client(run)
    run.fake.version = "9.5.0"
    run.fake.add_rule(id="r1", name="CPU usage", active_alerts=["host-1", "host-2"], space=space)
    end = datetime.now(UTC) + timedelta(hours=1)

    await kibana.snooze_alert("r1", "host-1", expires_at=end, space=space)
    await kibana.snooze_alert("r1", "host-2", until_worse=True, space=space)
    await kibana.snooze_alert("r1", "host-1", expires_at=end, until_worse=True, space=space)  # replaces the first
    rule = run.fake.state.rule(space, "r1")
    assert [s["alertInstanceId"] for s in rule.snoozed_alerts] == ["host-2", "host-1"]
    assert rule.snoozed_alerts[1]["conditions"] == [{"type": "severity_change"}]
    assert rule.snoozed_alerts[1]["expiresAt"].startswith(end.strftime("%Y-%m-%dT%H:%M"))
    await kibana.unsnooze_alert("r1", "host-1", space=space)
    assert [s["alertInstanceId"] for s in rule.snoozed_alerts] == ["host-2"]
    with pytest.raises(KibanaNotFound):  # 9.5 checks the alert exists, as _mute does from 9.3
        await kibana.snooze_alert("r1", "no-such-alert", expires_at=end, space=space)

    assert run.transport.checked == run.responses_checked == 5
    run.assert_clean()


@pytest.mark.parametrize("version", ["8.19.0", "9.1.0", "9.4.0"])
async def test_kibanas_before_9_5_have_no_alert_snooze(run: Any, version: str) -> None:
    from datetime import UTC, datetime, timedelta

    kibana = _client(run)
    run.fake.version = version
    run.fake.add_rule(id="r1", active_alerts=["host-1"])
    with pytest.raises(KibanaNotFound) as raised:
        await kibana.snooze_alert("r1", "host-1", expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert raised.value.message == "Not Found"  # the router's bare 404, not a rule's
    run.assert_clean()


async def test_the_fake_validates_the_alert_snooze_body_as_kibana_does(run: Any) -> None:
    from datetime import UTC, datetime, timedelta

    run.fake.version = "9.5.0"
    run.fake.add_rule(id="r1", active_alerts=["host-1"])
    path = f"{run.fake.url}/api/alerting/rule/r1/alert/host-1/_snooze"
    headers = {"authorization": "ApiKey test-api-key", "kbn-xsrf": "true"}
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    async with httpx.AsyncClient() as http:
        empty = await http.post(path, headers=headers, json={})
        passed = await http.post(path, headers=headers, json={"expires_at": past})
        nothing = await http.post(path, headers=headers, json={"conditions": []})
        unknown = await http.post(path, headers=headers, json={"conditions": [{"type": "worse"}]})
    assert (empty.status_code, empty.json()["message"]) == (
        400,
        "[request body]: either [expires_at] or [conditions] must be provided",
    )
    assert (passed.status_code, passed.json()["message"]) == (400, "[request body]: [expires_at] must be in the future")
    assert nothing.json()["message"] == "[request body]: [conditions] must contain at least one condition"
    assert unknown.status_code == 400
