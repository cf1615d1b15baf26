"""Building blocks shared by chapters 10-12 (the book's earlier chapters), each on the ports.

=========================== ===================================================== =========
module                      what it is                                            used by
=========================== ===================================================== =========
:mod:`.ratelimit`           an exact sliding-window rate limiter (ch.4)           10
:mod:`.idempotency`         idempotency keys: claim, mark done, is done, pins     10
:mod:`.delayed_queue`       items held until a due time (retries, deferrals)      10
:mod:`.lossy_queue`         a broker fault: acknowledges a message and loses it   10
:mod:`.cache`               an in-process LRU/FIFO cache with TTLs and statistics 11
:mod:`.hash_ring`           consistent hashing with virtual nodes (ch.5)          11
=========================== ===================================================== =========

A block depends only on :mod:`reference.core` and :mod:`reference.storage`, never on a
chapter; what two chapters need lives here (chapter 11 adds the consistent hash ring and the
LRU/TTL cache). See :mod:`reference` for which piece of the kit to use for what.
"""

from reference.blocks.cache import Cache, CacheStatistics
from reference.blocks.delayed_queue import DelayedQueue, DelayedQueueStatistics
from reference.blocks.hash_ring import HashRing, HashRingStatistics
from reference.blocks.idempotency import (
    IDEMPOTENCY_WINDOW_S,
    IdempotencyRecord,
    IdempotencyStatistics,
    IdempotencyStore,
)
from reference.blocks.lossy_queue import LossyQueue
from reference.blocks.ratelimit import (
    Acquisition,
    RateDecision,
    RateLimiter,
    RateLimiterStatistics,
    RecordingLimiter,
)

__all__ = [
    "IDEMPOTENCY_WINDOW_S",
    "Acquisition",
    "Cache",
    "CacheStatistics",
    "DelayedQueue",
    "DelayedQueueStatistics",
    "HashRing",
    "HashRingStatistics",
    "IdempotencyRecord",
    "IdempotencyStatistics",
    "IdempotencyStore",
    "LossyQueue",
    "RateDecision",
    "RateLimiter",
    "RateLimiterStatistics",
    "RecordingLimiter",
]
