"""Memcache leases (리스): one refill per hot key, and no stale value written back.

A look-aside cache (the news feed's) is read like this: ask the cache; on a miss, load from
the database and set the value in the cache. Two things go wrong with a hot key:

1. **The thundering herd** (캐시 쇄도): when the entry expires or is invalidated, every
   reader that arrives before the first refill lands misses too, and each one queries the
   database for the same value. At 2,000 reads/s and a 50 ms load that is ~100 identical
   queries at once; Facebook saw a hot key's peak database load reach ~17K/s.
2. **Stale sets** (오래된 값 쓰기): reader A misses and reads the database; a writer updates
   the row and deletes the cache entry; A, slow, then sets the *old* value, which stays
   cached until its TTL runs out.

Facebook's memcache (NSDI 2013) fixes both with **leases**. On a miss the cache server
hands out a lease *token*, at most once per key per ``lease_s`` (~10 s):

- the one reader holding the token loads and sets; every other reader of that key gets a
  **hot miss** ("someone is already refilling it: wait briefly and retry"), so a herd costs
  one database load instead of a hundred (their hot key: ~17K/s peak down to ~1.3K/s);
- a ``delete`` (the writer's invalidation) voids the outstanding token, so the slow
  reader's set with the old token is **refused**: no stale value is written back.

:class:`SingleFlight` is the in-process alternative: one load in flight per key, and every
caller who asks meanwhile waits for that load's result. It needs no help from the cache
server, but it only deduplicates within one process: a fleet of 20 app servers still sends
up to 20 loads per herd, and it does nothing against stale sets.

Examples
--------
>>> from reference.blocks.cache import Cache
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

A writer's delete voids the token of a reader still loading, so the old value is refused:

>>> feeds.delete("feed:{1}")
True
>>> slow = feeds.get("feed:{1}")      # reads the database before the write below
>>> feeds.delete("feed:{1}")          # the writer updated the row, then invalidated
False
>>> feeds.set("feed:{1}", (30, 20, 10), token=slow.token)    # the old value: refused
False
>>> feeds.statistics()
LeaseStatistics(leases_granted=2, hot_misses=1, sets_accepted=1, sets_refused=1,
                leases_voided=1, cache=CacheStatistics(name='feed', hits=1, misses=3, ...))

Notes
-----
Memcache also keeps a just-deleted value for a few seconds and may return it, marked stale,
on a hot miss, to readers that can live with it. That is left out here: a hot miss only
says "wait and retry".
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from reference.blocks.cache import USE_DEFAULT_TTL, Cache, CacheStatistics, UseDefault
from reference.core.checks import check_int, check_positive_seconds
from reference.core.clock import US_PER_S
from reference.core.errors import InvalidArgument, NotFound

__all__ = [
    "LEASE_S",
    "LeaseAnswer",
    "LeaseCache",
    "LeaseStatistics",
    "SingleFlight",
    "SingleFlightStatistics",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

LEASE_S: Final = 10.0  # memcache: at most one lease token per key per ~10 s


# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True, slots=True)
class LeaseAnswer(Generic[V]):
    """What :meth:`LeaseCache.get` answers: a value, a lease, or "wait".

    - a hit: ``value`` is set, ``token`` is None;
    - a miss with a lease: ``value`` is None, ``token`` is this reader's refill token (load
      from the database, then ``set(key, value, token=token)``);
    - a hot miss: both None, another reader holds the lease; wait briefly and retry.
    """

    value: V | None
    token: int | None

    @property
    def hit(self) -> bool:
        return self.value is not None

    @property
    def must_wait(self) -> bool:
        """A hot miss: no value and no token."""
        return self.value is None and self.token is None


@dataclass(frozen=True, slots=True)
class LeaseStatistics:
    """What a lease cache has decided so far; ``cache`` is the wrapped cache's statistics.

    ``hot_misses`` counts misses told to wait; ``sets_refused`` counts sets whose token was
    not the key's current one (voided by a delete, expired, or never issued for the key);
    ``leases_voided`` counts outstanding leases a delete invalidated.
    """

    leases_granted: int
    hot_misses: int
    sets_accepted: int
    sets_refused: int
    leases_voided: int
    cache: CacheStatistics


@dataclass(frozen=True, slots=True)
class _Lease:
    token: int
    expires_us: int


def _check_key(key: object) -> None:
    try:
        hash(key)
    except TypeError:
        raise InvalidArgument.bad_value("key", key, "a hashable key") from None


# --------------------------------------------------------------------------- leases


class LeaseCache(Generic[K, V]):
    """A :class:`~reference.blocks.cache.Cache` read and refilled memcache-style, with leases.

    Parameters
    ----------
    cache : Cache
        The cache holding the values; its clock decides when leases run out.
    lease_s : float
        How long a lease lasts (> 0, default 10 s): at most one token per key per period.

    Raises
    ------
    InvalidArgument
        If ``cache`` is not a :class:`Cache` or ``lease_s`` is not > 0.

    Notes
    -----
    A lease ends when its holder sets the value (consumed), when the key is deleted
    (voided) or when ``lease_s`` has passed (a holder that crashed cannot block a key
    forever; its late set is then refused). Tokens are 1, 2, 3, ... per lease cache. Every
    operation is O(1); a lease whose holder never returns is forgotten when its key is next
    missed or deleted. The trade-off taught: one load per hot key per refill, paid for by
    the other readers' wait (a retry every few milliseconds) and one more round trip.
    """

    __slots__ = ("_cache", "_granted", "_hot_misses", "_lease_us", "_leases", "_next_token",
                 "_refused", "_set", "_voided")

    def __init__(self, cache: Cache[K, V], *, lease_s: float = LEASE_S) -> None:
        if not isinstance(cache, Cache):
            raise InvalidArgument.bad_value("cache", cache, "a reference.blocks.cache.Cache")
        lease = check_positive_seconds("lease_s", lease_s)
        self._cache = cache
        self._lease_us = max(1, round(lease * US_PER_S))
        self._leases: dict[K, _Lease] = {}
        self._next_token = 1
        self._granted = self._hot_misses = self._set = self._refused = self._voided = 0

    @property
    def cache(self) -> Cache[K, V]:
        """The wrapped cache (to warm it, or to read its statistics)."""
        return self._cache

    @property
    def lease_s(self) -> float:
        return self._lease_us / US_PER_S

    def get(self, key: K) -> LeaseAnswer[V]:
        """The cached value, or on a miss a lease token if nobody holds a live one for ``key``.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable.
        """
        value = self._cache.get(key)
        if value is not None:
            return LeaseAnswer(value, None)
        now_us = self._now_us()
        held = self._leases.get(key)
        if held is not None and now_us < held.expires_us:
            self._hot_misses += 1
            return LeaseAnswer(None, None)
        token = self._next_token
        self._next_token += 1
        self._leases[key] = _Lease(token, now_us + self._lease_us)
        self._granted += 1
        return LeaseAnswer(None, token)

    def set(self, key: K, value: V, *, token: int,
            ttl_s: float | UseDefault | None = USE_DEFAULT_TTL) -> bool:
        """Cache ``value`` if ``token`` is ``key``'s live lease; True if it was stored.

        A refused set (False) changes nothing: the token was voided by a delete, ran out,
        was already used, or belongs to another key.

        Parameters
        ----------
        key, value
            As for :meth:`Cache.set <reference.blocks.cache.Cache.set>`.
        token : int
            The token :meth:`get` handed out.
        ttl_s : float or None
            As for :meth:`Cache.set <reference.blocks.cache.Cache.set>` (default: the
            cache's ``ttl_s``).

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable, ``value`` is None, ``token`` is not an int >= 1, or
            the cache refuses the value or ``ttl_s`` (then the lease stays as it was).
        """
        _check_key(key)
        if value is None:
            raise InvalidArgument.bad_value("value", value, "a value other than None")
        check_int("token", token, 1, expected="a lease token (an int >= 1)")
        held = self._leases.get(key)
        if held is None or held.token != token or self._now_us() >= held.expires_us:
            self._refused += 1
            return False
        self._cache.set(key, value, ttl_s=ttl_s)
        del self._leases[key]
        self._set += 1
        return True

    def delete(self, key: K) -> bool:
        """Invalidate ``key``: drop its value and void its lease; True if a value was live.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable.
        """
        removed = self._cache.delete(key)
        held = self._leases.pop(key, None)
        if held is not None and self._now_us() < held.expires_us:
            self._voided += 1
        return removed

    def statistics(self) -> LeaseStatistics:
        return LeaseStatistics(
            leases_granted=self._granted,
            hot_misses=self._hot_misses,
            sets_accepted=self._set,
            sets_refused=self._refused,
            leases_voided=self._voided,
            cache=self._cache.statistics(),
        )

    def __repr__(self) -> str:
        return f"LeaseCache(cache={self._cache!r}, lease_s={self.lease_s!r})"

    def _now_us(self) -> int:
        return round(self._cache.clock.now() * US_PER_S)


# --------------------------------------------------------------------------- single flight


@dataclass(frozen=True, slots=True)
class SingleFlightStatistics:
    """``loads`` started; ``joined``: requests that waited for a load already in flight."""

    loads: int
    joined: int
    in_flight: int


class SingleFlight(Generic[K, V]):
    """One load in flight per key; whoever asks while it runs waits for its result.

    The caller of :meth:`join` that gets True starts the load and reports its result with
    :meth:`finish`, which hands it to every waiter (its own callback included), in the order
    they joined. Callback style, so it runs on the simulator without threads (Go's
    ``singleflight`` package does the same with goroutines).

    Examples
    --------
    >>> flight = SingleFlight()
    >>> got = []
    >>> flight.join("feed:{1}", got.append)     # first: go and load it
    True
    >>> flight.join("feed:{1}", got.append)     # a load is in flight: wait for it
    False
    >>> flight.finish("feed:{1}", (30, 20))
    2
    >>> got
    [(30, 20), (30, 20)]
    >>> flight.statistics()
    SingleFlightStatistics(loads=1, joined=1, in_flight=0)

    Notes
    -----
    O(1) per join, O(waiters) per finish. A load that fails must still call :meth:`finish`
    (with a fallback value) or the waiters wait forever; timeouts are the caller's.
    """

    __slots__ = ("_joined", "_loads", "_waiting")

    def __init__(self) -> None:
        self._waiting: dict[K, list[Callable[[V], object]]] = {}
        self._loads = 0
        self._joined = 0

    def join(self, key: K, waiter: Callable[[V], object]) -> bool:
        """Wait for ``key``'s load; True if no load was in flight and the caller must start it.

        Raises
        ------
        InvalidArgument
            If ``key`` is not hashable or ``waiter`` is not callable.
        """
        _check_key(key)
        if not callable(waiter):
            raise InvalidArgument.bad_value("waiter", waiter, "a callable: waiter(value)")
        waiters = self._waiting.get(key)
        if waiters is not None:
            waiters.append(waiter)
            self._joined += 1
            return False
        self._waiting[key] = [waiter]
        self._loads += 1
        return True

    def finish(self, key: K, value: V) -> int:
        """End ``key``'s load: call every waiter with ``value``; return how many there were.

        Raises
        ------
        NotFound
            If no load of ``key`` is in flight.
        """
        waiters = self._waiting.pop(key, None)
        if waiters is None:
            raise NotFound("load in flight", key, "join() first; finish() ends it once")
        for waiter in waiters:
            waiter(value)
        return len(waiters)

    def __contains__(self, key: object) -> bool:
        """Whether a load of ``key`` is in flight."""
        try:
            return key in self._waiting
        except TypeError:
            return False

    def statistics(self) -> SingleFlightStatistics:
        return SingleFlightStatistics(loads=self._loads, joined=self._joined,
                                      in_flight=len(self._waiting))
