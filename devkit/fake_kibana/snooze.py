"""Snooze schedules: `POST …/snooze_schedule` and `DELETE …/snooze_schedule/{scheduleId}` (§5.3)."""

from __future__ import annotations

import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .alerting import load_rule
from .calls import Call, Reply, coerce_number, object_body, reject_unknown_keys, type_name
from .errors import Boom
from .rules import Snooze, parse_iso

DURATION = re.compile(r"^(-?\d+)(ms|s|m|h|d)$")
EVERY = re.compile(r"^\d+(d|w|M|y)$")
WEEKDAY = re.compile(r"^([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")
UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
MAX_SNOOZES = 5


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise Boom(400, f"[{where}]: expected value of type [string] but got [{type_name(value)}]")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Boom(400, f"[{where}]: expected a plain object value, but found [{type_name(value)}] instead.")
    return value


def _numbers(value: Any, where: str, low: int, high: int) -> None:
    if not isinstance(value, list) or not value:
        raise Boom(400, f"[{where}]: expected value of type [array] but got [{type_name(value)}]")
    for n, item in enumerate(value):
        number = coerce_number(item, f"{where}.{n}", minimum=low)
        if number > high:
            raise Boom(400, f"[{where}.{n}]: Value must be equal to or lower than [{high}].")


def validate_custom(given: Any) -> dict[str, Any]:
    """The schedule schema of `common/routes/schedule/schema/v1.ts` (exact messages)."""
    where = "request body.schedule.custom"
    custom = _object(given, where)
    reject_unknown_keys(custom, {"start", "duration", "timezone", "recurring"}, where)
    start = _string(custom.get("start"), f"{where}.start")
    if parse_iso(start) is None:
        raise Boom(400, f"[{where}.start]: Invalid schedule start date: {start}")
    duration = _string(custom.get("duration"), f"{where}.duration")
    match = DURATION.match(duration)
    if match is None:
        raise Boom(400, f"[{where}.duration]: Invalid schedule duration format: {duration}")
    if int(match.group(1)) < 0:
        raise Boom(400, f"[{where}.duration]: Invalid schedule duration.")
    if custom.get("timezone") is not None:
        timezone = _string(custom["timezone"], f"{where}.timezone")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Boom(400, f"[{where}.timezone]: Invalid schedule timezone: {timezone}") from None
    if custom.get("recurring") is not None:
        rwhere = f"{where}.recurring"
        recurring = _object(custom["recurring"], rwhere)
        allowed = {"end", "every", "onWeekDay", "onMonthDay", "onMonth", "occurrences"}
        reject_unknown_keys(recurring, allowed, rwhere)
        if recurring.get("end") is not None:
            end = _string(recurring["end"], f"{rwhere}.end")
            if parse_iso(end) is None:
                raise Boom(400, f"[{rwhere}.end]: Invalid schedule end date: {end}")
        if recurring.get("every") is not None:
            every = _string(recurring["every"], f"{rwhere}.every")
            if not EVERY.match(every):
                raise Boom(400, f"[{rwhere}.every]: 'every' string of recurring schedule is not valid : {every}")
        if recurring.get("onWeekDay") is not None:
            days = recurring["onWeekDay"]
            if not isinstance(days, list) or not all(isinstance(d, str) and WEEKDAY.match(d) for d in days):
                shown = ",".join(map(str, days)) if isinstance(days, list) else str(days)
                raise Boom(400, f"[{rwhere}.onWeekDay]: Invalid onWeekDay values in recurring schedule: {shown}")
        if recurring.get("onMonthDay") is not None:
            _numbers(recurring["onMonthDay"], f"{rwhere}.onMonthDay", 1, 31)
        if recurring.get("onMonth") is not None:
            _numbers(recurring["onMonth"], f"{rwhere}.onMonth", 1, 12)
        if recurring.get("occurrences") is not None:
            coerce_number(recurring["occurrences"], f"{rwhere}.occurrences", minimum=1)
    return custom


def snooze_rule(call: Call) -> Reply:
    body = object_body(call)
    reject_unknown_keys(body, {"schedule"})
    schedule = _object(body.get("schedule"), "request body.schedule") if "schedule" in body else None
    if schedule is None:
        raise Boom(400, "[request body.schedule]: expected value of type [object] but got [undefined]")
    reject_unknown_keys(schedule, {"custom"}, "request body.schedule")
    custom = validate_custom(schedule["custom"]) if schedule.get("custom") is not None else None
    if custom is None:
        raise Boom(400, "A schedule is required")
    rule = load_rule(call, call.params["id"], "snooze")
    if len(rule.snoozes) >= MAX_SNOOZES:
        raise Boom(400, f"Rule cannot have more than {MAX_SNOOZES} snooze schedules")
    match = DURATION.match(custom["duration"])
    assert match is not None  # validated above
    stored = {**custom, "timezone": custom.get("timezone") or "UTC"}
    start = parse_iso(custom["start"])
    assert start is not None
    snooze = Snooze(
        id=str(uuid.uuid4()),
        start=start,
        duration_ms=int(match.group(1)) * UNIT_MS[match.group(2)],
        timezone=stored["timezone"],
        custom=stored,
    )
    rule.snoozes.append(snooze)
    rule.touch(call.username, call.now)
    return Reply(200, {"schedule": {"id": snooze.id, "custom": stored}})


def unsnooze_rule(call: Call) -> Reply:
    rule = load_rule(call, call.params["ruleId"], "unsnooze")
    schedule_id = call.params["scheduleId"]
    if not rule.snoozes:
        raise Boom(400, "Rule has no snooze schedules.")
    remaining = [snooze for snooze in rule.snoozes if snooze.id != schedule_id]
    if len(remaining) == len(rule.snoozes):
        raise Boom(400, f"Rule has no snooze schedule with id {schedule_id}.")
    rule.snoozes = remaining
    rule.touch(call.username, call.now)
    return Reply(204)
