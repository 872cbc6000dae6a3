"""Fake Kibana: `GET /api/alerting/_health` computed across all spaces (behaviours.md §5.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from devkit.fake_kibana import FakeKibana, seed_demo

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def z(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def health(client: httpx.AsyncClient) -> dict:
    response = await client.get("/api/alerting/_health")
    assert response.status_code == 200
    return response.json()


async def test_all_ok_uses_newest_execution_date(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.add_rule(last_execution_date=T0)
    fake_kibana.add_rule(space="ops", last_execution_date=T0 + timedelta(minutes=5))
    body = await health(kibana_http)
    assert body["is_sufficiently_secure"] is True and body["has_permanent_encryption_key"] is True
    for name in ("decryption_health", "execution_health", "read_health"):
        assert body["alerting_framework_health"][name] == {"status": "ok", "timestamp": z(T0 + timedelta(minutes=5))}


async def test_each_error_reason_warns_its_own_sub_state(
    fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient
) -> None:
    fake_kibana.add_rule(last_execution_date=T0)
    fake_kibana.add_rule(space="ops", execution_status="error", error_reason="execute", last_execution_date=T0)
    fake_kibana.add_rule(
        space="ops", execution_status="error", error_reason="execute", last_execution_date=T0 + timedelta(hours=1)
    )
    fake_kibana.add_rule(execution_status="error", error_reason="decrypt", last_execution_date=T0 - timedelta(hours=1))
    framework = (await health(kibana_http))["alerting_framework_health"]
    assert framework["execution_health"] == {"status": "warn", "timestamp": z(T0 + timedelta(hours=1))}
    assert framework["decryption_health"] == {"status": "warn", "timestamp": z(T0 - timedelta(hours=1))}
    assert framework["read_health"] == {"status": "ok", "timestamp": z(T0)}


async def test_no_rules_means_ok_now(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    framework = (await health(kibana_http))["alerting_framework_health"]
    stamp = datetime.fromisoformat(framework["read_health"]["timestamp"].replace("Z", "+00:00"))
    assert framework["read_health"]["status"] == "ok" and stamp >= before


async def test_security_flags_and_forbidden(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    fake_kibana.is_sufficiently_secure = False
    fake_kibana.has_permanent_encryption_key = False
    body = await health(kibana_http)
    assert body["is_sufficiently_secure"] is False and body["has_permanent_encryption_key"] is False
    fake_kibana.forbid("health")
    denied = await kibana_http.get("/api/alerting/_health")
    assert denied.status_code == 403
    assert denied.json() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": "Unauthorized to access alerting framework health",
    }


async def test_demo_seed_shows_execution_warning(fake_kibana: FakeKibana, kibana_http: httpx.AsyncClient) -> None:
    seed_demo(fake_kibana)
    framework = (await health(kibana_http))["alerting_framework_health"]
    assert framework["execution_health"]["status"] == "warn"
    assert framework["decryption_health"]["status"] == "ok"
    ops = (await kibana_http.get("/s/ops/api/alerting/rules/_find")).json()
    default = (await kibana_http.get("/api/alerting/rules/_find")).json()
    assert ops["total"] >= 2 and default["total"] >= 2
    assert any(rule["last_run"]["alerts_count"]["active"] for rule in default["data"])
