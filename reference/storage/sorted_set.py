"""An in-memory sorted set with Redis ZSET semantics, on a sorted list and a dict.

The list holds ``(score, member)`` pairs in order, so ties in score fall back to the member
string exactly as in Redis; the dict answers "what is this member's score?" in O(1).

Examples
--------
>>> zset = SortedSet()
>>> zset.add("b", 1.0), zset.add("a", 1.0), zset.add("c", 0.5), zset.add("a", 2.0)
(True, True, True, False)
>>> zset.by_rank(0, -1)
[('c', 0.5), ('b', 1.0), ('a', 2.0)]
>>> zset.by_score(0.5, 2.0, min_exclusive=True, descending=True, limit=1)
[('a', 2.0)]
>>> zset.remove_lowest(2)
2
>>> len(zset), zset.score("a")
(1, 2.0)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from operator import itemgetter

__all__ = ["SortedSet"]

_score_of = itemgetter(0)


class SortedSet:
    """Members ordered by (score, member).

    Notes
    -----
    ``add``/``discard`` are O(log n) to find plus O(n) to shift the list (a C memmove, fast
    for the hundreds to low millions of entries a feed or a queue holds); ``score`` is O(1);
    range reads are O(log n + k). The trade-off: a balanced tree would make inserts
    O(log n), at the price of much more code to read.
    """

    __slots__ = ("_entries", "_scores")

    def __init__(self) -> None:
        self._entries: list[tuple[float, str]] = []
        self._scores: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._scores)

    def add(self, member: str, score: float) -> bool:
        """Insert or re-score ``member``; True if it was new."""
        old = self._scores.get(member)
        if old is not None:
            if old == score:
                return False
            del self._entries[bisect_left(self._entries, (old, member))]
        insort(self._entries, (score, member))
        self._scores[member] = score
        return old is None

    def discard(self, member: str) -> bool:
        """Remove ``member``; True if it was there."""
        old = self._scores.pop(member, None)
        if old is None:
            return False
        del self._entries[bisect_left(self._entries, (old, member))]
        return True

    def score(self, member: str) -> float | None:
        return self._scores.get(member)

    def members(self) -> list[str]:
        """Every member, in order."""
        return [member for _, member in self._entries]

    def by_rank(
        self, start: int, stop: int, *, descending: bool = False
    ) -> list[tuple[str, float]]:
        """Ranks ``start..stop`` inclusive, negative from the end (ZRANGE / ZREVRANGE)."""
        size = len(self._entries)
        if start < 0:
            start += size
        if stop < 0:
            stop += size
        start = max(start, 0)
        stop = min(stop, size - 1)
        if start > stop:
            return []
        if descending:
            picked = self._entries[size - 1 - stop : size - start][::-1]
        else:
            picked = self._entries[start : stop + 1]
        return [(member, score) for score, member in picked]

    def by_score(
        self,
        min_score: float,
        max_score: float,
        *,
        min_exclusive: bool = False,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, float]]:
        """Members with ``min_score <= score <= max_score`` (``<`` if ``min_exclusive``)."""
        if not self._entries or self._entries[0][0] > max_score:
            return []  # all above the range: a queue's usual "nothing is due yet", in O(1)
        if min_exclusive:
            low = bisect_right(self._entries, min_score, key=_score_of)
        else:
            low = bisect_left(self._entries, min_score, key=_score_of)
        high = bisect_right(self._entries, max_score, key=_score_of)
        picked = self._entries[low:high]
        if descending:
            picked.reverse()
        if limit is not None:
            picked = picked[:limit]
        return [(member, score) for score, member in picked]

    def count_by_score(self, min_score: float, max_score: float, *, min_exclusive: bool) -> int:
        """How many members :meth:`by_score` would return without a limit (ZCOUNT)."""
        if min_exclusive:
            low = bisect_right(self._entries, min_score, key=_score_of)
        else:
            low = bisect_left(self._entries, min_score, key=_score_of)
        return max(0, bisect_right(self._entries, max_score, key=_score_of) - low)

    def remove_lowest(self, count: int) -> int:
        """Drop the ``count`` lowest-ranked members; return how many went."""
        dropped = self._entries[:count]
        del self._entries[:count]
        for _, member in dropped:
            del self._scores[member]
        return len(dropped)
