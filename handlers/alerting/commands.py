"""Alerting commands: rules, rule, and the rule/alert writes."""

from __future__ import annotations

import logging

from bot.failure_log import FailureLog
from bot.kibana.models import Rule
from bot.services import Services
from bot.store import KnownSnooze
from bot.store.errors import store_unreachable
from handlers.alerting import actions, mute_end, writes
from handlers.alerting.actions import (
    AlertArgs,
    DisableArgs,
    MuteAllArgs,
    RuleArgs,
    SearchArgs,
    SnoozeArgs,
    UnsnoozeArgs,
)
from handlers.alerting.modals import open_disable_modal
from handlers.alerting.rule_card import rule_buttons, rule_card_blocks, rule_list_blocks
from handlers.alerting.target import Target
from handlers.shared.blocks import Block, code, escape, section
from handlers.shared.context import Invocation
from handlers.shared.feature import Plumbing, Route
from handlers.shared.outcome import Origin, as_whom
from handlers.shared.words import count

log = logging.getLogger(__name__)
_failures = FailureLog(log)


async def list_rules(inv: Invocation) -> None:
    search = inv.args(SearchArgs).search
    page = await inv.services.kibana.find_rules(search or None, space=inv.space, per_page=20)
    await inv.reply(count(page.total, "rule"), blocks=rule_list_blocks(page, search=search, space=inv.space))


async def show_rule(inv: Invocation) -> None:
    rule = await inv.services.kibana.get_rule(inv.args(RuleArgs).rule_id, space=inv.space)
    await inv.reply(f"Rule {escape(rule.name)}", blocks=await card_blocks(inv.services, rule, inv.space))


async def card_blocks(services: Services, rule: Rule, space: str) -> list[Block]:
    """The rule card, with what the bot knows besides Kibana's answer (its snoozes, the snooze API)."""
    url = services.kibana.rule_url(rule.id, space=space, public_base=services.settings.kibana_link_base)
    return rule_card_blocks(
        rule,
        space=space,
        rule_url=url,
        snooze_api=services.profile.current.snooze,
        known_snoozes=await _known_snoozes(services, rule.id, space),
    )


async def _known_snoozes(services: Services, rule_id: str, space: str) -> list[KnownSnooze]:
    """The bot's snoozes of the rule; none shown when the database does not answer (the card is
    often the answer to a write that was made: it must not fail for that)."""
    try:
        return await services.store.known_snoozes(space=space, rule_id=rule_id)
    except Exception as error:
        if not store_unreachable(error):
            raise
        _failures.failed("known snoozes", "the rule card shows no snoozes: the database did not answer", error=error)
        return []


def write_now(write: writes.Write) -> Route:
    """A write typed as a command acts at once and tells the channel."""

    async def run(inv: Invocation) -> None:
        args = inv.command.args
        if not isinstance(args, RuleArgs | AlertArgs | MuteAllArgs | SnoozeArgs | UnsnoozeArgs):
            raise TypeError(f"`{inv.command.action}` is not a rule write")
        target = Target(rule_id=args.rule_id, space=inv.space, alert_id=getattr(args, "alert_id", None))
        ends = args.end if isinstance(args, AlertArgs | MuteAllArgs) else None
        done = await writes.apply(
            inv.services,
            inv.actor,
            write,
            target,
            duration=args.duration if isinstance(args, SnoozeArgs) else ends,
            schedule_id=args.schedule_id if isinstance(args, UnsnoozeArgs) else None,
        )
        await inv.reply(f"{inv.actor.mention} {done}{as_whom()}.", public=True)

    return run


async def confirm_mute_all(inv: Invocation) -> None:
    """Rule-level writes confirm first: show the rule and a confirmed button (which carries the end
    of `mute-all … for/until`)."""
    args = inv.args(MuteAllArgs)
    rule = await inv.services.kibana.get_rule(args.rule_id, space=inv.space)
    url = inv.services.kibana.rule_url(rule.id, space=inv.space, public_base=inv.services.settings.kibana_link_base)
    buttons = rule_buttons(rule, inv.space, rule_url=url, snooze_api=inv.services.profile.current.snooze)
    ends = ""
    if args.end is not None:
        ends = f" ({mute_end.say(args.end)})"
        timed = Target(rule_id=rule.id, space=inv.space, option=args.end).pack()
        for element in buttons["elements"]:
            if element.get("action_id") == actions.RULE_MUTE_ALL:
                element["value"] = timed
                if "confirm" in element:  # not "until someone unmutes it"
                    element["confirm"]["text"]["text"] = (
                        f"No notifications for any alert of *{escape(rule.name)}* {mute_end.say(args.end)}."
                    )
    await inv.reply(
        f"Mute all alerts of {escape(rule.name)}?",
        blocks=[
            section(
                f"Mute all alerts of *{escape(rule.name)}* ({code(rule.id)}, {rule.active_alerts} active){ends}? "
                "Press *Mute all* to confirm."
            ),
            buttons,
        ],
    )


def routes(plumbing: Plumbing) -> dict[str, Route]:
    async def confirm_disable(inv: Invocation) -> None:
        args = inv.args(DisableArgs)
        await open_disable_modal(
            plumbing,
            inv.client,
            trigger_id=inv.trigger_id or "",
            target=Target(rule_id=args.rule_id, space=inv.space),
            untrack=args.untrack,
            origin=Origin(response_url=inv.response_url, channel=inv.actor.channel_id),
        )

    # Every write acts at once, but those that ask first: mute-all shows the rule and a confirmed
    # button, disable opens the form that asks whether to untrack.
    return {
        **{write.name: write_now(write) for write in writes.WRITES},
        actions.RULES.name: list_rules,
        actions.RULE.name: show_rule,
        actions.MUTE_ALL.name: confirm_mute_all,
        actions.DISABLE.name: confirm_disable,
    }
