"""Issue 30, item 6: forged clicks in a loop no longer write one audit row each. Per person, the first
AUDIT_REFUSALS_PER_MINUTE refusals of a minute are recorded; the rest are counted in a metric (and the
next recorded refusal of that person says how many were not: tests/unit/test_refusal_bound.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot import metrics
from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.cases.actions import CASE_OPEN

from .conftest import make_settings
from .test_e2e_cases_guarded import case_button

CLICKS = 200


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    return make_settings(kibana, slack, tmp_path, audit_refusals_per_minute=5)


def unrecorded() -> float:
    return metrics.REGISTRY.get_sample_value("chatops_audit_refusals_unrecorded_total") or 0.0


async def forged_clicks(driver: SlackDriver, count: int, user: str = "U0ALICE") -> None:
    for start in range(0, count, 20):  # twenty at a time, each a value of its own (no two alike: not replays)
        clicks = []
        for n in range(start, min(start + 20, count)):
            forged = json.dumps({"r": f"r{n} --space ops", "s": "default"})
            clicks.append(
                driver.post(driver.block_action(CASE_OPEN, forged, message=case_button(forged), user_id=user))
            )
        assert [r.status_code for r in await asyncio.gather(*clicks)] == [200] * len(clicks)


async def test_forged_clicks_in_a_loop_write_a_bounded_number_of_audit_rows(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    before = unrecorded()
    await forged_clicks(driver, CLICKS)
    await slack.wait_for(lambda: len(slack.responses) >= CLICKS, timeout=60)  # every click was answered
    assert {r.body["text"] for r in slack.responses} == {"This button's value is not one the bot made."}
    store = bot.runtime.services.store
    rows = await store.list_audit(limit=1000)
    assert len(rows) == 5 and {(r.action, r.result, r.user_id) for r in rows} == {("case", "refused", "U0ALICE")}
    assert unrecorded() - before == CLICKS - 5
    assert len([r for r in caplog.records if "AUDIT_REFUSALS_PER_MINUTE" in r.getMessage()]) == 1
    # the bound is per person: someone else's refusal is still recorded
    await forged_clicks(driver, 1, user="U0BOB")
    await slack.wait_for(lambda: len(slack.responses) >= CLICKS + 1)
    rows = await store.list_audit(limit=1000)
    assert [r.user_id for r in rows].count("U0BOB") == 1
    assert kibana.requests == []
