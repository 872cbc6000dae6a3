"""Fixtures for the devkit tests: the fake Kibana block, then the fake Slack block."""

from __future__ import annotations

# ======================================================================================
# Fake Kibana fixtures (owned by the fake-Kibana devkit; edit only this block)
# ======================================================================================
from collections.abc import AsyncIterator as _KibanaAsyncIterator

import httpx as _httpx
import pytest as _pytest

from devkit.fake_kibana import FakeKibana

KIBANA_API_KEY = "test-api-key"


@_pytest.fixture
async def fake_kibana() -> _KibanaAsyncIterator[FakeKibana]:
    """A started FakeKibana on 127.0.0.1 (ephemeral port), stopped after the test.
    Credentials: `Authorization: ApiKey test-api-key`, or Basic elastic:changeme."""
    async with FakeKibana(api_keys=(KIBANA_API_KEY,)) as kibana:
        yield kibana


@_pytest.fixture
async def kibana_http(fake_kibana: FakeKibana) -> _KibanaAsyncIterator[_httpx.AsyncClient]:
    """An httpx client on the fake Kibana, sending the API key and kbn-xsrf."""
    headers = {"Authorization": f"ApiKey {KIBANA_API_KEY}", "kbn-xsrf": "true"}
    async with _httpx.AsyncClient(base_url=fake_kibana.url, headers=headers, timeout=10) as client:
        yield client


# ==================================== end of Kibana block =============================


# ======================================================================================
# Fake Slack + Slack driver fixtures (owned by the Slack devkit; edit only this block)
# ======================================================================================
from collections.abc import AsyncIterator  # noqa: E402

import pytest  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402

from devkit.fake_slack import FakeSlack  # noqa: E402
from devkit.slack_driver import SlackDriver  # noqa: E402

SLACK_SIGNING_SECRET = "devkit-signing-secret"


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started FakeSlack on 127.0.0.1 (ephemeral port), stopped after the test."""
    async with FakeSlack() as slack:
        yield slack


@pytest.fixture
def slack_driver(fake_slack: FakeSlack) -> SlackDriver:
    """A driver whose response_urls and trigger_ids live on `fake_slack`; set
    `slack_driver.events_url` to the bot's /slack/events before calling `post`."""
    return SlackDriver(signing_secret=SLACK_SIGNING_SECRET, fake_slack=fake_slack)


@pytest.fixture
def slack_client(fake_slack: FakeSlack) -> AsyncWebClient:
    """slack_sdk's real AsyncWebClient with the bot token, pointed at `fake_slack`."""
    return AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url)


# ==================================== end of Slack block ==============================
