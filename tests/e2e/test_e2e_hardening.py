"""Issue 13 over real HTTP: what monitored data and forged clicks can no longer do.

- Text that did not come from the bot (alert ids, rule names, reasons, tags, what people type)
  never becomes a live mention or link in anything Slack receives, on any surface.
- Values that come back from Slack obey the command's rules (a forged snooze is refused and
  audited), snoozes over a day need operator on every path, and a click whose `channel.id` and
  `container.channel_id` disagree is refused.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.shared.blocks import BACKTICK_LOOKALIKE, actions, button, option

from .conftest import make_settings
from .test_e2e_alerts_webhook import BODY, deliver

# Everything an outsider can put into an alert: every kind of Slack control sequence, a backtick
# that would close a code span, and mrkdwn's formatting characters.
EVIL = "x`<!channel>`y <!here> <!subteam^S1> <@U1> <#C0OTHER> <https://evil.example|x> *b* _i_ ~s~"

# What the bot itself may put in a message: the acting user, the channel it acts in, its own links.
BOTS_OWN = re.compile(r"<@U0ALICE>|<#C0ALERTS>|<https://kibana\.example\.com/[^|<>\s]*(\|[^<>]*)?>")
LIVE = re.compile(r"<\s*[!@#]|<\s*(?:https?|mailto|slack|tel):", re.IGNORECASE)

# Keys whose strings Slack never renders as mrkdwn (identifiers, values handed back, links of URL buttons).
NOT_RENDERED = {
    "action_id",
    "block_id",
    "callback_id",
    "channel",
    "external_id",
    "initial_value",
    "private_metadata",
    "response_url",
    "thread_ts",
    "token",
    "trigger_id",
    "ts",
    "url",
    "user",
    "value",
    "view_id",
}


def rendered_strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in `node` that Slack renders as mrkdwn, with where it is."""
    if isinstance(node, dict):
        plain = node.get("type") == "plain_text"  # plain_text is never parsed for mentions or links
        for key, value in node.items():
            if key in NOT_RENDERED or (plain and key == "text"):
                continue
            yield from rendered_strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from rendered_strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


def live_markup(node: Any, also: re.Pattern[str] | None = None) -> list[tuple[str, str]]:
    """(where, what) for each live mention or link in `node` that the bot did not make itself
    (`also`: more of the bot's own, such as the author it names from Slack's own payload)."""
    found = []
    for where, text in rendered_strings(node):
        rest = BOTS_OWN.sub("", text)
        if also is not None:
            rest = also.sub("", rest)
        for match in LIVE.finditer(rest):
            found.append((where, rest[match.start() : match.start() + 40]))
    return found


def everything_slack_received(slack: FakeSlack) -> list[tuple[str, Any]]:
    """Every Web API call's parameters and every response_url post."""
    return [(f"{c.method}", c.params) for c in slack.calls] + [
        (f"response_url {r.name}", r.body) for r in slack.responses
    ]


def assert_nothing_live(slack: FakeSlack, also: re.Pattern[str] | None = None) -> None:
    problems = [
        (what, where, text)
        for what, sent in everything_slack_received(slack)
        for where, text in live_markup(sent, also)
    ]
    assert problems == [], problems


def test_the_checker_tells_the_bots_own_mentions_from_injected_ones() -> None:
    ours = {"text": "<@U0ALICE> muted it in <#C0ALERTS>: <https://kibana.example.com/app/rule/r1|r1>"}
    assert live_markup(ours) == []
    for injected in (
        "<!channel>",
        "<!here>",
        "<!subteam^S1>",
        "<@U1>",
        "<#C0OTHER>",
        "<https://evil|x>",
        "<@U0ALICE|x><!here>",
    ):
        assert live_markup({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": injected}}]}), injected
    assert live_markup({"type": "plain_text", "text": "<!channel>"}) == []  # never rendered as mrkdwn
    assert live_markup({"value": "<!channel>"}) == []


async def reply_count(slack: FakeSlack, n: int, what: str) -> None:
    try:
        await slack.wait_for(lambda: len(slack.responses) >= n, timeout=5)
    except TimeoutError:
        raise AssertionError(f"no reply to {what!r}: {[r.body.get('text') for r in slack.responses]}") from None


async def test_monitored_text_never_pings_anyone_on_any_surface(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name=EVIL, active_alerts=[EVIL, "host-2"], tags=[EVIL])
    body = {
        **BODY,
        "rule_name": EVIL,
        "alert_id": EVIL,
        "reason": EVIL,
        "tags": json.dumps([EVIL]),
        "action_group": EVIL,
    }
    # a new alert: message text and blocks
    assert (await deliver(bot, body)).status_code == 200
    [message] = slack.channel_messages("C0ALERTS")
    assert BACKTICK_LOOKALIKE in json.dumps(message["blocks"], ensure_ascii=False)
    # a button: the update in place, the stored status line and the thread receipt
    response = await driver.post(driver.block_action("alert_mute"))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.thread("C0ALERTS", message["ts"])) >= 2)
    # the same alert again with another reason: an update
    assert (await deliver(bot, {**body, "reason": EVIL + " again"})).status_code == 200
    # the recovery: an update and a thread reply
    assert (await deliver(bot, {**body, "action_group": "recovered"})).status_code == 200
    await slack.wait_for(lambda: len(slack.thread("C0ALERTS", message["ts"])) >= 3)
    # response_url replies: the rule card, the mute-all confirmation, a write, a search, the audit
    # view, and error sentences quoting what was typed and what Kibana said
    commands = [
        "rule r1",
        "mute-all r1",
        "unmute r1 'x<!channel>y <@U1> <https://evil|x>'",
        "rules '<!here>'",
        "audit",
        "rule '<!channel>'",
        "mute nosuchrule '<!channel>'",
    ]
    for text in commands:
        before = len(slack.responses)
        response = await driver.post(driver.slash_command(text))
        assert response.status_code == 200
        if response.content and response.headers.get("content-type", "").startswith("application/json"):
            assert live_markup(response.json()) == [], text  # an error in the ack itself
            continue
        await reply_count(slack, before + 1, text)
    await asyncio.sleep(0.2)
    assert slack.calls_to("chat.update") and slack.responses
    assert_nothing_live(slack)


# ---- forged values, long snoozes -----------------------------------------------------------------


def forged_menu(value: str) -> dict[str, Any]:
    menu = {"type": "static_select", "action_id": "rule_snooze", "options": [option("Forever", value)]}
    return {"type": "message", "ts": "1700000000.000100", "text": "x", "blocks": [actions(menu, block_id="forged")]}


def snoozes(kibana: FakeKibana) -> int:
    return kibana.count("POST", "/api/alerting/rule/{id}/snooze_schedule")


async def audit(bot: RunningBot, at_least: int = 1) -> list[Any]:
    """The audit trail once it holds `at_least` entries: a refusal may be written a moment after Slack's
    answer (a loaded CI machine showed it), so the test waits for it, 5 s at most."""
    store = bot.runtime.services.store
    for _ in range(100):
        entries = await store.list_audit(limit=20)
        if len(entries) >= at_least:
            break
        await asyncio.sleep(0.05)
    return entries


@pytest.mark.parametrize("duration", ["99999999d", "1s", "0m", "-1h"])
async def test_a_forged_snooze_value_is_refused_and_audited(
    duration: str, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    value = json.dumps({"r": "r1", "s": "default", "o": duration})
    response = await driver.post(driver.block_action("rule_snooze", value, message=forged_menu(value)))
    assert response.status_code == 200
    await slack.wait_for(lambda: slack.responses)
    assert slack.responses[0].body["text"] == "This button's value is not one the bot made."
    entries = await audit(bot)
    assert [(e.action, e.result) for e in entries] == [("snooze", "refused")]
    assert "forged value" in entries[0].detail and duration in entries[0].target
    assert snoozes(kibana) == 0 and [r for r in kibana.requests if r.method != "GET"] == []


RESPONDER_POLICY = 'default_role = "responder"\n\n[[grants]]\nrole = "operator"\nusers = ["U0OPS"]\n'


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    policy = tmp_path / "hardening-policy.toml"  # make_settings writes policy.toml
    policy.write_text(
        RESPONDER_POLICY + '\n[[grants]]\nrole = "admin"\nusers = ["U0ALICE"]\n'
        '\n[[grants]]\nrole = "operator"\nusers = ["U0CHAN"]\nchannels = ["C0ALERTS"]\n'
    )
    return make_settings(kibana, slack, tmp_path, access_policy=policy)


async def test_a_responder_snoozes_up_to_a_day_on_every_path_and_no_longer(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    # the command: 1d is fine, 2d is not
    await driver.post(driver.slash_command("snooze r1 1d", user_id="U0BOB"))
    await slack.wait_for(lambda: snoozes(kibana) == 1)
    await driver.post(driver.slash_command("snooze r1 2d", user_id="U0BOB"))
    await slack.wait_for(lambda: len(slack.responses) >= 2)
    assert "You need the *operator* role to `snooze` rules for longer than 1 day" in slack.responses[-1].body["text"]
    # the menu, with a value shaped like the bot's own but longer than its longest choice
    value = json.dumps({"r": "r1", "s": "default", "o": "2w"})
    await driver.post(driver.block_action("rule_snooze", value, message=forged_menu(value), user_id="U0BOB"))
    await slack.wait_for(lambda: len(slack.responses) >= 3)
    assert "*operator* role" in slack.responses[-1].body["text"]
    assert snoozes(kibana) == 1
    # an operator may
    await driver.post(driver.slash_command("snooze r1 2w", user_id="U0OPS"))
    await slack.wait_for(lambda: len(slack.responses) >= 4)
    assert snoozes(kibana) == 2, [r.body["text"][:60] for r in slack.responses]
    refused = [e for e in await audit(bot) if e.result == "refused"]
    assert [(e.action, e.user_id) for e in refused] == [("snooze", "U0BOB")] * 2
    assert all("longer than 1 day needs operator" in e.detail for e in refused)


async def test_a_custom_snooze_form_obeys_the_same_cap(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    assert (await deliver(bot, BODY)).status_code == 200
    custom = json.dumps({"r": "r1", "s": "default", "o": "custom"}, separators=(",", ":"))
    await driver.post(driver.block_action("rule_snooze", custom, user_id="U0BOB"))
    await slack.wait_for("views.open")
    view = slack.calls_to("views.open")[-1].params["view"]
    response = await driver.post(driver.view_submission(view, {"duration": {"duration": "3d"}}, user_id="U0BOB"))
    assert response.status_code == 200
    await slack.wait_for(lambda: any("*operator* role" in str(r.body.get("text")) for r in slack.responses))
    assert snoozes(kibana) == 0


async def test_a_channel_scoped_grant_is_refused_when_channel_and_container_disagree(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    """U0CHAN is operator only in #alerts. A click whose container is #alerts but whose channel.id
    is another channel (or the reverse) is refused: one source for the check and the receipt."""
    slack.add_channel("C0OTHER", "other")
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    assert (await deliver(bot, BODY)).status_code == 200
    value = json.dumps({"r": "r1", "s": "default"}, separators=(",", ":"))
    message = {"type": "message", "ts": "1700000000.000100", "text": "x"}
    message["blocks"] = [actions(button("Unmute all", "rule_unmute_all", value), block_id="b")]
    payload = driver.block_action("rule_unmute_all", value, message=message, user_id="U0CHAN", channel_id="C0OTHER")
    payload["container"]["channel_id"] = "C0ALERTS"  # the grant's channel, in one of the two places
    response = await driver.post(payload)
    assert response.status_code == 200
    await slack.wait_for(lambda: slack.responses)
    assert "two different channels" in slack.responses[-1].body["text"]
    assert [r for r in kibana.requests if r.method != "GET"] == []
    [entry] = await audit(bot)
    assert (entry.action, entry.result, entry.user_id) == ("unmute-all", "refused", "U0CHAN")
    # the same click where both agree on #alerts is allowed
    payload = driver.block_action("rule_unmute_all", value, message=message, user_id="U0CHAN", channel_id="C0ALERTS")
    await driver.post(payload)
    await slack.wait_for(lambda: kibana.count("POST", "/api/alerting/rule/{id}/_unmute_all") == 1)


# ---- response_url and private_metadata ---------------------------------------------------------


async def test_a_response_url_off_slacks_host_is_never_followed(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high")
    async with FakeSlack() as elsewhere:  # the same kind of server, on another port: not SLACK_API_URL
        command = driver.slash_command("rule r1")
        command["response_url"] = elsewhere.response_url("commands", channel="C0ALERTS", user="U0ALICE")
        assert (await driver.post(command)).status_code == 200
        await slack.wait_for("chat.postEphemeral")  # the answer took the next surface
        await asyncio.sleep(0.1)
        assert elsewhere.responses == [] and slack.responses == []


async def test_a_form_whose_private_metadata_was_changed_is_refused(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    """U0CHAN is operator only in #alerts; a snooze form opened in another channel and edited to say
    it came from #alerts (where a 3-day snooze would be allowed) is refused as forged: the bot seals
    its metadata. The refusal is audited."""
    slack.add_channel("C0OTHER", "other")
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    custom = json.dumps({"r": "r1", "s": "default", "o": "custom"}, separators=(",", ":"))
    click = driver.block_action(
        "rule_snooze", custom, message=forged_menu(custom), user_id="U0CHAN", channel_id="C0OTHER"
    )
    await driver.post(click)
    await slack.wait_for("views.open")
    view = slack.calls_to("views.open")[-1].params["view"]
    tag, _, body = view["private_metadata"].partition(".")
    view["private_metadata"] = tag + "." + body.replace("C0OTHER", "C0ALERTS")
    assert "C0ALERTS" in view["private_metadata"]
    submitted = driver.view_submission(view, {"duration": {"duration": "3d"}}, user_id="U0CHAN")
    response = await driver.post(submitted)
    assert response.json()["response_action"] == "errors"
    assert "This form was not made by the bot." in json.dumps(response.json()["errors"])
    assert [r for r in kibana.requests if r.method != "GET"] == []
    [entry] = await audit(bot)
    assert (entry.action, entry.result, entry.user_id) == ("snooze", "refused", "U0CHAN")
    assert "forged value" in entry.detail


async def test_blocks_a_click_carries_are_never_posted_back(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    """The `message` of a block action comes from the client: on a message the bot does not know,
    a button acts and the thread gets the receipt, but the message is not re-posted from those blocks."""
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    value = json.dumps({"r": "r1", "s": "default"}, separators=(",", ":"))
    injected = {"type": "section", "text": {"type": "mrkdwn", "text": "<!channel> look"}}
    message = {"type": "message", "ts": "1700000000.000100", "text": "x"}
    message["blocks"] = [injected, actions(button("Unmute all", "rule_unmute_all", value), block_id="b")]
    await driver.post(driver.block_action("rule_unmute_all", value, message=message))
    await slack.wait_for("chat.postMessage")
    assert kibana.count("POST", "/api/alerting/rule/{id}/_unmute_all") == 1
    assert slack.calls_to("chat.update") == []
    assert_nothing_live(slack)


async def test_case_links_and_apm_texts_never_ping_anyone(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_agent_configuration(service_name=EVIL, environment=EVIL, settings={EVIL: EVIL}, agent_name=EVIL)
    kibana.add_sourcemap(service_name=EVIL, service_version=EVIL, bundle_filepath=EVIL)
    for text in ("apm config list", "apm sourcemaps"):
        before = len(slack.responses)
        assert (await driver.post(driver.slash_command(text))).status_code == 200
        await reply_count(slack, before + 1, text)
    # a case from a message whose text is the outsider's: the form, the link in the thread
    message = slack.post_as_user("C0ALERTS", EVIL + "\n" + EVIL, user="U0BOB")
    assert (await driver.post(driver.message_shortcut("open_case", message))).status_code == 200
    [call] = await slack.wait_for("views.update")
    view = slack.views[call.params["view_id"]]
    response = await driver.post(driver.view_submission(view, {}))
    assert response.status_code == 200
    await slack.wait_for(lambda: slack.thread("C0ALERTS", message["ts"])[1:], timeout=10)
    # the bot names the message's author and links the message with Slack's own permalink
    assert_nothing_live(slack, also=re.compile(r"<@U0BOB>|<https://acme\.slack\.com/archives/[^|<>\s]*(\|[^<>]*)?>"))
