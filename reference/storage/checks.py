"""Argument checks shared by every backend, so bad input fails the same way everywhere.

Each check raises :class:`~reference.core.errors.InvalidArgument` with the standard
``name=got is invalid: expected ...`` message and returns the checked value. Backends call
them *before* touching their data, so a rejected call has written nothing.

Examples
--------
>>> check_score("score", 3)
3.0
>>> check_score("score", 2**60)
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: score=1152921504606846976 is invalid: expected a finite ...
>>> check_name("queue", "notify.ios")
'notify.ios'
>>> check_id("id", 2**63)
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: id=9223372036854775808 is invalid: expected an int id in ...
>>> check_key_list("keys", "feed:{1}")
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: keys='feed:{1}' is invalid: expected a list or tuple of ...
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

from reference.core import checks as core_checks
from reference.core.errors import InvalidArgument
from reference.storage.ports import MAX_EXACT_SCORE

__all__ = [
    "ID_LIMIT",
    "INT64_MAX",
    "INT64_MIN",
    "check_bound",
    "check_count",
    "check_id",
    "check_ids",
    "check_int",
    "check_key",
    "check_key_list",
    "check_keys",
    "check_name",
    "check_namespace",
    "check_score",
    "check_seconds",
    "check_str",
    "check_str_mapping",
    "check_value_mapping",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1  # Redis counters are signed 64-bit integers
ID_LIMIT = 2**63  # ids of an IdTimeline: 0 <= id < 2**63, as a Snowflake id (a signed int64)

_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]+")


def check_str(name: str, value: object) -> str:
    """Any string (values, message bodies, members, fields)."""
    if not isinstance(value, str):
        raise InvalidArgument.bad_value(name, value, "a str")
    return value


def check_key(name: str, value: object) -> str:
    """A non-empty string key."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument.bad_value(name, value, "a non-empty str")
    return value


def check_keys(name: str, values: tuple[object, ...]) -> tuple[str, ...]:
    """Several keys (for ``delete``)."""
    return tuple(check_key(name, value) for value in values)


def check_key_list(name: str, values: object) -> list[str]:
    """Keys of a many-key call: a list or tuple of non-empty strings (maybe empty).

    A bare ``str`` is refused: it is a sequence of one-letter keys to Python, never what a
    caller meant.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidArgument.bad_value(name, values, "a list or tuple of keys (not a str)")
    return [check_key(name, value) for value in values]


def check_id(name: str, value: object) -> int:
    """An id of an :class:`~reference.storage.ports.IdTimeline`: an int in 0..2**63-1."""
    if type(value) is int and 0 <= value < ID_LIMIT:
        return value
    return int(core_checks.check_int(name, value, 0, ID_LIMIT - 1,
                                     expected="an int id in 0..2**63-1"))


def check_ids(name: str, values: object) -> list[int]:
    """Several ids (any iterable but a str), each as :func:`check_id`; maybe none."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidArgument.bad_value(name, values, "an iterable of int ids")
    return [check_id(name, value) for value in values]


def check_name(name: str, value: object) -> str:
    """A queue, group or consumer name: non-empty, no braces (they would break hash tags)."""
    if not isinstance(value, str) or not value or "{" in value or "}" in value:
        raise InvalidArgument.bad_value(name, value, "a non-empty str without '{' or '}'")
    return value


def check_namespace(value: object) -> str:
    """A key prefix: letters, digits and ``_ . -`` (no colon, glob or hash-tag characters)."""
    if not isinstance(value, str) or not _NAMESPACE.fullmatch(value):
        raise InvalidArgument.bad_value(
            "namespace", value, "a non-empty str of letters, digits and _ . -"
        )
    return value


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """An int (not a bool) in ``low..high`` (no upper limit if ``high`` is None)."""
    if type(value) is int and low <= value and (high is None or value <= high):
        return value  # the common case, without building the message below
    expected = f"an int >= {low}" if high is None else f"an int in {low}..{high}"
    return core_checks.check_int(name, value, low, high, expected=expected)


def check_count(name: str, value: object, low: int) -> int:
    """A limit or a length: an int from ``low`` to 2**63-2 (Redis reads it as a signed
    64-bit integer, and a trim adds one to it)."""
    return check_int(name, value, low, INT64_MAX - 1)


def _finite(value: int | float) -> bool:
    """``math.isfinite`` that answers False, not OverflowError, for an int beyond a double."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_score(name: str, value: object) -> float:
    """A score to store: a finite number within +-2**53, where doubles are exact."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument.bad_value(name, value, "a number")
    if not (_finite(value) and -MAX_EXACT_SCORE <= value <= MAX_EXACT_SCORE):
        raise InvalidArgument.bad_value(
            name, value, f"a finite number within +-2**53 (+-{MAX_EXACT_SCORE})"
        )
    return float(value)


def check_seconds(name: str, value: object) -> float:
    """A duration: a finite number of seconds >= 0."""
    if not core_checks.is_finite(value) or value < 0:
        raise InvalidArgument.bad_value(name, value, "a finite number of seconds >= 0")
    return float(value)


def check_bound(name: str, value: object) -> float:
    """A range bound: any number, ``-inf`` and ``inf`` included, but not NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise InvalidArgument.bad_value(name, value, "a number or +-inf (not NaN)")
    if isinstance(value, int) and not _finite(value):
        raise InvalidArgument.bad_value(name, value, "a number a double can hold")
    return float(value)


def check_window_add(score: object, window: object, limit: object) -> tuple[float, float, int]:
    """The arguments of ``Timeline.add_within_limit``, checked alike on every backend."""
    if isinstance(window, bool) or not isinstance(window, (int, float)) or not (
            _finite(window) and 0 < window <= MAX_EXACT_SCORE):
        raise InvalidArgument.bad_value("window", window, "a finite number > 0")
    return check_score("score", score), float(window), check_int("limit", limit, 1)


def check_str_mapping(name: str, mapping: object) -> dict[str, str]:
    """A non-empty mapping of str to str (hash fields)."""
    if not isinstance(mapping, Mapping) or not mapping:
        raise InvalidArgument.bad_value(name, mapping, "a non-empty mapping of str to str")
    for field, value in mapping.items():
        if not isinstance(field, str) or not isinstance(value, str):
            raise InvalidArgument.bad_value(
                name, mapping, f"a mapping of str to str (field {field!r} -> {value!r})"
            )
    return dict(mapping)


def check_value_mapping(name: str, mapping: object) -> dict[str, str]:
    """Keys to string values (``KeyValue.set_many``): maybe empty; keys non-empty."""
    if not isinstance(mapping, Mapping):
        raise InvalidArgument.bad_value(name, mapping, "a mapping of keys to str values")
    for key, value in mapping.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise InvalidArgument.bad_value(
                name, mapping, f"a mapping of non-empty str keys to str (got {key!r} -> {value!r})"
            )
    return dict(mapping)
