"""Kibana 9.5's per-alert snooze: `POST …/rule/{rule_id}/alert/{alert_id}/_snooze` and `_unsnooze`.

Read in Kibana's source (`routes/rule/apis/snooze_alert`, `application/rule/methods/snooze_alert`,
`common/routes/rule/apis/snooze_alert/schemas/v1.ts`): the body's `expires_at` (an ISO date in the
future) and/or `conditions` (`field_change` with `field`, `severity_change`, `severity_equals` with
`value`) with `condition_operator` (`any` | `all`), at least one of the two; the alert must exist in
alerts-as-data (404 `Alert instance with id "…" does not exist for rule with id "…"`); a new snooze
replaces the alert's earlier one; 204. `_unsnooze` removes it, 204. The routes exist from 9.5 on
(the router's bare 404 before); like every alerting route they need no licence above basic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .alerting import load_rule
from .calls import Call, Reply, config_schema_query, object_body, reject_unknown_keys, type_name
from .errors import Boom
from .rules import iso, parse_iso

SEVERITIES = ("critical", "high", "medium", "low", "info")
MAX_CONDITIONS = 10
WHERE = "request body"


def _condition(given: Any, n: int) -> dict[str, Any]:
    where = f"{WHERE}.conditions.{n}"
    if not isinstance(given, dict):
        raise Boom(400, f"[{where}]: expected a plain object value, but found [{type_name(given)}] instead.")
    kind = given.get("type")
    if kind == "severity_change":
        reject_unknown_keys(given, {"type"}, where)
        return {"type": kind}
    if kind == "field_change":
        reject_unknown_keys(given, {"type", "field"}, where)
        if not isinstance(given.get("field"), str):
            raise Boom(
                400, f"[{where}.field]: expected value of type [string] but got [{type_name(given.get('field'))}]"
            )
        return {"type": kind, "field": given["field"]}
    if kind == "severity_equals":
        reject_unknown_keys(given, {"type", "value"}, where)
        if given.get("value") not in SEVERITIES:
            raise Boom(400, f"[{where}.value]: types that failed validation")
        return {"type": kind, "value": given["value"]}
    raise Boom(400, f"[{where}]: types that failed validation")


def snooze_alert(call: Call) -> Reply:
    query = config_schema_query(call, {"validate_alerts_existence": "boolean"})
    body = object_body(call)
    reject_unknown_keys(body, {"expires_at", "conditions", "condition_operator"})
    entry: dict[str, Any] = {}
    if "expires_at" in body:
        expires = body["expires_at"]
        if not isinstance(expires, str):
            raise Boom(400, f"[{WHERE}.expires_at]: expected value of type [string] but got [{type_name(expires)}]")
        moment = parse_iso(expires)
        if moment is None:
            raise Boom(
                400,
                f"[{WHERE}.expires_at]: string is not a valid ISO date: {expires}. "
                "Use ISO 8601 YYYY-MM-DDTHH:mm:ss.sssZ",
            )
        entry["expiresAt"] = iso(moment)
    if "conditions" in body:
        if not isinstance(body["conditions"], list):
            raise Boom(
                400, f"[{WHERE}.conditions]: expected value of type [array] but got [{type_name(body['conditions'])}]"
            )
        if len(body["conditions"]) > MAX_CONDITIONS:
            raise Boom(
                400,
                f"[{WHERE}.conditions]: array size is [{len(body['conditions'])}], "
                f"but cannot be greater than [{MAX_CONDITIONS}]",
            )
        entry["conditions"] = [_condition(c, n) for n, c in enumerate(body["conditions"])]
    operator = body.get("condition_operator")
    if operator is not None and operator not in ("any", "all"):
        raise Boom(400, f"[{WHERE}.condition_operator]: types that failed validation")
    if "expires_at" not in body and "conditions" not in body:
        raise Boom(400, f"[{WHERE}]: either [expires_at] or [conditions] must be provided")
    if "conditions" in body and not body["conditions"]:
        raise Boom(400, f"[{WHERE}]: [conditions] must contain at least one condition")
    if "expiresAt" in entry and (parse_iso(entry["expiresAt"]) or call.now) <= call.now:
        raise Boom(400, f"[{WHERE}]: [expires_at] must be in the future")
    rule_id, alert_id = call.params["rule_id"], call.params["alert_id"]
    rule = load_rule(call, rule_id, "muteAlert")
    if query.get("validate_alerts_existence", True) and alert_id not in rule.known_alerts:
        raise Boom(404, f'Alert instance with id "{alert_id}" does not exist for rule with id "{rule_id}"')
    rule.snoozed_alerts = [s for s in rule.snoozed_alerts if s["alertInstanceId"] != alert_id]
    rule.snoozed_alerts.append(
        {"alertInstanceId": alert_id, "mutedAt": iso(call.now), **entry, "conditionOperator": operator or "any"}
    )
    rule.touch(call.username, call.now)
    return Reply(204)


def unsnooze_alert(call: Call) -> Reply:
    rule = load_rule(call, call.params["rule_id"], "unmuteAlert")
    alert_id = call.params["alert_id"]
    kept = [s for s in rule.snoozed_alerts if s["alertInstanceId"] != alert_id]
    if len(kept) != len(rule.snoozed_alerts):
        rule.snoozed_alerts = kept
        rule.touch(call.username, call.now)
    return Reply(204)


def snoozed_until(rule_snoozes: list[dict[str, Any]], alert_id: str) -> datetime | None:
    """When the alert's snooze ends (for tests); None without one or without an end."""
    for entry in rule_snoozes:
        if entry["alertInstanceId"] == alert_id and "expiresAt" in entry:
            return parse_iso(entry["expiresAt"])
    return None
