"""The IdTimeline against a set of ints per key, driven by a Hypothesis state machine.

The model is a plain ``dict`` of key -> ``set`` of ids; every read sorts it from scratch.
An empty set is a key that does not exist, so a write with ``only_existing`` skips it.
Ids come mostly from a small pool (so adds repeat and removes hit), with neighbours above
2**53 that a double cannot tell apart. The machine runs on the memory backend and, with
fewer examples, on fakeredis.
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reference.core.clock import FakeClock
from reference.storage import Store, connect

KEYS = ("feed:{1}", "feed:{2}", "feed:{3}")
BIG = 2**61
POOL = [0, 1, 2, 2**53, 2**53 + 1, BIG, BIG + 1, BIG + 2, BIG + 256, 2**63 - 2, 2**63 - 1]
IDS = st.sampled_from(POOL) | st.integers(0, 2**63 - 1)
CURSORS = st.sampled_from([*POOL, BIG + 128])
KEY = st.sampled_from(KEYS)
SOME_KEYS = st.lists(KEY, max_size=4)  # repeats and the empty list included
LIMITS = st.integers(1, 5)


class IdTimelineMachine(RuleBasedStateMachine):
    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.store: Store = connect(self.backend, clock=FakeClock())
        self.model: dict[str, set[int]] = {key: set() for key in KEYS}

    def teardown(self) -> None:
        self.store.close()

    def expected_newest(self, key: str, limit: int, before: int | None = None) -> list[int]:
        below = [i for i in self.model[key] if before is None or i < before]
        return sorted(below, reverse=True)[:limit]

    def cursor(self, data: st.DataObject, key: str) -> int:
        """A cursor: mostly an id the key holds (where an off-by-one shows), else any."""
        held = sorted(self.model[key])
        if held and data.draw(st.booleans()):
            return data.draw(st.sampled_from(held))
        return data.draw(CURSORS)

    def trim_model(self, key: str, max_len: int) -> int:
        doomed = sorted(self.model[key])[: max(0, len(self.model[key]) - max_len)]
        self.model[key] -= set(doomed)
        return len(doomed)

    def exists(self, key: str) -> bool:
        """An empty timeline is no key at all (as an empty ZSET in Redis)."""
        return bool(self.model[key])

    @rule(key=KEY, ids=st.lists(IDS, max_size=5), only_existing=st.booleans())
    def add(self, key: str, ids: list[int], only_existing: bool) -> None:
        writes = self.exists(key) or not only_existing
        expected = len(set(ids) - self.model[key]) if writes else 0
        assert self.store.id_timeline.add(key, ids, only_existing=only_existing) == expected
        if writes:
            self.model[key] |= set(ids)

    @rule(keys=SOME_KEYS, new_id=IDS, max_len=st.none() | st.integers(1, 4),
          only_existing=st.booleans())
    def add_to_many(
        self, keys: list[str], new_id: int, max_len: int | None, only_existing: bool
    ) -> None:
        new = 0
        for key in dict.fromkeys(keys):
            if only_existing and not self.exists(key):
                continue  # a feed that is not cached is never created by a fanout
            new += new_id not in self.model[key]
            self.model[key].add(new_id)
            if max_len is not None:
                self.trim_model(key, max_len)
        got = self.store.id_timeline.add_to_many(
            keys, new_id, max_len=max_len, only_existing=only_existing
        )
        assert got == new

    @rule(key=KEY, ids=st.lists(IDS, max_size=3))
    def remove(self, key: str, ids: list[int]) -> None:
        present = set(ids) & self.model[key]
        assert self.store.id_timeline.remove(key, *ids) == len(present)
        self.model[key] -= present

    @rule(keys=SOME_KEYS, doomed=IDS)
    def remove_from_many(self, keys: list[str], doomed: int) -> None:
        holders = [key for key in dict.fromkeys(keys) if doomed in self.model[key]]
        assert self.store.id_timeline.remove_from_many(keys, doomed) == len(holders)
        for key in holders:
            self.model[key].discard(doomed)

    @rule(key=KEY, max_len=st.integers(0, 6))
    def trim_to(self, key: str, max_len: int) -> None:
        expected = self.trim_model(key, max_len)
        assert self.store.id_timeline.trim_to(key, max_len) == expected

    @rule(data=st.data(), key=KEY, limit=LIMITS, from_the_top=st.booleans())
    def newest(self, data: st.DataObject, key: str, limit: int, from_the_top: bool) -> None:
        before = None if from_the_top else self.cursor(data, key)
        got = self.store.id_timeline.newest(key, limit=limit, before=before)
        assert got == self.expected_newest(key, limit, before)

    @rule(data=st.data(), key=KEY, limit=LIMITS)
    def oldest_after(self, data: st.DataObject, key: str, limit: int) -> None:
        after = self.cursor(data, key)
        expected = sorted(i for i in self.model[key] if i > after)[:limit]
        assert self.store.id_timeline.oldest_after(key, after, limit=limit) == expected

    @rule(keys=SOME_KEYS, limit=LIMITS)
    def newest_many(self, keys: list[str], limit: int) -> None:
        expected = [self.expected_newest(key, limit) for key in keys]
        assert self.store.id_timeline.newest_many(keys, limit=limit) == expected

    @invariant()
    def sizes_match(self) -> None:
        for key in KEYS:
            assert self.store.id_timeline.size(key) == len(self.model[key])


class FakeRedisIdTimelineMachine(IdTimelineMachine):
    backend = "fakeredis"


TestMemoryIdTimelineAgainstSets = IdTimelineMachine.TestCase
TestMemoryIdTimelineAgainstSets.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestFakeRedisIdTimelineAgainstSets = FakeRedisIdTimelineMachine.TestCase
TestFakeRedisIdTimelineAgainstSets.settings = settings(
    max_examples=20, stateful_step_count=30, deadline=None
)
