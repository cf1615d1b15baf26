"""The CappedList against a Python list per key, driven by a Hypothesis state machine.

The model is a plain ``dict`` of key -> ``list`` (newest first): a push inserts at 0 and
slices to the cap; with ``only_existing`` a push into an empty list (no key at all, as in
Redis) does nothing. Items come from a tiny alphabet so duplicates and removals are common.
The machine runs on the memory backend and, with fewer examples, on fakeredis.
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reference.core.clock import FakeClock
from reference.storage import Store, connect

KEYS = ("home:{1}", "home:{2}", "home:{3}")
KEY = st.sampled_from(KEYS)
SOME_KEYS = st.lists(KEY, max_size=4)  # repeats and the empty list included
ITEMS = st.sampled_from(["a", "b", "c", "", "트윗"])
MAX_LENS = st.integers(1, 5)
INDEXES = st.integers(-7, 7)


def lrange(items: list[str], start: int, stop: int) -> list[str]:
    """LRANGE's index rules, spelled out: negative from the end, ``stop`` inclusive."""
    n = len(items)
    low = max(start + n if start < 0 else start, 0)
    high = min(stop + n if stop < 0 else stop, n - 1)
    return items[low : high + 1] if low <= high else []


class CappedListMachine(RuleBasedStateMachine):
    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.store: Store = connect(self.backend, clock=FakeClock())
        self.model: dict[str, list[str]] = {key: [] for key in KEYS}

    def teardown(self) -> None:
        self.store.close()

    def push_model(self, key: str, item: str, max_len: int, only_existing: bool = False) -> int:
        """Push as the port does; with ``only_existing`` an empty list (no key) stays empty."""
        if only_existing and not self.model[key]:
            return 0
        self.model[key] = [item, *self.model[key]][:max_len]
        return len(self.model[key])

    @rule(key=KEY, item=ITEMS, max_len=MAX_LENS, only_existing=st.booleans())
    def push(self, key: str, item: str, max_len: int, only_existing: bool) -> None:
        expected = self.push_model(key, item, max_len, only_existing)
        got = self.store.lists.push(key, item, max_len=max_len, only_existing=only_existing)
        assert got == expected

    @rule(keys=SOME_KEYS, item=ITEMS, max_len=MAX_LENS, only_existing=st.booleans())
    def push_to_many(self, keys: list[str], item: str, max_len: int, only_existing: bool) -> None:
        for key in dict.fromkeys(keys):
            self.push_model(key, item, max_len, only_existing)
        assert self.store.lists.push_to_many(
            keys, item, max_len=max_len, only_existing=only_existing
        ) is None

    @rule(key=KEY, item=ITEMS)
    def remove(self, key: str, item: str) -> None:
        expected = self.model[key].count(item)
        self.model[key] = [other for other in self.model[key] if other != item]
        assert self.store.lists.remove(key, item) == expected

    @rule(keys=SOME_KEYS, item=ITEMS)
    def remove_from_many(self, keys: list[str], item: str) -> None:
        expected = 0
        for key in dict.fromkeys(keys):
            expected += self.model[key].count(item)
            self.model[key] = [other for other in self.model[key] if other != item]
        assert self.store.lists.remove_from_many(keys, item) == expected

    @rule(key=KEY, start=INDEXES, stop=INDEXES)
    def range(self, key: str, start: int, stop: int) -> None:
        assert self.store.lists.range(key, start, stop) == lrange(self.model[key], start, stop)

    @rule(keys=SOME_KEYS, start=INDEXES, stop=INDEXES)
    def range_many(self, keys: list[str], start: int, stop: int) -> None:
        expected = [lrange(self.model[key], start, stop) for key in keys]
        assert self.store.lists.range_many(keys, start, stop) == expected

    @invariant()
    def lengths_and_contents_match(self) -> None:
        for key in KEYS:
            assert self.store.lists.length(key) == len(self.model[key])
        assert self.store.lists.range_many(list(KEYS), 0, -1) == [self.model[k] for k in KEYS]


class FakeRedisCappedListMachine(CappedListMachine):
    backend = "fakeredis"


TestMemoryCappedListAgainstList = CappedListMachine.TestCase
TestMemoryCappedListAgainstList.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestFakeRedisCappedListAgainstList = FakeRedisCappedListMachine.TestCase
TestFakeRedisCappedListAgainstList.settings = settings(
    max_examples=20, stateful_step_count=30, deadline=None
)
