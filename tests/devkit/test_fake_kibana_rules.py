"""Fake Kibana: rule get/find, enable/disable, mute, snooze, idempotency and spaces (§4, §5, §8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devkit.fake_kibana import FakeKibana


async def test_get_rule_has_the_api_shape(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="r1", name="CPU", tags=["prod"], active_alerts=["h1", "h2"])
    body = (await kibana_http.get("/api/alerting/rule/r1")).json()
    assert body["id"] == "r1" and body["name"] == "CPU" and body["tags"] == ["prod"]
    assert body["rule_type_id"] == ".index-threshold" and body["consumer"] == "alerts"
    assert body["mute_all"] is False and body["muted_alert_ids"] == []
    assert body["execution_status"]["status"] == "active"
    assert body["last_run"]["alerts_count"] == {"active": 2, "new": 0, "recovered": 0, "ignored": 0}
    # the public API strips the snooze state; 9.3 keeps snooze_schedule (behaviours.md §5.3, §11)
    assert body["snooze_schedule"] == [] and "is_snoozed_until" not in body and "active_snoozes" not in body
    assert body["schedule"] == {"interval": "1m"}


async def test_rules_are_scoped_to_their_space(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="ops-rule", space="ops")
    assert (await kibana_http.get("/s/ops/api/alerting/rule/ops-rule")).status_code == 200
    other = await kibana_http.get("/api/alerting/rule/ops-rule")
    assert other.status_code == 404
    assert other.json()["message"] == "Saved object [alert/ops-rule] not found"
    assert (await kibana_http.post("/s/nowhere/api/alerting/rule/ops-rule/_enable")).status_code == 404
    empty = await kibana_http.get("/s/nowhere/api/alerting/rules/_find")
    assert empty.json() == {"page": 1, "per_page": 10, "total": 0, "data": []}


async def test_find_searches_name_and_tags_and_pages(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="a", name="High CPU usage", tags=["infra"])
    fake_kibana.add_rule(id="b", name="Disk full", tags=["Infra", "storage"])
    fake_kibana.add_rule(id="c", name="Checkout latency", tags=["apm"])
    found = await kibana_http.get("/api/alerting/rules/_find", params={"search": "cpu", "search_fields": "name"})
    assert [rule["id"] for rule in found.json()["data"]] == ["a"]
    by_tag = await kibana_http.get("/api/alerting/rules/_find", params={"search": "INFRA"})
    assert {rule["id"] for rule in by_tag.json()["data"]} == {"a", "b"}
    page = await kibana_http.get("/api/alerting/rules/_find", params={"per_page": "2", "page": "2"})
    assert page.json()["page"] == 2 and page.json()["per_page"] == 2 and page.json()["total"] == 3
    assert [rule["id"] for rule in page.json()["data"]] == ["c"]
    filtered = await kibana_http.get("/api/alerting/rules/_find", params={"filter": 'alert.attributes.tags: "apm"'})
    assert [rule["id"] for rule in filtered.json()["data"]] == ["c"]


async def test_find_validates_query_keys(kibana_http: httpx.AsyncClient) -> None:
    unknown = await kibana_http.get("/api/alerting/rules/_find", params={"zzz": "1"})
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "[request query.zzz]: definition for this key is missing"
    page = await kibana_http.get("/api/alerting/rules/_find", params={"page": "0"})
    assert page.json()["message"] == "[request query.page]: Value must be equal to or greater than [1]."
    word = await kibana_http.get("/api/alerting/rules/_find", params={"per_page": "ten"})
    assert word.json()["message"] == "[request query.per_page]: expected value of type [number] but got [string]"


async def test_find_hides_rules_the_user_may_not_see(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="a")
    fake_kibana.add_rule(id="b")
    fake_kibana.forbid("find", rule_id="b")
    assert [r["id"] for r in (await kibana_http.get("/api/alerting/rules/_find")).json()["data"]] == ["a"]
    fake_kibana.forbid("find")
    denied = await kibana_http.get("/api/alerting/rules/_find")
    assert denied.status_code == 403
    assert denied.json()["message"] == "Unauthorized to find rules for any rule types"


@pytest.mark.parametrize("untrack", ["true", "TRUE", True])
async def test_disable_with_untrack_clears_active_alerts(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient, untrack: object
) -> None:
    fake_kibana.add_rule(id="r1", active_alerts=["h1", "h2"])
    response = await kibana_http.post("/api/alerting/rule/r1/_disable", json={"untrack": untrack})
    assert response.status_code == 204 and response.content == b""
    rule = fake_kibana.rule("r1")
    assert rule["enabled"] is False
    assert rule["last_run"]["alerts_count"]["active"] == 0
    assert fake_kibana.stored_rule("r1").untracked_alerts == ["h1", "h2"]


async def test_disable_without_untrack_keeps_alerts(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="r1", active_alerts=["h1"])
    for body in (None, {}, {"untrack": "false"}):
        assert (await kibana_http.post("/api/alerting/rule/r1/_disable", json=body)).status_code == 204
    assert fake_kibana.rule("r1")["last_run"]["alerts_count"]["active"] == 1


async def test_disable_and_enable_are_idempotent(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="r1", enabled=False, active_alerts=["h1"])
    rule = fake_kibana.stored_rule("r1")
    assert (await kibana_http.post("/api/alerting/rule/r1/_disable")).status_code == 204
    assert rule.writes == 0  # already disabled: no write
    assert (await kibana_http.post("/api/alerting/rule/r1/_disable", json={"untrack": True})).status_code == 204
    assert rule.writes == 0 and rule.active_alerts == []  # untracked even though already disabled
    assert (await kibana_http.post("/api/alerting/rule/r1/_enable")).status_code == 204
    assert rule.writes == 1 and rule.enabled and rule.execution_status == "pending"
    assert (await kibana_http.post("/api/alerting/rule/r1/_enable")).status_code == 204
    assert rule.writes == 1


async def test_mute_all_clears_per_alert_mutes(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="r1", active_alerts=["h1", "h2"])
    assert (await kibana_http.post("/api/alerting/rule/r1/alert/h1/_mute")).status_code == 204
    assert fake_kibana.rule("r1")["muted_alert_ids"] == ["h1"]
    assert (await kibana_http.post("/api/alerting/rule/r1/_mute_all")).status_code == 204
    rule = fake_kibana.rule("r1")
    assert rule["mute_all"] is True and rule["muted_alert_ids"] == []
    # muting one alert of a mute_all rule is a silent no-op
    writes = fake_kibana.stored_rule("r1").writes
    assert (await kibana_http.post("/api/alerting/rule/r1/alert/h2/_mute")).status_code == 204
    assert fake_kibana.stored_rule("r1").writes == writes and fake_kibana.rule("r1")["muted_alert_ids"] == []
    assert (await kibana_http.post("/api/alerting/rule/r1/_unmute_all")).status_code == 204
    assert fake_kibana.rule("r1")["mute_all"] is False


async def test_mute_and_unmute_alert_are_idempotent(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="r1", active_alerts=["h1"])
    rule = fake_kibana.stored_rule("r1")
    for _ in range(2):
        assert (await kibana_http.post("/api/alerting/rule/r1/alert/h1/_mute")).status_code == 204
    assert rule.muted_alert_ids == ["h1"] and rule.writes == 1
    for _ in range(2):
        response = await kibana_http.post("/api/alerting/rule/r1/alert/h1/_unmute")
        assert response.status_code == 204 and response.content == b""
    assert rule.muted_alert_ids == [] and rule.writes == 2


async def test_mute_unknown_alert_is_404_unless_not_validated(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.add_rule(id="r1", active_alerts=["h1"])
    missing = await kibana_http.post("/api/alerting/rule/r1/alert/ghost/_mute")
    assert missing.status_code == 404
    assert missing.json()["message"] == 'Alert instance with id "ghost" does not exist for rule with id "r1"'
    skipped = await kibana_http.post("/api/alerting/rule/r1/alert/ghost/_mute?validate_alerts_existence=false")
    assert skipped.status_code == 204
    assert fake_kibana.rule("r1")["muted_alert_ids"] == ["ghost"]
    bad = await kibana_http.post("/api/alerting/rule/r1/alert/h1/_mute?validate_alerts_existence=maybe")
    assert bad.status_code == 400


async def test_snooze_and_unsnooze(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="r1")
    start = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    response = await kibana_http.post(
        "/api/alerting/rule/r1/snooze_schedule", json={"schedule": {"custom": {"start": start, "duration": "2h"}}}
    )
    assert response.status_code == 200
    schedule = response.json()["schedule"]
    assert schedule["custom"] == {"start": start, "duration": "2h", "timezone": "UTC"}
    rule = fake_kibana.rule("r1")
    assert rule["snooze_schedule"][0]["id"] == schedule["id"]
    assert rule["snooze_schedule"][0]["duration"] == 7_200_000
    assert rule["snooze_schedule"][0]["rRule"]["dtstart"] == start
    assert rule["active_snoozes"] == [schedule["id"]]
    assert rule["is_snoozed_until"] is not None
    gone = await kibana_http.delete(f"/api/alerting/rule/r1/snooze_schedule/{schedule['id']}")
    assert gone.status_code == 204 and gone.content == b""
    assert fake_kibana.rule("r1")["is_snoozed_until"] is None
    none_left = await kibana_http.delete("/api/alerting/rule/r1/snooze_schedule/abc")
    assert none_left.json()["message"] == "Rule has no snooze schedules."


async def test_snooze_validation_messages(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(id="r1")
    url = "/api/alerting/rule/r1/snooze_schedule"
    start = "2030-01-01T00:00:00.000Z"
    cases = {
        "A schedule is required": {"schedule": {}},
        "[request body.schedule.custom.duration]: Invalid schedule duration format: 5x": {
            "schedule": {"custom": {"start": start, "duration": "5x"}}
        },
        "[request body.schedule.custom.start]: Invalid schedule start date: invalid": {
            "schedule": {"custom": {"start": "invalid", "duration": "1h"}}
        },
    }
    for message, body in cases.items():
        response = await kibana_http.post(url, json=body)
        assert (response.status_code, response.json()["message"]) == (400, message)
    assert (await kibana_http.post("/api/alerting/rule/nope/snooze_schedule", json={"schedule": {}})).status_code == 400
    ok = await kibana_http.post(url, json={"schedule": {"custom": {"start": start, "duration": "30m"}}})
    assert ok.status_code == 200
    other = await kibana_http.delete("/api/alerting/rule/r1/snooze_schedule/abc")
    assert other.json()["message"] == "Rule has no snooze schedule with id abc."
    missing_rule = await kibana_http.post(
        "/api/alerting/rule/nope/snooze_schedule", json={"schedule": {"custom": {"start": start, "duration": "1h"}}}
    )
    assert missing_rule.status_code == 404
