"""The three schedule forms, their normalised text, the cron they become, and every refusal."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.schedule import EXAMPLES, Schedule, ScheduleError, parse_schedule

START = datetime(2026, 1, 5, 10, 7, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*/15 * * * *", Schedule("*/15 * * * *", "*/15 * * * *", "UTC")),
        ("  0   9 * *   1-5  ", Schedule("0 9 * * 1-5", "0 9 * * 1-5", "UTC")),
        ("0 9 * * 1-5 Europe/Paris", Schedule("0 9 * * 1-5 Europe/Paris", "0 9 * * 1-5", "Europe/Paris")),
        (
            "0 9 * * MON-FRI america/new_york",
            Schedule("0 9 * * mon-fri America/New_York", "0 9 * * mon-fri", "America/New_York"),
        ),
        ("0 9 * * * UTC", Schedule("0 9 * * *", "0 9 * * *", "UTC")),
        ("daily 09:00 Europe/Paris", Schedule("daily 09:00 Europe/Paris", "0 9 * * *", "Europe/Paris")),
        ("Daily 7:05", Schedule("daily 07:05", "5 7 * * *", "UTC")),
        ("daily 23:59 Asia/Kolkata", Schedule("daily 23:59 Asia/Kolkata", "59 23 * * *", "Asia/Kolkata")),
    ],
)
def test_valid_schedules(text: str, expected: Schedule) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    ("text", "normalised", "cron", "words"),
    [
        ("every 5m", "every 5m", "*/5 * * * *", "every 5 minutes"),
        ("every 15m", "every 15m", "*/15 * * * *", "every 15 minutes"),
        ("every 30 minutes", "every 30m", "*/30 * * * *", "every 30 minutes"),
        ("every 60m", "every 1h", "0 * * * *", "every hour"),
        ("every 120m", "every 2h", "0 */2 * * *", "every 2 hours"),
        ("EVERY 2h", "every 2h", "0 */2 * * *", "every 2 hours"),
        ("every 1 hour", "every 1h", "0 * * * *", "every hour"),
        ("every 12h", "every 12h", "0 */12 * * *", "every 12 hours"),
        ("every 24h", "every 1d", "0 0 * * *", "daily at 00:00 UTC"),
        ("every 1d", "every 1d", "0 0 * * *", "daily at 00:00 UTC"),
        ("every 1440m", "every 1d", "0 0 * * *", "daily at 00:00 UTC"),
    ],
)
def test_every_becomes_cron_in_utc(text: str, normalised: str, cron: str, words: str) -> None:
    schedule = parse_schedule(text)
    assert (schedule.text, schedule.cron, schedule.timezone) == (normalised, cron, "UTC")
    assert schedule.describe() == words
    assert parse_schedule(schedule.text) == schedule  # the shown text means the same


def test_every_fires_on_the_clock_so_replicas_agree() -> None:
    times = parse_schedule("every 15m").next_fire_times(START, 4)
    assert [t.strftime("%H:%M") for t in times] == ["10:15", "10:30", "10:45", "11:00"]
    times = parse_schedule("every 6h").next_fire_times(START, 4)
    assert [t.strftime("%d %H:%M") for t in times] == ["05 12:00", "05 18:00", "06 00:00", "06 06:00"]


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("every 7m", "`every 6m`"),
        ("every 11m", "`every 10m` or `every 12m`"),
        ("every 9h", "`every 8h`"),
        ("every 8m", "`every 6m` or `every 10m`"),
        ("every 25m", "`every 20m` or `every 30m`"),
        ("every 45m", "`every 30m` or `every 1h`"),
        ("every 90m", "`every 1h` or `every 2h`"),
        ("every 5h", "`every 4h` or `every 6h`"),
        ("every 7h", "`every 6h` or `every 8h`"),
        ("every 18h", "`every 12h` or `every 1d`"),
        ("every 2d", "`every 1d`"),
        ("every 1000m", "`every 12h`"),
    ],
)
def test_intervals_a_clock_cannot_keep_are_refused_with_the_nearest(text: str, suggestion: str) -> None:
    with pytest.raises(ScheduleError, match="cannot be kept exactly") as raised:
        parse_schedule(text)
    assert f"The nearest that can: {suggestion}" in str(raised.value)


def test_every_1d_is_midnight_utc() -> None:
    times = parse_schedule("every 1d").next_fire_times(START, 2)
    assert times == [datetime(2026, 1, 6, tzinfo=UTC), datetime(2026, 1, 7, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "Say when"),
        ("   ", "Say when"),
        ("every", "give a number and a unit"),
        ("every 15", "give a number and a unit"),
        ("every 15s", "give a number and a unit"),
        ("every -5m", "give a number and a unit"),
        ("every 0m", "at most every 5 minutes"),
        ("every 1m", "at most every 5 minutes"),
        ("every 4 minutes", "at most every 5 minutes"),
        ("daily", "Give `daily` a time"),
        ("daily 9", "is not a time of day"),
        ("daily 24:00", "is not a time of day"),
        ("daily 12:60", "is not a time of day"),
        ("daily 09:00 Paris", "`Paris` is not a time zone"),
        ("daily 09:00 Europe/Paris extra", "Give `daily` a time"),
        ("daily 09:00 localtime", "is not a time zone"),
        ("0 9 * * 1-5 Europe/Pariss", "Did you mean Europe/Paris?"),
        ("0 9 * *", "has 5 fields"),
        ("0 9 * * * Europe/Paris x", "this has 7"),
        ("0 */5 * * * *", "seconds are not supported"),
        ("@daily", "has 5 fields"),
        ("* * * * *", "1 minute apart"),
        ("*/2 * * * *", "2 minutes apart"),
        ("0,4 * * * *", "4 minutes apart"),
        ("58,59 * * * *", "1 minute apart"),
        ("59 * * * *", None),
        ("0,58 0,23 * * *", "2 minutes apart"),  # 23:58 then 00:00 the next day
        ("*/7 * * * *", "4 minutes apart"),  # ...:56 then :00
        ("60 * * * *", "The minute field `60` is not valid"),
        ("0 24 * * *", "The hour field `24` is not valid"),
        ("0 0 32 * *", "The day-of-month field `32` is not valid"),
        ("0 0 * 13 *", "The month field `13` is not valid"),
        ("0 0 * foo *", "The month field `foo` is not valid"),
        ("0 0 * * 8", "The day-of-week field `8` is not valid"),
        ("0 0 * * mon-xyz", "`xyz` is not a weekday"),
        ("0 0 * * 5-1", "goes backwards"),
        ("0 0 * * */0", "is not a step"),
        ("1/0 * * * *", "The minute field `1/0` is not valid"),
        ("*/99 * * * *", "The minute field `*/99` is not valid"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 1 * mon", "not both"),
        ("x" * 300, "too long"),
    ],
)
def test_invalid_schedules_say_why_and_show_examples(text: str, words: str | None) -> None:
    if words is None:  # a control: fires every 60 minutes, at :59
        assert parse_schedule(text).cron == "59 * * * *"
        return
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(text)
    assert words in str(raised.value)
    assert str(raised.value).endswith(f"Examples: {EXAMPLES}.")
    assert raised.value.problem in str(raised.value)


def test_the_minimum_interval_ignores_far_apart_times_on_separate_days() -> None:
    # 23:58 and 00:00 are 2 minutes apart only on consecutive days; the 1st of each month never is one.
    schedule = parse_schedule("0,58 0,23 1 * *")
    times = schedule.next_fire_times(START, 12)
    assert min(b - a for a, b in itertools.pairwise(times)) >= timedelta(minutes=5)


@pytest.mark.parametrize(
    ("field", "weekdays"),
    [
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("sun", ["Sun"]),
        ("5-7", ["Fri", "Sat", "Sun"]),
        ("sat-sun", ["Sat", "Sun"]),
        ("*/2", ["Sun", "Tue", "Thu", "Sat"]),
        ("1-5/2", ["Mon", "Wed", "Fri"]),
        ("0,6", ["Sat", "Sun"]),
        ("*", ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
    ],
)
def test_weekdays_mean_what_standard_cron_means(field: str, weekdays: list[str]) -> None:
    """APScheduler 3 counts weekdays from Monday=0; the user's cron counts from Sunday=0."""
    times = parse_schedule(f"0 12 * * {field}").next_fire_times(START, 7)
    assert sorted({t.strftime("%a") for t in times}, key=weekdays.index) == weekdays


def test_the_trigger_is_an_apscheduler_cron_trigger_in_the_schedule_zone() -> None:
    trigger = parse_schedule("0 9 * * 1-5 Europe/Paris").trigger()
    assert isinstance(trigger, CronTrigger)
    assert str(trigger.timezone) == "Europe/Paris"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("*/15 * * * *", "every 15 minutes"),
        ("*/15 * * * * Europe/Paris", "every 15 minutes"),
        ("0 */3 * * * Asia/Tokyo", "every 3 hours (Asia/Tokyo)"),
        ("daily 09:00 Europe/Paris", "daily at 09:00 Europe/Paris"),
        ("30 6 * * *", "daily at 06:30 UTC"),
        ("*/25 * * * *", "cron `*/25 * * * *` (UTC)"),  # :00 :25 :50, not every 25 minutes
        ("0 9 * * 1-5 Europe/Paris", "cron `0 9 * * 1-5` (Europe/Paris)"),
    ],
)
def test_describe(text: str, words: str) -> None:
    assert parse_schedule(text).describe() == words


def test_next_fire_times_are_strictly_after_and_in_utc() -> None:
    schedule = parse_schedule("*/15 * * * *")
    after = datetime(2026, 1, 5, 10, 15, tzinfo=UTC)  # itself a fire time
    assert schedule.next_fire_times(after, 2) == [
        datetime(2026, 1, 5, 10, 30, tzinfo=UTC),
        datetime(2026, 1, 5, 10, 45, tzinfo=UTC),
    ]
    naive = schedule.next_fire_times(after.replace(tzinfo=None), 1)
    assert naive == [datetime(2026, 1, 5, 10, 30, tzinfo=UTC)] and naive[0].tzinfo is UTC
    assert schedule.next_fire_times(after, 0) == []


cron_field = st.one_of(
    st.sampled_from(["*", "*/5", "0", "30", "1-5", "mon-fri", "jan", "0,30", "5-1", "*/0", "7", "L", "?", "last"]),
    st.text(alphabet="0123456789*/,-?abcdefghijklmnopqrstuvwxyz#²٣", min_size=1, max_size=8),
)
schedule_text = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda fields, zone: " ".join(fields) + zone,
        st.lists(cron_field, min_size=4, max_size=6),
        st.sampled_from(["", " Europe/Paris", " UTC", " x/y", " ../etc"]),
    ),
    st.builds(
        lambda n, unit: f"every {n}{unit}", st.integers(-5, 10**12), st.sampled_from(["m", "h", "d", "s", " hours", ""])
    ),
    st.builds(
        lambda h, m, z: f"daily {h}:{m}{z}",
        st.integers(-1, 100),
        st.integers(-1, 100),
        st.sampled_from(["", " Europe/Paris", " Nowhere"]),
    ),
)


@settings(max_examples=400, deadline=None)
@given(schedule_text)
def test_no_input_raises_anything_but_schedule_error(text: str) -> None:
    try:
        schedule = parse_schedule(text)
    except ScheduleError:
        return
    assert parse_schedule(schedule.text) == schedule
    times = schedule.next_fire_times(START, 3)
    assert len(times) >= 1
    assert all(b - a >= timedelta(minutes=5) for a, b in itertools.pairwise(times))


# ---- --on-change: checks may run every minute, since a report is posted only on a change ----------
ON_CHANGE_HINT = "Add `--on-change` to check that often and post only when the health changes."


@pytest.mark.parametrize(
    ("text", "normalised", "cron", "words"),
    [
        ("every 1m", "every 1m", "* * * * *", "every minute"),
        ("every 1 minute", "every 1m", "* * * * *", "every minute"),
        ("every 2m", "every 2m", "*/2 * * * *", "every 2 minutes"),
        ("every 3m", "every 3m", "*/3 * * * *", "every 3 minutes"),
        ("every 4 minutes", "every 4m", "*/4 * * * *", "every 4 minutes"),
        ("every 5m", "every 5m", "*/5 * * * *", "every 5 minutes"),
        ("every 1h", "every 1h", "0 * * * *", "every hour"),
        ("* * * * *", "* * * * *", "* * * * *", "every minute"),
        ("*/2 * * * *", "*/2 * * * *", "*/2 * * * *", "every 2 minutes"),
        ("58,59 * * * *", "58,59 * * * *", "58,59 * * * *", "cron `58,59 * * * *` (UTC)"),
        ("* 9-17 * * 1-5 Europe/Paris", "* 9-17 * * 1-5 Europe/Paris", "* 9-17 * * 1-5", None),
    ],
)
def test_on_change_schedules_may_check_every_minute(text: str, normalised: str, cron: str, words: str | None) -> None:
    schedule = parse_schedule(text, on_change=True)
    assert (schedule.text, schedule.cron) == (normalised, cron)
    if words is not None:
        assert schedule.describe() == words
    assert parse_schedule(schedule.text, on_change=True) == schedule
    times = schedule.next_fire_times(START, 3)
    if cron == "* * * * *":
        assert [t.strftime("%H:%M") for t in times] == ["10:08", "10:09", "10:10"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("every 1m", "`every 1m` is too often: health reports can come at most every 5 minutes (try `every 5m`)."),
        ("every 4 minutes", "`every 4m` is too often: health reports can come at most every 5 minutes"),
        ("* * * * *", "That schedule fires 1 minute apart; health reports can come at most every 5 minutes"),
        ("*/2 * * * *", "2 minutes apart"),
        ("0,58 0,23 * * *", "2 minutes apart"),
    ],
)
def test_a_too_frequent_schedule_that_posts_every_time_suggests_on_change(text: str, words: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(text)
    assert words in raised.value.problem
    assert raised.value.problem.endswith(ON_CHANGE_HINT)
    assert parse_schedule(text, on_change=True).text  # and --on-change does take it
    # HEALTH_SCHEDULE has no --on-change: its refusal does not suggest one.
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(text, offer_on_change=False)
    assert words in raised.value.problem and "--on-change" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("every 0m", "`every 0m` is too often: health checks can run at most every minute (try `every 1m`)."),
        ("every 7m", "The nearest that can: `every 6m`."),
        ("every 90m", "`every 1h` or `every 2h`"),
        ("every 15s", "give a number and a unit"),
        ("0 */5 * * * *", "seconds are not supported"),
    ],
)
def test_on_change_still_refuses_what_cannot_be_kept(text: str, words: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(text, on_change=True)
    assert words in str(raised.value)
    assert "--on-change" not in str(raised.value)


def test_every_0m_is_refused_without_suggesting_on_change() -> None:
    with pytest.raises(ScheduleError) as raised:
        parse_schedule("every 0m")
    assert "at most every 5 minutes" in str(raised.value) and "--on-change" not in str(raised.value)


@settings(max_examples=200, deadline=None)
@given(schedule_text)
def test_on_change_schedules_fire_at_least_a_minute_apart(text: str) -> None:
    try:
        schedule = parse_schedule(text, on_change=True)
    except ScheduleError:
        return
    assert parse_schedule(schedule.text, on_change=True) == schedule
    times = schedule.next_fire_times(START, 3)
    assert len(times) >= 1
    assert all(b - a >= timedelta(minutes=1) for a, b in itertools.pairwise(times))
