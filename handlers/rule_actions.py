"""Buttons on the rule card and on alert messages: act on Kibana, then show who did what."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from handlers import rule_writes, values
from handlers.audit import check_access
from handlers.context import Actor
from handlers.errors import Doing, describe
from handlers.outcome import Origin, report
from handlers.rule_modals import open_disable_modal, open_snooze_modal
from handlers.rules import rule_card_blocks
from handlers.values import Target

log = logging.getLogger(__name__)

# action_id → the access-policy action it performs
BUTTON_ACTIONS = {
    values.ALERT_MUTE: "mute",
    values.ALERT_UNMUTE: "unmute",
    values.RULE_MUTE_ALL: "mute-all",
    values.RULE_UNMUTE_ALL: "unmute-all",
    values.RULE_ENABLE: "enable",
    values.RULE_DISABLE: "disable",
    values.RULE_SNOOZE: "snooze",
    values.RULE_UNSNOOZE: "unsnooze",
    values.RULE_SHOW: "rule",
}


def _value(action: dict[str, Any]) -> str | None:
    selected = action.get("selected_option")
    return selected.get("value") if selected else action.get("value")


def register(app: AsyncApp, services: Services) -> None:
    @app.action(values.RULE_LINK)
    async def on_link(ack: AsyncAck) -> None:
        await ack()  # a URL button: Slack opens the link, the bot only acknowledges

    async def on_button(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        services.track_current_task()
        action_id = action["action_id"]
        policy_action = BUTTON_ACTIONS[action_id]
        actor = Actor.from_interaction(body)
        origin = Origin.from_action(body)
        try:
            target = Target.decode(_value(action))
        except ValueError as error:
            await respond(text=str(error), response_type="ephemeral", replace_original=False)
            return
        doing = Doing(
            action=policy_action,
            space=target.space,
            rule_id=target.rule_id,
            alert_id=target.alert_id,
            command=services.settings.slack_command,
        )
        try:
            refusal = await check_access(services, actor, policy_action, target)
            if refusal is not None:
                await respond(text=refusal.message(), response_type="ephemeral", replace_original=False)
                return
            await _perform(services, client, body, action, actor, origin, target, policy_action, respond)
        except rule_writes.NothingToDo as nothing:
            await respond(text=str(nothing), response_type="ephemeral", replace_original=False)
        except Exception as error:
            await respond(text=describe(error, doing), response_type="ephemeral", replace_original=False)

    for action_id in BUTTON_ACTIONS:
        app.action(action_id)(on_button)


async def _perform(
    services: Services,
    client: AsyncWebClient,
    body: dict[str, Any],
    action: dict[str, Any],
    actor: Actor,
    origin: Origin,
    target: Target,
    policy_action: str,
    respond: AsyncRespond,
) -> None:
    if policy_action == "rule":
        rule = await services.kibana.get_rule(target.rule_id, space=target.space)
        url = services.kibana.rule_url(rule.id, space=target.space, public_base=services.settings.kibana_link_base)
        await respond(
            text=f"Rule {rule.name}",
            blocks=rule_card_blocks(rule, space=target.space, rule_url=url),
            response_type="ephemeral",
            replace_original=False,
        )
        return
    if policy_action == "disable":
        await open_disable_modal(
            services, client, trigger_id=body["trigger_id"], target=target, untrack=False, origin=origin
        )
        return
    duration = target.option if policy_action == "snooze" else None
    if duration == "custom":
        await open_snooze_modal(client, trigger_id=body["trigger_id"], target=target, origin=origin)
        return
    sentence = await rule_writes.apply(services, actor, policy_action, target, duration=duration)
    card = None
    if origin.ephemeral:
        rule = await services.kibana.get_rule(target.rule_id, space=target.space)
        url = services.kibana.rule_url(rule.id, space=target.space, public_base=services.settings.kibana_link_base)
        card = rule_card_blocks(rule, space=target.space, rule_url=url)
    message = body.get("message") or {}
    await report(
        services,
        origin,
        actor,
        sentence,
        message_blocks=message.get("blocks"),
        message_text=message.get("text", ""),
        ephemeral_blocks=card,
    )
