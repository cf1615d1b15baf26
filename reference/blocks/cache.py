"""An in-process cache (캐시): LRU or FIFO eviction, entry and byte limits, TTLs on our clock.

A building block any chapter can use; chapter 11's caching tiers (news feed, content,
social graph, action and counter caches) are each one :class:`Cache`, and a tier report
reads each one's :meth:`Cache.statistics`.

A cache holds at most ``capacity`` entries (and, if given, at most ``max_bytes`` bytes of
values). When a new entry needs room, the **eviction policy** picks the victim:

- ``"lru"`` (least recently used): every hit moves the entry to the back of the line, so the
  entries nobody read for longest leave first;
- ``"fifo"`` (first in, first out): reads change nothing, the oldest *write* leaves first.
  Twitter's cache study (OSDI 2020) found FIFO about as good as LRU on its workloads, and
  FIFO needs no bookkeeping on a read (no lock, no pointer move): both exist to compare.

**Expiry is a pure function of our clock.** An entry set with ``ttl_s`` is alive while
``clock.now() < set_time + ttl_s`` (whole microseconds). Nothing runs in the background: an
expired entry is noticed when an operation finds it (it is dropped, and a ``get`` counts a
miss) or when it reaches the front of the line and is chosen as the victim. Until then it
still occupies its slot, as in memcached and Redis (lazy expiry); :meth:`Cache.purge_expired`
sweeps them all at once. ``expirations`` counts entries that left because their time was up,
``evictions`` live entries pushed out to make room.

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

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Final, Generic, Literal, TypeVar, cast

from reference.core.checks import check_int, check_positive_seconds
from reference.core.clock import US_PER_S, Clock
from reference.core.errors import InvalidArgument, PayloadTooLarge

__all__ = [
    "POLICIES",
    "USE_DEFAULT_TTL",
    "Cache",
    "CacheStatistics",
    "EvictionPolicy",
    "UseDefault",
    "estimate_bytes",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

EvictionPolicy = Literal["lru", "fifo"]
POLICIES: Final[tuple[EvictionPolicy, ...]] = ("lru", "fifo")


class UseDefault(enum.Enum):
    """The type of :data:`USE_DEFAULT_TTL` (a one-member enum, so type checkers know it)."""

    TTL = "the cache's default ttl_s"


#: ``Cache.set(..., ttl_s=USE_DEFAULT_TTL)`` (the default): the cache's own ``ttl_s``.
USE_DEFAULT_TTL: Final = UseDefault.TTL


def estimate_bytes(value: object) -> int:
    """The default ``sizeof``: ``len(repr(value))``, a rough size of a value in bytes.

    It counts characters of the value's text form, which for ids, short strings and tuples
    of them is close to what a serialised copy (JSON, say) would take; it ignores Python's
    per-object overhead on purpose, since a cache server stores the serialised bytes.

    Examples
    --------
    >>> estimate_bytes("hello"), estimate_bytes((1, 2, 3))
    (7, 9)
    """
    return len(repr(value))


@dataclass(frozen=True, slots=True)
class CacheStatistics:
    """What a cache has done so far, for a tier report.

    ``hit_rate`` is ``hits / (hits + misses)`` (0.0 before any lookup); ``entries`` and
    ``bytes`` describe what it holds now (expired entries not yet noticed included);
    ``bytes`` is the sum of ``sizeof(value)`` over those entries.
    """

    name: str
    hits: int
    misses: int
    hit_rate: float
    evictions: int
    expirations: int
    entries: int
    bytes: int
    capacity: int


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    expires_us: int | None  # None: never expires
    size: int

    def expired(self, now_us: int) -> bool:
        return self.expires_us is not None and now_us >= self.expires_us


def _check_key(key: object) -> None:
    try:
        hash(key)
    except TypeError:
        raise InvalidArgument.bad_value("key", key, "a hashable key") from None


def _ttl_us(name: str, ttl_s: object) -> int | None:
    if ttl_s is None:
        return None
    ttl = check_positive_seconds(name, ttl_s, "None or a finite number of seconds > 0")
    ttl_us = round(ttl * US_PER_S)
    if ttl_us < 1:
        raise InvalidArgument.bad_value(name, ttl_s, "None or at least one microsecond")
    return ttl_us


class Cache(Generic[K, V]):
    """At most ``capacity`` entries, evicted LRU or FIFO, each alive until its TTL runs out.

    Parameters
    ----------
    clock : Clock
        Decides expiry: an entry set at ``t`` with ``ttl_s`` is alive while ``now < t + ttl_s``.
    capacity : int
        The most entries held at once (>= 1).
    name : str
        Names the cache in statistics and tier reports (default ``"cache"``).
    policy : {"lru", "fifo"}
        Which entry leaves when room is needed: least recently used, or oldest written.
    ttl_s : float or None
        The default time to live of an entry in seconds (> 0), or None: no expiry.
    max_bytes : int or None
        If given (>= 1), the most bytes of values held at once, measured by ``sizeof``.
    sizeof : callable
        ``sizeof(value) -> int``, the size of a value in bytes (default
        :func:`estimate_bytes`, ``len(repr(value))``).

    Raises
    ------
    InvalidArgument
        A bad ``clock``, ``capacity``, ``name``, ``policy``, ``ttl_s``, ``max_bytes`` or
        ``sizeof``.

    Notes
    -----
    An ``OrderedDict`` in eviction order (front: the next victim) makes every operation O(1)
    (``get_many`` O(1) per key, :meth:`purge_expired` O(n)). A set of a key already held
    replaces its value and TTL and moves it to the back in both policies (a new write).
    ``None`` cannot be cached: ``get`` answers None for a miss (cache an empty tuple, say,
    to remember "known to be empty"). The trade-off taught: a bigger cache or a longer TTL
    raises the hit rate and the staleness together; lazy expiry costs no thread and no
    timer, at the price of memory held by entries nobody asks for again.
    """

    __slots__ = ("_bytes", "_capacity", "_clock", "_entries", "_evictions", "_expirations",
                 "_hits", "_max_bytes", "_misses", "_name", "_policy", "_sizeof", "_ttl_us")

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
        if not isinstance(clock, Clock):
            raise InvalidArgument.bad_value("clock", clock, "a Clock (now, now_ms, sleep)")
        check_int("capacity", capacity, 1)
        if not isinstance(name, str) or not name:
            raise InvalidArgument.bad_value("name", name, "a non-empty string")
        if policy not in POLICIES:
            raise InvalidArgument.bad_value("policy", policy, "'lru' or 'fifo'")
        self._ttl_us = _ttl_us("ttl_s", ttl_s)
        if max_bytes is not None:
            check_int("max_bytes", max_bytes, 1, expected="None or an int >= 1")
        if not callable(sizeof):
            raise InvalidArgument.bad_value("sizeof", sizeof, "a callable: sizeof(value) -> int")
        self._clock = clock
        self._capacity = capacity
        self._name = name
        self._policy: EvictionPolicy = policy
        self._max_bytes = max_bytes
        self._sizeof = sizeof
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._bytes = 0
        self._hits = self._misses = self._evictions = self._expirations = 0

    # -- what it is ----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def policy(self) -> EvictionPolicy:
        return self._policy

    @property
    def max_bytes(self) -> int | None:
        return self._max_bytes

    @property
    def ttl_s(self) -> float | None:
        """The default time to live in seconds (None: no expiry)."""
        return None if self._ttl_us is None else self._ttl_us / US_PER_S

    @property
    def clock(self) -> Clock:
        """The clock that decides expiry (a wrapper such as a lease cache shares it)."""
        return self._clock

    # -- reads ---------------------------------------------------------------------------

    def get(self, key: K) -> V | None:
        """The value cached for ``key``, or None on a miss; counts a hit or a miss.

        A hit moves the entry to the back of the line under LRU (not under FIFO); an expired
        entry found here is dropped (counted in ``expirations``) and the lookup is a miss.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable.
        """
        _check_key(key)
        return self._lookup(key, self._now_us())

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The entries found among ``keys``, as a dict in the order asked; each key counts.

        A key asked twice counts twice. O(1) per key.

        Raises
        ------
        InvalidArgument
            If a key is not hashable (checked for all keys before any is looked up).
        """
        asked = list(keys)
        for key in asked:
            _check_key(key)
        now_us = self._now_us()
        found: dict[K, V] = {}
        for key in asked:
            value = self._lookup(key, now_us)
            if value is not None:
                found[key] = value
        return found

    def peek(self, key: K) -> V | None:
        """The live value for ``key`` or None, changing nothing (no statistics, no recency).

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable.
        """
        _check_key(key)
        entry = self._entries.get(key)
        if entry is None or entry.expired(self._now_us()):
            return None
        return entry.value

    def __contains__(self, key: object) -> bool:
        """Whether a live entry exists for ``key``; no statistics, no recency, no drop."""
        try:
            entry = self._entries.get(cast(K, key))
        except TypeError:  # unhashable: never held
            return False
        return entry is not None and not entry.expired(self._now_us())

    def __len__(self) -> int:
        """Entries held, including expired ones no operation has noticed yet (lazy expiry)."""
        return len(self._entries)

    # -- writes --------------------------------------------------------------------------

    def set(self, key: K, value: V, *,
            ttl_s: float | UseDefault | None = USE_DEFAULT_TTL) -> None:
        """Cache ``value`` under ``key``, evicting from the front of the line to make room.

        Parameters
        ----------
        key : hashable
        value : any but None
        ttl_s : float or None
            This entry's time to live in seconds (> 0), None for no expiry; by default the
            cache's ``ttl_s``.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable, ``value`` is None, ``ttl_s`` is not None or > 0, or
            ``sizeof(value)`` is not an int >= 0.
        PayloadTooLarge
            If ``max_bytes`` is set and the value alone is larger.

        Nothing changes when an error is raised.
        """
        _check_key(key)
        if value is None:
            raise InvalidArgument.bad_value(
                "value", value, "a value other than None (None is how get reports a miss)")
        ttl_us = self._ttl_us if isinstance(ttl_s, UseDefault) else _ttl_us("ttl_s", ttl_s)
        size = self._size_of(value)
        now_us = self._now_us()
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
            if old.expired(now_us):  # replaced after its time was up
                self._expirations += 1
        while len(self._entries) >= self._capacity or (
            self._max_bytes is not None and self._bytes + size > self._max_bytes
        ):
            self._evict_front(now_us)
        expires_us = None if ttl_us is None else now_us + ttl_us
        self._entries[key] = _Entry(value, expires_us, size)
        self._bytes += size

    def delete(self, key: K) -> bool:
        """Remove ``key``'s entry; True if a live entry was removed (an expired one: False).

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable.
        """
        _check_key(key)
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._bytes -= entry.size
        if entry.expired(self._now_us()):
            self._expirations += 1
            return False
        return True

    def purge_expired(self) -> int:
        """Drop every expired entry now (what a background sweeper would do); O(n).

        Returns
        -------
        int
            How many entries were dropped (each counted in ``expirations``).
        """
        now_us = self._now_us()
        doomed = [key for key, entry in self._entries.items() if entry.expired(now_us)]
        for key in doomed:
            self._bytes -= self._entries.pop(key).size
        self._expirations += len(doomed)
        return len(doomed)

    def clear(self) -> None:
        """Drop every entry (a restarted cache server); the counters keep counting."""
        self._entries.clear()
        self._bytes = 0

    def statistics(self) -> CacheStatistics:
        lookups = self._hits + self._misses
        return CacheStatistics(
            name=self._name,
            hits=self._hits,
            misses=self._misses,
            hit_rate=self._hits / lookups if lookups else 0.0,
            evictions=self._evictions,
            expirations=self._expirations,
            entries=len(self._entries),
            bytes=self._bytes,
            capacity=self._capacity,
        )

    def __repr__(self) -> str:
        return (f"Cache(name={self._name!r}, policy={self._policy!r}, "
                f"entries={len(self._entries)}/{self._capacity})")

    # -- the machinery -------------------------------------------------------------------

    def _now_us(self) -> int:
        return round(self._clock.now() * US_PER_S)

    def _lookup(self, key: K, now_us: int) -> V | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expired(now_us):
            del self._entries[key]
            self._bytes -= entry.size
            self._expirations += 1
            entry = None
        if entry is None:
            self._misses += 1
            return None
        self._hits += 1
        if self._policy == "lru":
            self._entries.move_to_end(key)
        return entry.value

    def _evict_front(self, now_us: int) -> None:
        _, victim = self._entries.popitem(last=False)
        self._bytes -= victim.size
        if victim.expired(now_us):
            self._expirations += 1
        else:
            self._evictions += 1

    def _size_of(self, value: V) -> int:
        size = self._sizeof(value)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidArgument.bad_value("sizeof(value)", size, "an int >= 0")
        if self._max_bytes is not None and size > self._max_bytes:
            raise PayloadTooLarge(f"{self._name} cache value", size, self._max_bytes)
        return size
