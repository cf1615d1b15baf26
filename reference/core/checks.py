"""Argument checks shared by every module, so the same bad input fails the same way everywhere.

Each ``check_*`` returns the checked value and otherwise raises
:class:`~reference.core.errors.InvalidArgument` with the standard
``name=got is invalid: expected ...`` message. ``bool`` is refused wherever a number is
expected (``True`` is an ``int`` to Python, but never a sensible count or time). A caller
whose message says more than the default passes its own ``expected=`` text.

Examples
--------
>>> check_time("now", 1_700_000_000)
1700000000.0
>>> check_positive_seconds("window_s", 0)
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: window_s=0 is invalid: expected a finite number > 0
>>> check_probability("drop_rate", 0.25)
0.25
>>> check_int("worker_id", 40, 0, 31)
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: worker_id=40 is invalid: expected an integer in 0..31
"""

from __future__ import annotations

import math
from typing import TypeGuard

from reference.core.errors import InvalidArgument

__all__ = [
    "check_int",
    "check_positive_seconds",
    "check_probability",
    "check_time",
    "is_finite",
]


def is_finite(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` is a finite real number (an int or float, not a bool, not inf/NaN).

    Parameters
    ----------
    value : object
        Anything.

    Returns
    -------
    bool
        True for finite ints and floats; False for bools, inf, NaN and non-numbers.

    Notes
    -----
    O(1). An int too large for a float (``10**400``) is not finite here: no time, duration or
    rate the lab takes could use it, and refusing it keeps ``OverflowError`` from escaping.

    Examples
    --------
    >>> is_finite(3), is_finite(0.5), is_finite(True), is_finite(float("nan")), is_finite("1")
    (True, True, False, False, False)
    >>> is_finite(10**400)
    False
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond a double's range
        return False


def check_time(name: str, value: object, expected: str = "a finite time in seconds") -> float:
    """A point in time: a finite number of seconds (any sign), returned as a float.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value to check.
    expected : str
        What the message says was expected.

    Returns
    -------
    float
        ``value`` as a float.

    Raises
    ------
    InvalidArgument
        If ``value`` is not a finite int or float (bools are refused).

    Examples
    --------
    >>> check_time("at", 12)
    12.0
    >>> check_time("now", float("inf"))
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: now=inf is invalid: expected a finite time in seconds
    """
    if type(value) is float and math.isfinite(value):  # the common case, decided at once
        return value
    if not is_finite(value):
        raise InvalidArgument.bad_value(name, value, expected)
    return float(value)


def check_positive_seconds(
    name: str, value: object, expected: str = "a finite number > 0"
) -> float:
    """A duration that must be strictly positive: a finite number of seconds > 0.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value to check.
    expected : str
        What the message says was expected.

    Returns
    -------
    float
        ``value`` as a float.

    Raises
    ------
    InvalidArgument
        If ``value`` is not a finite int or float above zero (bools are refused).

    Notes
    -----
    A window or timeout of zero would divide by zero or expire everything at once, so zero
    is refused along with negative values.

    Examples
    --------
    >>> check_positive_seconds("window_s", 60)
    60.0
    >>> check_positive_seconds("tick_s", -1, expected="a finite number of seconds > 0")
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: tick_s=-1 is invalid: expected a finite number of ...
    """
    if not is_finite(value) or value <= 0:
        raise InvalidArgument.bad_value(name, value, expected)
    return float(value)


def check_probability(
    name: str, value: object, expected: str = "a probability in [0, 1]"
) -> float:
    """A probability: a number in ``[0, 1]`` (NaN and bools refused), returned as a float.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value to check.
    expected : str
        What the message says was expected.

    Returns
    -------
    float
        ``value`` as a float.

    Raises
    ------
    InvalidArgument
        If ``value`` is not an int or float in ``[0, 1]``.

    Examples
    --------
    >>> check_probability("crash_rate", 1)
    1.0
    >>> check_probability("drop_rate", 1.5)
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: drop_rate=1.5 is invalid: expected a probability ...
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 <= value <= 1  # False for NaN
    ):
        raise InvalidArgument.bad_value(name, value, expected)
    return float(value)


def check_int(
    name: str, value: object, low: int, high: int | None = None, *, expected: str | None = None
) -> int:
    """An int (not a bool) in ``low..high``, or ``>= low`` when ``high`` is None.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value to check.
    low : int
        The smallest value allowed.
    high : int or None
        The largest value allowed (inclusive), or None for no upper limit.
    expected : str or None
        What the message says was expected; by default ``"an integer >= {low}"`` or
        ``"an integer in {low}..{high}"``.

    Returns
    -------
    int
        ``value`` unchanged.

    Raises
    ------
    InvalidArgument
        If ``value`` is not an int, is a bool, or is out of range.

    Examples
    --------
    >>> check_int("max_attempts", 5, 1)
    5
    >>> check_int("nth", 0, 1)
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: nth=0 is invalid: expected an integer >= 1
    >>> check_int("limit", True, 1, expected="an int >= 1")
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: limit=True is invalid: expected an int >= 1
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        if expected is None:
            expected = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"
        raise InvalidArgument.bad_value(name, value, expected)
    return value
