"""A seeded, fault-injecting simulation: one object owns time, chance, timers and the log.

The lab's general-purpose harness for distributed scenarios (networks that drop, delay and
duplicate; crashes; clock skew). A chapter may drive its own domain-specific runner on the same
principles — chapter 10's :mod:`reference.notification.scenario` owns a FakeClock, seeded rngs
and a timer heap of its own. A :class:`Simulation` owns

- ``clock``: a :class:`~reference.core.clock.FakeClock` that moves only when a timer fires,
- ``rng``: ``Random(seed)``, the only source of chance,
- a timer heap ordered by (due time, insertion order), so equal times fire first-come-first,
- the network: :meth:`Simulation.send` delivers a message later, or twice, or never, as the
  :class:`FaultPlan` and the rng decide,
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

import contextlib
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Any, Literal

from reference.core.checks import check_int, check_probability
from reference.core.clock import US_PER_S, Clock, FakeClock
from reference.core.errors import InvalidArgument, LabError

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


def _check_number(name: str, value: object, expected: str, *, low: float, high: float) -> float:
    """``value`` as a float, if it is a real number in ``low..high`` that fits in microseconds."""
    number = math.nan
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        with contextlib.suppress(OverflowError):  # an int too large for a float stays nan
            number = float(value)
    if not math.isfinite(number * US_PER_S) or not low <= number <= high:
        raise InvalidArgument.bad_value(name, value, expected)
    return number


def _seconds_to_us(seconds: float) -> int:
    return round(seconds * US_PER_S)


def _clock_us(clock: Clock) -> int:
    return _seconds_to_us(clock.now())


# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """How unreliable the simulated world is; every field defaults to "perfect".

    Parameters
    ----------
    drop_rate : float
        Probability in [0, 1] that a sent message is lost.
    duplicate_rate : float
        Probability in [0, 1] that a (not dropped) message is delivered twice.
    delay_rate : float
        Probability in [0, 1] that a delivered copy gets an extra delay.
    max_extra_delay_s : float
        The extra delay is uniform in ``0 .. max_extra_delay_s`` seconds (>= 0).
    base_delay_s : float
        Every delivered copy takes at least this long (>= 0), the network's latency.
    crash_rate : float
        Probability in [0, 1] that :meth:`Simulation.should_crash` answers True.
    clock_skew_s : float
        Largest absolute offset (>= 0) of a :meth:`Simulation.skewed_clock` with a random skew.

    Raises
    ------
    InvalidArgument
        If a rate is outside [0, 1] or a duration is negative or not finite.

    Examples
    --------
    >>> FaultPlan.none() == FaultPlan()
    True
    >>> FaultPlan(drop_rate=1.5)
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: drop_rate=1.5 is invalid: expected a probability ...
    """

    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_rate: float = 0.0
    max_extra_delay_s: float = 0.0
    base_delay_s: float = 0.0
    crash_rate: float = 0.0
    clock_skew_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drop_rate", "duplicate_rate", "delay_rate", "crash_rate"):
            check_probability(name, getattr(self, name))
        for name in ("max_extra_delay_s", "base_delay_s", "clock_skew_s"):
            _check_number(
                name, getattr(self, name), "a finite number of seconds >= 0",
                low=0.0, high=math.inf,
            )

    @classmethod
    def none(cls) -> FaultPlan:
        """A perfect world: no loss, no duplicates, no delay, no crashes, no skew."""
        return cls()


NO_FAULTS = FaultPlan()


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
    of True.
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
        _check_number("skew_s", skew_s, "a finite number of seconds", low=-math.inf, high=math.inf)
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
    seed : int
        Seeds ``rng``; the same seed and the same scenario give the same ``history``.
    start : float
        The clock's starting time in seconds (default 0.0; use a Unix time when the scenario
        issues Snowflake ids).
    faults : FaultPlan
        The network and crash knobs (default: none).

    Raises
    ------
    InvalidArgument
        If ``seed`` is not an int, ``start`` not a finite number, or ``faults`` not a FaultPlan.

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

    def __init__(self, seed: int, *, start: float = 0.0, faults: FaultPlan = NO_FAULTS) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidArgument.bad_value("seed", seed, "an int")
        if not isinstance(faults, FaultPlan):
            raise InvalidArgument.bad_value("faults", faults, "a FaultPlan")
        _check_number("start", start, "a finite number of seconds", low=-math.inf, high=math.inf)
        self.seed = seed
        self.faults = faults
        self.clock = FakeClock(start=start)
        self.rng = Random(seed)
        self.history: list[Event] = []
        self._start = self.clock.now()
        self._heap: list[tuple[int, int, Timer]] = []
        self._timer_seq = 0
        self._pending = 0
        self._events_run = 0
        self._sent = 0
        self._delivered = 0
        self._dropped = 0
        self._duplicated = 0
        self._delayed = 0
        self._crashes = 0

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
        delay = _check_number(
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
        _check_number("when", when, f"a finite time >= now ({now!r})", low=-math.inf, high=math.inf)
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
        _check_number("t", t, f"a finite time >= now ({now!r})", low=now, high=math.inf)
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
        The rng decides, in this order: drop (``drop_rate``; logged ``drop``), duplicate
        (``duplicate_rate``; logged ``duplicate``), then for each copy an extra delay
        (``delay_rate``, uniform up to ``max_extra_delay_s``; logged ``delay``) on top of
        ``base_delay_s``. Copies with different delays can overtake each other and other
        messages: reordering needs no knob of its own. Like a datagram, the sender learns
        nothing of the outcome.
        """
        if not callable(fn):
            raise InvalidArgument.bad_value("fn", fn, "a callable")
        if label is None:
            label = getattr(fn, "__qualname__", type(fn).__name__)
        elif not isinstance(label, str) or not label:
            raise InvalidArgument.bad_value("label", label, "a non-empty string")
        plan = self.faults
        msg = _short_repr(args)
        self._sent += 1
        if self.rng.random() < plan.drop_rate:
            self._dropped += 1
            self.log("drop", to=label, msg=msg)
            return
        copies = 1
        if self.rng.random() < plan.duplicate_rate:
            copies = 2
            self._duplicated += 1
            self.log("duplicate", to=label, msg=msg)
        for _ in range(copies):
            delay_us = _seconds_to_us(plan.base_delay_s)
            if self.rng.random() < plan.delay_rate:
                extra_us = _seconds_to_us(self.rng.uniform(0.0, plan.max_extra_delay_s))
                delay_us += extra_us
                self._delayed += 1
                self.log("delay", to=label, msg=msg, extra_s=extra_us / US_PER_S)
            self._schedule(_clock_us(self.clock) + delay_us, self._deliver, (fn, args))

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
        if not isinstance(component, str) or not component:
            raise InvalidArgument.bad_value("component", component, "a non-empty string")
        crashed = self.rng.random() < self.faults.crash_rate
        if crashed:
            self._crashes += 1
            self.log("crash", component=component)
        return crashed

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
            limit = self.faults.clock_skew_s
            clock = SkewedClock(self.clock, self.rng.uniform(-limit, limit))
            self.log("skew", skew_s=clock.skew_s)
            return clock
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
        return SimulationStatistics(
            events_run=self._events_run,
            messages_sent=self._sent,
            messages_delivered=self._delivered,
            messages_dropped=self._dropped,
            messages_duplicated=self._duplicated,
            messages_delayed=self._delayed,
            crashes=self._crashes,
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
