"""Issue 30, item 6: every numeric argument of the grammar, given a number too large (or a digit that
is not ASCII), gets a sentence naming what it expects; never a traceback, never a Kibana call."""

from __future__ import annotations

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

HUGE = "99999999999999999999999"

COMMANDS = [
    f"alerts unsubscribe {HUGE}",
    f"alerts unsubscribe #{HUGE}",
    f"health unsubscribe {HUGE}",
    f"audit last {HUGE}",
    "audit last ²",  # str.isdigit() says yes, int() says no
    "audit last ٣",  # an Arabic-Indic three: int() reads it, the grammar should not
    f"mute r1 host-1 for {HUGE}m",
    f"mute-all r1 for {HUGE}d",
    f"snooze r1 {HUGE}h",
    f"snooze r1 {HUGE}w",
    "mute r1 host-1 until 99999-99-99",
    f"mute r1 host-1 until {HUGE}",
    f"health subscribe every {HUGE}m",
    f"health subscribe */{HUGE} * * * *",
    f"health subscribe {HUGE} * * * *",
    f"health subscribe daily {HUGE}:00",
    f"health subscribe daily 09:{HUGE}",
]


@pytest.mark.parametrize("text", COMMANDS)
async def test_a_number_out_of_range_gets_a_sentence(
    text: str,
    driver: SlackDriver,
    slack: FakeSlack,
    kibana: FakeKibana,
    bot: RunningBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text))
    assert response.status_code == 200
    if response.content and response.json().get("text"):
        answer = str(response.json()["text"])
    else:
        await slack.wait_for(lambda: len(slack.responses) > before)
        answer = str(slack.responses[before].body.get("text", ""))
    assert answer and "Traceback" not in answer and "something went wrong" not in answer.lower(), answer
    assert not [r.getMessage() for r in caplog.records if r.exc_info], text
    writes = [r for r in kibana.requests if r.method != "GET"]
    assert writes == [], (text, writes)
