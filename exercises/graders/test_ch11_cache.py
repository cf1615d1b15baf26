"""Graders for exercises/ch11_cache.py: the LRU/FIFO cache with TTLs and statistics.

Each test reaches the code under test only through ``impl``. Time is a ``GuardedClock``
moved in steps of 1/4 s, and TTLs are multiples of 1/4 s, so "alive while now_us <
expires_us" meets no rounding. The state machine plays random sets, gets, deletes, clock
moves and purges against an ``OrderedDict`` model that keeps its own counters.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from exercises.graders.support import GRADER_SETTINGS, GuardedClock
from reference.blocks.cache import USE_DEFAULT_TTL, CacheStatistics
from reference.core.errors import InvalidArgument, PayloadTooLarge

SOLUTION = "reference.blocks.cache"

T0 = 1_000.0
US_PER_S = 1_000_000


def make(impl: Any, **settings_: Any) -> tuple[Any, GuardedClock]:
    clock = GuardedClock(start=T0)
    settings_.setdefault("capacity", 3)
    return impl.Cache(clock, **settings_), clock


def snapshot(cache: Any) -> CacheStatistics:
    got = cache.statistics()
    assert isinstance(got, CacheStatistics), (
        f"statistics() must return reference.blocks.cache.CacheStatistics, got {got!r}"
    )
    return got


def held(cache: Any, keys: str) -> str:
    """Which of ``keys`` (one letter each) are live in ``cache``, as a string."""
    return "".join(k for k in keys if k in cache)


# ----------------------------------------------------------------------------- cache-eviction

EVICTION_HINT = (
    "an OrderedDict in eviction order: popitem(last=False) is the victim; an LRU hit and "
    "every set move the key to the back (move_to_end); FIFO reads move nothing"
)


@pytest.mark.exercise(name="cache-eviction", points=3, hint=EVICTION_HINT)
def test_a_full_lru_cache_evicts_the_least_recently_used(impl: Any) -> None:
    cache, _ = make(impl, capacity=3, policy="lru")
    for key in "abc":
        cache.set(key, key.upper())
    assert cache.get("a") == "A", "a was set: get('a') must hit"
    cache.set("d", "D")  # b is now the least recently used
    assert held(cache, "abcd") == "acd", (
        f"after a, b, c, a read of a and a set of d, the cache holds {held(cache, 'abcd')!r}: "
        "LRU evicts b, the entry unread for longest"
    )
    assert len(cache) == 3, f"len(cache) = {len(cache)}, the capacity is 3"
    cache.get("c")
    cache.set("e", "E")  # now a is the least recently used
    assert held(cache, "acde") == "cde", (
        f"expected a evicted, the cache holds {held(cache, 'acde')!r}"
    )


@pytest.mark.exercise(name="cache-eviction", points=3, hint=EVICTION_HINT)
def test_a_full_fifo_cache_evicts_the_oldest_write_whatever_was_read(impl: Any) -> None:
    cache, _ = make(impl, capacity=3, policy="fifo")
    for key in "abc":
        cache.set(key, key.upper())
    for _ in range(3):
        assert cache.get("a") == "A"
    cache.set("d", "D")
    assert held(cache, "abcd") == "bcd", (
        f"FIFO ignores reads: a was written first and must leave first, the cache holds "
        f"{held(cache, 'abcd')!r}"
    )


@pytest.mark.exercise(name="cache-eviction", points=3, hint=EVICTION_HINT)
@pytest.mark.parametrize("policy", ["lru", "fifo"])
def test_setting_a_held_key_replaces_it_moves_it_back_and_evicts_nobody(
    impl: Any, policy: str
) -> None:
    cache, _ = make(impl, capacity=3, policy=policy)
    for key in "abc":
        cache.set(key, key.upper())
    cache.set("a", "A2")  # a is rewritten: the back of the line, in both policies
    assert held(cache, "abc") == "abc", "rewriting a held key must not evict anyone"
    assert cache.get("a") == "A2", "a set replaces the value"
    cache.set("d", "D")
    assert held(cache, "abcd") == "acd", (
        f"{policy}: a rewritten key goes to the back, so b leaves first; the cache holds "
        f"{held(cache, 'abcd')!r}"
    )


@pytest.mark.exercise(name="cache-eviction", points=3, hint=EVICTION_HINT)
def test_get_delete_in_and_len_do_what_they_say(impl: Any) -> None:
    cache, _ = make(impl, capacity=2)
    assert len(cache) == 0 and "a" not in cache and cache.get("a") is None
    cache.set(("feed", 1), (30, 20))  # any hashable key, any value but None
    assert cache.get(("feed", 1)) == (30, 20) and ("feed", 1) in cache and len(cache) == 1
    assert cache.delete(("feed", 1)) is True, "deleting a live entry returns True"
    assert cache.delete(("feed", 1)) is False, "deleting an absent key returns False"
    assert ("feed", 1) not in cache and len(cache) == 0 and cache.get(("feed", 1)) is None
    cache.set("x", 0)
    assert cache.get("x") == 0, "a falsy value (0) is a value, not a miss"


@pytest.mark.exercise(name="cache-eviction", points=3, hint=EVICTION_HINT)
def test_membership_changes_no_recency(impl: Any) -> None:
    cache, _ = make(impl, capacity=2, policy="lru")
    cache.set("a", 1)
    cache.set("b", 2)
    assert "a" in cache
    cache.set("c", 3)
    assert held(cache, "abc") == "bc", "`in` is not a read: it must not move a to the back"


# ---------------------------------------------------------------------------------- cache-ttl

TTL_HINT = (
    "alive while now_us < set_us + ttl_us, in whole microseconds of the injected clock; "
    "drop an expired entry when an operation finds it (lazy expiry)"
)


@pytest.mark.exercise(name="cache-ttl", points=3, hint=TTL_HINT)
def test_an_entry_lives_exactly_ttl_s_on_the_injected_clock(impl: Any) -> None:
    cache, clock = make(impl, ttl_s=1.0)
    cache.set("a", "A")
    clock.advance(0.75)
    assert cache.get("a") == "A", "0.75 s into a 1 s TTL the entry is alive"
    clock.advance(0.25)
    assert "a" not in cache and cache.get("a") is None, "at exactly 1 s the entry is expired"


@pytest.mark.exercise(name="cache-ttl", points=3, hint=TTL_HINT)
def test_a_per_entry_ttl_overrides_the_default_and_none_never_expires(impl: Any) -> None:
    cache, clock = make(impl, capacity=4, ttl_s=1.0)
    cache.set("default", 1)
    cache.set("short", 2, ttl_s=0.5)
    cache.set("long", 3, ttl_s=2.5)
    cache.set("forever", 4, ttl_s=None)
    alive = []
    for step in (0.5, 0.5, 1.5, 1_000.0):
        clock.advance(step)
        alive.append(sorted(k for k in ("default", "short", "long", "forever") if k in cache))
    assert alive == [["default", "forever", "long"], ["forever", "long"], ["forever"],
                     ["forever"]], f"live entries at +0.5, +1.0, +2.5 and +1002.5 s: {alive}"


@pytest.mark.exercise(name="cache-ttl", points=3, hint=TTL_HINT)
def test_a_cache_without_ttl_keeps_entries_until_evicted(impl: Any) -> None:
    cache, clock = make(impl, capacity=2)
    cache.set("a", 1)
    clock.advance(10 * 365 * 86_400.0)
    assert cache.get("a") == 1, "ttl_s=None (the default): entries never expire"


@pytest.mark.exercise(name="cache-ttl", points=3, hint=TTL_HINT)
def test_setting_again_starts_a_fresh_ttl(impl: Any) -> None:
    cache, clock = make(impl, ttl_s=1.0)
    cache.set("a", 1)
    clock.advance(0.75)
    cache.set("a", 2)
    clock.advance(0.75)
    assert cache.get("a") == 2, "the second set started a new 1 s TTL at +0.75 s"


@pytest.mark.exercise(name="cache-ttl", points=3, hint=TTL_HINT)
def test_expiry_is_lazy_until_an_operation_or_a_purge_notices(impl: Any) -> None:
    cache, clock = make(impl, capacity=5, ttl_s=1.0)
    for key in "abc":
        cache.set(key, key)
    cache.set("d", "d", ttl_s=None)
    clock.advance(1.0)
    assert held(cache, "abcd") == "d", "a, b and c are expired: `in` is False for them"
    assert len(cache) == 4, (
        f"len(cache) = {len(cache)}: nothing has noticed the three expired entries yet, so "
        "they still hold their slots (lazy expiry)"
    )
    assert cache.get("a") is None
    assert len(cache) == 3, "get found a expired and dropped it"
    assert cache.purge_expired() == 2, "purge_expired drops b and c and returns how many"
    assert len(cache) == 1 and cache.purge_expired() == 0


# --------------------------------------------------------------------------- cache-statistics

STATISTICS_HINT = (
    "count hits and misses in get; a victim still alive is an eviction, an expired one an "
    "expiration; keep the byte total current; return reference.blocks.cache.CacheStatistics"
)


@pytest.mark.exercise(name="cache-statistics", points=2, hint=STATISTICS_HINT)
def test_statistics_count_hits_misses_and_the_hit_rate(impl: Any) -> None:
    cache, _ = make(impl, capacity=2, name="content")
    empty = snapshot(cache)
    assert empty == CacheStatistics("content", 0, 0, 0.0, 0, 0, 0, 0, 2), (
        f"a new cache: {empty}"
    )
    cache.set("a", "hello")  # repr 'hello' is 7 characters
    cache.get("a")
    cache.get("a")
    cache.get("b")
    cache.set("b", 12)  # 2
    got = snapshot(cache)
    assert got == CacheStatistics("content", hits=2, misses=1, hit_rate=2 / 3, evictions=0,
                                  expirations=0, entries=2, bytes=9, capacity=2), got
    assert empty == CacheStatistics("content", 0, 0, 0.0, 0, 0, 0, 0, 2), (
        "an earlier snapshot must not change"
    )


@pytest.mark.exercise(name="cache-statistics", points=2, hint=STATISTICS_HINT)
def test_evictions_and_expirations_are_told_apart(impl: Any) -> None:
    cache, clock = make(impl, capacity=2, ttl_s=1.0, policy="fifo")
    cache.set("a", 1)
    cache.set("b", 2, ttl_s=None)
    clock.advance(1.0)
    cache.set("c", 3)  # the victim, a, had expired: an expiration, not an eviction
    cache.set("d", 4)  # the victim, b, was alive: an eviction
    got = snapshot(cache)
    assert (got.evictions, got.expirations) == (1, 1), (
        f"evictions={got.evictions}, expirations={got.expirations}: expected 1 and 1 (a left "
        "because its time was up, b was pushed out alive)"
    )
    cache.set("c", 30)  # c is alive: replaced, nothing counted
    clock.advance(1.0)
    cache.set("c", 31)  # c had expired: replacing it counts an expiration
    assert cache.delete("d") is False, "d had expired: delete returns False"
    got = snapshot(cache)
    assert (got.evictions, got.expirations, got.entries) == (1, 3, 1), got
    assert (got.hits, got.misses) == (0, 0), "set and delete count no hit or miss"


@pytest.mark.exercise(name="cache-statistics", points=2, hint=STATISTICS_HINT)
def test_bytes_follow_every_insert_replace_and_removal(impl: Any) -> None:
    cache, clock = make(impl, capacity=3, ttl_s=1.0)
    cache.set("a", "xx")  # 4
    cache.set("b", 123)  # 3
    assert snapshot(cache).bytes == 7
    cache.set("a", "x")  # 3: replaced
    assert snapshot(cache).bytes == 6
    cache.delete("b")
    assert snapshot(cache).bytes == 3
    clock.advance(1.0)
    cache.purge_expired()
    assert snapshot(cache).bytes == 0 and snapshot(cache).entries == 0


# ------------------------------------------------------------------------------- cache-model

KEYS = ["a", "b", "c", "d", "e"]
CAPACITY = 3
TTL_CHOICES: list[Any] = [USE_DEFAULT_TTL, None, 0.5, 1.25]


class Model:
    """The contract in a dozen lines: an OrderedDict of key -> (value, expires_us, size)."""

    def __init__(self, policy: str, ttl_s: float) -> None:
        self.policy, self.ttl_us = policy, round(ttl_s * US_PER_S)
        self.entries: OrderedDict[str, tuple[int, int | None, int]] = OrderedDict()
        self.hits = self.misses = self.evictions = self.expirations = 0

    def expired(self, key: str, now: int) -> bool:
        expires = self.entries[key][1]
        return expires is not None and now >= expires

    def get(self, key: str, now: int) -> int | None:
        if key in self.entries and self.expired(key, now):
            del self.entries[key]
            self.expirations += 1
        if key not in self.entries:
            self.misses += 1
            return None
        self.hits += 1
        if self.policy == "lru":
            self.entries.move_to_end(key)
        return self.entries[key][0]

    def set(self, key: str, value: int, ttl: Any, now: int) -> None:
        if key in self.entries:
            self.expirations += self.expired(key, now)
            del self.entries[key]
        while len(self.entries) >= CAPACITY:
            victim = next(iter(self.entries))
            if self.expired(victim, now):
                self.expirations += 1
            else:
                self.evictions += 1
            del self.entries[victim]
        ttl_us = self.ttl_us if ttl is USE_DEFAULT_TTL else (
            None if ttl is None else round(ttl * US_PER_S))
        self.entries[key] = (value, None if ttl_us is None else now + ttl_us, len(repr(value)))

    def delete(self, key: str, now: int) -> bool:
        if key not in self.entries:
            return False
        expired = self.expired(key, now)
        del self.entries[key]
        self.expirations += expired
        return not expired

    def purge(self, now: int) -> int:
        doomed = [k for k in self.entries if self.expired(k, now)]
        for key in doomed:
            del self.entries[key]
        self.expirations += len(doomed)
        return len(doomed)

    def statistics(self, name: str) -> CacheStatistics:
        lookups = self.hits + self.misses
        return CacheStatistics(name, self.hits, self.misses,
                               self.hits / lookups if lookups else 0.0, self.evictions,
                               self.expirations, len(self.entries),
                               sum(size for _, _, size in self.entries.values()), CAPACITY)


def cache_machine(impl: Any, policy: str) -> type[RuleBasedStateMachine]:
    class CacheAgainstOrderedDict(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = GuardedClock(start=T0)
            self.cache = impl.Cache(self.clock, capacity=CAPACITY, name="sm", policy=policy,
                                    ttl_s=1.0)
            self.model = Model(policy, 1.0)
            self.now_us = round(T0 * US_PER_S)
            self.at = 0.0

        def where(self) -> str:
            return f"({policy}, capacity {CAPACITY}, default TTL 1 s, at +{self.at} s)"

        @rule(key=st.sampled_from(KEYS), value=st.integers(0, 10**6),
              ttl=st.sampled_from(TTL_CHOICES))
        def set(self, key: str, value: int, ttl: Any) -> None:
            if ttl is USE_DEFAULT_TTL:
                self.cache.set(key, value)
            else:
                self.cache.set(key, value, ttl_s=ttl)
            self.model.set(key, value, ttl, self.now_us)

        @rule(key=st.sampled_from(KEYS))
        def get(self, key: str) -> None:
            got, expected = self.cache.get(key), self.model.get(key, self.now_us)
            assert got == expected, f"get({key!r}) = {got!r}, expected {expected!r} {self.where()}"

        @rule(key=st.sampled_from(KEYS))
        def delete(self, key: str) -> None:
            got, expected = self.cache.delete(key), self.model.delete(key, self.now_us)
            assert got == expected, f"delete({key!r}) = {got!r}, expected {expected} {self.where()}"

        @rule(key=st.sampled_from(KEYS))
        def contains(self, key: str) -> None:
            expected = key in self.model.entries and not self.model.expired(key, self.now_us)
            got = key in self.cache
            assert got == expected, f"{key!r} in cache is {got}, expected {expected} {self.where()}"

        @rule()
        def purge(self) -> None:
            got, expected = self.cache.purge_expired(), self.model.purge(self.now_us)
            assert got == expected, f"purge_expired() = {got}, expected {expected} {self.where()}"

        @rule(seconds=st.sampled_from([0.25, 0.5, 1.0]))
        def advance(self, seconds: float) -> None:
            self.clock.advance(seconds)
            self.now_us += round(seconds * US_PER_S)
            self.at += seconds

        @invariant()
        def statistics_and_length_agree(self) -> None:
            expected = self.model.statistics("sm")
            got = snapshot(self.cache)
            assert got == expected, f"statistics() = {got}, expected {expected} {self.where()}"
            assert len(self.cache) == len(self.model.entries), (
                f"len(cache) = {len(self.cache)}, expected {len(self.model.entries)} {self.where()}"
            )

    return CacheAgainstOrderedDict


@pytest.mark.exercise(
    name="cache-model",
    points=3,
    hint="random sets, gets, deletes, clock moves and purges must agree with an OrderedDict "
    "model, statistics included; read the failing steps hypothesis prints",
)
@pytest.mark.parametrize("policy", ["lru", "fifo"])
def test_random_histories_agree_with_an_ordered_dict_model(impl: Any, policy: str) -> None:
    run_state_machine_as_test(
        cache_machine(impl, policy),
        settings=settings(GRADER_SETTINGS, stateful_step_count=30),
    )


# --------------------------------------------------------------------------- cache-max-bytes

BYTES_HINT = (
    "evict from the front while held bytes + sizeof(value) > max_bytes; a value larger than "
    "max_bytes alone raises PayloadTooLarge and changes nothing"
)


@pytest.mark.exercise(name="cache-max-bytes", points=1, hint=BYTES_HINT)
def test_values_are_evicted_until_the_new_one_fits(impl: Any) -> None:
    cache, _ = make(impl, capacity=10, max_bytes=20)
    for key in "abc":
        cache.set(key, "aaaa")  # repr "'aaaa'": 6 bytes each, 18 in all
    cache.set("d", "bbbbbb")  # 8 bytes: 26 > 20, so a leaves (18 - 6 + 8 = 20)
    assert held(cache, "abcd") == "bcd", (
        f"expected a evicted, the cache holds {held(cache, 'abcd')!r}"
    )
    got = snapshot(cache)
    assert (got.bytes, got.evictions) == (20, 1), got


@pytest.mark.exercise(name="cache-max-bytes", points=1, hint=BYTES_HINT)
def test_a_custom_sizeof_measures_the_values(impl: Any) -> None:
    cache, _ = make(impl, capacity=10, max_bytes=100, sizeof=lambda ids: 8 * len(ids))
    cache.set("feed:{1}", tuple(range(10)))  # 80 bytes
    cache.set("feed:{2}", tuple(range(3)))  # 24: 104 > 100, so feed:{1} leaves
    assert "feed:{1}" not in cache and "feed:{2}" in cache
    assert snapshot(cache).bytes == 24


@pytest.mark.exercise(name="cache-max-bytes", points=1, hint=BYTES_HINT)
def test_a_value_larger_than_the_cache_is_refused_and_nothing_changes(impl: Any) -> None:
    cache, _ = make(impl, capacity=10, max_bytes=10)
    cache.set("a", "xx")
    before = snapshot(cache)
    with pytest.raises(PayloadTooLarge):
        cache.set("b", "x" * 20)
    assert "a" in cache and "b" not in cache and snapshot(cache) == before, (
        "a refused value must not evict anything"
    )


# --------------------------------------------------------------------------- cache-arguments

ARGUMENTS_HINT = (
    "capacity an int >= 1 (not a bool), policy 'lru' or 'fifo', ttl_s None or a finite "
    "number of at least 1 us, name a non-empty str, max_bytes None or an int >= 1, sizeof "
    "callable, clock a Clock; raise InvalidArgument"
)


@pytest.mark.exercise(name="cache-arguments", points=1, hint=ARGUMENTS_HINT)
@pytest.mark.parametrize(
    "bad",
    [
        {"capacity": 0}, {"capacity": -1}, {"capacity": True}, {"capacity": 1.5},
        {"capacity": "3"}, {"policy": "lfu"}, {"policy": None}, {"ttl_s": 0},
        {"ttl_s": -1.0}, {"ttl_s": math.inf}, {"ttl_s": math.nan}, {"ttl_s": True},
        {"ttl_s": 1e-9}, {"ttl_s": "60"}, {"name": ""}, {"name": None},
        {"max_bytes": 0}, {"max_bytes": True}, {"max_bytes": 1.5}, {"sizeof": "len"},
        {"clock": object()},
    ],
    ids=repr,
)
def test_bad_settings_are_rejected(impl: Any, bad: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"clock": GuardedClock(start=T0), "capacity": 2}
    impl.Cache(**arguments)  # valid settings must work
    with pytest.raises(InvalidArgument):
        impl.Cache(**{**arguments, **bad})


@pytest.mark.exercise(name="cache-arguments", points=1, hint=ARGUMENTS_HINT)
@pytest.mark.parametrize(
    ("key", "value", "ttl"),
    [([1], 1, USE_DEFAULT_TTL), ("a", None, USE_DEFAULT_TTL), ("a", 1, 0), ("a", 1, -1.0),
     ("a", 1, math.nan), ("a", 1, math.inf), ("a", 1, "1")],
    ids=["unhashable-key", "value-None", "ttl-0", "ttl-negative", "ttl-nan", "ttl-inf",
         "ttl-str"],
)
def test_a_bad_set_is_rejected_and_changes_nothing(
    impl: Any, key: Any, value: Any, ttl: Any
) -> None:
    cache, _ = make(impl, capacity=1)
    cache.set("a", "old")
    before = snapshot(cache)
    with pytest.raises(InvalidArgument):
        if ttl is USE_DEFAULT_TTL:
            cache.set(key, value)
        else:
            cache.set(key, value, ttl_s=ttl)
    assert snapshot(cache) == before and cache.get("a") == "old", (
        "a rejected set must leave the cache as it was"
    )


@pytest.mark.exercise(name="cache-arguments", points=1, hint=ARGUMENTS_HINT)
def test_unhashable_keys_are_rejected_by_get_and_delete_and_simply_not_in(impl: Any) -> None:
    cache, _ = make(impl, capacity=2)
    for call in (cache.get, cache.delete):
        with pytest.raises(InvalidArgument):
            call({"a": 1})
    assert [1] not in cache, "`in` answers False for an unhashable key"
    assert (snapshot(cache).hits, snapshot(cache).misses) == (0, 0), "rejected calls count nothing"


@pytest.mark.exercise(name="cache-arguments", points=1, hint=ARGUMENTS_HINT)
@pytest.mark.parametrize("size", [-1, 1.5, "3", True], ids=repr)
def test_a_sizeof_that_is_not_a_size_is_rejected(impl: Any, size: Any) -> None:
    cache, _ = make(impl, capacity=2, sizeof=lambda value: size)
    with pytest.raises(InvalidArgument):
        cache.set("a", 1)
    assert len(cache) == 0
