"""Exercise ch11: the cache (캐시) every caching tier is made of — LRU or FIFO, TTLs, statistics.

Chapter 11 puts a cache in front of every database: the news feed, the posts (hot and
normal), the social graph, the actions and the counters, the users. Each tier is one
in-process cache: at most ``capacity`` entries, an **eviction policy** that picks who leaves
when a new entry needs room, and a **time to live** after which an entry no longer counts.

* ``"lru"`` (least recently used): a hit moves the entry to the back of the line, so the
  entry nobody read for longest leaves first;
* ``"fifo"`` (first in, first out): reads change nothing, the oldest *write* leaves first
  (Twitter's cache study found it about as good as LRU, and a read needs no bookkeeping).

Expiry is a pure function of the injected clock, in whole microseconds: an entry set at
``t`` with ``ttl_s`` is alive while ``now_us < t_us + ttl_us``. Nothing runs in the
background (**lazy expiry**, as memcached and Redis do): an expired entry is noticed when an
operation finds it, or when it reaches the front of the line as the next victim; until then
it still holds its slot.

Every body below raises ``NotImplementedError``: replace each with your code. The docstrings
are the contract; ``exercises/graders/test_ch11_cache.py`` checks it. Grade yourself with
``make grade CHAPTER=11`` or, in a notebook, ``check("cache-eviction")``.

The vocabulary is yours to use, not to rebuild: :class:`CacheStatistics`,
:data:`USE_DEFAULT_TTL` (and its type :class:`UseDefault`), :func:`estimate_bytes`,
:data:`POLICIES`, :class:`Clock`, :class:`InvalidArgument` and :class:`PayloadTooLarge`. The
model answer is ``reference/blocks/cache.py``; its ``get_many``, ``peek``, ``clear`` and
properties go beyond this exercise.

Exercises (name → what to implement):

================= ========================================================================
cache-eviction    ``__init__``, :meth:`~Cache.get`, :meth:`~Cache.set`,
                  :meth:`~Cache.delete`, ``in`` and ``len``: at most ``capacity`` entries,
                  the victim chosen by LRU or FIFO
cache-ttl         time to live on the injected clock, per cache and per entry; lazy expiry;
                  :meth:`~Cache.purge_expired`
cache-statistics  :meth:`~Cache.statistics`: hits, misses, hit rate, evictions,
                  expirations, entries, bytes
cache-model       all of it together, against an ``OrderedDict`` model: a hypothesis state
                  machine
cache-max-bytes   ``max_bytes``: evict until the values fit; a value larger than the whole
                  cache is refused (stretch goal)
cache-arguments   bad settings, keys, values and TTLs are rejected before anything changes
================= ========================================================================

One ``OrderedDict`` does it all, in O(1) per operation: keep the entries in eviction order,
front = next victim. ``popitem(last=False)`` takes the victim, ``move_to_end(key)`` sends an
entry to the back (an LRU hit, or any new write).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from reference.blocks.cache import (
    POLICIES,
    USE_DEFAULT_TTL,
    CacheStatistics,
    EvictionPolicy,
    UseDefault,
    estimate_bytes,
)
from reference.core.clock import Clock
from reference.core.errors import InvalidArgument, PayloadTooLarge  # noqa: F401  (yours to raise)

__all__ = [
    "POLICIES",
    "USE_DEFAULT_TTL",
    "Cache",
    "CacheStatistics",
    "Clock",
    "EvictionPolicy",
    "UseDefault",
    "estimate_bytes",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Cache(Generic[K, V]):
    """At most ``capacity`` entries, evicted LRU or FIFO, each alive until its TTL runs out.

    Parameters
    ----------
    clock : Clock
        Decides expiry: ``round(clock.now() * 1_000_000)`` is "now" in microseconds.
    capacity : int
        The most entries held at once: an ``int >= 1`` (a bool is not).
    name : str
        Names the cache in :meth:`statistics` (a non-empty str).
    policy : {"lru", "fifo"}
        Which entry leaves when room is needed.
    ttl_s : float or None
        The default time to live of an entry, in seconds: a finite number > 0 of at least
        one microsecond, or None (no expiry).
    max_bytes : int or None
        If given (an ``int >= 1``), the most bytes of values held at once, measured by
        ``sizeof`` (exercise ``cache-max-bytes``).
    sizeof : callable
        ``sizeof(value) -> int``: a value's size in bytes (default :func:`estimate_bytes`,
        ``len(repr(value))``).

    Raises
    ------
    InvalidArgument
        For a bad ``clock`` (not a :class:`Clock`), ``capacity``, ``name``, ``policy``,
        ``ttl_s``, ``max_bytes`` or ``sizeof`` (not callable).

    Notes
    -----
    Every operation is O(1) (``purge_expired`` O(n)). The trade-off taught: a bigger cache or
    a longer TTL raises the hit rate and the staleness together; lazy expiry costs no
    thread and no timer, at the price of memory held by entries nobody asks for again.

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> clock = FakeClock(start=0.0)
    >>> feeds = Cache(clock, capacity=2, name="feed", ttl_s=60.0)
    >>> feeds.set("feed:{1}", (30, 20, 10))
    >>> feeds.set("feed:{2}", (31,))
    >>> feeds.get("feed:{1}")            # a hit: in LRU, feed:{1} is now the most recent
    (30, 20, 10)
    >>> feeds.set("feed:{3}", (32,))     # full: evicts feed:{2}, the least recently used
    >>> feeds.get("feed:{2}") is None    # a miss
    True
    >>> clock.advance(60)                # every entry has lived its 60 s
    >>> "feed:{1}" in feeds, feeds.get("feed:{1}")
    (False, None)
    >>> feeds.statistics()
    CacheStatistics(name='feed', hits=1, misses=2, hit_rate=0.3333333333333333, evictions=1,
                    expirations=1, entries=1, bytes=5, capacity=2)
    """

    def __init__(
        self,
        clock: Clock,
        *,
        capacity: int,
        name: str = "cache",
        policy: EvictionPolicy = "lru",
        ttl_s: float | None = None,
        max_bytes: int | None = None,
        sizeof: Callable[[V], int] = estimate_bytes,
    ) -> None:
        """Validate the settings, keep them, start empty (``cache-eviction``, ``-arguments``).

        Hint
        ----
        ``isinstance(clock, Clock)`` works (``Clock`` is a runtime-checkable Protocol).
        Check ``isinstance(x, bool)`` before ``isinstance(x, int)``: ``True`` is an int.
        Store the default TTL in whole microseconds, ``round(ttl_s * 1_000_000)``, and
        refuse one that rounds to 0. Start an ``OrderedDict`` of entries, a byte total and
        the four counters of :meth:`statistics` at 0.
        """
        raise NotImplementedError(
            "exercise: Cache.__init__ — validate the settings, start an empty OrderedDict"
        )

    def get(self, key: K) -> V | None:
        """The value cached for ``key``, or None on a miss; counts a hit or a miss.

        Contract
        --------
        * ``cache-eviction``: a live entry is a hit: return its value; under ``"lru"`` the
          entry moves to the back of the line (it becomes the last victim), under
          ``"fifo"`` nothing moves. No entry: a miss, return None.
        * ``cache-ttl``: an entry found expired (``now_us >= expires_us``) is dropped here,
          counted in ``expirations``, and the lookup is a miss.
        * ``cache-statistics``: every call counts one hit or one miss.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable (``hash(key)`` raises ``TypeError``), before anything
            is counted.

        Hint
        ----
        ``self._entries.get(key)``, then the expiry test, then ``move_to_end(key)`` for LRU.
        Keep each entry as a small record: value, expiry in microseconds (or None), size.
        """
        raise NotImplementedError("exercise: Cache.get — hit (LRU: move to the back) or miss")

    def set(self, key: K, value: V, *,
            ttl_s: float | UseDefault | None = USE_DEFAULT_TTL) -> None:
        """Cache ``value`` under ``key``, evicting from the front of the line to make room.

        Contract
        --------
        * ``cache-eviction``: setting a key already held replaces its value and TTL and
          moves it to the back (a new write, in both policies); it does not evict anyone.
          A new key first makes room: while ``capacity`` entries are held, the front entry
          leaves. Then the new entry goes to the back.
        * ``cache-ttl``: ``ttl_s`` is this entry's time to live in seconds, None for no
          expiry, and by default (:data:`USE_DEFAULT_TTL`) the cache's own ``ttl_s``. The
          entry expires at ``now_us + round(ttl_s * 1_000_000)``.
        * ``cache-statistics``: a victim that was still alive counts in ``evictions``; a
          victim already expired counts in ``expirations`` instead, and so does a replaced
          entry that had expired. A set counts no hit and no miss.
        * ``cache-max-bytes``: with ``max_bytes``, also evict from the front while the held
          bytes plus this value's ``sizeof`` exceed ``max_bytes``.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable, ``value`` is None (None is how :meth:`get` says
            "miss"), ``ttl_s`` is neither None, :data:`USE_DEFAULT_TTL` nor a finite number
            of at least a microsecond, or ``sizeof(value)`` is not an ``int >= 0``.
        PayloadTooLarge
            If ``max_bytes`` is set and the value alone is larger
            (``PayloadTooLarge(f"{name} cache value", size, max_bytes)``).

        Nothing changes when an error is raised: check everything before you touch the
        entries.

        Hint
        ----
        ``isinstance(ttl_s, UseDefault)`` tells the default apart from an explicit value.
        Pop the old entry first (its slot and bytes are free again), then evict while full,
        then insert: a fresh insertion into an ``OrderedDict`` goes to the back.
        """
        raise NotImplementedError(
            "exercise: Cache.set — replace or make room (evict the front), insert at the back"
        )

    def delete(self, key: K) -> bool:
        """Remove ``key``'s entry; True if a live entry was removed.

        Contract
        --------
        An absent key: False. An expired entry is removed too, counted in ``expirations``,
        and the answer is False (nothing live was there). Counts no hit or miss.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable.

        Hint
        ----
        ``self._entries.pop(key, None)``; remember to give its bytes back.
        """
        raise NotImplementedError("exercise: Cache.delete — pop the entry; live or expired?")

    def __contains__(self, key: object) -> bool:
        """Whether a live entry exists for ``key``; changes nothing (no statistics, no
        recency, no drop of an expired entry). An unhashable key is simply not held: False.

        Hint
        ----
        ``self._entries.get(key)`` raises ``TypeError`` for an unhashable key: catch it.
        """
        raise NotImplementedError("exercise: Cache.__contains__ — a live entry, no side effects")

    def __len__(self) -> int:
        """Entries held, including expired ones no operation has noticed yet (lazy expiry).

        ``cache-ttl``: ``len`` counts an expired entry until ``get``, ``set``, ``delete``,
        an eviction or :meth:`purge_expired` drops it.

        Hint
        ----
        ``len(self._entries)``.
        """
        raise NotImplementedError("exercise: Cache.__len__ — entries held")

    def purge_expired(self) -> int:
        """Drop every expired entry now (what a background sweeper would do); O(n).

        Returns
        -------
        int
            How many entries were dropped; each counts in ``expirations``.

        Hint
        ----
        Collect the expired keys first, then pop them: a dict must not change size while
        you iterate over it.
        """
        raise NotImplementedError("exercise: Cache.purge_expired — drop the expired entries")

    def statistics(self) -> CacheStatistics:
        """A snapshot of the cache's counters and contents (``cache-statistics``).

        Returns
        -------
        CacheStatistics
            ``name``; ``hits`` and ``misses`` (of :meth:`get`); ``hit_rate``,
            ``hits / (hits + misses)`` or 0.0 before any lookup; ``evictions`` (live
            victims); ``expirations`` (entries that left because their time was up, however
            that was noticed); ``entries`` (``len(self)``); ``bytes`` (the ``sizeof`` of
            every value held now); ``capacity``. A rejected call counts nothing.

        Hint
        ----
        Keep the byte total up to date on every insert and removal rather than summing the
        entries here; a new ``CacheStatistics`` on every call.
        """
        raise NotImplementedError("exercise: Cache.statistics — hits, misses, evictions, ...")
