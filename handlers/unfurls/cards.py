"""The card each kind of Kibana link unfurls into: the facts and buttons its message would have.

A rule: the rule card (`/kibana rule`). An alert the bot recorded: its rule's card, after the alert's
own line with what else it carries (value, condition, flapping, its Kibana link: the alert message's
facts line), who is on it (*I'm on it*: the message's claim line; the buttons stay on the message,
which the claim is tied to) and its Mute/Unmute and *Open case* buttons (as its alert message has). A case: its title,
status, severity, owner, tags and counts, with a link to it. None when Kibana has no such object (a
card that says "not found" would tell the channel that something is there). Each card comes with its
Work Object entity (work_objects.py), sent when SLACK_WORK_OBJECTS is on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.kibana.errors import KibanaNotFound
from bot.services import Services
from handlers.alerting.buttons import alert_element
from handlers.alerting.commands import card_blocks
from handlers.alerting.target import Target
from handlers.alerts.card_facts import CardFacts, facts_block, linked
from handlers.alerts.claim import CLAIMED_BLOCK, claim_blocks
from handlers.cases.actions import CASE_OPEN
from handlers.shared.blocks import Block, actions, button, clip, code, context, escape, header, section
from handlers.unfurls.links import KibanaLink
from handlers.unfurls.work_objects import case_entity, rule_entity

CARD_LINK = "unfurl_link"  # the cards' *Open in Kibana* button: a link the client opens


@dataclass(frozen=True)
class Card:
    blocks: list[Block]
    entity: dict[str, Any]  # the Work Object (chat.unfurl's metadata.entities)


async def card(services: Services, link: KibanaLink) -> Card | None:
    try:
        if link.kind == "rule":
            rule = await services.kibana.get_rule(link.object_id, space=link.space)
            return Card(await card_blocks(services, rule, link.space), rule_entity(link, rule))
        if link.kind == "case":
            return await _case(services, link)
        return await _alert(services, link)
    except KibanaNotFound:
        return None


async def _alert(services: Services, link: KibanaLink) -> Card | None:
    stored = await services.store.alert_with_uuid(link.object_id)
    if stored is None or stored.space != link.space:
        return None  # not an alert the bot was told of: nothing it can say about it
    rule = await services.kibana.get_rule(stored.rule_id, space=stored.space)
    target = Target(rule_id=stored.rule_id, space=stored.space, alert_id=stored.alert_id, alert_uuid=stored.alert_uuid)
    muted = stored.alert_id in rule.muted_alert_ids
    line = section(
        f":rotating_light: Alert {code(stored.alert_id)} of *{escape(rule.name)}*"
        + (" (muted)" if muted else "")
        + f"\nalert uuid {code(stored.alert_uuid)}"
    )
    buttons = actions(
        alert_element(target, muted=muted), button("Open case", CASE_OPEN, target.pack()), block_id="alert_actions"
    )
    blocks = [line, *await _as_its_message(services, stored.group_id, target), buttons]
    blocks += await card_blocks(services, rule, stored.space)
    return Card(blocks, rule_entity(link, rule, alert_id=stored.alert_id))


async def _as_its_message(services: Services, group_id: int | None, target: Target) -> list[Block]:
    """The alert message's facts and claim lines (handlers/alerts), read from the same records."""
    if group_id is None or target.alert_uuid is None:
        return []
    store = services.store
    alert = await store.group_alert_with_uuid(group_id, target.alert_uuid)
    if alert is None:
        return []
    facts = facts_block(linked(CardFacts.load(alert.facts), services.settings.kibana_link_base))
    claim = await store.alert_group_claim(group_id)
    over = alert.recovered_at is not None
    said = [b for b in claim_blocks(target, claim, over=over) if b.get("block_id") == CLAIMED_BLOCK]
    return [*facts, *said]


async def _case(services: Services, link: KibanaLink) -> Card:
    case = await services.kibana.get_case(link.object_id, space=link.space)
    fields = [
        f"*Status*\n{escape(case.status)}",
        f"*Severity*\n{escape(case.severity)}",
        f"*Owner*\n{escape(case.owner)}",
        f"*Space*\n`{link.space}`",
        f"*Comments*\n{case.total_comment}",
        f"*Alerts*\n{case.total_alerts}",
    ]
    if case.tags:
        fields.append("*Tags*\n" + " ".join(code(t) for t in case.tags[:20]))
    url = services.kibana.case_url(
        case.id, owner=case.owner, space=link.space, public_base=services.settings.kibana_link_base
    )
    blocks = [
        header(f"Case: {case.title}"),
        section(escape(clip(case.description, 500)) or "_No description._", fields=fields),
        actions(button("Open in Kibana", CARD_LINK, url=url), block_id="case_actions"),
        context(f"case {code(case.id)}"),
    ]
    return Card(blocks, case_entity(link, case))
