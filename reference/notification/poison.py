"""Poison messages (독성 메시지): the dead letters the *queue* makes, logged and alerted.

A worker dead-letters a job itself when its retries run out, and logs and alerts it then. The
work queue dead-letters a message on its own when it was handed out ``max_deliveries`` times
and never acked: a body that crashes every worker that takes it, or workers that keep dying.
No worker lives to log that, so without :class:`PoisonWatch` the notification would sit in
the dead-letter queue unlogged — lost, as far as the log can tell.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.blocks.idempotency import IdempotencyStore
>>> from reference.blocks.delayed_queue import DelayedQueue
>>> from reference.notification.model import Category, Job
>>> from reference.notification.pump import ReplayMarks, ensure_groups
>>> from reference.notification.tracking import NotificationLog
>>> from reference.storage import connect
>>> clock = FakeClock(start=0.0)
>>> store = connect("memory", clock=clock)
>>> log = NotificationLog()
>>> deps = DeliveryDeps(queue=store.queue, dedupe=IdempotencyStore(store.kv), recorder=log,
...                     retry_queue=DelayedQueue(store.timeline, name="retry"),
...                     replays=ReplayMarks(store.kv), clock=clock)
>>> ensure_groups(store.queue, visibility_timeout_s=1.0, max_deliveries=1)
>>> job = Job("n1", "evt-1", "u1", Channel.EMAIL, "a@example.com", "Hi", "Welcome!",
...           Category.TRANSACTIONAL, False, accepted_at=0.0)
>>> for status in (Status.ACCEPTED, Status.QUEUED):
...     log.record(StatusChange.for_job(job, status, 0.0))
>>> _ = store.queue.publish("notify.email", job.to_json())
>>> _ = store.queue.consume("notify.email", WORKER_GROUP, "w1")  # ... and the worker dies
>>> clock.advance(2.0)
>>> store.queue.consume("notify.email", WORKER_GROUP, "w2")    # the queue buries it
[]
>>> watch = PoisonWatch(deps)
>>> watch.sweep(clock.now())
1
>>> log.status("n1"), deps.alerts.alerts[0].severity
(<Status.DEAD_LETTERED: 'dead_lettered'>, 'error')
"""

from __future__ import annotations

from reference.core.errors import InvalidArgument
from reference.notification.model import (
    CHANNEL_QUEUES,
    WORKER_GROUP,
    Channel,
    Job,
    Status,
    StatusChange,
)
from reference.notification.pump import DeliveryDeps, settled_by_another
from reference.notification.retry import Alert
from reference.storage.ports import QueueStatistics
from reference.storage.queue_rules import EXHAUSTED

__all__ = ["PoisonWatch"]


class PoisonWatch:
    """Log and alert every dead letter the queue made by itself.

    :meth:`sweep` looks at a channel's dead letters only when the queue's ``dead_lettered``
    counter moved (the statistics it read stay in :attr:`last_statistics`, which the run
    loop reuses). A letter is new when its (message id, time of death) was not seen: a
    replayed message that dies again is a new letter. For each new one:

    * its effect is not settled (the dedupe key is not done) → log ``dead_lettered`` with
      the queue's reason, mark the key done, raise an alert;
    * another notification settled the key (a duplicate copy) → log ``suppressed`` with the
      duplicate's reason, as a worker would, and warn;
    * it settled the key itself (a worker died after the provider accepted) → warn only:
      nothing was lost, but a message keeps killing workers;
    * its body is not a job → alert it as malformed.

    Dead letters a worker made (their reasons come from the retry policy) are left alone.
    """

    __slots__ = ("_counts", "_deps", "_seen", "found", "last_statistics")

    def __init__(self, deps: DeliveryDeps) -> None:
        self._deps = deps
        self._counts: dict[Channel, int] = {}
        self._seen: set[tuple[Channel, str, float]] = set()
        self.found = 0  # queue-made dead letters seen so far
        #: each channel queue's statistics as the last sweep read them (empty before one)
        self.last_statistics: dict[Channel, QueueStatistics] = {}

    def sweep(self, now: float) -> int:
        """Handle every new queue-made dead letter; return how many were found."""
        d = self._deps
        found = 0
        for channel, qname in CHANNEL_QUEUES:
            stats = self.last_statistics[channel] = d.queue.statistics(qname, WORKER_GROUP)
            if self._counts.get(channel) == stats.dead_lettered:
                continue
            self._counts[channel] = stats.dead_lettered
            for letter in d.queue.dead_letters(qname, WORKER_GROUP):
                seen = (channel, letter.message_id, letter.dead_lettered_at)
                if seen in self._seen or not letter.reason.startswith(EXHAUSTED):
                    continue
                self._seen.add(seen)
                found += 1
                self._log(channel, letter.message_id, letter.body, letter.reason, now)
        self.found += found
        return found

    def _log(self, channel: Channel, message_id: str, body: str, reason: str,
             now: float) -> None:
        d = self._deps
        try:
            job = Job.from_json(body)
        except InvalidArgument:
            d.alerts.raise_alert(Alert(now, channel, "", f"malformed poison message "
                                                         f"{message_id}: {reason}"))
            return
        why = f"poison message: {reason}"
        settled = d.dedupe.get(job.dedupe_key, now)
        duplicate = settled_by_another(settled, job)  # (also while a replay reopened it)
        if settled is None or (settled.done_at is None and duplicate is None):
            d.recorder.record(StatusChange.for_job(job, Status.DEAD_LETTERED, now, why))
            d.dedupe.mark_done(job.dedupe_key, now, by=job.notification_id)
            d.alerts.raise_alert(Alert(now, channel, job.notification_id, why))
            return
        if duplicate is not None:
            d.recorder.record(StatusChange.for_job(job, Status.SUPPRESSED, now, duplicate))
        d.alerts.raise_alert(Alert(now, channel, job.notification_id,
                                   f"{why}; its effect was already settled", "warning"))
