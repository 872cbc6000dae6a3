"""Cases request validation (io-ts style, behaviours.md §7: assert status and `error`, not wording)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import Boom

OWNERS = ("cases", "observability", "securitySolution")
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "in-progress", "closed")
CONNECTOR_TYPES = (".none", ".cases-webhook", ".jira", ".resilient", ".servicenow", ".servicenow-sir", ".swimlane")
CASE_FIELDS = {"title", "description", "tags", "owner", "connector", "settings", "severity", "category"}
CREATE_FIELDS = CASE_FIELDS | {"assignees", "customFields"}
UPDATE_FIELDS = (CASE_FIELDS - {"owner"}) | {"id", "version", "status", "assignees", "customFields", "owner"}


def invalid(value: Any, path: str) -> Boom:
    shown = "undefined" if value is None else value
    return Boom(400, f'Invalid value "{shown}" supplied to "{path}"')


def excess(body: Mapping[str, Any], allowed: set[str]) -> None:
    extra = [key for key in body if key not in allowed]
    if extra:
        raise Boom(400, f'invalid keys "{",".join(extra)}"')


def limited_string(value: Any, field: str, maximum: int, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise invalid(value, field)
    if not allow_empty and not value.strip():
        raise Boom(400, f"The {field} field cannot be an empty string.")
    if len(value) > maximum:
        raise Boom(400, f"The length of the {field} is too long. The maximum length is {maximum}.")
    return value


def tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise invalid(value, "tags")
    if len(value) > 200:
        raise Boom(400, "The length of the field tags is too long. Array must be of length <= 200.")
    for tag in value:
        limited_string(tag, "tag", 256)
    return list(value)


def enum(value: Any, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise invalid(value, field)
    return str(value)


def connector(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(value, "connector")
    for key in ("id", "name", "type"):
        if not isinstance(value.get(key), str):
            raise invalid(value.get(key), f"connector,{key}")
    if "fields" not in value:
        raise invalid(None, "connector,fields")
    excess(value, {"id", "name", "type", "fields"})
    enum(value["type"], CONNECTOR_TYPES, "connector,type")
    if value["type"] == ".none" and value["fields"] is not None:
        raise invalid(value["fields"], "connector,fields")
    return dict(value)


def settings(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("syncAlerts"), bool):
        raise invalid(value, "settings")
    excess(value, {"syncAlerts", "extractObservables"})
    return dict(value)


def optional_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """Fields that may appear on create and update: severity, category, assignees, customFields."""
    checked: dict[str, Any] = {}
    if "severity" in body:
        checked["severity"] = enum(body["severity"], SEVERITIES, "severity")
    if "category" in body:
        category = body["category"]
        checked["category"] = None if category is None else limited_string(category, "category", 50)
    if "assignees" in body:
        assignees = body["assignees"] or []
        if not isinstance(assignees, list) or len(assignees) > 10:
            raise invalid(body["assignees"], "assignees")
        if not all(isinstance(a, dict) and isinstance(a.get("uid"), str) for a in assignees):
            raise invalid(assignees, "assignees")
        checked["assignees"] = [{"uid": a["uid"]} for a in assignees]
    if "customFields" in body:
        fields = body["customFields"]
        if not isinstance(fields, list) or len(fields) > 10:
            raise invalid(fields, "customFields")
        checked["customFields"] = list(fields)
    return checked


def create_request(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid(body, "")
    excess(body, CREATE_FIELDS)
    checked = {
        "title": limited_string(body.get("title"), "title", 160),
        "description": limited_string(body.get("description"), "description", 30000),
        "tags": tags(body.get("tags")),
        "owner": enum(body.get("owner"), OWNERS, "owner"),
        "connector": connector(body.get("connector")),
        "settings": settings(body.get("settings")),
    }
    checked.update(optional_fields(body))
    return checked


def update_item(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise invalid(item, "cases")
    excess(item, UPDATE_FIELDS)
    if not isinstance(item.get("id"), str):
        raise invalid(item.get("id"), "cases,id")
    if not isinstance(item.get("version"), str):
        raise invalid(item.get("version"), "cases,version")
    checked: dict[str, Any] = {"id": item["id"], "version": item["version"]}
    if "title" in item:
        checked["title"] = limited_string(item["title"], "title", 160)
    if "description" in item:
        checked["description"] = limited_string(item["description"], "description", 30000)
    if "tags" in item:
        checked["tags"] = tags(item["tags"])
    if "status" in item:
        checked["status"] = enum(item["status"], STATUSES, "status")
    if "connector" in item:
        checked["connector"] = connector(item["connector"])
    if "settings" in item:
        checked["settings"] = settings(item["settings"])
    if "owner" in item:
        checked["owner"] = enum(item["owner"], OWNERS, "owner")
    checked.update(optional_fields(item))
    return checked


def comment_request(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid(body, "")
    kind = body.get("type")
    if kind == "user":
        excess(body, {"type", "comment", "owner"})
        return {
            "type": "user",
            "comment": limited_string(body.get("comment"), "comment", 30000),
            "owner": enum(body.get("owner"), OWNERS, "owner"),
        }
    if kind == "alert":
        excess(body, {"type", "alertId", "index", "owner", "rule"})
        alert_ids = body.get("alertId")
        indices = body.get("index")
        if isinstance(alert_ids, str):
            alert_ids = [alert_ids]
        if isinstance(indices, str):
            indices = [indices]
        if not isinstance(alert_ids, list) or not all(isinstance(a, str) for a in alert_ids):
            raise invalid(body.get("alertId"), "alertId")
        if not isinstance(indices, list) or not all(isinstance(i, str) for i in indices):
            raise invalid(body.get("index"), "index")
        rule = body.get("rule")
        if not isinstance(rule, dict):  # one rule per attachment: the request's alerts are of one rule
            raise invalid(rule, "rule")
        excess(rule, {"id", "name"})
        for key in ("id", "name"):
            if key not in rule or not (rule[key] is None or isinstance(rule[key], str)):
                raise invalid(rule.get(key), f"rule,{key}")
        if len(alert_ids) != len(indices):  # decodeCommentRequest: one index per alert id
            raise Boom(
                400,
                "Received an alert comment with ids and indices arrays of different lengths "
                f"ids: {json.dumps(alert_ids)} indices: {json.dumps(indices)}",
            )
        return {
            "type": "alert",
            "alertId": alert_ids,
            "index": indices,
            "owner": enum(body.get("owner"), OWNERS, "owner"),
            "rule": {"id": rule.get("id"), "name": rule.get("name")},
        }
    raise invalid(kind, "type")
