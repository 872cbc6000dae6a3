"""Issue 25, item 10 over real HTTP: what a person types is echoed harmlessly, control characters
and ids over the grammar's limits get a sentence saying what is wrong, and nothing of it reaches
Kibana."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.shared.blocks import actions, button

from .conftest import make_settings
from .test_e2e_hardening import assert_nothing_live, everything_slack_received, live_markup, rendered_strings

# A closing backtick, a broadcast, a user mention, an escaped mention that `&` would turn back into
# text looking like one, and mrkdwn's formatting characters.
HOSTILE = "x` <!channel> `y <@U0BOB> &lt;!here&gt; *bold* _it_ ~gone~"
TYPED = "'" + HOSTILE + "'"
CODE_SPAN = re.compile(r"`[^`]*`")


@pytest.fixture
async def es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, es: FakeElasticsearch, tmp_path: Path) -> Settings:
    return make_settings(kibana, slack, tmp_path, elasticsearch_url=es.url, elasticsearch_api_key=es.api_key)


def markup_outside_code(node: Any) -> list[tuple[str, str]]:
    """(where, text) of each rendered string in which the typed formatting survives outside a code
    span, or whose `&lt;` was not escaped (Slack would show it as `<!here>`)."""
    found = []
    for where, text in rendered_strings(node):
        outside = CODE_SPAN.sub("", text)
        if any(mark in outside for mark in ("*bold*", "_it_", "~gone~")) or "&lt;!here&gt;" in text:
            found.append((where, text[:120]))
    return found


async def answered(driver: SlackDriver, slack: FakeSlack, text: str, **kwargs: Any) -> Any:
    """Send the command; return the ack's JSON when it answered at once, else wait for what followed
    (a response_url post, or a Web API call such as views.open) and return None."""
    before = len(slack.responses) + len(slack.calls)
    response = await driver.post(driver.slash_command(text, **kwargs))
    assert response.status_code == 200, text
    if response.content and response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    try:
        await slack.wait_for(lambda: len(slack.responses) + len(slack.calls) > before, timeout=5)
    except TimeoutError:
        raise AssertionError(f"no answer to {text!r}") from None
    return None


async def test_every_command_echoes_hostile_input_without_live_markup(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    commands = [
        f"alerts subscribe --tag {TYPED}",  # answered in the channel
        f"alerts subscribe --tag {TYPED}",  # "already gets the alerts of …"
        "alerts subscriptions",
        f"alerts unsubscribe {TYPED}",
        f"alerts {TYPED}",
        f"health subscribe {TYPED}",
        f"health unsubscribe {TYPED}",
        f"health {TYPED}",
        f"rules {TYPED}",
        f"rule {TYPED}",
        f"mute r1 {TYPED}",
        f"unmute r1 {TYPED}",
        f"mute-all {TYPED}",
        f"disable {TYPED}",
        f"enable {TYPED}",
        f"snooze r1 {TYPED}",
        f"snooze {TYPED} 1h",
        f"unsnooze r1 {TYPED}",
        f"apm config list {TYPED}",
        f"apm config set {TYPED} {TYPED} {TYPED}={TYPED}",
        f"apm config set {TYPED} {TYPED} {TYPED}={TYPED}",  # exists: the comparison and Overwrite
        f"apm config {TYPED}",
        f"apm key create {TYPED} event:write",
        f"apm sourcemaps delete {TYPED}",
        f"apm {TYPED}",
        f"can-i {TYPED}",
        f"audit rule {TYPED}",
        f"audit {TYPED}",
        f"help {TYPED}",
        f"whoami {TYPED}",
        f"case {TYPED}",
        TYPED,
        f"rule r1 --space {TYPED}",
    ]
    acks = []
    for text in commands:
        ack = await answered(driver, slack, text)
        if ack is not None:
            acks.append((text, ack))
    assert any(r.body.get("response_type") == "in_channel" for r in slack.responses)  # the subscription
    for text, ack in acks:
        assert live_markup(ack) == [], text
        assert markup_outside_code(ack) == [], text
    assert_nothing_live(slack)
    problems = [
        (what, found) for what, sent in everything_slack_received(slack) if (found := markup_outside_code(sent))
    ]
    assert problems == []


# ---- control characters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "mute r1 host\x00-1",
        "unmute r1 host-1\x1b[2J",
        "rule r1\x00",
        "rules cpu\x07",
        "alerts subscribe --tag prod\x01",
        "apm config set svc\x00 x=1",
        "case title\x08",
        "snooze r1 1h\x7f",
    ],
)
async def test_a_control_character_in_a_command_is_refused_with_a_sentence(
    text: str, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    calls = len(slack.calls)
    ack = await answered(driver, slack, text)
    assert ack is not None, [r.body for r in slack.responses]
    assert "control character" in ack["text"]
    assert re.search(r"U\+00[0-9A-F]{2}", ack["text"])  # which one
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", json.dumps(ack, ensure_ascii=False))
    assert kibana.requests == [] and [c.method for c in slack.calls[calls:] if c.method != "auth.test"] == []


@pytest.mark.parametrize(
    "value",
    [
        {"r": "r1", "s": "default", "a": "host\u0000-1"},
        {"r": "r1", "s": "default", "a": "host-1", "u": "uuid\u001b"},
    ],
)
async def test_a_control_character_in_a_button_value_is_refused_and_audited(
    value: dict[str, str], driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    packed = json.dumps(value, separators=(",", ":"))
    message = {"type": "message", "ts": "1700000000.000100", "text": "x"}
    message["blocks"] = [actions(button("Mute alert", "alert_mute", packed), block_id="b")]
    await driver.post(driver.block_action("alert_mute", packed, message=message))
    await slack.wait_for(lambda: slack.responses)
    assert slack.responses[0].body["text"] == "This button's value is not one the bot made."
    [entry] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.result) == ("mute", "refused") and "forged value" in entry.detail
    assert [r for r in kibana.requests if r.method != "GET"] == []


# ---- ids over the grammar's limits ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("rule " + "r" * 300, "255 characters"),
        ("mute r1 " + "a" * 600, "512 characters"),
        ("unsnooze r1 " + "s" * 300, "255 characters"),
        ("alerts subscribe --rule " + "r" * 300, "255 characters"),
        ("alerts unsubscribe " + "9" * 30, "18 digits"),
        ("health unsubscribe " + "9" * 30, "18 digits"),
        ("alerts unsubscribe ²", "18 digits"),
        ("apm config set " + "s" * 1200 + " x=1", "1000 characters"),
        ("apm config set svc " + "e" * 1200 + " x=1", "1000 characters"),
        ("apm config list " + "s" * 1200, "1000 characters"),
    ],
)
async def test_an_id_over_the_grammars_limits_gets_a_sentence_with_the_limit(
    text: str, limit: str, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    ack = await answered(driver, slack, text)
    said = ack["text"] if ack is not None else str(slack.responses[-1].body.get("text"))
    assert "Something went wrong" not in said
    assert limit in said, said
    assert [r for r in kibana.requests if r.method != "GET"] == []
