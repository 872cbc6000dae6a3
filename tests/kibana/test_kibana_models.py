"""The pydantic models: limits of a case, tolerance of newer Kibanas, derived values."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.kibana import AlertingHealth, Case, CaseCreate, Rule


def test_rule_reads_kibana_and_ignores_new_keys(kit: Any) -> None:
    rule = Rule.model_validate(kit.rule_body)

    assert (rule.name, rule.enabled, rule.muted_alert_ids, rule.active_alerts) == (
        "CPU usage above 90%",
        True,
        ["host-a"],
        3,
    )
    assert rule.schedule is not None and rule.schedule.interval == "1m"
    assert rule.snooze_schedule[0].duration == 14400000 and rule.snooze_schedule[0].rrule["tzid"] == "UTC"
    assert rule.is_snoozed_until is not None
    assert not hasattr(rule, "a_field_from_a_newer_kibana")


def test_rule_from_find_with_few_fields_and_no_last_run() -> None:
    rule = Rule.model_validate({"id": "r1", "name": "x", "last_run": None})

    assert (rule.active_alerts, rule.is_snoozed_until, rule.snooze_schedule, rule.tags) == (0, None, [], [])


def test_active_alerts_when_count_is_null(kit: Any) -> None:
    body = {**kit.rule_body, "last_run": {"outcome": "failed", "alerts_count": {"active": None}}}

    assert Rule.model_validate(body).active_alerts == 0


@pytest.mark.parametrize(
    ("states", "status"),
    [(("ok", "ok", "ok"), "ok"), (("ok", "warn", "ok"), "warn"), (("warn", "ok", "error"), "error")],
)
def test_health_status_is_the_worst_sub_state(kit: Any, states: tuple[str, str, str], status: str) -> None:
    names = ("decryption_health", "execution_health", "read_health")
    body = {
        **kit.health_body,
        "alerting_framework_health": {name: {"status": s} for name, s in zip(names, states, strict=True)},
    }

    health = AlertingHealth.model_validate(body)

    assert health.status == status


def test_case_reads_kibana(kit: Any) -> None:
    case = Case.model_validate(kit.case_body)

    assert (case.total_comment, case.total_alerts, case.severity, case.created_by and case.created_by.username) == (
        1,
        0,
        "high",
        "elastic",
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"title": ""},
        {"title": "x" * 161},
        {"description": ""},
        {"description": "x" * 30001},
        {"tags": ["t"] * 201},
        {"tags": ["x" * 257]},
        {"tags": [""]},
        {"severity": "urgent"},
        {"owner": "slack"},
        {"category": "x" * 51},
        {"unknown": 1},
    ],
)
def test_case_create_limits(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CaseCreate.model_validate({"title": "t", "description": "d", **overrides})


def test_case_create_at_its_limits() -> None:
    case = CaseCreate(
        title="x" * 160,
        description="d" * 30000,
        tags=["t" * 256] * 200,
        severity="critical",
        owner="securitySolution",
        settings={"syncAlerts": False},
        category="c" * 50,
    )

    body = case.to_body()
    assert body["settings"] == {"syncAlerts": False}
    assert body["category"] == "c" * 50
    assert body["connector"] == {"id": "none", "name": "none", "type": ".none", "fields": None}
