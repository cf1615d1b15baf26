"""A delayed queue: items held until a due time, then released (onto a work queue, say).

A building block any chapter can use. Two parts of chapter 10 need "not now, later": the
**retry queue** (재시도 전용 큐) holds a failed job until its backoff has elapsed, and quiet
hours **defer** a job to the end of the user's quiet window (deferred, never dropped). Both
are this one structure: a sorted set scored by due time on the injected clock.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> clock = FakeClock(start=100.0)
>>> store = connect("memory", clock=clock)
>>> later = DelayedQueue(store.timeline, name="retry")
>>> later.schedule("job-1", due_at=130.0)
>>> later.pop_due(now=clock.now())
[]
>>> clock.advance(30)
>>> later.pop_due(now=clock.now())
['job-1']
>>> later.statistics()
DelayedQueueStatistics(scheduled=1, released=1, waiting=0)
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.core.checks import check_time
from reference.core.errors import InvalidArgument
from reference.storage.ports import Timeline

__all__ = ["DelayedQueue", "DelayedQueueStatistics"]


@dataclass(frozen=True, slots=True)
class DelayedQueueStatistics:
    scheduled: int
    released: int
    waiting: int


class DelayedQueue:
    """Hold string items until ``due_at``; ``pop_due(now)`` releases every due item once.

    Parameters
    ----------
    timeline : Timeline
        The sorted-set port; the key is ``delayed:{<name>}``.
    name : str
        Which delayed queue ("retry", "deferred", ...).

    Notes
    -----
    ``schedule`` is one ZADD, ``pop_due`` one range scan plus one ZREM per item. Two pumps
    racing for the same item are safe: only the one whose remove succeeds releases it.
    Items must be unique strings (a serialised job with its attempt number is).
    """

    __slots__ = ("_key", "_released", "_scheduled", "_timeline", "name")

    def __init__(self, timeline: Timeline, *, name: str) -> None:
        if not isinstance(name, str) or not name or "{" in name or "}" in name:
            raise InvalidArgument.bad_value("name", name, "a non-empty name without braces")
        self._timeline = timeline
        self.name = name
        self._key = f"delayed:{{{name}}}"
        self._scheduled = 0
        self._released = 0

    def schedule(self, item: str, *, due_at: float) -> None:
        """Hold ``item`` until ``due_at`` (seconds on the injected clock)."""
        if not isinstance(item, str) or not item:
            raise InvalidArgument.bad_value("item", item, "a non-empty string")
        check_time("due_at", due_at)
        self._timeline.add(self._key, {item: float(due_at)})
        self._scheduled += 1

    def pop_due(self, *, now: float, limit: int | None = None) -> list[str]:
        """Remove and return the items due at or before ``now``, earliest first."""
        due = self._timeline.range_by_score(self._key, float("-inf"), now, limit=limit)
        released = [item for item, _ in due if self._timeline.remove(self._key, item) == 1]
        self._released += len(released)
        return released

    def next_due_at(self) -> float | None:
        """When the earliest item falls due (None if empty)."""
        first = self._timeline.range_by_rank(self._key, 0, 0)
        return first[0][1] if first else None

    def __len__(self) -> int:
        return self._timeline.size(self._key)

    def statistics(self) -> DelayedQueueStatistics:
        return DelayedQueueStatistics(
            scheduled=self._scheduled, released=self._released, waiting=len(self)
        )
