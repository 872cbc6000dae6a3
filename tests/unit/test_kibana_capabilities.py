"""What a Kibana supports, from its version, licence and the bot's credentials (behaviours.md §11)."""

from __future__ import annotations

import pytest

from bot.kibana.capabilities import KibanaInfo, derive, has_snooze_api, parse_version


@pytest.mark.parametrize(
    ("version", "snooze"),
    [("8.15.0", False), ("8.18.3", False), ("8.19.0", True), ("8.19.5", True), ("9.0.0", False), ("9.0.4", False),
     ("9.1.0", True), ("9.3.0", True), ("10.0.0", True)],
)  # fmt: skip
def test_the_snooze_api_exists_from_8_19_and_9_1(version: str, snooze: bool) -> None:
    parsed = parse_version(version)
    assert parsed is not None and has_snooze_api(parsed) is snooze
    assert derive(KibanaInfo(version=version, license_type="platinum", license_status="active")).snooze is snooze


def test_versions_are_read_leniently() -> None:
    assert parse_version("9.1.0-SNAPSHOT") == (9, 1, 0)
    assert parse_version("8.19") == (8, 19, 0)
    assert parse_version("") is None and parse_version(None) is None and parse_version("main") is None


@pytest.mark.parametrize(
    ("licence", "status", "webhook"),
    [("basic", "active", False), ("standard", "active", False), ("gold", "active", True),
     ("platinum", "active", True), ("enterprise", "active", True), ("trial", "active", True),
     ("platinum", "expired", False)],
)  # fmt: skip
def test_the_webhook_connector_needs_an_active_gold_licence(licence: str, status: str, webhook: bool) -> None:
    info = KibanaInfo(version="9.3.0", license_type=licence, license_status=status, auth_scheme="Basic")
    capabilities = derive(info)
    assert capabilities.webhook_connector is webhook
    lines = [m.line() for m in capabilities.missing]
    assert bool(lines) is not webhook
    if licence == "basic":
        assert "Gold" in lines[0] and "alerts subscribe" in lines[0] and "polling alerts-as-data" in lines[0]


def test_agent_keys_need_basic_credentials_beside_an_api_key() -> None:
    api_key = derive(KibanaInfo(version="9.3.0", license_type="gold", license_status="active", auth_scheme="ApiKey"))
    assert not api_key.agent_keys
    assert "KIBANA_AGENT_KEY_USERNAME" in api_key.missing[0].why
    with_user = KibanaInfo(version="9.3.0", license_type="gold", auth_scheme="ApiKey", agent_key_credentials=True)
    assert derive(with_user).agent_keys and derive(with_user).missing == ()
    assert derive(KibanaInfo(version="9.3.0", license_type="gold", auth_scheme="Basic")).agent_keys


def test_an_unknown_kibana_is_assumed_to_have_everything() -> None:
    capabilities = derive(KibanaInfo(auth_scheme="Basic"))
    assert capabilities.snooze and capabilities.webhook_connector and capabilities.mute_validates_alerts
    assert capabilities.missing == ()


def test_mute_checks_the_alert_from_9_3() -> None:
    assert not derive(KibanaInfo(version="9.2.1")).mute_validates_alerts
    assert derive(KibanaInfo(version="9.3.0")).mute_validates_alerts


def test_the_rule_card_shows_snoozed_until_from_the_bot_and_from_kibana() -> None:
    from datetime import UTC, datetime, timedelta

    from bot.kibana.models import Rule
    from bot.store import KnownSnooze
    from handlers.alerting.rule_card import rule_card_blocks

    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    rule = Rule.model_validate({"id": "r1", "name": "CPU", "enabled": True})
    mine = KnownSnooze("default", "r1", "s1", now + timedelta(hours=4), "U0ALICE")
    card = str(rule_card_blocks(rule, space="default", rule_url="u", known_snoozes=[mine], now=now))
    assert "snoozed until 2026-12-01 14:00 UTC" in card and "`s1`" in card
    over = KnownSnooze("default", "r1", "s0", now - timedelta(minutes=1), "U0ALICE")
    assert "snoozed until" not in str(
        rule_card_blocks(rule, space="default", rule_url="u", known_snoozes=[over], now=now)
    )
    reported = Rule.model_validate(
        {
            "id": "r1",
            "name": "CPU",
            "enabled": True,
            "snooze_schedule": [
                {
                    "id": "k1",
                    "duration": 86_400_000,
                    "rRule": {"dtstart": "2026-12-01T09:00:00.000Z", "tzid": "UTC", "count": 1},
                }
            ],
        }
    )
    card = str(rule_card_blocks(reported, space="default", rule_url="u", known_snoozes=[mine], now=now))
    assert "snoozed until 2026-12-02 09:00 UTC" in card and "`k1`" in card and "`s1`" in card
    assert "rule_snooze" not in str(rule_card_blocks(rule, space="default", rule_url="u", snooze_api=False, now=now))
