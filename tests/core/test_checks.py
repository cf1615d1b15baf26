"""The shared argument checks: what they accept, what they refuse, and the exact messages."""

from __future__ import annotations

import math

import pytest

from reference.core.checks import (
    check_int,
    check_positive_seconds,
    check_probability,
    check_time,
    is_finite,
)
from reference.core.errors import InvalidArgument


@pytest.mark.parametrize("value", [True, False, math.inf, -math.inf, math.nan, "1", None])
def test_is_finite_refuses_bools_infinities_nan_and_non_numbers(value: object) -> None:
    assert not is_finite(value)


@pytest.mark.parametrize("value", [0, -3, 2.5, 1_700_000_000])
def test_is_finite_accepts_finite_ints_and_floats(value: object) -> None:
    assert is_finite(value)


def test_check_time_returns_a_float_and_accepts_negative_times() -> None:
    assert check_time("at", -5) == -5.0
    assert isinstance(check_time("at", 7), float)


@pytest.mark.parametrize("value", [True, math.nan, math.inf, "0"])
def test_check_time_refuses_non_finite_values_with_the_standard_message(value: object) -> None:
    with pytest.raises(InvalidArgument) as err:
        check_time("now", value)
    assert str(err.value) == f"now={value!r} is invalid: expected a finite time in seconds"


@pytest.mark.parametrize("value", [0, -1, math.inf, math.nan, True])
def test_check_positive_seconds_refuses_zero_negative_and_non_finite(value: object) -> None:
    with pytest.raises(InvalidArgument, match=r"expected a finite number > 0$"):
        check_positive_seconds("window_s", value)


def test_check_positive_seconds_uses_the_callers_expected_text() -> None:
    with pytest.raises(InvalidArgument, match=r"^replay_window_s=0 is invalid: expected seconds"):
        check_positive_seconds("replay_window_s", 0, expected="seconds > 0")
    assert check_positive_seconds("tick_s", 1) == 1.0


@pytest.mark.parametrize("value", [0, 1, 0.5])
def test_check_probability_accepts_both_ends_of_the_unit_interval(value: float) -> None:
    assert check_probability("p", value) == float(value)


@pytest.mark.parametrize("value", [-0.1, 1.01, math.nan, math.inf, True, 10**400])
def test_check_probability_refuses_values_outside_zero_one(value: object) -> None:
    with pytest.raises(InvalidArgument, match=r"expected a probability in \[0, 1\]$"):
        check_probability("drop_rate", value)


def test_check_int_states_the_lower_bound_or_the_range_it_expected() -> None:
    with pytest.raises(InvalidArgument, match=r"^nth=0 is invalid: expected an integer >= 1$"):
        check_int("nth", 0, 1)
    with pytest.raises(InvalidArgument, match=r"^w=32 is invalid: expected an integer in 0\.\.31$"):
        check_int("w", 32, 0, 31)
    assert check_int("w", 31, 0, 31) == 31


@pytest.mark.parametrize("value", [True, 1.0, "1", None])
def test_check_int_refuses_bools_floats_and_strings(value: object) -> None:
    with pytest.raises(InvalidArgument, match=r"expected an int >= 0$"):
        check_int("count", value, 0, expected="an int >= 0")


def test_an_int_too_large_for_a_float_is_refused_with_a_typed_error_not_an_overflow() -> None:
    from reference.core.checks import check_positive_seconds, check_time, is_finite
    from reference.core.errors import InvalidArgument

    assert not is_finite(10**400) and not is_finite(-(10**400))
    for check in (check_time, check_positive_seconds):
        try:
            check("tick_s", 10**400)
        except InvalidArgument as error:
            assert "tick_s=" in str(error)
        else:
            raise AssertionError(f"{check.__name__} accepted 10**400")
