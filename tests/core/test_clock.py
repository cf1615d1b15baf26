"""FakeClock and SystemClock: time as an injected dependency."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.core.clock import Clock, FakeClock, SystemClock
from reference.core.errors import InvalidArgument


def test_fake_clock_starts_where_told_and_defaults_to_zero() -> None:
    assert FakeClock().now() == 0.0
    assert FakeClock(start=1_700_000_000.25).now() == 1_700_000_000.25
    assert FakeClock(start=1_700_000_000.25).now_ms() == 1_700_000_000_250


def test_fake_clock_moves_only_when_advanced() -> None:
    clock = FakeClock(start=10.0)
    assert clock.now() == clock.now() == 10.0
    clock.advance(2.5)
    assert clock.now() == 12.5
    clock.advance(0)
    assert clock.now() == 12.5


def test_fake_sleep_advances_at_once() -> None:
    clock = FakeClock(start=5.0)
    clock.sleep(3600)
    assert clock.now() == 3605.0


def test_set_to_jumps_anywhere_including_backwards() -> None:
    clock = FakeClock(start=100.0)
    clock.set_to(250.0)
    assert clock.now() == 250.0
    clock.set_to(99.5)
    assert clock.now() == 99.5
    assert clock.now_ms() == 99_500


def test_negative_advance_is_refused_and_points_to_set_to() -> None:
    clock = FakeClock(start=1.0)
    with pytest.raises(InvalidArgument, match=r"seconds=-0\.5 is invalid: .*>= 0.*set_to"):
        clock.advance(-0.5)
    with pytest.raises(InvalidArgument):
        clock.sleep(-1)
    assert clock.now() == 1.0


@pytest.mark.parametrize(
    "bad",
    [math.nan, math.inf, -math.inf, 1e303, pytest.param(10**400, id="int-too-big-for-float")],
)
def test_non_finite_or_overflowing_times_are_refused(bad: float) -> None:
    with pytest.raises(InvalidArgument, match="finite number of seconds"):
        FakeClock(start=bad)
    clock = FakeClock()
    with pytest.raises(InvalidArgument, match="finite"):
        clock.advance(bad)
    with pytest.raises(InvalidArgument, match="finite"):
        clock.set_to(bad)
    assert clock.now() == 0.0


@pytest.mark.parametrize("bad", ["1", None, True, [1]])
def test_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(InvalidArgument, match="a number of seconds"):
        FakeClock(start=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="a number of seconds"):
        FakeClock().advance(bad)  # type: ignore[arg-type]


def test_now_ms_is_exact_where_float_sums_are_not() -> None:
    assert 0.1 + 0.2 != 0.3
    clock = FakeClock()
    clock.advance(0.1)
    clock.advance(0.2)
    assert clock.now_ms() == 300
    assert FakeClock(start=0.1 + 0.2).now_ms() == 300


def test_now_ms_floors_sub_millisecond_time() -> None:
    assert FakeClock(start=1.0009).now_ms() == 1000
    assert FakeClock(start=-0.0005).now_ms() == -1  # floor, not truncation


@settings(max_examples=60)
@given(st.lists(st.integers(min_value=0, max_value=10_000_000), max_size=20))
def test_advancing_by_whole_microseconds_adds_up_exactly(steps_us: list[int]) -> None:
    clock = FakeClock()
    for us in steps_us:
        clock.advance(us / 1_000_000)
    assert clock.now_ms() == sum(steps_us) // 1000


def test_both_clocks_satisfy_the_clock_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FakeClock(), Clock)
    assert not isinstance(object(), Clock)


def test_system_clock_reads_the_wall_clock_in_seconds_and_ms() -> None:
    clock = SystemClock()
    seconds, ms = clock.now(), clock.now_ms()
    assert seconds > 1_600_000_000  # after 2020
    assert abs(ms - seconds * 1000) < 60_000
    assert repr(clock) == "SystemClock()"


def test_fake_clock_repr_shows_the_time() -> None:
    assert repr(FakeClock(start=2.5)) == "FakeClock(now=2.5)"
