"""Buttons on the rule card and on alert messages: act on Kibana, then show who did what."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from handlers.alerting import writes
from handlers.alerting.commands import card_blocks
from handlers.alerting.modals import open_disable_modal, open_snooze_modal
from handlers.shared import catalog
from handlers.shared.blocks import escape
from handlers.shared.codec import Target
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.guard import Aim, Click, packed
from handlers.shared.interaction import Interaction
from handlers.shared.outcome import Done, Origin

# The catalog's actions whose buttons and menus this feature answers.
RULE_ACTIONS = ("rule", *sorted(writes.WRITES))


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    services = plumbing.services

    async def on_link(ack: AsyncAck) -> None:
        await ack()  # a URL button: Slack opens the link, the bot only acknowledges

    async def card(target: Target) -> tuple[str, list[dict[str, Any]]]:
        rule = await services.kibana.get_rule(target.rule_id, space=target.space)
        return f"Rule {escape(rule.name)}", await card_blocks(services, rule, target.space)

    def clicked(name: str) -> Listener:
        """The guarded listener of the buttons and menus that perform `name`."""

        async def perform(target: Target, interaction: Interaction) -> None:
            actor, origin = interaction.actor, Origin.of(interaction)
            if name == "rule":
                text, blocks = await card(target)
                await plumbing.replies.privately(interaction.surface, text, blocks=blocks)
                return
            trigger_id = interaction.trigger_id or ""
            if name == "disable":
                await open_disable_modal(
                    plumbing, services.slack, trigger_id=trigger_id, target=target, untrack=False, origin=origin
                )
                return
            duration = target.option if name == "snooze" else None
            if duration == "custom":
                await open_snooze_modal(services.slack, trigger_id=trigger_id, target=target, origin=origin)
                return
            sentence = await writes.apply(services, actor, name, target, duration=duration)
            await plumbing.outcomes.report(
                origin,
                actor,
                sentence,
                ephemeral_blocks=(await card(target))[1] if origin.ephemeral else None,
                done=Done(name, target),
            )

        return plumbing.guard.click(Click(decode=packed(Target.unpack), aim=Aim.at, run=perform))

    buttons: dict[str, Listener] = {catalog.RULE_LINK: on_link}
    for name in RULE_ACTIONS:
        listener = clicked(name)
        for action_id in catalog.action(name).action_ids:
            buttons[action_id] = listener
    return buttons
