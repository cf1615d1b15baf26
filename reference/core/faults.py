"""Fault decisions: what goes wrong in a run, decided by a seed, with or without a timer heap.

Reliability is only shown by breaking things on purpose, and a broken run is only useful if
it can be replayed. Every chapter's faults are decided here, by three small pieces:

- :class:`FaultPlan`: how unreliable the world is (rates of loss, duplication, delay,
  crashes, clock skew); every field defaults to "perfect".
- :class:`CrashPlan`: *where* a component dies, deterministically: "die the n-th time any
  worker reaches this point" (or the n-th time for one item). A chapter names its own crash
  points (chapter 10: after the claim, after the send, before the ack).
- :class:`FaultInjector`: a seeded ``Random``, a :class:`FaultPlan` and a
  :class:`CrashPlan`, answering the questions a component asks ("how many copies of this
  message arrive, and when?", "does this component crash now?", "how wrong is this
  clock?"), and counting its answers.

:class:`~reference.core.sim.Simulation` owns one injector and puts its answers on its
timer heap. Code that runs on trio instead (chapter 12) builds a :class:`FaultInjector` of
its own from the same seed and plan and acts on the answers with ``trio.sleep``: the same
decisions, without the heap.

Examples
--------
>>> faults = FaultInjector(seed=7, plan=FaultPlan(drop_rate=0.3, base_delay_s=0.01))
>>> [faults.copies() for _ in range(4)]
[(0.01,), (), (0.01,), (0.01,)]
>>> faults.statistics()
FaultStatistics(messages=4, dropped=1, duplicated=0, delayed=0, crashes=0, planned_crashes=0)
>>> plan = CrashPlan().crash("after_send", nth=2)
>>> [plan.should_crash("after_send", "n1") for _ in range(3)]
[False, True, False]
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from random import Random
from typing import Any

from reference.core.checks import check_int, check_probability
from reference.core.clock import US_PER_S
from reference.core.errors import InvalidArgument

__all__ = [
    "NO_FAULTS",
    "CrashPlan",
    "FaultInjector",
    "FaultPlan",
    "FaultStatistics",
]

Log = Callable[..., object]  # log(kind, **fields): where an injector reports what it decided


def check_seconds(name: str, value: object, expected: str, *, low: float, high: float) -> float:
    """``value`` as a float, if it is a real number in ``low..high`` that fits in microseconds."""
    number = math.nan
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        with contextlib.suppress(OverflowError):  # an int too large for a float stays nan
            number = float(value)
    if not math.isfinite(number * US_PER_S) or not low <= number <= high:
        raise InvalidArgument.bad_value(name, value, expected)
    return number


def check_seed(seed: object) -> int | str:
    """A seed is an int or a str (``Random`` takes both; a str names a purpose)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, str)):
        raise InvalidArgument.bad_value("seed", seed, "an int or a str")
    return seed


def _check_name(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgument.bad_value(name, value, "a non-empty string")
    return value


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
        Probability in [0, 1] that :meth:`FaultInjector.should_crash` answers True.
    clock_skew_s : float
        Largest absolute offset (>= 0) of a clock with a random skew.

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
            check_seconds(
                name, getattr(self, name), "a finite number of seconds >= 0",
                low=0.0, high=math.inf,
            )

    @classmethod
    def none(cls) -> FaultPlan:
        """A perfect world: no loss, no duplicates, no delay, no crashes, no skew."""
        return cls()


NO_FAULTS = FaultPlan()


class CrashPlan:
    """A deterministic crash schedule: die the n-th time any component reaches a point.

    A crash point is a short name a chapter chooses (chapter 10's are the members of
    :class:`~reference.notification.model.CrashPoint`, a ``StrEnum``). A rule says which
    arrival at a point is fatal, counted over every arrival (``item=None``) or over the
    arrivals for one item (a notification id, a post id), so the same plan replays the
    same crashes on every run and every backend. A plan without rules never crashes.

    Attributes
    ----------
    fired : list of (point, item)
        Every crash the plan called, in order.

    Examples
    --------
    >>> plan = CrashPlan().crash("before_ack", nth=2, item="n7")
    >>> [plan.should_crash("before_ack", n) for n in ["n7", "n1", "n7", "n7"]]
    [False, False, True, False]
    >>> plan.fired
    [('before_ack', 'n7')]

    Notes
    -----
    Rules are kept by (point, item) as sets of arrival numbers, so asking costs O(1)
    however many rules a scenario drew (thousands, for a long run).
    """

    __slots__ = ("_rules", "_seen", "fired")

    def __init__(self) -> None:
        self._rules: dict[tuple[str, str | None], set[int]] = {}  # fatal arrivals
        self._seen: dict[tuple[str, str | None], int] = {}
        self.fired: list[tuple[str, str]] = []

    @classmethod
    def drawn(cls, points: Iterable[str], *, rate: float, arrivals: int,
              rng: Random) -> CrashPlan:
        """A plan where each of the first ``arrivals`` arrivals at each point is fatal with
        probability ``rate``, drawn from ``rng`` (points in the order given)."""
        check_probability("rate", rate)
        check_int("arrivals", arrivals, 0)
        plan = cls()
        for point in points:
            for nth in range(1, arrivals + 1):
                if rng.random() < rate:
                    plan.crash(point, nth=nth)
        return plan

    def crash(self, point: str, *, nth: int = 1, item: str | None = None) -> CrashPlan:
        """Crash the ``nth`` time ``point`` is reached (for one ``item``, or by anyone)."""
        _check_name("point", point)
        check_int("nth", nth, 1)
        if item is not None:
            _check_name("item", item)
        self._rules.setdefault((point, item), set()).add(nth)
        return self

    def should_crash(self, point: str, item: str) -> bool:
        """Count this arrival at ``point`` for ``item``; True if a rule says to die here."""
        hit = False
        for scope in (None, item):
            count = self._seen.get((point, scope), 0) + 1
            self._seen[(point, scope)] = count
            hit = hit or count in self._rules.get((point, scope), ())
        if hit:
            self.fired.append((point, item))
        return hit

    def __repr__(self) -> str:
        rules = sum(len(arrivals) for arrivals in self._rules.values())
        return f"CrashPlan(rules={rules}, fired={len(self.fired)})"


@dataclass(frozen=True, slots=True)
class FaultStatistics:
    """What an injector decided so far: messages asked about (``messages``), of which
    ``dropped`` were lost and ``duplicated`` doubled; copies that got an extra delay
    (``delayed``); random crashes (``crashes``) and planned ones (``planned_crashes``)."""

    messages: int
    dropped: int
    duplicated: int
    delayed: int
    crashes: int
    planned_crashes: int


def _ignore(kind: str, /, **fields: Any) -> None:
    """The default log: decisions are counted, not written down."""


class FaultInjector:
    """Seeded fault decisions: a ``Random``, a :class:`FaultPlan` and a :class:`CrashPlan`.

    Parameters
    ----------
    seed : int or str
        Seeds ``rng``, the only source of chance; the same seed and the same questions in
        the same order give the same answers.
    plan : FaultPlan
        The rates (default: none).
    crash_plan : CrashPlan, optional
        Where components die (default: a plan without rules, which never crashes).
    log : callable, optional
        ``log(kind, **fields)`` receives each fault decided (``drop``, ``duplicate``,
        ``delay``, ``crash``, ``skew``); :class:`~reference.core.sim.Simulation` passes its
        own :meth:`~reference.core.sim.Simulation.log`, trio code a recorder stamped with
        trio's time.

    Raises
    ------
    InvalidArgument
        A seed that is not an int or str, a plan that is not a FaultPlan, a crash plan that
        is not a CrashPlan, or a log that is not callable.

    Examples
    --------
    >>> faults = FaultInjector(seed=3, plan=FaultPlan(duplicate_rate=1.0, base_delay_s=0.5))
    >>> faults.copies()
    (0.5, 0.5)
    >>> FaultInjector(seed=3, plan=FaultPlan(crash_rate=1.0)).should_crash("cache-1")
    True
    """

    __slots__ = ("_crashes", "_delayed", "_dropped", "_duplicated", "_log", "_messages",
                 "crash_plan", "plan", "rng", "seed")

    def __init__(self, seed: int | str, plan: FaultPlan = NO_FAULTS, *,
                 crash_plan: CrashPlan | None = None, log: Log | None = None) -> None:
        self.seed = check_seed(seed)
        if not isinstance(plan, FaultPlan):
            raise InvalidArgument.bad_value("plan", plan, "a FaultPlan")
        if crash_plan is not None and not isinstance(crash_plan, CrashPlan):
            raise InvalidArgument.bad_value("crash_plan", crash_plan, "a CrashPlan or None")
        if log is not None and not callable(log):
            raise InvalidArgument.bad_value("log", log, "a callable log(kind, **fields)")
        self.plan = plan
        self.rng = Random(seed)
        self.crash_plan = CrashPlan() if crash_plan is None else crash_plan
        self._log: Log = _ignore if log is None else log
        self._messages = self._dropped = self._duplicated = self._delayed = self._crashes = 0

    def copies(self, *, to: str = "", msg: str = "") -> tuple[float, ...]:
        """How one message crosses the network: the delay in seconds of each copy that
        arrives (``()``: lost; two delays: duplicated). ``to`` and ``msg`` only go to the log.

        Notes
        -----
        The rng decides, in this order: drop (``drop_rate``), duplicate
        (``duplicate_rate``), then for each copy an extra delay (``delay_rate``, uniform up
        to ``max_extra_delay_s``) on top of ``base_delay_s``. Copies with different delays
        can overtake each other and other messages: reordering needs no knob of its own.
        Delays are whole microseconds, as the fake clock keeps time.
        """
        plan = self.plan
        self._messages += 1
        if self.rng.random() < plan.drop_rate:
            self._dropped += 1
            self._log("drop", to=to, msg=msg)
            return ()
        count = 1
        if self.rng.random() < plan.duplicate_rate:
            count = 2
            self._duplicated += 1
            self._log("duplicate", to=to, msg=msg)
        delays = []
        for _ in range(count):
            delay_us = round(plan.base_delay_s * US_PER_S)
            if self.rng.random() < plan.delay_rate:
                extra_us = round(self.rng.uniform(0.0, plan.max_extra_delay_s) * US_PER_S)
                delay_us += extra_us
                self._delayed += 1
                self._log("delay", to=to, msg=msg, extra_s=extra_us / US_PER_S)
            delays.append(delay_us / US_PER_S)
        return tuple(delays)

    def should_crash(self, component: str) -> bool:
        """Roll for a random crash of ``component`` (probability ``crash_rate``); logged
        when True.

        Raises
        ------
        InvalidArgument
            If ``component`` is not a non-empty string.
        """
        _check_name("component", component)
        crashed = self.rng.random() < self.plan.crash_rate
        if crashed:
            self._crashes += 1
            self._log("crash", component=component)
        return crashed

    def crashes_at(self, point: str, item: str) -> bool:
        """Ask the crash plan whether this arrival at ``point`` (for ``item``) is fatal;
        logged when True. No chance involved: the plan decides."""
        crashed = self.crash_plan.should_crash(point, item)
        if crashed:
            self._log("crash", component=point, item=item)
        return crashed

    def skew_s(self) -> float:
        """A clock offset drawn uniformly from ``±clock_skew_s``, in whole microseconds
        (logged as ``skew``)."""
        limit = self.plan.clock_skew_s
        skew = round(self.rng.uniform(-limit, limit) * US_PER_S) / US_PER_S
        self._log("skew", skew_s=skew)
        return skew

    def statistics(self) -> FaultStatistics:
        """What was decided so far (see :class:`FaultStatistics`)."""
        return FaultStatistics(
            messages=self._messages, dropped=self._dropped, duplicated=self._duplicated,
            delayed=self._delayed, crashes=self._crashes,
            planned_crashes=len(self.crash_plan.fired),
        )

    def __repr__(self) -> str:
        return f"FaultInjector(seed={self.seed!r}, plan={self.plan!r})"
