"""How many refused attempts of one person the audit trail records one by one.

A refusal (the access policy said no, a button value the bot did not make) is audited; a client
clicking forged values in a loop wrote one row each, about 50 MB an hour (issue 30). Per person, the
first AUDIT_REFUSALS_PER_MINUTE refusals of each minute are recorded; the others are counted (the
metric chatops_audit_refusals_unrecorded_total, one log line a minute per person) and the next
refusal recorded for that person says how many were not. Each replica counts its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW = 60.0  # seconds
REMEMBERED = 10_000  # people counted at most; the ones whose minute is over are forgotten first


@dataclass
class _Minute:
    started: float
    recorded: int = 0
    unrecorded: int = 0  # in this minute and the ones before, since the last recorded refusal
    over: bool = False  # this minute has gone over the bound


@dataclass(frozen=True)
class Admission:
    record: bool  # record this refusal
    earlier: int = 0  # refusals before it that were not recorded (when it is recorded)
    first_over: bool = False  # the first refusal of this person's minute not recorded (log it)


class RefusalBound:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._people: dict[str, _Minute] = {}

    def admit(self, person: str, per_minute: int) -> Admission:
        """Whether to record this refusal of `person` (else it is counted), and how many earlier ones were
        not. `per_minute` 0 records every refusal."""
        if per_minute <= 0:
            return Admission(True)
        now = self._clock()
        minute = self._people.get(person)
        if minute is None or now - minute.started >= WINDOW:
            if minute is None and len(self._people) >= REMEMBERED:
                self._people = {p: m for p, m in self._people.items() if now - m.started < WINDOW}
            minute = _Minute(now, unrecorded=minute.unrecorded if minute is not None else 0)
            self._people[person] = minute
        if minute.recorded >= per_minute:
            minute.unrecorded += 1
            first, minute.over = not minute.over, True
            return Admission(False, first_over=first)
        minute.recorded += 1
        earlier, minute.unrecorded = minute.unrecorded, 0
        return Admission(True, earlier)
