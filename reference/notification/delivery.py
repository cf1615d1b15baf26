"""Delivery wired for a scenario: every channel's worker pool, the retry pump and replay.

The chapter's message queue (메시지 큐) is one queue per channel, each drained by its own
pool of workers; :class:`DeliveryService` builds those pools on one store and one clock, no
threads. The system runs them in rounds on the simulator (each poll a timer of its own, see
:mod:`reference.notification.system`); on its own, :meth:`DeliveryService.step` does one
round by hand::

    DeliveryService.step(now)
        RetryPump.pump(now)                    due retries back onto notify.<channel>
        for every channel, for every worker:   Worker.poll(now)
        PoisonWatch.sweep(now)                 dead letters the queue made itself

It owns the wiring only: the shared :class:`~reference.notification.pump.DeliveryDeps`
(dedupe store, retry queue, replay marks, retry policy, alerts, provider quotas), the
providers' fallback chains (default :func:`~reference.notification.providers.default_providers`),
pool sizes (:meth:`DeliveryService.scale`) and dead-letter replay. What a worker does with a
job is in :mod:`reference.notification.worker`.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.notification.model import Category, Channel, Job
>>> from reference.notification.tracking import NotificationLog
>>> from reference.storage import connect
>>> clock = FakeClock(start=0.0)
>>> log = NotificationLog()
>>> service = DeliveryService.from_store(connect("memory", clock=clock), clock=clock,
...                                      recorder=log, seed=1, failures="none",
...                                      pool_sizes={Channel.EMAIL: 2}, batch_size=2)
>>> [worker.name for worker in service.pools[Channel.EMAIL]]
['email-1', 'email-2']
>>> for i in range(3):
...     _ = service.submit(Job(f"n{i}", f"evt-{i}", "u1", Channel.EMAIL, "a@example.com", "Hi",
...                            "Welcome!", Category.TRANSACTIONAL, False, accepted_at=0.0))
>>> clock.advance(1.0); [r.consumed for r in service.step()[Channel.EMAIL]]
[2, 1]
>>> service.scale(Channel.EMAIL, 1)      # a retired worker still counts in the total
>>> service.statistics().sent, service.statistics(Channel.EMAIL).sent
(3, 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from random import Random
from typing import Literal, Protocol

from reference.blocks.delayed_queue import DelayedQueue
from reference.blocks.idempotency import IdempotencyStore
from reference.blocks.ratelimit import RateLimiter
from reference.core.checks import check_int
from reference.core.clock import Clock
from reference.core.errors import InvalidArgument
from reference.core.faults import CrashPlan
from reference.notification.model import (
    Channel,
    Job,
    Status,
    StatusChange,
    StatusRecorder,
    queue_name,
)
from reference.notification.poison import PoisonWatch
from reference.notification.providers import (
    NO_FAILURES,
    PROVIDER_CHAINS,
    FailureModel,
    Provider,
    default_providers,
)
from reference.notification.pump import (
    MAX_DELIVERIES,
    VISIBILITY_TIMEOUT_S,
    DeliveryDeps,
    ReplayMarks,
    RetryPump,
    TokenRemover,
    ensure_groups,
    replay_dead_letters,
)
from reference.notification.retry import Alerts, RetryPolicy
from reference.notification.worker import PollResult, Worker, WorkerStatistics
from reference.storage.ports import KeyValue, QueueStatistics, Timeline, WorkQueue

__all__ = ["DeliveryService"]


class _Store(Protocol):
    @property
    def kv(self) -> KeyValue: ...
    @property
    def timeline(self) -> Timeline: ...
    @property
    def queue(self) -> WorkQueue: ...


class DeliveryService:
    """Every channel's worker pool, the retry pump and dead-letter replay, wired together.

    Parameters
    ----------
    queue, kv, timeline : ports
        The work queue, the KeyValue (dedupe, replay marks) and the Timeline (retry queue,
        quotas). ``from_store(store, ...)`` takes them from ``reference.storage.connect``.
    clock : Clock
        Decides every time.
    recorder : StatusRecorder
        The notification log, or the notification DB in front of it
        (:class:`~reference.notification.records.NotificationRecords`), which then also
        keeps every job put on a queue so that a lost one is found again.
    seed : int | str
        Seeds the providers and every worker's jitter.
    providers : Mapping[Channel, Sequence[Provider]] | None
        Fallback chains; default ``default_providers(seed)``.
    failures : Mapping[str, FailureModel] | "none" | None
        Overrides for the default providers ("none": every provider perfect).
    pool_sizes : Mapping[Channel, int] | None
        Workers per channel (default 1 each).
    quotas_per_minute : Mapping[str, int] | None
        Provider quotas by provider name (e.g. ``{"fcm": FCM_QUOTA_PER_MINUTE}``).
    """

    def __init__(
        self,
        *,
        queue: WorkQueue,
        kv: KeyValue,
        timeline: Timeline,
        clock: Clock,
        recorder: StatusRecorder,
        seed: int | str,
        providers: Mapping[Channel, Sequence[Provider]] | None = None,
        failures: Mapping[str, FailureModel] | Literal["none"] | None = None,
        policy: RetryPolicy | None = None,
        contacts: TokenRemover | None = None,
        alerts: Alerts | None = None,
        pool_sizes: Mapping[Channel, int] | None = None,
        quotas_per_minute: Mapping[str, int] | None = None,
        batch_size: int = 10,
        crash_plan: CrashPlan | None = None,
        visibility_timeout_s: float = VISIBILITY_TIMEOUT_S,
        max_deliveries: int = MAX_DELIVERIES,
    ) -> None:
        if providers is None:
            if failures == "none":
                failures = {n: NO_FAILURES for chain in PROVIDER_CHAINS.values() for n in chain}
            providers = default_providers(seed, failures=failures or None)
        elif failures is not None:
            raise InvalidArgument.bad_value("failures", failures, "None when providers are given")
        missing = [c for c in Channel if not providers.get(c)]
        if missing:
            raise InvalidArgument.bad_value("providers", sorted(missing), "a chain per channel")
        sizes = {c: 1 for c in Channel} | dict(pool_sizes or {})
        for channel, size in sizes.items():
            check_int(f"pool_sizes[{channel}]", size, 0)
        quotas = {
            name: RateLimiter(timeline, clock, limit=limit, window_s=60.0, name="provider-quota")
            for name, limit in (quotas_per_minute or {}).items()
        }
        self.seed = seed
        self.providers: dict[Channel, tuple[Provider, ...]] = {
            c: tuple(chain) for c, chain in providers.items()
        }
        self.deps = DeliveryDeps(
            queue=queue,
            dedupe=IdempotencyStore(kv),
            recorder=recorder,
            retry_queue=DelayedQueue(timeline, name="retry"),
            replays=ReplayMarks(kv),
            clock=clock,
            policy=RetryPolicy() if policy is None else policy,
            alerts=Alerts() if alerts is None else alerts,
            contacts=contacts,
            quotas=quotas,
        )
        self.pump = RetryPump(self.deps)
        self.poison = PoisonWatch(self.deps)
        self.batch_size = batch_size
        self.crash_plan = CrashPlan() if crash_plan is None else crash_plan
        self.pools: dict[Channel, list[Worker]] = {c: [] for c in Channel}
        self._retired = WorkerStatistics()
        self._started: dict[Channel, int] = dict.fromkeys(Channel, 0)
        ensure_groups(queue, visibility_timeout_s=visibility_timeout_s,
                      max_deliveries=max_deliveries)
        for channel, size in sizes.items():
            self.scale(channel, size)

    @classmethod
    def from_store(cls, store: _Store, **kwargs: object) -> DeliveryService:
        """Build from a ``reference.storage.connect(...)`` store (its queue, kv, timeline)."""
        return cls(queue=store.queue, kv=store.kv, timeline=store.timeline,
                   **kwargs)  # type: ignore[arg-type]

    @property
    def alerts(self) -> Alerts:
        return self.deps.alerts

    def scale(self, channel: Channel, workers: int) -> None:
        """Grow or shrink one channel's pool to ``workers`` (a removed worker's unacked jobs
        come back after the visibility timeout)."""
        check_int("workers", workers, 0)
        pool = self.pools[channel]
        while len(pool) > workers:
            self._retired = self._retired + pool.pop().statistics()
        while len(pool) < workers:
            n = self._started[channel] = self._started[channel] + 1
            pool.append(Worker(
                channel, self.deps, self.providers[channel],
                rng=Random(f"{self.seed}:worker:{channel.value}:{n}"),
                name=f"{channel.value}-{n}", batch_size=self.batch_size,
                crash_plan=self.crash_plan,
            ))

    def submit(self, job: Job, *, now: float | None = None) -> str:
        """Log ACCEPTED and QUEUED and publish ``job`` (the intake side's last step, for
        tests and scenarios without the API)."""
        at = self.deps.clock.now() if now is None else float(now)
        for status in (Status.ACCEPTED, Status.QUEUED):
            self.deps.recorder.record(StatusChange.for_job(job, status, at))
        if (records := self.deps.records) is not None:
            records.save(job, job.to_json(), waiting_in="queue", due_at=at)
        return self.publish(job)

    def publish(self, job: Job) -> str:
        """Publish ``job`` without logging: a duplicate copy, as an at-least-once producer
        may emit."""
        self.poison.last_statistics.clear()  # a queue changed: the cached figures are stale
        return self.deps.queue.publish(queue_name(job.channel), job.to_json())

    def step(self, now: float | None = None) -> dict[Channel, list[PollResult]]:
        """One tick: pump due retries, every worker of every channel polls once, then the
        dead letters the queue made itself are logged and alerted (:class:`PoisonWatch`)."""
        at = self.deps.clock.now() if now is None else float(now)
        self.pump.pump(at)
        polls = {c: [w.poll(at) for w in pool] for c, pool in self.pools.items()}
        self.poison.sweep(at)
        return polls

    @property
    def queue_statistics(self) -> Mapping[Channel, QueueStatistics]:
        """Each channel queue's statistics as the last :meth:`step` left them (its dead-letter
        sweep reads them after every poll; empty before the first step).

        Current until something else touches a queue or the clock moves: the system's run
        loop reuses them to decide where the clock goes next, instead of asking again.
        """
        return self.poison.last_statistics

    def replay_dead_letters(
        self, channel: Channel, message_ids: Sequence[str] | None = None
    ) -> int:
        self.poison.last_statistics.clear()  # a queue changes: the cached figures go stale
        return replay_dead_letters(self.deps, channel, message_ids)

    def statistics(self, channel: Channel | None = None) -> WorkerStatistics:
        """Worker counters summed over one channel's pool, or all (retired workers included
        in the total)."""
        total = WorkerStatistics() if channel is not None else self._retired
        for c, pool in self.pools.items():
            if channel is None or c is channel:
                for worker in pool:
                    total = total + worker.statistics()
        return total
