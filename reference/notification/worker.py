"""Per-channel workers: from a job on a channel queue to the provider, exactly once in effect.

Each channel (iOS push, Android push, SMS, email) has its own queue and its own pool of
workers, so a slow email provider never holds up a security SMS, and each pool scales on its
own (see :mod:`reference.notification.monitoring`). One :meth:`Worker.poll` step::

    consume a batch from notify.<channel> (group "workers")
    for each job:
        done already?  (dedupe)          → ack, count a suppressed duplicate
        claim (first or re-entry)
        provider over quota?              → back to the retry queue at retry_after (no attempt used)
        send with the idempotency key
        accepted  → log SENT → mark done → ack
        transient → retry queue (backoff) or the next provider (fallback) → ack → log FAILED
        bad token → remove it from contacts → log FAILED, SUPPRESSED → mark done → ack
        exhausted → dead-letter → log DEAD_LETTERED → mark done → alert
    receipts due → log DELIVERED

The order matters for crash safety. A worker can be told to crash (a deterministic
:class:`CrashPlan`) after the claim, after the send, or before the ack; its unacked jobs come
back after the queue's visibility timeout. Because the log is written before the done mark,
and the done mark before the ack, every crash leaves a state the redelivered copy can finish:
at worst it sends again with the same idempotency key and the provider collapses the repeat.
So the user sees one effect per (event, channel, address).

:class:`RetryPump` moves due jobs from the retry queue back to their channel queue (jobs whose
key is already done are dropped there). :func:`replay_dead_letters` gives dead letters a fresh
attempt budget. :class:`DeliveryService` wires all of it for a scenario: pools, pump, replay.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.notification.model import Category, Channel, Job, queue_name
>>> from reference.notification.tracking import NotificationLog
>>> from reference.storage import connect
>>> clock = FakeClock(start=0.0)
>>> store = connect("memory", clock=clock)
>>> log = NotificationLog()
>>> service = DeliveryService.from_store(store, clock=clock, recorder=log, seed=1,
...                                      failures="none")
>>> job = Job("n1", "evt-1", "u1", Channel.EMAIL, "a@example.com", "Hi", "Welcome!",
...           Category.TRANSACTIONAL, False, accepted_at=0.0, template="welcome")
>>> _ = service.submit(job)               # log ACCEPTED + QUEUED, publish
>>> _ = service.publish(job)              # the same job published twice
>>> clock.advance(1.0); _ = service.step()
>>> [c.status.value for c in log.history("n1")]
['accepted', 'queued', 'sent']
>>> len(service.providers[Channel.EMAIL][0].sent)   # one effect, not two
1
>>> service.statistics().duplicates_suppressed
1
"""

from __future__ import annotations

import dataclasses
import enum
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from reference.core.clock import Clock
from reference.core.errors import InvalidArgument
from reference.notification.dedupe import IdempotencyRecord, IdempotencyStore
from reference.notification.delayed import DelayedQueue
from reference.notification.model import (
    WORKER_GROUP,
    Channel,
    Job,
    Status,
    StatusChange,
    StatusRecorder,
    queue_name,
)
from reference.notification.providers import (
    NO_FAILURES,
    PROVIDER_CHAINS,
    FailureModel,
    Provider,
    Receipt,
    default_providers,
)
from reference.notification.ratelimit import RateLimiter
from reference.notification.retry import Action, Alert, Alerts, RetryPolicy, decide
from reference.storage.ports import KeyValue, Timeline, WorkQueue

__all__ = [
    "CrashPlan",
    "CrashPoint",
    "DeliveryDeps",
    "DeliveryService",
    "PollResult",
    "PumpStatistics",
    "ReplayMarks",
    "RetryPump",
    "TokenRemover",
    "Worker",
    "WorkerStatistics",
    "ensure_groups",
    "replay_dead_letters",
]

VISIBILITY_TIMEOUT_S = 30.0  # an unacked job comes back after this long
MAX_DELIVERIES = 5  # ... at most this many times, then the queue dead-letters it (poison)


class TokenRemover(Protocol):
    """The contact store's hook for invalid device tokens (``ContactBook.remove_token``)."""

    def remove_token(self, token: str) -> object: ...


class CrashPoint(enum.StrEnum):
    """Where a worker can be told to die (its unacked jobs are redelivered later)."""

    AFTER_CLAIM = "after_claim"  # claimed, nothing sent
    AFTER_SEND = "after_send"  # the provider accepted, nothing recorded
    BEFORE_ACK = "before_ack"  # everything done but the ack (or the dead-letter move)


class CrashPlan:
    """A deterministic crash schedule: die the n-th time any worker reaches a point.

    Examples
    --------
    >>> plan = CrashPlan().crash(CrashPoint.AFTER_SEND, nth=2)
    >>> [plan.should_crash(CrashPoint.AFTER_SEND, "n") for _ in range(3)]
    [False, True, False]
    """

    __slots__ = ("_rules", "_seen", "fired")

    def __init__(self) -> None:
        self._rules: list[tuple[CrashPoint, int, str | None]] = []
        self._seen: dict[tuple[CrashPoint, str | None], int] = {}
        self.fired: list[tuple[CrashPoint, str]] = []

    def crash(
        self, point: CrashPoint, *, nth: int = 1, notification_id: str | None = None
    ) -> CrashPlan:
        """Crash the ``nth`` time ``point`` is reached (for one notification, or any)."""
        if not isinstance(point, CrashPoint):
            raise InvalidArgument.bad_value("point", point, "a CrashPoint")
        if isinstance(nth, bool) or not isinstance(nth, int) or nth < 1:
            raise InvalidArgument.bad_value("nth", nth, "an integer >= 1")
        self._rules.append((point, nth, notification_id))
        return self

    def should_crash(self, point: CrashPoint, notification_id: str) -> bool:
        """Count this arrival; True if a rule says to die here."""
        hit = False
        for scope in (None, notification_id):
            count = self._seen.get((point, scope), 0) + 1
            self._seen[(point, scope)] = count
            hit = hit or any(
                p is point and n == count and nid == scope for p, n, nid in self._rules
            )
        if hit:
            self.fired.append((point, notification_id))
        return hit


class ReplayMarks:
    """Which redelivered messages are operator replays (they get a fresh attempt budget).

    One KeyValue string per replayed message id at ``replay:{<queue>}:<message_id>``.
    """

    __slots__ = ("_kv",)

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    def mark(self, queue: str, message_id: str) -> None:
        self._kv.set(f"replay:{{{queue}}}:{message_id}", "1")

    def is_marked(self, queue: str, message_id: str) -> bool:
        return self._kv.get(f"replay:{{{queue}}}:{message_id}") is not None

    def clear(self, queue: str, message_id: str) -> None:
        self._kv.delete(f"replay:{{{queue}}}:{message_id}")


@dataclass(frozen=True, slots=True)
class DeliveryDeps:
    """What every worker of every channel shares."""

    queue: WorkQueue
    dedupe: IdempotencyStore
    recorder: StatusRecorder
    retry_queue: DelayedQueue
    replays: ReplayMarks
    clock: Clock
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    alerts: Alerts = field(default_factory=Alerts)
    contacts: TokenRemover | None = None
    quotas: Mapping[str, RateLimiter] = field(default_factory=dict)  # by provider name


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll: how many jobs were consumed and sent, whether the worker crashed, and the
    provider time spent (sum of latencies)."""

    consumed: int
    sent: int
    crashed: bool
    busy_s: float


@dataclass(frozen=True, slots=True)
class WorkerStatistics:
    """Counters of one worker (or, summed, of a whole pool or service)."""

    polls: int = 0
    consumed: int = 0
    sent: int = 0
    duplicates_suppressed: int = 0
    reentries: int = 0
    failed_attempts: int = 0
    retries: int = 0
    fallbacks: int = 0
    dead_lettered: int = 0
    stopped: int = 0
    tokens_removed: int = 0
    quota_deferred: int = 0
    receipts: int = 0
    malformed: int = 0
    crashes: int = 0

    def __add__(self, other: WorkerStatistics) -> WorkerStatistics:
        return WorkerStatistics(*(
            getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self)
        ))


class _Crash(Exception):
    """Internal: unwinds a poll at a crash point."""


def _change(job: Job, status: Status, at: float, reason: str = "") -> StatusChange:
    return StatusChange(job.notification_id, job.event_id, job.user_id, job.channel,
                        job.template, status, at, reason)


def _settled_by_another(settled: IdempotencyRecord | None, job: Job) -> str | None:
    """The reason to suppress ``job`` if *another* notification settled its effect.

    A duplicate event gets its own notification id with the same dedupe key; when its copy
    is skipped it must still leave the log (suppressed, with a reason), or it would look
    queued forever. A redelivered copy of the settling notification itself needs nothing.
    """
    if settled is None or settled.done_by in (None, job.notification_id):
        return None
    return f"duplicate: {job.dedupe_key} already settled by {settled.done_by}"


class Worker:
    """One worker of one channel's pool; stepped by :meth:`poll`, no threads.

    Parameters
    ----------
    channel : Channel
        Its queue is ``queue_name(channel)``, consumed in group ``WORKER_GROUP``.
    deps : DeliveryDeps
        Queue, dedupe, log, retry queue, policy, alerts, contacts, quotas.
    providers : Sequence[Provider]
        The channel's ordered fallback chain (at least one).
    rng : random.Random
        Draws this worker's backoff jitter.
    name : str
        The consumer name in the group.
    batch_size : int
        Jobs per poll.
    crash_plan : CrashPlan | None
        When to die (tests and fault scenarios).

    Notes
    -----
    Per job: one or two KeyValue reads, a claim, at most one quota check, one send, one log
    record, one done mark, one ack. The trade-off taught: the queue alone gives at-least-once;
    the done mark makes redelivery cheap, and only the provider's idempotency key makes the
    *effect* exactly-once across a crash between send and record.
    """

    def __init__(
        self,
        channel: Channel,
        deps: DeliveryDeps,
        providers: Sequence[Provider],
        *,
        rng: random.Random,
        name: str,
        batch_size: int = 10,
        crash_plan: CrashPlan | None = None,
    ) -> None:
        if not isinstance(channel, Channel):
            raise InvalidArgument.bad_value("channel", channel, "a Channel")
        if not isinstance(deps, DeliveryDeps):
            raise InvalidArgument.bad_value("deps", deps, "a DeliveryDeps")
        if not providers:
            raise InvalidArgument.bad_value("providers", providers, "at least one provider")
        if not isinstance(rng, random.Random):
            raise InvalidArgument.bad_value("rng", rng, "a random.Random")
        if not isinstance(name, str) or not name:
            raise InvalidArgument.bad_value("name", name, "a non-empty string")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgument.bad_value("batch_size", batch_size, "an integer >= 1")
        self.channel = channel
        self.name = name
        self.queue = queue_name(channel)
        self.batch_size = batch_size
        self._deps = deps
        self._providers = tuple(providers)
        self._rng = rng
        self._crash_plan = crash_plan
        self._stats: dict[str, int] = dict.fromkeys(
            (f.name for f in dataclasses.fields(WorkerStatistics)), 0
        )

    def __repr__(self) -> str:
        return f"Worker({self.channel.value!r}, name={self.name!r})"

    def statistics(self) -> WorkerStatistics:
        return WorkerStatistics(**self._stats)

    def _count(self, what: str, n: int = 1) -> None:
        self._stats[what] += n

    def _maybe_crash(self, point: CrashPoint, job: Job) -> None:
        if self._crash_plan is not None and self._crash_plan.should_crash(
            point, job.notification_id
        ):
            raise _Crash(point)

    def poll(self, now: float | None = None) -> PollResult:
        """Record due receipts, then consume and handle one batch at ``now`` (default:
        ``clock.now()``).

        Returns
        -------
        PollResult
            ``crashed`` is True if the crash plan fired: the rest of the batch stays unacked.
        """
        at = self._deps.clock.now() if now is None else float(now)
        self._count("polls")
        self._record_receipts(at)
        deliveries = self._deps.queue.consume(
            self.queue, WORKER_GROUP, self.name, count=self.batch_size
        )
        self._count("consumed", len(deliveries))
        sent = 0
        busy = 0.0
        for delivery in deliveries:
            try:
                done, latency = self._handle(delivery.message_id, delivery.body, at,
                                             delivery.deliveries)
            except _Crash:
                self._count("crashes")
                return PollResult(len(deliveries), sent, True, busy)
            sent += done
            busy += latency
        return PollResult(len(deliveries), sent, False, busy)

    def _record_receipts(self, at: float) -> None:
        dedupe = self._deps.dedupe
        records: dict[str, IdempotencyRecord | None] = {}  # read once per key, at ``at``

        def record_of(key: str) -> IdempotencyRecord | None:
            if key not in records:
                records[key] = dedupe.get(key, at)
            return records[key]

        def ready(receipt: Receipt) -> bool:  # its SENT is in the log
            record = record_of(receipt.idempotency_key)
            return record is not None and record.done_at is not None

        for provider in self._providers:
            for receipt in provider.collect_receipts(at, ready=ready):
                if _settled_by_another(record_of(receipt.idempotency_key), receipt.job):
                    continue  # that copy was suppressed as a duplicate: its sibling was sent
                self._deps.recorder.record(
                    _change(receipt.job, Status.DELIVERED, receipt.delivered_at,
                            f"receipt from {receipt.provider}")
                )
                self._count("receipts")

    def _handle(self, message_id: str, body: str, at: float,
                deliveries: int = 1) -> tuple[bool, float]:
        d = self._deps
        try:
            job = Job.from_json(body)
            if job.channel is not self.channel:
                raise InvalidArgument.bad_value("job.channel", job.channel, str(self.channel))
        except InvalidArgument as exc:
            d.queue.dead_letter(self.queue, WORKER_GROUP, message_id, f"malformed job: {exc}")
            d.alerts.raise_alert(Alert(at, self.channel, "", f"malformed job {message_id}"))
            self._count("malformed")
            return False, 0.0
        replayed = d.replays.is_marked(self.queue, message_id)
        if replayed:
            # a fresh budget on the provider that last had it (its idempotency key may hold
            # an ambiguous earlier delivery; another provider would send a second copy)
            fresh = job.provider_index * d.policy.fallback_after + 1
            job = dataclasses.replace(job, attempt=min(fresh, d.policy.max_attempts))
        key = job.dedupe_key
        settled = d.dedupe.get(key, at)
        if settled is not None and settled.done_at is not None:
            duplicate = _settled_by_another(settled, job)
            if duplicate is not None:
                d.recorder.record(_change(job, Status.SUPPRESSED, at, duplicate))
            d.queue.ack(self.queue, WORKER_GROUP, message_id)
            if replayed:
                d.replays.clear(self.queue, message_id)
            self._count("duplicates_suppressed")
            return False, 0.0
        if not d.dedupe.claim(key, at):
            self._count("reentries")  # a retry, a redelivery or a duplicate in flight
        self._maybe_crash(CrashPoint.AFTER_CLAIM, job)
        job = self._route(job, settled)
        provider = self._providers[min(job.provider_index, len(self._providers) - 1)]
        quota = d.quotas.get(provider.name)
        if quota is not None:
            decision = quota.acquire(provider.name)
            if not decision.allowed:
                d.retry_queue.schedule(job.to_json(), due_at=at + decision.retry_after_s)
                self._count("quota_deferred")
                self._finish(message_id, job, ack=True, replayed=replayed)
                return False, 0.0
        token = f"{message_id}#{deliveries}"  # this request, until it has an answer
        d.dedupe.pin(key, at, provider=provider.name, token=token)
        result = provider.send(job, idempotency_key=key, now=at)
        self._maybe_crash(CrashPoint.AFTER_SEND, job)
        if result.code == "timeout":
            job = dataclasses.replace(job, ambiguous=True)  # in doubt: the pin stays
        elif result.outcome != "accepted":
            d.dedupe.unpin(key, at, token=token)  # failed for certain: lift our own pin
        step = decide(job, result, d.policy, self._rng, now=at, providers=len(self._providers))
        if step.action is Action.DONE:
            d.recorder.record(_change(job, Status.SENT, at, f"via {provider.name}"))
            d.dedupe.mark_done(key, at, by=job.notification_id)
            self._count("sent")
            self._finish(message_id, job, ack=True, replayed=replayed)
            return True, result.latency_s
        self._count("failed_attempts")
        if step.action in (Action.RETRY, Action.FALLBACK):
            assert step.at is not None
            nxt = dataclasses.replace(job, attempt=step.attempt,
                                      provider_index=step.provider_index)
            d.retry_queue.schedule(nxt.to_json(), due_at=step.at)
            d.recorder.record(_change(job, Status.FAILED, at, step.reason))
            self._count("retries" if step.action is Action.RETRY else "fallbacks")
            self._finish(message_id, job, ack=True, replayed=replayed)
        elif step.action is Action.STOP:
            reason = step.reason
            if step.remove_address and d.contacts is not None:
                d.contacts.remove_token(job.address)
                self._count("tokens_removed")
                reason += "; device token removed from contacts"
            d.recorder.record(_change(job, Status.FAILED, at, step.reason))
            d.recorder.record(_change(job, Status.SUPPRESSED, at, reason))
            d.dedupe.mark_done(key, at, by=job.notification_id)
            self._count("stopped")
            self._finish(message_id, job, ack=True, replayed=replayed)
        else:  # DEAD_LETTER
            self._finish(message_id, job, ack=False, replayed=replayed, reason=step.reason)
            d.recorder.record(_change(job, Status.DEAD_LETTERED, at, step.reason))
            d.dedupe.mark_done(key, at, by=job.notification_id)
            d.alerts.raise_alert(Alert(at, self.channel, job.notification_id, step.reason))
            self._count("dead_lettered")
        return False, result.latency_s

    def _route(self, job: Job, settled: IdempotencyRecord | None) -> Job:
        """Send ``job`` where its key is pinned, if a request for it is in doubt there (a
        timeout, a worker that crashed after sending): retries, redelivered copies and
        duplicate events alike. Only that provider's idempotency key can tell whether the
        message already went out, so no other provider may send it (``ambiguous``: the
        retry policy will not fall back)."""
        names = [p.name for p in self._providers]
        if settled is None or settled.pinned_to not in names:
            return dataclasses.replace(job, ambiguous=False) if job.ambiguous else job
        assert settled.pinned_to is not None
        return dataclasses.replace(job, provider_index=names.index(settled.pinned_to),
                                   ambiguous=True)

    def _finish(self, message_id: str, job: Job, *, ack: bool, replayed: bool,
                reason: str = "") -> None:
        """Ack (or dead-letter) the message; lift its replay mark if it had one."""
        self._maybe_crash(CrashPoint.BEFORE_ACK, job)
        d = self._deps
        if ack:
            d.queue.ack(self.queue, WORKER_GROUP, message_id)
        else:
            d.queue.dead_letter(self.queue, WORKER_GROUP, message_id, reason)
        if replayed:
            d.replays.clear(self.queue, message_id)


@dataclass(frozen=True, slots=True)
class PumpStatistics:
    moved: int
    dropped_done: int
    malformed: int


class RetryPump:
    """Move due jobs from the retry queue back onto their channel queues (log: QUEUED).

    A job whose dedupe key is done by then (another copy got through) is dropped.

    Notes
    -----
    One range scan per pump plus one publish per due job.
    """

    __slots__ = ("_deps", "_dropped", "_malformed", "_moved")

    def __init__(self, deps: DeliveryDeps) -> None:
        self._deps = deps
        self._moved = 0
        self._dropped = 0
        self._malformed = 0

    def pump(self, now: float | None = None) -> int:
        """Release every job due at ``now``; return how many were published."""
        d = self._deps
        at = d.clock.now() if now is None else float(now)
        moved = 0
        for item in d.retry_queue.pop_due(now=at):
            try:
                job = Job.from_json(item)
            except InvalidArgument:
                self._malformed += 1
                continue
            settled = d.dedupe.get(job.dedupe_key, at)
            if settled is not None and settled.done_at is not None:
                duplicate = _settled_by_another(settled, job)
                if duplicate is not None:
                    d.recorder.record(_change(job, Status.SUPPRESSED, at, duplicate))
                self._dropped += 1
                continue
            d.queue.publish(queue_name(job.channel), item)
            d.recorder.record(_change(job, Status.QUEUED, at))
            moved += 1
        self._moved += moved
        return moved

    def statistics(self) -> PumpStatistics:
        return PumpStatistics(moved=self._moved, dropped_done=self._dropped,
                              malformed=self._malformed)


def ensure_groups(
    queue: WorkQueue,
    channels: Iterable[Channel] = tuple(Channel),
    *,
    visibility_timeout_s: float = VISIBILITY_TIMEOUT_S,
    max_deliveries: int = MAX_DELIVERIES,
) -> None:
    """Create the worker group on every channel queue (idempotent with the same settings).

    Call it before the first publish: a group sees only messages published after it exists.
    """
    for channel in channels:
        queue.create_group(queue_name(channel), WORKER_GROUP,
                           visibility_timeout_s=visibility_timeout_s,
                           max_deliveries=max_deliveries)


def replay_dead_letters(
    deps: DeliveryDeps,
    channel: Channel,
    message_ids: Sequence[str] | None = None,
    *,
    now: float | None = None,
) -> int:
    """Send dead letters of ``channel`` again, each with a fresh attempt budget.

    For every replayed job: its dedupe key is released, its message is marked as a replay
    (the worker restarts its attempt count at the start of its current provider's share:
    same provider, same idempotency key, so an ambiguous earlier delivery is not repeated),
    the queue makes it deliverable, and the log moves it DEAD_LETTERED → QUEUED.
    Unparseable bodies are left where they are.

    Returns
    -------
    int
        How many were replayed.
    """
    if not isinstance(channel, Channel):
        raise InvalidArgument.bad_value("channel", channel, "a Channel")
    at = deps.clock.now() if now is None else float(now)
    qname = queue_name(channel)
    wanted = None if message_ids is None else set(message_ids)
    jobs: dict[str, Job] = {}
    for letter in deps.queue.dead_letters(qname, WORKER_GROUP):
        if wanted is not None and letter.message_id not in wanted:
            continue
        try:
            jobs[letter.message_id] = Job.from_json(letter.body)
        except InvalidArgument:
            continue
    if not jobs:
        return 0
    for message_id, job in jobs.items():
        deps.dedupe.release(job.dedupe_key)
        deps.replays.mark(qname, message_id)
    replayed = deps.queue.replay_dead_letters(qname, WORKER_GROUP, list(jobs))
    for job in jobs.values():
        deps.recorder.record(_change(job, Status.QUEUED, at))
    return replayed


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
        The notification log.
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
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise InvalidArgument.bad_value(f"pool_sizes[{channel}]", size, "an integer >= 0")
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
        self.batch_size = batch_size
        self.crash_plan = crash_plan
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
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise InvalidArgument.bad_value("workers", workers, "an integer >= 0")
        pool = self.pools[channel]
        while len(pool) > workers:
            self._retired = self._retired + pool.pop().statistics()
        while len(pool) < workers:
            n = self._started[channel] = self._started[channel] + 1
            pool.append(Worker(
                channel, self.deps, self.providers[channel],
                rng=random.Random(f"{self.seed}:worker:{channel.value}:{n}"),
                name=f"{channel.value}-{n}", batch_size=self.batch_size,
                crash_plan=self.crash_plan,
            ))

    def submit(self, job: Job, *, now: float | None = None) -> str:
        """Log ACCEPTED and QUEUED and publish ``job`` (the intake side's last step, for
        tests and scenarios without the API)."""
        at = self.deps.clock.now() if now is None else float(now)
        for status in (Status.ACCEPTED, Status.QUEUED):
            self.deps.recorder.record(_change(job, status, at))
        return self.publish(job)

    def publish(self, job: Job) -> str:
        """Publish ``job`` without logging: a duplicate copy, as an at-least-once producer
        may emit."""
        return self.deps.queue.publish(queue_name(job.channel), job.to_json())

    def step(self, now: float | None = None) -> dict[Channel, list[PollResult]]:
        """One tick: pump due retries, then every worker of every channel polls once."""
        at = self.deps.clock.now() if now is None else float(now)
        self.pump.pump(at)
        return {c: [w.poll(at) for w in pool] for c, pool in self.pools.items()}

    def replay_dead_letters(
        self, channel: Channel, message_ids: Sequence[str] | None = None
    ) -> int:
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
