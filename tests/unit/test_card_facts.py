"""What an alert message shows of what the alert carries (handlers/alerts/card_facts.py): each fact
from Kibana's alert document as Kibana writes it, nothing for what it does not carry, Kibana's text
escaped, and every block valid for slack_sdk's Block Kit models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.alerts_index.documents import AlertChange, AlertDocument
from handlers.alerts.alert_documents import delivery_of
from handlers.alerts.card_facts import CardFacts, fact_lines, from_document, linked
from handlers.alerts.message import AlertView, alert_blocks
from tests.unit.test_long_ids_fit_slack import validated

BASE = "https://kibana.example.com"


def document(**fields: Any) -> dict[str, Any]:
    return {
        "@timestamp": "2026-12-06T10:00:00.000Z",
        "kibana.alert.uuid": "u-1",
        "kibana.alert.instance.id": "host-1",
        "kibana.alert.rule.uuid": "r1",
        "kibana.alert.rule.name": "CPU high",
        "kibana.alert.status": "active",
        "kibana.alert.action_group": "threshold met",
        **fields,
    }


def change_of(source: dict[str, Any]) -> AlertChange:
    read = AlertDocument({"_index": ".alerts-x", "_id": "u-1", "sort": [1, "u-1"], "_source": source}).change()
    assert isinstance(read, AlertChange), read
    return read


def test_a_document_without_the_fields_shows_nothing_more() -> None:
    assert from_document(document()) is None
    assert from_document(document(**{"kibana.alert.flapping": False, "kibana.alert.maintenance_window_ids": []})) == (
        CardFacts(flapping=False)
    )
    assert fact_lines(CardFacts(flapping=False)) == []


def test_value_threshold_and_conditions_as_index_threshold_writes_them() -> None:
    facts = from_document(
        document(**{
            "kibana.alert.evaluation.value": "0.97",
            "kibana.alert.evaluation.threshold": 0.9,
            "kibana.alert.evaluation.conditions": "avg(cpu) is greater than 0.9",
        })
    )  # fmt: skip
    assert fact_lines(facts) == [
        ":bar_chart: Value `0.97` against threshold `0.9`",
        "Condition: avg(cpu) is greater than 0.9",
    ]


def test_values_and_a_range_threshold_are_joined() -> None:
    facts = from_document(
        document(**{"kibana.alert.evaluation.values": [12, None, 30.0], "kibana.alert.evaluation.threshold": [10, 20]})
    )
    assert fact_lines(facts)[0] == ":bar_chart: Value `12 and 30` against threshold `10 and 20`"


def test_improving_and_worsening_need_what_kibana_wrote() -> None:
    improving = from_document(
        document(**{"kibana.alert.severity_improving": True, "kibana.alert.previous_action_group": "critical"})
    )
    assert fact_lines(improving) == [":arrow_lower_right: *Improving* (was `critical`)"]
    worsening = from_document(
        document(**{"kibana.alert.severity_improving": False, "kibana.alert.previous_action_group": "warning"})
    )
    assert fact_lines(worsening) == [":arrow_upper_right: *Worsening* (was `warning`)"]
    # false without a previous group: the first time it fired, neither better nor worse
    assert fact_lines(from_document(document(**{"kibana.alert.severity_improving": False}))) == []


def test_windows_cases_and_the_link_escaped_and_bounded() -> None:
    facts = from_document(
        document(**{
            "kibana.alert.maintenance_window_ids": ["mw-1", "mw-2"],
            "kibana.alert.case_ids": ["c-1", "c-2"],
            "kibana.alert.url": "/s/ops/app/observability/alerts/u-1",
        })
    )  # fmt: skip
    assert facts is not None
    titled = facts.model_copy(update={"maintenance_windows": ("Deploy <!channel>", "")})
    lines = fact_lines(linked(titled, BASE))
    assert lines == [
        ":construction: In maintenance window *Deploy &lt;!channel&gt;*: Kibana sends no notification of it",
        ":construction: In maintenance window `mw-2`: Kibana sends no notification of it",
        ":briefcase: Linked cases `c-1`, `c-2`",
        f"<{BASE}/s/ops/app/observability/alerts/u-1|Open the alert in Kibana>",
    ]
    elsewhere = CardFacts(url="https://elsewhere.example.com/app/observability/alerts/u-1")
    assert linked(elsewhere, BASE) == CardFacts(url=None) and fact_lines(linked(elsewhere, BASE)) == []


def test_a_field_of_another_type_never_makes_the_alert_unreadable() -> None:
    odd = document(**{
        "kibana.alert.evaluation.value": {"nested": 1},
        "kibana.alert.flapping": "maybe",
        "kibana.alert.case_ids": 42,
        "kibana.alert.url": "javascript:alert(1)",
    })  # fmt: skip
    delivery, clipped = delivery_of(change_of(odd), "default")
    assert clipped == [] and delivery.facts is None


def test_the_facts_travel_from_the_document_to_a_valid_message() -> None:
    source = document(**{
        "kibana.alert.evaluation.value": "0.97",
        "kibana.alert.evaluation.threshold": 0.9,
        "kibana.alert.flapping": True,
        "kibana.alert.case_ids": ["c-1"],
    })  # fmt: skip
    delivery, _ = delivery_of(change_of(source), "default")
    assert delivery.facts is not None
    stored = CardFacts.load(delivery.facts.dump())  # as the store keeps it
    view = AlertView(
        rule_id="r1", rule_name="CPU high", space="default", alert_id="host-1", alert_uuid="u-1",
        action_group="threshold met", rule_url=f"{BASE}/app/rules/r1", date=datetime.now(UTC), facts=stored,
    )  # fmt: skip
    blocks = validated(alert_blocks(view))
    [facts_block] = [b for b in blocks if b.get("block_id") == "alert_facts"]
    assert [e["text"] for e in facts_block["elements"]] == [
        ":bar_chart: Value `0.97` against threshold `0.9`",
        ":left_right_arrow: *Flapping*: it keeps changing between active and recovered",
        ":briefcase: Linked case `c-1`",
    ]


def test_a_webhook_body_cannot_hand_the_facts_whole() -> None:
    from handlers.alerts.webhook import parse_delivery

    body = {
        "rule_id": "r1",
        "alert_id": "host-1",
        "alert_uuid": "u-1",
        "action_group": "threshold met",
        "facts": {"maintenance_window_ids": ["forged"], "maintenance_windows": ["Nothing to see"]},
    }
    delivery, _ = parse_delivery(json.dumps(body).encode(), default_channel="C0ALERTS")
    assert delivery.facts is None
    with_value = {**body, "value": "3"}
    delivery, _ = parse_delivery(json.dumps(with_value).encode(), default_channel="C0ALERTS")
    assert delivery.facts == CardFacts(value="3")
