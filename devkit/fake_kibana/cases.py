"""Cases routes: create, get, find, comment, bulk update with `version` rules (§7, §9)."""

from __future__ import annotations

import copy
import re
import time
import uuid
from typing import Any

from . import case_activity
from . import case_checks as checks
from .calls import Call, Reply
from .errors import Boom, case_not_found
from .rules import iso, parse_iso
from .state import KibanaState

FIND_KEYS = {
    "assignees", "category", "defaultSearchOperator", "from", "owner", "page", "perPage", "reporters",
    "search", "searchFields", "severity", "sortField", "sortOrder", "status", "tags", "to",
}  # fmt: skip
SEARCH_FIELDS = ("title", "description")
SORT_KEYS = {
    "createdAt": "created_at", "updatedAt": "updated_at", "closedAt": "closed_at", "title": "title",
    "category": "category", "status": "status", "severity": "severity",
}  # fmt: skip


def user(call: Call) -> dict[str, Any]:
    return {"username": call.username, "full_name": None, "email": None}


def forbid_case(call: Call, operation: str, verb: str, doc: str, owner: str) -> None:
    forbidden = call.state.forbidden_for(operation)
    if forbidden is not None:
        raise Boom(403, forbidden.message or f'Unauthorized to {verb} {doc} with owners: "{owner}"')


def stored_case(call: Call, case_id: str) -> dict[str, Any]:
    case = call.state.cases.get((call.space, case_id))
    if case is None:
        raise case_not_found(case_id)
    return case


def case_view(case: dict[str, Any], *, with_comments: bool) -> dict[str, Any]:
    view = copy.deepcopy(case)
    if not with_comments:
        view["comments"] = []
    return view


def new_case(
    state: KibanaState, fields: dict[str, Any], *, space: str, who: dict[str, Any], now: str
) -> dict[str, Any]:
    case: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "version": state.next_version(),
        "title": fields["title"],
        "description": fields["description"],
        "tags": fields["tags"],
        "owner": fields["owner"],
        "category": fields.get("category"),
        "status": "open",
        "severity": fields.get("severity", "low"),
        "settings": fields["settings"],
        "connector": fields["connector"],
        "assignees": fields.get("assignees", []),
        "customFields": fields.get("customFields", []),
        "comments": [],
        "totalComment": 0,
        "totalAlerts": 0,
        "created_at": now,
        "created_by": dict(who),
        "updated_at": None,
        "updated_by": None,
        "closed_at": None,
        "closed_by": None,
        "duration": None,
        "external_service": None,
    }
    state.cases[(space, case["id"])] = case
    return case


# ---------------------------------------------------------------------------- routes
def create_case(call: Call) -> Reply:
    fields = checks.create_request(call.json)
    forbid_case(call, "createCase", "create", "case", fields["owner"])
    given = {field.get("key") for field in fields.get("customFields", []) if isinstance(field, dict)}
    missing = [label for key, label in call.state.required_custom_fields.items() if key not in given]
    if missing:  # validateRequiredCustomFields: the labels, quoted
        quoted = ", ".join(f'"{label}"' for label in missing)
        raise Boom(400, f"Missing required custom fields without default value configured: {quoted}")
    case = new_case(call.state, fields, space=call.space, who=user(call), now=iso(call.now))
    case_activity.created(call.state, call.space, case, user(call), iso(call.now))
    if call.state.case_visibility_delay:  # created with refresh=false: _find sees it after the refresh
        call.state.case_visible_at[(call.space, case["id"])] = time.monotonic() + call.state.case_visibility_delay
    return Reply(200, case_view(case, with_comments=False))


def get_case(call: Call) -> Reply:
    case = stored_case(call, call.params["caseId"])
    forbid_case(call, "getCase", "get", "case", case["owner"])
    return Reply(200, case_view(case, with_comments=True))


MAX_ALERTS_PER_CASE = 1000  # cases/common/constants: AlertLimiter
MAX_USER_ACTIONS_PER_CASE = 10000  # validateMaxUserActions: each comment is one user action more


def user_actions(case: dict[str, Any]) -> int:
    """The case's user actions as the fake counts them: its creation and its comments."""
    return 1 + len(case["comments"])


def add_comment(call: Call) -> Reply:
    comment = checks.comment_request(call.json)
    case = stored_case(call, call.params["caseId"])
    forbid_case(call, "createComment", "create", "comment", comment["owner"])
    if comment["owner"] != case["owner"]:
        raise Boom(400, "The owner field of the comment must match the case")
    if user_actions(case) + 1 > MAX_USER_ACTIONS_PER_CASE:
        limit = MAX_USER_ACTIONS_PER_CASE
        raise Boom(400, f"The case with id {case['id']} has reached the limit of {limit} user actions.")
    if comment["type"] == "alert":
        if case["status"] == "closed":  # CaseCommentModel.validateCreateCommentRequest
            raise Boom(400, "Alert cannot be attached to a closed case")
        if case["totalAlerts"] + len(comment["alertId"]) > MAX_ALERTS_PER_CASE:
            raise Boom(400, f"Case has reached the maximum allowed number ({MAX_ALERTS_PER_CASE}) of attached alerts.")
        # filterDuplicatedAlerts: alerts already attached to the case are dropped; none left, nothing is written
        alerts = [c for c in case["comments"] if c["type"] == "alert"]
        attached = {pair for c in alerts for pair in zip(c["alertId"], c["index"], strict=True)}
        pairs = [p for p in zip(comment["alertId"], comment["index"], strict=True) if p not in attached]
        if not pairs:
            return Reply(200, case_view(case, with_comments=True))
        comment["alertId"], comment["index"] = [a for a, _ in pairs], [i for _, i in pairs]
    now = iso(call.now)
    stored = {
        "id": str(uuid.uuid4()),
        "version": call.state.next_version(),
        **comment,
        "created_at": now,
        "created_by": user(call),
        "pushed_at": None,
        "pushed_by": None,
        "updated_at": None,
        "updated_by": None,
    }
    case["comments"].append(stored)
    case_activity.commented(call.state, call.space, case, stored, user(call), now)
    if comment["type"] == "user":
        case["totalComment"] += 1
    else:
        case["totalAlerts"] += len(comment["alertId"])
    case["updated_at"], case["updated_by"] = now, user(call)
    case["version"] = call.state.next_version()  # a comment rewrites the case (§7)
    return Reply(200, case_view(case, with_comments=True))


def update_cases(call: Call) -> Reply:
    body = call.json
    if not isinstance(body, dict):
        raise checks.invalid(body, "")
    checks.excess(body, {"cases"})
    items = body.get("cases")
    if not isinstance(items, list) or not 1 <= len(items) <= 100:
        raise checks.invalid(items, "cases")
    updates = [checks.update_item(item) for item in items]
    found = {u["id"]: call.state.cases.get((call.space, u["id"])) for u in updates}
    for case in found.values():
        if case is not None:
            forbid_case(call, "updateCase", "update", "case", case["owner"])
    missing = [case_id for case_id, case in found.items() if case is None]
    if missing:
        raise Boom(404, f"These cases {', '.join(missing)} do not exist. Please check you have the correct ids.")
    stale = [u["id"] for u in updates if found[u["id"]]["version"] != u["version"]]  # type: ignore[index]
    if stale:
        message = f"These cases {', '.join(stale)} have been updated. Please refresh before saving additional updates."
        raise Boom(409, message)
    changes = []
    for update in updates:
        case = found[update["id"]]
        assert case is not None
        diff = {k: v for k, v in update.items() if k not in ("id", "version") and case.get(k) != v}
        if diff:
            changes.append((case, diff))
    if not changes:
        raise Boom(406, "All update fields are identical to current version.")
    owner_changes = [case["id"] for case, diff in changes if "owner" in diff]
    if owner_changes:
        raise Boom(400, f"Updating the owner of a case is not allowed ids: [{', '.join(owner_changes)}]")
    now, who = iso(call.now), user(call)
    for case, diff in changes:
        if diff.get("status") == "closed":
            created = parse_iso(case["created_at"])
            diff.update(closed_at=now, closed_by=who)
            diff["duration"] = int((call.now - created).total_seconds()) if created else None
        elif "status" in diff:
            diff.update(closed_at=None, closed_by=None, duration=None)
        before = dict(case)
        case.update(diff, updated_at=now, updated_by=who, version=call.state.next_version())
        case_activity.updated(call.state, call.space, case, before, diff, who, now)
    return Reply(200, [case_view(case, with_comments=False) for case, _ in changes])


def _values(call: Call, key: str) -> list[str]:
    return [v for value in call.query_values().get(key, []) for v in value.split(",") if v]


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^0-9a-z]+", text.lower()) if w]


def find_cases(call: Call) -> Reply:
    query = call.query_values()
    checks.excess(query, FIND_KEYS)
    try:
        page = int(query.get("page", ["1"])[0])
        per_page = int(query.get("perPage", ["20"])[0])
    except ValueError:
        raise checks.invalid(query.get("page") or query.get("perPage"), "page") from None
    if per_page > 100:
        raise Boom(400, "The perPage field cannot be more than 100.")
    if page < 1 or per_page < 0:
        raise checks.invalid(page, "page")
    owners = _values(call, "owner")
    for owner in owners:
        checks.enum(owner, checks.OWNERS, "owner")
    for key, allowed in (("status", checks.STATUSES), ("severity", checks.SEVERITIES), ("searchFields", SEARCH_FIELDS)):
        for value in _values(call, key):  # io-ts literal unions: anything else is a 400
            checks.enum(value, allowed, key)
    forbidden = call.state.forbidden_for("findCases")
    if forbidden is not None:
        raise Boom(403, forbidden.message or "Unauthorized to access cases of any owner")
    hidden_until = call.state.case_visible_at
    now = time.monotonic()
    cases = [
        c
        for (space, case_id), c in call.state.cases.items()
        if space == call.space and hidden_until.get((space, case_id), 0.0) <= now
    ]
    if owners:
        cases = [c for c in cases if c["owner"] in owners]
    if tags := _values(call, "tags"):
        cases = [c for c in cases if set(tags) & set(c["tags"])]
    if severity := _values(call, "severity"):
        cases = [c for c in cases if c["severity"] in severity]
    if reporters := _values(call, "reporters"):
        cases = [c for c in cases if c["created_by"]["username"] in reporters]
    if query.get("search"):
        words = _terms(query["search"][0])
        fields = _values(call, "searchFields") or ["title", "description"]
        needs_all = query.get("defaultSearchOperator", ["OR"])[0] == "AND"
        cases = [c for c in cases if _search_hit(c, words, fields, needs_all)]
    counts = {s: sum(1 for c in cases if c["status"] == s) for s in checks.STATUSES}
    if status := _values(call, "status"):
        cases = [c for c in cases if c["status"] in status]
    sort_key = SORT_KEYS.get(query.get("sortField", ["createdAt"])[0], "created_at")
    cases.sort(key=lambda c: (c.get(sort_key) is None, c.get(sort_key) or ""))
    if query.get("sortOrder", ["desc"])[0] == "desc":
        cases.reverse()
    start = (page - 1) * per_page
    return Reply(
        200,
        {
            "cases": [case_view(c, with_comments=False) for c in cases[start : start + per_page]],
            "page": page,
            "per_page": per_page,
            "total": len(cases),
            "count_open_cases": counts["open"],
            "count_in_progress_cases": counts["in-progress"],
            "count_closed_cases": counts["closed"],
        },
    )


def _terms(search: str) -> set[str]:
    """The terms of a simple_query_string (Kibana's saved-objects `search`): words, and `word*` prefixes."""
    terms: set[str] = set()
    for raw in search.lower().split():
        words = _words(raw)
        if words and raw.endswith("*"):
            words[-1] += "*"
        terms.update(words)
    return terms


def _search_hit(case: dict[str, Any], words: set[str], fields: list[str], needs_all: bool) -> bool:
    present = set().union(*(_words(str(case.get(field, ""))) for field in fields)) | {case["id"]}
    hits = [any(p.startswith(word[:-1]) for p in present) if word.endswith("*") else word in present for word in words]
    return all(hits) if needs_all else any(hits)


def get_configuration(call: Call) -> Reply:
    """`GET /api/cases/configure?owner=`: the fake's one configuration, holding the required custom
    fields (without default) of `state.required_custom_fields`; none → an empty list."""
    query = call.query_values()
    checks.excess(query, {"owner"})
    owners = _values(call, "owner") or ["cases"]
    fields = call.state.required_custom_fields
    if not fields:
        return Reply(200, [])
    custom = [{"key": k, "label": v, "type": "text", "required": True, "defaultValue": None} for k, v in fields.items()]
    who = {"username": "elastic", "full_name": None, "email": None}
    body = [
        {
            "id": f"configuration-{owner}",
            "version": "WzEsMV0=",
            "owner": owner,
            "closure_type": "close-by-user",
            "connector": {"id": "none", "name": "none", "type": ".none", "fields": None},
            "customFields": custom,
            "templates": [],
            "mappings": [],
            "error": None,
            "created_at": iso(call.now),
            "created_by": who,
            "updated_at": None,
            "updated_by": None,
        }
        for owner in owners
    ]
    return Reply(200, body)
