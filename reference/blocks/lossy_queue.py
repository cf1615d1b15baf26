"""A broker that loses or duplicates messages (메시지 유실, 중복): a fault for any queue.

A work queue acknowledges a publish and may still lose the message: a Redis primary that
fails over before its replica received the write, a broker restarted without persistence.
:class:`LossyQueue` wraps any :class:`~reference.storage.ports.WorkQueue` and drops each
published message with probability ``loss_rate`` (drawn from its own seeded ``rng``), yet
answers with a message id as if it had kept it. Everything else goes to the real queue.

Chapter 10's scenario runner (:mod:`reference.notification.scenario`, knob
``queue_loss_rate``) puts it in front of the channel queues; with the notification DB
(:mod:`reference.notification.records`) every lost job is published again, without it the
checker names each one ``lost``.

Examples
--------
>>> from random import Random
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> store = connect("memory", clock=FakeClock(start=0.0))
>>> lossy = LossyQueue(store.queue, rng=Random(3), loss_rate=0.5)
>>> lossy.create_group("notify.sms", "workers")
>>> ids = [lossy.publish("notify.sms", f"job-{i}") for i in range(6)]
>>> len(lossy.lost), lossy.statistics("notify.sms", "workers").published
(3, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random

from reference.core.checks import check_probability
from reference.core.errors import InvalidArgument
from reference.storage.ports import DeadLetter, Delivery, QueueStatistics, WorkQueue

__all__ = ["LossyQueue"]


class LossyQueue:
    """A :class:`WorkQueue` that silently loses each published message with ``loss_rate``,
    and publishes a kept one twice with ``duplicate_rate`` (an at-least-once producer that
    retried a publish whose answer it never saw).

    ``lost`` lists the ``(queue, body)`` of every message it dropped, in order;
    ``duplicated`` counts the second copies.
    """

    def __init__(self, inner: WorkQueue, *, rng: Random, loss_rate: float,
                 duplicate_rate: float = 0.0) -> None:
        if not isinstance(inner, WorkQueue):
            raise InvalidArgument.bad_value("inner", inner, "a WorkQueue")
        if not isinstance(rng, Random):
            raise InvalidArgument.bad_value("rng", rng, "a random.Random (seeded)")
        self.inner = inner
        self.loss_rate = check_probability("loss_rate", loss_rate)
        self.duplicate_rate = check_probability("duplicate_rate", duplicate_rate)
        self.lost: list[tuple[str, str]] = []
        self.duplicated = 0
        self._rng = rng

    def publish(self, queue: str, body: str) -> str:
        if self._rng.random() < self.loss_rate:
            self.lost.append((queue, body))
            return f"lost-{len(self.lost)}"  # acknowledged, never stored
        message_id = self.inner.publish(queue, body)
        if self.duplicate_rate and self._rng.random() < self.duplicate_rate:
            self.inner.publish(queue, body)
            self.duplicated += 1
        return message_id

    def create_group(self, queue: str, group: str, *, visibility_timeout_s: float = 30.0,
                     max_deliveries: int = 5) -> None:
        self.inner.create_group(queue, group, visibility_timeout_s=visibility_timeout_s,
                                max_deliveries=max_deliveries)

    def consume(self, queue: str, group: str, consumer: str, *, count: int = 1
                ) -> list[Delivery]:
        return self.inner.consume(queue, group, consumer, count=count)

    def ack(self, queue: str, group: str, message_id: str) -> bool:
        return self.inner.ack(queue, group, message_id)

    def dead_letter(self, queue: str, group: str, message_id: str, reason: str) -> bool:
        return self.inner.dead_letter(queue, group, message_id, reason)

    def dead_letters(self, queue: str, group: str) -> list[DeadLetter]:
        return self.inner.dead_letters(queue, group)

    def replay_dead_letters(self, queue: str, group: str,
                            message_ids: Sequence[str] | None = None) -> int:
        return self.inner.replay_dead_letters(queue, group, message_ids)

    def statistics(self, queue: str, group: str) -> QueueStatistics:
        return self.inner.statistics(queue, group)

    def __repr__(self) -> str:
        return f"LossyQueue(loss_rate={self.loss_rate!r}, lost={len(self.lost)})"
