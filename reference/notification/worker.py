"""Per-channel workers: from a job on a channel queue to the provider, exactly once in effect.

Each channel (iOS push, Android push, SMS, email) has its own queue and its own pool of
workers (작업 서버), so a slow email provider never holds up a security SMS, and each pool
scales on its own (see :mod:`reference.notification.monitoring`). One :meth:`Worker.poll`
step::

    consume a batch from notify.<channel> (group "workers")
    for each job:
        done already?  (dedupe)          → ack, count a suppressed duplicate
        claim (first or re-entry)
        provider over quota?              → back to the retry queue at retry_after (no attempt used)
        pin the key to the provider       → settled or pinned elsewhere meanwhile? back to the
                                            retry queue, decided again later (no attempt used)
        send with the idempotency key
        accepted  → log SENT → mark done → ack
        transient → retry queue (backoff) or the next provider (fallback) → ack → log FAILED
        bad token → remove it from contacts → log FAILED, SUPPRESSED → mark done → ack
        exhausted → dead-letter → log DEAD_LETTERED → mark done → alert
    receipts due → log DELIVERED

The order matters for crash safety. A worker can be told to crash (a deterministic
:class:`~reference.core.faults.CrashPlan`) after the claim, after the send, or before
the ack; its unacked jobs come back after the queue's visibility timeout. Because the log is
written before the done mark, and the done mark before the ack, every crash leaves a state the
redelivered copy can finish: at worst it sends again with the same idempotency key and the
provider collapses the repeat. So the user sees one effect per (event, channel, address).

What the workers share (:class:`~reference.notification.pump.DeliveryDeps`), the retry pump
and dead-letter replay are in :mod:`reference.notification.pump`; the pools are built and
stepped by :class:`~reference.notification.delivery.DeliveryService`.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.notification.delivery import DeliveryService
>>> from reference.notification.model import Category, Channel, Job
>>> from reference.notification.tracking import NotificationLog
>>> from reference.storage import connect
>>> clock = FakeClock(start=0.0)
>>> log = NotificationLog()
>>> service = DeliveryService.from_store(connect("memory", clock=clock), clock=clock,
...                                      recorder=log, seed=1, failures="none")
>>> job = Job("n1", "evt-1", "u1", Channel.EMAIL, "a@example.com", "Hi", "Welcome!",
...           Category.TRANSACTIONAL, False, accepted_at=0.0, template="welcome")
>>> _ = service.submit(job)               # log ACCEPTED + QUEUED, publish
>>> _ = service.publish(job)              # the same job published twice
>>> worker = service.pools[Channel.EMAIL][0]
>>> clock.advance(1.0); worker.poll()
PollResult(consumed=2, sent=1, crashed=False, busy_s=...)
>>> [c.status.value for c in log.history("n1")]
['accepted', 'queued', 'sent']
>>> len(service.providers[Channel.EMAIL][0].sent)   # one effect, not two
1
>>> worker.statistics().duplicates_suppressed
1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

from reference.blocks.idempotency import IdempotencyRecord
from reference.core.checks import check_int
from reference.core.clock import US_PER_S
from reference.core.errors import InvalidArgument
from reference.core.faults import CrashPlan
from reference.notification.model import (
    WORKER_GROUP,
    Channel,
    CrashPoint,
    Job,
    Status,
    StatusChange,
    queue_name,
)
from reference.notification.providers import DeliveryReceipt, Provider
from reference.notification.pump import DeliveryDeps, settled_by_another
from reference.notification.retry import Action, Alert, decide

__all__ = ["PollResult", "Worker", "WorkerStatistics"]


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
    raced: int = 0  # jobs handed back: another worker settled or pinned the key meanwhile
    receipts: int = 0
    malformed: int = 0
    crashes: int = 0

    def __add__(self, other: WorkerStatistics) -> WorkerStatistics:
        return WorkerStatistics(*(
            getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self)
        ))


_NOTHING = PollResult(0, 0, False, 0.0)  # a poll that found no job (most of them)


class _Crash(Exception):
    """Internal: unwinds a poll at a crash point."""


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
    rng : Random
        Draws this worker's backoff jitter.
    name : str
        The consumer name in the group.
    batch_size : int
        Jobs per poll.
    crash_plan : CrashPlan | None
        When to die (tests and fault scenarios; None: never).

    Notes
    -----
    Per delivered job: a replay-mark read, the dedupe record read and claimed in one GET
    (plus a compare-and-set on a first arrival), a pin and a done mark (a GET and a
    compare-and-set each: a worker never overwrites a record another worker changed after
    its read), at most one quota check, one send, one log record, one ack; later one read
    per receipt.
    The trade-off taught: the queue alone gives at-least-once; the done mark makes
    redelivery cheap, and only the provider's idempotency key makes the *effect*
    exactly-once across a crash between send and record.
    """

    def __init__(
        self,
        channel: Channel,
        deps: DeliveryDeps,
        providers: Sequence[Provider],
        *,
        rng: Random,
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
        if not isinstance(rng, Random):
            raise InvalidArgument.bad_value("rng", rng, "a Random")
        if not isinstance(name, str) or not name:
            raise InvalidArgument.bad_value("name", name, "a non-empty string")
        check_int("batch_size", batch_size, 1)
        self.channel = channel
        self.name = name
        self.queue = queue_name(channel)
        self.batch_size = batch_size
        self._deps = deps
        self._providers = tuple(providers)
        self._names = tuple(p.name for p in self._providers)  # the chain is fixed: name once
        self._rng = rng
        self._crash_plan = CrashPlan() if crash_plan is None else crash_plan
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
        if self._crash_plan.should_crash(point, job.notification_id):
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
        if not deliveries:
            return _NOTHING
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
        """Log DELIVERED for every receipt due whose send is recorded (its key done).

        A receipt is logged at the provider's delivery time, but never before the send it
        reports was recorded: after a crash between send and record, the provider may
        deliver long before a redelivered copy records ``sent`` (the log stays in time
        order)."""
        dedupe = self._deps.dedupe
        settled: dict[str, IdempotencyRecord | None] = {}  # read once per key

        def settlement(key: str) -> IdempotencyRecord | None:
            if key not in settled:
                settled[key] = dedupe.get(key, at)
            return settled[key]

        def ready(receipt: DeliveryReceipt) -> bool:  # its SENT is in the log
            record = settlement(receipt.idempotency_key)
            return record is not None and record.done_at is not None

        for provider in self._providers:
            for receipt in provider.collect_receipts(at, ready=ready):
                record = settlement(receipt.idempotency_key)
                assert record is not None and record.done_at is not None
                if record.done_by not in (None, receipt.job.notification_id):
                    continue  # another notification settled the key: this copy was suppressed
                self._deps.recorder.record(StatusChange.for_job(
                    receipt.job, Status.DELIVERED, max(receipt.delivered_at, record.done_at),
                    f"receipt from {receipt.provider}"))
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
        replay = d.replays.get(self.queue, message_id)  # when it was replayed, if it was
        replayed = replay is not None
        if replayed:
            # a fresh budget on the provider that last had it (its idempotency key may hold
            # an ambiguous earlier delivery; another provider would send a second copy)
            fresh = job.provider_index * d.policy.fallback_after + 1
            job = dataclasses.replace(job, attempt=min(fresh, d.policy.max_attempts),
                                      first_attempt_at=None)
        key = job.dedupe_key
        settled, first = d.dedupe.check_and_claim(key, at)  # claimed unless done already
        duplicate = settled_by_another(settled, job)  # (also while a replay reopened it)
        if settled is not None and (settled.done_at is not None or duplicate is not None):
            if duplicate is not None:
                d.recorder.record(StatusChange.for_job(job, Status.SUPPRESSED, at, duplicate))
            elif (records := d.records) is not None:
                records.close(job)  # a copy of this notification, which settled already
            d.queue.ack(self.queue, WORKER_GROUP, message_id)
            if replayed:
                d.replays.clear(self.queue, message_id)
            self._count("duplicates_suppressed")
            return False, 0.0
        if not first:
            self._count("reentries")  # a retry, a redelivery or a duplicate in flight
        self._maybe_crash(CrashPoint.AFTER_CLAIM, job)
        job = self._route(job, settled)
        provider = self._providers[min(job.provider_index, len(self._providers) - 1)]
        quota = d.quotas.get(provider.name)
        if quota is not None:
            decision = quota.acquire(provider.name)
            if not decision.allowed:
                self._schedule_retry(job, due_at=at + decision.retry_after_s)
                self._count("quota_deferred")
                self._finish(message_id, job, ack=True, replayed=replayed)
                return False, 0.0
        # this request, until it has an answer: a replayed dead letter keeps its message id
        # and starts its delivery count again, so the replay's own mark and the time tell
        # the requests apart
        token = f"{message_id}#{deliveries}@{round(at * US_PER_S)}/{replay or 0}"
        pinned = d.dedupe.pin(key, at, provider=provider.name, token=token)
        if pinned is None or (pinned != provider.name and pinned in self._names):
            # Another worker changed the record since this one read it: a copy settled the
            # key (None), or holds a request in doubt at another provider. Sending here
            # could repeat that effect, so the job goes back, decided again on a fresh read
            # (the retry pump drops it if the key is done by then). No attempt is used.
            self._schedule_retry(job, due_at=at)
            self._count("raced")
            self._finish(message_id, job, ack=True, replayed=replayed)
            return False, 0.0
        if job.first_attempt_at is None:  # the retry budget's time starts with this attempt
            job = dataclasses.replace(job, first_attempt_at=at)
        result = provider.send(job, idempotency_key=key, now=at)
        self._maybe_crash(CrashPoint.AFTER_SEND, job)
        if result.code == "timeout":
            job = dataclasses.replace(job, ambiguous=True)  # in doubt: the pin stays
        elif result.outcome != "accepted":
            d.dedupe.unpin(key, at, token=token)  # failed for certain: lift our own pin
        step = decide(job, result, d.policy, self._rng, now=at, providers=len(self._providers))
        if step.action is Action.DONE:
            d.recorder.record(StatusChange.for_job(job, Status.SENT, at, f"via {provider.name}"))
            d.dedupe.mark_done(key, at, by=job.notification_id)
            self._count("sent")
            self._finish(message_id, job, ack=True, replayed=replayed)
            return True, result.latency_s
        self._count("failed_attempts")
        if step.action in (Action.RETRY, Action.FALLBACK):
            assert step.at is not None
            nxt = dataclasses.replace(job, attempt=step.attempt,
                                      provider_index=step.provider_index)
            self._schedule_retry(nxt, due_at=step.at)
            d.recorder.record(StatusChange.for_job(job, Status.FAILED, at, step.reason))
            self._count("retries" if step.action is Action.RETRY else "fallbacks")
            self._finish(message_id, job, ack=True, replayed=replayed)
        elif step.action is Action.STOP:
            reason = step.reason
            if step.remove_address and d.contacts is not None:
                d.contacts.remove_token(job.address)
                self._count("tokens_removed")
                reason += "; device token removed from contacts"
            d.recorder.record(StatusChange.for_job(job, Status.FAILED, at, step.reason))
            d.recorder.record(StatusChange.for_job(job, Status.SUPPRESSED, at, reason))
            d.dedupe.mark_done(key, at, by=job.notification_id)
            self._count("stopped")
            self._finish(message_id, job, ack=True, replayed=replayed)
        else:  # DEAD_LETTER
            self._finish(message_id, job, ack=False, replayed=replayed, reason=step.reason)
            d.recorder.record(StatusChange.for_job(job, Status.DEAD_LETTERED, at, step.reason))
            d.dedupe.mark_done(key, at, by=job.notification_id)
            d.alerts.raise_alert(Alert(at, self.channel, job.notification_id, step.reason))
            self._count("dead_lettered")
        return False, result.latency_s

    def _schedule_retry(self, job: Job, *, due_at: float) -> None:
        """Put ``job`` on the retry queue until ``due_at`` (kept in the notification DB
        first, when there is one)."""
        d = self._deps
        body = job.to_json()
        if (records := d.records) is not None:
            records.save(job, body, waiting_in="retry", due_at=due_at, moved_from="queue")
        d.retry_queue.schedule(body, due_at=due_at)

    def _route(self, job: Job, settled: IdempotencyRecord | None) -> Job:
        """Send ``job`` where its key is pinned, if a request for it is in doubt there (a
        timeout, a worker that crashed after sending): retries, redelivered copies and
        duplicate events alike. Only that provider's idempotency key can tell whether the
        message already went out, so no other provider may send it (``ambiguous``: the
        retry policy will not fall back)."""
        names = self._names
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
