"""The error hierarchy: typed, catchable as the builtin it resembles, and saying what to do."""

from __future__ import annotations

import pytest

from reference.core.errors import (
    BackendError,
    ClockMovedBackwards,
    Conflict,
    InvalidArgument,
    LabError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
)


def test_bad_value_names_the_argument_the_value_and_what_was_expected() -> None:
    err = InvalidArgument.bad_value("worker_id", 40, "an integer in 0..31")
    assert str(err) == "worker_id=40 is invalid: expected an integer in 0..31"


def test_bad_value_shows_strings_quoted_so_empty_and_blank_values_are_visible() -> None:
    assert str(InvalidArgument.bad_value("name", "", "a non-empty string")) == (
        "name='' is invalid: expected a non-empty string"
    )


def test_invalid_argument_is_a_value_error_and_a_lab_error() -> None:
    err = InvalidArgument("x")
    assert isinstance(err, ValueError)
    assert isinstance(err, LabError)
    with pytest.raises(ValueError):
        raise InvalidArgument.bad_value("n", -1, "n >= 0")


def test_not_found_is_a_lookup_error_and_names_kind_key_and_hint() -> None:
    err = NotFound("template", "welcome", hint="register it first")
    assert isinstance(err, LookupError)
    assert isinstance(err, LabError)
    assert str(err) == "template 'welcome' not found: register it first"
    assert (err.kind, err.key) == ("template", "welcome")
    assert str(NotFound("user", 42)) == "user 42 not found"


def test_payload_too_large_reports_size_and_limit_and_is_an_invalid_argument() -> None:
    err = PayloadTooLarge("APNs payload", 5000, 4096)
    assert str(err) == "APNs payload is 5000 bytes: expected at most 4096 bytes"
    assert (err.size_bytes, err.limit_bytes) == (5000, 4096)
    assert isinstance(err, InvalidArgument)
    assert isinstance(err, ValueError)


def test_rate_limited_says_when_to_retry() -> None:
    err = RateLimited("5 requests per second", retry_after_s=0.25)
    assert str(err) == "5 requests per second (retry after 0.250 s)"
    assert err.retry_after_s == 0.25


def test_clock_moved_backwards_says_by_how_much_and_how_to_proceed() -> None:
    err = ClockMovedBackwards(last_ms=10_000, now_ms=9_950)
    message = str(err)
    assert "backwards by 50 ms" in message
    assert "10000 ms" in message
    assert "9950 ms" in message
    assert "on_clock_rollback='wait'" in message
    assert (err.last_ms, err.now_ms) == (10_000, 9_950)


@pytest.mark.parametrize(
    "error_type", [Conflict, Unauthorized, BackendError, ClockMovedBackwards, RateLimited]
)
def test_every_error_is_a_lab_error(error_type: type[Exception]) -> None:
    assert issubclass(error_type, LabError)
