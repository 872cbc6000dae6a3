"""*Add to case…* on alert and group messages: attach the alert (or the alerts a group message counts)
to an open Kibana case, or to a new one, as alert attachments.

Kibana takes an alert attachment as `POST /api/cases/{id}/comments` `{type: alert, alertId, index,
rule: {id, name}, owner}`: alerts of one rule per request, each named by its alerts-as-data document
(`alertId` = its `_id`, which is `kibana.alert.uuid`; `index` = the index that holds it), as many
indices as ids, at most 1,000 alerts on a case (bot.alerts_index.locate says where the documents are).
A group's alerts (one rule) go in batches of ATTACH_BATCH. The case's link goes into the alert
message's thread. The button's value is the alert message's `Target`, checked against what the
message shows (a forged one is refused and audited); the form's metadata is sealed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pydantic import Field
from slack_sdk.errors import SlackApiError

from bot.alerts_index.errors import AlertsIndexError
from bot.alerts_index.locate import AlertLocation, alias_for, locate_alerts
from bot.kibana.errors import KibanaError
from bot.kibana.models.cases import MAX_ALERTS_PER_CASE, AlertAttachment, Case, CaseCreate
from bot.services import Services
from handlers.alerting.shown import check_shown
from handlers.alerting.target import Target
from handlers.cases.actions import ATTACH, ATTACH_MODAL, CASE_ATTACH, CASE_PICK
from handlers.cases.case_picker import Chosen, PickerOrigin, new_title, picker, read_choice
from handlers.cases.creation import link_for
from handlers.cases.explain import explain
from handlers.cases.linking import link_to_thread
from handlers.shared.audit import record
from handlers.shared.blocks import Block, clip, code, context, escape, modal, section
from handlers.shared.context import Actor
from handlers.shared.errors import Doing, describe
from handlers.shared.feature import Contribution, Listener, Plumbing
from handlers.shared.guard import Aim, Click, NothingToDo, Submission, packed
from handlers.shared.interaction import Interaction
from handlers.shared.replies import Replies

if TYPE_CHECKING:
    from elasticsearch import AsyncElasticsearch

log = logging.getLogger(__name__)

ATTACH_BATCH = 100  # alerts in one request (Kibana takes one rule's alerts per request)
TITLE = "Add to Kibana case"
SUMMARY = (
    "This message is a summary of the rule's alerts (`alert.id` = `rule.id`), which Kibana keeps no alert "
    "document of, so there is nothing to attach; attach the rule's alerts from Kibana's Alerts page."
)


class AttachOrigin(PickerOrigin):
    """The attach form's metadata: the alert (or the group message's episode) and where it is shown."""

    alert_uuid: str | None = Field(None, alias="v")
    group_id: int | None = Field(None, alias="g")


@dataclass(frozen=True)
class Opening:
    origin: AttachOrigin
    view_id: str | None = None
    view_hash: str | None = None


class AlertsIndex:
    """The Elasticsearch client the attachments read alert documents with (made when first used)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._es: AsyncElasticsearch | None = None

    @property
    def enabled(self) -> bool:
        return self.services.settings.elasticsearch_url is not None

    def client(self) -> AsyncElasticsearch:
        if self._es is None:
            from bot.alerts_index.search import client_from_settings

            self._es = client_from_settings(self.services.settings)
        return self._es

    async def close(self) -> None:
        if self._es is not None:
            await self._es.close()
            self._es = None


def register(plumbing: Plumbing) -> Contribution:
    """The *Add to case…* button and its form."""
    services, replies = plumbing.services, plumbing.replies
    alerts_index = AlertsIndex(services)

    def decode(interaction: Interaction, group_id: int | None = None) -> Opening:
        """The button's `Target`: the message's alert, or (a rule alone) the alerts of its episode."""
        target = Target.unpack(interaction.value)
        origin = AttachOrigin(
            kind="alert",
            channel=interaction.channel,
            message_ts=interaction.message_ts,
            thread_ts=interaction.thread_ts,
            space=target.space,
            rule_id=target.rule_id,
            alert_id=target.alert_id,
            alert_uuid=target.alert_uuid,
            group_id=group_id,
            response_url=interaction.response_url,
        )
        return Opening(origin)

    async def resolve(interaction: Interaction) -> Opening:
        """`decode`, checked against what the message shows, with the episode of a group message."""
        opening = decode(interaction)
        await check_shown(services, interaction, Target.unpack(interaction.value))
        group_message = opening.origin.alert_id is None and not interaction.ephemeral
        if not (group_message and interaction.channel and interaction.message_ts):
            return opening
        shown = await services.store.rule_shown_at(channel=interaction.channel, ts=interaction.message_ts)
        return decode(interaction, shown.group_id if shown is not None else None)

    def aim(opening: Opening) -> Aim:
        origin = opening.origin
        return Aim(_subject(origin), origin.space, origin.rule_id, origin.alert_id, detail="open the form")

    async def open_form(opening: Opening, interaction: Interaction) -> Opening:
        """At once (the trigger id lives 3 s); its menu lists cases once access is checked."""
        form = attach_form(opening.origin)
        answer = await services.slack.views_open(trigger_id=interaction.trigger_id or "", view=form)
        view = answer["view"]
        return replace(opening, view_id=str(view["id"]), view_hash=str(view["hash"]))

    async def ready(opening: Opening, interaction: Interaction) -> None:
        origin = opening.origin
        if origin.alert_id is not None and origin.alert_id == origin.rule_id:
            raise NothingToDo(SUMMARY)
        if origin.alert_id is None and origin.group_id is None:
            raise NothingToDo(
                "The bot no longer has the alerts of this message (its records of an episode are pruned after "
                "ALERT_HISTORY_DAYS); attach them from Kibana's Alerts page."
            )
        await _update(services, opening, attach_form(origin.model_copy(update={"ready": True})))

    async def tell_opening(opening: Opening, interaction: Interaction, text: str) -> None:
        origin = opening.origin
        if opening.view_id and await _update(services, opening, _notice(origin, text)):
            return
        await replies.privately(origin.surface(interaction.actor.user_id), text)

    on_click = Click(
        decode=decode,
        resolve=resolve,
        aim=aim,
        run=ready,
        tell=tell_opening,
        open_form=open_form,
    )

    def read(origin: AttachOrigin, view: dict[str, Any]) -> Chosen | dict[str, str]:
        if not origin.ready:
            return {CASE_PICK: "The form was still being prepared; close it and use *Add to case…* again."}
        return read_choice(view, allow_new=True)

    async def tell(origin: AttachOrigin, interaction: Interaction, text: str) -> None:
        await replies.privately(origin.surface(interaction.actor.user_id), text)

    async def run(origin: AttachOrigin, chosen: Chosen, interaction: Interaction) -> None:
        view_id = interaction.view_id or ""
        await _attach(services, replies, alerts_index, interaction.actor, origin, chosen, view_id=view_id)

    submission = Submission(
        decode=packed(AttachOrigin.unpack),
        read=read,
        aim=lambda origin, chosen: Aim(
            _subject(origin),
            origin.space,
            origin.rule_id,
            origin.alert_id,
            channel=origin.channel,
            detail=f"case {chosen.case_id}" if chosen.case_id else "new case",
        ),
        run=run,
        tell=tell,
        error_block=CASE_PICK,
    )
    views: dict[str, Listener] = {ATTACH_MODAL: plumbing.guard.submission(submission)}
    return Contribution(
        actions={CASE_ATTACH: plumbing.guard.click(on_click)}, views=views, closers=(alerts_index.close,)
    )


def _subject(origin: AttachOrigin) -> str:
    return f"{origin.rule_id}/{origin.alert_id}" if origin.alert_id else f"{origin.rule_id} (group)"


# ---- the form ---------------------------------------------------------------------------


def attach_form(origin: AttachOrigin) -> Block:
    what = (
        f"alert {code(origin.alert_id)} of rule {code(origin.rule_id)}"
        if origin.alert_id
        else f"the alerts of rule {code(origin.rule_id)} this message counts (at most {MAX_ALERTS_PER_CASE:,})"
    )
    blocks: list[Block] = [section(f"Attach {what} to a Kibana case, as alerts of the case.")]
    if origin.ready:
        blocks += [
            picker(hint=f"Open cases in space {origin.space}, newest activity first. Type to search their titles."),
            new_title(),
            context("The case's link will be posted in the alert's thread."),
        ]
    else:
        blocks.append(context("Checking that you may attach alerts…"))
    return modal(ATTACH_MODAL, TITLE, blocks, origin.pack(), submit="Attach" if origin.ready else None)


def _notice(origin: AttachOrigin, text: str) -> Block:
    return modal(ATTACH_MODAL, TITLE, [section(text)], origin.pack(), submit=None)


async def _update(services: Services, opening: Opening, view: Block) -> bool:
    try:
        await services.slack.views_update(view_id=opening.view_id or "", hash=opening.view_hash, view=view)
    except SlackApiError as error:
        log.info("could not update the attach form %s: %s", opening.view_id, error.response.get("error"))
        return False
    return True


# ---- attaching ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Attached:
    count: int  # alerts Kibana added to the case
    already: int = 0  # alerts the case had already (Kibana drops them)
    not_found: int = 0  # alerts Elasticsearch does not have (any more)
    no_room: int = 0  # alerts over the case's 1,000


def _doing(services: Services, origin: AttachOrigin) -> Doing:
    return Doing(
        action=ATTACH.name,
        space=origin.space,
        rule_id=origin.rule_id,
        alert_id=origin.alert_id,
        command=services.settings.slack_command,
        explain=explain,
    )


async def _attach(
    services: Services,
    replies: Replies,
    alerts_index: AlertsIndex,
    actor: Actor,
    origin: AttachOrigin,
    chosen: Chosen,
    *,
    view_id: str,
) -> None:
    key = f"attach:{view_id}"
    claim = await services.store.claim_case(key, space=origin.space, channel=None, message_ts=None)
    if not claim.first:
        return  # the same form submitted twice: the first submission attaches
    surface = origin.surface(actor.user_id)
    try:
        case = await _case(services, origin, chosen, actor)
        attached, case = await _attach_alerts(services, alerts_index, origin, case)
    except Exception as error:
        await services.store.release_case_claim(key)
        status = error.status_code if isinstance(error, KibanaError) else None
        await record(
            services, actor, ATTACH.name, _subject(origin), result="error", space=origin.space,
            kibana_status=status, detail=str(error),
        )  # fmt: skip
        sentence = str(error) if isinstance(error, NothingToDo) else describe(error, _doing(services, origin))
        await replies.privately(surface, sentence)
        return
    url = link_for(services, case, origin.space)
    await services.store.set_case_id(key, case.id, case_url=url)
    await record(
        services, actor, ATTACH.name, case.id, result="ok", space=origin.space,
        detail=f"{_subject(origin)}: {attached.count} alert(s)",
    )  # fmt: skip
    link = f"<{url}|{escape(clip(case.title, 80))}>"
    if origin.alert_id and not attached.count:
        await replies.privately(surface, f"Alert {code(origin.alert_id)} is attached to Kibana case {link} already.")
        return
    if origin.alert_id:
        said = f"{actor.mention} attached alert {code(origin.alert_id)} to Kibana case {link}."
    else:
        had = f" ({_alerts(attached.already)} of them it had already)" if attached.already else ""
        total = attached.count + attached.already
        said = f"{actor.mention} attached {_alerts(total)} of rule {code(origin.rule_id)} to Kibana case {link}{had}."
    await replies.publicly(surface, said)
    problems = []
    if attached.not_found:
        problems.append(
            f"{_alerts(attached.not_found)} of this message are not in Elasticsearch's alerts-as-data any more "
            "(Kibana deletes alert documents some time after they recover), so they were not attached."
        )
    if attached.no_room:
        problems.append(
            f"{_alerts(attached.no_room)} did not fit: a Kibana case holds at most {MAX_ALERTS_PER_CASE:,} alerts."
        )
    if problems:
        await replies.privately(surface, " ".join(problems))
    await link_to_thread(services, replies, actor, origin, case.id, case.owner, case.title)


def _alerts(n: int) -> str:
    return f"{n:,} alert" + ("" if n == 1 else "s")


async def _case(services: Services, origin: AttachOrigin, chosen: Chosen, actor: Actor) -> Case:
    """The chosen case (it must still be open), or a new one."""
    if chosen.case_id is not None:
        case = await services.kibana.get_case(chosen.case_id, space=origin.space)
        if case.status == "closed":
            raise NothingToDo(f"Kibana case “{escape(clip(case.title, 80))}” was closed meanwhile; choose an open one.")
        return case
    assert chosen.title is not None
    where = f"<@{actor.user_id}> in Slack" + (f" (<#{origin.channel}>)" if origin.channel else "")
    what = f"alert `{origin.alert_id}`" if origin.alert_id else "alerts"
    new = CaseCreate(
        title=chosen.title,
        description=f"Opened from Slack by {where} for {what} of rule `{origin.rule_id}` in space `{origin.space}`.",
        tags=["slack"],
        owner=services.settings.case_owner,
    )
    return await services.kibana.create_case(new, space=origin.space)


async def _attach_alerts(
    services: Services, alerts_index: AlertsIndex, origin: AttachOrigin, case: Case
) -> tuple[Attached, Case]:
    assert origin.rule_id is not None
    uuids = await _uuids(services, origin)
    if not uuids:
        raise NothingToDo(SUMMARY)
    rule = await services.kibana.get_rule(origin.rule_id, space=origin.space)
    locations = await _locate(services, alerts_index, origin, uuids, rule.rule_type_id)
    found = [locations[u] for u in uuids if u in locations]
    if not found:
        raise NothingToDo(
            "The alert is not in Elasticsearch's alerts-as-data any more (Kibana deletes alert documents some time "
            "after they recover), so it cannot be attached; attach the rule's newer alerts from Kibana."
        )
    room = max(MAX_ALERTS_PER_CASE - case.total_alerts, 0)
    sent = found[:room]
    if not sent:
        raise NothingToDo(
            f"Kibana case “{escape(clip(case.title, 80))}” already holds {case.total_alerts:,} alerts, the most a "
            "case may hold; attach to another case."
        )
    before = case.total_alerts
    known = {c.id for c in case.comments if c.id}
    for start in range(0, len(sent), ATTACH_BATCH):
        batch = sent[start : start + ATTACH_BATCH]
        attachment = AlertAttachment(
            alert_ids=[location.alert_id for location in batch],
            indices=[location.index for location in batch],
            rule_id=rule.id,
            rule_name=rule.name,
        )
        case = await services.kibana.add_case_comment(case.id, attachment, owner=case.owner, space=origin.space)
        known = await _note_own_attachments(services, case, known)
    added = case.total_alerts - before
    return Attached(
        added, already=len(sent) - added, not_found=len(uuids) - len(found), no_room=len(found) - len(sent)
    ), case


async def _note_own_attachments(services: Services, case: Case, known: set[str]) -> set[str]:
    """The alert attachments the bot just made (those Kibana's answer has that it had not before):
    noted, so that the case's activity reader does not tell the thread someone attached them."""
    mine = [c.id for c in case.comments if c.type == "alert" and c.id and c.id not in known]
    for comment_id in mine:
        await services.store.note_echo(case.id, "comment", comment_id)
    return known | set(mine)


async def _uuids(services: Services, origin: AttachOrigin) -> list[str]:
    """The alerts' uuids: the message's alert, or the alerts its episode counts (not a summary's)."""
    if origin.alert_id is not None:
        summary = origin.alert_id == origin.rule_id
        return [origin.alert_uuid] if origin.alert_uuid and not summary else []
    assert origin.group_id is not None
    stored = await services.store.alerts_of_group(origin.group_id, limit=MAX_ALERTS_PER_CASE)
    return list(dict.fromkeys(a.alert_uuid for a in stored if a.alert_uuid and a.alert_id != a.rule_id))


async def _locate(
    services: Services, alerts_index: AlertsIndex, origin: AttachOrigin, uuids: list[str], rule_type_id: str
) -> dict[str, AlertLocation]:
    """Where each alert's document is: read from Elasticsearch when the bot has it, else the rule
    type's alerts alias (the document's `_id` is the alert's uuid)."""
    if alerts_index.enabled:
        url = str(services.settings.elasticsearch_url)
        try:
            return await locate_alerts(alerts_index.client(), uuids, space=origin.space, url=url)
        except AlertsIndexError as error:
            raise NothingToDo(
                f"Finding the alert's document in Elasticsearch failed, so nothing was attached: {error.sentence}"
            ) from None
    alias = alias_for(rule_type_id, origin.space)
    if alias is None:
        raise NothingToDo(
            f"The bot cannot tell which index holds the alerts of rule type {code(rule_type_id)} without "
            "Elasticsearch: set ELASTICSEARCH_URL (read access to `.alerts-*`), or attach the alert from Kibana."
        )
    return {uuid: AlertLocation(alert_id=uuid, index=alias) for uuid in uuids}
