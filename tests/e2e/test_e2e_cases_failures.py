"""Cases when things go wrong: Kibana times out or drops the create (still one case after the
user retries), and people without the `responder` role are refused before Kibana is called."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver

from .conftest import SIGNING_SECRET, forget_start_up, make_settings

CHANNEL = "C0ALERTS"


def announced(slack: FakeSlack, message: dict[str, Any]) -> list[dict[str, Any]]:
    """The thread's announcement of the case (its card, issue 28, may come before or after it)."""
    return [m for m in slack.thread(CHANNEL, message["ts"])[1:] if "opened Kibana case" in str(m.get("text"))]


TEXT = "Payments API returns 502 for EU customers"
CREATE = "/api/cases"
FIND = "/api/cases/_find"


@pytest.fixture
async def impatient_bot(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The bot with a 1 s Kibana timeout, so a 1.5 s create times out."""
    async with running_bot(make_settings(kibana, slack, tmp_path, kibana_timeout=1), mode="http") as running:
        forget_start_up(kibana)
        yield running


@pytest.fixture
def impatient(slack: FakeSlack, impatient_bot: RunningBot) -> SlackDriver:
    return SlackDriver(signing_secret=SIGNING_SECRET, events_url=impatient_bot.events_url, fake_slack=slack)


def posted_cases(kibana: FakeKibana) -> int:
    return kibana.count("POST", CREATE)


async def open_form(driver: SlackDriver, slack: FakeSlack, message: dict[str, Any], **kw: Any) -> dict[str, Any]:
    updates = len(slack.calls_to("views.update"))
    response = await driver.post(driver.message_shortcut("open_case", message, **kw))
    assert response.status_code == 200
    [call] = (await slack.wait_for("views.update", count=updates + 1))[updates:]
    return slack.views[call.params["view_id"]]


async def submit(driver: SlackDriver, view: dict[str, Any], **kw: Any) -> Any:
    response = await driver.post(driver.view_submission(view, {}, **kw))
    assert response.status_code == 200
    return response.json() if response.content else None


def told(slack: FakeSlack, words: str) -> list[str]:
    """Private answers containing `words` (a response_url answer is also an ephemeral: counted once)."""
    texts = [r.body.get("text", "") for r in slack.responses] + [e["text"] for e in slack.ephemerals]
    return [t for t in dict.fromkeys(texts) if words in t]


async def test_timeout_then_retry_leaves_one_case_when_kibana_created_it_late(
    impatient: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    # answers after the bot gave up and after its look-ups (LOOKUP_WINDOW), but creates it
    kibana.fault("POST", CREATE, latency=4.0, times=1)
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(impatient, slack, message)
    assert await submit(impatient, view) is None
    [sentence] = await slack.wait_for(lambda: told(slack, "did not answer in time"), timeout=8)
    assert "retry" in sentence and "Traceback" not in sentence
    assert len(slack.thread(CHANNEL, message["ts"])) <= 1  # no link: nothing was recorded
    await slack.wait_for(lambda: len(kibana.state.cases) == 1, timeout=8)  # Kibana finished it after all

    retry = await open_form(impatient, slack, message)
    assert retry["callback_id"] == "case_create_modal"  # no case was recorded: a fresh form
    assert await submit(impatient, retry) is None
    [reply] = await slack.wait_for(lambda: announced(slack, message), timeout=5)
    [case] = kibana.state.cases.values()
    assert case["id"] in reply["text"]
    assert posted_cases(kibana) == 1  # the retry found it by its tag instead of creating another
    assert len(kibana.state.cases) == 1
    lookups = [r for r in kibana.requests if r.route == FIND]
    assert lookups and all(r.query["tags"] == f"slack-dedupe:{CHANNEL}:{message['ts']}" for r in lookups)


async def test_dropped_create_then_retry_creates_it_once(
    impatient: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.fault("POST", CREATE, drop=True, times=1)  # the connection dies: no case, no answer
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(impatient, slack, message)
    assert await submit(impatient, view) is None
    await slack.wait_for(lambda: told(slack, "not created") or told(slack, "unreachable"), timeout=8)
    assert kibana.state.cases == {}

    retry = await open_form(impatient, slack, message)
    assert await submit(impatient, retry) is None
    await slack.wait_for(lambda: slack.thread(CHANNEL, message["ts"])[1:], timeout=5)
    assert posted_cases(kibana) == 2  # the dropped one and the retry
    assert len(kibana.state.cases) == 1


async def test_case_made_despite_the_timeout_is_found_and_linked_without_a_retry(
    impatient: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.fault("GET", FIND, times=1)  # the look-up before creating: at once
    kibana.fault("POST", CREATE, latency=1.3, times=1)  # times out after 1 s, created at 1.3 s
    kibana.fault("GET", FIND, latency=0.6, times=1)  # the look-up after the timeout sees it
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(impatient, slack, message)
    assert await submit(impatient, view) is None
    [reply] = await slack.wait_for(lambda: announced(slack, message), timeout=8)
    [case] = kibana.state.cases.values()
    assert case["id"] in reply["text"]
    assert posted_cases(kibana) == 1
    assert told(slack, "did not answer") == []


VIEWER_POLICY = """
default_role = "viewer"

[[grants]]
role = "responder"
users = ["U0ALICE"]
"""


@pytest.fixture
async def strict_bot(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> AsyncIterator[RunningBot]:
    policy = tmp_path / "viewer-policy.toml"
    policy.write_text(VIEWER_POLICY)
    async with running_bot(make_settings(kibana, slack, tmp_path, access_policy=policy), mode="http") as running:
        forget_start_up(kibana)
        yield running


@pytest.fixture
def strict(slack: FakeSlack, strict_bot: RunningBot) -> SlackDriver:
    return SlackDriver(signing_secret=SIGNING_SECRET, events_url=strict_bot.events_url, fake_slack=slack)


async def test_viewer_is_refused_when_the_form_opens(strict: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    message = slack.post_as_user(CHANNEL, TEXT)
    view = await open_form(strict, slack, message, user_id="U0BOB")
    assert not any(block["type"] == "input" for block in view["blocks"])
    assert "responder" in view["blocks"][0]["text"]["text"]
    assert view["submit"] is None
    assert kibana.requests == []


async def test_viewer_submission_is_refused_in_the_modal(
    strict: SlackDriver, slack: FakeSlack, kibana: FakeKibana, strict_bot: RunningBot
) -> None:
    message = slack.post_as_user(CHANNEL, TEXT)
    view = await open_form(strict, slack, message)  # Alice may; Bob submits the same form
    ack = await submit(strict, view, user_id="U0BOB")
    assert ack["response_action"] == "errors"
    assert "responder" in ack["errors"]["title"]
    assert kibana.requests == []
    entries = await strict_bot.runtime.services.store.list_audit(limit=5)
    assert [(e.user_id, e.action, e.result) for e in entries] == [("U0BOB", "case", "refused")]
