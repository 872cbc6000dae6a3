"""Clicks on the rule card's and alert messages' buttons and menus: act on Kibana, then show who did what."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from handlers.alerting import writes
from handlers.alerting.actions import RULE_DISABLE, RULE_LINK, RULE_SHOW, RULE_SNOOZE
from handlers.alerting.commands import card_blocks
from handlers.alerting.modals import open_disable_modal, open_snooze_modal
from handlers.alerting.target import CUSTOM, Target
from handlers.shared.blocks import escape
from handlers.shared.context import Actor
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.guard import surface_of
from handlers.shared.outcome import Origin

# What one click does once the guard let it through: (the body, the client, what it targets, who) → None.
Click = Callable[[dict[str, Any], AsyncWebClient, Target, Actor], Awaitable[None]]


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    """Every write's buttons and menus act at once; Details shows the card, Disable… and the snooze
    menu's Custom… open a form."""
    services = plumbing.services

    async def card(target: Target) -> tuple[str, list[dict[str, Any]]]:
        rule = await services.kibana.get_rule(target.rule_id, space=target.space)
        return f"Rule {escape(rule.name)}", await card_blocks(services, rule, target.space)

    def write_now(write: writes.Write) -> Click:
        async def perform(body: dict[str, Any], client: AsyncWebClient, target: Target, actor: Actor) -> None:
            origin = Origin.from_action(body)
            sentence = await writes.apply(services, actor, write, target, duration=target.option)
            await plumbing.outcomes.report(
                origin,
                actor,
                sentence,
                ephemeral_blocks=(await card(target))[1] if origin.ephemeral else None,
                done=writes.Written(write, target),
            )

        return perform

    async def show_card(body: dict[str, Any], client: AsyncWebClient, target: Target, actor: Actor) -> None:
        text, blocks = await card(target)
        await plumbing.replies.privately(surface_of(body, actor), text, blocks=blocks)

    async def disable_form(body: dict[str, Any], client: AsyncWebClient, target: Target, actor: Actor) -> None:
        origin = Origin.from_action(body)
        await open_disable_modal(
            plumbing, client, trigger_id=body["trigger_id"], target=target, untrack=False, origin=origin
        )

    snooze_now = write_now(writes.SNOOZE)

    async def snooze_choice(body: dict[str, Any], client: AsyncWebClient, target: Target, actor: Actor) -> None:
        if target.option == CUSTOM:
            origin = Origin.from_action(body)
            await open_snooze_modal(client, trigger_id=body["trigger_id"], target=target, origin=origin)
            return
        await snooze_now(body, client, target, actor)

    def guarded(click: Click) -> Listener:
        async def on_click(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
            async def run(target: Target, actor: Actor) -> None:
                await click(body, client, target, actor)

            await plumbing.guard.click(ack, body, decode=Target.unpack, aim=Target.aim, run=run)

        return on_click

    async def on_link(ack: AsyncAck) -> None:
        await ack()  # a URL button: Slack opens the link, the bot only acknowledges

    clicks: dict[str, Click] = {
        action_id: write_now(write) for write in writes.WRITES for action_id in write.action.action_ids
    }
    clicks.update({RULE_SHOW: show_card, RULE_DISABLE: disable_form, RULE_SNOOZE: snooze_choice})
    return {RULE_LINK: on_link, **{action_id: guarded(click) for action_id, click in clicks.items()}}
