"""Alert documents as Elasticsearch returns them, and as the bot reads them.

`AlertDocument` is one hit, not yet read: its sort values (`@timestamp` in epoch millis,
`kibana.alert.uuid`) and its `_source`. `change()` reads it into an `AlertChange` (the pydantic model,
every field checked) or, when a field is of the wrong type, an `UnreadableAlert` saying which and why.

`quick()` is what the poller compares before it reads a document: the alert's uuid, its rule and what
a message shows of it (`AlertChange.shown`), taken straight from the `_source` as Kibana writes it
(dotted keys). The poller reads every document of every rule run again, most of them unchanged: a
document whose `quick()` is what was handed on last is recognised without being read. A document
whose fields are held as nested objects has no `quick()`: it is always read.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.alerts_index.errors import AlertsIndexRejected

STATUSES = ("active", "recovered", "untracked")
# What else an alert carries, shown on its message as Kibana wrote it (handlers/alerts/card_facts.py).
# Kept as written (any JSON type): a rule type writing one in another type never makes the alert unreadable.
CARRIED_FIELDS = (
    "kibana.alert.evaluation.value",
    "kibana.alert.evaluation.values",
    "kibana.alert.evaluation.threshold",
    "kibana.alert.evaluation.conditions",
    "kibana.alert.flapping",
    "kibana.alert.severity_improving",
    "kibana.alert.previous_action_group",
    "kibana.alert.maintenance_window_ids",
    "kibana.alert.case_ids",
    "kibana.alert.url",
)
SOURCE_FIELDS = [
    "@timestamp",
    "event.action",
    "kibana.alert.uuid",
    "kibana.alert.instance.id",
    "kibana.alert.action_group",
    "kibana.alert.rule.uuid",
    "kibana.alert.rule.name",
    "kibana.alert.rule.tags",
    "kibana.alert.rule.rule_type_id",
    "kibana.alert.rule.consumer",
    "kibana.alert.status",
    "kibana.alert.reason",
    "kibana.alert.start",
    "kibana.alert.end",
    "kibana.alert.workflow_status",
    "kibana.space_ids",
    *CARRIED_FIELDS,
]
AlertStatus = Literal["active", "recovered", "untracked"]
# The keys under which Elasticsearch returns a field of SOURCE_FIELDS when the document holds it in an
# object ({"kibana": {"alert": …}}, {"kibana.alert": {"uuid": …}}) instead of under its dotted name.
NESTED_UNDER = frozenset(
    ".".join(parts[:i]) for parts in (name.split(".") for name in SOURCE_FIELDS) for i in range(1, len(parts))
)
# Which alert (its uuid, its rule's), and what a message shows of it (`AlertChange.shown`, `quick()`).
Shown = tuple[str, str, object, object, object, object, object]
# The fields of `Shown`, in its order: `quick()` takes them from the `_source` in one C call.
SHOWN_FIELDS = (
    "kibana.alert.uuid",
    "kibana.alert.rule.uuid",
    "kibana.alert.status",
    "kibana.alert.reason",
    "kibana.alert.action_group",
    "kibana.alert.rule.name",
    "kibana.alert.rule.tags",
)
_shown_fields = operator.itemgetter(*SHOWN_FIELDS)


class AlertCursor(BaseModel):
    """The sort values of the last alert document seen: (`@timestamp` in epoch millis, `kibana.alert.uuid`)."""

    model_config = ConfigDict(frozen=True)

    timestamp_ms: int
    alert_uuid: str

    def search_after(self) -> list[Any]:
        return [self.timestamp_ms, self.alert_uuid]

    @classmethod
    def at(cls, moment: datetime) -> AlertCursor:
        """A cursor just before every document written at or after `moment` (for a first poll)."""
        return cls(timestamp_ms=int(moment.timestamp() * 1000) - 1, alert_uuid="\uffff")

    @classmethod
    def of(cls, timestamp_ms: int, alert_uuid: str) -> AlertCursor:
        """From sort values already converted (a hot path: not validated again)."""
        return cls.model_construct(timestamp_ms=timestamp_ms, alert_uuid=alert_uuid)


class AlertChange(BaseModel):
    """One alert document as read: the alert's state after the rule run that last wrote it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    alert_uuid: str = Field(alias="kibana.alert.uuid")
    instance_id: str = Field(alias="kibana.alert.instance.id")
    action_group: str | None = Field(None, alias="kibana.alert.action_group")
    rule_uuid: str = Field(alias="kibana.alert.rule.uuid")
    rule_name: str = Field("", alias="kibana.alert.rule.name")
    rule_tags: list[str] = Field(default_factory=list, alias="kibana.alert.rule.tags")
    rule_type_id: str | None = Field(None, alias="kibana.alert.rule.rule_type_id")
    consumer: str | None = Field(None, alias="kibana.alert.rule.consumer")
    status: AlertStatus = Field(alias="kibana.alert.status")
    reason: str | None = Field(None, alias="kibana.alert.reason")
    start: datetime | None = Field(None, alias="kibana.alert.start")
    end: datetime | None = Field(None, alias="kibana.alert.end")
    workflow_status: str | None = Field(None, alias="kibana.alert.workflow_status")
    space_ids: list[str] = Field(default_factory=list, alias="kibana.space_ids")
    timestamp: datetime = Field(alias="@timestamp")
    event_action: str | None = Field(None, alias="event.action")
    index: str = ""
    cursor: AlertCursor
    carried: dict[str, Any] = Field(default_factory=dict)  # CARRIED_FIELDS the document has, as written

    @property
    def finished(self) -> bool:
        """The alert no longer fires: it recovered, or it is no longer tracked."""
        return self.status != "active"

    @property
    def untracked(self) -> bool:
        """Kibana stopped tracking the alert (its rule was disabled or deleted, or the alert was untracked)."""
        return self.status == "untracked"

    @property
    def shown(self) -> Shown:
        """Which alert, and what a message shows of it (SHOWN_FIELDS): a document written again with
        the same is nothing new."""
        return (
            self.alert_uuid,
            self.rule_uuid,
            self.status,
            self.reason,
            self.action_group,
            self.rule_name,
            self.rule_tags,
        )


@dataclass(frozen=True)
class UnreadableAlert:
    """An alert document that could not be read into an `AlertChange`; `cause` says which field and why."""

    index: str
    id: str
    rule_uuid: str | None
    cause: str
    cursor: AlertCursor


class AlertDocument:
    """One hit of a search of the alerts: its sort values and its `_source`, not yet read."""

    __slots__ = ("alert_uuid", "hit", "timestamp_ms")

    def __init__(self, hit: dict[str, Any]) -> None:
        try:
            # Both sort values are converted here, so the cursor needs no validation of its own (a hot
            # path: one per alert document read). Without them the answer itself is broken.
            sort = hit["sort"]
            self.timestamp_ms = int(sort[0])
            self.alert_uuid = str(sort[1])
        except (KeyError, IndexError, TypeError, ValueError):
            raise AlertsIndexRejected(
                f"an alert document in {hit.get('_index')} came without its sort values"
            ) from None
        self.hit = hit

    @property
    def cursor(self) -> AlertCursor:
        return AlertCursor.of(self.timestamp_ms, self.alert_uuid)

    def quick(self) -> Shown | None:
        """`AlertChange.shown` (alert uuid, rule uuid, what a message shows) straight from the
        `_source`, without reading it; None when it cannot be had so (fields held as objects, no uuid
        or rule uuid). Only ever compared with another `quick()`: equal means nothing new to show."""
        source = self.hit.get("_source")
        if type(source) is not dict or not NESTED_UNDER.isdisjoint(source):
            return None
        try:
            shown = _shown_fields(source)
        except KeyError:  # a field Kibana left out (no reason, no tags)
            shown = tuple(source.get(name) for name in SHOWN_FIELDS)
        if type(shown[0]) is not str or type(shown[1]) is not str:
            return None
        return cast(Shown, shown)

    def change(self) -> AlertChange | UnreadableAlert:
        """The document read into an `AlertChange`, or why it cannot be."""
        hit = self.hit
        raw = hit.get("_source") or {}
        # Kibana writes the framework fields as dotted keys: flatten only what is nested.
        source = _flatten(raw) if any(isinstance(value, dict) for value in raw.values()) else dict(raw)
        cursor = self.cursor
        try:
            source["index"], source["cursor"] = hit.get("_index", ""), cursor
            source["carried"] = {name: source[name] for name in CARRIED_FIELDS if name in source}
            return AlertChange.model_validate(source)
        except ValidationError as error:
            first = error.errors(include_input=False, include_url=False)[0]
            detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
            rule = source.get("kibana.alert.rule.uuid")
            return UnreadableAlert(
                index=str(hit.get("_index", "")),
                id=str(hit.get("_id", "")),
                rule_uuid=rule if isinstance(rule, str) else None,
                cause=detail,
                cursor=cursor,
            )


def _flatten(source: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys whether Elasticsearch holds `{"kibana.alert.uuid": …}` or `{"kibana": {"alert": …}}`."""
    flat: dict[str, Any] = {}
    for key, value in source.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat
