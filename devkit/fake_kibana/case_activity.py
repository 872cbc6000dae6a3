"""A case's user actions, as Kibana records them, and `GET /api/cases/{caseId}/user_actions/_find`.

Kibana writes one user action per change (x-pack/platform/plugins/shared/cases/server/services/
user_actions/: the builders of `create_case`, `comment`, `status`, `severity`, `assignees`, `tags`,
`title`, `description`, …), each naming who did it (`created_by`), and serves them paged
(`page`, `perPage` ≤ 100, `sortOrder` asc|desc on `created_at`, `types` to filter;
docs/openapi/components/examples/find_case_activity_response.yaml for the shape). Tags and
assignees are recorded as `add` / `delete` of what changed; every other update as `update` with the
new value; a comment as `create` with its `comment_id` and the attachment as `payload.comment`.
"""

from __future__ import annotations

import uuid
from typing import Any

from . import case_checks as checks
from .calls import Call, Reply
from .errors import Boom
from .state import KibanaState

TYPES = (
    "action", "alert", "assignees", "attachment", "comment", "connector", "create_case", "description",
    "pushed", "settings", "severity", "status", "tags", "title", "user",
)  # fmt: skip
FIND_KEYS = {"page", "perPage", "sortOrder", "types"}
MAX_PER_PAGE = 100  # MAX_USER_ACTIONS_PER_PAGE
MAX_DOCS = 10_000  # MAX_DOCS_PER_PAGE: page × perPage beyond it is refused
SET_FIELDS = ("tags", "assignees")  # recorded as what was added and what was removed


def activity(state: KibanaState, space: str, case_id: str) -> list[dict[str, Any]]:
    return state.case_activity.setdefault((space, case_id), [])


def record(
    state: KibanaState,
    space: str,
    case: dict[str, Any],
    *,
    kind: str,
    action: str,
    payload: dict[str, Any],
    who: dict[str, Any],
    now: str,
    comment_id: str | None = None,
) -> None:
    activity(state, space, case["id"]).append(
        {
            "id": str(uuid.uuid4()),
            "version": state.next_version(),
            "action": action,
            "type": kind,
            "comment_id": comment_id,
            "created_at": now,
            "created_by": dict(who),
            "owner": case["owner"],
            "payload": payload,
        }
    )


def created(state: KibanaState, space: str, case: dict[str, Any], who: dict[str, Any], now: str) -> None:
    fields = ("title", "description", "tags", "connector", "settings", "owner", "severity", "assignees", "category")
    payload = {field: case.get(field) for field in fields}
    payload.update(status="open", customFields=case.get("customFields", []))
    record(state, space, case, kind="create_case", action="create", payload=payload, who=who, now=now)


def commented(
    state: KibanaState, space: str, case: dict[str, Any], comment: dict[str, Any], who: dict[str, Any], now: str
) -> None:
    attachment = {k: v for k, v in comment.items() if k not in ("id", "version") and not k.endswith(("_at", "_by"))}
    record(
        state,
        space,
        case,
        kind="comment",
        action="create",
        payload={"comment": attachment},
        who=who,
        now=now,
        comment_id=comment["id"],
    )


def updated(
    state: KibanaState,
    space: str,
    case: dict[str, Any],
    before: dict[str, Any],
    diff: dict[str, Any],
    who: dict[str, Any],
    now: str,
) -> None:
    """One user action per changed field (what `bulkCreateUpdateCase` writes)."""
    for field, value in diff.items():
        if field in SET_FIELDS:
            old, new = before.get(field) or [], value or []
            added, removed = [v for v in new if v not in old], [v for v in old if v not in new]
            for action, items in (("add", added), ("delete", removed)):
                if items:
                    record(state, space, case, kind=field, action=action, payload={field: items}, who=who, now=now)
        elif field in ("title", "description", "status", "severity", "connector", "settings", "category"):
            record(state, space, case, kind=field, action="update", payload={field: value}, who=who, now=now)


def find_activity(call: Call) -> Reply:
    """`GET /api/cases/{caseId}/user_actions/_find`."""
    query = call.query_values()
    checks.excess(query, FIND_KEYS)
    try:
        page = int(query.get("page", ["1"])[0])
        per_page = int(query.get("perPage", ["20"])[0])
    except ValueError:
        raise checks.invalid(query.get("page") or query.get("perPage"), "page") from None
    if page < 1 or per_page < 1 or per_page > MAX_PER_PAGE:
        raise checks.invalid(per_page if page >= 1 else page, "perPage" if page >= 1 else "page")
    if page * per_page > MAX_DOCS:
        raise Boom(
            400,
            f"The number of documents is too high. Paginating through more than {MAX_DOCS} documents is not possible.",
        )
    order = query.get("sortOrder", ["desc"])[0]
    checks.enum(order, ("asc", "desc"), "sortOrder")
    types = [t for value in query.get("types", []) for t in value.split(",") if t]
    for kind in types:
        checks.enum(kind, TYPES, "types")
    case_id = call.params["caseId"]
    case = call.state.cases.get((call.space, case_id))
    if case is None:
        raise Boom(404, f"Saved object [cases/{case_id}] not found")
    forbidden = call.state.forbidden_for("findUserActions")
    if forbidden is not None:
        raise Boom(403, forbidden.message or f'Unauthorized to access userAction with owners: "{case["owner"]}"')
    actions = activity(call.state, call.space, case_id)
    if types:  # `comment` and `attachment` both find comments; `user` only what people wrote
        wanted = set(types)
        actions = [a for a in actions if a["type"] in wanted or ("attachment" in wanted and a["type"] == "comment")]
    ordered = sorted(actions, key=lambda a: a["created_at"], reverse=order == "desc")
    start = (page - 1) * per_page
    return Reply(
        200,
        {"page": page, "perPage": per_page, "total": len(ordered), "userActions": ordered[start : start + per_page]},
    )
