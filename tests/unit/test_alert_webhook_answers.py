"""Where a delivery stands in Slack (the intake's answer), as the webhook tells Kibana in HTTP."""

from __future__ import annotations

import json

import pytest

from handlers.alerts.answers import answer_for
from handlers.alerts.results import How, InSlack, Queued, RefusedForGood, SlackRefused


@pytest.mark.parametrize("how", ["posted", "grouped", "updated", "recovered", "recovery_posted", "duplicate"])
def test_an_alert_slack_shows_is_200_with_where(how: How) -> None:
    answer = answer_for(InSlack(how, "C0ALERTS", "1700000000.000100"))
    assert (answer.status, answer.outcome) == (200, how)
    assert json.loads(answer.response().body) == {"status": how, "channel": "C0ALERTS", "ts": "1700000000.000100"}


def test_a_queued_alert_is_202() -> None:
    answer = answer_for(Queued())
    assert (answer.status, answer.body, answer.outcome) == (202, {"status": "queued"}, "queued")


def test_an_alert_slack_refused_is_502_naming_slack_s_error() -> None:
    answer = answer_for(SlackRefused("not_in_channel", "#alerts"))
    assert (answer.status, answer.outcome) == (502, "slack_error")
    assert answer.body["slack_error"] == "not_in_channel" and answer.body["channel"] == "#alerts"
    assert "Slack refused to show the alert message: not_in_channel" in answer.body["error"]


def test_a_502_says_why_in_the_message_kibana_s_action_history_shows() -> None:
    answer = answer_for(SlackRefused("ratelimited_forever", "C0ALERTS"))
    assert answer.body["message"] == answer.body["error"]


@pytest.mark.parametrize(
    ("error", "shown_in", "words"),
    [
        ("channel_not_found", "C0ALERTS", ["shown in C0ALERTS (ALERT_CHANNEL) instead", "invite the bot to #ops"]),
        ("not_in_channel", None, ["it is not shown in Slack", "`/invite @chatops`"]),
        ("is_archived", None, ["the channel is archived (is_archived)", "To fix it, name another channel"]),
        ("some_new_error", None, ["#ops: some_new_error.", "invite the bot"]),
    ],
)
def test_a_channel_slack_refuses_for_good_is_422_saying_what_to_do(
    error: str, shown_in: str | None, words: list[str]
) -> None:
    answer = answer_for(RefusedForGood(error, "#ops", shown_in, "1.2" if shown_in else None, "chatops"))
    assert (answer.status, answer.outcome) == (422, "channel_refused")
    body = answer.body
    assert (body["slack_error"], body["channel"], body["shown_in"]) == (error, "#ops", shown_in)
    assert body["message"] == body["error"] and body["message"].startswith("Slack refuses to post alerts in #ops: ")
    for word in words:
        assert word in body["message"]
    assert ("invite" in body["message"]) is (error != "is_archived")
