"""The sliding-window-log rate limiter: exact, on the injected clock, with a trimmed log."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reference.blocks.ratelimit import RateDecision, RateLimiter
from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument
from reference.storage import Store, connect


def limiter(store: Store, clock: FakeClock, limit: int = 3, window_s: float = 10.0,
            name: str = "per-user") -> RateLimiter:
    return RateLimiter(store.timeline, clock, limit=limit, window_s=window_s, name=name)


def test_grants_up_to_the_limit_then_denies_with_the_exact_wait(
    store: Store, clock: FakeClock
) -> None:
    rl = limiter(store, clock)
    grants = []
    for _ in range(3):
        grants.append(rl.acquire("u1"))
        clock.advance(1.0)
    assert [g.remaining for g in grants] == [2, 1, 0]
    assert all(g.allowed and g.retry_after_s == 0.0 for g in grants)
    denied = rl.acquire("u1")  # at t0 + 3; the first grant (t0) leaves at t0 + 10
    assert denied == RateDecision(allowed=False, retry_after_s=7.0, remaining=0)
    clock.advance(denied.retry_after_s)
    assert rl.acquire("u1").allowed


def test_waiting_one_microsecond_less_than_retry_after_is_still_denied(
    store: Store, clock: FakeClock
) -> None:
    rl = limiter(store, clock, limit=1, window_s=0.3)
    assert rl.acquire("u1").allowed
    clock.advance(0.1)
    wait = rl.acquire("u1").retry_after_s
    assert wait == pytest.approx(0.2)
    clock.advance(wait - 0.000001)
    assert not rl.acquire("u1").allowed
    clock.advance(0.000001)
    assert rl.acquire("u1").allowed


def test_keys_have_independent_budgets(store: Store, clock: FakeClock) -> None:
    rl = limiter(store, clock, limit=1)
    assert rl.acquire("u1").allowed
    assert rl.acquire("u2").allowed
    assert not rl.acquire("u1").allowed


def test_two_limiters_with_different_names_do_not_share_budgets(
    store: Store, clock: FakeClock
) -> None:
    a = limiter(store, clock, limit=1, name="per-user")
    b = limiter(store, clock, limit=1, name="per-user-sms")
    assert a.acquire("u1").allowed and b.acquire("u1").allowed


def test_two_limiters_with_the_same_name_share_one_budget(
    store: Store, clock: FakeClock
) -> None:
    a = limiter(store, clock, limit=2, name="api")
    b = limiter(store, clock, limit=2, name="api")
    assert a.acquire("u1").allowed and b.acquire("u1").allowed
    assert not a.acquire("u1").allowed


def test_a_server_whose_clock_lags_cannot_reopen_room_in_the_shared_log(store: Store) -> None:
    """Two API servers share one limit; B's clock runs 0.5 s ahead of A's. A late grant is
    recorded at the log's latest time, so no window of the log holds more than the limit,
    and A, stuck in the past, cannot take a grant without recording it."""
    a_clock, b_clock = FakeClock(start=104.5), FakeClock(start=105.0)
    a = RateLimiter(store.timeline, a_clock, limit=3, window_s=1.0, name="api")
    b = RateLimiter(store.timeline, b_clock, limit=3, window_s=1.0, name="api")
    assert [a.acquire("u1").allowed for _ in range(2)] + [b.acquire("u1").allowed] == [True] * 3
    a_clock.advance(0.5)
    b_clock.advance(0.5)
    assert b.acquire("u1").allowed  # 105.5: the two grants at 104.5 have left B's window
    assert [a.acquire("u1").allowed for _ in range(4)] == [True, False, False, False]
    log = store.timeline.range_by_rank("ratelimit:api:{u1}", 0, -1)
    assert len(log) == 3 and all(104.5e6 < score <= 105.5e6 for _, score in log)


def test_denied_requests_do_not_extend_the_ban(store: Store, clock: FakeClock) -> None:
    rl = limiter(store, clock, limit=1, window_s=10.0)
    rl.acquire("u1")
    for _ in range(5):
        clock.advance(1.0)
        rl.acquire("u1")
    clock.advance(5.0)  # t0 + 10: the only grant leaves the window
    assert rl.acquire("u1").allowed


def test_old_entries_are_trimmed(store: Store, clock: FakeClock) -> None:
    rl = limiter(store, clock, limit=5, window_s=1.0)
    for _ in range(5):
        rl.acquire("u1")
    clock.advance(2.0)
    rl.acquire("u1")
    assert rl.statistics().trimmed == 5
    assert store.timeline.size("ratelimit:per-user:{u1}") == 1


def test_statistics_count_grants_and_denials(store: Store, clock: FakeClock) -> None:
    rl = limiter(store, clock, limit=1)
    rl.acquire("u1")
    rl.acquire("u1")
    stats = rl.statistics()
    assert (stats.allowed, stats.denied) == (1, 1)


FCM_QUOTA_PER_MINUTE = 600_000  # FCM's default project quota


def test_a_provider_quota_is_one_key_per_provider(store: Store, clock: FakeClock) -> None:
    quota = RateLimiter(store.timeline, clock, limit=FCM_QUOTA_PER_MINUTE, window_s=60.0,
                        name="provider-quota")
    decision = quota.acquire("fcm")
    assert decision.allowed and decision.remaining == FCM_QUOTA_PER_MINUTE - 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"limit": 0}, "limit="), ({"limit": True}, "limit="), ({"window_s": 0.0}, "window_s="),
     ({"window_s": float("nan")}, "window_s="), ({"window_s": 1e-9}, "window_s="),
     ({"name": ""}, "name="), ({"name": "a{b}"}, "name=")],
)
def test_bad_settings_are_invalid(kwargs: dict[str, object], match: str, clock: FakeClock) -> None:
    store = connect("memory", clock=clock)
    args: dict[str, object] = {"limit": 1, "window_s": 1.0, "name": "x", **kwargs}
    with pytest.raises(InvalidArgument, match=match):
        RateLimiter(store.timeline, clock, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["", "a{b", 7])
def test_a_bad_key_is_invalid_and_writes_nothing(key: object, clock: FakeClock) -> None:
    store = connect("memory", clock=clock)
    rl = limiter(store, clock)
    with pytest.raises(InvalidArgument, match="key="):
        rl.acquire(key)  # type: ignore[arg-type]
    assert rl.statistics().allowed == 0


class LimiterAgainstTimestampList(RuleBasedStateMachine):
    """The limiter grants exactly when fewer than ``limit`` grants lie in (now - w, now]."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(start=1_000.0)
        self.store = connect("memory", clock=self.clock)
        self.limit, self.window_us = 3, 5_000_000
        self.rl = RateLimiter(self.store.timeline, self.clock, limit=self.limit, window_s=5.0,
                              name="sm")
        self.granted: dict[str, list[int]] = {"a": [], "b": []}
        self.now_us = 1_000_000_000

    @rule(key=st.sampled_from(["a", "b"]))
    def acquire(self, key: str) -> None:
        live = [t for t in self.granted[key] if t > self.now_us - self.window_us]
        decision = self.rl.acquire(key)
        assert decision.allowed == (len(live) < self.limit)
        if decision.allowed:
            self.granted[key].append(self.now_us)
            assert decision.remaining == self.limit - len(live) - 1
        else:
            expected_us = min(live) + self.window_us - self.now_us
            assert round(decision.retry_after_s * 1_000_000) == expected_us

    @rule(us=st.integers(0, 3_000_000))
    def advance(self, us: int) -> None:
        self.clock.advance(us / 1_000_000)
        self.now_us += us

    @precondition(lambda self: any(self.granted.values()))
    @rule()
    def advance_exactly_to_an_expiry(self) -> None:
        edge = max(t for ts in self.granted.values() for t in ts) + self.window_us
        if edge > self.now_us:
            self.clock.advance((edge - self.now_us) / 1_000_000)
            self.now_us = edge

    @invariant()
    def never_more_than_limit_grants_in_any_window(self) -> None:
        for times in self.granted.values():
            for t in times:
                in_window = [u for u in times if t - self.window_us < u <= t]
                assert len(in_window) <= self.limit


LimiterAgainstTimestampList.TestCase.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None
)
test_limiter_agrees_with_a_list_of_timestamps = LimiterAgainstTimestampList.TestCase
