"""Rate limiting (전송률 제한, the book's chapter 4): an exact sliding-window log on a Timeline.

A building block any chapter can use. Two places in chapter 10 need it. The intake side
caps how many notifications one user gets (too many and the user turns notifications off),
and the delivery side respects a provider's quota (FCM: about 600K messages per minute per
project) by asking before it sends.

The sliding-window *log* keeps one sorted-set entry per granted acquisition, scored by its
time on the injected clock. A request at ``now`` is granted iff fewer than ``limit`` entries
lie in the half-open window ``(now - window_s, now]``; entries older than the window are
trimmed on the way. So **no window of length window_s ever holds more than limit grants**,
which the fixed-window counter cannot promise (it allows 2x the limit across a boundary).
With several servers sharing the log this holds in the log's own time: a grant asked with
a clock behind the log's latest entry is recorded at that entry's time, so a lagging server
cannot reopen room that a later grant already used.

Times are kept in whole microseconds (exact in a double up to 2**53 µs, about 285 years), so
``retry_after_s`` is exact: advancing a fake clock by it always lands on a granted request.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> clock = FakeClock(start=1_000.0)
>>> store = connect("memory", clock=clock)
>>> per_user = RateLimiter(store.timeline, clock, limit=2, window_s=60.0, name="per-user")
>>> per_user.acquire("u1"), per_user.acquire("u1")
(RateDecision(allowed=True, retry_after_s=0.0, remaining=1), \
RateDecision(allowed=True, retry_after_s=0.0, remaining=0))
>>> clock.advance(10)
>>> per_user.acquire("u1")
RateDecision(allowed=False, retry_after_s=50.0, remaining=0)
>>> clock.advance(50)
>>> per_user.acquire("u1").allowed
True
>>> per_user.statistics()
RateLimiterStatistics(allowed=3, denied=1, trimmed=2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reference.core.checks import check_int, check_positive_seconds
from reference.core.clock import US_PER_S, Clock
from reference.core.errors import InvalidArgument
from reference.storage.ports import Timeline

__all__ = [
    "Acquisition",
    "RateDecision",
    "RateDecisionLike",
    "RateLimiter",
    "RateLimiterLike",
    "RateLimiterStatistics",
    "RecordingLimiter",
]



@dataclass(frozen=True, slots=True)
class RateDecision:
    """The answer to one acquisition.

    ``retry_after_s`` is 0.0 when allowed, else the wait until the oldest grant in the
    window leaves it. ``remaining`` is how many more grants the window has room for now.
    """

    allowed: bool
    retry_after_s: float
    remaining: int


@dataclass(frozen=True, slots=True)
class RateLimiterStatistics:
    allowed: int
    denied: int
    trimmed: int


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key or "{" in key or "}" in key:
        raise InvalidArgument.bad_value("key", key, "a non-empty string without braces")
    return key


class RateLimiter:
    """At most ``limit`` grants per key in any window of ``window_s`` seconds.

    Parameters
    ----------
    timeline : Timeline
        The sorted-set port; one set per key at ``ratelimit:<name>:{<key>}``.
    clock : Clock
        Every decision is taken at ``clock.now()``.
    limit : int
        Grants per window (>= 1).
    window_s : float
        The window length in seconds (> 0).
    name : str
        Names this limiter's keys, so a per-user and a provider quota can share a store.

    Raises
    ------
    InvalidArgument
        A bad ``limit``, ``window_s`` or ``name``.

    Notes
    -----
    One acquisition is one :meth:`~reference.storage.ports.Timeline.add_within_limit`: trim
    the expired entries, count the rest, add one if there is room, read the oldest, all in
    one atomic step (on Redis one EVAL of a Lua script, so two API servers sharing the log
    cannot both take its last slot). O(log n + expired) with n <= ``limit`` entries per key,
    so memory grows with the limit. That is the price of exactness; a sliding-window
    *counter* keeps two numbers per key and is approximate. Denied requests are not logged,
    so a client hammering a closed window does not extend its own ban.
    """

    __slots__ = ("_allowed", "_clock", "_denied", "_limit", "_name", "_timeline", "_trimmed",
                 "_window_us")

    def __init__(
        self, timeline: Timeline, clock: Clock, *, limit: int, window_s: float, name: str
    ) -> None:
        check_int("limit", limit, 1)
        check_positive_seconds("window_s", window_s)
        window_us = round(window_s * US_PER_S)
        if window_us < 1:
            raise InvalidArgument.bad_value("window_s", window_s, "at least one microsecond")
        if not isinstance(name, str) or not name or "{" in name or "}" in name:
            raise InvalidArgument.bad_value("name", name, "a non-empty name without braces")
        self._timeline = timeline
        self._clock = clock
        self._limit = limit
        self._window_us = window_us
        self._name = name
        self._allowed = 0
        self._denied = 0
        self._trimmed = 0

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def window_s(self) -> float:
        return self._window_us / US_PER_S

    @property
    def name(self) -> str:
        return self._name

    def _key(self, key: str) -> str:
        return f"ratelimit:{self._name}:{{{key}}}"

    def acquire(self, key: str) -> RateDecision:
        """Take one grant for ``key`` if the window has room, at ``clock.now()``.

        Parameters
        ----------
        key : str
            Whose budget: a user id, a provider name ("fcm").

        Returns
        -------
        RateDecision
            Allowed (and recorded), or denied with the exact wait.

        Raises
        ------
        InvalidArgument
            ``key`` is empty, not a string, or contains braces.
        """
        zkey = self._key(_check_key(key))
        now_us = round(self._clock.now() * US_PER_S)
        # trim, count and record in one atomic step (one EVAL on Redis): two API servers
        # sharing the log cannot both take its last slot, and the log only moves forward,
        # so a server whose clock lags cannot reopen room a later grant already used
        step = self._timeline.add_within_limit(zkey, float(now_us), window=float(self._window_us),
                                               limit=self._limit)
        self._trimmed += step.trimmed
        if step.added:
            self._allowed += 1
            return RateDecision(allowed=True, retry_after_s=0.0,
                                remaining=self._limit - step.size)
        assert step.lowest is not None  # full, so not empty
        self._denied += 1
        wait_us = max(1, int(step.lowest) + self._window_us - now_us)
        return RateDecision(allowed=False, retry_after_s=wait_us / US_PER_S, remaining=0)

    def statistics(self) -> RateLimiterStatistics:
        return RateLimiterStatistics(
            allowed=self._allowed, denied=self._denied, trimmed=self._trimmed
        )

    def __repr__(self) -> str:
        return (f"RateLimiter(name={self._name!r}, limit={self._limit}, "
                f"window_s={self.window_s!r})")


class RateDecisionLike(Protocol):
    """What a caller reads from a rate limiter's answer (:class:`RateDecision` is one)."""

    @property
    def allowed(self) -> bool: ...

    @property
    def retry_after_s(self) -> float: ...


class RateLimiterLike(Protocol):
    """Anything that answers ``acquire(key)`` as :class:`RateLimiter` does (the API asks one)."""

    def acquire(self, key: str) -> RateDecisionLike: ...


@dataclass(frozen=True, slots=True)
class Acquisition:
    """One question to the per-user rate limiter: ``key`` at ``at``, and its answer."""

    at: float
    key: str
    allowed: bool


class RecordingLimiter:
    """A rate limiter that records every acquisition it answers (a fake that records).

    Parameters
    ----------
    inner : RateLimiterLike
        The limiter that decides (a :class:`RateLimiter`).
    clock : Clock
        Stamps each :class:`Acquisition`.

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> from reference.storage import connect
    >>> clock = FakeClock(start=10.0)
    >>> store = connect("memory", clock=clock)
    >>> limiter = RecordingLimiter(RateLimiter(store.timeline, clock, limit=1, window_s=60.0,
    ...                                        name="per-user"), clock)
    >>> [limiter.acquire("u1|sms").allowed for _ in range(2)]
    [True, False]
    >>> limiter.acquisitions[-1]
    Acquisition(at=10.0, key='u1|sms', allowed=False)
    """

    __slots__ = ("_clock", "acquisitions", "inner")

    def __init__(self, inner: RateLimiterLike, clock: Clock) -> None:
        if not callable(getattr(inner, "acquire", None)):
            raise InvalidArgument.bad_value("inner", inner, "a limiter with acquire(key)")
        self.inner = inner
        self._clock = clock
        self.acquisitions: list[Acquisition] = []

    def acquire(self, key: str) -> RateDecisionLike:
        """Ask the wrapped limiter, record the answer, and return it unchanged."""
        decision = self.inner.acquire(key)
        self.acquisitions.append(Acquisition(self._clock.now(), key, bool(decision.allowed)))
        return decision

    def statistics(self) -> RateLimiterStatistics | None:
        """The wrapped limiter's statistics, if it keeps any."""
        stats = getattr(self.inner, "statistics", None)
        result = stats() if callable(stats) else None
        return result if isinstance(result, RateLimiterStatistics) else None
