"""Maintenance windows: Kibana's public `/api/maintenance_window` routes (alerting plugin,
`server/routes/maintenance_window/apis/external/`).

What the fake follows, read in Kibana's source:
- the routes exist from 8.19 on 8.x and from 9.1 on 9.x (public API, PR #216756 and its backport);
  `GET …/_find` only from 9.2 (`availability.since: '9.2.0'`); elsewhere the router's bare 404;
- the routes need the API privilege `read-maintenance-window` (GET) or `write-maintenance-window`
  (`security.authz.requiredPrivileges`), checked by Kibana core before validation: 403 "API [POST
  /api/maintenance_window] is unauthorized for user, this action is granted by the Kibana privileges
  [write-maintenance-window]" (`forbid("writeMaintenanceWindow")`, or a person without the privilege);
- every route then calls `licenseState.ensureLicenseForMaintenanceWindow()`: 403
  "Maintenance window is disabled because it requires a platinum license. …" below Platinum;
- the create body is `{title, enabled?, schedule: {custom}, scope?: {alerting: {query: {kql}}}}`
  (config-schema, unknown keys refused), the schedule the same schema as a rule snooze's;
- the answer is the external shape: `id, title, enabled, schedule.custom, created_by, updated_by,
  created_at, updated_at, status` (`running|upcoming|finished|archived`) and `scope` when it has a KQL;
- `_archive` ends a window at once (its status becomes `archived`); a missing id answers
  404 `Saved object [maintenance-window/<id>] not found`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .calls import Call, Reply, coerce_boolean, config_schema_query, object_body, reject_unknown_keys, type_name
from .errors import Boom
from .rules import iso, parse_iso
from .snooze import DURATION, UNIT_MS, validate_custom

PLATINUM_OR_BETTER = ("platinum", "enterprise", "trial")
LICENCE_MESSAGE = (
    "Maintenance window is disabled because it requires a platinum license. "
    "Go to License Management to view upgrade options."
)
UNAVAILABLE_MESSAGE = "Maintenance window is disabled because license information is not available at this time."
MAX_DOCS = 10_000
STATUSES = ("running", "upcoming", "finished", "archived")


def has_routes(version: tuple[int, int, int]) -> bool:
    """The public routes: 8.19+ on 8.x, 9.1+ on 9.x, every later major."""
    major, minor, _ = version
    return minor >= 19 if major == 8 else minor >= 1 if major == 9 else major > 9


def has_find(version: tuple[int, int, int]) -> bool:
    """`GET /api/maintenance_window/_find`: `availability.since: '9.2.0'`."""
    return version >= (9, 2, 0)


@dataclass
class MaintenanceWindow:
    id: str
    space: str
    title: str
    enabled: bool
    custom: dict[str, Any]
    start: datetime
    duration: timedelta
    created_by: str | None
    created_at: datetime
    updated_by: str | None
    updated_at: datetime
    kql: str | None = None
    archived: bool = False
    ends_early: datetime | None = None  # archived while running: its event ends then
    events: list[tuple[datetime, datetime]] = field(default_factory=list)

    def end(self) -> datetime:
        return self.ends_early or self.start + self.duration

    def status(self, now: datetime) -> str:
        if self.archived:
            return "archived"
        if now < self.start:
            return "upcoming"
        return "running" if now < self.end() else "finished"

    def to_api(self, now: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "enabled": self.enabled,
            "schedule": {"custom": dict(self.custom)},
            "created_by": self.created_by,
            "updated_by": self.updated_by,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "status": self.status(now),
        }
        if self.kql:
            body["scope"] = {"alerting": {"query": {"kql": self.kql}}}
        return body

    def suppresses(self, now: datetime) -> bool:
        """Whether Kibana would put a new alert in this window now (enabled and running)."""
        return self.enabled and self.status(now) == "running"


def windows(call: Call) -> dict[tuple[str, str], MaintenanceWindow]:
    return call.state.maintenance_windows


def _authorized(call: Call, operation: str) -> None:
    forbidden = call.state.forbidden_for(operation)
    if forbidden is not None:
        privilege = "write-maintenance-window" if operation.startswith("write") else "read-maintenance-window"
        raise Boom(
            403,
            forbidden.message
            or f"API [{call.method} {call.route}] is unauthorized for user, "
            f"this action is granted by the Kibana privileges [{privilege}]",
        )


def _licensed(call: Call) -> None:
    if call.state.license_status != "active":
        raise Boom(403, UNAVAILABLE_MESSAGE)
    if call.state.license_type not in PLATINUM_OR_BETTER:
        raise Boom(403, LICENCE_MESSAGE)


def _load(call: Call) -> MaintenanceWindow:
    window = windows(call).get((call.space, call.params["id"]))
    if window is None:
        raise Boom(404, f"Saved object [maintenance-window/{call.params['id']}] not found")
    return window


def create(call: Call) -> Reply:
    _authorized(call, "writeMaintenanceWindow")
    body = object_body(call)
    reject_unknown_keys(body, {"title", "enabled", "schedule", "scope"})
    title = body.get("title")
    if not isinstance(title, str):
        raise Boom(400, f"[request body.title]: expected value of type [string] but got [{type_name(title)}]")
    enabled = coerce_boolean(body["enabled"], "request body.enabled") if body.get("enabled") is not None else True
    schedule = body.get("schedule")
    if not isinstance(schedule, dict):
        raise Boom(
            400, f"[request body.schedule]: expected a plain object value, but found [{type_name(schedule)}] instead."
        )
    reject_unknown_keys(schedule, {"custom"}, "request body.schedule")
    custom = validate_custom(schedule.get("custom"))
    kql = _scope(body.get("scope"))
    _licensed(call)
    match = DURATION.match(custom["duration"])
    start = parse_iso(custom["start"])
    assert match is not None and start is not None  # validated above
    stored = {**custom, "timezone": custom.get("timezone") or "UTC"}
    window = MaintenanceWindow(
        id=str(uuid.uuid4()),
        space=call.space,
        title=title,
        enabled=enabled,
        custom=stored,
        start=start,
        duration=timedelta(milliseconds=int(match.group(1)) * UNIT_MS[match.group(2)]),
        created_by=call.username,
        created_at=call.now,
        updated_by=call.username,
        updated_at=call.now,
        kql=kql,
    )
    windows(call)[(call.space, window.id)] = window
    return Reply(200, window.to_api(call.now))


def _scope(given: Any) -> str | None:
    if given is None:
        return None
    where = "request body.scope"
    for key in ("", ".alerting", ".alerting.query"):
        node = given
        for part in [p for p in key.split(".") if p]:
            node = node[part]
        if not isinstance(node, dict):
            raise Boom(400, f"[{where}{key}]: expected a plain object value, but found [{type_name(node)}] instead.")
        expected = {"": {"alerting"}, ".alerting": {"query"}, ".alerting.query": {"kql"}}[key]
        reject_unknown_keys(node, expected, where + key)
        missing = next(iter(expected))
        if missing not in node:
            raise Boom(400, f"[{where}{key}.{missing}]: expected value of type [object] but got [undefined]")
    kql = given["alerting"]["query"]["kql"]
    if not isinstance(kql, str):
        raise Boom(400, f"[{where}.alerting.query.kql]: expected value of type [string] but got [{type_name(kql)}]")
    return kql


def get(call: Call) -> Reply:
    _authorized(call, "readMaintenanceWindow")
    _licensed(call)
    return Reply(200, _load(call).to_api(call.now))


def delete(call: Call) -> Reply:
    _authorized(call, "writeMaintenanceWindow")
    _licensed(call)
    window = _load(call)
    del windows(call)[(window.space, window.id)]
    return Reply(204)


def archive(call: Call) -> Reply:
    _authorized(call, "writeMaintenanceWindow")
    _licensed(call)
    window = _load(call)
    if not window.archived and window.status(call.now) == "running":
        window.ends_early = call.now
    window.archived = True
    window.updated_by, window.updated_at = call.username, call.now
    return Reply(200, window.to_api(call.now))


def find(call: Call) -> Reply:
    _authorized(call, "readMaintenanceWindow")
    query = config_schema_query(
        call, {"title": "string", "created_by": "string", "status": "strings", "page": "page", "per_page": "per_page"}
    )
    page = int(query.get("page", 1))
    per_page = int(query.get("per_page", 1000))
    if per_page > 100:
        raise Boom(400, "[request query.per_page]: Value must be equal to or lower than [100].")
    if page * per_page > MAX_DOCS:
        raise Boom(
            400,
            f"The number of documents is too high. Paginating through more than {MAX_DOCS} documents is not possible.",
        )
    wanted = query.get("status") or []
    for status in wanted:
        if status not in STATUSES:
            raise Boom(400, f"[request query.status]: expected one of {', '.join(STATUSES)} but got [{status}]")
    _licensed(call)
    found = [
        w
        for (space, _), w in windows(call).items()
        if space == call.space
        and (not wanted or w.status(call.now) in wanted)
        and ("title" not in query or query["title"] in w.title)
        and ("created_by" not in query or w.created_by == query["created_by"])
    ]
    found.sort(key=lambda w: w.created_at, reverse=True)
    shown = found[(page - 1) * per_page : page * per_page]
    return Reply(
        200, {"page": page, "per_page": per_page, "total": len(found), "data": [w.to_api(call.now) for w in shown]}
    )


def active_ids(state: Any, space: str, tags: list[str], now: datetime) -> list[str]:
    """The windows Kibana would stamp on a new alert of a rule with `tags` in `space` now: enabled,
    running, and (when scoped) whose `kibana.alert.rule.tags: "x"` KQL names one of the tags."""
    found: list[str] = []
    for (window_space, _), window in state.maintenance_windows.items():
        if window_space != space or not window.suppresses(now):
            continue
        if window.kql and not any(f'"{tag}"' in window.kql for tag in tags):
            continue
        found.append(window.id)
    return found
