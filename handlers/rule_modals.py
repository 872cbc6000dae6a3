"""Modals for rule writes that need a choice: disable (untrack?) and a custom snooze."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.kibana.errors import KibanaError
from bot.services import Services
from handlers import rule_writes, values
from handlers.audit import check_access
from handlers.blocks import Block, escape, plain, section
from handlers.context import Actor
from handlers.errors import Doing, describe
from handlers.grammar import UsageError, parse_duration
from handlers.outcome import Origin, report
from handlers.values import Target

log = logging.getLogger(__name__)

UNTRACK = "untrack"


def _metadata(target: Target, origin: Origin) -> str:
    return json.dumps({"t": target.encode(), "o": origin.to_json()}, separators=(",", ":"))


def _from_metadata(text: str) -> tuple[Target, Origin]:
    data = json.loads(text)
    return Target.decode(data["t"]), Origin.from_json(data["o"])


def _modal(callback_id: str, title: str, blocks: list[Block], metadata: str, *, submit: str | None) -> Block:
    view: Block = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "close": plain("Cancel"),
        "blocks": blocks,
        "private_metadata": metadata,
    }
    if submit:
        view["submit"] = plain(submit, 24)
    return view


async def open_disable_modal(
    services: Services,
    client: AsyncWebClient,
    *,
    trigger_id: str,
    target: Target,
    untrack: bool,
    origin: dict[str, Any] | Origin,
) -> None:
    """Open at once (the trigger id lives 3 s), then fill in the rule's name and active alerts."""
    if isinstance(origin, dict):
        origin = Origin(channel=origin.get("channel"), response_url=origin.get("response_url"))
    metadata = _metadata(target, origin)
    loading = _modal(
        values.DISABLE_MODAL,
        "Disable rule",
        [section(f"Loading rule `{target.rule_id}`…")],
        metadata,
        submit=None,
    )
    opened = await client.views_open(trigger_id=trigger_id, view=loading)
    view_id = opened["view"]["id"]
    try:
        rule = await services.kibana.get_rule(target.rule_id, space=target.space)
    except KibanaError as error:
        doing = Doing(
            action="disable",
            space=target.space,
            rule_id=target.rule_id,
            command=services.settings.slack_command,
        )
        await client.views_update(
            view_id=view_id,
            view=_modal(values.DISABLE_MODAL, "Disable rule", [section(describe(error, doing))], metadata, submit=None),
        )
        return
    choice = {
        "text": plain(f"Untrack its {rule.active_alerts} active alert(s)"),
        "description": plain("They are marked untracked and stop showing as active."),
        "value": UNTRACK,
    }
    checkbox: Block = {"type": "checkboxes", "action_id": UNTRACK, "options": [choice]}
    if untrack:
        checkbox["initial_options"] = [choice]
    blocks = [
        section(
            f"Disable *{escape(rule.name)}* (`{rule.id}`) in space `{target.space}`?\n"
            f"It has *{rule.active_alerts}* active alert(s). A disabled rule stops running until enabled."
        ),
        {
            "type": "input",
            "block_id": UNTRACK,
            "optional": True,
            "label": plain("Alerts"),
            "element": checkbox,
        },
    ]
    await client.views_update(
        view_id=view_id, view=_modal(values.DISABLE_MODAL, "Disable rule", blocks, metadata, submit="Disable")
    )


async def open_snooze_modal(client: AsyncWebClient, *, trigger_id: str, target: Target, origin: Origin) -> None:
    blocks = [
        section(f"Snooze rule `{target.rule_id}`: no notifications until the snooze ends."),
        {
            "type": "input",
            "block_id": "duration",
            "label": plain("For how long"),
            "hint": plain("30m, 4h, 1d or 2w"),
            "element": {"type": "plain_text_input", "action_id": "duration", "placeholder": plain("e.g. 8h")},
        },
    ]
    await client.views_open(
        trigger_id=trigger_id,
        view=_modal(values.SNOOZE_MODAL, "Snooze rule", blocks, _metadata(target, origin), submit="Snooze"),
    )


def register(app: AsyncApp, services: Services) -> None:
    @app.view(values.DISABLE_MODAL)
    async def on_disable(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        state = view.get("state", {}).get("values", {})
        picked = state.get(UNTRACK, {}).get(UNTRACK, {}).get("selected_options") or []
        untrack = any(option.get("value") == UNTRACK for option in picked)
        await _submit(ack, services, body, view, "disable", untrack=untrack)

    @app.view(values.SNOOZE_MODAL)
    async def on_snooze(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        text = view.get("state", {}).get("values", {}).get("duration", {}).get("duration", {}).get("value") or ""
        try:
            duration = parse_duration(text)
        except UsageError as error:
            await ack(response_action="errors", errors={"duration": error.message})
            return
        await _submit(ack, services, body, view, "snooze", duration=duration)


async def _submit(
    ack: AsyncAck, services: Services, body: dict[str, Any], view: dict[str, Any], action: str, **kwargs: Any
) -> None:
    target, origin = _from_metadata(view.get("private_metadata") or "{}")
    actor = Actor.from_interaction(body)
    actor = Actor(actor.user_id, actor.user_name, actor.team_id, origin.channel)
    refusal = await check_access(services, actor, action, target)
    if refusal is not None:
        await ack(response_action="errors", errors={_first_input(view): refusal.message()})
        return
    await ack()
    services.track_current_task()
    try:
        sentence = await rule_writes.apply(services, actor, action, target, **kwargs)
    except Exception as error:
        doing = Doing(
            action=action, space=target.space, rule_id=target.rule_id, command=services.settings.slack_command
        )
        await _tell(services, origin, actor, describe(error, doing))
        return
    await report(services, origin, actor, sentence)


def _first_input(view: dict[str, Any]) -> str:
    for block in view.get("blocks", []):
        if block.get("type") == "input":
            return str(block.get("block_id"))
    return "duration"


async def _tell(services: Services, origin: Origin, actor: Actor, text: str) -> None:
    """An error after a modal closed: tell only the person, where they were."""
    try:
        if origin.response_url:
            from slack_sdk.webhook.async_client import AsyncWebhookClient

            await AsyncWebhookClient(origin.response_url).send(
                text=text, response_type="ephemeral", replace_original=False
            )
        elif origin.channel:
            await services.slack.chat_postEphemeral(
                channel=origin.channel, user=actor.user_id, text=text, thread_ts=origin.message_ts
            )
    except Exception:
        log.exception("could not report a failed %s to the user", "modal action")
