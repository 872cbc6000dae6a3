"""The case card's menus and buttons: status and severity through `PATCH /api/cases`, thread sync.

A change reads the case for its current `version` and sends it; when Kibana answers 409 (someone
changed the case meanwhile) the bot reads the case again and retries once, then tells the person.
What the bot changed is noted (an echo) so that the activity reader does not post it back.

Every click must come from the card of the link its value names (in that channel, that message):
any other value is refused as forged, and audited, by the guard.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from slack_bolt.async_app import AsyncAck

from bot.kibana.errors import KibanaConflict, KibanaError
from bot.kibana.models.cases import Case
from bot.services import Services
from bot.store import CaseLink
from handlers.cases.actions import CARD_LINK, CARD_SEVERITY, CARD_STATUS, CARD_SYNC, CARD_UNSYNC
from handlers.cases.card import SEVERITIES, STATUSES, CardValue
from handlers.cases.linking import redraw_card
from handlers.shared.audit import record
from handlers.shared.feature import Listener, Plumbing
from handlers.shared.guard import Aim, Click, NothingToDo
from handlers.shared.interaction import Interaction
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)

CARD_WAITS = 20  # tenths of a second a click waits for its card's ts to be recorded
FIELDS = {CARD_STATUS: ("status", STATUSES), CARD_SEVERITY: ("severity", SEVERITIES)}


class StillConflicting(Exception):
    """Kibana answered 409 twice: the case kept changing under the bot."""


@dataclass(frozen=True)
class CardClick:
    link: CaseLink
    to: str  # the status or severity chosen ("" for the sync buttons)


def aim(click: CardClick) -> Aim:
    link = click.link
    return Aim(f"case {link.case_id}", link.space, channel=link.channel, detail=click.to or "thread sync")


def listeners(plumbing: Plumbing) -> dict[str, Listener]:
    services, replies = plumbing.services, plumbing.replies

    async def resolve(interaction: Interaction) -> CardClick:
        value = CardValue.unpack(interaction.value)
        link = await services.store.case_link(value.link)
        for _ in range(CARD_WAITS):  # the card is posted, then its ts recorded: a click may come in between
            if link is None or link.card_ts is not None:
                break
            await asyncio.sleep(0.1)
            link = await services.store.case_link(value.link)
        if link is None or link.channel != interaction.channel or link.card_ts != interaction.message_ts:
            raise ValueError("This card is not one the bot shows for that case; nothing was done.")
        choices = FIELDS.get(interaction.action_id or "")
        if choices is not None and value.to not in choices[1]:
            raise ValueError(CardValue.FORGED)
        return CardClick(link, value.to)

    async def change(click: CardClick, interaction: Interaction) -> None:
        field, names = FIELDS[interaction.action_id or ""]
        link, actor = click.link, interaction.actor
        shown = names.get(click.to, click.to)
        try:
            case, changed = await _change(services, link, field, click.to)
        except Exception as error:
            status = error.status_code if isinstance(error, KibanaError) else None
            detail = f"{field} {click.to}: {error}"
            await record(
                services, actor, "case status", link.case_id, result="error", space=link.space, kibana_status=status,
                detail=detail,
            )  # fmt: skip
            if isinstance(error, StillConflicting):
                raise NothingToDo(
                    f"The case changed in Kibana again while the bot was setting its {field} (Kibana answered "
                    f"409 twice), so its {field} was not changed. Look at the case in Kibana, then choose again."
                ) from None
            raise
        await redraw_card(services, replies, link, case)
        if not changed:
            raise NothingToDo(f"The case's {field} is already *{shown}* in Kibana; the card now shows it.")
        await record(
            services, actor, "case status", link.case_id, result="ok", space=link.space, detail=f"{field} {click.to}"
        )
        await _in_thread(replies, link, f"{actor.mention} set the case's {field} to *{shown}*.")

    async def sync(click: CardClick, interaction: Interaction) -> None:
        on = interaction.action_id == CARD_SYNC
        link, actor = click.link, interaction.actor
        if not await services.store.set_thread_sync(link.id, on):
            raise NothingToDo(f"Thread sync is already {'on' if on else 'off'} for this case.")
        await record(
            services, actor, "case sync", link.case_id, result="ok", space=link.space, detail="on" if on else "off"
        )
        fresh = await services.store.case_link(link.id) or link
        case = await services.kibana.get_case(link.case_id, space=link.space)
        await redraw_card(services, replies, fresh, case)
        said = (
            "turned thread sync on: new replies here become comments on the case, naming their author "
            "(edits and deletions are not mirrored)."
            if on
            else "stopped syncing this thread: new replies stay in Slack."
        )
        await _in_thread(replies, link, f"{actor.mention} {said}")

    async def on_link(ack: AsyncAck) -> None:
        await ack()  # a URL button: Slack opens the link, the bot only acknowledges

    guard = plumbing.guard

    def guarded(run: Click[CardClick]) -> Listener:
        return guard.click(run)

    changing = Click(decode=lambda _: _never(), aim=aim, run=change, resolve=resolve)
    syncing = Click(decode=lambda _: _never(), aim=aim, run=sync, resolve=resolve)
    return {
        CARD_STATUS: guarded(changing),
        CARD_SEVERITY: guarded(changing),
        CARD_SYNC: guarded(syncing),
        CARD_UNSYNC: guarded(syncing),
        CARD_LINK: on_link,
    }


def _never() -> CardClick:
    raise ValueError(CardValue.FORGED)  # the card's values are always resolved against the store


async def _change(services: Services, link: CaseLink, field: str, to: str) -> tuple[Case, bool]:
    """Set the field at the case's current version; after a 409, read it again and retry once."""
    await services.store.note_echo(link.case_id, field, to)
    try:
        for attempt in (1, 2):
            case = await services.kibana.get_case(link.case_id, space=link.space)
            if str(getattr(case, field)) == to:
                await services.store.take_echo(link.case_id, field, to)
                return case, False  # already so (someone set it meanwhile): nothing to send
            try:
                return await services.kibana.update_case(case.id, case.version, {field: to}, space=link.space), True
            except KibanaConflict:
                log.info("case %s: version %s was stale (attempt %d)", case.id, case.version, attempt)
        raise StillConflicting()
    except BaseException:
        await services.store.take_echo(link.case_id, field, to)
        raise


async def _in_thread(replies: Replies, link: CaseLink, text: str) -> None:
    try:
        await replies.post(link.channel, text, thread_ts=link.thread_ts)
    except Exception:
        log.warning("case %s: the thread could not be told", link.case_id, exc_info=True)
