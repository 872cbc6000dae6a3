"""Clicks on the rule card's and alert messages' buttons and menus: act on Kibana, then show who did what."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck

from handlers.alerting import reminders, writes
from handlers.alerting.actions import RULE_DISABLE, RULE_LINK, RULE_SHOW, RULE_SNOOZE
from handlers.alerting.commands import card_blocks
from handlers.alerting.modals import open_disable_modal, open_snooze_modal
from handlers.alerting.shown import chosen
from handlers.alerting.target import CUSTOM, Target
from handlers.shared.blocks import escape
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.guard import Click, packed
from handlers.shared.interaction import Interaction
from handlers.shared.outcome import Origin

# What one click does once the guard let it through: (what it targets, the click) → None.
Perform = Callable[[Target, Interaction], Awaitable[None]]


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    """Every write's buttons and menus act at once; Details shows the card, Disable… and the snooze
    menu's Custom… open a form."""
    services = plumbing.services

    async def card(target: Target) -> tuple[str, list[dict[str, Any]]]:
        rule = await services.kibana.get_rule(target.rule_id, space=target.space)
        return f"Rule {escape(rule.name)}", await card_blocks(services, rule, target.space)

    def write_now(write: writes.Write) -> Perform:
        async def perform(target: Target, interaction: Interaction) -> None:
            origin = Origin.of(interaction)
            place = writes.Place(
                origin.channel, (origin.thread_ts or origin.message_ts) if origin.in_channel_message else None
            )
            sentence = await writes.apply(
                services, interaction.actor, write, target, duration=target.option, place=place
            )
            await plumbing.outcomes.report(
                origin,
                interaction.actor,
                sentence,
                ephemeral_blocks=(await card(target))[1] if origin.ephemeral else None,
                done=writes.Written(write, target),
            )

        return perform

    async def show_card(target: Target, interaction: Interaction) -> None:
        text, blocks = await card(target)
        await plumbing.replies.privately(interaction.surface, text, blocks=blocks)

    async def disable_form(target: Target, interaction: Interaction) -> None:
        await open_disable_modal(
            plumbing,
            services.slack,
            trigger_id=interaction.trigger_id or "",
            target=target,
            untrack=False,
            origin=Origin.of(interaction),
        )

    snooze_now = write_now(writes.SNOOZE)

    async def snooze_choice(target: Target, interaction: Interaction) -> None:
        if target.option == CUSTOM:
            trigger_id = interaction.trigger_id or ""
            await open_snooze_modal(services.slack, trigger_id=trigger_id, target=target, origin=Origin.of(interaction))
            return
        await snooze_now(target, interaction)

    async def resolve(interaction: Interaction) -> Target:
        """A button's or menu's value (or the sealed reference a menu option carries instead), which
        must be what the message it came from shows (handlers/alerting/shown.py)."""
        return await chosen(services, interaction)

    def guarded(perform: Perform) -> Listener:
        return plumbing.guard.click(Click(decode=packed(Target.unpack), aim=Target.aim, run=perform, resolve=resolve))

    async def on_link(ack: AsyncAck) -> None:
        await ack()  # a URL button: Slack opens the link, the bot only acknowledges

    clicks: dict[str, Perform] = {
        action_id: write_now(write) for write in writes.WRITES for action_id in write.action.action_ids
    }
    clicks.update({RULE_SHOW: show_card, RULE_DISABLE: disable_form, RULE_SNOOZE: snooze_choice})
    return {
        RULE_LINK: on_link,
        **{action_id: guarded(click) for action_id, click in clicks.items()},
        **reminders.listeners(plumbing),  # a reminder's buttons name the mute or snooze, not a Target
    }
