"""*I'm on it*: who is on an alert episode, as its message shows it, and the catalog rows of claim and release.

A claim covers a group's episode (one alert's message is its group's message too): the message shows
"<@alice> is on it since 10:02 UTC", *Release*, and *I'm on it* again for anyone else, which asks to
confirm before it takes the claim over. A new episode is a new group: nobody is on it.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from bot.access import Role
from bot.store.alert_claims import AlertClaim
from handlers.alerting.actions import RuleArgs
from handlers.alerting.target import Target
from handlers.shared.blocks import Block, actions, button, code, confirm, context
from handlers.shared.catalog import Action
from handlers.shared.codec import Packed
from handlers.shared.grammar import Command, Parser, arity, flags, identifier

ALERT_CLAIM = "alert_claim"
ALERT_RELEASE = "alert_release"
CLAIM_BLOCK = "alert_claim"
CLAIMED_BLOCK = "alert_claimed"

CLAIM = Action(
    "claim",
    "claim <rule_id>   say you are on the rule's alerts shown in this channel (the *I'm on it* button)",
    Role.RESPONDER,
    "say you are on an alert (`claim`, *I'm on it*)",
    action_ids=(ALERT_CLAIM,),
)
RELEASE = Action(
    "release",
    "release <rule_id>   let go of the rule's alerts you are on in this channel (the *Release* button)",
    Role.RESPONDER,
    "release an alert you are on (`release`)",
    action_ids=(ALERT_RELEASE,),
)
_USER = re.compile(r"[UW][A-Z0-9]{2,20}")


class ClaimValue(Packed):
    """What *I'm on it* and *Release* carry: the rule (and alert) the message shows, and who the message
    showed on it when it was drawn (a take-over needs that person to still hold it)."""

    rule_id: str = Field(alias="r", min_length=1, max_length=255)
    space: str = Field("default", alias="s", min_length=1, max_length=100)
    alert_id: str | None = Field(None, alias="a", max_length=512)
    alert_uuid: str | None = Field(None, alias="u", max_length=255)
    holder: str | None = Field(None, alias="h", max_length=21)

    @field_validator("holder")
    @classmethod
    def _holder(cls, value: str | None) -> str | None:
        if value is not None and not _USER.fullmatch(value):
            raise ValueError("not a Slack user id")
        return value

    def target(self) -> Target:
        """The rule or alert it names, checked as every alert button's is (ValueError when not one)."""
        return Target(rule_id=self.rule_id, space=self.space, alert_id=self.alert_id, alert_uuid=self.alert_uuid)


def since(claim: AlertClaim) -> str:
    return claim.claimed_at.strftime("%H:%M UTC")


def claim_blocks(target: Target, claim: AlertClaim | None, *, over: bool) -> list[Block]:
    """Who is on the episode, and its *I'm on it* / *Release* buttons (none once the episode is over)."""
    blocks: list[Block] = []
    if claim is not None:
        was = "was" if over else "is"
        blocks.append(
            context(f":raising_hand: <@{claim.user_id}> {was} on it since {since(claim)}", block_id=CLAIMED_BLOCK)
        )
    if over:
        return blocks
    value = ClaimValue(
        rule_id=target.rule_id,
        space=target.space,
        alert_id=target.alert_id,
        alert_uuid=target.alert_uuid,
        holder=claim.user_id if claim is not None else None,
    )
    if claim is None:
        return [*blocks, actions(button("I'm on it", ALERT_CLAIM, value.pack(), style="primary"), block_id=CLAIM_BLOCK)]
    take_over = confirm(
        "Take it over?",
        f"<@{claim.user_id}> is on it since {since(claim)}. Take it over from them? They are told in the thread.",
        "Take over",
    )
    return [
        *blocks,
        actions(
            button("I'm on it", ALERT_CLAIM, value.pack(), confirm=take_over),
            button("Release", ALERT_RELEASE, value.pack()),
            block_id=CLAIM_BLOCK,
        ),
    ]


def named(target: Target) -> str:
    """What a claim covers, in words."""
    if target.alert_id:
        return f"alert {code(target.alert_id)} of rule {code(target.rule_id)}"
    return f"the alerts of rule {code(target.rule_id)}"


def _one_rule(action: Action) -> Parser:
    def parser(words: list[str]) -> Command:
        flags(words, set(), action.name)
        arity(words, action.name, 1, 1)
        return Command(action.name, RuleArgs(identifier(words[0], "rule id", action.name)))

    return parser


PARSERS: dict[str, Parser] = {CLAIM.name: _one_rule(CLAIM), RELEASE.name: _one_rule(RELEASE)}
