"""`GET /api/alerting/rules/_find`: search, KQL-ish filter, sort and pages (behaviours.md §4, §5.1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .calls import Call, Reply, config_schema_query
from .errors import Boom
from .rules import Rule

FIND_QUERY = {
    "per_page": "per_page",
    "page": "page",
    "search": "string",
    "default_search_operator": "enum:OR|AND",
    "search_fields": "strings",
    "sort_field": "string",
    "sort_order": "enum:asc|desc",
    "has_reference": "string",
    "fields": "strings",
    "filter": "string",
    "filter_consumers": "strings",
}

# KQL field (alert.attributes.<x>) -> how to read it from a rule
FILTER_FIELDS: dict[str, Callable[[Rule], Any]] = {
    "name": lambda r: r.name,
    "tags": lambda r: r.tags,
    "enabled": lambda r: r.enabled,
    "alertTypeId": lambda r: r.rule_type_id,
    "consumer": lambda r: r.consumer,
    "muteAll": lambda r: r.mute_all,
    "mutedInstanceIds": lambda r: r.muted_alert_ids,
    "executionStatus.status": lambda r: r.execution_status,
    "lastRun.outcome": lambda r: "failed" if r.execution_status == "error" else "succeeded",
}
SORT_FIELDS: dict[str, Callable[[Rule], Any]] = {
    "name": lambda r: r.name.lower(),
    "enabled": lambda r: r.enabled,
    "created_at": lambda r: r.created_at,
    "createdAt": lambda r: r.created_at,
    "updated_at": lambda r: r.updated_at,
    "updatedAt": lambda r: r.updated_at,
    "execution_status.last_execution_date": lambda r: r.last_execution_date,
    "executionStatus.lastExecutionDate": lambda r: r.last_execution_date,
    "rule_type_id": lambda r: r.rule_type_id,
    "alertTypeId": lambda r: r.rule_type_id,
}


def _tokens(text: str) -> list[str]:
    return [token for token in re.split(r"[^0-9a-z]+", text.lower()) if token]


def _term_hits(term: str, rule: Rule, fields: list[str]) -> bool:
    """ES simple_query_string, approximately: `name` is analysed text, `tags` are keywords."""
    prefix = term.endswith("*")
    word = term.rstrip("*").lower()
    if not word:
        return True
    for name in fields:
        values = _tokens(rule.name) if name == "name" else [t.lower() for t in rule.tags]
        if name == "name" and not prefix:
            wanted = _tokens(word)
            joined = " ".join(values)
            if wanted and re.search(r"(^| )" + re.escape(" ".join(wanted)) + r"( |$)", joined):
                return True
            continue
        if any(value == word or (prefix and value.startswith(word)) for value in values):
            return True
    return False


def search_matches(rule: Rule, search: str, fields: list[str], operator: str) -> bool:
    terms = [t for t in re.findall(r'"[^"]*"|\S+', search) if t not in ("|", "+")]
    terms = [t.strip('"').lstrip("+") for t in terms]
    terms = [t for t in terms if t]
    if not terms:
        return True
    hits = [_term_hits(term, rule, fields) for term in terms]
    return all(hits) if operator == "AND" else any(hits)


def _clause(text: str) -> Callable[[Rule], bool]:
    text = text.strip()
    negate = False
    while text.lower().startswith("not "):
        negate, text = not negate, text[4:].strip()
    match = re.fullmatch(r"(?:alert\.attributes\.)?([\w.]+)\s*:\s*(.+)", text)
    if match is None or match.group(1) not in FILTER_FIELDS:
        raise Boom(400, f"Filter is not supported by the fake Kibana: {text}")
    read, raw = FILTER_FIELDS[match.group(1)], match.group(2).strip().strip('"')

    def test(rule: Rule) -> bool:
        value = read(rule)
        if isinstance(value, bool):
            result = str(value).lower() == raw.lower()
        elif isinstance(value, list):
            result = (raw == "*" and bool(value)) or raw.lower() in (v.lower() for v in value)
        else:
            result = raw == "*" or str(value).lower() == raw.lower()
        return result != negate

    return test


def kql_filter(text: str) -> Callable[[Rule], bool]:
    """A small KQL subset: `field: value` clauses joined by `and` / `or` (`and` binds tighter)."""
    cleaned = text.replace("(", " ").replace(")", " ")
    any_of = [
        [_clause(part) for part in re.split(r"\s+and\s+", group, flags=re.IGNORECASE)]
        for group in re.split(r"\s+or\s+", cleaned, flags=re.IGNORECASE)
    ]
    return lambda rule: any(all(test(rule) for test in group) for group in any_of)


def find_rules(call: Call) -> Reply:
    query = config_schema_query(call, FIND_QUERY)
    per_page, page = int(query.get("per_page", 10)), int(query.get("page", 1))
    forbidden = call.state.forbidden_for("find")
    if forbidden is not None:
        raise Boom(403, forbidden.message or "Unauthorized to find rules for any rule types")
    rules = [r for r in call.state.rules_in(call.space) if call.state.forbidden_for("find", r.id) is None]
    if query.get("filter_consumers"):
        rules = [r for r in rules if r.consumer in query["filter_consumers"]]
    if query.get("search"):
        fields = [f for value in query.get("search_fields", ["name", "tags"]) for f in value.split(",")]
        fields = [f.strip() for f in fields if f.strip() in ("name", "tags")] or ["name", "tags"]
        operator = query.get("default_search_operator", "OR")
        rules = [r for r in rules if search_matches(r, query["search"], fields, operator)]
    if query.get("filter"):
        keep = kql_filter(query["filter"])
        rules = [r for r in rules if keep(r)]
    if query.get("sort_field") in SORT_FIELDS:
        rules.sort(key=SORT_FIELDS[query["sort_field"]], reverse=query.get("sort_order") == "desc")
    start = (page - 1) * per_page
    data = [rule.to_public_api(call.now, call.state.version_tuple) for rule in rules[start : start + per_page]]
    return Reply(200, {"page": page, "per_page": per_page, "total": len(rules), "data": data})
