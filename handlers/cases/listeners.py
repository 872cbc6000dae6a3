"""Open a Kibana case from Slack: the `open_case` message shortcut, the `case_open` button on
alert messages and `/kibana case [<title>]` open a prefilled form; submitting it creates the
case exactly once and posts its link in the message's thread."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.kibana.errors import KibanaError
from bot.kibana.models.cases import CaseCreate, CaseSettings
from bot.services import Services
from handlers.cases.actions import CASE, CASE_MODAL, CASE_OPEN, COMMENT_MODAL, OPEN_CASE_SHORTCUT, CaseArgs
from handlers.cases.creation import CaseOutcomeUnknown, CaseStillPending, OpenedCase, link_for, open_case_once
from handlers.cases.form import (
    COMMENT,
    OWNER,
    TITLE,
    AlertRef,
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
    source_line,
    title_from,
)
from handlers.shared.audit import record
from handlers.shared.blocks import clip, code, escape
from handlers.shared.codec import ForgedValue
from handlers.shared.context import Actor, Invocation
from handlers.shared.errors import Doing, describe
from handlers.shared.feature import Contribution, Listener, Plumbing
from handlers.shared.guard import Aim, element_value, surface_of
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)

ACTION = CASE


def register(plumbing: Plumbing) -> Contribution:
    """The command, the shortcut, the alert button and the two modals."""
    services, replies = plumbing.services, plumbing.replies

    async def on_shortcut(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        services.track_current_task()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id")
        origin = CaseOrigin(
            kind="message",
            channel=channel,
            message_ts=body.get("message_ts") or message.get("ts"),
            thread_ts=message.get("thread_ts"),
            space=services.settings.kibana_space,
            author=message.get("user"),
            response_url=body.get("response_url"),
        )
        actor = _actor(body, origin)
        await _open_for_message(plumbing, client, body["trigger_id"], origin, actor, message.get("text") or "")

    async def on_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Opens the form at once (its access check follows, in the form; submitting is guarded)."""
        await ack()
        services.track_current_task()
        container = body.get("container") or {}
        message = body.get("message") or {}
        try:
            target = AlertRef.unpack(element_value(body))
        except ForgedValue as error:
            await replies.privately(surface_of(body, Actor.from_interaction(body)), str(error))
            return
        origin = CaseOrigin(
            kind="alert",
            channel=container.get("channel_id") or (body.get("channel") or {}).get("id"),
            message_ts=container.get("message_ts") or message.get("ts"),
            thread_ts=message.get("thread_ts"),
            space=target.space,
            rule_id=target.rule_id,
            alert_id=target.alert_id,
            response_url=body.get("response_url"),
        )
        actor = _actor(body, origin)
        await _open_for_message(plumbing, client, body["trigger_id"], origin, actor, message.get("text") or "")

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

    async def tell(origin: CaseOrigin, actor: Actor, text: str) -> None:
        await replies.privately(origin.surface(actor.user_id), text)

    def aim(origin: CaseOrigin) -> Aim:
        return Aim(target=origin.case_id or "", space=origin.space, rule_id=origin.rule_id, channel=origin.channel)

    def read_case(origin: CaseOrigin, view: dict[str, Any]) -> CaseFields | dict[str, str]:
        return read_case_form(view, footer=source_line(origin) if origin.kind != "command" else "")

    def read_new_comment(origin: CaseOrigin, view: dict[str, Any]) -> str | dict[str, str]:
        if origin.case_id is None:
            return {COMMENT: "No case to add to."}
        return read_comment(view)

    async def on_case_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        async def run(origin: CaseOrigin, fields: CaseFields, actor: Actor) -> None:
            await _create(services, replies, actor, origin, fields, view_id=str(view.get("id")))

        async def acknowledge(fields: CaseFields, ack: AsyncAck) -> bool:
            problem = await required_custom_fields(
                services, fields.owner, CaseOrigin.unpack(view.get("private_metadata"))
            )
            if problem is None:
                await ack()
                return True
            await ack(response_action="errors", errors={OWNER: problem})
            return False

        await plumbing.guard.submission(
            ack,
            body,
            view,
            decode=CaseOrigin.unpack,
            aim=aim,
            read=read_case,
            run=run,
            tell=tell,
            error_block=lambda _: TITLE,
            acknowledge=acknowledge,
            refusal_target=lambda _, fields: fields.title,
        )

    async def on_comment_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        async def run(origin: CaseOrigin, text: str, actor: Actor) -> None:
            await _add_comment(services, replies, actor, origin, text, view_id=str(view.get("id")))

        await plumbing.guard.submission(
            ack,
            body,
            view,
            decode=CaseOrigin.unpack,
            aim=aim,
            read=read_new_comment,
            run=run,
            tell=tell,
            error_block=lambda _: COMMENT,
            refusal_detail=lambda _, __: "comment",
        )

    views: dict[str, Listener] = {CASE_MODAL: on_case_submitted, COMMENT_MODAL: on_comment_submitted}
    return Contribution(
        commands={CASE.name: case_command},
        actions={CASE_OPEN: on_button},
        views=views,
        shortcuts={OPEN_CASE_SHORTCUT: on_shortcut},
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


def _actor(body: dict[str, Any], origin: CaseOrigin) -> Actor:
    actor = Actor.from_interaction(body)
    return actor.in_channel(origin.channel or actor.channel_id)


def _doing(services: Services, origin: CaseOrigin) -> Doing:
    return Doing(action=ACTION.name, space=origin.space, command=services.settings.slack_command)


# ---- opening the form -------------------------------------------------------------------


async def _open_for_message(
    plumbing: Plumbing, client: AsyncWebClient, trigger_id: str, origin: CaseOrigin, actor: Actor, text: str
) -> None:
    """Open the form at once (the trigger id lives 3 s), then check access and fill in the rest."""
    services = plumbing.services
    existing = None
    if origin.channel and origin.message_ts:
        existing = await services.store.case_for_message(origin.channel, origin.message_ts)
    if existing is not None and existing.case_id:
        origin = origin.model_copy(update={"case_id": existing.case_id})

        def view_for(o: CaseOrigin) -> dict[str, Any]:
            return comment_form(o, case_title="the case", case_url=existing.case_url, comment=description_for(text, o))
    else:
        settings = services.settings

        def view_for(o: CaseOrigin) -> dict[str, Any]:
            return case_form(_message_prefill(o, text, settings.case_owner), o)

    try:
        opened = await client.views_open(trigger_id=trigger_id, view=view_for(origin))
    except SlackApiError as error:
        await plumbing.replies.privately(origin.surface(actor.user_id), describe(error, _doing(services, origin)))
        return
    view_id, view_hash = opened["view"]["id"], opened["view"]["hash"]
    callback = opened["view"].get("callback_id") or CASE_MODAL

    refusal = await services.access.check(actor.user_id, origin.channel, ACTION)
    if refusal is not None:
        await _update(client, view_id, view_hash, notice(callback, "Open a Kibana case", refusal.message(), origin))
        return
    origin = origin.model_copy(update={"permalink": await _permalink(services, origin)})
    if origin.case_id is not None:
        await _update(client, view_id, view_hash, view_for(origin))
        return
    prefill = _message_prefill(origin, text, services.settings.case_owner)
    if origin.kind == "alert":
        await _add_rule(services, origin, prefill, text)
    await _update(client, view_id, view_hash, case_form(prefill, origin))


def _message_prefill(origin: CaseOrigin, text: str, owner: str) -> Prefill:
    where = f"<{origin.permalink}|this message>" if origin.permalink else "this message"
    by = f" by <@{origin.author}>" if origin.author else ""
    return Prefill(
        title=title_from(text),
        description=description_for(text, origin),
        owner=owner,
        note=f"From {where}{by}; the link to the case will be posted in its thread.",
    )


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
    prefill.description = description_for(
        text, origin, extra=f"Rule: [{rule.name}]({rule_url}){alert}, space `{origin.space}`."
    )


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


async def _update(client: AsyncWebClient, view_id: str, view_hash: str, view: dict[str, Any]) -> None:
    try:
        await client.views_update(view_id=view_id, hash=view_hash, view=view)
    except SlackApiError as error:  # closed meanwhile, or changed by someone else: the form still works
        log.info("could not update the case form %s: %s", view_id, error.response.get("error"))


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
            origin.surface(actor.user_id), f"The case is open, but naming you on it failed: {describe(error)}"
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
    url = link_for(services, updated, origin.space)
    await services.store.set_case_id(key, updated.id, case_url=url)
    await record(services, actor, ACTION.name, updated.id, result="ok", space=origin.space, detail="comment")
    opened = OpenedCase(updated.id, url, updated.title, updated.owner, recorded_here=True)
    await _announce(replies, origin, actor, f"{actor.mention} added this message to Kibana case {_link(opened)}.")
