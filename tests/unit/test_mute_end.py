"""When a mute ends: the specs `mute … for/until` and the Mute for… menu make, resolved in TZ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from handlers.alerting import mute_end
from handlers.shared.grammar import UsageError

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 6, 11, 30, tzinfo=UTC)  # 12:30 in Paris


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("for:1h", datetime(2026, 12, 6, 12, 30, tzinfo=UTC)),
        ("for:2d", datetime(2026, 12, 8, 11, 30, tzinfo=UTC)),
        ("at:18:00", datetime(2026, 12, 6, 18, 0, tzinfo=PARIS)),  # later today
        ("at:09:00", datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)),  # passed today: tomorrow's
        ("tomorrow:09:00", datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)),
        ("iso:2026-12-07T09:00", datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)),  # no offset: in TZ
        ("iso:2026-12-07T09:00Z", datetime(2026, 12, 7, 9, 0, tzinfo=UTC)),
    ],
)
def test_each_spec_resolves_in_the_tz_setting(spec: str, expected: datetime) -> None:
    assert mute_end.is_spec(spec)
    assert mute_end.resolve(spec, NOW, PARIS).until == expected


def test_until_09_00_tomorrow_across_a_daylight_saving_change() -> None:
    before_change = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Paris moves to summer time on the 29th
    end = mute_end.resolve("tomorrow:09:00", before_change, PARIS).until
    assert end is not None and end.astimezone(PARIS).hour == 9 and end.utcoffset() == timedelta(hours=2)


def test_worse_has_no_end_of_its_own_and_words_say_both() -> None:
    assert mute_end.resolve("worse", NOW, PARIS) == mute_end.MuteEnd(worse=True)
    both = mute_end.MuteEnd(until=datetime(2026, 12, 7, 8, 0, tzinfo=UTC), worse=True)
    assert both.words(PARIS) == " until 2026-12-07 09:00 CET or until it gets worse"


@pytest.mark.parametrize("spec", ["iso:2020-01-01T00:00", "iso:2030-01-01T00:00", "at:25:00", "soon", "for:1y"])
def test_what_is_not_an_end_in_the_future_within_a_year_is_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        if not mute_end.is_spec(spec):
            raise ValueError(spec)
        mute_end.resolve(spec, NOW, PARIS)


def test_say_gives_back_what_was_typed() -> None:
    assert [mute_end.say(s) for s in ("for:2h", "at:09:00", "tomorrow:09:00", "worse")] == [
        "for 2h",
        "until 09:00",
        "until tomorrow 09:00",
        "until it gets worse",
    ]
    with pytest.raises(UsageError):
        mute_end.parse_words(["until", "noon"], "mute")
