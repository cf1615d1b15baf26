"""The in-process cache: LRU and FIFO eviction, byte limits, TTLs on the injected clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reference.blocks.cache import (
    USE_DEFAULT_TTL,
    Cache,
    CacheStatistics,
    EvictionPolicy,
    UseDefault,
    estimate_bytes,
)
from reference.core.clock import US_PER_S, FakeClock
from reference.core.errors import InvalidArgument, PayloadTooLarge


def cache(clock: FakeClock, **kwargs: Any) -> Cache[Any, Any]:
    kwargs.setdefault("capacity", 3)
    return Cache(clock, **kwargs)


# ── reads and statistics ────────────────────────────────────────────────────────────────


def test_a_hit_returns_the_value_and_a_miss_returns_none_each_counted(clock: FakeClock) -> None:
    c = cache(clock, name="feed")
    c.set("a", (1, 2))
    assert c.get("a") == (1, 2)
    assert c.get("b") is None
    assert c.statistics() == CacheStatistics(
        name="feed", hits=1, misses=1, hit_rate=0.5, evictions=0, expirations=0, entries=1,
        bytes=estimate_bytes((1, 2)), capacity=3)


def test_the_hit_rate_is_zero_before_any_lookup(clock: FakeClock) -> None:
    c = cache(clock)
    c.set("a", 1)
    assert c.statistics().hit_rate == 0.0


def test_get_many_returns_the_found_entries_in_the_order_asked_and_counts_each_key(
    clock: FakeClock,
) -> None:
    c = cache(clock)
    c.set("a", 1)
    c.set("b", 2)
    assert c.get_many(["b", "x", "a", "b"]) == {"b": 2, "a": 1}
    assert list(c.get_many(["b", "a"])) == ["b", "a"]
    stats = c.statistics()
    assert (stats.hits, stats.misses) == (5, 1)


def test_get_many_with_an_unhashable_key_is_refused_before_any_lookup(clock: FakeClock) -> None:
    c = cache(clock)
    c.set("a", 1)
    with pytest.raises(InvalidArgument, match="key"):
        c.get_many(["a", ["not", "hashable"]])
    assert c.statistics().hits == 0


def test_peek_and_contains_change_no_statistics_and_no_recency(clock: FakeClock) -> None:
    c = cache(clock, capacity=2)
    c.set("a", 1)
    c.set("b", 2)
    assert c.peek("a") == 1 and "a" in c and c.peek("zz") is None and "zz" not in c
    assert [] not in c  # unhashable: simply absent
    c.set("c", 3)  # "a" was only peeked: still the least recently used
    assert "a" not in c and "b" in c
    stats = c.statistics()
    assert (stats.hits, stats.misses) == (0, 0)


# ── eviction ────────────────────────────────────────────────────────────────────────────


def test_lru_evicts_the_entry_read_least_recently(clock: FakeClock) -> None:
    c = cache(clock, policy="lru")
    for key in "abc":
        c.set(key, key)
    c.get("a")
    c.set("d", "d")
    assert "b" not in c and {"a", "c", "d"} <= {k for k in "abcd" if k in c}
    assert c.statistics().evictions == 1


def test_fifo_evicts_the_oldest_write_even_if_it_was_just_read(clock: FakeClock) -> None:
    c = cache(clock, policy="fifo")
    for key in "abc":
        c.set(key, key)
    c.get("a")
    c.set("d", "d")
    assert "a" not in c and all(k in c for k in "bcd")


@pytest.mark.parametrize("policy", ["lru", "fifo"])
def test_setting_a_held_key_replaces_it_and_moves_it_to_the_back(
    clock: FakeClock, policy: EvictionPolicy
) -> None:
    c = cache(clock, policy=policy)
    for key in "abc":
        c.set(key, key)
    c.set("a", "A")
    c.set("d", "d")
    assert c.peek("a") == "A" and "b" not in c
    assert c.statistics().entries == 3


def test_max_bytes_evicts_from_the_front_until_the_new_value_fits(clock: FakeClock) -> None:
    c = cache(clock, capacity=10, max_bytes=10, sizeof=len)
    c.set("a", "xxxx")
    c.set("b", "yyyy")
    c.set("c", "zzzzzz")  # 4 + 4 + 6 > 10: "a" leaves, then 4 + 6 fits
    assert "a" not in c and "b" in c and "c" in c
    stats = c.statistics()
    assert (stats.bytes, stats.entries, stats.evictions) == (10, 2, 1)


def test_a_value_larger_than_max_bytes_is_refused_and_nothing_changes(clock: FakeClock) -> None:
    c = cache(clock, max_bytes=5, sizeof=len)
    c.set("a", "xxxx")
    with pytest.raises(PayloadTooLarge):
        c.set("b", "yyyyyy")
    with pytest.raises(PayloadTooLarge):
        c.set("a", "yyyyyy")
    assert c.peek("a") == "xxxx" and c.statistics().bytes == 4


# ── expiry ──────────────────────────────────────────────────────────────────────────────


def test_an_entry_lives_exactly_its_ttl_on_the_injected_clock(clock: FakeClock) -> None:
    c = cache(clock, ttl_s=2.0)
    c.set("a", 1)
    clock.advance(2.0 - 1 / US_PER_S)
    assert c.get("a") == 1
    clock.advance(1 / US_PER_S)
    assert "a" not in c and c.peek("a") is None
    assert len(c) == 1  # not noticed yet: lazy expiry
    assert c.get("a") is None
    stats = c.statistics()
    assert (stats.hits, stats.misses, stats.expirations, stats.entries) == (1, 1, 1, 0)


def test_a_per_set_ttl_overrides_the_default_and_none_means_never(clock: FakeClock) -> None:
    c = cache(clock, capacity=4, ttl_s=1.0)
    c.set("default", 1)
    c.set("short", 2, ttl_s=0.5)
    c.set("forever", 3, ttl_s=None)
    c.set("explicit_default", 4, ttl_s=USE_DEFAULT_TTL)
    clock.advance(0.5)
    assert [k in c for k in ("default", "short", "forever", "explicit_default")] == [
        True, False, True, True]
    clock.advance(1_000_000)
    assert [k in c for k in ("default", "forever", "explicit_default")] == [False, True, False]
    assert isinstance(USE_DEFAULT_TTL, UseDefault) and c.ttl_s == 1.0


def test_setting_a_key_again_restarts_its_ttl(clock: FakeClock) -> None:
    c = cache(clock, ttl_s=1.0)
    c.set("a", 1)
    clock.advance(0.9)
    c.set("a", 2)
    clock.advance(0.9)
    assert c.get("a") == 2


def test_an_expired_victim_counts_as_an_expiration_not_an_eviction(clock: FakeClock) -> None:
    c = cache(clock, capacity=2)
    c.set("old", 1, ttl_s=1.0)
    c.set("b", 2)
    clock.advance(1.0)
    c.set("c", 3)
    stats = c.statistics()
    assert (stats.evictions, stats.expirations, stats.entries) == (0, 1, 2)


def test_delete_says_whether_a_live_entry_was_removed(clock: FakeClock) -> None:
    c = cache(clock)
    c.set("a", 1)
    c.set("b", 2, ttl_s=1.0)
    clock.advance(1.0)
    assert c.delete("a") is True
    assert c.delete("a") is False
    assert c.delete("b") is False  # it had expired
    stats = c.statistics()
    assert (stats.entries, stats.expirations, stats.bytes) == (0, 1, 0)


def test_purge_expired_drops_every_expired_entry_at_once(clock: FakeClock) -> None:
    c = cache(clock, capacity=10)
    for n in range(5):
        c.set(n, n, ttl_s=float(n + 1))
    clock.advance(3.0)
    assert c.purge_expired() == 3
    assert len(c) == 2 and c.statistics().expirations == 3


def test_clear_drops_every_entry_and_the_counters_keep_counting(clock: FakeClock) -> None:
    c = cache(clock)
    c.set("a", 1)
    c.get("a")
    c.clear()
    assert len(c) == 0 and c.get("a") is None
    stats = c.statistics()
    assert (stats.hits, stats.misses, stats.entries, stats.bytes) == (1, 1, 0, 0)


def test_the_cache_describes_itself(clock: FakeClock) -> None:
    c = cache(clock, name="users", policy="fifo", max_bytes=100, ttl_s=5)
    assert (c.name, c.capacity, c.policy, c.max_bytes, c.ttl_s, c.clock) == (
        "users", 3, "fifo", 100, 5.0, clock)
    assert repr(c) == "Cache(name='users', policy='fifo', entries=0/3)"


# ── bad input ───────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "kwargs",
    [
        {"capacity": 0},
        {"capacity": True},
        {"capacity": 2.0},
        {"name": ""},
        {"name": 3},
        {"policy": "lfu"},
        {"ttl_s": 0},
        {"ttl_s": -1.0},
        {"ttl_s": float("nan")},
        {"ttl_s": 1e-9},
        {"max_bytes": 0},
        {"max_bytes": 1.5},
        {"sizeof": "len"},
    ],
)
def test_bad_constructor_arguments_are_refused(clock: FakeClock, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        cache(clock, **kwargs)


def test_a_cache_without_a_clock_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="clock"):
        Cache(object(), capacity=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "value", "ttl"),
    [
        ([1], 1, USE_DEFAULT_TTL),
        ("a", None, USE_DEFAULT_TTL),
        ("a", 1, 0.0),
        ("a", 1, "1"),
        ("a", 1, True),
    ],
)
def test_a_bad_set_is_refused_and_changes_nothing(
    clock: FakeClock, key: Any, value: Any, ttl: Any
) -> None:
    c = cache(clock, capacity=1)
    c.set("a", "kept")
    with pytest.raises(InvalidArgument):
        c.set(key, value, ttl_s=ttl)
    assert c.peek("a") == "kept" and len(c) == 1


def test_a_sizeof_that_answers_nonsense_is_refused(clock: FakeClock) -> None:
    c = cache(clock, sizeof=lambda value: -1)
    with pytest.raises(InvalidArgument, match="sizeof"):
        c.set("a", 1)
    assert len(c) == 0


@pytest.mark.parametrize("op", ["get", "peek", "delete"])
def test_an_unhashable_key_is_refused_by_every_lookup(clock: FakeClock, op: str) -> None:
    with pytest.raises(InvalidArgument, match="hashable"):
        getattr(cache(clock), op)({"a": 1})


# ── the state machine against a plain model ─────────────────────────────────────────────


@dataclass
class ModelEntry:
    value: Any
    expires_us: int | None
    size: int
    written: int  # when it was set (a tick)
    used: int  # when it was last set or hit (a tick)


KEYS = st.sampled_from(["a", "b", "c", "d", "e", 1, 2, (1, 2)])
VALUES = st.sampled_from(["x", "yy", "zzzz", 7, 1234, (1, 2, 3), False])
TTLS = st.sampled_from([USE_DEFAULT_TTL, None, 0.5, 1.0, 2.5])
STEPS_S = st.sampled_from([0.0, 0.25, 0.5, 1.0])
DEFAULT_TTL_S = 1.0


class CacheMachine(RuleBasedStateMachine):
    """The cache vs a dict of entries stamped with ticks: the victim is found by a linear
    scan for the smallest ``used`` (LRU) or ``written`` (FIFO) tick."""

    POLICY: EvictionPolicy = "lru"
    CAPACITY = 3
    MAX_BYTES: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(start=0.0)
        self.cache: Cache[Any, Any] = Cache(
            self.clock, capacity=self.CAPACITY, policy=self.POLICY, ttl_s=DEFAULT_TTL_S,
            max_bytes=self.MAX_BYTES, name="model")
        self.now_us = 0
        self.tick = 0
        self.entries: dict[Any, ModelEntry] = {}
        self.hits = self.misses = self.evictions = self.expirations = 0

    def expired(self, entry: ModelEntry) -> bool:
        return entry.expires_us is not None and self.now_us >= entry.expires_us

    def next_tick(self) -> int:
        self.tick += 1
        return self.tick

    def model_get(self, key: Any) -> Any:
        entry = self.entries.get(key)
        if entry is not None and self.expired(entry):
            del self.entries[key]
            self.expirations += 1
            entry = None
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        entry.used = self.next_tick()
        return entry.value

    def victim(self) -> Any:
        order = "used" if self.POLICY == "lru" else "written"
        return min(self.entries, key=lambda k: getattr(self.entries[k], order))

    @rule(key=KEYS, value=VALUES, ttl=TTLS)
    def set(self, key: Any, value: Any, ttl: Any) -> None:
        size = estimate_bytes(value)
        if self.MAX_BYTES is not None and size > self.MAX_BYTES:
            with pytest.raises(PayloadTooLarge):
                self.cache.set(key, value, ttl_s=ttl)
            return
        self.cache.set(key, value, ttl_s=ttl)
        old = self.entries.pop(key, None)
        if old is not None and self.expired(old):
            self.expirations += 1
        while len(self.entries) >= self.CAPACITY or (
            self.MAX_BYTES is not None
            and sum(e.size for e in self.entries.values()) + size > self.MAX_BYTES
        ):
            gone = self.entries.pop(self.victim())
            if self.expired(gone):
                self.expirations += 1
            else:
                self.evictions += 1
        ttl_s = DEFAULT_TTL_S if isinstance(ttl, UseDefault) else ttl
        expires = None if ttl_s is None else self.now_us + round(ttl_s * US_PER_S)
        tick = self.next_tick()
        self.entries[key] = ModelEntry(value, expires, size, tick, tick)

    @rule(key=KEYS)
    def get(self, key: Any) -> None:
        assert self.cache.get(key) == self.model_get(key)

    @rule(keys=st.lists(KEYS, max_size=4))
    def get_many(self, keys: list[Any]) -> None:
        expected = {}
        for key in keys:
            value = self.model_get(key)
            if value is not None:
                expected[key] = value
        assert self.cache.get_many(keys) == expected

    @rule(key=KEYS)
    def peek_and_contains(self, key: Any) -> None:
        entry = self.entries.get(key)
        live = entry is not None and not self.expired(entry)
        assert (key in self.cache) is live
        assert self.cache.peek(key) == (entry.value if live and entry else None)

    @rule(key=KEYS)
    def delete(self, key: Any) -> None:
        entry = self.entries.pop(key, None)
        live = entry is not None and not self.expired(entry)
        if entry is not None and not live:
            self.expirations += 1
        assert self.cache.delete(key) is live

    @rule(step_s=STEPS_S)
    def time_passes(self, step_s: float) -> None:
        self.clock.advance(step_s)
        self.now_us += round(step_s * US_PER_S)

    @rule()
    def purge_expired(self) -> None:
        doomed = [k for k, e in self.entries.items() if self.expired(e)]
        for key in doomed:
            del self.entries[key]
        self.expirations += len(doomed)
        assert self.cache.purge_expired() == len(doomed)

    @invariant()
    def statistics_match_the_model(self) -> None:
        lookups = self.hits + self.misses
        assert self.cache.statistics() == CacheStatistics(
            name="model", hits=self.hits, misses=self.misses,
            hit_rate=self.hits / lookups if lookups else 0.0, evictions=self.evictions,
            expirations=self.expirations, entries=len(self.entries),
            bytes=sum(e.size for e in self.entries.values()), capacity=self.CAPACITY)
        assert len(self.cache) == len(self.entries) <= self.CAPACITY
        if self.MAX_BYTES is not None:
            assert self.cache.statistics().bytes <= self.MAX_BYTES


class FifoCacheMachine(CacheMachine):
    POLICY: EvictionPolicy = "fifo"


class LruBytesCacheMachine(CacheMachine):
    CAPACITY = 5
    MAX_BYTES = 12


class FifoBytesCacheMachine(CacheMachine):
    POLICY: EvictionPolicy = "fifo"
    CAPACITY = 5
    MAX_BYTES = 12


TestLruCacheAgainstModel = CacheMachine.TestCase
TestFifoCacheAgainstModel = FifoCacheMachine.TestCase
TestLruCacheWithByteLimitAgainstModel = LruBytesCacheMachine.TestCase
TestFifoCacheWithByteLimitAgainstModel = FifoBytesCacheMachine.TestCase
for _case in (TestLruCacheAgainstModel, TestFifoCacheAgainstModel,
              TestLruCacheWithByteLimitAgainstModel, TestFifoCacheWithByteLimitAgainstModel):
    _case.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
del _case
