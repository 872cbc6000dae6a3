"""Linking a case to a Slack thread: the link in the store, and the case's card in the thread.

`link_case` is the one way to link: the case forms call it once a case is opened from a message or
an alert, and whatever else links a case to a thread (adding an alert or a message to a case) calls
it too. Linking twice keeps the first link and its card.

The case's activity in Kibana up to the moment of linking is not brought into the thread (the card
is there instead): the link starts after the user actions Kibana already has. Reading them is the
bot's own work, done with the bot's credential.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.kibana.acting import as_bot
from bot.kibana.errors import KibanaError
from bot.kibana.models.cases import Case
from bot.services import Services
from bot.store import CaseLink
from handlers.cases.card import CaseCard
from handlers.cases.creation import link_for
from handlers.cases.form import CaseOrigin
from handlers.shared.context import Actor
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Linked:
    link: CaseLink
    new: bool  # False: the case was linked to the thread already (its card is there)


def card_of(services: Services, link: CaseLink, case: Case) -> CaseCard:
    return CaseCard(
        link_id=link.id,
        title=case.title,
        url=link_for(services, case, link.space),
        status=str(case.status),
        severity=str(case.severity),
        syncing=link.syncing,
        days=services.settings.case_sync_days,
    )


async def link_case(
    services: Services,
    replies: Replies,
    workspace: str | None,
    channel: str,
    thread_ts: str,
    case_id: str,
    space: str,
    owner: str,
    *,
    by: str | None = None,
    title: str | None = None,
) -> Linked:
    """Link the case to the thread and post its card there (once). `by`: who linked it (App Home
    lists the cases a person linked, by `title`)."""
    seen = 0
    with as_bot():
        try:
            seen = (await services.kibana.find_case_activity(case_id, per_page=1, space=space)).total
        except KibanaError as error:
            log.warning(
                "case %s: its activity so far could not be read (%s); the thread gets all of it", case_id, error
            )
    link, new = await services.store.link_case_to_thread(
        team=workspace,
        channel=channel,
        thread_ts=thread_ts,
        case_id=case_id,
        space=space,
        owner=owner,
        seen=seen,
        by=by,
        title=title,
    )
    if new:
        await post_card(services, replies, link)
    return Linked(link, new)


async def link_to_thread(
    services: Services, replies: Replies, actor: Actor, origin: CaseOrigin, case_id: str, owner: str, title: str
) -> None:
    """The case's card in the thread of the message or alert a case was opened, or added to, from.

    What was done to the case is done already: a failure to link is logged, not told."""
    if origin.channel is None or origin.reply_ts is None:
        return  # from the command: no thread
    try:
        await link_case(
            services, replies, actor.team_id, origin.channel, origin.reply_ts, case_id, origin.space, owner,
            by=actor.user_id, title=title,
        )  # fmt: skip
    except Exception:
        log.exception("case %s: could not link it to its thread", case_id)


def new_comment_id(case: Case, text: str) -> str | None:
    """The id of the comment the bot just added (the newest with that text), from Kibana's answer."""
    mine = [c for c in case.comments if c.comment == text and c.id]
    mine.sort(key=lambda c: c.created_at.timestamp() if c.created_at else 0.0)
    return mine[-1].id if mine else None


async def note_own_comment(services: Services, case: Case, text: str) -> None:
    """A comment the bot added to a case (for whomever): not to be told back to a linked thread."""
    comment_id = new_comment_id(case, text)
    if comment_id is not None:
        await services.store.note_echo(case.id, "comment", comment_id)


async def post_card(services: Services, replies: Replies, link: CaseLink) -> None:
    try:
        with as_bot():
            case = await services.kibana.get_case(link.case_id, space=link.space)
    except KibanaError as error:
        log.warning("case %s: no card, the case could not be read: %s", link.case_id, error)
        return
    card = card_of(services, link, case)
    try:
        posted = await replies.post(link.channel, card.text(), blocks=card.blocks(), thread_ts=link.thread_ts)
    except SlackApiError as error:
        log.warning("case %s: its card could not be posted in %s: %s", link.case_id, link.channel, error)
        return
    ts = posted.get("ts")
    if isinstance(ts, str):
        await services.store.set_case_card(link.id, ts)


async def redraw_card(services: Services, replies: Replies, link: CaseLink, case: Case) -> None:
    """The card as the case is now (after a change from Slack or from Kibana)."""
    if link.card_ts is None:
        return
    card = card_of(services, link, case)
    try:
        await replies.update(link.channel, link.card_ts, card.text(), blocks=card.blocks())
    except SlackApiError as error:
        log.info("case %s: its card could not be updated: %s", link.case_id, error.response.get("error"))
