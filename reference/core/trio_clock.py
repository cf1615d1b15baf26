"""The one bridge from trio's time to a ``core`` clock: :class:`TrioClock`.

Components take a ``clock`` (:class:`~reference.core.clock.Clock`: ``now()``, ``now_ms()``,
``sleep()``). Which clock depends on who moves time:

- **plain code and** :mod:`reference.core.sim` (chapters 10 and 11): a
  :class:`~reference.core.clock.FakeClock`, moved by the test, the notebook or the simulator;
- **trio code** (chapter 12's servers, connections and presence): a :class:`TrioClock`, which
  reads trio's own time. Run it under ``trio.run(main, clock=MockClock(autojump_threshold=0))``
  and time is virtual: whenever every task waits, trio jumps straight to the next deadline, so
  an hour of heartbeats (박동 검사) runs in milliseconds and gives the same answer every time.

``now()`` is ``epoch + trio.current_time()``: ``epoch`` says which Unix time trio's zero stands
for (a ``MockClock`` starts at zero, so ``epoch`` is the time the run starts at). Time is kept in
whole microseconds, as :class:`~reference.core.clock.FakeClock` keeps it, so ``now_ms()`` is an
exact floor (0.1 s then 0.2 s of sleep is exactly 300 ms).

**A synchronous sleep cannot wait inside trio.** Blocking the thread would freeze every task,
and under a ``MockClock`` time could never move past it. So :meth:`TrioClock.sleep` does not
wait: for a positive duration it raises :class:`~reference.core.errors.RateLimited`, whose
``retry_after_s`` says how long to ``await trio.sleep(...)`` before calling again. Today the
lab's one caller of ``clock.sleep`` is a
:class:`~reference.core.ids.SnowflakeGenerator` whose worker has issued all 4096 ids of one
millisecond (with trio's time, which never runs backwards, its clock-rollback wait cannot
happen). On a trio clock that 4097th id is refused, nothing is issued, and the generator is
ready again once the task has awaited the next millisecond::

    try:
        message_id = ids.next_id()
    except RateLimited as full:          # 4096 ids already issued in this millisecond
        await trio.sleep(full.retry_after_s)
        message_id = ids.next_id()

Outside ``trio.run`` there is no trio time: every method raises :class:`NotInTrioRun`.

Examples
--------
>>> import trio
>>> from trio.testing import MockClock
>>> from reference.core.ids import DISCORD_EPOCH_MS, SnowflakeGenerator
>>> async def main():
...     clock = TrioClock(epoch=1_700_000_000.0)
...     ids = SnowflakeGenerator(clock, worker_id=1, epoch_ms=DISCORD_EPOCH_MS)
...     first = ids.next_id()
...     await trio.sleep(3600)              # an hour of virtual time, no real waiting
...     second = ids.next_id()
...     return clock.now(), ids.decode(first).timestamp_ms, ids.decode(second).timestamp_ms
>>> now, first_ms, second_ms = trio.run(main, clock=MockClock(autojump_threshold=0))
>>> now, first_ms, second_ms - first_ms
(1700003600.0, 1700000000000, 3600000)
>>> TrioClock(epoch=1_700_000_000.0).now()
Traceback (most recent call last):
...
reference.core.trio_clock.NotInTrioRun: TrioClock.now() reads trio's time, which exists only ...
"""

from __future__ import annotations

import trio

from reference.core.checks import check_time
from reference.core.clock import US_PER_S
from reference.core.errors import InvalidArgument, LabError, RateLimited

__all__ = ["NotInTrioRun", "TrioClock"]


class NotInTrioRun(LabError, RuntimeError):
    """A trio clock was read outside ``trio.run``, where trio has no time to give."""


class TrioClock:
    """A ``core`` clock that reads trio's time: ``now() = epoch + trio.current_time()``.

    Parameters
    ----------
    epoch : float
        The Unix time (seconds) that trio's time zero stands for. Under
        ``trio.testing.MockClock`` trio starts at zero, so this is the time the run starts at.

    Raises
    ------
    InvalidArgument
        If ``epoch`` is not a finite number of seconds (bools refused).

    Notes
    -----
    Every read is O(1) and exact to the microsecond. Trio's time never runs backwards, so a
    generator on this clock never sees a rollback. Under trio's real clock, time zero is
    arbitrary: this adapter is meant for ``MockClock`` runs (tests, notebooks, simulations).

    :meth:`sleep` raises instead of waiting (see the module docstring): the trade-off taught
    is that inside an event loop, waiting is something a task *awaits*; a synchronous
    component can only say how long, and let its async caller do it.
    """

    __slots__ = ("_epoch_us",)

    def __init__(self, epoch: float) -> None:
        expected = "a finite number of seconds since the Unix epoch"
        try:
            seconds = check_time("epoch", epoch, expected)
        except OverflowError:  # an int too large for a float
            raise InvalidArgument.bad_value("epoch", epoch, expected) from None
        self._epoch_us = round(seconds * US_PER_S)

    @property
    def epoch(self) -> float:
        """The Unix time (seconds) that trio's time zero stands for."""
        return self._epoch_us / US_PER_S

    def _now_us(self, method: str) -> int:
        try:
            trio_s = trio.current_time()
        except RuntimeError as err:  # trio: "must be called from async context"
            raise NotInTrioRun(
                f"TrioClock.{method} reads trio's time, which exists only inside trio.run: "
                f"call it from a trio task (trio.run(main, clock=MockClock("
                f"autojump_threshold=0)) in tests), or use a FakeClock outside trio"
            ) from err
        return self._epoch_us + round(trio_s * US_PER_S)

    def now(self) -> float:
        """Seconds since the Unix epoch: ``epoch + trio.current_time()``.

        Raises
        ------
        NotInTrioRun
            If called outside ``trio.run``.
        """
        return self._now_us("now()") / US_PER_S

    def now_ms(self) -> int:
        """Whole milliseconds since the Unix epoch (floor, in exact integer arithmetic).

        Raises
        ------
        NotInTrioRun
            If called outside ``trio.run``.
        """
        return self._now_us("now_ms()") // 1000

    def sleep(self, seconds: float) -> None:
        """Refuse to block a trio task: a positive wait raises, with how long to await.

        Parameters
        ----------
        seconds : float
            The wait asked for (a finite number >= 0). Zero returns at once.

        Raises
        ------
        RateLimited
            For ``seconds > 0``; ``retry_after_s`` is ``seconds``: ``await
            trio.sleep(err.retry_after_s)``, then call again. Time has not moved.
        NotInTrioRun
            If called outside ``trio.run``.
        InvalidArgument
            If ``seconds`` is negative or not a finite number.
        """
        wait_s = check_time("seconds", seconds, "a finite number of seconds >= 0")
        if wait_s < 0:
            raise InvalidArgument.bad_value("seconds", seconds, "a finite number of seconds >= 0")
        self._now_us("sleep()")
        if wait_s > 0:
            raise RateLimited(
                f"TrioClock cannot block a trio task for {wait_s:g} s (a synchronous sleep "
                f"would freeze every task, and a MockClock could not move): await "
                f"trio.sleep(retry_after_s), then call again",
                retry_after_s=wait_s,
            )

    def __repr__(self) -> str:
        return f"TrioClock(epoch={self.epoch!r})"
