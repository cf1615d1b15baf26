"""Exercise ch11: memcache leases (리스) — one refill per hot key, and no stale value written back.

A look-aside cache is read like this: ask the cache; on a miss, load from the database and
set the value. Two things go wrong with a hot key (a celebrity's feed, read 2,000 times a
second):

1. **The thundering herd** (캐시 쇄도): when the entry expires, every reader that arrives
   before the first refill lands misses too, and each one queries the database for the
   same value: with 50 ms loads, about 100 identical queries at once.
2. **Stale sets** (오래된 값 쓰기): reader A misses and reads the database; a writer updates
   the row and deletes the cache entry; A, slow, then sets the *old* value, which stays
   cached until its TTL runs out.

Facebook's memcache (NSDI 2013) fixes both with **leases**: on a miss the cache hands out a
*token*, at most one per key per ``lease_s``. The token holder loads and sets; everyone else
gets a **hot miss** ("someone is refilling it: wait a little and retry"). A ``delete`` (the
writer's invalidation) voids the outstanding token, so the slow reader's set is **refused**.

Every body below raises ``NotImplementedError``: replace each with your code. The docstrings
are the contract; ``exercises/graders/test_ch11_leases.py`` checks it. Grade yourself with
``make grade CHAPTER=11`` or, in a notebook, ``check("lease-token")``.

The vocabulary is yours to use, not to rebuild: the cache it wraps, :class:`Cache` (the
chapter's LRU/TTL cache, exercise ``ch11_cache``), the records :class:`LeaseAnswer` and
:class:`LeaseStatistics`, :data:`LEASE_S`, :data:`USE_DEFAULT_TTL` and
:class:`InvalidArgument`. The model answer is ``reference/cache/leases.py`` (and
``reference/cache/herd.py`` runs the herd experiment with it).

Exercises (name → what to implement):

================ ==========================================================================
lease-token      ``__init__`` and :meth:`LeaseCache.get`: a hit, a lease token, or a hot
                 miss; one token per key per lease period; :meth:`LeaseCache.set` with the
                 token stores the value and ends the lease
lease-stale-set  :meth:`LeaseCache.delete` voids the lease, and :meth:`LeaseCache.set`
                 refuses every token that is not the key's live one
lease-herd       a herd of readers on an expiring hot key costs one database load, and a
                 write during the refill leaves the new value cached, never the old one
lease-statistics :meth:`LeaseCache.statistics`
lease-arguments  bad settings, keys, values and tokens are rejected before anything changes
================ ==========================================================================
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from reference.blocks.cache import USE_DEFAULT_TTL, Cache, CacheStatistics, UseDefault
from reference.cache.leases import LEASE_S, LeaseAnswer, LeaseStatistics
from reference.core.errors import InvalidArgument  # noqa: F401  (yours to raise)

__all__ = [
    "LEASE_S",
    "USE_DEFAULT_TTL",
    "Cache",
    "CacheStatistics",
    "LeaseAnswer",
    "LeaseCache",
    "LeaseStatistics",
    "UseDefault",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LeaseCache(Generic[K, V]):
    """A :class:`Cache` read and refilled memcache-style, with leases.

    Parameters
    ----------
    cache : Cache
        The cache holding the values (a ``reference.blocks.cache.Cache``); its clock,
        ``cache.clock``, decides when leases run out.
    lease_s : float
        How long a lease lasts: a finite number > 0 (default 10 s). At most one token per
        key per period.

    Raises
    ------
    InvalidArgument
        If ``cache`` is not a :class:`Cache` or ``lease_s`` is not a finite number > 0 (a
        bool is not).

    Notes
    -----
    A lease ends when its holder sets the value (consumed), when the key is deleted
    (voided) or when ``lease_s`` has passed (a holder that crashed cannot block a key
    forever; its late set is then refused). Tokens are 1, 2, 3, ... per lease cache, across
    all keys. Every operation is O(1). The trade-off taught: one load per hot key per
    refill, paid for by the other readers' wait (a retry every few milliseconds) and one
    more round trip.

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> clock = FakeClock(start=0.0)
    >>> feeds = LeaseCache(Cache(clock, capacity=100, name="feed"), lease_s=10.0)
    >>> first = feeds.get("feed:{1}")     # a miss: this reader gets the lease
    >>> first
    LeaseAnswer(value=None, token=1)
    >>> feeds.get("feed:{1}").must_wait   # a hot miss: someone is already refilling it
    True
    >>> feeds.set("feed:{1}", (30, 20, 10), token=first.token)
    True
    >>> feeds.get("feed:{1}")
    LeaseAnswer(value=(30, 20, 10), token=None)
    >>> feeds.delete("feed:{1}")
    True
    >>> slow = feeds.get("feed:{1}")      # reads the database before the write below
    >>> feeds.delete("feed:{1}")          # the writer updated the row, then invalidated
    False
    >>> feeds.set("feed:{1}", (30, 20, 10), token=slow.token)    # the old value: refused
    False
    """

    def __init__(self, cache: Cache[K, V], *, lease_s: float = LEASE_S) -> None:
        """Validate and keep the cache and the lease length; no lease yet (``lease-token``).

        Hint
        ----
        Keep ``lease_s`` in whole microseconds, at least 1:
        ``max(1, round(lease_s * 1_000_000))``, and "now" as
        ``round(cache.clock.now() * 1_000_000)``. A dict ``key -> (token, expires_us)``
        holds the outstanding leases; the next token starts at 1; the five counters of
        :meth:`statistics` at 0.
        """
        raise NotImplementedError(
            "exercise: LeaseCache.__init__ — validate cache and lease_s; no lease yet"
        )

    def get(self, key: K) -> LeaseAnswer[V]:
        """The cached value, or on a miss a lease token if nobody holds a live one for ``key``.

        Contract (``lease-token``)
        --------------------------
        * A hit (``cache.get(key)`` finds a value): ``LeaseAnswer(value, None)``.
        * A miss, and a live lease on ``key`` (granted less than ``lease_s`` ago, not yet
          used or voided): a **hot miss**, ``LeaseAnswer(None, None)``.
        * A miss and no live lease: grant one, the next token (1, 2, 3, ...), expiring
          ``lease_s`` from now: ``LeaseAnswer(None, token)``. A lease that ran out is
          simply replaced.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable (the wrapped cache raises it for you).

        Hint
        ----
        The wrapped cache counts the hit or the miss; you count leases granted and hot
        misses (``lease-statistics``).
        """
        raise NotImplementedError(
            "exercise: LeaseCache.get — a hit, a new token, or a hot miss (someone holds it)"
        )

    def set(self, key: K, value: V, *, token: int,
            ttl_s: float | UseDefault | None = USE_DEFAULT_TTL) -> bool:
        """Cache ``value`` if ``token`` is ``key``'s live lease; True if it was stored.

        Contract
        --------
        * ``lease-token``: the token of ``key``'s live lease: store the value in the
          cache (with ``ttl_s``, as :meth:`Cache.set`), end the lease, return True.
        * ``lease-stale-set``: any other token is refused (return False, change
          nothing): one voided by a :meth:`delete`, one that ran out (``lease_s``
          passed), one already used, one of another key, one never issued.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable, ``value`` is None, or ``token`` is not an
            ``int >= 1`` (a bool is not), before anything is looked up or counted; also if
            the cache refuses the value or ``ttl_s`` (then the lease stays as it was).

        Hint
        ----
        Compare the token with the lease you stored for this very key, and check that the
        lease is still live. Call ``cache.set`` *before* you forget the lease, so an error
        from it leaves the lease in place.
        """
        raise NotImplementedError(
            "exercise: LeaseCache.set — store only with the key's live token, then end the lease"
        )

    def delete(self, key: K) -> bool:
        """Invalidate ``key``: drop its value and void its lease; True if a value was live.

        Contract (``lease-stale-set``)
        ------------------------------
        The writer's invalidation: ``cache.delete(key)``, and the key's lease (if any) is
        forgotten, so the token it handed out is refused from now on, and the next miss
        gets a new token. Returns what ``cache.delete`` returns.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable.

        Hint
        ----
        ``self._leases.pop(key, None)``; count it as voided only if it was still live.
        """
        raise NotImplementedError("exercise: LeaseCache.delete — drop the value, void the lease")

    def statistics(self) -> LeaseStatistics:
        """A snapshot of what the lease cache decided (``lease-statistics``).

        Returns
        -------
        LeaseStatistics
            ``leases_granted`` (tokens handed out), ``hot_misses`` (misses told to wait),
            ``sets_accepted``, ``sets_refused`` (valid calls whose token was not the live
            one), ``leases_voided`` (live leases a delete ended), and ``cache``: the
            wrapped cache's own ``statistics()``.

        Hint
        ----
        Five integer counters and one call to ``cache.statistics()``.
        """
        raise NotImplementedError("exercise: LeaseCache.statistics — five counters and the cache's")
