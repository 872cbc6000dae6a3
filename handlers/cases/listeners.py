"""Open a Kibana case from Slack: the `open_case` message shortcut, the `case_open` button on
alert messages and `/kibana case [<title>]` open a prefilled form; submitting it creates the
case exactly once and posts its link in the message's thread. The shortcut and the button are
guarded like every other write; their form opens before the access check (the trigger id lives
3 s), and a refusal is shown in it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.kibana.errors import KibanaError
from bot.kibana.models.cases import CaseCreate, CaseSettings
from bot.services import Services
from handlers.alerting.shown import check_shown
from handlers.alerting.target import Target
from handlers.cases import step
from handlers.cases.actions import CASE, CASE_MODAL, CASE_OPEN, COMMENT_MODAL, OPEN_CASE_SHORTCUT, CaseArgs
from handlers.cases.creation import CaseOutcomeUnknown, CaseStillPending, OpenedCase, link_for, open_case_once
from handlers.cases.explain import explain
from handlers.cases.form import (
    COMMENT,
    OWNER,
    TITLE,
    CaseFields,
    CaseOrigin,
    Prefill,
    case_form,
    comment_form,
    dedupe_key,
    description_for,
    notice,
    read_case_form,
    read_comment,
    shortened,
    source_line,
    title_from,
)
from handlers.cases.linked import register_linked
from handlers.cases.linking import link_to_thread, note_own_comment
from handlers.cases.whole_message import add_whole_message, whole_message_note
from handlers.shared.audit import record
from handlers.shared.blocks import Block, clip, code, escape
from handlers.shared.context import Actor, Invocation
from handlers.shared.errors import Doing, describe
from handlers.shared.feature import Contribution, Listener, Plumbing
from handlers.shared.guard import Aim, Click, Submission, packed
from handlers.shared.interaction import Interaction, Message
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)

ACTION = CASE


@dataclass(frozen=True)
class OpenedForm:
    """The modal the bot opened, to update in place (the hash refuses an update of a changed form)."""

    view_id: str
    view_hash: str
    callback_id: str


@dataclass(frozen=True)
class Opening:
    """The form being opened on a message (the shortcut) or an alert message (its button)."""

    origin: CaseOrigin
    text: str  # the message's, for the prefill
    target: Target | None = None  # the alert's (alerting's rule-and-alert value), from its button
    case_url: str | None = None  # the message already has a case: the form adds to it
    form: OpenedForm | None = None  # once open, the person is told through it


def register(plumbing: Plumbing) -> Contribution:
    """The command, the shortcut, the alert button and the two modals."""
    services, replies = plumbing.services, plumbing.replies

    def from_message(interaction: Interaction) -> Opening:
        message = interaction.message or Message()
        return Opening(CaseOrigin.of_message(interaction, services.settings.kibana_space), message.text)

    def from_alert(interaction: Interaction) -> Opening:
        target = Target.unpack(interaction.value)
        origin = CaseOrigin(
            kind="alert",
            channel=interaction.channel,
            message_ts=interaction.message_ts,
            thread_ts=interaction.thread_ts,
            space=target.space,
            rule_id=target.rule_id,
            alert_id=target.alert_id,
            response_url=interaction.response_url,
        )
        return Opening(origin, (interaction.message or Message()).text, target=target)

    def aim_opening(opening: Opening) -> Aim:
        origin, target = opening.origin, opening.target
        if target is not None:
            return Aim(target, target.space, target.rule_id, target.alert_id, detail="open the form")
        return Aim(f"{origin.channel}:{origin.message_ts}", origin.space, detail="open the form")

    async def open_form(opening: Opening, interaction: Interaction) -> Opening:
        """At once (the trigger id lives 3 s): the form, or the add-to-case form when the message has a case."""
        origin = opening.origin
        if origin.channel and origin.message_ts:
            existing = await services.store.case_for_message(origin.channel, origin.message_ts)
            if existing is not None and existing.case_id:
                origin = origin.model_copy(update={"case_id": existing.case_id})
                opening = replace(opening, origin=origin, case_url=existing.case_url)
        view, whole = _form_view(opening, _message_prefill(origin, opening.text, services.settings.case_owner))
        opened = (await services.slack.views_open(trigger_id=interaction.trigger_id or "", view=view))["view"]
        form = OpenedForm(str(opened["id"]), str(opened["hash"]), str(opened.get("callback_id") or CASE_MODAL))
        if whole:
            await services.store.keep_case_form_text(form.view_id, opening.text)
        return replace(opening, form=form)

    async def fill_form(opening: Opening, interaction: Interaction) -> None:
        """Once access is granted: the message's permalink, and for an alert its rule."""
        assert opening.form is not None
        origin = opening.origin.model_copy(update={"permalink": await _permalink(services, opening.origin)})
        prefill = _message_prefill(origin, opening.text, services.settings.case_owner)
        if origin.case_id is None and origin.kind == "alert":
            await _add_rule(services, origin, prefill, opening.text)
        view, whole = _form_view(replace(opening, origin=origin), prefill)
        if whole:  # the link and the rule take room too: the form may show less of the message than at first
            await services.store.keep_case_form_text(opening.form.view_id, opening.text)
        await _update(services.slack, opening.form, view)

    async def tell_opening(opening: Opening, interaction: Interaction, text: str) -> None:
        """In the form once it is open (a refusal, a failure while filling it in), else privately."""
        form = opening.form
        if form is not None:
            shown = notice(form.callback_id, "Open a Kibana case", text, opening.origin)
            if await _update(services.slack, form, shown):
                return
        await replies.privately(opening.origin.surface(interaction.actor.user_id), text)

    on_message = Click(decode=from_message, aim=aim_opening, run=fill_form, tell=tell_opening, open_form=open_form)

    async def from_shown_alert(interaction: Interaction) -> Opening:
        """An alert message's *Open case*: its alert must be one that message shows (a forged one is refused)."""
        opening = from_alert(interaction)
        assert opening.target is not None
        await check_shown(services, interaction, opening.target)
        return opening

    on_alert = replace(on_message, decode=from_alert, resolve=from_shown_alert)

    async def case_command(inv: Invocation) -> None:
        """`/kibana case [<title>]`: the same form, in the command's channel, with no source message."""
        actor = inv.actor
        origin = CaseOrigin(kind="command", channel=actor.channel_id, space=inv.space, response_url=inv.response_url)
        prefill = Prefill(
            title=inv.args(CaseArgs).title,
            description=f"Opened from Slack by <@{actor.user_id}> in <#{actor.channel_id}>.",
            owner=services.settings.case_owner,
            note=f"The link to the case will be posted in <#{actor.channel_id}>.",
        )
        if not inv.trigger_id:
            raise ValueError("Slack sent no trigger_id with the command")
        await inv.client.views_open(trigger_id=inv.trigger_id, view=case_form(prefill, origin))

    async def tell(origin: CaseOrigin, interaction: Interaction, text: str) -> None:
        await replies.privately(origin.surface(interaction.actor.user_id), text)

    def read_case(origin: CaseOrigin, view: dict[str, Any]) -> CaseFields | dict[str, str]:
        return read_case_form(view, footer=source_line(origin) if origin.kind != "command" else "")

    def read_new_comment(origin: CaseOrigin, view: dict[str, Any]) -> str | dict[str, str]:
        if origin.case_id is None:
            return {COMMENT: "No case to add to."}
        return read_comment(view)

    async def create(origin: CaseOrigin, fields: CaseFields, interaction: Interaction) -> None:
        await _create(services, replies, interaction.actor, origin, fields, view_id=interaction.view_id or "")

    async def acknowledge(origin: CaseOrigin, fields: CaseFields, ack: AsyncAck) -> bool:
        problem = await required_custom_fields(services, fields.owner, origin)
        if problem is None:
            await ack()
            return True
        await ack(response_action="errors", errors={OWNER: problem})
        return False

    async def add_comment(origin: CaseOrigin, text: str, interaction: Interaction) -> None:
        await _add_comment(services, replies, interaction.actor, origin, text, view_id=interaction.view_id or "")

    def aim(origin: CaseOrigin, target: str, detail: str = "") -> Aim:
        return Aim(target, origin.space, origin.rule_id, channel=origin.channel, detail=detail)

    new_case = Submission(
        decode=packed(CaseOrigin.unpack),
        read=read_case,
        aim=lambda origin, fields: aim(origin, fields.title),
        run=create,
        tell=tell,
        error_block=TITLE,
        acknowledge=acknowledge,
    )
    new_comment = Submission(
        decode=packed(CaseOrigin.unpack),
        read=read_new_comment,
        aim=lambda origin, _: aim(origin, origin.case_id or "", "comment"),
        run=add_comment,
        tell=tell,
        error_block=COMMENT,
    )
    guard = plumbing.guard
    views: dict[str, Listener] = {
        CASE_MODAL: guard.submission(new_case),
        COMMENT_MODAL: guard.submission(new_comment),
    }
    linked = register_linked(plumbing)  # the case card, and the thread's sync with the case both ways
    return Contribution(
        commands={CASE.name: case_command, **linked.commands},
        actions={CASE_OPEN: guard.click(on_alert), **linked.actions},
        views=views,
        shortcuts={OPEN_CASE_SHORTCUT: guard.click(on_message)},
        steps=step.listeners(plumbing),
        events=linked.events,
        background=linked.background,
        closers=linked.closers,
        parts=linked.parts,
    )


# Asking Kibana for the owner's case settings must leave time to answer Slack within its 3 s.
CONFIGURATION_WAIT = 1.5


async def required_custom_fields(services: Services, owner: str, origin: CaseOrigin) -> str | None:
    """What to show in the form when the owner's case settings require custom fields that have no
    default (Kibana would refuse the case with 400 `Missing required custom fields without default value
    configured`), naming their keys; None when there are none, or when Kibana does not say in time (the
    creation's own answer then tells the user)."""
    try:
        async with asyncio.timeout(CONFIGURATION_WAIT):
            configurations = await services.kibana.get_case_configuration(owner, space=origin.space)
    except (KibanaError, TimeoutError) as error:
        log.info("case settings of %s not read (%s); creating without checking them", owner, error)
        return None
    missing = [f for c in configurations if c.owner in (None, owner) for f in c.required_without_default()]
    if not missing:
        return None
    named = ", ".join(f"`{f.key}`" + (f" ({f.label})" if f.label and f.label != f.key else "") for f in missing)
    return (
        f"Kibana's {owner} case settings require custom fields without a default value: {named}. Cases opened "
        "from Slack cannot fill them in; choose another app, or ask a Kibana admin to give them a default "
        "or make them optional (Cases → Settings)."
    )


def _doing(services: Services, origin: CaseOrigin) -> Doing:
    return Doing(action=ACTION.name, space=origin.space, command=services.settings.slack_command, explain=explain)


# ---- opening the form -------------------------------------------------------------------


def _form_view(opening: Opening, prefill: Prefill) -> tuple[Block, bool]:
    """The new-case form, or the add-to-case form for a message that already has a case; and whether
    it shows only the beginning of the message (its whole text is then kept for the submission)."""
    origin = opening.origin
    if origin.case_id is None:
        whole = bool(prefill.whole_note)
        return case_form(prefill, origin.model_copy(update={"shortened": whole or None})), whole
    comment = description_for(opening.text, origin)
    whole = shortened(opening.text, origin)
    note = whole_message_note(opening.text) if whole else ""
    marked = origin.model_copy(update={"shortened": whole or None})
    return comment_form(
        marked, case_title="the case", case_url=opening.case_url, comment=comment, whole_note=note
    ), whole


def _describe(prefill: Prefill, text: str, origin: CaseOrigin, *, extra: str = "") -> None:
    """The description from the message (its beginning, when the whole does not fit a form field)."""
    prefill.description = description_for(text, origin, extra=extra)
    prefill.whole_note = whole_message_note(text) if shortened(text, origin, extra=extra) else ""


def _message_prefill(origin: CaseOrigin, text: str, owner: str) -> Prefill:
    where = f"<{origin.permalink}|this message>" if origin.permalink else "this message"
    by = f" by <@{origin.author}>" if origin.author else ""
    prefill = Prefill(
        title=title_from(text),
        owner=owner,
        note=f"From {where}{by}; the link to the case will be posted in its thread.",
    )
    _describe(prefill, text, origin)
    return prefill


async def _add_rule(services: Services, origin: CaseOrigin, prefill: Prefill, text: str) -> None:
    """An alert's case: titled after its rule and alert, tagged with the rule's tags."""
    assert origin.rule_id is not None
    try:
        rule = await services.kibana.get_rule(origin.rule_id, space=origin.space)
    except KibanaError as error:
        log.info("case form for alert of rule %s: rule not readable (%s)", origin.rule_id, error)
        return
    prefill.title = clip(f"{rule.name}: {origin.alert_id}" if origin.alert_id else rule.name, 160)
    prefill.tags = list(dict.fromkeys(["slack", *rule.tags]))
    rule_url = services.kibana.rule_url(rule.id, space=origin.space, public_base=services.settings.kibana_link_base)
    alert = f", alert `{origin.alert_id}`" if origin.alert_id else ""
    _describe(prefill, text, origin, extra=f"Rule: [{rule.name}]({rule_url}){alert}, space `{origin.space}`.")


async def _permalink(services: Services, origin: CaseOrigin) -> str | None:
    if not (origin.channel and origin.message_ts):
        return None
    try:
        answer = await services.slack.chat_getPermalink(channel=origin.channel, message_ts=origin.message_ts)
    except SlackApiError as error:
        log.info("no permalink for %s/%s: %s", origin.channel, origin.message_ts, error.response.get("error"))
        return None
    link = answer.get("permalink")
    return link if isinstance(link, str) else None


async def _update(client: AsyncWebClient, form: OpenedForm, view: Block) -> bool:
    try:
        await client.views_update(view_id=form.view_id, hash=form.view_hash, view=view)
    except SlackApiError as error:  # closed meanwhile, or changed by someone else: the form still works
        log.info("could not update the case form %s: %s", form.view_id, error.response.get("error"))
        return False
    return True


# ---- submitting -----------------------------------------------------------------------


async def _create(
    services: Services, replies: Replies, actor: Actor, origin: CaseOrigin, fields: CaseFields, *, view_id: str
) -> None:
    surface = origin.surface(actor.user_id)
    key = dedupe_key(origin, view_id)
    case = CaseCreate(
        title=fields.title,
        description=fields.description,
        tags=fields.tags,
        severity=fields.severity,
        owner=fields.owner,
        settings=CaseSettings(sync_alerts=fields.sync_alerts),
    )
    try:
        opened = await open_case_once(
            services, key=key, case=case, space=origin.space, channel=origin.channel, message_ts=origin.message_ts
        )
    except CaseOutcomeUnknown as unknown:
        await record(
            services,
            actor,
            ACTION.name,
            key,
            result="error",
            space=origin.space,
            kibana_status=unknown.cause.status_code,
            detail=f"outcome unknown: {unknown.cause}",
        )
        await replies.privately(surface, _unknown_sentence(services, origin))
        return
    except CaseStillPending:
        await replies.privately(
            surface,
            "Another submission of this form is still opening the case; its link will appear here once it is open.",
        )
        return
    except Exception as error:
        status = error.status_code if isinstance(error, KibanaError) else None
        await record(
            services,
            actor,
            ACTION.name,
            key,
            result="error",
            space=origin.space,
            kibana_status=status,
            detail=str(error),
        )
        await replies.privately(surface, describe(error, _doing(services, origin)))
        return
    if not opened.recorded_here:
        await replies.privately(surface, f"This already has a Kibana case: {_link(opened)}.")
        return
    await record(services, actor, ACTION.name, opened.case_id, result="ok", space=origin.space, detail=fields.title)
    await _announce(replies, origin, actor, f"{actor.mention} opened Kibana case {_link(opened)}.")
    await _comment_on_new_case(services, replies, origin, actor, opened, fields)
    await link_to_thread(services, replies, actor, origin, opened.case_id, fields.owner, fields.title)
    if origin.shortened:
        await add_whole_message(
            services,
            replies,
            actor,
            origin,
            opened.case_id,
            fields.owner,
            view_id=view_id,
            doing=_doing(services, origin),
        )


def _link(opened: OpenedCase) -> str:
    title = clip(opened.title, 80) if opened.title else opened.case_id
    return f"<{opened.url}|{escape(title)}>" if opened.url else code(title)


def _unknown_sentence(services: Services, origin: CaseOrigin) -> str:
    if origin.kind == "command":
        return (
            "Kibana did not answer in time while opening the case, and no case from this form exists, so it was "
            "most likely not created. Check Kibana's case list before opening it again."
        )
    return (
        "Kibana did not answer in time while opening the case, and no case from this message exists, so it was "
        "not created. Open the form again to retry — the bot looks for the case first, so you never get two."
    )


async def _announce(replies: Replies, origin: CaseOrigin, actor: Actor, text: str) -> None:
    """Where everyone sees it: the message's thread, or the command's channel (through its
    response_url when the bot is not a member), failing that only the person."""
    await replies.publicly(origin.surface(actor.user_id), text, via_response_url=origin.kind == "command")


async def _comment_on_new_case(
    services: Services, replies: Replies, origin: CaseOrigin, actor: Actor, opened: OpenedCase, fields: CaseFields
) -> None:
    where = f": {origin.permalink}" if origin.permalink else (f" in <#{origin.channel}>" if origin.channel else "")
    comment = f"Opened from Slack by @{actor.user_name or actor.user_id} (<@{actor.user_id}>){where}"
    try:
        await services.kibana.add_case_comment(opened.case_id, comment, owner=fields.owner, space=origin.space)
    except KibanaError as error:
        log.warning("case %s: could not add the Slack comment: %s", opened.case_id, error)
        await replies.privately(
            origin.surface(actor.user_id),
            f"The case is open, but naming you on it failed: {describe(error, _doing(services, origin))}",
        )


async def _add_comment(
    services: Services, replies: Replies, actor: Actor, origin: CaseOrigin, text: str, *, view_id: str
) -> None:
    assert origin.case_id is not None
    key = f"comment:{view_id}"
    claim = await services.store.claim_case(key, space=origin.space, channel=None, message_ts=None)
    if not claim.first:
        return  # the same form submitted twice: the first submission adds the comment
    try:
        case = await services.kibana.get_case(origin.case_id, space=origin.space)
        comment = f"{text}\n\nAdded from Slack by @{actor.user_name or actor.user_id} (<@{actor.user_id}>)"
        updated = await services.kibana.add_case_comment(case.id, comment, owner=case.owner, space=origin.space)
        await note_own_comment(services, updated, comment)  # not told back to the case's thread
    except Exception as error:
        await services.store.release_case_claim(key)
        status = error.status_code if isinstance(error, KibanaError) else None
        await record(
            services,
            actor,
            ACTION.name,
            origin.case_id,
            result="error",
            space=origin.space,
            kibana_status=status,
            detail=f"comment: {error}",
        )
        await replies.privately(origin.surface(actor.user_id), describe(error, _doing(services, origin)))
        return
    if origin.shortened:
        await add_whole_message(
            services, replies, actor, origin, updated.id, updated.owner, view_id=view_id, doing=_doing(services, origin)
        )
    url = link_for(services, updated, origin.space)
    await services.store.set_case_id(key, updated.id, case_url=url)
    await record(services, actor, ACTION.name, updated.id, result="ok", space=origin.space, detail="comment")
    opened = OpenedCase(updated.id, url, updated.title, updated.owner, recorded_here=True)
    await _announce(replies, origin, actor, f"{actor.mention} added this message to Kibana case {_link(opened)}.")
