"""The webhook body as Kibana's connector renders it: what is accepted, and the 400 wording."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from handlers.alerts.webhook import AlertDelivery, BadDelivery, parse_delivery

BODY: dict[str, Any] = {
    "rule_id": "r1",
    "rule_name": "CPU high",
    "space_id": "ops",
    "alert_id": "host-1",
    "alert_uuid": "u-1",
    "action_group": "threshold met",
    "reason": "CPU 97%",
    "rule_url": "https://kibana.example.com/app/rules/r1",
    "tags": "prod,db",
    "date": "2025-03-04T10:42:07.123Z",
}


def parse(body: dict[str, Any] | bytes, channel: str | None = "C0DEFAULT") -> tuple[AlertDelivery, str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_delivery(raw, default_channel=channel)


def refusal(body: dict[str, Any] | bytes, channel: str | None = "C0DEFAULT") -> BadDelivery:
    with pytest.raises(BadDelivery) as caught:
        parse(body, channel)
    return caught.value


def test_the_readme_body_as_kibana_renders_it() -> None:
    delivery, channel = parse(BODY)
    assert channel == "C0DEFAULT"
    assert (delivery.rule_id, delivery.space, delivery.alert_id, delivery.alert_uuid) == ("r1", "ops", "host-1", "u-1")
    assert delivery.tags == ["prod", "db"]
    assert delivery.date == datetime(2025, 3, 4, 10, 42, 7, 123000, tzinfo=UTC)
    assert delivery.recovered is False


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("prod,db", ["prod", "db"]),
        (" prod , db ,", ["prod", "db"]),
        ("", []),
        (["prod", "db"], ["prod", "db"]),
        ('["prod","db"]', ["prod", "db"]),
        (None, []),
    ],
)
def test_tags_in_every_form_kibana_renders(tags: object, expected: list[str]) -> None:
    delivery, _ = parse({**BODY, "tags": tags})
    assert delivery.tags == expected


def test_missing_optional_values_render_as_empty_strings() -> None:
    delivery, _ = parse({**BODY, "space_id": "", "rule_url": "", "date": "", "rule_name": "", "reason": ""})
    assert delivery.space == "default"
    assert delivery.rule_url == "" and delivery.date is None and delivery.rule_name == ""


def test_a_rule_url_that_is_not_http_is_dropped() -> None:
    delivery, _ = parse({**BODY, "rule_url": "{{rule.url}}"})
    assert delivery.rule_url == ""


def test_the_body_channel_wins_over_the_setting() -> None:
    assert parse({**BODY, "channel": "#ops"})[1] == "#ops"
    assert parse({**BODY, "channel": "  "})[1] == "C0DEFAULT"


def test_no_channel_anywhere_names_channel() -> None:
    bad = refusal(BODY, channel=None)
    assert bad.field == "channel" and "ALERT_CHANNEL" in bad.message


def test_recovered_is_recognised_in_any_case() -> None:
    assert parse({**BODY, "action_group": "Recovered"})[0].recovered


def test_escaped_and_raw_newlines_in_the_reason_are_both_accepted() -> None:
    escaped = b'{"rule_id":"r1","alert_id":"a","alert_uuid":"u","action_group":"g","reason":"one\\ntwo \\"q\\""}'
    raw = b'{"rule_id":"r1","alert_id":"a","alert_uuid":"u","action_group":"g","reason":"one\ntwo \\"q\\""}'
    assert parse(escaped)[0].reason == parse(raw)[0].reason == 'one\ntwo "q"'


def test_malformed_json_says_where() -> None:
    bad = refusal(b'{"rule_id": {{rule.id}}}')
    assert bad.field is None and "line 1 column 14" in bad.message and "quotes" in bad.message
    assert refusal(b"\xff\xfe").message == "the body is not UTF-8 text"
    assert refusal(b'"just a string"').message == "the body must be a JSON object"


@pytest.mark.parametrize("field", ["rule_id", "alert_id", "alert_uuid", "action_group"])
def test_each_required_field_is_named_with_its_mustache(field: str) -> None:
    missing = refusal({k: v for k, v in BODY.items() if k != field})
    assert missing.field == field and f"`{field}` is missing" in missing.message and "{{" in missing.message
    empty = refusal({**BODY, field: ""})
    assert empty.field == field and f"`{field}` is empty" in empty.message


def test_too_long_and_wrong_types_are_named() -> None:
    assert refusal({**BODY, "rule_id": "r" * 256}).field == "rule_id"
    assert refusal({**BODY, "alert_id": ["a"]}).field == "alert_id"
    assert refusal({**BODY, "space_id": "Ops Space"}).field == "space_id"
    assert refusal({**BODY, "date": "last tuesday"}).field == "date"
    assert refusal({**BODY, "tags": "[not json"}).field == "tags"


def test_unknown_fields_are_ignored() -> None:
    delivery, _ = parse({**BODY, "context": {"value": 97}, "extra": "x"})
    assert delivery.rule_id == "r1"


def test_the_documented_bodies_render_to_deliveries_the_bot_reads() -> None:
    """The two connector bodies of docs/alerts.md, rendered as Kibana's Webhook connector does (every
    variable JSON-escaped; `{{rule.tags.asJSON}}` a JSON list), give an active and a recovered delivery."""
    import json as json_module
    import re
    from pathlib import Path

    guide = (Path(__file__).parents[2] / "docs" / "alerts.md").read_text(encoding="utf-8")
    bodies = [b for b in re.findall(r"```json\n(\{.*?\})\n```", guide, re.S) if '"rule_id"' in b]
    assert len(bodies) == 2
    values = {
        "rule.id": "r1", "rule.name": "CPU high", "rule.spaceId": "ops", "alert.id": "host-1", "alert.uuid": "u-1",
        "alert.actionGroup": "threshold met", "context.reason": "", "context.message": "CPU 97% > 90%",
        "rule.url": "", "rule.tags.asJSON": json_module.dumps(["prod", "db,eu"]), "date": "2025-03-04T10:42:07.123Z",
    }  # fmt: skip

    def render(body: str) -> bytes:
        escaped = {k: json_module.dumps(v)[1:-1] for k, v in values.items()}  # escapeJSON
        return re.sub(r"\{\{([^}]+)\}\}", lambda m: escaped[m.group(1)], body).encode()

    firing, recovery = (parse_delivery(render(b), default_channel=None)[0] for b in bodies)
    assert firing.state == "active" and not firing.recovered and firing.text == "CPU 97% > 90%"
    assert firing.tags == ["prod", "db,eu"] and firing.space == "ops"
    assert recovery.state == "recovered" and recovery.recovered
