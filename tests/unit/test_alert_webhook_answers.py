"""Where a delivery stands in Slack (the intake's answer), as the webhook tells Kibana in HTTP."""

from __future__ import annotations

import json

import pytest

from handlers.alerts.results import How, InSlack, Queued, SlackRefused
from handlers.alerts.webhook import answer_for


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
