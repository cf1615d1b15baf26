"""Exercise ch10: rate limiting (전송률 제한) — an exact sliding-window log on the Timeline port.

Chapter 10 limits twice: how many notifications one user may get (too many and they turn
notifications off), and how fast a provider may be called (FCM: about 600K messages a minute
per project). You build the limiter both use: at most ``limit`` grants per key in **any**
window of ``window_s`` seconds, exactly.

Every method below raises ``NotImplementedError``: replace each body with your code. The
docstrings are the contract; ``exercises/graders/test_ch10_ratelimit.py`` checks it. Grade
yourself with ``make grade CHAPTER=10`` or, in a notebook, ``check("rate-limit-window")``.

The vocabulary is yours to use, not to rebuild: the records :class:`RateDecision` and
:class:`RateLimiterStatistics`, the ports :class:`Timeline` (a sorted set, Redis ZSET) and
:class:`Clock`, and :class:`InvalidArgument`. The model answer is
``reference/notification/ratelimit.py``.

Exercises (name → what to implement):

======================= ==================================================================
rate-limit-window       ``__init__`` and :meth:`RateLimiter.acquire`: grant iff fewer than
                        ``limit`` grants lie in the window; property-tested against a list
                        of timestamps by a hypothesis state machine
rate-limit-retry-after  a denial's ``retry_after_s``: exactly when the oldest grant leaves
rate-limit-on-the-port  the log lives in the Timeline port: limiters share it by name
rate-limit-arguments    bad settings and bad keys are rejected before anything is written
rate-limit-statistics   :meth:`RateLimiter.statistics`
======================= ==================================================================

The algorithm, a sliding-window **log**: keep one sorted-set entry per grant, scored by its
time. The window at ``now`` is the half-open interval ``(now - window_s, now]``::

        window_s = 10, limit = 2, grants at 0 and 3
        ──●──────●───────────────|─────▶   at 9:  (−1, 9] holds both  → denied, retry in 1
          0      3               10        at 10: (0, 10] holds only 3 → granted

A fixed-window counter (one counter per calendar minute) is cheaper but lets 2 × limit
through across a boundary; the log is exact and costs one entry per grant.
"""

from __future__ import annotations

from reference.blocks.ratelimit import RateDecision, RateLimiterStatistics
from reference.core.clock import Clock
from reference.core.errors import InvalidArgument  # noqa: F401  (yours to raise)
from reference.storage.ports import Timeline

__all__ = ["Clock", "RateDecision", "RateLimiter", "RateLimiterStatistics", "Timeline"]


class RateLimiter:
    """At most ``limit`` grants per key in any window of ``window_s`` seconds.

    Parameters
    ----------
    timeline : Timeline
        The sorted-set port (``store.timeline``). Keep the log there, one sorted set per
        key, e.g. at ``f"ratelimit:{name}:{{{key}}}"``, and nothing in the object but the
        settings and the :meth:`statistics` counters: two limiters with the same ``name``
        over one timeline (two API servers) share one budget and write into one log, so
        whatever goes into the log, member names included, must not depend on which object
        wrote it (see :meth:`acquire`'s Hint). Limiters with different names do not share.
    clock : Clock
        Every decision is taken at ``clock.now()`` (seconds; a ``FakeClock`` in tests).
    limit : int
        Grants per window: an ``int >= 1`` (a bool is not a limit).
    window_s : float
        The window length in seconds: a finite number > 0.
    name : str
        A non-empty string without ``{`` or ``}``.

    Raises
    ------
    InvalidArgument
        For a bad ``limit``, ``window_s`` or ``name``.

    Notes
    -----
    One acquisition is a range scan of the expired entries, a removal, a size and an add:
    O(log n + expired) with at most ``limit`` entries per key. Memory grows with the limit:
    that is the price of being exact.

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> from reference.storage import connect
    >>> clock = FakeClock(start=1_000.0)
    >>> per_user = RateLimiter(connect("memory", clock=clock).timeline, clock, limit=2,
    ...                        window_s=60.0, name="per-user")
    >>> per_user.acquire("u1"), per_user.acquire("u1")
    (RateDecision(allowed=True, retry_after_s=0.0, remaining=1), \
RateDecision(allowed=True, retry_after_s=0.0, remaining=0))
    >>> clock.advance(10)
    >>> per_user.acquire("u1")
    RateDecision(allowed=False, retry_after_s=50.0, remaining=0)
    >>> clock.advance(50)
    >>> per_user.acquire("u1").allowed
    True
    """

    def __init__(
        self, timeline: Timeline, clock: Clock, *, limit: int, window_s: float, name: str
    ) -> None:
        """Validate the settings, then keep them (exercises ``rate-limit-window``/``-arguments``).

        Hint
        ----
        Check ``isinstance(x, bool)`` before ``isinstance(x, int)``: ``True`` is an ``int``.
        ``math.isfinite`` rejects ``inf`` and ``nan``. Start the three counters at 0.
        """
        raise NotImplementedError(
            "exercise: RateLimiter.__init__ — validate limit, window_s and name; keep them"
        )

    def acquire(self, key: str) -> RateDecision:
        """Take one grant for ``key`` at ``clock.now()`` if the window has room.

        Contract
        --------
        * ``rate-limit-window``: first drop the key's entries that have left the window
          (time ``<= now - window_s``). If fewer than ``limit`` remain, record a grant at
          ``now`` and return ``RateDecision(allowed=True, retry_after_s=0.0,
          remaining=limit - in_window - 1)``, where ``in_window`` counts the grants before
          this one. Otherwise return ``allowed=False, remaining=0`` and record **nothing**:
          a denied request does not extend the ban.
        * ``rate-limit-retry-after``: a denial's ``retry_after_s`` is the exact wait until
          the oldest grant in the window leaves it, ``oldest + window_s - now`` (> 0), so
          advancing the clock by it lands on a granted request, and by any less does not.
        * Keys are independent budgets ("u1" and "u2"; "fcm" and "apns").

        Parameters
        ----------
        key : str
            Whose budget: a user id, a provider name. Non-empty, without ``{`` or ``}``.

        Returns
        -------
        RateDecision
            ``reference.blocks.ratelimit.RateDecision``.

        Raises
        ------
        InvalidArgument
            For a bad ``key``, before the timeline is touched or anything is counted.

        Hint
        ----
        ``timeline.range_by_score(k, float("-inf"), cutoff)`` lists the expired entries and
        ``timeline.remove(k, *members)`` drops them; ``timeline.size(k)`` counts the rest;
        ``timeline.range_by_rank(k, 0, 0)`` is the oldest. Working in whole microseconds
        (``round(now * 1_000_000)``) keeps the arithmetic exact.

        Members of a sorted set are unique, and adding an existing member only re-scores
        it, so every grant needs a member name no other grant in the log has, **across
        every limiter object sharing the log**. A counter kept on the object is not
        enough: two servers that each grant once in the same microsecond would both write
        the same member, and the second grant would silently overwrite the first
        (``rate-limit-on-the-port`` catches it). Build the name from what every limiter
        sees in the store: the time of the grant together with how many entries the window
        held just before it. Within one microsecond that count only grows from grant to
        grant (a window of at least a microsecond never trims an entry stamped ``now``), so
        no two grants share it.

        That argument assumes one clock. Written as separate calls, the steps can also
        interleave between two servers, and both may take the last slot. The reference does
        all four in one atomic call, ``timeline.add_within_limit`` (one Lua script on Redis),
        which also never lets the log go back in time and never reuses a member name; you
        may use it too once yours works step by step.
        """
        raise NotImplementedError(
            "exercise: RateLimiter.acquire — trim the log, count, grant or deny with the wait"
        )

    def statistics(self) -> RateLimiterStatistics:
        """A snapshot of this limiter object's work (exercise ``rate-limit-statistics``).

        Returns
        -------
        RateLimiterStatistics
            ``allowed`` (grants), ``denied`` (denials) and ``trimmed`` (log entries removed
            because they left the window). A rejected call counts nothing.

        Hint
        ----
        ``timeline.remove`` returns how many members it removed: add that to ``trimmed``.
        """
        raise NotImplementedError(
            "exercise: RateLimiter.statistics — allowed, denied and trimmed counters"
        )
