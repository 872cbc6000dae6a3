"""The first requests after a start: however many arrive together, Bolt's authorization asks
Slack's `auth.test` once, and every one of them is answered."""

from __future__ import annotations

import asyncio

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

MUTE = "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute"


async def test_a_burst_of_first_requests_makes_one_auth_test_and_all_are_answered(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    hosts = [f"host-{n}" for n in range(40)]
    kibana.add_rule(id="r1", active_alerts=hosts)
    assert slack.calls_to("auth.test") == []

    answers = await asyncio.gather(*(driver.post(driver.slash_command(f"mute r1 {host}")) for host in hosts))

    assert [a.status_code for a in answers] == [200] * len(hosts)
    await slack.wait_for(lambda: kibana.count("POST", MUTE) == len(hosts))
    await slack.wait_for(lambda: len(slack.responses) == len(hosts))
    assert len(slack.calls_to("auth.test")) == 1
    assert not any("could not" in str(r) for r in slack.responses)
