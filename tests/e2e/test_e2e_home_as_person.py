"""App Home and unfurls with KIBANA_IDENTITY=person: the Home tab says whether the person is connected
to Kibana (with a *Connect Kibana* button that opens the connect form from the Home tab), and reads
alerting health with their own key, never the bot's; a link is unfurled with the key of whoever shared
it, and not at all for someone not connected."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from handlers.access.connect import KEY_BLOCK
from handlers.shared.catalog import CONNECT_BUTTON
from handlers.shared.identity import ConnectButton

from .conftest import KIBANA_KEY, forget_start_up, make_settings

ALICE_KEY = base64.b64encode(b"ab12cd34ef:alice-secret-value").decode()
CHANNEL = "C0ALERTS"
HEALTH = "/api/alerting/_health"


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    key = Fernet.generate_key().decode()
    return make_settings(kibana, slack, tmp_path, kibana_identity="person", credentials_key=key)


@pytest.fixture
async def bot(settings: Settings, kibana: FakeKibana) -> AsyncIterator[RunningBot]:
    async with running_bot(settings, mode="http") as running:
        forget_start_up(kibana)
        yield running


async def open_home(driver: SlackDriver, slack: FakeSlack) -> str:
    published = len(slack.calls_to("views.publish"))
    assert (await driver.post(driver.app_home_opened())).status_code == 200
    await slack.wait_for("views.publish", count=published + 1)
    return json.dumps(slack.home_views["U0ALICE"]["blocks"], ensure_ascii=False)


def keys_sent(kibana: FakeKibana, route: str) -> set[str]:
    return {r.headers.get("authorization", "") for r in kibana.requests if r.route == route}


async def test_home_and_unfurls_act_as_the_person(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high")
    kibana.add_person(ALICE_KEY, "alice", {"default": {"rules": "all", "cases": "all"}})
    text = await open_home(driver, slack)
    assert "You are not connected to Kibana" in text and "Connect Kibana to see alerting health" in text
    assert keys_sent(kibana, HEALTH) == set()  # nothing read without her key, never with the bot's

    # The Home tab's Connect Kibana button opens the connect form.
    opened = len(slack.calls_to("views.open"))
    click = driver.block_action(CONNECT_BUTTON, ConnectButton().pack(), view=slack.home_views["U0ALICE"])
    assert (await driver.post(click)).status_code == 200
    [call] = (await slack.wait_for("views.open", count=opened + 1))[opened:]
    form = slack.views[call.response["view"]["id"]]
    response = await driver.post(driver.view_submission(form, {KEY_BLOCK: {"value": ALICE_KEY}}))
    assert response.status_code == 200 and not response.content  # the form closes; the key is linked after
    people = bot.runtime.services.people
    assert people is not None
    for _ in range(200):
        if await people.link_of("T0001", "U0ALICE") is not None:
            break
        await asyncio.sleep(0.02)

    text = await open_home(driver, slack)
    assert "You are connected to Kibana" in text
    assert "Space `default`: *ok*" in text
    assert keys_sent(kibana, HEALTH) == {f"ApiKey {ALICE_KEY}"}

    # A link Bob shares (not connected) stays a link; Alice's is read with her key.
    slack.add_user("U0BOB0001", "bob")
    slack.set_members(CHANNEL, ["U0ALICE", "U0BOB0001"])
    link = "https://kibana.example.com/app/management/insightsAndAlerting/triggersActions/rule/r1"
    assert (await driver.post(driver.link_shared(link, user_id="U0BOB0001"))).status_code == 200
    shared = driver.link_shared(f"again {link}")
    assert (await driver.post(shared)).status_code == 200
    [call] = await slack.wait_for("chat.unfurl")
    assert call.params["unfurl_id"] == shared["event"]["unfurl_id"]  # Bob's link was not unfurled
    assert keys_sent(kibana, "/api/alerting/rule/{id}") == {f"ApiKey {ALICE_KEY}"}
    assert all(KIBANA_KEY not in h for r in kibana.requests for h in r.headers.values() if r.route != "/api/status")
