"""Security detection alerts: `POST /api/detection_engine/signals/status` (Kibana's SetAlertsStatus).

As Kibana's Security solution serves it (`open_close_signals_route.ts`, `set_signals_status_route.schema.yaml`):
public and versioned (2023-10-31) in every 8.x and 9.x, on every licence (the detection engine is Basic);
`acknowledged` is a status from 7.15 (before it was `in-progress`, still accepted). The route's authz
needs the Security alerts privilege (`alerts_api_all`, shown here as the `security` feature at `all`),
checked before the body. With `signal_ids` Kibana updates the documents of `.alerts-security.alerts-<space>`
with those ids by query: ids it has no document of change nothing and are no error, and it answers
Elasticsearch's update-by-query response.
"""

from __future__ import annotations

from typing import Any

from .calls import Call, Reply, object_body, reject_unknown_keys, type_name
from .errors import Boom

STATUSES = ("open", "closed", "acknowledged", "in-progress")
REASONS = (
    "false_positive",
    "issue_resolved",
    "acceptable_risk",
    "expected_activity",
    "low_severity",
    "duplicate",
    "investigation_required",
)
ROUTE = "/api/detection_engine/signals/status"


def _statuses(version: tuple[int, int, int]) -> tuple[str, ...]:
    return STATUSES if version >= (7, 15, 0) else ("open", "closed", "in-progress")


def set_alerts_status(call: Call) -> Reply:
    forbidden = call.state.forbidden_for("setAlertsStatus")
    if forbidden is not None:
        raise Boom(
            403,
            forbidden.message
            or f"API [POST {ROUTE}] is unauthorized for user, this action is granted by the Kibana privileges "
            "[alerts_api_all]",
        )
    body = object_body(call, "request body")
    reject_unknown_keys(body, {"signal_ids", "status", "reason", "query", "conflicts"}, "request body")
    status = body.get("status")
    allowed = _statuses(call.state.version_tuple)
    if status not in allowed:
        expected = " | ".join(f'"{s}"' for s in allowed)
        raise Boom(400, f"status: Invalid enum value. Expected {expected}, received '{status}'")
    reason = body.get("reason")
    if reason is not None and reason not in REASONS:
        raise Boom(400, f"reason: Invalid enum value, received '{reason}'")
    ids = body.get("signal_ids")
    if ids is None:
        raise Boom(400, "signal_ids: Required")  # the bot never sends the by-query form
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        shown = type_name(ids) if not isinstance(ids, list) else "array"
        raise Boom(400, f"signal_ids: Expected a non-empty array of non-empty strings, received {shown}")
    alerts = call.state.security_alerts
    updated = noops = 0
    for alert_id in dict.fromkeys(ids):
        key = (call.space, alert_id)
        if key not in alerts:
            continue
        if alerts[key] == status:
            noops += 1
        else:
            alerts[key] = status
            updated += 1
    answer: dict[str, Any] = {
        "took": 3,
        "timed_out": False,
        "total": updated + noops,
        "updated": updated,
        "deleted": 0,
        "batches": 1 if updated + noops else 0,
        "version_conflicts": 0,
        "noops": noops,
        "retries": {"bulk": 0, "search": 0},
        "throttled_millis": 0,
        "requests_per_second": -1,
        "throttled_until_millis": 0,
        "failures": [],
    }
    return Reply(200, answer)
