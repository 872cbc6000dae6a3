"""*I'm on it* in Block Kit: what an unclaimed, a claimed and a closed episode show, each valid for Slack
(slack_sdk's models, through the fake Slack's check), and the button values the click handler accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.store.alert_claims import AlertClaim
from devkit.fake_slack.block_kit import message_problems
from handlers.alerting.target import Target
from handlers.alerts.claim import ALERT_CLAIM, ALERT_RELEASE, ClaimValue, claim_blocks
from handlers.shared.codec import ForgedValue
from tests.unit.test_long_ids_fit_slack import ALERT as ALERT_ID
from tests.unit.test_long_ids_fit_slack import RULE, SPACE, UUID, validated

ALERT = Target(rule_id="r1", space="ops", alert_id="host-1", alert_uuid="u-1")
CLAIM = AlertClaim(group_id=7, user_id="U0ALICE", claimed_at=datetime(2026, 12, 6, 10, 2, tzinfo=UTC))


def elements(blocks: list[dict]) -> dict[str, dict]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_nobody_on_it_offers_im_on_it() -> None:
    blocks = claim_blocks(ALERT, None, over=False)
    assert message_problems(validated(blocks)) == []
    [button] = elements(blocks).values()
    assert button["action_id"] == ALERT_CLAIM and "confirm" not in button
    assert ClaimValue.unpack(button["value"]) == ClaimValue(
        rule_id="r1", space="ops", alert_id="host-1", alert_uuid="u-1"
    )


def test_someone_on_it_is_shown_with_release_and_a_confirmed_take_over() -> None:
    blocks = claim_blocks(ALERT, CLAIM, over=False)
    assert message_problems(validated(blocks)) == []
    assert blocks[0]["elements"][0]["text"] == ":raising_hand: <@U0ALICE> is on it since 10:02 UTC"
    shown = elements(blocks)
    assert set(shown) == {ALERT_CLAIM, ALERT_RELEASE}
    assert shown[ALERT_CLAIM]["confirm"]["text"]["text"].startswith("<@U0ALICE> is on it since 10:02 UTC.")
    assert ClaimValue.unpack(shown[ALERT_CLAIM]["value"]).holder == "U0ALICE"


def test_a_closed_episode_says_who_was_on_it_and_offers_nothing() -> None:
    blocks = claim_blocks(ALERT, CLAIM, over=True)
    assert message_problems(validated(blocks)) == []
    assert elements(blocks) == {}
    assert "was on it since" in blocks[0]["elements"][0]["text"]
    assert claim_blocks(ALERT, None, over=True) == []


def test_the_longest_ids_fit_slacks_models() -> None:
    longest = Target(rule_id=RULE, space=SPACE, alert_id=ALERT_ID, alert_uuid=UUID)
    for claim in (None, CLAIM):
        blocks = validated(claim_blocks(longest, claim, over=False))
        value = ClaimValue.unpack(elements(blocks)[ALERT_CLAIM]["value"])
        assert (value.rule_id, value.alert_id, value.alert_uuid) == (RULE, ALERT_ID, UUID)


@pytest.mark.parametrize(
    "forged",
    ['{"r":"r1","h":"<!channel>"}', '{"r":"r 1"}', '{"r":"r1","x":1}', "not json", '{"r":"r1","a":""}'],
)
def test_values_the_bot_did_not_make_are_refused(forged: str) -> None:
    with pytest.raises((ForgedValue, ValueError)):
        ClaimValue.unpack(forged).target()
