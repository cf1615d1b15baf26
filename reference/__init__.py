"""System Design Lab reference package: chapters 10-12 of *System Design Interview* as code.

Subpackages
-----------
core          clock, unique ids, the simulator and its fault decisions, typed errors, boundary
              checks, the checker base
storage       ports (Protocols) and backends: memory, redis (fakeredis or a real server)
blocks        building blocks the chapters share: rate limiter, idempotency keys, delayed
              queue, a broker that loses messages
notification  chapter 10: the notification system
feed, cache   chapter 11: the news feed and its caching tiers

Chapters stand on ``core``, ``storage`` and ``blocks`` and never import each other (the one
exception: chapter 12 may hand an offline user's push to chapter 10's ``NotificationClient``);
``tests/test_architecture.py`` checks it. What two chapters need goes to ``blocks``.

The kit: which piece to use for what
------------------------------------
For a chapter's author; each piece's module docstring has the details and a runnable example.

==================================== ===========================================================
you need                             use
==================================== ===========================================================
time                                 take a ``clock`` (:class:`core.clock.Clock`); tests and
                                     notebooks pass a :class:`core.clock.FakeClock`
time inside trio code (chapter 12)   :class:`core.trio_clock.TrioClock` under
                                     ``trio.run(main, clock=MockClock(autojump_threshold=0))``
ids that sort by time                :class:`core.ids.SnowflakeGenerator`; ids unique only
                                     within a group: :class:`core.ids.LocalSequence`
bad input refused                    the ``core.checks`` functions, raising
                                     :class:`core.errors.InvalidArgument`, at the boundary only
timers, background work, a run       :class:`core.sim.Simulation`, one per run: ``call_later``,
                                     ``call_at``, ``run``, ``run_until``, ``run_while``; work
                                     that repeats is a timer that schedules its next one
                                     (chapter 10's rounds and worker polls)
faults                               :class:`core.faults.FaultPlan` (rates),
                                     :class:`core.faults.CrashPlan` (die at the n-th arrival at a
                                     point), :class:`core.faults.FaultInjector` (the seeded
                                     decisions: ``sim.send`` uses its own; trio code builds one)
a checker over recorded histories    :class:`core.checking.CheckerSpec` (your anomaly kinds and
                                     counted items), :class:`core.checking.Anomaly`,
                                     :class:`core.checking.CheckReport`
records, settings, caches            ``store.kv`` (:class:`storage.ports.KeyValue`); many keys in
                                     one round trip: ``get_many``, ``set_many``, ``hgetall_many``
things ordered by time or a score    ``store.timeline`` (:class:`storage.ports.Timeline`);
                                     one member into many keys: ``add_to_many``
things ordered by Snowflake id       ``store.id_timeline`` (:class:`storage.ports.IdTimeline`):
                                     exact on every backend; ``newest(before=cursor)``,
                                     ``oldest_after``, ``add_to_many`` (fanout; with
                                     ``only_existing`` it never creates a key), ``newest_many``
a newest-first list capped at N      ``store.lists`` (:class:`storage.ports.CappedList`):
                                     ``push``, ``push_to_many``, ``range_many``
counters                             ``store.counter`` (:class:`storage.ports.Counter`)
a queue with ack and redelivery      ``store.queue`` (:class:`storage.ports.WorkQueue`); a broker
                                     that loses messages: :class:`blocks.lossy_queue.LossyQueue`
broadcast to whoever listens now     ``store.pubsub`` (:class:`storage.ports.PubSub`)
a rate limit                         :class:`blocks.ratelimit.RateLimiter`
one effect per key, despite retries  :class:`blocks.idempotency.IdempotencyStore`
"not now, at that time"              :class:`blocks.delayed_queue.DelayedQueue`
an in-process cache (LRU/FIFO, TTL)  :class:`blocks.cache.Cache`, with ``statistics()``
which node holds a key               :class:`blocks.hash_ring.HashRing` (consistent hashing)
what an operation costs              ``store.record_commands()``: the Redis commands and
                                     ``round_trips`` a block of code issued
==================================== ===========================================================

Nothing connects, reads the wall clock or draws a random number at import time.
"""

__version__ = "0.1.0"
