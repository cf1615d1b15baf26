"""The lab's one discrete-event simulator: one object owns time, chance, timers and the log.

Every chapter's distributed scenario runs on it (chapter 10's notification system and its
fault scenarios: a round of background work, each worker's poll and each scenario event are
timers here). A :class:`Simulation` owns

- ``clock``: a :class:`~reference.core.clock.FakeClock` that moves only when a timer fires
  (its own, or one the caller already has, passed as ``clock=``),
- ``injector``: a :class:`~reference.core.faults.FaultInjector`, the seeded ``rng`` (the
  only source of chance), the :class:`FaultPlan` and the
  :class:`~reference.core.faults.CrashPlan`; trio code builds an injector of its own and
  gets the same decisions without this timer heap,
- a timer heap ordered by (due time, insertion order), so equal times fire first-come-first,
- the network: :meth:`Simulation.send` delivers a message later, or twice, or never, as the
  injector decides,
- ``history``: every fault and every :meth:`Simulation.log` call, stamped with simulated time.

Nothing else is random and nothing reads the wall clock, so the same seed replays the same
history, event for event: a failing scenario is a seed you can rerun and print.

Examples
--------
Three pings cross a lossy network; each hop takes 10 ms, and one ping is lost:

>>> sim = Simulation(seed=7, faults=FaultPlan(base_delay_s=0.010, drop_rate=0.3))
>>> def pong(n):
...     sim.log("pong", n=n)
>>> def ping(n):
...     sim.log("ping", n=n)
...     sim.send(pong, n, label="b")
>>> for n in range(3):
...     _ = sim.call_later(n * 1.0, ping, n)
>>> sim.run()
>>> print(sim.format_history())
   0.000s  ping  n=0
   0.010s  pong  n=0
   1.000s  ping  n=1
   1.000s  drop  msg=1 to=b
   2.000s  ping  n=2
   2.010s  pong  n=2
>>> sim.statistics()
SimulationStatistics(events_run=5, messages_sent=3, messages_delivered=2, messages_dropped=1,
                     messages_duplicated=0, messages_delayed=0, crashes=0)
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Any, Literal

from reference.core.checks import check_int
from reference.core.clock import US_PER_S, Clock, FakeClock
from reference.core.errors import InvalidArgument, LabError
from reference.core.faults import (
    NO_FAULTS,
    CrashPlan,
    FaultInjector,
    FaultPlan,
    check_seconds,
    check_seed,
)

__all__ = [
    "DEFAULT_MAX_EVENTS",
    "NO_FAULTS",
    "Event",
    "FaultPlan",
    "Simulation",
    "SimulationRunaway",
    "SimulationStatistics",
    "SkewedClock",
    "Timer",
]

DEFAULT_MAX_EVENTS = 1_000_000  # timers one run() may fire before it calls the run a runaway
_MSG_REPR_CHARS = 60  # longest message repr kept in a log line


def _seconds_to_us(seconds: float) -> int:
    return round(seconds * US_PER_S)


def _clock_us(clock: Clock) -> int:
    return _seconds_to_us(clock.now())


# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True, slots=True, order=True)
class Event:
    """One line of a simulation's history.

    ``time`` is the simulated clock (seconds), ``seq`` the position in the history, ``kind``
    a short word (``"drop"``, ``"crash"``, ``"deliver"``, ...), and ``fields`` the details as a
    tuple of ``(name, value)`` pairs sorted by name, so events hash and compare as values.
    """

    time: float
    seq: int
    kind: str
    fields: tuple[tuple[str, Any], ...]

    def get(self, name: str, default: Any = None) -> Any:
        """The value of field ``name``, or ``default``."""
        for key, value in self.fields:
            if key == name:
                return value
        return default

    def as_dict(self) -> dict[str, Any]:
        """The fields as a new dict."""
        return dict(self.fields)

    def format(self, *, since: float = 0.0) -> str:
        """Render as ``"  12.345s  drop  to=worker-1 msg=..."`` (time relative to ``since``)."""
        details = " ".join(f"{key}={_show(value)}" for key, value in self.fields)
        return f"{self.time - since:8.3f}s  {self.kind}  {details}".rstrip()


def _show(value: object) -> str:
    if isinstance(value, float):
        return format(value, ".6g")
    return str(value)


@dataclass(frozen=True, slots=True)
class SimulationStatistics:
    """What a simulation has done so far.

    ``events_run`` counts fired timers (deliveries included); ``messages_sent`` counts
    :meth:`Simulation.send` calls, of which ``messages_dropped`` were lost; ``messages_delivered``
    counts copies that reached their function (duplicates twice); ``messages_delayed`` counts
    copies that got an extra delay; ``crashes`` counts :meth:`Simulation.should_crash` answers
    of True and the crashes the crash plan called.
    """

    events_run: int
    messages_sent: int
    messages_delivered: int
    messages_dropped: int
    messages_duplicated: int
    messages_delayed: int
    crashes: int


class SimulationRunaway(LabError, RuntimeError):
    """A run fired ``max_events`` timers and still had more: most likely a timer loop."""


TimerState = Literal["pending", "fired", "cancelled"]


class Timer:
    """A callback scheduled on a :class:`Simulation`; :meth:`cancel` it before it fires.

    Attributes
    ----------
    when : float
        Due time in simulated seconds.
    state : {"pending", "fired", "cancelled"}
    """

    __slots__ = ("_sim", "_when_us", "args", "fn", "seq", "state")

    def __init__(
        self,
        sim: Simulation,
        when_us: int,
        seq: int,
        fn: Callable[..., object],
        args: tuple[Any, ...],
    ) -> None:
        self._sim = sim
        self._when_us = when_us
        self.seq = seq
        self.fn = fn
        self.args = args
        self.state: TimerState = "pending"

    @property
    def when(self) -> float:
        """Due time in simulated seconds."""
        return self._when_us / US_PER_S

    def cancel(self) -> bool:
        """Stop the timer from firing; True if it was still pending. O(1) (lazy removal)."""
        if self.state != "pending":
            return False
        self.state = "cancelled"
        self._sim._pending -= 1
        return True

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        return f"Timer(when={self.when!r}, fn={name}, state={self.state!r})"


class SkewedClock:
    """A read-only view of another clock, ``skew_s`` seconds ahead (or behind, if negative).

    It has no ``advance``/``set_to``: only the simulation moves time. ``sleep`` passes through
    to the underlying clock (a fake sleep advances the shared simulated time, as
    :meth:`FakeClock.sleep` does).

    Examples
    --------
    >>> base = FakeClock(start=100.0)
    >>> fast = SkewedClock(base, skew_s=0.25)
    >>> fast.now(), fast.now_ms()
    (100.25, 100250)
    >>> base.advance(1)
    >>> fast.now()
    101.25
    """

    __slots__ = ("_base", "_skew_us")

    def __init__(self, base: Clock, skew_s: float) -> None:
        check_seconds("skew_s", skew_s, "a finite number of seconds", low=-math.inf, high=math.inf)
        self._base = base
        self._skew_us = _seconds_to_us(skew_s)

    @property
    def skew_s(self) -> float:
        """The offset from the underlying clock, in seconds (whole microseconds)."""
        return self._skew_us / US_PER_S

    def now(self) -> float:
        return (_clock_us(self._base) + self._skew_us) / US_PER_S

    def now_ms(self) -> int:
        return (_clock_us(self._base) + self._skew_us) // 1000

    def sleep(self, seconds: float) -> None:
        self._base.sleep(seconds)

    def __repr__(self) -> str:
        return f"SkewedClock(skew_s={self.skew_s!r}, now={self.now()!r})"


# --------------------------------------------------------------------------- the simulation


class Simulation:
    """A deterministic world: a fake clock, a seeded rng, a timer heap and a faulty network.

    Parameters
    ----------
    seed : int or str
        Seeds ``rng``; the same seed and the same scenario give the same ``history``.
    start : float
        The clock's starting time in seconds (default 0.0; use a Unix time when the scenario
        issues Snowflake ids). Not with ``clock``.
    faults : FaultPlan
        The network and crash knobs (default: none).
    clock : FakeClock, optional
        A fake clock the caller already has (a store's, a notebook's): the simulation moves
        that one instead of making its own.
    crash_plan : CrashPlan, optional
        Where components die (default: nowhere); ``sim.crash_plan`` is what they consult.

    Raises
    ------
    InvalidArgument
        If ``seed`` is not an int or str, ``start`` not a finite number (or given with
        ``clock``), ``clock`` not a FakeClock, ``faults`` not a FaultPlan or ``crash_plan``
        not a CrashPlan.

    Notes
    -----
    Scheduling is O(log n) (a binary heap keyed by integer microseconds, then by insertion
    sequence, so ties are first-come-first-served and float rounding cannot reorder them).
    Cancelling is O(1): a cancelled timer stays in the heap and is skipped when popped.

    Time only moves forward. If a component advances the shared clock itself (a fake
    ``sleep``), timers that fell due meanwhile fire late, at the clock's current time, as a
    blocked process would run them.

    The trade-off taught: a simulated network makes every loss, duplicate and reordering
    reproducible, at the price of modelling only the faults you thought of.

    Examples
    --------
    >>> sim = Simulation(seed=1, start=10.0)
    >>> fired = []
    >>> _ = sim.call_later(2.0, fired.append, "b")
    >>> _ = sim.call_later(1.0, fired.append, "a")
    >>> sim.run_until(11.5)
    >>> fired, sim.clock.now(), sim.pending
    (['a'], 11.5, 1)
    >>> sim.step()
    True
    >>> fired, sim.clock.now()
    (['a', 'b'], 12.0)
    """

    def __init__(self, seed: int | str, *, start: float | None = None,
                 faults: FaultPlan = NO_FAULTS, clock: FakeClock | None = None,
                 crash_plan: CrashPlan | None = None) -> None:
        check_seed(seed)
        if not isinstance(faults, FaultPlan):
            raise InvalidArgument.bad_value("faults", faults, "a FaultPlan")
        if clock is None:
            start = 0.0 if start is None else start
            check_seconds("start", start, "a finite number of seconds",
                          low=-math.inf, high=math.inf)
            clock = FakeClock(start=start)
        elif not isinstance(clock, FakeClock):
            raise InvalidArgument.bad_value(
                "clock", clock, "a FakeClock (only a fake clock can be moved by timers)")
        elif start is not None:
            raise InvalidArgument.bad_value("start", start, "None when a clock is given")
        self.seed = seed
        self.faults = faults
        self.clock = clock
        self.history: list[Event] = []
        self.injector = FaultInjector(seed, faults, crash_plan=crash_plan, log=self.log)
        self.rng: Random = self.injector.rng
        self._start = self.clock.now()
        self._heap: list[tuple[int, int, Timer]] = []
        self._timer_seq = 0
        self._pending = 0
        self._events_run = 0
        self._delivered = 0

    @property
    def crash_plan(self) -> CrashPlan:
        """Where components die: the injector's :class:`~reference.core.faults.CrashPlan`."""
        return self.injector.crash_plan

    # -- timers --------------------------------------------------------------------------

    def call_later(self, delay_s: float, fn: Callable[..., object], *args: Any) -> Timer:
        """Run ``fn(*args)`` ``delay_s`` (>= 0) simulated seconds from now.

        Returns
        -------
        Timer
            The scheduled call; :meth:`Timer.cancel` stops it.

        Raises
        ------
        InvalidArgument
            If ``delay_s`` is negative or not finite, or ``fn`` is not callable.
        """
        delay = check_seconds(
            "delay_s", delay_s, "a finite number of seconds >= 0", low=0.0, high=math.inf
        )
        return self._schedule(_clock_us(self.clock) + _seconds_to_us(delay), fn, args)

    def call_at(self, when: float, fn: Callable[..., object], *args: Any) -> Timer:
        """Run ``fn(*args)`` at simulated time ``when`` (not before now).

        Returns
        -------
        Timer
            The scheduled call; :meth:`Timer.cancel` stops it.

        Raises
        ------
        InvalidArgument
            If ``when`` is in the past or not finite, or ``fn`` is not callable.
        """
        now = self.clock.now()
        check_seconds("when", when, f"a finite time >= now ({now!r})", low=-math.inf, high=math.inf)
        when_us = _seconds_to_us(when)
        if when_us < _clock_us(self.clock):
            raise InvalidArgument.bad_value("when", when, f"a finite time >= now ({now!r})")
        return self._schedule(when_us, fn, args)

    def _schedule(self, when_us: int, fn: Callable[..., object], args: tuple[Any, ...]) -> Timer:
        if not callable(fn):
            raise InvalidArgument.bad_value("fn", fn, "a callable")
        timer = Timer(self, when_us, self._timer_seq, fn, args)
        heapq.heappush(self._heap, (when_us, self._timer_seq, timer))
        self._timer_seq += 1
        self._pending += 1
        return timer

    @property
    def pending(self) -> int:
        """Timers scheduled and neither fired nor cancelled."""
        return self._pending

    @property
    def next_due_at(self) -> float | None:
        """When the next pending timer falls due, in simulated seconds (None if none)."""
        due = self._next_due_us()
        return None if due is None else due / US_PER_S

    def _next_due_us(self) -> int | None:
        """Due time of the next live timer (dropping cancelled ones from the top)."""
        while self._heap and self._heap[0][2].state != "pending":
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def step(self) -> bool:
        """Fire the next timer, moving the clock to its due time; False if none is pending.

        An exception raised by the timer's function propagates to the caller; the timer
        counts as fired.
        """
        if self._next_due_us() is None:
            return False
        when_us, _, timer = heapq.heappop(self._heap)
        if when_us > _clock_us(self.clock):
            self.clock.set_to(when_us / US_PER_S)
        timer.state = "fired"
        self._pending -= 1
        self._events_run += 1
        timer.fn(*timer.args)
        return True

    def run_until(self, t: float, *, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        """Fire every timer due at or before ``t`` in order, then leave the clock at ``t``.

        Timers scheduled by those timers run too, if they fall due by ``t``.

        Raises
        ------
        InvalidArgument
            If ``t`` is before now or not finite, or ``max_events`` is not a positive int.
        SimulationRunaway
            If ``max_events`` timers fired and more were still due by ``t``.
        """
        now = self.clock.now()
        check_seconds("t", t, f"a finite time >= now ({now!r})", low=now, high=math.inf)
        _check_max_events(max_events)
        t_us = _seconds_to_us(t)
        fired = 0
        while (due := self._next_due_us()) is not None and due <= t_us:
            if fired == max_events:
                self._runaway(max_events)
            self.step()
            fired += 1
        if t_us > _clock_us(self.clock):
            self.clock.set_to(t)

    def run(self, *, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        """Fire timers in order until none is pending.

        Raises
        ------
        InvalidArgument
            If ``max_events`` is not a positive int.
        SimulationRunaway
            If ``max_events`` timers fired and more were still pending (a timer that keeps
            rescheduling itself never lets the heap empty: use :meth:`run_until` for those).
        """
        _check_max_events(max_events)
        fired = 0
        while self._next_due_us() is not None:
            if fired == max_events:
                self._runaway(max_events)
            self.step()
            fired += 1

    def run_while(self, condition: Callable[[], bool], *,
                  max_events: int = DEFAULT_MAX_EVENTS) -> int:
        """Fire timers in order while ``condition()`` is true and one is pending; return how
        many fired.

        The verb for "run until this part of the world is done" when other timers (a
        scenario's later events, say) may stay pending: ``condition`` is asked before each
        timer, so the run stops as soon as it turns false.

        Raises
        ------
        InvalidArgument
            If ``condition`` is not callable or ``max_events`` is not a positive int.
        SimulationRunaway
            If ``max_events`` timers fired and ``condition()`` still held.

        Examples
        --------
        >>> sim = Simulation(seed=0)
        >>> fired = []
        >>> for n in range(5):
        ...     _ = sim.call_later(float(n), fired.append, n)
        >>> sim.run_while(lambda: len(fired) < 3)
        3
        >>> fired, sim.pending
        ([0, 1, 2], 2)
        """
        if not callable(condition):
            raise InvalidArgument.bad_value("condition", condition, "a callable")
        _check_max_events(max_events)
        fired = 0
        while self._next_due_us() is not None and condition():
            if fired == max_events:
                self._runaway(max_events)
            self.step()
            fired += 1
        return fired

    def _runaway(self, max_events: int) -> None:
        raise SimulationRunaway(
            f"fired max_events={max_events} timers and {self._pending} are still pending at "
            f"t={self.clock.now() - self._start:.3f}s (seed={self.seed}): expected the run to "
            f"finish; a timer probably reschedules itself forever, so use run_until(t) or "
            f"raise max_events"
        )

    # -- the faulty network ----------------------------------------------------------------

    def send(self, fn: Callable[..., object], *args: Any, label: str | None = None) -> None:
        """Deliver ``fn(*args)`` over the simulated network: later, twice, or never.

        Parameters
        ----------
        fn : callable
            The receiver's handler.
        *args
            The message; it is logged by ``repr`` (give it a stable repr, as frozen dataclasses
            have, or histories of two runs will differ by memory addresses).
        label : str, optional
            Who receives it, shown as ``to=`` in the log (default: ``fn``'s qualified name).

        Raises
        ------
        InvalidArgument
            If ``fn`` is not callable or ``label`` is not a non-empty string.

        Notes
        -----
        The injector decides (:meth:`~reference.core.faults.FaultInjector.copies`): drop
        (logged ``drop``), duplicate (logged ``duplicate``), then for each copy an extra
        delay (logged ``delay``) on top of ``base_delay_s``. Copies with different delays
        can overtake each other and other messages: reordering needs no knob of its own.
        Like a datagram, the sender learns nothing of the outcome.
        """
        if not callable(fn):
            raise InvalidArgument.bad_value("fn", fn, "a callable")
        if label is None:
            label = getattr(fn, "__qualname__", type(fn).__name__)
        elif not isinstance(label, str) or not label:
            raise InvalidArgument.bad_value("label", label, "a non-empty string")
        for delay in self.injector.copies(to=label, msg=_short_repr(args)):
            self._schedule(_clock_us(self.clock) + _seconds_to_us(delay), self._deliver,
                           (fn, args))

    def _deliver(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._delivered += 1
        fn(*args)

    def should_crash(self, component: str) -> bool:
        """Roll for a crash of ``component`` (probability ``crash_rate``); logged when True.

        Raises
        ------
        InvalidArgument
            If ``component`` is not a non-empty string.
        """
        return self.injector.should_crash(component)

    def skewed_clock(self, skew_s: float | None = None) -> SkewedClock:
        """A read-only view of the simulated clock, offset by ``skew_s`` seconds.

        Without ``skew_s`` the offset is drawn uniformly from ``±faults.clock_skew_s`` (and
        logged as ``skew``), so each component can get its own slightly wrong clock.

        Raises
        ------
        InvalidArgument
            If ``skew_s`` is given and is not a finite number.

        Examples
        --------
        >>> sim = Simulation(seed=3, start=50.0)
        >>> sim.skewed_clock(-0.5).now()
        49.5
        """
        if skew_s is None:
            return SkewedClock(self.clock, self.injector.skew_s())
        return SkewedClock(self.clock, skew_s)

    # -- the log ---------------------------------------------------------------------------

    def log(self, kind: str, /, **fields: Any) -> Event:
        """Append an :class:`Event` stamped with the simulated time; return it.

        Raises
        ------
        InvalidArgument
            If ``kind`` is not a non-empty word, or a field value is not hashable (events are
            values: they hash and compare).
        """
        if not isinstance(kind, str) or not kind or kind.split() != [kind]:
            raise InvalidArgument.bad_value("kind", kind, "a non-empty word without spaces")
        for name, value in fields.items():
            try:
                hash(value)
            except TypeError:
                raise InvalidArgument.bad_value(
                    name, value, "a hashable value (str, number, tuple, frozen dataclass)"
                ) from None
        event = Event(self.clock.now(), len(self.history), kind, tuple(sorted(fields.items())))
        self.history.append(event)
        return event

    def events(self, kind: str | None = None) -> list[Event]:
        """The history, or only the events of one ``kind``."""
        if kind is None:
            return list(self.history)
        return [event for event in self.history if event.kind == kind]

    def format_history(self, limit: int | None = None, *, kind: str | None = None) -> str:
        """The history as text, one event a line, times relative to the start.

        Parameters
        ----------
        limit : int, optional
            Show only the first ``limit`` events, then a ``... (N more)`` line.
        kind : str, optional
            Show only events of this kind.
        """
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise InvalidArgument.bad_value("limit", limit, "None or an int >= 0")
        chosen = self.events(kind)
        shown = chosen if limit is None else chosen[:limit]
        lines = [event.format(since=self._start) for event in shown]
        if len(shown) < len(chosen):
            lines.append(f"... ({len(chosen) - len(shown)} more)")
        return "\n".join(lines)

    def statistics(self) -> SimulationStatistics:
        """What the simulation has done so far (see :class:`SimulationStatistics`)."""
        faults = self.injector.statistics()
        return SimulationStatistics(
            events_run=self._events_run,
            messages_sent=faults.messages,
            messages_delivered=self._delivered,
            messages_dropped=faults.dropped,
            messages_duplicated=faults.duplicated,
            messages_delayed=faults.delayed,
            crashes=faults.crashes + faults.planned_crashes,
        )

    def __repr__(self) -> str:
        return (
            f"Simulation(seed={self.seed}, now={self.clock.now()!r}, pending={self._pending}, "
            f"events={len(self.history)})"
        )


def _check_max_events(max_events: object) -> None:
    check_int("max_events", max_events, 1, expected="an int >= 1")


def _short_repr(args: tuple[Any, ...]) -> str:
    text = repr(args[0]) if len(args) == 1 else repr(args)
    if len(text) > _MSG_REPR_CHARS:
        text = text[: _MSG_REPR_CHARS - 3] + "..."
    return text
