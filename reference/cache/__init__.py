"""Chapter 11's caching tiers: what keeps a hot key from melting the database.

=========================== ===========================================================
module                      what it is
=========================== ===========================================================
:mod:`.tiers`               the notes' cache table as real caches: content (hot, normal),
                            social graph, action, counters, users; and the facades that put
                            them in front of the databases
:mod:`.leases`              memcache leases (one refill per hot key, no stale sets) and
                            single flight (one load in flight per key, per process)
:mod:`.herd`                the thundering herd on one hot key, simulated: plain
                            look-aside vs leases vs single flight
=========================== ===========================================================

The cache itself (LRU/FIFO, TTLs, statistics) is :class:`reference.blocks.cache.Cache` and
the sharding of keys over cache nodes :class:`reference.blocks.hash_ring.HashRing`: building
blocks, since other chapters may cache too.
"""

from reference.cache.herd import (
    DEFAULT_HERD,
    HOT_KEY,
    STRATEGIES,
    HerdResult,
    HerdSettings,
    Strategy,
    compare_strategies,
    run_herd,
)
from reference.cache.leases import (
    LEASE_S,
    LeaseAnswer,
    LeaseCache,
    LeaseStatistics,
    SingleFlight,
    SingleFlightStatistics,
)

__all__ = [
    "DEFAULT_HERD",
    "HOT_KEY",
    "LEASE_S",
    "STRATEGIES",
    "HerdResult",
    "HerdSettings",
    "LeaseAnswer",
    "LeaseCache",
    "LeaseStatistics",
    "SingleFlight",
    "SingleFlightStatistics",
    "Strategy",
    "compare_strategies",
    "run_herd",
]
