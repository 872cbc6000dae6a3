"""`AlertDocument`: a hit as Elasticsearch returned it, and `quick()`, what the poller compares before it
reads a document into a model (which alert, and what a message shows of it). Any change to what a
message shows of the alert must change it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.alerts_index import AlertChange, AlertDocument, AlertsIndexRejected, UnreadableAlert

SOURCE: dict[str, Any] = {  # the fields the poller asks for, as Kibana writes them (dotted keys)
    "@timestamp": "2026-03-01T12:00:00.000Z",
    "event.action": "active",
    "kibana.alert.uuid": "u-1",
    "kibana.alert.instance.id": "host-1",
    "kibana.alert.action_group": "threshold met",
    "kibana.alert.rule.uuid": "r1",
    "kibana.alert.rule.name": "CPU high",
    "kibana.alert.rule.tags": ["prod", "db"],
    "kibana.alert.rule.rule_type_id": ".index-threshold",
    "kibana.alert.rule.consumer": "alerts",
    "kibana.alert.status": "active",
    "kibana.alert.reason": "host-1 is above 90%",
    "kibana.alert.start": "2026-03-01T11:00:00.000Z",
    "kibana.alert.workflow_status": "open",
    "kibana.space_ids": ["default"],
}


def hit(source: dict[str, Any] | None = None, /, **changed: Any) -> dict[str, Any]:
    body = copy.deepcopy(SOURCE if source is None else source)
    body.update({key.replace("__", "."): value for key, value in changed.items()})
    return {"_index": ".internal.alerts-stack.alerts-default-000001", "_id": "u-1", "_source": body,
            "sort": [1772366400000, "u-1"]}  # fmt: skip


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """The same fields held as objects ({"kibana": {"alert": {"uuid": …}}}), as Elasticsearch may return them."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, last = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def test_quick_is_uuid_rule_and_what_a_message_shows_as_the_model_reads_it() -> None:
    document = AlertDocument(hit())
    quick = document.quick()
    change = document.change()
    assert isinstance(change, AlertChange) and quick is not None
    assert quick == change.shown == ("u-1", "r1", "active", "host-1 is above 90%", "threshold met", "CPU high",
                                     ["prod", "db"])  # fmt: skip
    assert (document.timestamp_ms, document.alert_uuid) == (1772366400000, "u-1")
    assert document.cursor == change.cursor


@pytest.mark.parametrize(
    "changed",
    [
        {"kibana__alert__status": "untracked"},  # an untracking changes only status, end and time range
        {"kibana__alert__status": "recovered"},
        {"kibana__alert__reason": "host-1 is above 95%"},
        {"kibana__alert__reason": None},
        {"kibana__alert__action_group": "warning"},
        {"kibana__alert__rule__name": "CPU very high"},
        {"kibana__alert__rule__tags": ["prod"]},
        {"kibana__alert__rule__tags": ["db", "prod"]},
        {"kibana__alert__rule__tags": "prod"},  # one tag, not a list: Elasticsearch allows it
    ],
)
def test_a_changed_field_in_an_otherwise_unchanged_document_changes_quick(changed: dict[str, Any]) -> None:
    before, after = AlertDocument(hit()).quick(), AlertDocument(hit(**changed)).quick()
    assert before is not None and after is not None
    assert after[:2] == before[:2] and after != before


def test_fields_a_message_does_not_show_leave_quick_as_it_was() -> None:
    """A rule run writes the alert again with a new `@timestamp` and `event.action`: nothing new to show."""
    again = hit(**{"@timestamp": "2026-03-01T12:01:00.000Z", "event__action": "active", "kibana__space_ids": ["x"]})
    again["sort"] = [1772366460000, "u-1"]
    assert AlertDocument(again).quick() == AlertDocument(hit()).quick()


def test_documents_held_as_objects_or_without_ids_are_always_read() -> None:
    held_as_objects = AlertDocument(hit(nested(SOURCE)))
    assert held_as_objects.quick() is None
    change, flat = held_as_objects.change(), AlertDocument(hit()).change()
    assert isinstance(change, AlertChange) and isinstance(flat, AlertChange) and change.shown == flat.shown
    partly = dict(SOURCE)
    partly["kibana.alert"] = {"reason": "held as an object"}  # a mix of both forms
    assert AlertDocument(hit(partly)).quick() is None
    assert AlertDocument(hit(kibana__alert__uuid=None)).quick() is None
    assert AlertDocument(hit(kibana__alert__rule__uuid=7)).quick() is None
    without_reason = dict(SOURCE)
    del without_reason["kibana.alert.reason"]  # a field left out: quick all the same, with None
    assert AlertDocument(hit(without_reason)).quick() == ("u-1", "r1", "active", None, "threshold met", "CPU high",
                                                          ["prod", "db"])  # fmt: skip
    without_source = hit()
    del without_source["_source"]
    assert AlertDocument(without_source).quick() is None
    assert isinstance(AlertDocument(without_source).change(), UnreadableAlert)


def test_a_hit_without_its_sort_values_is_a_broken_answer() -> None:
    broken = hit()
    del broken["sort"]
    with pytest.raises(AlertsIndexRejected, match="came without its sort values"):
        AlertDocument(broken)
