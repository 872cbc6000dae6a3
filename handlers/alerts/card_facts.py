"""What an alert carries besides its reason, shown on its message — and nothing it does not carry.

From alerts-as-data (`kibana.alert.*`, read in `bot/alerts_index/documents.py`) and from the webhook
body where it has them (Kibana's mustache variables `{{alert.flapping}}`, `{{context.value}}`,
`{{context.conditions}}`, `{{context.alertDetailsUrl}}`; Kibana's action variables have none for the
threshold, the severity trend, maintenance windows or cases):

- the evaluated value against its threshold (`kibana.alert.evaluation.value` / `.values`,
  `kibana.alert.evaluation.threshold`; `kibana.alert.evaluation.conditions` says it in words);
- *flapping* (`kibana.alert.flapping`);
- improving or worsening (`kibana.alert.severity_improving`, with `kibana.alert.previous_action_group`);
- the maintenance windows Kibana put it in (`kibana.alert.maintenance_window_ids`, titles read from Kibana);
- linked cases (`kibana.alert.case_ids`);
- `kibana.alert.url` as the deep link (only under KIBANA_PUBLIC_URL: a body's link could point anywhere).

Every text came from Kibana (or a webhook body): it is escaped where Slack renders mrkdwn.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.kibana.errors import KibanaError
from bot.services import Services
from handlers.shared.blocks import Block, clip, code, context, escape

log = logging.getLogger(__name__)

FACTS_BLOCK = "alert_facts"
TEXT_LIMIT = 200  # characters of a value, a threshold or a condition
IDS_KEPT = 10  # maintenance windows and cases named
URL_LIMIT = 3000
WEBHOOK_KEYS = ("flapping", "value", "conditions", "alert_url")


class CardFacts(BaseModel):
    """What the alert carries; None / empty: it does not carry it (and nothing is shown for it)."""

    model_config = ConfigDict(frozen=True)

    value: str | None = None
    threshold: str | None = None
    conditions: str | None = None
    flapping: bool | None = None
    improving: bool | None = None
    previous_action_group: str | None = None
    maintenance_window_ids: tuple[str, ...] = ()
    maintenance_windows: tuple[str, ...] = ()  # their titles, where Kibana named them
    case_ids: tuple[str, ...] = ()
    url: str | None = None

    def empty(self) -> bool:
        return self == CardFacts()

    def dump(self) -> str | None:
        """As the store keeps it (None when there is nothing)."""
        return None if self.empty() else self.model_dump_json(exclude_defaults=True)

    @classmethod
    def load(cls, stored: str | None) -> CardFacts | None:
        if not stored:
            return None
        try:
            return cls.model_validate_json(stored)
        except ValidationError:
            return None


# ---- reading them ---------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A number or a string as shown; lists (`values`, a range threshold) joined; None for nothing."""
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, list):
        shown = [t for t in (_text(v) for v in value) if t is not None]
        return clip(" and ".join(shown), TEXT_LIMIT) if shown else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return clip(text, TEXT_LIMIT) if text else None


def _flag(value: Any) -> bool | None:
    """Kibana's boolean, or mustache's rendering of it ("true" / "false"); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _ids(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(clip(str(v), 255) for v in value if isinstance(v, str) and v.strip()))[:IDS_KEPT]


def from_document(source: Mapping[str, Any]) -> CardFacts | None:
    """The facts of an alert document (dotted `kibana.alert.*` keys, as Kibana writes them)."""
    value = source.get("kibana.alert.evaluation.value")
    if value is None:
        value = source.get("kibana.alert.evaluation.values")
    facts = CardFacts(
        value=_text(value),
        threshold=_text(source.get("kibana.alert.evaluation.threshold")),
        conditions=_text(source.get("kibana.alert.evaluation.conditions")),
        flapping=_flag(source.get("kibana.alert.flapping")),
        improving=_flag(source.get("kibana.alert.severity_improving")),
        previous_action_group=_text(source.get("kibana.alert.previous_action_group")),
        maintenance_window_ids=_ids(source.get("kibana.alert.maintenance_window_ids")),
        case_ids=_ids(source.get("kibana.alert.case_ids")),
        url=_url(source.get("kibana.alert.url")),
    )
    return None if facts.empty() else facts


def from_webhook(body: Mapping[str, Any]) -> CardFacts | None:
    """The facts a webhook body has (the README's body: `flapping`, `value`, `conditions`, `alert_url`)."""
    facts = CardFacts(
        value=_text(body.get("value")),
        conditions=_text(body.get("conditions")),
        flapping=_flag(body.get("flapping")),
        url=_url(body.get("alert_url")),
    )
    return None if facts.empty() else facts


def _url(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("/") or text.startswith(("https://", "http://")):
        return text if len(text) <= URL_LIMIT else None
    return None


def deep_link(facts: CardFacts, public_base: str) -> str | None:
    """The alert's own page in Kibana: a path under KIBANA_PUBLIC_URL, or a full URL that is under it."""
    if not facts.url:
        return None
    base = public_base.rstrip("/")
    if facts.url.startswith("/"):
        return base + facts.url
    return facts.url if facts.url.startswith(base + "/") else None


TITLES_KEPT = 1000  # window titles remembered by a poller (windows are few; alerts in them are many)


async def with_window_titles(
    services: Services, facts: CardFacts | None, space: str, known: dict[tuple[str, str], str]
) -> CardFacts | None:
    """The facts with the titles of their maintenance windows, read from Kibana (`GET
    /api/maintenance_window/{id}`) once per window (`known`); a window Kibana does not name keeps its id."""
    if facts is None or not facts.maintenance_window_ids:
        return facts
    titles: list[str] = []
    for window_id in facts.maintenance_window_ids:
        title = known.get((space, window_id))
        if title is None:
            try:
                title = (await services.kibana.get_maintenance_window(window_id, space=space)).title
            except KibanaError as error:
                log.info("maintenance window %s of an alert: its title could not be read (%s)", window_id, error)
                title = ""
            else:
                if len(known) >= TITLES_KEPT:
                    known.clear()
                known[(space, window_id)] = title
        titles.append(title)
    return facts.model_copy(update={"maintenance_windows": tuple(titles)})


# ---- showing them -------------------------------------------------------------------------


def fact_lines(facts: CardFacts | None) -> list[str]:
    """The lines the message shows, in mrkdwn (Kibana's text escaped); none for an alert with no facts."""
    if facts is None:
        return []
    lines: list[str] = []
    if facts.value is not None:
        against = f" against threshold {code(facts.threshold)}" if facts.threshold is not None else ""
        lines.append(f":bar_chart: Value {code(facts.value)}{against}")
    if facts.conditions is not None:
        lines.append(f"Condition: {escape(facts.conditions)}")
    if facts.flapping:
        lines.append(":left_right_arrow: *Flapping*: it keeps changing between active and recovered")
    if facts.improving is True:
        was = f" (was {code(facts.previous_action_group)})" if facts.previous_action_group else ""
        lines.append(f":arrow_lower_right: *Improving*{was}")
    elif facts.improving is False and facts.previous_action_group:
        lines.append(f":arrow_upper_right: *Worsening* (was {code(facts.previous_action_group)})")
    for n, window_id in enumerate(facts.maintenance_window_ids):
        title = facts.maintenance_windows[n] if n < len(facts.maintenance_windows) else ""
        named = f"*{escape(clip(title, 100))}*" if title else code(window_id)
        lines.append(f":construction: In maintenance window {named}: Kibana sends no notification of it")
    if facts.case_ids:
        lines.append(":briefcase: Linked " + ("case" if len(facts.case_ids) == 1 else "cases") + " "
                     + ", ".join(code(case) for case in facts.case_ids))  # fmt: skip
    if facts.url and facts.url.startswith(("https://", "http://")):  # made absolute by `linked`
        lines.append(f"<{escape(facts.url)}|Open the alert in Kibana>")
    return lines


def linked(facts: CardFacts | None, public_base: str) -> CardFacts | None:
    """The facts with their deep link made absolute under KIBANA_PUBLIC_URL, or dropped."""
    if facts is None or facts.url is None:
        return facts
    return facts.model_copy(update={"url": deep_link(facts, public_base)})


def facts_block(facts: CardFacts | None) -> list[Block]:
    """One context block of the facts (at most 10 elements, Slack's limit), or none."""
    lines = fact_lines(facts)
    return [context(*lines[:10], block_id=FACTS_BLOCK)] if lines else []


def webhook_facts(data: Any) -> Any:
    """For `AlertDelivery`'s validator: the body's fact keys gathered into `facts`."""
    if not isinstance(data, dict) or "facts" in data or not any(key in data for key in WEBHOOK_KEYS):
        return data
    return {**data, "facts": from_webhook(data)}


def as_json(facts: CardFacts | None) -> str | None:
    return facts.dump() if facts is not None else None
