"""Graders for exercises/ch10_ratelimit.py: the exact sliding-window-log rate limiter.

Each test reaches the code under test only through ``impl``. The log lives in a real
``Timeline`` port (the memory backend; fakeredis too where sharing is checked). Times and
windows are multiples of 1/4 s, exact in binary, so float arithmetic meets no rounding on
the window's edge; the state machine's model counts in whole microseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from exercises.graders.support import GRADER_SETTINGS, GuardedClock
from reference.blocks.ratelimit import RateDecision, RateLimiterStatistics
from reference.core.errors import InvalidArgument
from reference.storage import Store, connect

SOLUTION = "reference.blocks.ratelimit"

T0 = 1_000.0
US_PER_S = 1_000_000


class RecordingTimeline:
    """A Timeline port that passes every call to a real one and records the writes."""

    def __init__(self, timeline: Any) -> None:
        self._timeline = timeline
        self.writes: list[tuple[Any, ...]] = []

    def add(self, key: str, members: Mapping[str, float]) -> int:
        self.writes.append(("add", key))
        return self._timeline.add(key, members)  # type: ignore[no-any-return]

    def remove(self, key: str, *members: str) -> int:
        self.writes.append(("remove", key))
        return self._timeline.remove(key, *members)  # type: ignore[no-any-return]

    def trim_to(self, key: str, max_len: int) -> int:
        self.writes.append(("trim_to", key))
        return self._timeline.trim_to(key, max_len)  # type: ignore[no-any-return]

    def add_within_limit(self, key: str, score: float, **kwargs: Any) -> Any:
        self.writes.append(("add_within_limit", key))
        return self._timeline.add_within_limit(key, score, **kwargs)

    def size(self, key: str) -> int:
        return self._timeline.size(key)  # type: ignore[no-any-return]

    def score(self, key: str, member: str) -> float | None:
        return self._timeline.score(key, member)  # type: ignore[no-any-return]

    def range_by_rank(self, key: str, start: int, stop: int, **kwargs: Any) -> Any:
        return self._timeline.range_by_rank(key, start, stop, **kwargs)

    def range_by_score(self, key: str, min_score: float, max_score: float, **kwargs: Any) -> Any:
        return self._timeline.range_by_score(key, min_score, max_score, **kwargs)


def make(
    impl: Any, *, limit: int = 3, window_s: float = 10.0, name: str = "per-user"
) -> tuple[Any, GuardedClock, RecordingTimeline]:
    clock = GuardedClock(start=T0)
    timeline = RecordingTimeline(connect("memory", clock=clock).timeline)
    limiter = impl.RateLimiter(timeline, clock, limit=limit, window_s=window_s, name=name)
    return limiter, clock, timeline


def check_decision(got: Any, allowed: bool, remaining: int, call: str) -> None:
    assert isinstance(got, RateDecision), (
        f"{call} must return reference.blocks.ratelimit.RateDecision, got {got!r}"
    )
    assert (got.allowed, got.remaining) == (allowed, remaining), (
        f"{call} returned {got!r}: expected allowed={allowed}, remaining={remaining}"
    )
    if allowed:
        assert got.retry_after_s == 0.0, f"{call}: a grant has retry_after_s=0.0, got {got!r}"


# ------------------------------------------------------------------------- rate-limit-window


@pytest.mark.exercise(
    name="rate-limit-window",
    points=3,
    hint="grant while fewer than limit grants lie in the window; remaining = limit - "
    "in_window - 1 on a grant, 0 on a denial",
)
def test_a_burst_gets_limit_grants_and_then_denials(impl: Any) -> None:
    limiter, _, _ = make(impl, limit=3)
    for remaining in (2, 1, 0):
        check_decision(limiter.acquire("u1"), True, remaining, "acquire('u1') in a burst")
    for _ in range(2):
        check_decision(limiter.acquire("u1"), False, 0, "acquire('u1') over the limit")


@pytest.mark.exercise(
    name="rate-limit-window",
    points=3,
    hint="the window is (now - window_s, now]: a grant made exactly window_s ago has left it",
)
def test_the_window_is_half_open_so_a_grant_leaves_exactly_window_s_later(impl: Any) -> None:
    limiter, clock, _ = make(impl, limit=1, window_s=10.0)
    check_decision(limiter.acquire("u1"), True, 0, "the first acquire")
    clock.advance(9.75)
    check_decision(limiter.acquire("u1"), False, 0, "acquire 9.75 s later")
    clock.advance(0.25)
    check_decision(limiter.acquire("u1"), True, 0, "acquire exactly window_s later")


@pytest.mark.exercise(
    name="rate-limit-window",
    points=3,
    hint="a sliding log has no calendar boundaries: count the grants in the last window_s, "
    "not since the start of a minute",
)
def test_the_log_is_exact_across_a_fixed_window_boundary(impl: Any) -> None:
    limiter, clock, _ = make(impl, limit=2, window_s=10.0)
    clock.advance(9.5)  # T0 + 9.5, just before a fixed window's boundary at T0 + 10
    limiter.acquire("u1")
    clock.advance(0.25)
    limiter.acquire("u1")
    clock.advance(0.5)  # T0 + 10.25: a fixed-window counter would start afresh here
    check_decision(limiter.acquire("u1"), False, 0, "acquire just after a fixed boundary")
    clock.advance(9.25)  # T0 + 19.5: the grant at T0 + 9.5 has left, T0 + 9.75 has not
    check_decision(limiter.acquire("u1"), True, 0, "acquire when one grant has left")


@pytest.mark.exercise(
    name="rate-limit-window",
    points=3,
    hint="one log per key: 'u1' running out must not touch 'u2'",
)
def test_keys_have_independent_budgets(impl: Any) -> None:
    limiter, _, _ = make(impl, limit=1)
    check_decision(limiter.acquire("u1"), True, 0, "acquire('u1')")
    check_decision(limiter.acquire("u2"), True, 0, "acquire('u2') after u1 used its budget")
    check_decision(limiter.acquire("u1"), False, 0, "acquire('u1') again")


LIMIT, WINDOW_S = 3, 5.0
WINDOW_US = round(WINDOW_S * US_PER_S)


def limiter_machine(impl: Any, *, check_wait: bool) -> type[RuleBasedStateMachine]:
    class LimiterAgainstTimestamps(RuleBasedStateMachine):
        """The limiter against a list of grant times per key, in whole microseconds."""

        def __init__(self) -> None:
            super().__init__()
            self.clock = GuardedClock(start=T0)
            self.limiter = impl.RateLimiter(
                connect("memory", clock=self.clock).timeline,
                self.clock,
                limit=LIMIT,
                window_s=WINDOW_S,
                name="sm",
            )
            self.now_us = round(T0 * US_PER_S)
            self.granted: dict[str, list[int]] = {"a": [], "b": []}

        @rule(key=st.sampled_from(["a", "b"]))
        def acquire(self, key: str) -> None:
            live = [t for t in self.granted[key] if t > self.now_us - WINDOW_US]
            allowed = len(live) < LIMIT
            at = f"+{(self.now_us / US_PER_S) - T0} s"
            got = self.limiter.acquire(key)
            check_decision(
                got, allowed, LIMIT - len(live) - 1 if allowed else 0, f"acquire({key!r}) at {at}"
            )
            if allowed:
                self.granted[key].append(self.now_us)
            elif check_wait:
                expected = (min(live) + WINDOW_US - self.now_us) / US_PER_S
                assert got.retry_after_s == pytest.approx(expected, abs=1e-6), (
                    f"acquire({key!r}) at {at}: retry_after_s={got.retry_after_s}, "
                    f"expected {expected} (when the oldest grant in the window leaves it)"
                )

        @rule(seconds=st.sampled_from([0.25, 0.5, 1.0, 2.75, WINDOW_S]))
        def advance(self, seconds: float) -> None:
            self.clock.advance(seconds)
            self.now_us += round(seconds * US_PER_S)

        @precondition(lambda self: any(self.granted.values()))
        @rule(key=st.sampled_from(["a", "b"]))
        def advance_exactly_to_the_next_expiry(self, key: str) -> None:
            ahead = [t + WINDOW_US for t in self.granted[key] if t + WINDOW_US > self.now_us]
            if ahead:
                step = min(ahead) - self.now_us
                self.clock.advance(step / US_PER_S)
                self.now_us += step

    return LimiterAgainstTimestamps


@pytest.mark.exercise(
    name="rate-limit-window",
    points=3,
    hint="random acquire/advance sequences must agree with a list of grant times per key; "
    "read the failing steps hypothesis prints",
)
def test_random_histories_agree_with_a_list_of_timestamps(impl: Any) -> None:
    run_state_machine_as_test(
        lambda: limiter_machine(impl, check_wait=False)(),
        settings=settings(GRADER_SETTINGS, stateful_step_count=30),
    )


# -------------------------------------------------------------------- rate-limit-retry-after


@pytest.mark.exercise(
    name="rate-limit-retry-after",
    points=2,
    hint="retry_after_s = oldest grant in the window + window_s - now",
)
def test_a_denial_says_exactly_how_long_to_wait(impl: Any) -> None:
    limiter, clock, _ = make(impl, limit=3, window_s=10.0)
    for _ in range(3):
        limiter.acquire("u1")
        clock.advance(1.0)
    denied = limiter.acquire("u1")  # at T0 + 3; the grant at T0 leaves at T0 + 10
    check_decision(denied, False, 0, "acquire('u1') at T0 + 3")
    assert denied.retry_after_s == pytest.approx(7.0, abs=1e-6), (
        f"retry_after_s={denied.retry_after_s}, expected 7.0"
    )
    clock.advance(denied.retry_after_s)
    check_decision(limiter.acquire("u1"), True, 0, "acquire after waiting retry_after_s")


@pytest.mark.exercise(
    name="rate-limit-retry-after",
    points=2,
    hint="after waiting retry_after_s the request is granted, after any shorter wait it is not",
)
def test_waiting_a_little_less_than_retry_after_is_still_denied(impl: Any) -> None:
    limiter, clock, _ = make(impl, limit=1, window_s=0.75)
    limiter.acquire("u1")
    clock.advance(0.25)
    wait = limiter.acquire("u1").retry_after_s
    assert wait == pytest.approx(0.5, abs=1e-6), f"retry_after_s={wait}, expected 0.5"
    clock.advance(wait - 0.001)
    check_decision(limiter.acquire("u1"), False, 0, "acquire 1 ms before retry_after_s")
    clock.set_to(T0 + 0.75)
    check_decision(limiter.acquire("u1"), True, 0, "acquire at retry_after_s")


@pytest.mark.exercise(
    name="rate-limit-retry-after",
    points=2,
    hint="record only grants: a denied request must not extend the ban",
)
def test_denied_requests_do_not_extend_the_ban(impl: Any) -> None:
    limiter, clock, _ = make(impl, limit=1, window_s=10.0)
    limiter.acquire("u1")
    for _ in range(5):
        clock.advance(1.0)
        check_decision(limiter.acquire("u1"), False, 0, "acquire while banned")
    clock.advance(5.0)  # T0 + 10: the only grant has left the window
    check_decision(limiter.acquire("u1"), True, 0, "acquire when the only grant has left")


@pytest.mark.exercise(
    name="rate-limit-retry-after",
    points=2,
    hint="every denial's retry_after_s must match the list-of-timestamps model",
)
def test_random_histories_get_the_exact_wait_on_every_denial(impl: Any) -> None:
    run_state_machine_as_test(
        lambda: limiter_machine(impl, check_wait=True)(),
        settings=settings(GRADER_SETTINGS, stateful_step_count=30),
    )


# -------------------------------------------------------------------- rate-limit-on-the-port


@pytest.fixture(params=["memory", "fakeredis"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    backend = connect(request.param, clock=GuardedClock(start=T0))
    yield backend
    backend.close()


@pytest.mark.exercise(
    name="rate-limit-on-the-port",
    points=2,
    hint="keep the log in the timeline under a key built from name and key: limiters with "
    "one name share it, so member names must not collide across them (a per-object "
    "counter does: name a grant by its time and the window's size before it)",
)
def test_limiters_with_one_name_share_a_budget_and_other_names_do_not(
    impl: Any, store: Store
) -> None:
    clock = store.clock
    server_a = impl.RateLimiter(store.timeline, clock, limit=2, window_s=60.0, name="api")
    server_b = impl.RateLimiter(store.timeline, clock, limit=2, window_s=60.0, name="api")
    sms = impl.RateLimiter(store.timeline, clock, limit=2, window_s=60.0, name="sms")
    check_decision(server_a.acquire("u1"), True, 1, "server A's acquire")
    check_decision(server_b.acquire("u1"), True, 0, "server B's acquire, same name")
    check_decision(server_a.acquire("u1"), False, 0, "server A again: the shared budget is out")
    check_decision(sms.acquire("u1"), True, 1, "another name has its own budget")


@pytest.mark.exercise(
    name="rate-limit-on-the-port",
    points=2,
    hint="a limiter object built after a restart must find the grants already in the timeline",
)
def test_a_restarted_limiter_finds_the_log_in_the_store(impl: Any, store: Store) -> None:
    clock = store.clock
    before = impl.RateLimiter(store.timeline, clock, limit=2, window_s=60.0, name="api")
    before.acquire("u1")
    before.acquire("u1")
    after = impl.RateLimiter(store.timeline, clock, limit=2, window_s=60.0, name="api")
    check_decision(after.acquire("u1"), False, 0, "a new limiter over the same timeline")


# ---------------------------------------------------------------------- rate-limit-arguments


@pytest.mark.exercise(
    name="rate-limit-arguments",
    points=1,
    hint="limit is an int >= 1 (not a bool), window_s a finite number > 0, name a non-empty "
    "str without braces; raise InvalidArgument",
)
@pytest.mark.parametrize(
    "bad",
    [
        {"limit": 0},
        {"limit": -1},
        {"limit": True},
        {"limit": 1.5},
        {"limit": "3"},
        {"window_s": 0},
        {"window_s": -1.0},
        {"window_s": float("inf")},
        {"window_s": float("nan")},
        {"window_s": True},
        {"name": ""},
        {"name": "a{b"},
        {"name": None},
    ],
    ids=repr,
)
def test_bad_settings_are_rejected(impl: Any, bad: dict[str, Any]) -> None:
    clock = GuardedClock(start=T0)
    timeline = connect("memory", clock=clock).timeline
    arguments: dict[str, Any] = {"limit": 2, "window_s": 1.0, "name": "ok"}
    impl.RateLimiter(timeline, clock, **arguments)  # valid settings must work
    with pytest.raises(InvalidArgument):
        impl.RateLimiter(timeline, clock, **{**arguments, **bad})


@pytest.mark.exercise(
    name="rate-limit-arguments",
    points=1,
    hint="check the key (a non-empty str without braces) before touching the timeline",
)
@pytest.mark.parametrize("key", ["", "a{b", "a}b", 7, None], ids=repr)
def test_a_bad_key_is_rejected_before_anything_is_written(impl: Any, key: Any) -> None:
    limiter, _, timeline = make(impl, limit=1)
    with pytest.raises(InvalidArgument):
        limiter.acquire(key)
    assert timeline.writes == [], f"a rejected call must write nothing, wrote {timeline.writes}"
    check_decision(limiter.acquire("u1"), True, 0, "a valid acquire after the rejected one")


# --------------------------------------------------------------------- rate-limit-statistics


@pytest.mark.exercise(
    name="rate-limit-statistics",
    points=1,
    hint="count grants, denials and entries trimmed from the log; return "
    "reference.blocks.ratelimit.RateLimiterStatistics",
)
def test_statistics_count_grants_denials_and_trimmed_entries(impl: Any) -> None:
    limiter, clock, _ = make(impl, limit=2, window_s=1.0)
    empty = limiter.statistics()
    assert isinstance(empty, RateLimiterStatistics), (
        "statistics() must return reference.blocks.ratelimit.RateLimiterStatistics"
    )
    assert empty == RateLimiterStatistics(allowed=0, denied=0, trimmed=0)
    for _ in range(3):
        limiter.acquire("u1")  # two grants, one denial
    with pytest.raises(InvalidArgument):
        limiter.acquire("")  # rejected: counts nothing
    clock.advance(2.0)
    limiter.acquire("u1")  # trims both old grants, then grants
    assert limiter.statistics() == RateLimiterStatistics(allowed=3, denied=1, trimmed=2)
    assert empty == RateLimiterStatistics(0, 0, 0), "an earlier snapshot must not change"
