"""The `<schedule>` of `/kibana health subscribe <schedule>`, parsed into a cron schedule.

Three forms, all turned into a 5-field cron expression plus a time zone, so that every
replica computes the same fire times (APScheduler's CronTrigger does the arithmetic):

- cron: `*/15 * * * *`, optionally followed by a time zone: `0 9 * * 1-5 Europe/Paris`.
  Day-of-week numbers follow standard cron (0 and 7 are Sunday, 1-5 is Monday to
  Friday); APScheduler 3 counts from Monday, so they are rewritten as day names for it.
  APScheduler requires *both* day-of-month and day-of-week to match where cron needs
  either, so an expression restricting both is refused rather than silently changed.
- `every <n>m|h|d`: minutes dividing 60, hours dividing 24, or `1d` (00:00 UTC); other
  values cannot be kept exactly on a clock and are refused with the nearest that can.
- `daily HH:MM [Area/City]`: once a day at that wall-clock time (UTC by default).

Reports that post every time come at most every 5 minutes. An `--on-change` subscription
posts only when the health changes, so its checks may run every minute (`every 1m`,
`* * * * *`): `parse_schedule(text, on_change=True)`. Around daylight-saving changes in a named time
zone, see `WallClockCronTrigger`: a wall-clock time that does not exist (spring
forward) fires once, an hour later by the clock; one that happens twice (fall back)
fires only the first time.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger

EXAMPLES = 'cron "*/15 * * * *" or "0 9 * * 1-5 Europe/Paris", "every 15m|2h|1d", "daily 09:00 Europe/Paris"'
MIN_INTERVAL_MINUTES = 5  # for schedules that post every time
MIN_ON_CHANGE_INTERVAL_MINUTES = 1  # for --on-change, which posts only on a change
MAX_TEXT = 200

_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
_FIELD_WORDS = {
    "minute": "minute",
    "hour": "hour",
    "day": "day-of-month",
    "month": "month",
    "day_of_week": "day-of-week",
}
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # standard cron numbering
# Intervals (in minutes) that a cron expression keeps exactly: divisors of an hour, then of a day.
_EXACT_INTERVALS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440)
_UNITS = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hr": 60, "hrs": 60, "hour": 60}
_UNITS |= {"hours": 60, "d": 1440, "day": 1440, "days": 1440}
_EVERY = re.compile(r"^([0-9]{1,9})([a-z]+)$")
_TIME = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
_REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)  # checks that need a start use this fixed instant


class ScheduleError(ValueError):
    """A schedule that cannot be used; the message says why and shows the forms that work."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem} Examples: {EXAMPLES}.")
        self.problem = problem


class WallClockCronTrigger(CronTrigger):  # type: ignore[misc]  # APScheduler 3 ships no types
    """APScheduler's CronTrigger, except that a wall-clock time fires at most once.

    When clocks go back, the times of the repeated hour happen twice; APScheduler fires
    both (`daily 02:30 Europe/Paris` would post twice on 2026-10-25). This trigger skips
    the second occurrence. Everything else is CronTrigger's own behaviour, including a
    wall-clock time that does not exist when clocks go forward: APScheduler reads it with
    the offset before the change, so `daily 02:30 Europe/Paris` fires on 2026-03-29 at
    01:30 UTC (03:30 CEST), once; of several times inside the missing hour
    (`*/20 2 * * *`) only the first fires, at 03:00 CEST.
    """

    __slots__ = ()

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        for _ in range(2000):  # a repeated hour holds at most 60 fire times (cron has no seconds)
            if fire is None or not _second_occurrence(fire):
                return fire
            fire = super().get_next_fire_time(fire, fire)
        return fire


def _second_occurrence(moment: datetime) -> bool:
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


@dataclass(frozen=True)
class Schedule:
    text: str  # normalised, as shown to users
    cron: str  # 5 fields, standard cron meaning
    timezone: str = "UTC"

    def trigger(self) -> CronTrigger:
        """The APScheduler trigger (a CronTrigger) firing at this schedule's times."""
        fields = self.cron.split()
        fields[4] = _apscheduler_weekdays(fields[4])
        return WallClockCronTrigger.from_crontab(" ".join(fields), timezone=zoneinfo.ZoneInfo(self.timezone))

    def describe(self) -> str:
        """In words: "every minute", "every 15 minutes", "every 2 hours", "daily at 09:00 Europe/Paris"."""
        minute, hour, day, month, weekday = self.cron.split()
        rest_any = (day, month, weekday) == ("*", "*", "*")
        zone = f" ({self.timezone})" if self.timezone != "UTC" else ""
        if rest_any and hour == "*" and minute == "*":
            return "every minute"
        if rest_any and hour == "*" and (step := re.fullmatch(r"\*/([0-9]+)", minute)) and 60 % int(step[1]) == 0:
            return f"every {step[1]} minutes"
        if rest_any and minute == "0" and hour == "*":
            return f"every hour{zone}"
        if rest_any and minute == "0" and (step := re.fullmatch(r"\*/([0-9]+)", hour)) and 24 % int(step[1]) == 0:
            return f"every {step[1]} hours{zone}"
        if rest_any and re.fullmatch("[0-9]{1,2}", minute) and re.fullmatch("[0-9]{1,2}", hour):
            return f"daily at {int(hour):02d}:{int(minute):02d} {self.timezone}"
        return f"cron `{self.cron}` ({self.timezone})"

    def next_fire_times(self, after: datetime, n: int) -> list[datetime]:
        """The next `n` fire times strictly after `after` (naive means UTC), as aware UTC datetimes."""
        if after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        trigger = self.trigger()
        times: list[datetime] = []
        previous = after
        for _ in range(max(0, n)):
            fire = trigger.get_next_fire_time(previous, previous)
            if fire is None:
                break
            times.append(fire.astimezone(UTC))
            previous = fire
        return times


def parse_schedule(text: str, *, on_change: bool = False, offer_on_change: bool = True) -> Schedule:
    """Parse what the user typed; raises ScheduleError (only) for anything unusable.

    `on_change`: the schedule of an `--on-change` subscription, which may fire every minute;
    others fire at most every MIN_INTERVAL_MINUTES, and refusing one that fires more often
    suggests `--on-change`, unless `offer_on_change` is False (HEALTH_SCHEDULE has no such flag).
    """
    if len(text) > MAX_TEXT:
        raise ScheduleError(f"That schedule is too long (over {MAX_TEXT} characters).")
    words = text.split()
    if not words:
        raise ScheduleError("Say when to post the report.")
    head = words[0].lower()
    floor = _Floor(on_change, offer_on_change)
    if head == "every":
        return _every(words[1:], floor)
    if head == "daily":
        return _daily(words[1:])
    return _cron(words, floor)


@dataclass(frozen=True)
class _Floor:
    """How often a schedule may fire, and what its refusal suggests."""

    on_change: bool
    offer_on_change: bool

    @property
    def minutes(self) -> int:
        return MIN_ON_CHANGE_INTERVAL_MINUTES if self.on_change else MIN_INTERVAL_MINUTES

    def refuse(self, lead: str, *, example: str, gap: int) -> ScheduleError:
        """`lead` ("… is too often: ") completed with the limit and, when `--on-change` would
        allow the schedule, that suggestion."""
        if self.on_change:
            return ScheduleError(f"{lead}health checks can run at most every minute (try {example}).")
        hint = ""
        if self.offer_on_change and gap >= MIN_ON_CHANGE_INTERVAL_MINUTES:
            hint = " Add `--on-change` to check that often and post only when the health changes."
        return ScheduleError(
            f"{lead}health reports can come at most every {MIN_INTERVAL_MINUTES} minutes (try {example}).{hint}"
        )


def _every(words: list[str], floor: _Floor) -> Schedule:
    given = "".join(words).lower()
    match = _EVERY.match(given)
    if not match or match[2] not in _UNITS:
        raise ScheduleError("After `every`, give a number and a unit: m (minutes), h (hours) or d (days).")
    minutes = int(match[1]) * _UNITS[match[2]]
    if minutes < floor.minutes:
        raise floor.refuse(
            f"`every {_interval_text(minutes)}` is too often: ", example=f"`every {floor.minutes}m`", gap=minutes
        )
    exact = [m for m in _EXACT_INTERVALS if m >= floor.minutes]
    if minutes not in exact:
        nearest = sorted(exact, key=lambda m: (abs(m - minutes), m))
        choices = [m for m in nearest if abs(m - minutes) == abs(nearest[0] - minutes)]
        suggestion = " or ".join(f"`every {_interval_text(m)}`" for m in choices)
        raise ScheduleError(
            f"`every {given}` cannot be kept exactly by a clock (reports run at the same times on every "
            f"replica, so an interval must divide an hour or a day). The nearest that can: {suggestion}"
            + (', or a cron expression such as "0 0 * * mon" (weekly).' if minutes > 1440 else ".")
        )
    if minutes == 1:
        cron = "* * * * *"
    elif minutes < 60:
        cron = f"*/{minutes} * * * *"
    elif minutes == 60:
        cron = "0 * * * *"
    elif minutes < 1440:
        cron = f"0 */{minutes // 60} * * *"
    else:
        cron = "0 0 * * *"
    return Schedule(text=f"every {_interval_text(minutes)}", cron=cron, timezone="UTC")


def _interval_text(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h" if minutes < 1440 else f"{minutes // 1440}d"


def _daily(words: list[str]) -> Schedule:
    if not 1 <= len(words) <= 2:
        raise ScheduleError("Give `daily` a time and optionally a time zone, like `daily 09:00 Europe/Paris`.")
    match = _TIME.match(words[0])
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ScheduleError(f"`{_short(words[0])}` is not a time of day; use HH:MM from 00:00 to 23:59.")
    hour, minute = int(match[1]), int(match[2])
    zone = _zone(words[1]) if len(words) == 2 else "UTC"
    suffix = f" {zone}" if zone != "UTC" else ""
    return Schedule(text=f"daily {hour:02d}:{minute:02d}{suffix}", cron=f"{minute} {hour} * * *", timezone=zone)


def _cron(words: list[str], floor: _Floor) -> Schedule:
    if len(words) not in (5, 6):
        raise ScheduleError(
            f"A cron expression has 5 fields (minute hour day-of-month month day-of-week), optionally "
            f"followed by a time zone; this has {len(words)}."
        )
    if len(words) == 6 and re.fullmatch(r"[0-9*/,?-]+", words[5]):
        raise ScheduleError(
            "This has 6 cron fields; give 5 (minute hour day-of-month month day-of-week): seconds are not supported."
        )
    fields = [word.lower() for word in words[:5]]
    zone = _zone(words[5]) if len(words) == 6 else "UTC"
    values = dict(zip(_FIELDS, fields, strict=True))
    values["day_of_week"] = _apscheduler_weekdays(values["day_of_week"])
    for name, value in values.items():
        try:
            CronTrigger(**{name: value}, timezone=UTC)
        except (ValueError, ArithmeticError) as error:
            shown = fields[_FIELDS.index(name)]
            raise ScheduleError(f"The {_FIELD_WORDS[name]} field `{_short(shown)}` is not valid: {error}.") from None
    if values["day"] != "*" and values["day_of_week"] != "*":
        raise ScheduleError(
            "Restrict the day of the month or the day of the week, not both (cron would fire on either, "
            "the scheduler only on days matching both)."
        )
    cron = " ".join(fields)
    schedule = Schedule(text=cron + (f" {zone}" if zone != "UTC" else ""), cron=cron, timezone=zone)
    trigger = schedule.trigger()
    if trigger.get_next_fire_time(None, _REFERENCE) is None:
        raise ScheduleError(f"`{cron}` never fires (no such date).")
    _check_interval(values, floor)
    return schedule


def _check_interval(values: dict[str, Any], floor: _Floor) -> None:
    """Refuse schedules firing less than `floor.minutes` apart (in UTC wall time)."""
    times_of_day = CronTrigger(minute=values["minute"], hour=values["hour"], timezone=UTC)
    day_end = _REFERENCE + timedelta(days=1)
    minutes: list[int] = []
    fire = times_of_day.get_next_fire_time(None, _REFERENCE)
    while fire is not None and fire < day_end:  # at most 1440 steps
        minutes.append(int((fire - _REFERENCE).total_seconds()) // 60)
        if len(minutes) > 1 and minutes[-1] - minutes[-2] < floor.minutes:
            _too_often(minutes[-1] - minutes[-2], floor)
        fire = times_of_day.get_next_fire_time(fire, fire)
    wrap = minutes[0] + 1440 - minutes[-1]
    if wrap < floor.minutes and _fires_on_consecutive_days(values):
        _too_often(wrap, floor)


def _fires_on_consecutive_days(values: dict[str, Any]) -> bool:
    days = CronTrigger(day=values["day"], month=values["month"], day_of_week=values["day_of_week"], timezone=UTC)
    until = _REFERENCE.replace(year=_REFERENCE.year + 8)
    previous = days.get_next_fire_time(None, _REFERENCE)
    for _ in range(8 * 366):
        following = days.get_next_fire_time(previous, previous) if previous else None
        if previous is None or following is None or following > until:
            return False
        if following - previous == timedelta(days=1):
            return True
        previous = following
    return False


def _too_often(gap: int, floor: _Floor) -> None:
    example = "`* * * * *`" if floor.minutes == 1 else f"`*/{floor.minutes} * * * *`"
    raise floor.refuse(f"That schedule fires {gap} minute{'s' if gap != 1 else ''} apart; ", example=example, gap=gap)


def _apscheduler_weekdays(field: str) -> str:
    """A standard cron day-of-week field as APScheduler 3 reads it: `*` or a list of day names."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for item in field.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not (re.fullmatch("[0-9]{1,2}", step_text) and int(step_text) > 0):
            raise _weekday_error(field, f"`{_short(step_text)}` is not a step")
        first_text, dash, last_text = base.partition("-")
        if base in ("*", "?"):
            first, last = 0, 6
        else:
            first = _weekday(first_text, field)
            last = _weekday(last_text, field) if dash else (6 if slash else first)
            if dash and last_text == "sun":
                last = 7
            if last < first:
                raise _weekday_error(field, f"the range `{_short(base)}` goes backwards")
        days.update(day % 7 for day in range(first, last + 1, int(step_text) if slash else 1))
    if len(days) == 7:
        return "*"
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def _weekday(token: str, field: str) -> int:
    if re.fullmatch("[0-9]{1,2}", token) and int(token) <= 7:
        return int(token)
    if token in _WEEKDAYS:
        return _WEEKDAYS.index(token)
    raise _weekday_error(field, f"`{_short(token)}` is not a weekday (0-7 or sun-sat)")


def _weekday_error(field: str, problem: str) -> ScheduleError:
    return ScheduleError(f"The day-of-week field `{_short(field)}` is not valid: {problem}.")


@functools.cache
def _zones() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones() if name != "localtime"}


def _zone(name: str) -> str:
    zone = _zones().get(name.lower())
    if zone is None:
        near = difflib.get_close_matches(name.lower(), list(_zones()), n=1)
        hint = f" Did you mean {_zones()[near[0]]}?" if near else ""
        raise ScheduleError(
            f"`{_short(name)}` is not a time zone I know; use an IANA name like Europe/Paris or UTC.{hint}"
        )
    return zone


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
