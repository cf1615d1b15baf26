"""The thundering herd (캐시 쇄도) on one hot key, simulated: plain vs leases vs single flight.

The story, with the default numbers: a celebrity's new post is one hot cache key, read 2,000
times a second by 20 app servers. Its cache entry expires at t = 1 s (TTL), or a write
invalidates it then. A database load takes 50 ms. Three ways to refill it:

- ``"plain"`` look-aside: every read that misses loads from the database. Every read in
  the 50 ms before the first refill lands misses: about 2,000 x 0.05 = **100 identical
  loads** at once, a peak of ~1,000 loads/s on the database for one key.
- ``"lease"`` (memcache leases, :class:`~reference.cache.leases.LeaseCache`): the first
  miss gets the key's one lease token and loads; every other reader gets a hot miss and
  retries 10 ms later. **One load**; the cost is the waiting readers' retries.
- ``"single_flight"`` (:class:`~reference.cache.leases.SingleFlight`, one per app server):
  each server lets one of its reads load and parks the rest until that load returns.
  **One load per app server** (~20): better than plain, but only the cache server sees the
  whole fleet, so only leases get it down to one.

The run is a :class:`~reference.core.sim.Simulation`: reads are timers (each app server's
reads arrive at random, a Poisson stream drawn from the simulation's seeded ``rng``), a
database load is a timer ``db_latency_s`` later. Cache round trips take no simulated time,
and the database answers in ``db_latency_s`` however loaded it is: a real one slows down
under a herd, so plain's latencies here are the best case. Same seed, same result.

Examples
--------
>>> for result in compare_strategies(seed=0):
...     print(f"{result.strategy:>13}: {result.db_loads:3} loads, "
...           f"peak {result.peak_db_loads_per_s:4.0f}/s, p99 {result.p99_latency_s:.3f} s")
        plain:  94 loads, peak  940/s, p99 0.050 s
        lease:   1 loads, peak   10/s, p99 0.030 s
single_flight:  20 loads, peak  200/s, p99 0.041 s
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from reference.blocks.cache import Cache
from reference.cache.leases import LEASE_S, LeaseCache, SingleFlight
from reference.core.checks import check_int, check_positive_seconds, check_time
from reference.core.clock import US_PER_S
from reference.core.errors import InvalidArgument
from reference.core.faults import check_seed
from reference.core.sim import Simulation

__all__ = [
    "DEFAULT_HERD",
    "HOT_KEY",
    "MAX_EXPECTED_READS",
    "STRATEGIES",
    "HerdResult",
    "HerdSettings",
    "Strategy",
    "compare_strategies",
    "run_herd",
]

Strategy = Literal["plain", "lease", "single_flight"]
STRATEGIES: Final[tuple[Strategy, ...]] = ("plain", "lease", "single_flight")
HOT_KEY: Final = "post:{celebrity-post}"
MAX_EXPECTED_READS: Final = 200_000  # reads_per_s * duration_s: a notebook-sized run


# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True, slots=True)
class HerdSettings:
    """The knobs of one herd experiment (every one checked when the settings are built).

    Parameters
    ----------
    clients : int
        App servers reading the key (>= 1); each has its own single flight.
    reads_per_s : float
        Reads of the hot key per second, all servers together (> 0).
    duration_s : float
        How long reads keep arriving (> 0); loads and retries then finish.
    ttl_s : float or None
        The entry's time to live, set at t = 0 and on every refill (None: no expiry).
    invalidate_at_s : float or None
        When a writer updates the database and deletes the entry (None: never).
    db_latency_s : float
        How long one database load takes (> 0).
    retry_s : float
        How long a reader waits after a hot miss before asking again (> 0).
    lease_s : float
        How long a lease lasts (> 0).
    bin_s : float
        The width of the bins that count database loads per second (> 0).
    """

    clients: int = 20
    reads_per_s: float = 2_000.0
    duration_s: float = 2.0
    ttl_s: float | None = 1.0
    invalidate_at_s: float | None = None
    db_latency_s: float = 0.050
    retry_s: float = 0.010
    lease_s: float = LEASE_S
    bin_s: float = 0.100

    def __post_init__(self) -> None:
        check_int("clients", self.clients, 1)
        for name in ("reads_per_s", "duration_s", "db_latency_s", "retry_s", "lease_s",
                     "bin_s"):
            check_positive_seconds(name, getattr(self, name))
        if self.ttl_s is not None:
            check_positive_seconds("ttl_s", self.ttl_s, "None or a finite number > 0")
        if self.invalidate_at_s is not None and not (
            0 <= check_time("invalidate_at_s", self.invalidate_at_s) <= self.duration_s
        ):
            raise InvalidArgument.bad_value("invalidate_at_s", self.invalidate_at_s,
                                            f"None or a time in 0..duration_s={self.duration_s}")
        if self.reads_per_s * self.duration_s > MAX_EXPECTED_READS:
            raise InvalidArgument.bad_value(
                "reads_per_s", self.reads_per_s,
                f"at most {MAX_EXPECTED_READS:,} reads in duration_s={self.duration_s}")


DEFAULT_HERD: Final = HerdSettings()


@dataclass(frozen=True, slots=True)
class HerdResult:
    """What one herd run measured (times in simulated seconds).

    ``reads`` counts reads served (all of them: every read is eventually answered);
    ``db_loads_per_bin[i]`` counts loads started in ``[i * bin_s, (i + 1) * bin_s)``, and
    ``peak_db_loads_per_s`` is the busiest bin as a rate; ``hot_misses`` counts the "wait
    and retry" answers (leases only); ``stale_sets`` counts values written into the cache
    after the database had already changed (a write landed while they were loading);
    latencies run from a read's arrival to its answer.
    """

    strategy: Strategy
    seed: int | str
    reads: int
    db_loads: int
    peak_db_loads_per_s: float
    db_loads_per_bin: tuple[int, ...]
    bin_s: float
    hot_misses: int
    stale_sets: int
    mean_latency_s: float
    p99_latency_s: float


# --------------------------------------------------------------------------- the experiment


def run_herd(strategy: Strategy = "plain", settings: HerdSettings = DEFAULT_HERD, *,
             seed: int | str = 0) -> HerdResult:
    """Run one herd: ``settings.reads_per_s`` reads of one key whose entry goes missing.

    With the defaults (2,000 reads/s, entry expiring at 1 s, 50 ms loads) plain look-aside
    loads the key about 100 times within 50 ms (a ~1,000 loads/s peak), leases once, and
    single flight about once per app server (20).

    Parameters
    ----------
    strategy : {"plain", "lease", "single_flight"}
        How readers refill the key after a miss.
    settings : HerdSettings
        The knobs (default :data:`DEFAULT_HERD`).
    seed : int or str
        Seeds the read arrivals; the same seed gives the same result.

    Returns
    -------
    HerdResult

    Raises
    ------
    InvalidArgument
        An unknown ``strategy``, settings that are not :class:`HerdSettings`, or a bad seed.

    Examples
    --------
    The leases' second job: the entry expires at 1.0 s and a writer changes the row at
    1.02 s, while loads that read the old row are still in flight. Plain and single flight
    write those old values into the cache; the writer's delete voided the lease, so the
    lease holder's old value is refused and the next reader loads the new one:

    >>> write_during_refill = HerdSettings(invalidate_at_s=1.02)
    >>> [(r.strategy, r.db_loads, r.stale_sets)
    ...  for r in compare_strategies(write_during_refill)]
    [('plain', 94, 36), ('lease', 2, 0), ('single_flight', 20, 15)]
    """
    if strategy not in STRATEGIES:
        raise InvalidArgument.bad_value("strategy", strategy, f"one of {STRATEGIES}")
    if not isinstance(settings, HerdSettings):
        raise InvalidArgument.bad_value("settings", settings, "a HerdSettings")
    check_seed(seed)
    herd = _Herd(strategy, settings, Simulation(seed))
    herd.start()
    herd.sim.run()
    return herd.result()


def compare_strategies(settings: HerdSettings = DEFAULT_HERD, *,
                       seed: int | str = 0) -> tuple[HerdResult, ...]:
    """Run every strategy on the same settings and seed (same read arrivals), in
    :data:`STRATEGIES` order: the table and plot a notebook shows.

    Raises
    ------
    InvalidArgument
        As :func:`run_herd`.
    """
    return tuple(run_herd(strategy, settings, seed=seed) for strategy in STRATEGIES)


class _Herd:
    """One run: the clients, the cache, the database, and what was measured."""

    def __init__(self, strategy: Strategy, settings: HerdSettings, sim: Simulation) -> None:
        self.strategy = strategy
        self.settings = settings
        self.sim = sim
        self.cache: Cache[str, int] = Cache(sim.clock, capacity=1, name="feed",
                                            ttl_s=settings.ttl_s)
        self.leases = LeaseCache(self.cache, lease_s=settings.lease_s)
        self.flights = [SingleFlight[str, int]() for _ in range(settings.clients)]
        self.db_version = 1  # the database's value of the key; a write bumps it
        self.load_times: list[float] = []
        self.latencies: list[float] = []
        self.stale_sets = 0

    def start(self) -> None:
        self.cache.set(HOT_KEY, self.db_version)  # a warm cache at t = 0
        for client in range(self.settings.clients):
            self.sim.call_later(self.next_gap(), self.arrive, client)
        if self.settings.invalidate_at_s is not None:
            self.sim.call_at(self.settings.invalidate_at_s, self.write)

    def next_gap(self) -> float:
        """Seconds to a client's next read: exponential, so reads arrive as a Poisson stream."""
        return self.sim.rng.expovariate(self.settings.reads_per_s / self.settings.clients)

    def arrive(self, client: int) -> None:
        """A new read from ``client``; then schedule its next one, until ``duration_s``."""
        self.read(client, started=self.sim.clock.now())
        gap = self.next_gap()
        if self.sim.clock.now() + gap < self.settings.duration_s:
            self.sim.call_later(gap, self.arrive, client)

    def read(self, client: int, started: float) -> None:
        if self.strategy == "plain":
            self.read_plain(started)
        elif self.strategy == "lease":
            self.read_with_lease(started)
        else:
            self.read_single_flight(client, started)

    def read_plain(self, started: float) -> None:
        """Look-aside: hit, or load it yourself and set it (every missing reader does)."""
        if self.cache.get(HOT_KEY) is not None:
            self.served(started)
            return

        def loaded(value: int) -> None:
            self.cache.set(HOT_KEY, value)
            self.count_if_stale(value)
            self.served(started)

        self.load(loaded)

    def read_with_lease(self, started: float) -> None:
        """Hit; or hold the lease and load; or (a hot miss) ask again ``retry_s`` later."""
        answer = self.leases.get(HOT_KEY)
        token = answer.token
        if answer.hit:
            self.served(started)
        elif token is None:  # a hot miss: another reader is refilling it
            self.sim.call_later(self.settings.retry_s, self.read_with_lease, started)
        else:

            def loaded(value: int) -> None:
                if self.leases.set(HOT_KEY, value, token=token):  # refused if voided
                    self.count_if_stale(value)
                self.served(started)

            self.load(loaded)

    def read_single_flight(self, client: int, started: float) -> None:
        """Hit; or join this app server's load of the key (starting it if none is running)."""
        if self.cache.get(HOT_KEY) is not None:
            self.served(started)
            return
        flight = self.flights[client]

        def loaded(value: int) -> None:
            self.cache.set(HOT_KEY, value)
            self.count_if_stale(value)
            flight.finish(HOT_KEY, value)  # answers every read of this server that waited

        if flight.join(HOT_KEY, lambda _value: self.served(started)):
            self.load(loaded)

    def load(self, then: Callable[[int], None]) -> None:
        """Read the database now; ``then(value)`` runs ``db_latency_s`` later."""
        self.load_times.append(self.sim.clock.now())
        self.sim.call_later(self.settings.db_latency_s, then, self.db_version)

    def count_if_stale(self, value: int) -> None:
        """A value just set in the cache is stale if the database changed while it loaded."""
        if value < self.db_version:
            self.stale_sets += 1

    def write(self) -> None:
        """A writer updates the database, then invalidates the cache entry."""
        self.db_version += 1
        self.leases.delete(HOT_KEY)  # deletes the entry; voids an outstanding lease too

    def served(self, started: float) -> None:
        self.latencies.append(round(self.sim.clock.now() - started, 6))

    def result(self) -> HerdResult:
        bins = _per_bin(self.load_times, self.settings.bin_s,
                        max(self.settings.duration_s, self.sim.clock.now()))
        return HerdResult(
            strategy=self.strategy,
            seed=self.sim.seed,
            reads=len(self.latencies),
            db_loads=len(self.load_times),
            peak_db_loads_per_s=max(bins) / self.settings.bin_s,
            db_loads_per_bin=bins,
            bin_s=self.settings.bin_s,
            hot_misses=self.leases.statistics().hot_misses,
            stale_sets=self.stale_sets,
            mean_latency_s=sum(self.latencies) / len(self.latencies) if self.latencies else 0.0,
            p99_latency_s=_percentile(self.latencies, 0.99),
        )


def _per_bin(times: list[float], bin_s: float, end: float) -> tuple[int, ...]:
    """How many ``times`` fall in each bin ``[i * bin_s, (i + 1) * bin_s)`` up to ``end``."""
    bin_us = max(1, round(bin_s * US_PER_S))
    counts = [0] * (round(end * US_PER_S) // bin_us + 1)
    for t in times:
        counts[round(t * US_PER_S) // bin_us] += 1
    return tuple(counts)


def _percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
