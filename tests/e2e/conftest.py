"""End-to-end fixtures: the real bot over real HTTP (or Socket Mode) against the devkit's
fake Slack and fake Kibana on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings, load_settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver

SIGNING_SECRET = "e2e-signing-secret-0123456789"
KIBANA_KEY = "e2e-kibana-api-key"
WEBHOOK_TOKEN = "e2e-webhook-token-abcdef"


@pytest.fixture
async def kibana() -> AsyncIterator[FakeKibana]:
    async with FakeKibana(api_keys=(KIBANA_KEY,)) as fake:
        yield fake


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_channel("C0ALERTS", "alerts")
        yield fake


# Alice (the driver's default user) is an admin; everyone else has the built-in default, responder.
POLICY = """
default_role = "responder"

[[grants]]
role = "admin"
users = ["U0ALICE"]
"""


def make_settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, **overrides: object) -> Settings:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    values: dict[str, object] = {
        "access_policy": policy,
        "slack_bot_token": slack.bot_token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "kibana_url": kibana.url,
        "kibana_public_url": "https://kibana.example.com",
        "kibana_api_key": KIBANA_KEY,
        "kibana_timeout": 3,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "alert_webhook_token": WEBHOOK_TOKEN,
        "alert_channel": "C0ALERTS",
        "alert_update_interval": 0.5,  # the debounce, short so that tests wait little
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    return make_settings(kibana, slack, tmp_path)


def forget_start_up(kibana: FakeKibana) -> None:
    """The bot reads the Kibana's version and licence as it starts (GET /api/status, /api/licensing/info);
    tests that count what Kibana received count from after that (test_e2e_kibana_versions.py tests it)."""
    assert {r.route for r in kibana.requests} <= {"/api/status", "/api/licensing/info"}
    kibana.requests.clear()
    kibana.exchanges.clear()


@pytest.fixture
async def bot(settings: Settings, kibana: FakeKibana) -> AsyncIterator[RunningBot]:
    async with running_bot(settings, mode="http") as running:
        forget_start_up(kibana)
        yield running


@pytest.fixture
async def socket_bot(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> AsyncIterator[RunningBot]:
    settings = make_settings(kibana, slack, tmp_path, slack_app_token=slack.app_token, slack_signing_secret=None)
    async with running_bot(settings, mode="socket") as running:
        await slack.wait_for(lambda: slack.connected.is_set())
        forget_start_up(kibana)
        yield running


@pytest.fixture
def driver(slack: FakeSlack, bot: RunningBot) -> SlackDriver:
    return SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)


@pytest.fixture
def socket_driver(slack: FakeSlack, socket_bot: RunningBot) -> SlackDriver:
    return SlackDriver(signing_secret=SIGNING_SECRET, fake_slack=slack)
