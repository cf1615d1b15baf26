"""Graders for exercises/ch10_backoff.py: the retry policy and backoff with jitter.

Each test reaches the code under test only through ``impl``. Bounds are checked against the
grader's own formula, ``min(cap_s, base_s * 2**(k - 1))``, and jitter over many fixed seeds,
so the grade is the same on every run.
"""

from __future__ import annotations

import random
import statistics
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.graders.support import GRADER_SETTINGS
from reference.core.errors import InvalidArgument
from reference.notification.model import RETRY_MAX_ATTEMPTS, RETRY_TOTAL_BUDGET_S

SOLUTION = {
    "RetryPolicy": "reference.notification.retry:RetryPolicy",
    "backoff_s": "reference.notification.retry:backoff_s",
}

DEFAULT_BOUNDS = [15.0, 30.0, 60.0, 120.0, 240.0, 480.0, 600.0, 600.0, 600.0, 600.0]
SEEDS = range(100)
EQUAL_SEEDS = range(200)
HUGE_BUDGET_S = 1e12


def bound(base_s: float, cap_s: float, attempt: int) -> float:
    return float(min(cap_s, base_s * 2.0 ** min(attempt - 1, 60)))


# -------------------------------------------------------------------------- backoff-schedule


@pytest.mark.exercise(
    name="backoff-schedule",
    points=2,
    hint="upper_bound_s(k) = min(cap_s, base_s * 2**(k - 1)): 15, 30, 60, ... then 600 "
    "(make __post_init__ just return until backoff-policy-checks)",
)
def test_the_default_bounds_double_from_15_s_and_stop_at_600_s(impl: Any) -> None:
    policy = impl.RetryPolicy()
    assert (policy.max_attempts, policy.base_s, policy.cap_s, policy.budget_s) == (
        RETRY_MAX_ATTEMPTS,
        15.0,
        600.0,
        RETRY_TOTAL_BUDGET_S,
    ), "keep the given defaults"
    got = [policy.upper_bound_s(k) for k in range(1, 11)]
    assert got == DEFAULT_BOUNDS, f"upper_bound_s(1..10) = {got}"


@pytest.mark.exercise(
    name="backoff-schedule",
    points=2,
    hint="clamp the exponent so a huge attempt number returns cap_s instead of overflowing",
)
def test_a_huge_attempt_number_returns_the_cap_without_overflowing(impl: Any) -> None:
    policy = impl.RetryPolicy()
    for attempt in (64, 1_100, 10_000):
        assert policy.upper_bound_s(attempt) == 600.0, f"upper_bound_s({attempt})"


@pytest.mark.exercise(
    name="backoff-schedule",
    points=2,
    hint="the bounds start at base_s, double, never pass cap_s and never go down",
)
@GRADER_SETTINGS
@given(
    base_s=st.sampled_from([0.25, 0.5, 1.0, 3.0, 15.0, 100.0]),
    factor=st.sampled_from([1.0, 1.5, 4.0, 64.0, 1000.0]),
    max_attempts=st.integers(1, 20),
)
def test_the_bounds_are_exponential_capped_and_monotone(
    impl: Any, base_s: float, factor: float, max_attempts: int
) -> None:
    cap_s = base_s * factor
    policy = impl.RetryPolicy(
        max_attempts=max_attempts, base_s=base_s, cap_s=cap_s, budget_s=HUGE_BUDGET_S
    )
    got = [policy.upper_bound_s(k) for k in range(1, 25)]
    assert got == [bound(base_s, cap_s, k) for k in range(1, 25)], (
        f"RetryPolicy(base_s={base_s}, cap_s={cap_s}).upper_bound_s(1..24) = {got}"
    )
    assert got == sorted(got) and max(got) == cap_s


@pytest.mark.exercise(
    name="backoff-schedule",
    points=2,
    hint="worst_case_total_s sums upper_bound_s(k) for k = 1 .. max_attempts - 1",
)
def test_eight_attempts_worst_case_is_1545_s_inside_the_30_minute_budget(impl: Any) -> None:
    policy = impl.RetryPolicy()
    assert policy.worst_case_total_s() == 1545.0, "15+30+60+120+240+480+600 = 1545"
    assert policy.worst_case_total_s() <= RETRY_TOTAL_BUDGET_S
    single = impl.RetryPolicy(max_attempts=1)
    assert single.worst_case_total_s() == 0.0, "one attempt has no wait"
    small = impl.RetryPolicy(max_attempts=4, base_s=2.0, cap_s=5.0, budget_s=100.0)
    assert small.worst_case_total_s() == 2.0 + 4.0 + 5.0


# --------------------------------------------------------------------- backoff-policy-checks

BAD_POLICIES: dict[str, tuple[dict[str, Any], str]] = {
    "max_attempts=0": ({"max_attempts": 0}, "max_attempts"),
    "max_attempts=-1": ({"max_attempts": -1}, "max_attempts"),
    "max_attempts=True": ({"max_attempts": True}, "max_attempts"),
    "max_attempts=2.5": ({"max_attempts": 2.5}, "max_attempts"),
    "fallback_after=0": ({"fallback_after": 0}, "fallback_after"),
    "fallback_after=True": ({"fallback_after": True}, "fallback_after"),
    "base_s=0": ({"base_s": 0}, "base_s"),
    "base_s=-1": ({"base_s": -1.0}, "base_s"),
    "base_s=nan": ({"base_s": float("nan")}, "base_s"),
    "base_s='15'": ({"base_s": "15"}, "base_s"),
    "cap_s=inf": ({"cap_s": float("inf")}, "cap_s"),
    "cap_s<base_s": ({"base_s": 15.0, "cap_s": 10.0}, "cap_s"),
    "budget_s=0": ({"budget_s": 0.0}, "budget_s"),
    "budget_s=inf": ({"budget_s": float("inf")}, "budget_s"),
    "budget_s=True": ({"budget_s": True}, "budget_s"),
    "jitter='wild'": ({"jitter": "wild"}, "jitter"),
    "jitter=None": ({"jitter": None}, "jitter"),
    "20-attempts-overrun-30-min": ({"max_attempts": 20}, "budget"),
    "a-60-s-base-overruns": ({"base_s": 60.0, "cap_s": 3600.0}, "budget"),
}


@pytest.mark.exercise(
    name="backoff-policy-checks",
    points=2,
    hint="raise InvalidArgument naming the bad field; a schedule whose worst case exceeds "
    "budget_s is rejected with a message that mentions budget_s",
)
@pytest.mark.parametrize("case", list(BAD_POLICIES))
def test_a_bad_policy_is_rejected_naming_the_field(impl: Any, case: str) -> None:
    impl.RetryPolicy()  # the defaults are valid
    fields, named = BAD_POLICIES[case]
    with pytest.raises(InvalidArgument) as caught:
        impl.RetryPolicy(**fields)
    assert named in str(caught.value), f"the error should mention {named!r}: {caught.value}"


@pytest.mark.exercise(
    name="backoff-policy-checks",
    points=2,
    hint="a schedule that fits the budget exactly, cap_s == base_s and every jitter mode "
    "are all valid",
)
@pytest.mark.parametrize(
    "fields",
    [
        {"max_attempts": 3, "base_s": 10.0, "cap_s": 20.0, "budget_s": 30.0},
        {"base_s": 5.0, "cap_s": 5.0},
        {"max_attempts": 1, "base_s": 1, "cap_s": 1, "budget_s": 1},
        {"jitter": "full"},
        {"jitter": "equal"},
        {"jitter": "none", "fallback_after": 8},
    ],
    ids=repr,
)
def test_a_valid_policy_is_accepted(impl: Any, fields: dict[str, Any]) -> None:
    policy = impl.RetryPolicy(**fields)
    for name, value in fields.items():
        assert getattr(policy, name) == value


# ---------------------------------------------------------------------------- backoff-jitter

JITTER_LOW = {"full": 0.0, "equal": 0.5, "none": 1.0}


@pytest.mark.exercise(
    name="backoff-jitter",
    points=3,
    hint="full: rng.uniform(0, w); equal: w/2 + rng.uniform(0, w/2); none: w, where "
    "w = policy.upper_bound_s(attempt)",
)
@pytest.mark.parametrize("jitter", ["full", "equal", "none"])
def test_every_wait_stays_within_its_bound_for_every_seed_and_attempt(
    impl: Any, jitter: str
) -> None:
    policy = impl.RetryPolicy(jitter=jitter)
    for attempt in range(1, RETRY_MAX_ATTEMPTS + 3):
        high = bound(15.0, 600.0, attempt)
        low = JITTER_LOW[jitter] * high
        for seed in SEEDS:
            wait = impl.backoff_s(attempt, policy, random.Random(seed))
            assert isinstance(wait, float), f"backoff_s must return a float, got {wait!r}"
            assert low <= wait <= high, (
                f"{jitter} jitter, attempt {attempt}, seed {seed}: {wait} is outside "
                f"[{low}, {high}]"
            )


@pytest.mark.exercise(
    name="backoff-jitter",
    points=3,
    hint="equal jitter keeps half the wait and draws the rest: w/2 + rng.uniform(0, w/2) "
    "differs from seed to seed and covers [w/2, w]",
)
@pytest.mark.parametrize("attempt", [1, 4, 7])
def test_equal_jitter_spreads_waits_over_the_upper_half_of_the_bound(
    impl: Any, attempt: int
) -> None:
    policy, high = impl.RetryPolicy(jitter="equal"), bound(15.0, 600.0, attempt)
    waits = [impl.backoff_s(attempt, policy, random.Random(seed)) for seed in EQUAL_SEEDS]
    assert len(set(waits)) > 0.95 * len(EQUAL_SEEDS), (
        f"equal jitter, attempt {attempt}: only {len(set(waits))} distinct waits over "
        f"{len(EQUAL_SEEDS)} seeds; each seed should draw its own"
    )
    assert min(waits) < 0.6 * high and max(waits) > 0.9 * high, (
        f"equal jitter, attempt {attempt}: waits span {min(waits):.1f} .. {max(waits):.1f} s; "
        f"they should cover {high / 2} .. {high} s"
    )
    mean = statistics.fmean(waits)
    assert 0.7 * high <= mean <= 0.8 * high, (
        f"equal jitter, attempt {attempt}: the waits average {mean:.1f} s, not about "
        f"3/4 of {high} s"
    )


class NoDrawRandom(random.Random):
    """A generator that fails every draw: a wait without jitter must not consume chance."""

    def random(self) -> float:
        raise AssertionError("jitter='none' drew rng.random(): return w without drawing")

    def getrandbits(self, k: int, /) -> int:
        raise AssertionError("jitter='none' drew from rng: return w without drawing")

    def uniform(self, a: float, b: float) -> float:
        raise AssertionError("jitter='none' drew rng.uniform(): return w without drawing")


@pytest.mark.exercise(
    name="backoff-jitter",
    points=3,
    hint="no jitter returns w and leaves rng alone: a draw would shift every later number "
    "of a seeded simulation",
)
def test_no_jitter_returns_the_bound_without_drawing_from_the_rng(impl: Any) -> None:
    policy, rng = impl.RetryPolicy(jitter="none"), NoDrawRandom(7)
    before = rng.getstate()
    waits = [impl.backoff_s(k, policy, rng) for k in range(1, RETRY_MAX_ATTEMPTS + 3)]
    assert waits == DEFAULT_BOUNDS, f"jitter='none' waits {waits}"
    assert rng.getstate() == before, "jitter='none' changed the rng's state"


@pytest.mark.exercise(
    name="backoff-jitter",
    points=3,
    hint="draw only from the rng you are given: the same seed gives the same waits, "
    "whatever the global random module does",
)
def test_the_same_seed_gives_the_same_waits_whatever_the_global_random_state(
    impl: Any,
) -> None:
    policy = impl.RetryPolicy()

    def schedule(seed: int, global_seed: int) -> list[float]:
        random.seed(global_seed)
        rng = random.Random(seed)
        return [impl.backoff_s(k, policy, rng) for k in range(1, RETRY_MAX_ATTEMPTS)]

    state = random.getstate()
    try:
        first, again = schedule(7, global_seed=1), schedule(7, global_seed=2)
        other = schedule(8, global_seed=1)
    finally:
        random.setstate(state)
    assert first == again, "the same rng seed must give the same waits (use rng, not random)"
    assert first != other, "different seeds should give different waits"


@pytest.mark.exercise(
    name="backoff-jitter",
    points=3,
    hint="full jitter spreads waits evenly over [0, w]: a burst of retries must not come "
    "back together",
)
def test_full_jitter_spreads_a_burst_of_retries_over_the_whole_interval(impl: Any) -> None:
    policy, rng = impl.RetryPolicy(), random.Random(2024)
    waits = [impl.backoff_s(4, policy, rng) for _ in range(400)]  # w = 120 s
    assert len(set(waits)) > 390, "each retry of the burst should get its own wait"
    assert min(waits) < 12.0 and max(waits) > 108.0, (
        f"waits span {min(waits):.1f} .. {max(waits):.1f} s; full jitter covers 0 .. 120 s"
    )
    assert 48.0 <= statistics.fmean(waits) <= 72.0, "full jitter averages about w / 2"


@pytest.mark.exercise(
    name="backoff-jitter",
    points=3,
    hint="a jittered schedule never exceeds the worst case, so 8 attempts fit 30 minutes",
)
def test_every_jittered_eight_attempt_schedule_fits_the_budget(impl: Any) -> None:
    for jitter in ("full", "equal", "none"):
        policy = impl.RetryPolicy(jitter=jitter)
        for seed in SEEDS:
            rng = random.Random(seed)
            total = sum(impl.backoff_s(k, policy, rng) for k in range(1, RETRY_MAX_ATTEMPTS))
            assert total <= 1545.0 <= RETRY_TOTAL_BUDGET_S, f"{jitter}, seed {seed}: {total}"


@pytest.mark.exercise(
    name="backoff-jitter",
    points=3,
    hint="attempt is an int >= 1 (not a bool): raise InvalidArgument otherwise",
)
@pytest.mark.parametrize("attempt", [0, -1, True, 1.5, "2"], ids=repr)
def test_a_bad_attempt_is_rejected(impl: Any, attempt: Any) -> None:
    policy = impl.RetryPolicy()
    assert impl.backoff_s(1, policy, random.Random(0)) <= 15.0
    with pytest.raises(InvalidArgument):
        impl.backoff_s(attempt, policy, random.Random(0))
