"""Adding to a case from Slack links the case to that thread (issue 28 joined up), end to end over real
HTTP against the fake Slack, Kibana and Elasticsearch, on SQLite and PostgreSQL: *Add to case…* on an
alert and *Add to Kibana case* on a message post the case's card in the thread (once per case and
thread), Kibana activity by someone else comes to that thread afterwards while the bot's own alert
attachments and comments do not, and the person's App Home lists the case they linked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.settings import Settings
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .conftest import make_settings
from .databases import database_url  # noqa: F401 - the fixture, over both backends
from .test_e2e_app_home import home_text, open_home, valid_home
from .test_e2e_case_card import CAROL, activity_of, card, in_kibana, read_activity
from .test_e2e_cases_attach import CHANNEL, UUID, alert_message, cards, open_attach, submit, thread_replies

ALICE = "U0ALICE"


@pytest.fixture
async def es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
def settings(
    kibana: FakeKibana,
    slack: FakeSlack,
    es: FakeElasticsearch,
    tmp_path: Path,
    database_url: str,  # noqa: F811
) -> Settings:
    return make_settings(
        kibana, slack, tmp_path, database_url=database_url, elasticsearch_url=es.url, elasticsearch_api_key=es.api_key
    )


async def attach_to(driver: SlackDriver, slack: FakeSlack, message: dict[str, Any], case_id: str) -> None:
    """*Add to case…* on the alert message, the case chosen; once the bot said it attached it."""
    said = len([t for t in thread_replies(slack, message) if "attached alert" in t])
    view = await open_attach(driver, slack, message)
    assert await submit(driver, view, {"case_pick": {"case_pick": case_id}}) is None
    await slack.wait_for(lambda: len([t for t in thread_replies(slack, message) if "attached alert" in t]) > said)


async def add_message_to(driver: SlackDriver, slack: FakeSlack, message: dict[str, Any], case_id: str) -> None:
    """*Add to Kibana case* on the message, the case chosen; once the bot said it added it."""
    said = len([t for t in thread_replies(slack, message) if "added this message" in t])
    updates = len(slack.calls_to("views.update"))
    assert (await driver.post(driver.message_shortcut("add_to_case", message))).status_code == 200
    [call] = (await slack.wait_for("views.update", count=updates + 1))[updates:]
    view = slack.views[call.params["view_id"]]
    assert await submit(driver, view, {"case_pick": {"case_pick": case_id}}) is None
    await slack.wait_for(lambda: len([t for t in thread_replies(slack, message) if "added this message" in t]) > said)


def new_texts(slack: FakeSlack, message: dict[str, Any], before: int) -> list[str]:
    return [str(m.get("text", "")) for m in slack.thread(CHANNEL, message["ts"])[before:]]


async def test_attaching_an_alert_posts_the_cases_card_in_its_thread_once(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    kibana.users[CAROL[0]] = CAROL[1]
    wanted = kibana.add_case(title="Checkout <latency> & errors")
    message = await alert_message(bot, slack, kibana, es)

    await attach_to(driver, slack, message, wanted["id"])
    [shown] = await slack.wait_for(lambda: cards(slack, message))
    for block in Block.parse_all(shown["blocks"]):
        block.validate_json()  # slack_sdk's Block Kit models
    url = f"https://kibana.example.com/app/management/insightsAndAlerting/cases/{wanted['id']}"
    assert f"<{url}|Checkout &lt;latency&gt; &amp; errors>" in str(shown["blocks"])  # Kibana's title, escaped
    assert shown["thread_ts"] == message["ts"]  # the alert's thread
    store = bot.runtime.services.store
    for _ in range(50):  # the card's ts is recorded just after Slack answered the post
        [link] = await store.case_links_of_thread(CHANNEL, message["ts"])
        if link.card_ts is not None:
            break
        await asyncio.sleep(0.05)
    assert (link.case_id, link.linked_by, link.title) == (wanted["id"], ALICE, "Checkout <latency> & errors")
    assert link.card_ts == shown["ts"]

    # the same case again from the same thread (the alert message's *Add to Kibana case*): no second card
    await add_message_to(driver, slack, message, wanted["id"])
    assert len(kibana.case(wanted["id"])["comments"]) == 2  # the alert attachment, the message's comment
    assert len(cards(slack, message)) == 1
    assert [link.id for link in await store.case_links_of_thread(CHANNEL, message["ts"])] == [link.id]

    # what the bot did is not told back; what carol does in Kibana afterwards is
    before = len(slack.thread(CHANNEL, message["ts"]))
    assert await read_activity(bot) == 0
    assert new_texts(slack, message, before) == []
    comment = {"type": "user", "owner": "cases", "comment": "Rolled back the 10:40 deploy"}
    await in_kibana(kibana, "POST", f"/api/cases/{wanted['id']}/comments", comment)
    assert await read_activity(bot) == 1
    [told] = new_texts(slack, message, before)
    assert told == ":speech_balloon: *carol* commented on the case in Kibana:\n>Rolled back the 10:40 deploy"
    assert len(cards(slack, message)) == 1


async def test_the_bots_own_alert_attachment_is_not_told_back_but_carols_is(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, es: FakeElasticsearch, bot: RunningBot
) -> None:
    kibana.users[CAROL[0]] = CAROL[1]
    wanted = kibana.add_case(title="Checkout latency")
    message = await alert_message(bot, slack, kibana, es)
    await add_message_to(driver, slack, message, wanted["id"])  # links the case to the alert's thread first
    await slack.wait_for(lambda: cards(slack, message))
    await attach_to(driver, slack, message, wanted["id"])  # after the link: its user action is read next
    actions = activity_of(kibana, wanted["id"])
    mine = [a for a in actions if a["type"] == "comment" and a["payload"]["comment"]["type"] == "alert"]
    assert [a["payload"]["comment"]["alertId"] for a in mine] == [[UUID]]  # Kibana recorded the bot's attachment

    before = len(slack.thread(CHANNEL, message["ts"]))
    assert await read_activity(bot) == 0
    assert new_texts(slack, message, before) == []
    attachment = {
        "type": "alert",
        "owner": "cases",
        "alertId": ["carols-alert"],
        "index": [".internal.alerts-stack.alerts-default-000001"],
        "rule": {"id": "r1", "name": "CPU high"},
    }
    await in_kibana(kibana, "POST", f"/api/cases/{wanted['id']}/comments", attachment)
    assert await read_activity(bot) == 1
    assert new_texts(slack, message, before) == [":paperclip: *carol* attached 1 alert to the case in Kibana."]
    assert len(cards(slack, message)) == 1


async def test_a_message_added_to_a_case_gets_its_card_and_home_lists_the_linked_case(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    wanted = kibana.add_case(title="Payments <slow>")
    opened_elsewhere = kibana.add_case(title="Someone else's case")
    message = slack.post_as_user(CHANNEL, "p99 is 4s since the deploy", user="U0BOB")
    await add_message_to(driver, slack, message, wanted["id"])
    [shown] = await slack.wait_for(lambda: cards(slack, message))
    assert "Payments &lt;slow&gt;" in str(shown["blocks"])
    # the bot's comment is not told back to the thread
    before = len(slack.thread(CHANNEL, message["ts"]))
    assert await read_activity(bot) == 0
    assert new_texts(slack, message, before) == []

    # a case alice opened from a message is linked too, and listed once, as opened
    other = slack.post_as_user(CHANNEL, "disk is full on db-2", user="U0BOB")
    updates = len(slack.calls_to("views.update"))
    assert (await driver.post(driver.message_shortcut("open_case", other))).status_code == 200
    [call] = (await slack.wait_for("views.update", count=updates + 1))[updates:]
    assert (await driver.post(driver.view_submission(slack.views[call.params["view_id"]], {}))).status_code == 200
    await slack.wait_for(lambda: card(slack, other))
    [opened_link] = await bot.runtime.services.store.case_links_of_thread(CHANNEL, other["ts"])
    assert opened_link.linked_by == ALICE

    await open_home(driver, slack)
    valid_home(slack)
    text = home_text(slack)
    url = f"https://kibana.example.com/app/management/insightsAndAlerting/cases/{wanted['id']}"
    assert "Cases you opened or linked" in text
    assert f"<{url}|Payments &lt;slow&gt;>" in text and text.count("linked to a thread") == 1
    assert text.count(opened_link.case_id) == 1 and text.count(", opened ") == 1
    assert text.index(opened_link.case_id) < text.index("Payments")  # newest first
    assert "Someone else" not in text and opened_elsewhere["id"] not in text
