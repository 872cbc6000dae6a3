"""Slack Work Objects for unfurled Kibana links (SLACK_WORK_OBJECTS=true): `chat.unfurl`'s `metadata`
names each link's entity beside its Block Kit card. Built with slack_sdk's Work Object models, which
check the shape: a rule or an alert is an item (`slack#/entities/item`), a case an incident
(`slack#/entities/incident`: status, priority from its severity, description)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.metadata import (
    EntityAttributes,
    EntityCustomField,
    EntityMetadata,
    EntityPayload,
    EntityStringField,
    EntityTitle,
    ExternalRef,
    IncidentEntityFields,
)

from bot.kibana.models import Rule
from bot.kibana.models.cases import Case
from handlers.shared.blocks import clip
from handlers.unfurls.links import KibanaLink

ITEM = "slack#/entities/item"
INCIDENT = "slack#/entities/incident"
TITLE_LIMIT = 255


def _field(key: str, label: str, value: str) -> EntityCustomField:
    return EntityCustomField(label=label, key=key, type="string", value=clip(value, 500))


def _entity(link: KibanaLink, kind: str, entity_type: str, title: str, payload: dict[str, Any]) -> dict[str, Any]:
    entity = EntityMetadata(
        entity_type=entity_type,
        url=link.url,
        app_unfurl_url=link.url,
        external_ref=ExternalRef(id=f"{link.space}/{link.object_id}", type=f"kibana_{kind}"),
        entity_payload=EntityPayload(
            attributes=EntityAttributes(
                title=EntityTitle(text=clip(title, TITLE_LIMIT)), display_type=f"Kibana {kind}", product_name="Kibana"
            ),
            **payload,
        ),
    )
    shaped: dict[str, Any] = entity.to_dict()
    return shaped


def rule_entity(link: KibanaLink, rule: Rule, *, alert_id: str | None = None) -> dict[str, Any]:
    fields = [
        _field("state", "State", "enabled" if rule.enabled else "disabled"),
        _field("active_alerts", "Active alerts", str(rule.active_alerts)),
        _field("space", "Space", link.space),
        _field("rule_type", "Type", rule.rule_type_id),
    ]
    if rule.tags:
        fields.append(_field("tags", "Tags", ", ".join(rule.tags[:20])))
    if alert_id is not None:
        muted = "muted" if alert_id in rule.muted_alert_ids else "not muted"
        fields = [_field("alert", "Alert", alert_id), _field("muted", "Muted", muted), *fields]
        return _entity(link, "alert", ITEM, f"Alert {alert_id} of {rule.name}", {"custom_fields": fields})
    return _entity(link, "rule", ITEM, rule.name, {"custom_fields": fields})


def case_entity(link: KibanaLink, case: Case) -> dict[str, Any]:
    fields = IncidentEntityFields(
        status=EntityStringField(value=str(case.status)),
        priority=EntityStringField(value=str(case.severity)),
        description=EntityStringField(value=clip(case.description, 500) or "-"),
    )
    custom = [_field("owner", "Owner", case.owner), _field("space", "Space", link.space)]
    return _entity(link, "case", INCIDENT, case.title, {"fields": fields, "custom_fields": custom})
