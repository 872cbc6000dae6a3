"""Modals for rule writes that need a choice: disable (untrack?) and a custom snooze."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from slack_sdk.web.async_client import AsyncWebClient

from bot.kibana.errors import KibanaError
from handlers.alerting import writes
from handlers.alerting.actions import DISABLE_MODAL, SNOOZE_MODAL, snooze_duration
from handlers.alerting.explain import explain
from handlers.alerting.target import Target
from handlers.shared.blocks import Block, code, escape, modal, plain, section
from handlers.shared.codec import Metadata
from handlers.shared.context import Actor
from handlers.shared.errors import Doing, describe
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.grammar import UsageError
from handlers.shared.guard import Aim, Submission, packed
from handlers.shared.interaction import Interaction
from handlers.shared.outcome import Origin
from handlers.shared.replies import Surface
from handlers.shared.words import count

log = logging.getLogger(__name__)

UNTRACK = "untrack"
DURATION = "duration"


class RuleForm(Metadata):
    """What a rule modal carries: the rule, and where the action came from."""

    target: Target = Field(alias="t")
    origin: Origin = Field(alias="o")

    def aim(self) -> Aim:
        return self.target.aim(channel=self.origin.channel)

    def surface(self, actor: Actor) -> Surface:
        return Surface(
            user=actor.user_id,
            channel=self.origin.channel,
            thread_ts=self.origin.thread_ts or self.origin.message_ts,
            response_url=self.origin.response_url,
        )


async def open_disable_modal(
    plumbing: Plumbing, client: AsyncWebClient, *, trigger_id: str, target: Target, untrack: bool, origin: Origin
) -> None:
    """Open at once (the trigger id lives 3 s), then fill in the rule and its active alerts."""
    services = plumbing.services
    metadata = RuleForm(target=target, origin=origin).pack()
    loading = modal(
        DISABLE_MODAL,
        "Disable rule",
        [section(f"Loading rule {code(target.rule_id)}…")],
        metadata,
        submit=None,
    )
    opened = await client.views_open(trigger_id=trigger_id, view=loading)
    view_id = opened["view"]["id"]
    try:
        rule = await services.kibana.get_rule(target.rule_id, space=target.space)
    except KibanaError as error:
        doing = Doing(
            explain=explain,
            action=writes.DISABLE.name,
            space=target.space,
            rule_id=target.rule_id,
            command=services.settings.slack_command,
        )
        failed = [section(describe(error, doing))]
        await client.views_update(
            view_id=view_id, view=modal(DISABLE_MODAL, "Disable rule", failed, metadata, submit=None)
        )
        return
    choice = {
        "text": plain(f"Untrack its {count(rule.active_alerts, 'active alert')}"),
        "description": plain("They are marked untracked and stop showing as active."),
        "value": UNTRACK,
    }
    checkbox: Block = {"type": "checkboxes", "action_id": UNTRACK, "options": [choice]}
    if untrack:
        checkbox["initial_options"] = [choice]
    blocks = [
        section(
            f"Disable *{escape(rule.name)}* ({code(rule.id)}) in space `{target.space}`?\n"
            f"It has *{rule.active_alerts}* {count(rule.active_alerts, 'active alert').split(' ', 1)[1]}. "
            "A disabled rule stops running until enabled."
        ),
        {"type": "input", "block_id": UNTRACK, "optional": True, "label": plain("Alerts"), "element": checkbox},
    ]
    await client.views_update(
        view_id=view_id, view=modal(DISABLE_MODAL, "Disable rule", blocks, metadata, submit="Disable")
    )


async def open_snooze_modal(client: AsyncWebClient, *, trigger_id: str, target: Target, origin: Origin) -> None:
    blocks = [
        section(f"Snooze rule {code(target.rule_id)}: no notifications until the snooze ends."),
        {
            "type": "input",
            "block_id": DURATION,
            "label": plain("For how long"),
            "hint": plain("30m, 4h, 1d or 2w"),
            "element": {"type": "plain_text_input", "action_id": DURATION, "placeholder": plain("e.g. 8h")},
        },
    ]
    metadata = RuleForm(target=target, origin=origin).pack()
    await client.views_open(
        trigger_id=trigger_id, view=modal(SNOOZE_MODAL, "Snooze rule", blocks, metadata, submit="Snooze")
    )


@dataclass(frozen=True)
class Choice:
    """What the person chose in the modal."""

    untrack: bool = False
    duration: str | None = None


def _untrack(_: RuleForm, view: dict[str, Any]) -> Choice:
    state = view.get("state", {}).get("values", {})
    picked = state.get(UNTRACK, {}).get(UNTRACK, {}).get("selected_options") or []
    return Choice(untrack=any(option.get("value") == UNTRACK for option in picked))


def _duration(_: RuleForm, view: dict[str, Any]) -> Choice | dict[str, str]:
    text = view.get("state", {}).get("values", {}).get(DURATION, {}).get(DURATION, {}).get("value") or ""
    try:
        return Choice(duration=snooze_duration(text))
    except UsageError as error:
        return {DURATION: error.message}


def _first_input(view: dict[str, Any]) -> str:
    for block in view.get("blocks", []):
        if block.get("type") == "input":
            return str(block.get("block_id"))
    return DURATION


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    """The submissions of both modals, by callback id."""
    services, replies = plumbing.services, plumbing.replies

    async def tell(form: RuleForm, interaction: Interaction, text: str) -> None:
        """An error after a modal closed: tell only the person, where they were."""
        await replies.privately(form.surface(interaction.actor), text)

    def submitted(write: writes.Write, read: Callable[[RuleForm, dict[str, Any]], Choice | dict[str, str]]) -> Listener:
        async def run(form: RuleForm, choice: Choice, interaction: Interaction) -> None:
            actor = interaction.actor
            sentence = await writes.apply(
                services, actor, write, form.target, untrack=choice.untrack, duration=choice.duration
            )
            await plumbing.outcomes.report(form.origin, actor, sentence, done=writes.Written(write, form.target))

        return plumbing.guard.submission(
            Submission(
                decode=packed(RuleForm.unpack),
                read=read,
                aim=lambda form, _: form.aim(),
                run=run,
                tell=tell,
                error_block=_first_input,
            )
        )

    return {DISABLE_MODAL: submitted(writes.DISABLE, _untrack), SNOOZE_MODAL: submitted(writes.SNOOZE, _duration)}
