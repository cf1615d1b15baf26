"""The notification DB (알림 데이터 보관): keep every job so that no notification is lost.

The chapter's reliability rule: a notification may be late or out of order, but it must not
disappear (데이터 손실 방지), so the system keeps notification data in a database and retries
from it. A work queue is not enough on its own: a broker can lose messages it acknowledged
(a Redis failover drops writes that had not reached the replica yet), and a process can die
between taking a job off the deferred queue and publishing it.

So before a job is handed to any queue (its channel queue, the retry queue or the quiet-hours
queue) it is written here, with a **deadline**: the time by which it must have moved on. The
record is closed when the job settles (``sent``, ``suppressed`` or ``dead_lettered``). The
**recovery sweep** looks for open records past their deadline whose job can no longer be
anywhere in the pipeline and publishes the stored job again:

* waiting in a delayed queue (retry, deferred): the pump releases due jobs at every round, so
  ``stall_after_s`` past its due time it is lost;
* waiting on its channel queue: it may just be behind a backlog, so it counts as lost only
  when every message the queue still holds (waiting or handed to a worker) was published
  after it. Its record is saved just *before* it is published (so a crash in between leaves
  a record, never a job without one); the publish follows within ``PUBLISH_GRACE_S`` (the
  API's next ids, a real clock's microseconds), so the sweep compares the oldest message
  still held with the save time plus that grace. A slow queue is never mistaken for a lost
  message, so the sweep does not pile copies onto a backlog.

A job published twice is harmless: the worker's dedupe (event id → idempotency key) lets at
most one copy take effect. That is why recovery may be eager and simple.

Layout on the store: one hash per notification, ``notification:{<id>}`` (the job as queued,
where it waits, its deadline; after settling its status, reason and time), and per channel
and waiting place a sorted set of open notifications scored by deadline,
``open-notifications:{<channel>}:<queue|retry|deferred>``. Keeping them apart is what makes a
sweep cost O(due rows), however many jobs wait: a delayed job past its deadline is lost, so
each one read is published again (or found settled and closed); and of the jobs on a channel
queue only those saved before the oldest message the queue still holds can be lost, which one
range query by deadline selects, so a backlog's jobs are never even read. A job that moves
(retry queue → channel queue, say) is indexed again under its new place in the same save.
A notification costs four commands on the happy path: HSET + ZADD when queued, ZREM + HSET
when it settles. The full status history stays in the
:class:`~reference.notification.tracking.NotificationLog` (event tracking), which this class
forwards every change to.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.notification.model import Category, Channel, Job, Status, StatusChange
>>> from reference.notification.tracking import NotificationLog
>>> from reference.storage import connect
>>> clock = FakeClock(start=1000.0)
>>> store = connect("memory", clock=clock)
>>> store.queue.create_group("notify.sms", "workers")
>>> records = NotificationRecords(store.kv, store.timeline, NotificationLog(), stall_after_s=60)
>>> job = Job("n1", "evt-1", "u1", Channel.SMS, "+14155550100", "", "code 1234",
...           Category.SECURITY, True, accepted_at=1000.0)
>>> for status in (Status.ACCEPTED, Status.QUEUED):
...     records.record(StatusChange.for_job(job, status, 1000.0))
>>> records.save(job, job.to_json(), waiting_in="queue", due_at=1000.0)  # the broker loses it
>>> clock.advance(61)
>>> [j.notification_id for j in records.recover(store.queue, now=clock.now())]
['n1']
>>> records.get("n1").waiting_in, records.get("n1").deadline
('queue', 1121.0)
>>> records.record(StatusChange.for_job(job, Status.SENT, 1062.0, "via sms-primary"))
>>> records.get("n1").settled, records.open_count()
('sent', 0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from reference.core.checks import check_positive_seconds, check_time
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
from reference.storage.ports import KeyValue, Timeline, WorkQueue

__all__ = [
    "PUBLISH_GRACE_S",
    "SETTLED",
    "STALL_AFTER_S",
    "WAITING_IN",
    "NotificationRecord",
    "NotificationRecords",
    "RecordsStatistics",
]

#: How long past its due time a job may sit without moving on before the sweep calls it lost.
#: Four visibility timeouts: a crashed worker's job comes back well before that.
STALL_AFTER_S: Final = 120.0

#: Statuses that close a record: the job has left every queue for good.
SETTLED: Final = frozenset({Status.SENT, Status.SUPPRESSED, Status.DEAD_LETTERED})

#: Where an open job waits: its channel queue, the retry queue or the quiet-hours queue.
WAITING_IN: Final = ("queue", "retry", "deferred")

#: A job saved for its channel queue is published within this long of its save (the API may
#: issue other ids in between; a real clock moves on between two commands).
PUBLISH_GRACE_S: Final = 1.0

_RECOVERED = "recovered: no progress by its deadline, published again from the notification DB"


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """One notification's row: its last queued job and where it waits, or how it settled.

    ``job`` is None for a notification suppressed before it was ever queued.
    """

    notification_id: str
    job: Job | None
    waiting_in: str
    saved_at: float | None
    deadline: float | None  # None once settled
    settled: str  # "" while open, else the settling status
    reason: str


@dataclass(frozen=True, slots=True)
class RecordsStatistics:
    """Jobs saved, records settled, jobs recovered (published again), records still open."""

    saved: int
    settled: int
    recovered: int
    open: int


def record_key(notification_id: str) -> str:
    return f"notification:{{{notification_id}}}"


def open_key(channel: Channel, waiting_in: str) -> str:
    return f"open-notifications:{{{channel.value}}}:{waiting_in}"


_OPEN_KEYS: Final = tuple(open_key(channel, where) for channel in Channel for where in WAITING_IN)


class NotificationRecords:
    """The notification DB and its recovery sweep; a :class:`StatusRecorder` in front of the log.

    Parameters
    ----------
    kv : KeyValue
        Holds one hash per notification.
    timeline : Timeline
        Holds the open notifications per channel, scored by deadline.
    log : StatusRecorder
        Every status change is forwarded there (the notification log).
    stall_after_s : float
        Grace after a job's due time before the sweep may call it lost (> 0).

    Notes
    -----
    Saving happens before the hand-off, so a crash in between leaves an open record (found
    by the sweep), never a queued job without one.
    """

    __slots__ = ("_kv", "_log", "_recovered", "_saved", "_settled", "_timeline",
                 "stall_after_s")

    def __init__(self, kv: KeyValue, timeline: Timeline, log: StatusRecorder, *,
                 stall_after_s: float = STALL_AFTER_S) -> None:
        if not callable(getattr(log, "record", None)):
            raise InvalidArgument.bad_value("log", log, "a StatusRecorder with record(change)")
        self.stall_after_s = check_positive_seconds("stall_after_s", stall_after_s)
        self._kv = kv
        self._timeline = timeline
        self._log = log
        self._saved = self._settled = self._recovered = 0

    # ── writes ───────────────────────────────────────────────────────────────────────────
    def save(self, job: Job, body: str, *, waiting_in: str, due_at: float,
             moved_from: str | None = None, reopen: bool = False) -> None:
        """Keep ``job`` (serialised as ``body``) before it is handed to a queue.

        ``waiting_in`` says which ("queue", "retry", "deferred"); ``due_at`` is when it is
        due there (now, for the channel queue). Its deadline is ``due_at + stall_after_s``.
        ``moved_from`` names where the job waited until now (None for a new job), so its
        old index entry goes. A settled record stays settled (a late copy from another
        worker is closed by the sweep, never sent again) unless ``reopen``: an operator's
        replay of a dead letter.
        """
        for name, where in (("waiting_in", waiting_in), ("moved_from", moved_from)):
            if where not in WAITING_IN and (name == "waiting_in" or where is not None):
                raise InvalidArgument.bad_value(name, where, f"one of {WAITING_IN}")
        check_time("due_at", due_at)
        deadline = due_at + self.stall_after_s
        fields = {"job": body, "waiting_in": waiting_in, "saved_at": repr(float(due_at)),
                  "deadline": repr(deadline)}
        if reopen:
            fields |= {"settled": "", "reason": "", "settled_at": ""}
        self._kv.hset(record_key(job.notification_id), fields)
        self._timeline.add(open_key(job.channel, waiting_in), {job.notification_id: deadline})
        if moved_from is not None and moved_from != waiting_in:
            self._timeline.remove(open_key(job.channel, moved_from), job.notification_id)
        self._saved += 1

    def record(self, change: StatusChange) -> None:
        """Forward ``change`` to the log; a settling status closes the record."""
        self._log.record(change)
        if change.status in SETTLED:
            self._close(change.notification_id, change.channel)
            self._kv.hset(record_key(change.notification_id), {
                "settled": change.status.value, "reason": change.reason,
                "settled_at": repr(change.at),
            })

    @property
    def log(self) -> StatusRecorder:
        """The recorder every change is forwarded to (the notification log)."""
        return self._log

    def close(self, job: Job) -> None:
        """Close ``job``'s record without a status change: a copy of a notification that had
        already settled left the pipeline (its queue duplicate, a retry dropped as done)."""
        self._close(job.notification_id, job.channel)

    def _close(self, notification_id: str, channel: Channel) -> None:
        """Drop the index entry: from the channel queue's set first (where a job settles on
        the happy path, one ZREM), else from the delayed queues' sets."""
        for where in WAITING_IN:
            if self._timeline.remove(open_key(channel, where), notification_id):
                self._settled += 1
                return

    # ── the recovery sweep ───────────────────────────────────────────────────────────────
    def recover(self, queue: WorkQueue, *, now: float,
                opted_out: Callable[[Job], str | None] | None = None) -> tuple[Job, ...]:
        """Publish again every open job past its deadline that is nowhere in the pipeline.

        Returns the jobs published (each logged ``queued`` with the reason). Of the jobs on
        a channel queue only those saved (plus ``PUBLISH_GRACE_S``) before the oldest
        message the queue still holds are looked at: the others may be behind that backlog
        (see the module notes). A job lost on its way out of the quiet-hours queue is
        released as the API would release it: ``opted_out`` (the API's
        :meth:`~reference.notification.api.NotificationAPI.opted_out_since`) is asked first,
        and a job whose user opted out meanwhile is suppressed with its reason.

        Notes
        -----
        O(due rows): one range query per (channel, waiting place) and one statistics read
        per channel queue that has overdue jobs; every row read is published again, closed
        or re-indexed, so no row is read twice for one deadline.
        """
        check_time("now", now)
        recovered: list[Job] = []
        for channel in Channel:
            for where in WAITING_IN:
                key = open_key(channel, where)
                limit = math.inf if where != "queue" else self._queue_limit(queue, channel,
                                                                            key, now)
                overdue = self._timeline.range_by_score(key, -math.inf, min(now, limit))
                for notification_id, _ in overdue:
                    job = self._recover_row(notification_id, channel, where, limit,
                                            opted_out, now)
                    if job is not None:
                        queue.publish(queue_name(channel), job.to_json())
                        recovered.append(job)
        self._recovered += len(recovered)
        return tuple(recovered)

    def _queue_limit(self, queue: WorkQueue, channel: Channel, key: str, now: float) -> float:
        """A job on ``channel``'s queue can be lost only if its deadline is below this: it was
        saved (and so published) before the oldest message the queue still holds."""
        first = self._timeline.range_by_rank(key, 0, 0)
        if not first or first[0][1] > now:
            return -math.inf  # nothing overdue: the queue is not even asked
        stats = queue.statistics(queue_name(channel), WORKER_GROUP)
        if not stats.lag:
            return math.inf  # the queue holds nothing: every overdue job of it was lost
        oldest_published = now - stats.oldest_age_s
        return oldest_published - PUBLISH_GRACE_S + self.stall_after_s

    def _recover_row(self, notification_id: str, channel: Channel, where: str, limit: float,
                     opted_out: Callable[[Job], str | None] | None,
                     now: float) -> Job | None:
        """One overdue row of ``where``'s index: the job to publish again, or None (closed,
        re-indexed, or possibly still on its queue)."""
        record = self._read(notification_id)
        if record is None or record.job is None or record.settled:
            self._timeline.remove(open_key(channel, where), notification_id)
            self._settled += 1  # nothing to resend
            return None
        assert record.deadline is not None and record.saved_at is not None
        if record.waiting_in != where:  # a move that died between its writes: index it again
            self._timeline.add(open_key(channel, record.waiting_in),
                               {notification_id: record.deadline})
            self._timeline.remove(open_key(channel, where), notification_id)
            return None
        if record.deadline >= limit:
            return None  # saved no earlier than the oldest message held: maybe behind it
        why = None if opted_out is None or where != "deferred" else opted_out(record.job)
        if why is not None:  # settles the record
            self.record(StatusChange.for_job(record.job, Status.SUPPRESSED, now, why))
            return None
        self.save(record.job, record.job.to_json(), waiting_in="queue", due_at=now,
                  moved_from=where)
        self._log.record(StatusChange.for_job(record.job, Status.QUEUED, now, _RECOVERED))
        return record.job

    def next_deadline(self) -> float | None:
        """The earliest deadline of an open record (None if none is open)."""
        firsts = [first[0][1] for key in _OPEN_KEYS
                  if (first := self._timeline.range_by_rank(key, 0, 0))]
        return min(firsts) if firsts else None

    # ── reads ────────────────────────────────────────────────────────────────────────────
    def get(self, notification_id: str) -> NotificationRecord:
        """The row of ``notification_id``; NotFound if the DB never saw it."""
        record = self._read(notification_id)
        if record is None:
            raise NotFound("notification record", notification_id)
        return record

    def _read(self, notification_id: str) -> NotificationRecord | None:
        fields = self._kv.hgetall(record_key(notification_id))
        if not fields:
            return None
        body = fields.get("job")
        open_ = not fields.get("settled")
        return NotificationRecord(
            notification_id=notification_id,
            job=None if body is None else Job.from_json(body),
            waiting_in=fields.get("waiting_in", ""),
            saved_at=float(fields["saved_at"]) if "saved_at" in fields else None,
            deadline=float(fields["deadline"]) if open_ and "deadline" in fields else None,
            settled=fields.get("settled", ""),
            reason=fields.get("reason", ""),
        )

    def open_count(self) -> int:
        """How many notifications are open (saved, not settled)."""
        return sum(self._timeline.size(key) for key in _OPEN_KEYS)

    def statistics(self) -> RecordsStatistics:
        return RecordsStatistics(saved=self._saved, settled=self._settled,
                                 recovered=self._recovered, open=self.open_count())

    def __repr__(self) -> str:
        return f"NotificationRecords(stall_after_s={self.stall_after_s!r})"

