"""The memory Timeline against a dict, driven by a Hypothesis state machine.

The model is a plain ``dict`` of member -> score; every read sorts it from scratch.
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reference.core.clock import FakeClock
from reference.storage import connect
from reference.storage.ports import WindowAdd

KEY = "feed:{1}"
MEMBERS = st.sampled_from(["a", "b", "c", "d", "e", "f", "aa", "B"])
SCORES = st.sampled_from([-2.5, -1.0, 0.0, 1.0, 1.0, 2.0, 3.5, 2.0**53, -(2.0**53)])
BOUNDS = st.sampled_from([float("-inf"), -1.0, 0.0, 1.0, 2.0, 3.5, float("inf")])


class TimelineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.timeline = connect("memory", clock=FakeClock()).timeline
        self.model: dict[str, float] = {}

    def ordered(self) -> list[tuple[str, float]]:
        return sorted(self.model.items(), key=lambda item: (item[1], item[0]))

    @rule(members=st.dictionaries(MEMBERS, SCORES, min_size=1, max_size=4))
    def add(self, members: dict[str, float]) -> None:
        new = len(members.keys() - self.model.keys())
        assert self.timeline.add(KEY, members) == new
        self.model.update(members)

    @rule(members=st.lists(MEMBERS, max_size=3))
    def remove(self, members: list[str]) -> None:
        present = {m for m in members if m in self.model}
        assert self.timeline.remove(KEY, *members) == len(present)
        for member in present:
            del self.model[member]

    @rule(max_len=st.integers(0, 6))
    def trim_to(self, max_len: int) -> None:
        ordered = self.ordered()
        doomed = ordered[: max(0, len(ordered) - max_len)]
        assert self.timeline.trim_to(KEY, max_len) == len(doomed)
        for member, _ in doomed:
            del self.model[member]

    @rule(score=SCORES, window=st.sampled_from([0.5, 1.0, 2.0, 10.0]),
          limit=st.integers(1, 6))
    def add_within_limit(self, score: float, window: float, limit: int) -> None:
        at = max([score, *self.model.values()])
        expired = [m for m, s in self.model.items() if s <= at - window]
        for member in expired:
            del self.model[member]
        room = len(self.model) < limit
        if room:
            n = len(self.model)
            while f"{at:.17g}#{n}" in self.model:
                n += 1
            self.model[f"{at:.17g}#{n}"] = at
        lowest = min(self.model.values()) if self.model else None
        assert self.timeline.add_within_limit(KEY, score, window=window, limit=limit) == (
            WindowAdd(room, at, len(self.model), len(expired), lowest))

    @rule(start=st.integers(-8, 8), stop=st.integers(-8, 8), descending=st.booleans())
    def range_by_rank(self, start: int, stop: int, descending: bool) -> None:
        ordered = self.ordered()[::-1] if descending else self.ordered()
        n = len(ordered)
        low = max(start + n if start < 0 else start, 0)
        high = stop + n if stop < 0 else stop
        expected = ordered[low : high + 1] if low <= high else []
        assert self.timeline.range_by_rank(KEY, start, stop, descending=descending) == expected

    @rule(
        low=BOUNDS,
        high=BOUNDS,
        exclusive=st.booleans(),
        descending=st.booleans(),
        limit=st.none() | st.integers(0, 4),
    )
    def range_by_score(
        self, low: float, high: float, exclusive: bool, descending: bool, limit: int | None
    ) -> None:
        expected = [
            (m, s) for m, s in self.ordered() if (s > low if exclusive else s >= low) and s <= high
        ]
        if descending:
            expected.reverse()
        if limit is not None:
            expected = expected[:limit]
        got = self.timeline.range_by_score(
            KEY, low, high, min_exclusive=exclusive, descending=descending, limit=limit
        )
        assert got == expected

    @invariant()
    def size_and_scores_match(self) -> None:
        assert self.timeline.size(KEY) == len(self.model)
        for member, score in self.model.items():
            assert self.timeline.score(KEY, member) == score


TestMemoryTimelineAgainstDict = TimelineMachine.TestCase
TestMemoryTimelineAgainstDict.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
