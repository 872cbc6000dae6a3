"""Clicks on the rule card's and alert messages' buttons and menus: act on Kibana, then show who did what."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from handlers.alerting import actions, writes
from handlers.alerting.commands import card_blocks
from handlers.alerting.modals import open_disable_modal, open_snooze_modal
from handlers.alerting.target import Target
from handlers.shared.blocks import escape
from handlers.shared.context import Actor
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.guard import surface_of
from handlers.shared.outcome import Origin

# The catalog's actions whose buttons and menus this feature answers.
RULE_ACTIONS = ("rule", *sorted(writes.WRITES))
ACTION_NAMES = {action_id: row.name for row in actions.ACTIONS.rows for action_id in row.action_ids}


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    services = plumbing.services

    async def on_link(ack: AsyncAck) -> None:
        await ack()  # a URL button: Slack opens the link, the bot only acknowledges

    async def card(target: Target) -> tuple[str, list[dict[str, Any]]]:
        rule = await services.kibana.get_rule(target.rule_id, space=target.space)
        return f"Rule {escape(rule.name)}", await card_blocks(services, rule, target.space)

    async def on_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        action_id = str((body.get("actions") or [{}])[0].get("action_id"))
        name = ACTION_NAMES[action_id]
        origin = Origin.from_action(body)

        async def perform(target: Target, actor: Actor) -> None:
            if name == "rule":
                text, blocks = await card(target)
                await plumbing.replies.privately(surface_of(body, actor), text, blocks=blocks)
                return
            if name == "disable":
                await open_disable_modal(
                    plumbing, client, trigger_id=body["trigger_id"], target=target, untrack=False, origin=origin
                )
                return
            duration = target.option if name == "snooze" else None
            if duration == "custom":
                await open_snooze_modal(client, trigger_id=body["trigger_id"], target=target, origin=origin)
                return
            sentence = await writes.apply(services, actor, name, target, duration=duration)
            await plumbing.outcomes.report(
                origin,
                actor,
                sentence,
                ephemeral_blocks=(await card(target))[1] if origin.ephemeral else None,
                done=writes.Written(name, target),
            )

        await plumbing.guard.click(ack, body, decode=Target.unpack, aim=Target.aim, run=perform)

    buttons: dict[str, Listener] = {actions.RULE_LINK: on_link}
    for action_id, name in ACTION_NAMES.items():
        if name in RULE_ACTIONS:
            buttons[action_id] = on_button
    return buttons
