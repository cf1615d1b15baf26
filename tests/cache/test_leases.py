"""Memcache leases: one refill token per key per lease period, stale sets refused; single flight."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reference.blocks.cache import Cache
from reference.cache.leases import (
    LEASE_S,
    LeaseAnswer,
    LeaseCache,
    SingleFlight,
    SingleFlightStatistics,
)
from reference.core.clock import US_PER_S, FakeClock
from reference.core.errors import InvalidArgument, NotFound

KEY = "feed:{1}"


def leases(clock: FakeClock, *, lease_s: float = LEASE_S, ttl_s: float | None = None
           ) -> LeaseCache[str, Any]:
    return LeaseCache(Cache(clock, capacity=10, name="feed", ttl_s=ttl_s), lease_s=lease_s)


def token_of(answer: LeaseAnswer[Any]) -> int:
    assert answer.token is not None, answer
    return answer.token


# ── leases ──────────────────────────────────────────────────────────────────────────────


def test_the_first_miss_gets_a_lease_and_the_rest_hot_misses_until_it_is_used(
    clock: FakeClock,
) -> None:
    lc = leases(clock)
    first = lc.get(KEY)
    assert not first.hit and not first.must_wait and first.token == 1
    herd = [lc.get(KEY) for _ in range(99)]
    assert all(answer.must_wait for answer in herd)
    assert lc.set(KEY, "v1", token=token_of(first)) is True
    assert lc.get(KEY) == LeaseAnswer("v1", None)
    stats = lc.statistics()
    assert (stats.leases_granted, stats.hot_misses, stats.sets_accepted) == (1, 99, 1)


def test_only_one_token_per_key_per_lease_period(clock: FakeClock) -> None:
    lc = leases(clock, lease_s=10.0)
    first = token_of(lc.get(KEY))
    clock.advance(10.0 - 1 / US_PER_S)
    assert lc.get(KEY).must_wait
    clock.advance(1 / US_PER_S)  # the holder never came back: its lease has run out
    second = token_of(lc.get(KEY))
    assert second != first
    assert lc.set(KEY, "late", token=first) is False
    assert lc.set(KEY, "v", token=second) is True
    assert lc.statistics().leases_granted == 2


def test_a_lease_that_ran_out_is_refused_even_if_no_one_took_a_new_one(clock: FakeClock) -> None:
    lc = leases(clock, lease_s=1.0)
    token = token_of(lc.get(KEY))
    clock.advance(1.0)
    assert lc.set(KEY, "too late", token=token) is False
    assert lc.cache.peek(KEY) is None


def test_a_delete_voids_the_lease_so_the_slow_readers_stale_set_is_refused(
    clock: FakeClock,
) -> None:
    lc = leases(clock)
    slow = token_of(lc.get(KEY))  # reads the old row from the database...
    lc.delete(KEY)  # ...a writer updates the row and invalidates...
    assert lc.set(KEY, "old row", token=slow) is False  # ...the old row is not cached
    fresh = token_of(lc.get(KEY))  # the next reader may refill at once
    assert lc.set(KEY, "new row", token=fresh) is True
    assert lc.get(KEY).value == "new row"
    stats = lc.statistics()
    assert (stats.sets_refused, stats.leases_voided, stats.leases_granted) == (1, 1, 2)


def test_a_token_is_used_once(clock: FakeClock) -> None:
    lc = leases(clock)
    token = token_of(lc.get(KEY))
    assert lc.set(KEY, "v1", token=token) is True
    assert lc.set(KEY, "v2", token=token) is False
    assert lc.get(KEY).value == "v1"


def test_leases_are_per_key_and_a_token_for_another_key_is_refused(clock: FakeClock) -> None:
    lc = leases(clock)
    a, b = token_of(lc.get("feed:{a}")), token_of(lc.get("feed:{b}"))
    assert a != b
    assert lc.set("feed:{a}", "v", token=b) is False
    assert lc.set("feed:{a}", "v", token=a) is True


def test_a_hit_hands_out_no_token(clock: FakeClock) -> None:
    lc = leases(clock)
    assert lc.set(KEY, "v", token=token_of(lc.get(KEY)))
    assert lc.get(KEY) == LeaseAnswer("v", None)
    assert lc.statistics().leases_granted == 1


def test_when_the_entry_expires_the_next_miss_gets_a_new_lease(clock: FakeClock) -> None:
    lc = leases(clock, ttl_s=1.0)
    assert lc.set(KEY, "v1", token=token_of(lc.get(KEY)))
    clock.advance(1.0)
    renewed = lc.get(KEY)
    assert renewed.token is not None and lc.get(KEY).must_wait


def test_delete_reports_whether_a_value_was_cached(clock: FakeClock) -> None:
    lc = leases(clock)
    assert lc.delete(KEY) is False
    assert lc.set(KEY, "v", token=token_of(lc.get(KEY)))
    assert lc.delete(KEY) is True
    assert lc.statistics().leases_voided == 0  # the lease was used before the delete


def test_a_set_passes_its_ttl_to_the_cache(clock: FakeClock) -> None:
    lc = leases(clock, ttl_s=100.0)
    assert lc.set(KEY, "v", token=token_of(lc.get(KEY)), ttl_s=1.0)
    clock.advance(1.0)
    assert lc.get(KEY).token is not None


@pytest.mark.parametrize("lease_s", [0, -1.0, float("inf"), True, "10"])
def test_a_bad_lease_period_is_refused(clock: FakeClock, lease_s: Any) -> None:
    with pytest.raises(InvalidArgument, match="lease_s"):
        leases(clock, lease_s=lease_s)


def test_a_lease_cache_needs_a_cache() -> None:
    with pytest.raises(InvalidArgument, match="cache"):
        LeaseCache({})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "value", "token", "ttl"),
    [(KEY, "v", 0, None), (KEY, "v", True, None), (KEY, "v", "1", None),
     ([1], "v", 1, None), (KEY, None, 1, None), (KEY, "v", 1, -1.0)],
)
def test_a_bad_set_is_refused_and_keeps_the_lease(
    clock: FakeClock, key: Any, value: Any, token: Any, ttl: Any
) -> None:
    lc = leases(clock)
    held = token_of(lc.get(KEY))
    with pytest.raises(InvalidArgument):
        lc.set(key, value, token=token, ttl_s=ttl)
    assert lc.statistics().sets_refused == 0
    assert lc.set(KEY, "v", token=held) is True


def test_an_unhashable_key_is_refused_by_get_and_delete(clock: FakeClock) -> None:
    lc = leases(clock)
    for op in (lc.get, lc.delete):
        with pytest.raises(InvalidArgument, match="hashable"):
            op([KEY])  # type: ignore[arg-type]


# ── the state machine against a model ───────────────────────────────────────────────────

KEYS = st.sampled_from(["a", "b"])
LEASE_MODEL_S = 1.0


class LeaseMachine(RuleBasedStateMachine):
    """The lease cache vs two dicts: values, and leases as (token, granted at)."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(start=0.0)
        self.lc: LeaseCache[str, int] = LeaseCache(
            Cache(self.clock, capacity=10), lease_s=LEASE_MODEL_S)
        self.now_us = 0
        self.values: dict[str, int] = {}
        self.leases: dict[str, tuple[int, int]] = {}
        self.issued: list[int] = []
        self.granted = self.hot = self.accepted = self.refused = 0

    def live_lease(self, key: str) -> int | None:
        held = self.leases.get(key)
        if held is None or self.now_us - held[1] >= LEASE_MODEL_S * US_PER_S:
            return None
        return held[0]

    @rule(key=KEYS)
    def get(self, key: str) -> None:
        answer = self.lc.get(key)
        if key in self.values:
            assert answer == LeaseAnswer(self.values[key], None)
        elif self.live_lease(key) is not None:
            assert answer.must_wait
            self.hot += 1
        else:
            assert answer.token is not None and answer.token not in self.issued
            self.issued.append(answer.token)
            self.leases[key] = (answer.token, self.now_us)
            self.granted += 1

    @rule(key=KEYS, value=st.integers(0, 9), pick=st.integers(0, 10))
    def set(self, key: str, value: int, pick: int) -> None:
        token = self.issued[pick % len(self.issued)] if self.issued else 1
        ok = self.live_lease(key) == token
        assert self.lc.set(key, value, token=token) is ok
        if ok:
            self.values[key] = value
            del self.leases[key]
            self.accepted += 1
        else:
            self.refused += 1

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        assert self.lc.delete(key) is (key in self.values)
        self.values.pop(key, None)
        self.leases.pop(key, None)

    @rule(step_s=st.sampled_from([0.0, 0.25, 0.5, 1.0]))
    def time_passes(self, step_s: float) -> None:
        self.clock.advance(step_s)
        self.now_us += round(step_s * US_PER_S)

    @invariant()
    def the_counts_match(self) -> None:
        stats = self.lc.statistics()
        assert (stats.leases_granted, stats.hot_misses, stats.sets_accepted,
                stats.sets_refused) == (self.granted, self.hot, self.accepted, self.refused)


TestLeaseCacheAgainstModel = LeaseMachine.TestCase
TestLeaseCacheAgainstModel.settings = settings(max_examples=100, stateful_step_count=40,
                                               deadline=None)


# ── single flight ───────────────────────────────────────────────────────────────────────


def test_single_flight_lets_the_first_caller_load_and_hands_the_result_to_all() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    got: list[tuple[int, str]] = []

    def waiter(n: int) -> Callable[[str], None]:
        return lambda value: got.append((n, value))

    leads = [flight.join(KEY, waiter(n)) for n in range(4)]
    assert leads == [True, False, False, False] and KEY in flight
    assert flight.finish(KEY, "v") == 4
    assert got == [(0, "v"), (1, "v"), (2, "v"), (3, "v")]
    assert KEY not in flight and [] not in flight
    assert flight.statistics() == SingleFlightStatistics(loads=1, joined=3, in_flight=0)


def test_after_a_load_finishes_the_next_caller_starts_a_new_one() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    assert flight.join(KEY, lambda _: None)
    flight.finish(KEY, 1)
    assert flight.join(KEY, lambda _: None) is True
    assert flight.join("other", lambda _: None) is True
    assert flight.statistics() == SingleFlightStatistics(loads=3, joined=0, in_flight=2)


def test_single_flight_refuses_bad_input() -> None:
    flight: SingleFlight[Any, int] = SingleFlight()
    with pytest.raises(InvalidArgument, match="hashable"):
        flight.join([KEY], lambda _: None)
    with pytest.raises(InvalidArgument, match="waiter"):
        flight.join(KEY, "print")  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="in flight"):
        flight.finish(KEY, 1)
    assert flight.statistics() == SingleFlightStatistics(loads=0, joined=0, in_flight=0)
