"""Unfurls of Kibana links: a link to KIBANA_PUBLIC_URL's host shared in Slack (`link_shared`) becomes
a card (`chat.unfurl`) with the facts and buttons its message would have, when everyone who will see
it may see that space; otherwise, quietly, no unfurl."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.kibana.acting import acting_for
from bot.kibana.errors import KibanaError
from bot.services import Services
from handlers.shared.feature import Contribution, Plumbing
from handlers.unfurls.audience import all_may_see, audience
from handlers.unfurls.cards import CARD_LINK, Card, card
from handlers.unfurls.links import KibanaLink, parse_link

__all__ = ["register"]

log = logging.getLogger(__name__)

MAX_LINKS = 5  # cards per message (Slack shows a few; each costs Kibana calls)


async def unfurls_for(services: Services, event: dict[str, Any]) -> dict[str, Card]:
    """The cards for the event's links that everyone in the conversation may see, by URL."""
    base = services.settings.kibana_link_base
    links = [parse_link(str(link.get("url", "")), base) for link in event.get("links") or [] if isinstance(link, dict)]
    found = [link for link in links if link is not None][:MAX_LINKS]
    channel, sharer = str(event.get("channel", "")), str(event.get("user", ""))
    if not found or not channel or not sharer:
        return {}
    people = await audience(services, channel, sharer)
    if not people:
        return {}
    cards: dict[str, Card] = {}
    for link in found:
        if not await all_may_see(services, people, channel, link.space):
            log.info(
                "no unfurl of a %s link in %s: not everyone there may see space %s", link.kind, channel, link.space
            )
            continue
        found_card = await _card(services, link)
        if found_card is not None:
            cards[link.url] = found_card
    return cards


async def _card(services: Services, link: KibanaLink) -> Card | None:
    try:
        return await card(services, link)
    except KibanaError as error:  # quietly: the link stays a link
        log.info("no unfurl of a %s link: Kibana answered %s", link.kind, error.status_code or type(error).__name__)
        return None


def register(plumbing: Plumbing) -> Contribution:
    services = plumbing.services

    async def on_link_shared(ack: AsyncAck, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        services.track_current_task()
        sharer = str(event.get("user", ""))
        with contextlib.ExitStack() as acting:
            if services.people is not None:  # KIBANA_IDENTITY=person: what the sharer's own key may read
                link = await services.people.link_of(body.get("team_id"), sharer)
                if link is None or link.stale:
                    return
                acting.enter_context(acting_for(sharer, link.key, services.people.mark_stale))
            cards = await unfurls_for(services, event)
        if not cards:
            return
        unfurls = {url: {"blocks": c.blocks} for url, c in cards.items()}
        metadata = {"entities": [c.entity for c in cards.values()]} if services.settings.slack_work_objects else None
        try:
            if event.get("unfurl_id") and event.get("source"):
                await services.slack.chat_unfurl(
                    unfurls=unfurls, metadata=metadata, unfurl_id=str(event["unfurl_id"]), source=str(event["source"])
                )
            else:
                await services.slack.chat_unfurl(
                    unfurls=unfurls,
                    metadata=metadata,
                    channel=str(event.get("channel")),
                    ts=str(event.get("message_ts")),
                )
        except Exception:
            log.exception("could not unfurl %d Kibana link(s) in %s", len(cards), event.get("channel"))

    async def on_link(ack: AsyncAck) -> None:
        await ack()  # a link the client opens

    return Contribution(actions={CARD_LINK: on_link}, events={"link_shared": on_link_shared})
