"""The webhook body as Kibana's connector renders it: what is accepted, and the 400 wording."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devkit.fake_kibana.webhook_connector import AlertVariables, documented_bodies, render_body
from handlers.alerts.webhook import (
    RULE_NAME_KEPT,
    TAG_KEPT,
    TAGS_KEPT,
    TEXT_KEPT,
    AlertDelivery,
    BadDelivery,
    parse_delivery,
)
from tests.kibana_mustache import kibana_render

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
    assert refusal({**BODY, "tags": 42}).field == "tags"


def test_a_channel_longer_than_the_store_keeps_is_named_with_what_to_do() -> None:
    bad = refusal({**BODY, "channel": "#" + "c" * 70})
    assert bad.field == "channel" and "by its id" in bad.message
    assert json.loads(bad.response().body)["message"] == bad.message  # what Kibana's action history shows


# ---- what a real rule renders is accepted, and made fit for Slack and the store ---------------


def test_a_reason_and_a_message_over_20000_characters_are_accepted_and_clipped() -> None:
    delivery, _ = parse({**BODY, "reason": "r" * 25_000, "message": "m" * 40_000})
    assert len(delivery.reason) == len(delivery.message) == TEXT_KEPT
    assert delivery.reason.endswith("r…")


def test_more_than_200_tags_are_accepted_and_the_first_kept() -> None:
    tags = [f"tag-{n}" for n in range(250)] + ["t" * 1000]
    as_json, _ = parse({**BODY, "tags": json.dumps(tags)})
    joined, _ = parse({**BODY, "tags": ",".join(tags)})
    assert as_json.tags == joined.tags == tags[:TAGS_KEPT]
    long_tag, _ = parse({**BODY, "tags": ["t" * 1000]})
    assert len(long_tag.tags[0]) == TAG_KEPT


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("[x],prod", ["[x]", "prod"]),
        ("[not json", ["[not json"]),
        ("[a,b]", ["[a", "b]"]),
        ('["prod",{"x":1}]', ['["prod"', '{"x":1}]']),
        ('["db,eu","prod"]', ["db,eu", "prod"]),
    ],
)
def test_comma_joined_tags_that_start_with_a_bracket_are_tags(tags: str, expected: list[str]) -> None:
    assert parse({**BODY, "tags": tags})[0].tags == expected


def test_a_lone_surrogate_becomes_the_replacement_character_in_every_field() -> None:
    """`JSON.stringify` writes half an emoji (a log line cut short) as `\\ud83d`; Python's json gives a str that
    cannot be encoded as UTF-8, which neither the store, the log nor Slack could take."""
    raw = (
        b'{"rule_id":"r1","alert_id":"host-\\ud83d","alert_uuid":"u","action_group":"g",'
        b'"reason":"disk full \\ud83d","rule_name":"\\udc00 CPU","tags":"[\\"a\\\\ud83d\\"]"}'
    )
    delivery, _ = parse(raw)
    assert delivery.reason == "disk full \ufffd" and delivery.rule_name == "\ufffd CPU"
    assert delivery.alert_id == "host-\ufffd" and delivery.tags == ["a\ufffd"]
    delivery.model_dump_json().encode("utf-8")  # nothing left that UTF-8 cannot encode


def test_a_surrogate_pair_is_the_character_it_encodes() -> None:
    raw = b'{"rule_id":"r1","alert_id":"a","alert_uuid":"u","action_group":"g","reason":"\\ud83d\\ude00"}'
    delivery, _ = parse(raw)
    assert delivery.reason == "\U0001f600"


def test_nul_and_other_control_characters_become_the_replacement_character() -> None:
    delivery, _ = parse({**BODY, "reason": "a\x00b\x07c\x1bd\x7fe\x85f\tg\nh", "tags": ["p\x00q"]})
    assert delivery.reason == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\tg\nh"
    assert delivery.tags == ["p\ufffdq"]


def test_a_rule_name_and_a_rule_url_that_are_too_long_are_clipped_or_dropped() -> None:
    delivery, _ = parse({**BODY, "rule_name": "n" * 5000, "rule_url": "https://k/" + "x" * 5000})
    assert len(delivery.rule_name) == RULE_NAME_KEPT and delivery.rule_url == ""


def test_unknown_fields_are_ignored() -> None:
    delivery, _ = parse({**BODY, "context": {"value": 97}, "extra": "x"})
    assert delivery.rule_id == "r1"


# ---- the documented bodies, rendered as Kibana renders them -------------------------------------

GUIDE = Path(__file__).parents[2] / "docs" / "alerts.md"


def documented() -> list[str]:
    bodies = documented_bodies(GUIDE.read_text(encoding="utf-8"))
    assert len(bodies) == 2  # the firing action's body, and the Recovered action's
    return bodies


def with_comma_joined_tags(body: str) -> str:
    """The same body with `{{rule.tags}}` (comma-joined), as older bodies have it."""
    assert "{{rule.tags.asJSON}}" in body
    return body.replace("{{rule.tags.asJSON}}", "{{rule.tags}}")


def test_the_documented_bodies_render_to_deliveries_the_bot_reads() -> None:
    """The two connector bodies of docs/alerts.md, rendered as Kibana's Webhook connector does (every
    variable JSON-escaped; `{{rule.tags.asJSON}}` a JSON list), give an active and a recovered delivery,
    as pasted: without a channel they go to ALERT_CHANNEL."""
    alert = AlertVariables(
        rule_id="r1",
        alert_id="host-1",
        alert_uuid="u-1",
        space_id="ops",
        message="CPU 97% > 90%",
        tags=["prod", "db,eu"],
    )
    firing, recovery = (
        parse_delivery(render_body(b, alert.variables()), default_channel="C0ALERTS") for b in documented()
    )
    assert firing[1] == recovery[1] == "C0ALERTS"
    assert firing[0].state == "active" and not firing[0].recovered and firing[0].text == "CPU 97% > 90%"
    assert firing[0].tags == ["prod", "db,eu"] and firing[0].space == "ops"
    assert recovery[0].state == "recovered" and recovery[0].recovered


# What real rules render that Slack and the store cannot take as it is, and what the bot makes of it.
HARD_CASES: dict[str, tuple[AlertVariables, dict[str, Any]]] = {
    "a reason over 20,000 characters": (
        AlertVariables(rule_id="r1", alert_id="a", alert_uuid="u", reason="x" * 25_000),
        {"reason": "x" * (TEXT_KEPT - 1) + "…"},
    ),
    "more than 200 tags": (
        AlertVariables(rule_id="r1", alert_id="a", alert_uuid="u", tags=[f"t{n}" for n in range(250)]),
        {"tags": [f"t{n}" for n in range(TAGS_KEPT)]},
    ),
    "a lone surrogate (a log line cut in an emoji)": (
        AlertVariables(
            rule_id="r1", alert_id="a", alert_uuid="u", reason="disk \U0001f4be full \ud83d", message="\udc00"
        ),
        {"reason": "disk \U0001f4be full \ufffd", "message": "\ufffd"},
    ),
    "NUL and controls in the reason": (
        AlertVariables(rule_id="r1", alert_id="a", alert_uuid="u", reason='say "hi"\x00\x1b[31m\nnext\tline'),
        {"reason": 'say "hi"\ufffd\ufffd[31m\nnext\tline'},
    ),
    "tags with commas and brackets": (
        AlertVariables(rule_id="r1", alert_id="a", alert_uuid="u", tags=["[x]", "db,eu", 'q"t']),
        {"tags": ["[x]", "db,eu", 'q"t']},
    ),
}


@pytest.mark.parametrize("case", list(HARD_CASES))
def test_what_real_rules_render_is_accepted_from_the_documented_bodies(case: str) -> None:
    alert, expected = HARD_CASES[case]
    for template in documented():
        delivery, _ = parse_delivery(render_body(template, alert.variables()), default_channel="C0ALERTS")
        assert {field: getattr(delivery, field) for field in expected} == expected


def test_comma_joined_tags_whose_first_tag_starts_with_a_bracket_are_accepted() -> None:
    alert = AlertVariables(rule_id="r1", alert_id="a", alert_uuid="u", tags=["[x]", "prod"])
    for template in documented():
        body = render_body(with_comma_joined_tags(template), alert.variables())
        assert b'"tags":"[x],prod"' in body
        assert parse_delivery(body, default_channel="C0ALERTS")[0].tags == ["[x]", "prod"]


@pytest.mark.parametrize("case", list(HARD_CASES))
def test_kibana_s_mustache_renders_the_documented_bodies_as_the_devkit_does_and_the_bot_reads_them(case: str) -> None:
    alert, expected = HARD_CASES[case]
    for template in [*documented(), with_comma_joined_tags(documented()[0])]:
        by_kibana = kibana_render(template, alert.variables())
        assert by_kibana == render_body(template, alert.variables())
        delivery, channel = parse_delivery(by_kibana, default_channel="C0ALERTS")
        assert channel == "C0ALERTS"
        if "{{rule.tags.asJSON}}" in template:
            assert {field: getattr(delivery, field) for field in expected} == expected


def test_kibana_s_mustache_joins_tags_with_commas_and_the_bot_reads_a_first_tag_in_brackets() -> None:
    alert = AlertVariables(rule_id="r1", alert_id="a", alert_uuid="u", tags=["[x]", "prod"])
    by_kibana = kibana_render(with_comma_joined_tags(documented()[0]), alert.variables())
    assert b'"tags":"[x],prod"' in by_kibana
    assert parse_delivery(by_kibana, default_channel="C0ALERTS")[0].tags == ["[x]", "prod"]


# ---- what else an alert carries (issue 27 item 6) -----------------------------------------------

FACT_CASES: dict[str, tuple[AlertVariables, dict[str, Any]]] = {
    "an index-threshold alert, flapping": (
        AlertVariables(
            rule_id="r1",
            alert_id="host-1",
            alert_uuid="u-1",
            flapping=True,
            value="0.97",
            conditions='avg(cpu) is greater than 0.9 "quoted" <!here>',
        ),
        {"value": "0.97", "conditions": 'avg(cpu) is greater than 0.9 "quoted" <!here>', "flapping": True},
    ),
    "an Observability alert with its page": (
        AlertVariables(
            rule_id="r1", alert_id="svc", alert_uuid="u-2", alert_details_url="https://kibana.example.com/app/x/u-2"
        ),
        {"flapping": False, "url": "https://kibana.example.com/app/x/u-2", "value": None},
    ),
}


@pytest.mark.parametrize("case", list(FACT_CASES))
def test_the_documented_bodies_carry_flapping_value_conditions_and_the_alert_page(case: str) -> None:
    """Rendered by the devkit and by Kibana's own mustache.js: the same bytes, read into the facts the
    message shows; a rule type without those context variables renders them empty, read as absent."""
    alert, expected = FACT_CASES[case]
    for template in documented():
        for rendered in (render_body(template, alert.variables()), kibana_render(template, alert.variables())):
            delivery, _ = parse_delivery(rendered, default_channel="C0ALERTS")
            assert delivery.facts is not None
            assert {field: getattr(delivery.facts, field) for field in expected} == expected


def test_a_body_without_fact_keys_has_no_facts() -> None:
    delivery, _ = parse(BODY)
    assert delivery.facts is None
