"""Daylight-saving changes in Europe/Paris, 2026: clocks go forward on 29 March at 02:00 CET
(01:00 UTC) and back on 25 October at 03:00 CEST (01:00 UTC)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.schedule import parse_schedule

PARIS = ZoneInfo("Europe/Paris")


def fire_times(text: str, start: datetime, days: int) -> list[datetime]:
    return parse_schedule(text).next_fire_times(start, days)


def test_daily_0900_paris_across_spring_forward() -> None:
    times = fire_times("daily 09:00 Europe/Paris", datetime(2026, 3, 26, 12, tzinfo=UTC), 6)
    assert times == [
        datetime(2026, 3, 27, 8, 0, tzinfo=UTC),  # CET, UTC+1
        datetime(2026, 3, 28, 8, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 7, 0, tzinfo=UTC),  # the change day: already CEST, UTC+2
        datetime(2026, 3, 30, 7, 0, tzinfo=UTC),
        datetime(2026, 3, 31, 7, 0, tzinfo=UTC),
        datetime(2026, 4, 1, 7, 0, tzinfo=UTC),
    ]


def test_daily_0900_paris_across_fall_back() -> None:
    times = fire_times("daily 09:00 Europe/Paris", datetime(2026, 10, 22, 12, tzinfo=UTC), 6)
    assert times == [
        datetime(2026, 10, 23, 7, 0, tzinfo=UTC),  # CEST, UTC+2
        datetime(2026, 10, 24, 7, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 8, 0, tzinfo=UTC),  # the change day: CET again, UTC+1
        datetime(2026, 10, 26, 8, 0, tzinfo=UTC),
        datetime(2026, 10, 27, 8, 0, tzinfo=UTC),
        datetime(2026, 10, 28, 8, 0, tzinfo=UTC),
    ]


def test_daily_0900_paris_fires_once_a_day_all_year() -> None:
    """Over all of 2026: one report per local calendar day, always at 09:00 Paris time."""
    times = fire_times("daily 09:00 Europe/Paris", datetime(2025, 12, 31, 12, tzinfo=UTC), 365)
    local = [t.astimezone(PARIS) for t in times]
    assert [t.date() for t in local] == [datetime(2026, 1, 1).date() + timedelta(days=i) for i in range(365)]
    assert {(t.hour, t.minute) for t in local} == {(9, 0)}
    assert {t.hour for t in times} == {7, 8}


def test_daily_0230_paris_on_the_spring_forward_day() -> None:
    """02:30 does not exist in Paris on 2026-03-29 (02:00 CET jumps to 03:00 CEST).

    APScheduler reads the missing wall time with the offset before the change
    (02:30+01:00), so the report still comes exactly once that day, at 01:30 UTC — which
    is 03:30 CEST on the clock, an hour later than usual. Neither skipped nor doubled.
    """
    times = fire_times("daily 02:30 Europe/Paris", datetime(2026, 3, 27, 12, tzinfo=UTC), 4)
    assert times == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),  # 02:30 CET
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # "02:30+01:00" = 03:30 CEST
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),  # 02:30 CEST
        datetime(2026, 3, 31, 0, 30, tzinfo=UTC),
    ]


def test_daily_0230_paris_on_the_fall_back_day_fires_once() -> None:
    """02:30 happens twice on 2026-10-25 (CEST, then CET). Plain APScheduler fires at both;
    the schedule's trigger fires only at the first, so the report is not posted twice."""
    times = fire_times("daily 02:30 Europe/Paris", datetime(2026, 10, 23, 12, tzinfo=UTC), 4)
    assert times == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),  # 02:30 CEST
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first of the two
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 CET
        datetime(2026, 10, 27, 1, 30, tzinfo=UTC),
    ]


def test_the_trigger_skips_the_repeat_even_when_asked_from_inside_the_repeated_hour() -> None:
    trigger = parse_schedule("daily 02:30 Europe/Paris").trigger()
    inside = datetime(2026, 10, 25, 1, 5, tzinfo=UTC)  # 02:05 CET, after the first 02:30
    assert trigger.get_next_fire_time(None, inside) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_a_cron_in_a_zone_never_doubles_across_the_changes() -> None:
    for start in (datetime(2026, 3, 28, 20, tzinfo=UTC), datetime(2026, 10, 24, 20, tzinfo=UTC)):
        times = fire_times("*/15 * * * * Europe/Paris", start, 4 * 12)
        assert all(b - a >= timedelta(minutes=15) for a, b in itertools.pairwise(times))
        assert len(set(times)) == len(times)
        local = [t.astimezone(PARIS) for t in times]
        assert len({t.replace(tzinfo=None) for t in local}) == len(local)  # no wall-clock time twice


def test_utc_schedules_ignore_daylight_saving() -> None:
    times = fire_times("every 1h", datetime(2026, 10, 24, 23, 30, tzinfo=UTC), 4)
    assert times == [datetime(2026, 10, 25, h, tzinfo=UTC) for h in range(4)]


def test_several_times_inside_the_missing_hour_fire_once_at_0300() -> None:
    """APScheduler's behaviour: 02:00/02:20/02:40 do not exist on 2026-03-29; only 02:00 fires
    (as 02:00+01:00 = 01:00 UTC = 03:00 CEST), then the next day resumes."""
    times = fire_times("*/20 2 * * * Europe/Paris", datetime(2026, 3, 28, 12, tzinfo=UTC), 5)
    assert times == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 20, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 40, tzinfo=UTC),
        datetime(2026, 3, 31, 0, 0, tzinfo=UTC),
    ]
