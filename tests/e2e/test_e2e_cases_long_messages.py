"""A case from a message longer than a form field, end to end: Slack refuses a `plain_text_input`
whose initial value has more than 3,000 characters (the fake Slack's views.open as Slack's), so the
form shows the message's beginning and says so, and the message's whole text still reaches the
case in the fake Kibana, as a comment."""

from __future__ import annotations

from typing import Any

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .test_e2e_cases_message import initial, open_form, stored_cases, submit

CHANNEL = "C0ALERTS"
# 10,000 characters of a pasted log, with what Slack escapes in a message's text (&lt; &gt; &amp;)
LINES = [f"{n:04d} ERROR payment &lt;svc-{n % 7}&gt; timeout &amp; retry after {n} ms" for n in range(150)]
TEXT = "Checkout fails since the deploy\n" + "\n".join(LINES)
TEXT = TEXT + "x" * (10_000 - len(TEXT))
WHOLE = TEXT.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def user_comments(case: dict[str, Any]) -> list[str]:
    return [c["comment"] for c in case["comments"] if c["type"] == "user"]


def whole_in(case: dict[str, Any]) -> bool:
    return any(WHOLE in comment for comment in user_comments(case))


async def test_a_10000_character_message_reaches_the_case_whole(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    assert len(TEXT) == 10_000
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(driver, slack, message)
    assert [c.ok for c in slack.calls_to("views.open")] == [True]  # Slack took the form
    description = initial(view, "description")
    assert len(description) <= 3000 and description.startswith(WHOLE[:2000])
    [note] = [b for b in view["blocks"] if b.get("block_id") == "case_whole_message"]
    shown = note["elements"][0]["text"]
    assert f"has {len(WHOLE):,} characters" in shown and "added to the case" in shown  # as the person reads them

    assert await submit(driver, view) is None
    await slack.wait_for(lambda: [case for case in stored_cases(kibana) if whole_in(case)])
    [case] = stored_cases(kibana)
    assert case["description"] == description  # what the form showed
    [whole] = [c for c in user_comments(case) if WHOLE in c]
    permalink = slack.workspace.permalink(CHANNEL, message["ts"])
    assert whole == f"The whole Slack message by <@U0BOB> ({permalink}) ({len(WHOLE):,} characters):\n\n{WHOLE}"
    assert any("Opened from Slack by @alice" in c for c in user_comments(case))


async def test_the_add_to_case_form_of_a_long_message_adds_it_whole(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    await submit(driver, await open_form(driver, slack, message))
    await slack.wait_for(lambda: [case for case in stored_cases(kibana) if whole_in(case)])

    second = await open_form(driver, slack, message, user_id="U0CAROL")
    assert second["callback_id"] == "case_comment_modal"
    assert len(initial(second, "comment")) <= 3000
    assert await submit(driver, second, user_id="U0CAROL") is None
    await slack.wait_for(lambda: sum(WHOLE in c for c in user_comments(stored_cases(kibana)[0])) == 2)
    [case] = stored_cases(kibana)
    assert sum("<@U0CAROL>" in c for c in user_comments(case)) == 1


async def test_a_form_whose_whole_text_is_gone_says_so(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message = slack.post_as_user(CHANNEL, TEXT, user="U0BOB")
    view = await open_form(driver, slack, message)
    await bot.runtime.services.store.forget_case_form_text(view["id"])  # as after a day open
    await submit(driver, view)
    told = await slack.wait_for(lambda: [r for r in slack.responses if "whole message" in r.body.get("text", "")])
    assert told[0].body["text"].startswith("The whole message could not be added to the case")
    [case] = stored_cases(kibana)
    assert not whole_in(case)
