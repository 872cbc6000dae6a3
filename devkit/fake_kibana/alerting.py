"""Alerting routes: health, get a rule, enable/disable, mute/unmute (behaviours.md §5)."""

from __future__ import annotations

from .calls import Call, Reply, coerce_boolean, config_schema_query, reject_unknown_keys, type_name
from .errors import Boom, rule_not_found
from .rules import Rule, iso


def load_rule(call: Call, rule_id: str, operation: str) -> Rule:
    """The rule saved object (404 first), then the rule-level authorization (403)."""
    rule = call.state.rule(call.space, rule_id)
    if rule is None:
        raise rule_not_found(rule_id)
    forbidden = call.state.forbidden_for(operation, rule_id)
    if forbidden is not None:
        raise Boom(
            403,
            forbidden.message or f'Unauthorized by "{rule.consumer}" to {operation} "{rule.rule_type_id}" rule',
        )
    return rule


# ---------------------------------------------------------------------------- health
def health(call: Call) -> Reply:
    forbidden = call.state.forbidden_for("health")
    if forbidden is not None:
        raise Boom(403, forbidden.message or "Unauthorized to access alerting framework health")
    rules = list(call.state.rules.values())  # all spaces
    healthy = [rule for rule in rules if rule.execution_status != "error"]
    ok_timestamp = iso(max(rule.last_execution_date for rule in healthy)) if healthy else iso(call.now)

    def sub_state(reason: str) -> dict[str, str]:
        failing = [r for r in rules if r.execution_status == "error" and r.error_reason == reason]
        if failing:
            return {"status": "warn", "timestamp": iso(max(r.last_execution_date for r in failing))}
        return {"status": "ok", "timestamp": ok_timestamp}

    body = {
        "is_sufficiently_secure": call.state.is_sufficiently_secure,
        "has_permanent_encryption_key": call.state.has_permanent_encryption_key,
        "alerting_framework_health": {
            "decryption_health": sub_state("decrypt"),
            "execution_health": sub_state("execute"),
            "read_health": sub_state("read"),
        },
    }
    return Reply(200, body)


# ---------------------------------------------------------------------------- get
def get_rule(call: Call) -> Reply:
    rule = load_rule(call, call.params["id"], "get")
    return Reply(200, rule.to_public_api(call.now, call.state.version_tuple))


# ---------------------------------------------------------------------------- enable / disable
def disable_rule(call: Call) -> Reply:
    untrack = False
    if call.json is not None:
        if not isinstance(call.json, dict):
            raise Boom(
                400,
                f"[request body]: expected a plain object value, but found [{type_name(call.json)}] instead.",
            )
        reject_unknown_keys(call.json, {"untrack"})
        if call.json.get("untrack") is not None:
            untrack = coerce_boolean(call.json["untrack"], "request body.untrack")
    rule = load_rule(call, call.params["id"], "disable")
    if untrack and rule.active_alerts:
        untracked, rule.active_alerts = rule.active_alerts, []
        rule.untracked_alerts.extend(untracked)
        for listener in call.state.untrack_listeners:  # the update-by-query on alerts-as-data
            listener(rule, untracked)
    if rule.enabled:
        rule.enabled = False
        rule.touch(call.username, call.now)
    return Reply(204)


def enable_rule(call: Call) -> Reply:
    rule = load_rule(call, call.params["id"], "enable")
    if not rule.enabled:
        rule.enabled = True
        rule.execution_status = "pending"
        rule.error_reason = None
        rule.error_message = None
        rule.last_execution_date = call.now
        rule.touch(call.username, call.now)
    return Reply(204)


# ---------------------------------------------------------------------------- mute
def mute_all(call: Call) -> Reply:
    rule = load_rule(call, call.params["id"], "muteAll")
    rule.mute_all = True
    rule.muted_alert_ids = []
    rule.touch(call.username, call.now)
    return Reply(204)


def unmute_all(call: Call) -> Reply:
    rule = load_rule(call, call.params["id"], "unmuteAll")
    rule.mute_all = False
    rule.muted_alert_ids = []
    rule.touch(call.username, call.now)
    return Reply(204)


def mute_alert(call: Call) -> Reply:
    """From 9.3 (PR #242847) the route takes `?validate_alerts_existence` (default true) and answers 404
    for an alert Kibana has no document of; older routes declare no query schema and accept any id."""
    validating = call.state.version_tuple >= (9, 3, 0)
    query = config_schema_query(call, {"validate_alerts_existence": "boolean"}) if validating else {}
    rule_id, alert_id = call.params["rule_id"], call.params["alert_id"]
    rule = load_rule(call, rule_id, "muteAlert")
    if validating and query.get("validate_alerts_existence", True) and alert_id not in rule.known_alerts:
        raise Boom(404, f'Alert instance with id "{alert_id}" does not exist for rule with id "{rule_id}"')
    if not rule.mute_all and alert_id not in rule.muted_alert_ids:
        rule.muted_alert_ids.append(alert_id)
        rule.touch(call.username, call.now)
    return Reply(204)


def unmute_alert(call: Call) -> Reply:
    rule = load_rule(call, call.params["rule_id"], "unmuteAlert")
    alert_id = call.params["alert_id"]
    if not rule.mute_all and alert_id in rule.muted_alert_ids:
        rule.muted_alert_ids.remove(alert_id)
        rule.touch(call.username, call.now)
    return Reply(204)
