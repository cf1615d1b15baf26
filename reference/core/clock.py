"""Time as an injected dependency: the :class:`Clock` protocol, the system clock, a fake clock.

Every component that needs time takes a ``clock``. Tests and notebooks pass a
:class:`FakeClock` and move it with :meth:`FakeClock.advance`, so an hour of retries runs
in microseconds and gives the same answer every time.

The fake clock counts whole microseconds internally, so ``now_ms()`` never suffers from
floating-point rounding (``0.1 + 0.2`` seconds is exactly 300 ms).

Examples
--------
>>> clock = FakeClock(start=1_700_000_000.0)
>>> clock.now_ms()
1700000000000
>>> clock.advance(0.0015)
>>> clock.now_ms(), clock.now()
(1700000000001, 1700000000.0015)
>>> clock.sleep(2)          # a fake sleep just moves the fake time
>>> clock.now()
1700000002.0015
>>> clock.advance(-1)
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: seconds=-1 is invalid: expected a number >= 0 (use ...
"""

from __future__ import annotations

import math
import time
from typing import Protocol, runtime_checkable

from reference.core.errors import InvalidArgument

__all__ = ["US_PER_S", "Clock", "FakeClock", "SystemClock"]

US_PER_S = 1_000_000  # microseconds per second: the finest time step the lab keeps


@runtime_checkable
class Clock(Protocol):
    """What a component may ask of time."""

    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    def now_ms(self) -> int:
        """Whole milliseconds since the Unix epoch (floor)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; a fake clock advances instead of waiting."""
        ...


class SystemClock:
    """The real wall clock. Only the outer edges of the lab (``make lab`` demos) use it."""

    def now(self) -> float:
        return time.time()  # wall-clock ok: this *is* the system clock

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000  # wall-clock ok

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


def _to_us(seconds: float, name: str) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise InvalidArgument.bad_value(name, seconds, "a number of seconds")
    try:
        us = float(seconds) * US_PER_S
    except OverflowError:  # an int too large for a float
        us = math.inf
    if not math.isfinite(us):
        raise InvalidArgument.bad_value(name, seconds, "a finite number of seconds")
    return round(seconds * US_PER_S)


class FakeClock:
    """A clock that moves only when told to.

    Parameters
    ----------
    start : float
        Seconds since the Unix epoch at creation (default 0.0).
    """

    __slots__ = ("_us",)

    def __init__(self, start: float = 0.0) -> None:
        self._us = _to_us(start, "start")

    def now(self) -> float:
        return self._us / US_PER_S

    def now_ms(self) -> int:
        return self._us // 1000

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds`` (>= 0).

        Raises
        ------
        InvalidArgument
            If ``seconds`` is negative or not a finite number.
        """
        us = _to_us(seconds, "seconds")
        if us < 0:
            raise InvalidArgument.bad_value(
                "seconds",
                seconds,
                "a number >= 0 (use set_to() to model a rollback)",
            )
        self._us += us

    def sleep(self, seconds: float) -> None:
        """A fake sleep: advance by ``seconds`` at once."""
        self.advance(seconds)

    def set_to(self, seconds: float) -> None:
        """Jump to an absolute time, backwards included: models an NTP step or a VM restore."""
        self._us = _to_us(seconds, "seconds")

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now()!r})"
