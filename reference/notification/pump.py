"""Moving jobs back onto the channel queues: the retry pump and dead-letter replay.

A job leaves its channel queue ``notify.<channel>`` in one of three ways: it is acked, it is
scheduled on the retry queue (재시도 전용 큐, a :class:`~.delayed.DelayedQueue`) to be tried
again later, or it is dead-lettered. This module holds the two ways back::

    retry queue ── RetryPump.pump(now): due, and its dedupe key not done ──▶ notify.<channel>
    dead letters ── replay_dead_letters: fresh attempt budget (operator) ──▶ notify.<channel>

and what they share with the workers: :class:`DeliveryDeps` (the queue, dedupe store, log,
retry queue and replay marks every worker of every channel uses), :class:`ReplayMarks`,
:func:`ensure_groups` (the worker group on every channel queue) and the log helper
:func:`settled_by_another`. The workers themselves are in
:mod:`reference.notification.worker`; :mod:`reference.notification.delivery` wires it all.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.blocks.idempotency import IdempotencyStore
>>> from reference.blocks.delayed_queue import DelayedQueue
>>> from reference.notification.model import Category, Channel, Job, Status
>>> from reference.notification.tracking import NotificationLog
>>> from reference.storage import connect
>>> clock = FakeClock(start=0.0)
>>> store = connect("memory", clock=clock)
>>> log = NotificationLog()
>>> deps = DeliveryDeps(queue=store.queue, dedupe=IdempotencyStore(store.kv), recorder=log,
...                     retry_queue=DelayedQueue(store.timeline, name="retry"),
...                     replays=ReplayMarks(store.kv), clock=clock)
>>> ensure_groups(store.queue)
>>> job = Job("n1", "evt-1", "u1", Channel.EMAIL, "a@example.com", "Hi", "Welcome!",
...           Category.TRANSACTIONAL, False, accepted_at=0.0, template="welcome")
>>> for status, reason in [(Status.ACCEPTED, ""), (Status.QUEUED, ""),
...                        (Status.FAILED, "timeout; retry in 4s")]:  # what a worker logs
...     log.record(StatusChange.for_job(job, status, 1.0, reason))
>>> deps.retry_queue.schedule(job.to_json(), due_at=5.0)   # ... and where it puts the job
>>> pump = RetryPump(deps)
>>> pump.pump(now=4.0), pump.pump(now=5.0)                 # not due yet, then due
(0, 1)
>>> [c.status.value for c in log.history("n1")]
['accepted', 'queued', 'failed', 'queued']
>>> pump.statistics()
PumpStatistics(moved=1, dropped_done=0, malformed=0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reference.blocks.delayed_queue import DelayedQueue
from reference.blocks.idempotency import IdempotencyRecord, IdempotencyStore
from reference.blocks.ratelimit import RateLimiter
from reference.core.clock import US_PER_S, Clock
from reference.core.errors import InvalidArgument, NotFound
from reference.notification.model import (
    WORKER_GROUP,
    Channel,
    Job,
    Status,
    StatusChange,
    StatusRecorder,
    queue_name,
)
from reference.notification.records import NotificationRecords
from reference.notification.retry import Alerts, RetryPolicy
from reference.storage.ports import KeyValue, WorkQueue

__all__ = [
    "MAX_DELIVERIES",
    "VISIBILITY_TIMEOUT_S",
    "DeliveryDeps",
    "PumpStatistics",
    "ReplayMarks",
    "RetryPump",
    "TokenRemover",
    "ensure_groups",
    "replay_dead_letters",
    "settled_by_another",
]

VISIBILITY_TIMEOUT_S = 30.0  # an unacked job comes back after this long
MAX_DELIVERIES = 5  # ... at most this many times, then the queue dead-letters it (poison)


class TokenRemover(Protocol):
    """The contact store's hook for invalid device tokens (``ContactBook.remove_token``)."""

    def remove_token(self, token: str) -> object: ...


class ReplayMarks:
    """Which redelivered messages are operator replays (they get a fresh attempt budget).

    One KeyValue string per replayed message id at ``replay:{<queue>}:<message_id>``.
    """

    __slots__ = ("_kv",)

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    def mark(self, queue: str, message_id: str, *, at: float) -> None:
        """Mark the message as replayed at ``at`` (the mark's value tells replays apart)."""
        self._kv.set(f"replay:{{{queue}}}:{message_id}", str(round(at * US_PER_S)))

    def get(self, queue: str, message_id: str) -> str | None:
        """The mark of a replayed message (when it was replayed, in µs), or None."""
        return self._kv.get(f"replay:{{{queue}}}:{message_id}")

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

    @property
    def records(self) -> NotificationRecords | None:
        """The notification DB, when the recorder is one (it keeps every queued job)."""
        recorder = self.recorder
        return recorder if isinstance(recorder, NotificationRecords) else None


def settled_by_another(settled: IdempotencyRecord | None, job: Job) -> str | None:
    """The reason to suppress ``job`` if *another* notification settled its effect.

    A duplicate event gets its own notification id with the same dedupe key; when its copy
    is skipped it must still leave the log (suppressed, with a reason), or it would look
    queued forever. A redelivered copy of the settling notification itself needs nothing.
    """
    if settled is None or settled.done_by in (None, job.notification_id):
        return None
    return f"duplicate: {job.dedupe_key} already settled by {settled.done_by}"


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
            records = d.records
            duplicate = settled_by_another(settled, job)
            if settled is not None and (settled.done_at is not None or duplicate is not None):
                if duplicate is not None:
                    d.recorder.record(StatusChange.for_job(job, Status.SUPPRESSED, at, duplicate))
                elif records is not None:
                    records.close(job)  # this notification itself settled it: nothing left
                self._dropped += 1
                continue
            if records is not None:
                records.save(job, item, waiting_in="queue", due_at=at, moved_from="retry")
            d.queue.publish(queue_name(job.channel), item)
            d.recorder.record(StatusChange.for_job(job, Status.QUEUED, at))
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


def _status_reader(recorder: StatusRecorder) -> Callable[[str], Status] | None:
    """The log's ``status(notification_id)``, when the recorder is (or fronts) a log that
    can answer it; None otherwise."""
    inner = recorder.log if isinstance(recorder, NotificationRecords) else recorder
    status = getattr(inner, "status", None)
    return status if callable(status) else None


def _still_dead(status_of: Callable[[str], Status], notification_id: str) -> bool:
    try:
        return status_of(notification_id) is Status.DEAD_LETTERED
    except NotFound:
        return True  # the log never saw it: nothing to contradict


def replay_dead_letters(
    deps: DeliveryDeps,
    channel: Channel,
    message_ids: Sequence[str] | None = None,
    *,
    now: float | None = None,
) -> int:
    """Send dead letters of ``channel`` again, each with a fresh attempt budget.

    For every replayed job: its dedupe key's done mark is lifted (a pin stays: a request
    still in doubt keeps the replay on its provider), its message is marked as a replay
    (the worker restarts its attempt count at the start of its current provider's share:
    same provider, same idempotency key, so an ambiguous earlier delivery is not repeated),
    the queue makes it deliverable, and the log moves it DEAD_LETTERED → QUEUED.
    Within the idempotency window only: after it, the dedupe record and the provider's key
    are gone, and a letter that died in doubt (a timeout) may be delivered a second time.

    Unparseable bodies are left where they are, and so are letters whose notification the
    log no longer has ``dead_lettered``: a queue duplicate of it that died in a worker while
    another copy got through. Replaying one would repeat a finished notification.

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
    status_of = _status_reader(deps.recorder)
    for letter in deps.queue.dead_letters(qname, WORKER_GROUP):
        if wanted is not None and letter.message_id not in wanted:
            continue
        try:
            job = Job.from_json(letter.body)
        except InvalidArgument:
            continue
        if status_of is not None and not _still_dead(status_of, job.notification_id):
            continue
        jobs[letter.message_id] = job
    if not jobs:
        return 0
    records = deps.records
    for message_id, job in jobs.items():
        # the key first: a replay that dies here leaves the letter replayable (its log and
        # its DB row still say dead_lettered), never a row open on a key still done
        deps.dedupe.reopen(job.dedupe_key, at)  # a pin in doubt stays
        if records is not None:  # kept with the fresh budget the worker will give it
            fresh = min(job.provider_index * deps.policy.fallback_after + 1,
                        deps.policy.max_attempts)
            kept = dataclasses.replace(job, attempt=fresh)
            records.save(kept, kept.to_json(), waiting_in="queue", due_at=at, reopen=True)
        deps.replays.mark(qname, message_id, at=at)
    replayed = deps.queue.replay_dead_letters(qname, WORKER_GROUP, list(jobs))
    for job in jobs.values():
        deps.recorder.record(StatusChange.for_job(job, Status.QUEUED, at))
    return replayed
