"""Shared helpers for grader modules: deterministic hypothesis settings and a guarded clock.

A grader imports what it needs from here::

    from exercises.graders.support import GRADER_SETTINGS, GuardedClock

Examples
--------
>>> clock = GuardedClock(start=1.0)
>>> clock.now_ms()
1000
>>> clock.sleep(0.002)
>>> clock.now_ms()
1002
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from hypothesis import HealthCheck, Phase, settings

from reference.core.clock import FakeClock

__all__ = ["GRADER_SETTINGS", "IDLE_READS_LIMIT", "CountingIds", "GuardedClock"]

GRADER_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples on every run, so grade output is reproducible
    # No example database: nothing is saved between runs. Hypothesis' other caches
    # (constants, Unicode tables) go to a temporary directory that run_graders sets up.
    database=None,
    print_blob=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow "explain"
    suppress_health_check=[HealthCheck.too_slow],
)
"""Hypothesis settings every grader property uses: modest, deterministic, no example database.

Run through ``exercises.grade`` (or ``check``), a grader writes nothing in the working
directory; run with a bare ``pytest``, hypothesis may still cache in ``./.hypothesis``.
"""

IDLE_READS_LIMIT = 100_000
"""Reads of a clock that has not moved before :class:`GuardedClock` calls it a busy loop."""


class GuardedClock(FakeClock):
    """A :class:`FakeClock` that fails a busy loop instead of hanging the grader.

    A fake clock moves only when slept or advanced, so code that waits by re-reading it in a
    loop would spin forever. After :data:`IDLE_READS_LIMIT` reads without the time moving,
    a read raises ``AssertionError`` that explains how to wait.
    """

    __slots__ = ("_idle_reads",)

    def __init__(self, start: float = 0.0) -> None:
        super().__init__(start)
        self._idle_reads = 0

    def _count_read(self) -> None:
        self._idle_reads += 1
        if self._idle_reads > IDLE_READS_LIMIT:
            self._idle_reads = 0
            raise AssertionError(
                f"the clock was read {IDLE_READS_LIMIT} times while time stood still: a "
                "FakeClock moves only when you call clock.sleep(seconds) with at least a "
                "microsecond, so wait with sleep, not with a loop that re-reads the clock"
            )

    def now(self) -> float:
        self._count_read()
        return super().now()

    def now_ms(self) -> int:
        self._count_read()
        return super().now_ms()

    def advance(self, seconds: float) -> None:
        before = super().now()
        super().advance(seconds)
        if super().now() != before:
            self._idle_reads = 0

    def set_to(self, seconds: float) -> None:
        before = super().now()
        super().set_to(seconds)
        if super().now() != before:
            self._idle_reads = 0

    def set_to_ms(self, ms: int) -> None:
        """Jump to the start of Unix millisecond ``ms`` (backwards included)."""
        self.set_to(ms / 1000)


class CountingIds(Sequence[int]):
    """A newest-first list of ``length`` ids, ``top, top - step, ...``, made up on demand;
    ``reads`` counts every id handed out, by iteration or by index (a grader's proof that a
    merge or a page read lazily).

    >>> ids = CountingIds(top=100, step=2, length=1_000_000)
    >>> ids[:3], ids[-1], ids.reads
    ([100, 98, 96], -1999898, 4)
    """

    def __init__(self, top: int, step: int, length: int) -> None:
        self.top, self.step, self.length = top, step, length
        self.reads = 0

    def __len__(self) -> int:
        return self.length

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.length))]
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(index)
        self.reads += 1
        return self.top - index * self.step

    def __iter__(self) -> Iterator[int]:
        for index in range(self.length):
            self.reads += 1
            yield self.top - index * self.step
