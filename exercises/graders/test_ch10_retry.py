"""Graders for exercises/ch10_retry.py: the worker's decision after one send.

Each test reaches the code under test only through ``impl``. The backoff is the reference's
``backoff_s`` (vocabulary here, its own exercise in ``ch10_backoff``), so a RETRY's time is
checked exactly: the grader replays the same seed through ``backoff_s`` and also checks that
the decision drew from the rng exactly once, and that no other decision drew at all.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.graders.support import GRADER_SETTINGS
from reference.core.errors import InvalidArgument
from reference.notification.model import (
    RETRY_MAX_ATTEMPTS,
    RETRY_TOTAL_BUDGET_S,
    Category,
    Channel,
    Job,
)
from reference.notification.providers import ProviderResult
from reference.notification.retry import Action, RetryDecision, RetryPolicy, backoff_s

SOLUTION = {"decide": "reference.notification.retry:decide"}

NOW = 1_000.0
POLICY = RetryPolicy()
PUSH = [Channel.IOS_PUSH, Channel.ANDROID_PUSH]
NOT_PUSH = [Channel.SMS, Channel.EMAIL]


def job(
    channel: Channel = Channel.SMS,
    *,
    attempt: int = 1,
    provider_index: int = 0,
    ambiguous: bool = False,
) -> Job:
    base = Job(
        "n1", "evt-1", "u1", channel, "addr-1", "Hi", "body", Category.SOCIAL, False,
        accepted_at=0.0,
    )
    return replace(base, attempt=attempt, provider_index=provider_index, ambiguous=ambiguous)


def answer(outcome: str, code: str, retry_after_s: float = 0.0) -> ProviderResult:
    return ProviderResult(outcome, code, retry_after_s, 0.1, "p0")  # type: ignore[arg-type]


SERVER_ERROR = answer("transient", "server_error")
TIMEOUT = answer("transient", "timeout")


def ask(
    impl: Any,
    sent: Job,
    result: ProviderResult,
    *,
    policy: RetryPolicy = POLICY,
    seed: int = 0,
    providers: int = 1,
    retry: bool = False,
) -> Any:
    """Call decide with ``random.Random(seed)`` and return its decision.

    Checks the rng afterwards: a RETRY (``retry=True``) must have drawn exactly what one
    ``backoff_s(sent.attempt, policy, rng)`` draws, any other decision nothing.
    """
    rng, twin = random.Random(seed), random.Random(seed)
    if retry:
        backoff_s(sent.attempt, policy, twin)
    got = impl.decide(sent, result, policy, rng, now=NOW, providers=providers)
    assert isinstance(got, RetryDecision), (
        f"decide must return reference.notification.retry.RetryDecision, got {got!r}"
    )
    assert isinstance(got.reason, str) and got.reason, "every decision needs a reason"
    assert rng.getstate() == twin.getstate(), (
        f"{got.action}: only a RETRY draws from rng, exactly once, through backoff_s"
        if retry
        else f"{got.action}: decide must not draw from rng unless it retries"
    )
    return got


def expect(
    got: Any, action: Action, at: float | None, attempt: int, index: int, remove: bool = False
) -> None:
    shape = (got.action, got.at, got.attempt, got.provider_index, got.remove_address)
    wanted = (action, at, attempt, index, remove)
    assert shape == wanted, (
        f"(action, at, attempt, provider_index, remove_address) = {shape}, expected {wanted}"
    )


# ----------------------------------------------------------------------------- retry-outcomes


@pytest.mark.exercise(
    name="retry-outcomes",
    points=2,
    hint="an accepted answer (ok or duplicate) is DONE with at=None and the job's attempt "
    "and provider_index unchanged",
)
@pytest.mark.parametrize("code", ["ok", "duplicate"])
def test_an_accepted_answer_is_done(impl: Any, code: str) -> None:
    got = ask(impl, job(attempt=3, provider_index=1), answer("accepted", code), providers=2)
    expect(got, Action.DONE, None, 3, 1)


@pytest.mark.exercise(
    name="retry-outcomes",
    points=2,
    hint="a permanent address error STOPs; remove_address=True only for a push channel",
)
@pytest.mark.parametrize("channel", PUSH + NOT_PUSH, ids=str)
def test_a_dead_address_stops_and_only_a_push_token_is_removed(
    impl: Any, channel: Channel
) -> None:
    code = "unregistered_token" if channel in PUSH else "invalid_address"
    got = ask(impl, job(channel, attempt=2), answer("permanent", code))
    expect(got, Action.STOP, None, 2, 0, remove=channel in PUSH)


@pytest.mark.exercise(
    name="retry-outcomes",
    points=2,
    hint="a permanent error that is not about the address is a DEAD_LETTER (a developer "
    "must look), never a retry",
)
@pytest.mark.parametrize("channel", PUSH + NOT_PUSH, ids=str)
def test_a_payload_too_large_is_dead_lettered_for_a_developer(
    impl: Any, channel: Channel
) -> None:
    got = ask(impl, job(channel), answer("permanent", "payload_too_large"), providers=2)
    expect(got, Action.DEAD_LETTER, None, 1, 0)


# ------------------------------------------------------------------------------ retry-backoff


@pytest.mark.exercise(
    name="retry-backoff",
    points=2,
    hint="RETRY at now + backoff_s(job.attempt, policy, rng), with attempt + 1 and the same "
    "provider_index",
)
@GRADER_SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    attempt=st.integers(1, RETRY_MAX_ATTEMPTS - 1),
    code=st.sampled_from(["timeout", "server_error", "throttled", "unavailable"]),
    jitter=st.sampled_from(["full", "equal", "none"]),
)
def test_a_transient_error_retries_after_the_jittered_backoff(
    impl: Any, seed: int, attempt: int, code: str, jitter: str
) -> None:
    policy = RetryPolicy(jitter=jitter)  # type: ignore[arg-type]
    wait = backoff_s(attempt, policy, random.Random(seed))
    got = ask(
        impl, job(attempt=attempt), answer("transient", code), policy=policy, seed=seed, retry=True
    )
    expect(got, Action.RETRY, NOW + wait, attempt + 1, 0)


@pytest.mark.exercise(
    name="retry-backoff",
    points=2,
    hint="wait max(backoff, result.retry_after_s): a provider's 429 hint is honoured",
)
def test_a_longer_retry_after_from_the_provider_is_honoured(impl: Any) -> None:
    throttled = answer("transient", "throttled", retry_after_s=500.0)
    got = ask(impl, job(), throttled, seed=3, retry=True)
    expect(got, Action.RETRY, NOW + 500.0, 2, 0)


@pytest.mark.exercise(
    name="retry-backoff",
    points=2,
    hint="a shorter retry_after_s does not shorten the backoff: take the max",
)
def test_a_shorter_retry_after_does_not_shorten_the_backoff(impl: Any) -> None:
    policy = RetryPolicy(jitter="none")
    throttled = answer("transient", "throttled", retry_after_s=1.0)
    got = ask(impl, job(attempt=3), throttled, policy=policy, retry=True)
    expect(got, Action.RETRY, NOW + 60.0, 4, 0)


# ----------------------------------------------------------------------------- retry-fallback


@pytest.mark.exercise(
    name="retry-fallback",
    points=3,
    hint="after fallback_after failures in a row on one provider, FALLBACK at now to "
    "provider_index + 1 with attempt + 1, drawing nothing",
)
def test_after_n_failures_in_a_row_the_next_provider_is_tried_at_once(impl: Any) -> None:
    first = ask(impl, job(attempt=1), SERVER_ERROR, providers=2, retry=True)
    expect(first, Action.RETRY, first.at, 2, 0)
    second = ask(impl, job(attempt=2), SERVER_ERROR, providers=2)
    expect(second, Action.FALLBACK, NOW, 3, 1)


@pytest.mark.exercise(
    name="retry-fallback",
    points=3,
    hint="provider p owns attempts p*N+1 .. (p+1)*N; count failures in a row as "
    "attempt - provider_index * N",
)
def test_each_provider_of_a_three_provider_chain_gets_n_attempts(impl: Any) -> None:
    policy = RetryPolicy(fallback_after=3)
    plan = {(1, 0): 0, (2, 0): 0, (3, 0): 1, (4, 1): 1, (5, 1): 1, (6, 1): 2}
    for (attempt, index), next_index in plan.items():
        falls_back = next_index != index
        got = ask(
            impl, job(attempt=attempt, provider_index=index), SERVER_ERROR, policy=policy,
            providers=3, retry=not falls_back,
        )
        action = Action.FALLBACK if falls_back else Action.RETRY
        at = NOW if falls_back else got.at
        expect(got, action, at, attempt + 1, next_index)


@pytest.mark.exercise(
    name="retry-fallback",
    points=3,
    hint="the last provider of the chain keeps all the remaining attempts: RETRY, same index",
)
@pytest.mark.parametrize("attempt", [4, 5, 7])
def test_the_last_provider_keeps_the_remaining_attempts(impl: Any, attempt: int) -> None:
    got = ask(impl, job(attempt=attempt, provider_index=1), SERVER_ERROR, providers=2, retry=True)
    expect(got, Action.RETRY, got.at, attempt + 1, 1)


@pytest.mark.exercise(
    name="retry-fallback",
    points=3,
    hint="a chain of one provider (push) never falls back",
)
def test_a_single_provider_chain_never_falls_back(impl: Any) -> None:
    for attempt in range(1, RETRY_MAX_ATTEMPTS):
        got = ask(impl, job(Channel.IOS_PUSH, attempt=attempt), SERVER_ERROR, retry=True)
        expect(got, Action.RETRY, got.at, attempt + 1, 0)


@pytest.mark.exercise(
    name="retry-fallback",
    points=3,
    hint="never fall back right after a timeout (it may have been delivered): RETRY the same "
    "provider with the same key",
)
def test_a_timeout_never_triggers_a_fallback(impl: Any) -> None:
    got = ask(impl, job(attempt=2), TIMEOUT, providers=2, retry=True)
    expect(got, Action.RETRY, got.at, 3, 0)
    for code in ("throttled", "unavailable"):  # definite failures do move on
        moved = ask(impl, job(attempt=2), answer("transient", code), providers=2)
        expect(moved, Action.FALLBACK, NOW, 3, 1)


@pytest.mark.exercise(
    name="retry-fallback",
    points=3,
    hint="a job marked ambiguous (an earlier try on this provider timed out) stays on its "
    "provider even after a clear failure: RETRY, never FALLBACK",
)
@pytest.mark.parametrize("code", ["server_error", "unavailable", "throttled"])
def test_a_job_in_doubt_stays_on_its_provider(impl: Any, code: str) -> None:
    got = ask(impl, job(attempt=2, ambiguous=True), answer("transient", code), providers=2,
              retry=True)
    expect(got, Action.RETRY, got.at, 3, 0)


# -------------------------------------------------------------------------- retry-dead-letter


@pytest.mark.exercise(
    name="retry-dead-letter",
    points=2,
    hint="a transient failure on attempt >= policy.max_attempts is a DEAD_LETTER with at=None",
)
def test_a_transient_failure_on_the_last_attempt_is_dead_lettered(impl: Any) -> None:
    last = job(attempt=RETRY_MAX_ATTEMPTS, provider_index=1)
    got = ask(impl, last, SERVER_ERROR, providers=2)
    expect(got, Action.DEAD_LETTER, None, RETRY_MAX_ATTEMPTS, 1)
    assert "ambiguous" not in got.reason, "a 5xx is a definite failure, not an ambiguous one"
    one_shot = ask(impl, job(), SERVER_ERROR, policy=RetryPolicy(max_attempts=1))
    expect(one_shot, Action.DEAD_LETTER, None, 1, 0)


@pytest.mark.exercise(
    name="retry-dead-letter",
    points=2,
    hint="check the attempts left before the fallback: out of attempts wins",
)
def test_running_out_of_attempts_wins_over_a_fallback(impl: Any) -> None:
    got = ask(impl, job(attempt=2), SERVER_ERROR, policy=RetryPolicy(max_attempts=2),
              providers=2)
    expect(got, Action.DEAD_LETTER, None, 2, 0)


@pytest.mark.exercise(
    name="retry-dead-letter",
    points=2,
    hint="when the last try timed out or the job is marked ambiguous, say 'ambiguous' in the "
    "reason: it may have been delivered",
)
def test_a_dead_letter_after_a_timeout_says_it_is_ambiguous(impl: Any) -> None:
    got = ask(impl, job(attempt=RETRY_MAX_ATTEMPTS), TIMEOUT)
    expect(got, Action.DEAD_LETTER, None, RETRY_MAX_ATTEMPTS, 0)
    assert "ambiguous" in got.reason, f"the reason should say it is ambiguous: {got.reason!r}"
    in_doubt = ask(impl, job(attempt=RETRY_MAX_ATTEMPTS, ambiguous=True), SERVER_ERROR)
    expect(in_doubt, Action.DEAD_LETTER, None, RETRY_MAX_ATTEMPTS, 0)
    assert "ambiguous" in in_doubt.reason, (
        f"a job marked ambiguous is still in doubt: {in_doubt.reason!r}"
    )


@pytest.mark.exercise(
    name="retry-dead-letter",
    points=2,
    hint="feed each decision back into the job: two tries on the primary, six on the backup, "
    "then a dead letter, all within the 30-minute budget",
)
@pytest.mark.parametrize("seed", range(5))
def test_a_job_that_always_fails_uses_eight_attempts_within_the_budget(
    impl: Any, seed: int
) -> None:
    rng = random.Random(seed)
    current, now, providers_used = job(Channel.EMAIL), NOW, []
    for _ in range(RETRY_MAX_ATTEMPTS + 2):
        providers_used.append(current.provider_index)
        decision = impl.decide(current, SERVER_ERROR, POLICY, rng, now=now, providers=2)
        if decision.action is not Action.RETRY and decision.action is not Action.FALLBACK:
            break
        now = decision.at
        current = replace(current, attempt=decision.attempt, provider_index=decision.provider_index)
    assert decision.action is Action.DEAD_LETTER, f"the last decision was {decision!r}"
    assert providers_used == [0, 0, 1, 1, 1, 1, 1, 1], f"providers per attempt: {providers_used}"
    assert now - NOW <= RETRY_TOTAL_BUDGET_S, f"the retries took {now - NOW} s"


# ---------------------------------------------------------------------------- retry-arguments

BAD_ARGUMENTS: dict[str, dict[str, Any]] = {
    "job=None": {"job": None},
    "job=dict": {"job": {"attempt": 1}},
    "result=None": {"result": None},
    "result=tuple": {"result": ("transient", "timeout", 0.0, 0.1, "p0")},
    "policy=None": {"policy": None},
    "now=nan": {"now": math.nan},
    "now=inf": {"now": math.inf},
    "now=True": {"now": True},
    "now='soon'": {"now": "soon"},
    "providers=0": {"providers": 0},
    "providers=True": {"providers": True},
    "providers=1.5": {"providers": 1.5},
    "outcome='weird'": {"result": answer("weird", "x")},
}


@pytest.mark.exercise(
    name="retry-arguments",
    points=1,
    hint="check the type of every argument (now finite and not a bool, providers an int "
    ">= 1) and the outcome; raise InvalidArgument",
)
@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_bad_arguments_are_rejected(impl: Any, case: str) -> None:
    arguments: dict[str, Any] = {
        "job": job(),
        "result": answer("accepted", "ok"),
        "policy": POLICY,
        "rng": random.Random(0),
        "now": NOW,
        "providers": 2,
    }
    assert impl.decide(**arguments).action is Action.DONE, "valid arguments must work"
    arguments.update(BAD_ARGUMENTS[case])
    with pytest.raises(InvalidArgument):
        impl.decide(**arguments)
