"""Graders for exercises/ch10_settings.py: quiet hours in the user's zone, and the decision.

Each test reaches the code under test only through ``impl``. Expected instants are built
with :mod:`datetime` and :mod:`zoneinfo` from wall-clock times (``fold=1`` picks the second
of a repeated hour), so the grader never consults the reference's answer. The property
tests use zones without daylight saving time and check the *definition* of the end: after
``now``, outside the window, and inside it at every minute in between.
"""

from __future__ import annotations

import math
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.graders.support import GRADER_SETTINGS
from reference.core.errors import InvalidArgument
from reference.notification.model import Category, Channel
from reference.notification.settings import Defer, Preferences, QuietHours, Send, Suppress

SOLUTION = {
    "quiet_window_end": "reference.notification.settings:quiet_window_end",
    "decide": "reference.notification.settings:decide",
}

UTC = ZoneInfo("UTC")
SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
NO_DST_ZONES = ["UTC", "Asia/Seoul", "Asia/Kolkata", "Asia/Kathmandu", "America/Phoenix"]
NIGHT = QuietHours(time(22), time(7))
YEAR_2026 = (
    datetime(2026, 1, 1, tzinfo=UTC).timestamp(),
    datetime(2027, 1, 1, tzinfo=UTC).timestamp(),
)


def at(zone: ZoneInfo, *fields: int, fold: int = 0) -> float:
    """Seconds since the epoch of a wall-clock time in ``zone``."""
    return datetime(*fields, tzinfo=zone, fold=fold).timestamp()


def local(zone: ZoneInfo, ts: float | None) -> str:
    return "None" if ts is None else datetime.fromtimestamp(ts, zone).isoformat()


def wall(zone: ZoneInfo, ts: float) -> time:
    return datetime.fromtimestamp(ts, zone).time()


def check_end(
    impl: Any, quiet: QuietHours, zone: ZoneInfo, now: float, expected: float | None
) -> None:
    got = impl.quiet_window_end(quiet, zone, now)
    assert got == expected, (
        f"quiet_window_end({quiet}, {zone.key}, now={local(zone, now)}) returned "
        f"{local(zone, got)}, expected {local(zone, expected)}"
    )


# --------------------------------------------------------------------------- quiet-hours-end


@pytest.mark.exercise(
    name="quiet-hours-end",
    points=3,
    hint="return None when quiet.contains(local wall time) is False; the window is "
    "[start, end), so end itself is outside",
)
@pytest.mark.parametrize(
    ("window", "wall_time"),
    [
        ("22:00-07:00", (12, 0, 0)),
        ("22:00-07:00", (21, 59, 59)),
        ("22:00-07:00", (7, 0, 0)),
        ("12:00-17:30", (11, 59, 0)),
        ("12:00-17:30", (17, 30, 0)),
        ("12:00-17:30", (23, 0, 0)),
    ],
    ids=lambda value: value if isinstance(value, str) else "{:02}:{:02}:{:02}".format(*value),
)
def test_outside_the_window_there_is_no_end(
    impl: Any, window: str, wall_time: tuple[int, int, int]
) -> None:
    check_end(impl, QuietHours.parse(window), UTC, at(UTC, 2026, 1, 1, *wall_time), None)


@pytest.mark.exercise(
    name="quiet-hours-end",
    points=3,
    hint="before midnight the window ends at tomorrow's end time, after midnight at today's",
)
@pytest.mark.parametrize(
    ("now_fields", "end_fields"),
    [
        ((2026, 1, 1, 22, 0), (2026, 1, 2, 7, 0)),
        ((2026, 1, 1, 23, 15), (2026, 1, 2, 7, 0)),
        ((2026, 1, 31, 23, 59), (2026, 2, 1, 7, 0)),
        ((2026, 1, 2, 0, 0), (2026, 1, 2, 7, 0)),
        ((2026, 1, 2, 3, 0), (2026, 1, 2, 7, 0)),
        ((2026, 1, 2, 6, 59), (2026, 1, 2, 7, 0)),
    ],
    ids=["at-start", "23:15", "month-end", "midnight", "03:00", "06:59"],
)
def test_a_window_across_midnight_ends_the_next_morning(
    impl: Any, now_fields: tuple[int, ...], end_fields: tuple[int, ...]
) -> None:
    check_end(impl, NIGHT, UTC, at(UTC, *now_fields), at(UTC, *end_fields))


@pytest.mark.exercise(
    name="quiet-hours-end",
    points=3,
    hint="a window with start < end (12:00-17:30) ends the same day",
)
def test_a_daytime_window_ends_the_same_day(impl: Any) -> None:
    siesta = QuietHours.parse("12:00-17:30")
    for hour in (12, 15):
        check_end(impl, siesta, UTC, at(UTC, 2026, 5, 5, hour), at(UTC, 2026, 5, 5, 17, 30))


@pytest.mark.exercise(
    name="quiet-hours-end",
    points=3,
    hint="read the wall clock in the user's zone: datetime.fromtimestamp(now, zone)",
)
@pytest.mark.parametrize(
    ("zone_name", "now_fields", "end_fields"),
    [
        ("Asia/Seoul", (2026, 1, 5, 23, 30), (2026, 1, 6, 7, 0)),
        ("America/Los_Angeles", (2026, 1, 14, 23, 0), (2026, 1, 15, 7, 0)),
        ("Asia/Kolkata", (2026, 6, 1, 23, 30), (2026, 6, 2, 7, 0)),
    ],
    ids=["seoul", "los-angeles", "kolkata"],
)
def test_quiet_hours_are_read_in_the_users_time_zone(
    impl: Any, zone_name: str, now_fields: tuple[int, ...], end_fields: tuple[int, ...]
) -> None:
    zone = ZoneInfo(zone_name)
    now = at(zone, *now_fields)
    assert 7 <= datetime.fromtimestamp(now, UTC).hour < 22, "in UTC this is outside the window"
    check_end(impl, NIGHT, zone, now, at(zone, *end_fields))


WINDOW_TIMES = st.integers(0, 24 * 60 - 1).map(lambda m: time(m // 60, m % 60))


@pytest.mark.exercise(
    name="quiet-hours-end",
    points=3,
    hint="the end is the first instant after now whose wall time is outside the window: "
    "inside at every minute before it",
)
@GRADER_SETTINGS
@given(
    zone_name=st.sampled_from(NO_DST_ZONES),
    start=WINDOW_TIMES,
    end=WINDOW_TIMES,
    now=st.integers(int(YEAR_2026[0]), int(YEAR_2026[1])),
)
def test_the_end_is_the_first_instant_outside_the_window(
    impl: Any, zone_name: str, start: time, end: time, now: int
) -> None:
    if start == end:
        return
    quiet, zone = QuietHours(start, end), ZoneInfo(zone_name)
    got = impl.quiet_window_end(quiet, zone, float(now))
    where = f"quiet_window_end({quiet}, {zone_name}, now={local(zone, now)})"
    if not quiet.contains(wall(zone, now)):
        assert got is None, f"{where} returned {local(zone, got)}; now is outside: None"
        return
    assert got is not None and got > now, f"{where} returned {local(zone, got)}"
    assert not quiet.contains(wall(zone, got)), f"{where}: {local(zone, got)} is still inside"
    assert got - now <= 24 * 3600, f"{where}: {local(zone, got)} is more than a day away"
    minute = 60 * (now // 60 + 1)
    while minute < got:
        assert quiet.contains(wall(zone, minute)), (
            f"{where} returned {local(zone, got)}, but {local(zone, minute)} is outside already"
        )
        minute += 60
    assert quiet.contains(wall(zone, got - 1)), f"{where}: the second before the end is inside"


# --------------------------------------------------------------------------- quiet-hours-dst


@pytest.mark.exercise(
    name="quiet-hours-dst",
    points=2,
    hint="compute the end on the wall clock (combine the date with quiet.end in the zone, "
    "then .timestamp()), never as now + a fixed number of hours",
)
@pytest.mark.parametrize(
    ("zone", "now", "expected", "real_hours"),
    [
        (NEW_YORK, (2026, 3, 7, 23), (2026, 3, 8, 7), 7),  # spring forward: 02:00 → 03:00
        (BERLIN, (2026, 10, 24, 22), (2026, 10, 25, 7), 10),  # fall back: 03:00 → 02:00
        (BERLIN, (2026, 3, 29, 1, 30), (2026, 3, 29, 7), 4.5),  # spring forward inside
    ],
    ids=["new-york-spring-forward", "berlin-fall-back", "berlin-spring-forward-at-01:30"],
)
def test_a_night_across_a_clock_change_still_ends_at_the_wall_clock_end(
    impl: Any,
    zone: ZoneInfo,
    now: tuple[int, ...],
    expected: tuple[int, ...],
    real_hours: float,
) -> None:
    start = at(zone, *now)
    check_end(impl, NIGHT, zone, start, at(zone, *expected))
    assert at(zone, *expected) - start == real_hours * 3600  # the grader's own arithmetic


@pytest.mark.exercise(
    name="quiet-hours-dst",
    points=2,
    hint="an end time inside a spring-forward gap never shows on the clock: the window ends "
    "at the jump (fold 0 and fold 1 of that time land on either side of it)",
)
def test_an_end_time_the_clock_skips_ends_the_window_at_the_jump(impl: Any) -> None:
    # 2026-03-08 in New York: 02:00 EST is followed by 03:00 EDT, so 02:30 never happens.
    quiet = QuietHours.parse("22:00-02:30")
    jump = at(UTC, 2026, 3, 8, 7)  # 02:00 EST == 03:00 EDT
    assert local(NEW_YORK, jump) == "2026-03-08T03:00:00-04:00"
    check_end(impl, quiet, NEW_YORK, at(NEW_YORK, 2026, 3, 8, 1, 30), jump)
    check_end(impl, quiet, NEW_YORK, at(NEW_YORK, 2026, 3, 7, 23), jump)


@pytest.mark.exercise(
    name="quiet-hours-dst",
    points=2,
    hint="an end time that happens twice (a fall-back night) ends the window at its first "
    "occurrence after now: try fold=0 and fold=1",
)
def test_an_end_time_that_happens_twice_ends_at_the_next_occurrence(impl: Any) -> None:
    # 2026-10-25 in Berlin: 03:00 CEST becomes 02:00 CET, so 02:00-03:00 runs twice.
    quiet = QuietHours.parse("22:00-02:30")
    first_pass = at(BERLIN, 2026, 10, 25, 2, 15, fold=0)  # 02:15 CEST
    second_pass = at(BERLIN, 2026, 10, 25, 2, 15, fold=1)  # 02:15 CET, an hour later
    check_end(impl, quiet, BERLIN, first_pass, at(BERLIN, 2026, 10, 25, 2, 30, fold=0))
    check_end(impl, quiet, BERLIN, second_pass, at(BERLIN, 2026, 10, 25, 2, 30, fold=1))


@pytest.mark.exercise(
    name="quiet-hours-dst",
    points=2,
    hint="a fall-back can move the wall clock back out of the window past its start: if the "
    "UTC offset changes before your answer, check the wall clock right at the change",
)
def test_a_fall_back_can_jump_out_of_the_window_past_its_start(impl: Any) -> None:
    # 2026-11-01 in New York: at 02:00 EDT the clock shows 01:00 EST, before 01:15.
    quiet = QuietHours.parse("01:15-02:00")
    now = at(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)  # 01:30 EDT, inside
    check_end(impl, quiet, NEW_YORK, now, at(NEW_YORK, 2026, 11, 1, 1, 0, fold=1))


# --------------------------------------------------------------------------- settings-decide

QUIET_SEOUL = Preferences(time_zone="Asia/Seoul", quiet_hours=NIGHT)
LATE_IN_SEOUL = at(SEOUL, 2026, 1, 5, 23, 30)
NOON_IN_SEOUL = at(SEOUL, 2026, 1, 5, 12)


def ask(
    impl: Any,
    prefs: Preferences,
    *,
    channel: Channel = Channel.SMS,
    category: Category = Category.SOCIAL,
    critical: bool = False,
    now: float = NOON_IN_SEOUL,
) -> Any:
    return impl.decide(prefs, channel=channel, category=category, critical=critical, now=now)


@pytest.mark.exercise(
    name="settings-decide",
    points=3,
    hint="critical=True returns SEND before any other rule is looked at",
)
def test_a_critical_notification_is_sent_now_whatever_the_settings(impl: Any) -> None:
    shut = Preferences(
        channels=frozenset(), categories=frozenset(), time_zone="Asia/Seoul", quiet_hours=NIGHT
    )
    got = ask(impl, shut, category=Category.SECURITY, critical=True, now=LATE_IN_SEOUL)
    assert got == Send(), f"a critical notification must be sent now, got {got!r}"


@pytest.mark.exercise(
    name="settings-decide",
    points=3,
    hint="an opted-out channel gives Suppress('opted_out:channel=<value>'), checked before "
    "the category",
)
def test_an_opted_out_channel_is_suppressed_with_the_channel_as_reason(impl: Any) -> None:
    no_sms = Preferences().with_channel(Channel.SMS, False)
    assert ask(impl, no_sms) == Suppress("opted_out:channel=sms")
    assert ask(impl, no_sms, channel=Channel.EMAIL) == Send(), "other channels still send"
    got = ask(impl, no_sms, category=Category.MARKETING)
    assert got == Suppress("opted_out:channel=sms"), f"the channel is checked first: {got!r}"


@pytest.mark.exercise(
    name="settings-decide",
    points=3,
    hint="a category not in prefs.categories gives Suppress('opted_out:category=<value>'); "
    "the defaults leave marketing out",
)
def test_marketing_needs_an_opt_in_and_other_categories_can_be_opted_out(impl: Any) -> None:
    defaults = Preferences()
    assert ask(impl, defaults, category=Category.MARKETING) == Suppress(
        "opted_out:category=marketing"
    )
    opted_in = defaults.with_category(Category.MARKETING, True)
    assert ask(impl, opted_in, category=Category.MARKETING) == Send()
    no_social = defaults.with_category(Category.SOCIAL, False)
    assert ask(impl, no_social) == Suppress("opted_out:category=social")


@pytest.mark.exercise(
    name="settings-decide",
    points=3,
    hint="inside quiet hours return Defer(quiet_window_end(...), "
    "f'quiet_hours:{prefs.quiet_hours} {prefs.time_zone}')",
)
def test_quiet_hours_defer_to_the_end_of_the_window_in_the_users_zone(impl: Any) -> None:
    got = ask(impl, QUIET_SEOUL, now=LATE_IN_SEOUL)
    expected = Defer(at(SEOUL, 2026, 1, 6, 7), "quiet_hours:22:00-07:00 Asia/Seoul")
    assert got == expected, f"got {got!r}, expected {expected!r}"
    assert ask(impl, QUIET_SEOUL, now=NOON_IN_SEOUL) == Send(), "outside quiet hours: send"


@pytest.mark.exercise(
    name="settings-decide",
    points=3,
    hint="an opt-out is a Suppress even inside quiet hours: opt-outs come before quiet hours",
)
def test_an_opt_out_wins_over_quiet_hours(impl: Any) -> None:
    prefs = QUIET_SEOUL.with_channel(Channel.SMS, False)
    got = ask(impl, prefs, now=LATE_IN_SEOUL)
    assert got == Suppress("opted_out:channel=sms"), f"got {got!r}"


@pytest.mark.exercise(
    name="settings-decide",
    points=3,
    hint="a notification the user opted in to is sent or deferred, never suppressed; a "
    "deferral ends after now",
)
@GRADER_SETTINGS
@given(
    zone_name=st.sampled_from(NO_DST_ZONES),
    start=WINDOW_TIMES,
    end=WINDOW_TIMES,
    now=st.integers(int(YEAR_2026[0]), int(YEAR_2026[1])),
    channel=st.sampled_from(list(Channel)),
    category=st.sampled_from([c for c in Category if c is not Category.MARKETING]),
)
def test_quiet_hours_defer_and_never_drop(
    impl: Any,
    zone_name: str,
    start: time,
    end: time,
    now: int,
    channel: Channel,
    category: Category,
) -> None:
    if start == end:
        return
    prefs = Preferences(time_zone=zone_name, quiet_hours=QuietHours(start, end))
    got = ask(impl, prefs, channel=channel, category=category, now=float(now))
    inside = prefs.quiet_hours is not None and prefs.quiet_hours.contains(
        wall(ZoneInfo(zone_name), now)
    )
    if inside:
        assert isinstance(got, Defer) and got.until > now, f"inside quiet hours: got {got!r}"
    else:
        assert got == Send(), f"outside quiet hours: got {got!r}"


BAD_DECIDE_ARGUMENTS: dict[str, dict[str, Any]] = {
    "prefs=None": {"prefs": None},
    "channel='carrier-pigeon'": {"channel": "carrier-pigeon"},
    "channel=None": {"channel": None},
    "category=7": {"category": 7},
    "critical='yes'": {"critical": "yes"},
    "critical=1": {"critical": 1},
    "now=nan": {"now": math.nan},
    "now=inf": {"now": math.inf},
    "now='soon'": {"now": "soon"},
}


@pytest.mark.exercise(
    name="settings-decide",
    points=3,
    hint="validate prefs, channel, category, critical (a bool) and now (finite) first; raise "
    "InvalidArgument",
)
@pytest.mark.parametrize("case", list(BAD_DECIDE_ARGUMENTS))
def test_bad_arguments_are_rejected(impl: Any, case: str) -> None:
    arguments: dict[str, Any] = {
        "prefs": Preferences(),
        "channel": Channel.EMAIL,
        "category": Category.SOCIAL,
        "critical": True,
        "now": NOON_IN_SEOUL,
    }
    assert impl.decide(**arguments) == Send(), "valid arguments must work"
    arguments.update(BAD_DECIDE_ARGUMENTS[case])
    with pytest.raises(InvalidArgument):
        impl.decide(**arguments)
