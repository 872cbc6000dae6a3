"""When a mute ends: `mute … for 4h`, `until 09:00`, `until tomorrow 09:00`, `until 2026-12-07T09:00`,
and the choices of the *Mute for…* menu.

What was typed is kept as a short spec (checked when typed, a pure function of the words) and turned
into a moment when the mute is made, in the `TZ` setting's time zone:
`for:4h`, `at:09:00` (the next 09:00), `tomorrow:09:00`, `iso:2026-12-07T09:00`, and `worse` (until
the alert gets worse: Kibana 9.5's alert snooze condition, no end of its own).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.shared.grammar import UsageError, duration, duration_minutes

WORSE = "worse"
LONGEST = timedelta(days=365)
# The Mute for… menu: (label, spec). "Until it gets worse" only where Kibana has the alert snooze.
MENU = (("1 hour", "for:1h"), ("4 hours", "for:4h"), ("Until 09:00 tomorrow", "tomorrow:09:00"))
MENU_WORSE = ("Until it gets worse", WORSE)
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_SPEC = re.compile(r"(for:\d{1,4}[mhd]|(at|tomorrow):\d\d:\d\d|iso:.{10,40}|worse)")
USAGE = "for <duration> | until <HH:MM> | until tomorrow <HH:MM> | until <ISO time>"


@dataclass(frozen=True)
class MuteEnd:
    """A resolved end: a moment, and/or until the alert gets worse."""

    until: datetime | None = None
    worse: bool = False

    def words(self, zone: ZoneInfo) -> str:
        """ " until 2026-12-07 09:00 CET" / " until it gets worse"."""
        parts = []
        if self.until is not None:
            parts.append(f"until {self.until.astimezone(zone).strftime('%Y-%m-%d %H:%M %Z')}")
        if self.worse:
            parts.append("until it gets worse")
        return (" " + " or ".join(parts)) if parts else ""


def parse_words(words: list[str], command: str) -> str | None:
    """The spec of the words after the ids (`for 4h`, `until 09:00` …); None when there are none."""
    if not words:
        return None
    lowered = [w.lower() for w in words]
    if lowered[0] == "for" and len(words) == 2:
        checked = duration(words[1], command)
        if not 1 <= duration_minutes(checked) <= LONGEST.total_seconds() / 60:
            raise UsageError("A mute lasts between 1 minute and 365 days.", command)
        return f"for:{checked}"
    if lowered[0] == "until" and len(words) in (2, 3):
        if len(words) == 3:
            if lowered[1] != "tomorrow":
                raise UsageError(f"Say when the mute ends: {USAGE}.", command)
            return f"tomorrow:{_clock(words[2], command)}"
        if _CLOCK.fullmatch(words[1]):
            return f"at:{_clock(words[1], command)}"
        try:
            datetime.fromisoformat(words[1].replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(
                f"`{words[1][:40]}` is not a time; use 09:00, tomorrow 09:00 or 2026-12-07T09:00.", command
            ) from None
        if len(words[1]) > 40:
            raise UsageError("That time is too long; use 2026-12-07T09:00.", command)
        return f"iso:{words[1]}"
    raise UsageError(f"Say when the mute ends: {USAGE}.", command)


def _clock(text: str, command: str) -> str:
    found = _CLOCK.fullmatch(text)
    if found is None:
        raise UsageError(f"`{text[:20]}` is not a time of day; use 09:00.", command)
    return f"{int(found.group(1)):02d}:{found.group(2)}"


def say(spec: str) -> str:
    """A spec as the person typed it: `for 2h`, `until 09:00`, `until tomorrow 09:00`, `until <ISO>`."""
    kind, _, rest = spec.partition(":")
    if spec == WORSE:
        return "until it gets worse"
    return {"for": f"for {rest}", "at": f"until {rest}", "tomorrow": f"until tomorrow {rest}"}.get(
        kind, f"until {rest}"
    )


def is_spec(text: str) -> bool:
    """A spec this module made (for the values that come back from Slack)."""
    return bool(_SPEC.fullmatch(text))


def resolve(spec: str, now: datetime, zone: ZoneInfo) -> MuteEnd:
    """The end a spec names, from `now`; ValueError when it is not one, or not in the future."""
    kind, _, rest = spec.partition(":")
    if spec == WORSE:
        return MuteEnd(worse=True)
    if kind == "for":
        unit = {"m": "minutes", "h": "hours", "d": "days"}[rest[-1]]
        return MuteEnd(until=now + timedelta(**{unit: int(rest[:-1])}))
    if kind in ("at", "tomorrow"):
        found = _CLOCK.fullmatch(rest)
        if found is None:
            raise ValueError(f"not a time of day: {rest}")
        local = now.astimezone(zone)
        day = local.date() + timedelta(days=1 if kind == "tomorrow" else 0)
        moment = datetime.combine(day, time(int(found.group(1)), int(found.group(2))), zone)
        if moment <= now:
            moment = datetime.combine(day + timedelta(days=1), moment.timetz().replace(tzinfo=None), zone)
        return MuteEnd(until=moment)
    if kind == "iso":
        moment = datetime.fromisoformat(rest.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        if moment <= now:
            raise ValueError(f"{rest} has passed")
        if moment - now > LONGEST:
            raise ValueError("a mute lasts at most 365 days")
        return MuteEnd(until=moment)
    raise ValueError(f"not a mute end: {spec}")
