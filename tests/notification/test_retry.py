"""Retry decisions: backoff with jitter inside the budget, fallback, stop, dead letter."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.core.errors import InvalidArgument
from reference.notification.model import (
    RETRY_MAX_ATTEMPTS,
    RETRY_TOTAL_BUDGET_S,
    Category,
    Channel,
    Job,
)
from reference.notification.providers import ProviderResult
from reference.notification.retry import (
    Action,
    Alert,
    Alerts,
    RetryPolicy,
    backoff_s,
    decide,
)


def job(channel: Channel = Channel.SMS, **changes: object) -> Job:
    base = Job("n1", "evt-1", "u1", channel, "addr-1", "t", "body", Category.SOCIAL, False,
               accepted_at=0.0)
    return replace(base, **changes)  # type: ignore[arg-type]


def result(outcome: str, code: str, retry_after_s: float = 0.0) -> ProviderResult:
    return ProviderResult(outcome, code, retry_after_s, 0.1, "p0")  # type: ignore[arg-type]


TIMEOUT = result("transient", "timeout")
SERVER_ERROR = result("transient", "server_error")


def test_default_policy_is_eight_attempts_whose_worst_case_fits_thirty_minutes() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == RETRY_MAX_ATTEMPTS == 8
    assert policy.worst_case_total_s() <= RETRY_TOTAL_BUDGET_S == 1800
    assert [policy.upper_bound_s(k) for k in range(1, 8)] == [15, 30, 60, 120, 240, 480, 600]


def test_a_policy_whose_schedule_cannot_fit_the_budget_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="fits budget_s"):
        RetryPolicy(base_s=60.0, cap_s=3600.0)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_s": -1.0}, {"cap_s": 1.0, "base_s": 2.0}, {"jitter": "wild"},
     {"fallback_after": True}, {"budget_s": float("inf")}],
)
def test_bad_policy_settings_are_invalid(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), attempt=st.integers(1, 7),
       jitter=st.sampled_from(["full", "equal", "none"]))
def test_backoff_stays_within_its_exponential_bound(seed: int, attempt: int, jitter: str) -> None:
    policy = RetryPolicy(jitter=jitter)  # type: ignore[arg-type]
    bound = policy.upper_bound_s(attempt)
    wait = backoff_s(attempt, policy, random.Random(seed))
    low = {"full": 0.0, "equal": bound / 2, "none": bound}[jitter]
    assert low <= wait <= bound


def test_full_jitter_spreads_a_burst_of_retries() -> None:
    rng = random.Random(5)
    waits = [backoff_s(4, RetryPolicy(), rng) for _ in range(200)]
    assert max(waits) - min(waits) > 0.8 * RetryPolicy().upper_bound_s(4)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_job_failing_every_time_is_dead_lettered_after_eight_attempts_within_budget(
    seed: int,
) -> None:
    rng = random.Random(seed)
    policy = RetryPolicy()
    current, now, attempts = job(channel=Channel.EMAIL), 0.0, 0
    while True:
        attempts += 1
        step = decide(current, SERVER_ERROR, policy, rng, now=now, providers=1)
        if step.action is not Action.RETRY:
            break
        assert step.at is not None and step.at >= now
        now = step.at
        current = replace(current, attempt=step.attempt, provider_index=step.provider_index)
    assert step.action is Action.DEAD_LETTER
    assert attempts == 8
    assert now <= RETRY_TOTAL_BUDGET_S
    assert "out of attempts (8)" in step.reason


def test_accepted_is_done() -> None:
    step = decide(job(), result("accepted", "ok"), RetryPolicy(), random.Random(0), now=1.0)
    assert step.action is Action.DONE and step.at is None


def test_a_transient_error_retries_with_attempt_plus_one() -> None:
    step = decide(job(attempt=3), SERVER_ERROR, RetryPolicy(), random.Random(0), now=100.0)
    assert step.action is Action.RETRY
    assert step.attempt == 4 and step.provider_index == 0
    assert step.at is not None and 100.0 <= step.at <= 160.0


def test_a_larger_retry_after_from_the_provider_is_honoured() -> None:
    throttled = result("transient", "throttled", retry_after_s=500.0)
    step = decide(job(), throttled, RetryPolicy(), random.Random(0), now=10.0)
    assert step.action is Action.RETRY and step.at == 510.0


def test_a_smaller_retry_after_does_not_shorten_the_backoff() -> None:
    throttled = result("transient", "throttled", retry_after_s=0.001)
    policy = RetryPolicy(jitter="none")
    step = decide(job(attempt=2), throttled, policy, random.Random(0), now=0.0)
    assert step.at == 30.0


def test_after_n_consecutive_transient_failures_the_next_provider_is_tried_at_once() -> None:
    policy = RetryPolicy(fallback_after=2)
    first = decide(job(attempt=1), SERVER_ERROR, policy, random.Random(0), now=5.0, providers=2)
    assert first.action is Action.RETRY
    second = decide(job(attempt=2), SERVER_ERROR, policy, random.Random(0), now=50.0, providers=2)
    assert second.action is Action.FALLBACK
    assert (second.at, second.attempt, second.provider_index) == (50.0, 3, 1)


def test_the_last_provider_keeps_the_remaining_attempts() -> None:
    policy = RetryPolicy(fallback_after=2)
    for attempt in range(3, 8):
        step = decide(job(attempt=attempt, provider_index=1), SERVER_ERROR, policy,
                      random.Random(0), now=0.0, providers=2)
        assert step.action is Action.RETRY and step.provider_index == 1


def test_a_single_provider_chain_never_falls_back() -> None:
    step = decide(job(attempt=2), SERVER_ERROR, RetryPolicy(), random.Random(0), now=0.0,
                  providers=1)
    assert step.action is Action.RETRY


def test_a_timeout_never_triggers_fallback_because_it_may_have_been_delivered() -> None:
    step = decide(job(attempt=2), TIMEOUT, RetryPolicy(fallback_after=2), random.Random(0),
                  now=0.0, providers=2)
    assert step.action is Action.RETRY and step.provider_index == 0
    # the worker marks the job ambiguous after a timeout: later errors do not fall back either
    in_doubt = decide(job(attempt=3, ambiguous=True), SERVER_ERROR,
                      RetryPolicy(fallback_after=2), random.Random(0), now=0.0, providers=2)
    assert in_doubt.action is Action.RETRY and in_doubt.provider_index == 0
    # the same error on a job never in doubt does fall back (the contrast)
    settled = decide(job(attempt=3), SERVER_ERROR, RetryPolicy(fallback_after=2),
                     random.Random(0), now=0.0, providers=2)
    assert settled.action is Action.FALLBACK


def test_dead_letter_after_a_timeout_says_it_is_ambiguous() -> None:
    step = decide(job(attempt=8), TIMEOUT, RetryPolicy(), random.Random(0), now=0.0)
    assert step.action is Action.DEAD_LETTER and "ambiguous" in step.reason


@pytest.mark.parametrize("channel", [Channel.IOS_PUSH, Channel.ANDROID_PUSH])
def test_an_unregistered_push_token_stops_and_asks_to_remove_the_token(channel: Channel) -> None:
    step = decide(job(channel=channel), result("permanent", "unregistered_token"),
                  RetryPolicy(), random.Random(0), now=0.0)
    assert step.action is Action.STOP and step.remove_address


def test_an_invalid_email_address_stops_without_touching_device_tokens() -> None:
    step = decide(job(channel=Channel.EMAIL), result("permanent", "invalid_address"),
                  RetryPolicy(), random.Random(0), now=0.0)
    assert step.action is Action.STOP and not step.remove_address


def test_a_payload_too_large_is_dead_lettered_for_a_developer() -> None:
    step = decide(job(), result("permanent", "payload_too_large"), RetryPolicy(),
                  random.Random(0), now=0.0)
    assert step.action is Action.DEAD_LETTER and "permanent" in step.reason


def test_the_same_rng_state_gives_the_same_decision() -> None:
    a = decide(job(attempt=4), SERVER_ERROR, RetryPolicy(), random.Random(9), now=0.0)
    b = decide(job(attempt=4), SERVER_ERROR, RetryPolicy(), random.Random(9), now=0.0)
    assert a == b


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"now": float("nan")}, "now="), ({"now": 0.0, "providers": 0}, "providers=")],
)
def test_bad_decide_arguments_are_invalid(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        decide(job(), SERVER_ERROR, RetryPolicy(), random.Random(0), **kwargs)  # type: ignore[arg-type]


def test_an_unknown_outcome_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="outcome"):
        decide(job(), result("maybe", "x"), RetryPolicy(), random.Random(0), now=0.0)


def test_backoff_rejects_attempt_zero() -> None:
    with pytest.raises(InvalidArgument, match="attempt"):
        backoff_s(0, RetryPolicy(), random.Random(0))


def test_alerts_sink_records_every_alert_in_order() -> None:
    sink = Alerts()
    sink.raise_alert(Alert(1.0, Channel.SMS, "n1", "first"))
    sink.raise_alert(Alert(2.0, Channel.SMS, "n2", "second"))
    assert [a.reason for a in sink.alerts] == ["first", "second"]
    with pytest.raises(InvalidArgument):
        sink.raise_alert("boom")  # type: ignore[arg-type]


# ── time is a bound too: a retry_after longer than the budget left is not waited out ─────

HOUR_THROTTLE = result("transient", "throttled", retry_after_s=3600.0)


def test_a_wait_past_the_time_budget_falls_back_to_the_next_provider_at_once() -> None:
    step = decide(job(attempt=1, first_attempt_at=0.0), HOUR_THROTTLE, RetryPolicy(),
                  random.Random(0), now=10.0, providers=2)
    assert (step.action, step.at, step.provider_index, step.attempt) == (
        Action.FALLBACK, 10.0, 1, 2)
    assert "would pass the retry budget (1800 s from the first attempt)" in step.reason


def test_a_wait_past_the_time_budget_with_no_provider_left_dead_letters_with_the_reason() -> None:
    step = decide(job(attempt=3, provider_index=1, first_attempt_at=0.0), HOUR_THROTTLE,
                  RetryPolicy(), random.Random(0), now=400.0, providers=2)
    assert step.action is Action.DEAD_LETTER and step.at is None
    assert "a wait of 3600.000 s would pass the retry budget" in step.reason


def test_an_ambiguous_job_over_budget_dead_letters_on_its_provider_and_says_so() -> None:
    step = decide(job(attempt=2, ambiguous=True, first_attempt_at=0.0), HOUR_THROTTLE,
                  RetryPolicy(), random.Random(0), now=5.0, providers=2)
    assert step.action is Action.DEAD_LETTER
    assert step.reason.endswith("(ambiguous: may have been delivered)")


def test_a_wait_that_ends_inside_the_budget_is_still_a_retry() -> None:
    throttled = result("transient", "throttled", retry_after_s=1000.0)
    step = decide(job(attempt=1, first_attempt_at=0.0), throttled, RetryPolicy(),
                  random.Random(0), now=700.0, providers=1)
    assert step.action is Action.RETRY and step.at == 1700.0


def test_the_budget_counts_from_the_first_attempt_not_from_acceptance() -> None:
    """A quiet-hours job accepted at night is first tried in the morning: its budget starts
    then (a deferral is no retry)."""
    throttled = result("transient", "throttled", retry_after_s=1000.0)
    step = decide(job(attempt=1, accepted_at=0.0, first_attempt_at=30_000.0), throttled,
                  RetryPolicy(), random.Random(0), now=30_000.0, providers=1)
    assert step.action is Action.RETRY
