"""The in-memory twin of a Redis Stream with consumer groups: an at-least-once work queue.

A queue is an append-only log. Each consumer group keeps a cursor into it (the next message
it has never handed out), a sorted set of in-flight message ids scored by their visibility
deadline on the injected clock, delivery counts, and a dead-letter list.

The log stores each message as the :class:`~reference.storage.ports.Delivery` its first
hand-out returns (``deliveries=1``; it is immutable, so every group can share it); a
redelivery copies it with the higher count.

Names are checked as everywhere (:mod:`reference.storage.checks`), with one shortcut: a
queue or group *found* by its exact ``str`` name passed :func:`check_name` when it was
created, so ``publish`` and every call on a group check a name again only when the lookup
misses. Likewise ``ack`` checks the id's format only for an id the group does
not know (an id it handed out is well-formed). Bad input still fails with the same error,
before anything is written.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> clock = FakeClock(start=1_700_000_000.0)
>>> queue = MemoryWorkQueue(clock)
>>> queue.create_group("notify.ios", "senders", visibility_timeout_s=30, max_deliveries=2)
>>> queue.publish("notify.ios", "job-1")
'1700000000000-0'
>>> [first] = queue.consume("notify.ios", "senders", "worker-a")
>>> first.deliveries, queue.consume("notify.ios", "senders", "worker-b")
(1, [])
>>> clock.advance(30)                              # worker-a never acked: the message is due again
>>> [again] = queue.consume("notify.ios", "senders", "worker-b")
>>> again.deliveries, queue.ack("notify.ios", "senders", again.message_id)
(2, True)
>>> queue.statistics("notify.ios", "senders")
QueueStatistics(published=1, delivered=2, redelivered=1, acked=1, dead_lettered=0, depth=0, \
in_flight=0, lag=0, oldest_age_s=0.0)
"""

from __future__ import annotations

from collections.abc import Sequence

from reference.core.clock import Clock
from reference.core.errors import Conflict, NotFound
from reference.storage.checks import check_int, check_name, check_str
from reference.storage.ports import DeadLetter, Delivery, QueueStatistics
from reference.storage.queue_rules import (
    GroupSettings,
    check_message_id,
    check_message_ids,
    exhausted_reason,
    next_message_order,
)
from reference.storage.sorted_set import SortedSet

__all__ = ["MemoryWorkQueue"]

_NEG_INF = float("-inf")


class _Group:
    __slots__ = (
        "acked",
        "baseline",
        "cursor",
        "dead",
        "dead_lettered",
        "delivered",
        "deliveries",
        "inflight",
        "redelivered",
        "settings",
    )

    def __init__(self, settings: GroupSettings, log_length: int) -> None:
        self.settings = settings
        self.baseline = log_length  # messages published before the group existed
        self.cursor = log_length  # index of the next never-delivered message
        self.inflight = SortedSet()  # message id -> visibility deadline (expired ones too)
        self.deliveries: dict[str, int] = {}  # message id -> times handed out
        self.dead: dict[str, DeadLetter] = {}  # insertion order = dead-letter order
        self.delivered = self.redelivered = self.acked = self.dead_lettered = 0


class _Queue:
    __slots__ = ("groups", "last_id", "log", "position")

    def __init__(self) -> None:
        self.log: list[Delivery] = []  # each message as its first delivery (deliveries=1)
        self.position: dict[str, int] = {}  # message id -> index in the log
        self.groups: dict[str, _Group] = {}
        self.last_id = (0, 0)  # (ms, seq) of the newest message id (see next_message_order)


class MemoryWorkQueue:
    """At-least-once queue with consumer groups, visibility timeouts and dead letters.

    Parameters
    ----------
    clock : Clock
        Every time decision (deadlines, ages) is taken on this clock.

    Notes
    -----
    ``publish`` is O(1); ``consume`` is O(log n) per message handed out plus the expired
    messages it walks; ``ack`` is O(log n) plus a list shift; ``statistics`` is O(log n)
    plus the expired and the unacked messages. Messages stay in the log after every group has
    acked them (as in an untrimmed Stream). The trade-off taught: at-least-once delivery needs
    no coordination between consumers, but every consumer must be idempotent, because a slow
    one's message is handed to another after the visibility timeout.
    """

    __slots__ = ("_clock", "_queues")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._queues: dict[str, _Queue] = {}

    def create_group(
        self,
        queue: str,
        group: str,
        *,
        visibility_timeout_s: float = 30.0,
        max_deliveries: int = 5,
    ) -> None:
        check_name("queue", queue)
        check_name("group", group)
        settings = GroupSettings.checked(visibility_timeout_s, max_deliveries)
        log = self._queues.setdefault(queue, _Queue())
        existing = log.groups.get(group)
        if existing is None:
            log.groups[group] = _Group(settings, len(log.log))
        elif existing.settings != settings:
            raise Conflict(
                f"group {group!r} of queue {queue!r} exists with {existing.settings}, "
                f"not {settings}"
            )

    def publish(self, queue: str, body: str) -> str:
        log = self._queues.get(queue) if type(queue) is str else None
        if log is None:  # a new queue, or a name that is not a plain str: the full check
            check_name("queue", queue)
        if type(body) is not str:
            check_str("body", body)
        if log is None:  # created only once the body passed too: nothing half-applied
            log = self._queues.setdefault(queue, _Queue())
        ms, seq = next_message_order(log.last_id, now_ms=self._clock.now_ms())
        log.last_id = (ms, seq)
        message_id = f"{ms}-{seq}"
        log.position[message_id] = len(log.log)
        log.log.append(Delivery(message_id, body, 1, self._clock.now()))
        return message_id

    def consume(self, queue: str, group: str, consumer: str, *, count: int = 1) -> list[Delivery]:
        log, state = self._group(queue, group)
        check_name("consumer", consumer)
        check_int("count", count, 1)
        now = self._clock.now()
        out: list[Delivery] = []
        for message_id, _ in state.inflight.by_score(_NEG_INF, now):
            if len(out) == count:
                break
            first = log.log[log.position[message_id]]
            deliveries = state.deliveries[message_id]
            if deliveries >= state.settings.max_deliveries:
                reason = exhausted_reason(deliveries, state.settings.max_deliveries)
                self._bury(state, first, now, reason)
            else:
                again = Delivery(first.message_id, first.body, deliveries + 1, first.published_at)
                out.append(self._hand_out(state, again, now))
        fresh = log.log[state.cursor : state.cursor + count - len(out)]  # never handed out
        state.cursor += len(fresh)
        for delivery in fresh:
            out.append(self._hand_out(state, delivery, now))
        return out

    def ack(self, queue: str, group: str, message_id: str) -> bool:
        _, state = self._group(queue, group)
        if type(message_id) is not str or message_id not in state.deliveries:
            check_message_id(message_id)  # an id the group handed out is well-formed
        if not self._in_flight(state, message_id):
            return False
        state.inflight.discard(message_id)
        del state.deliveries[message_id]
        state.acked += 1
        return True

    def dead_letter(self, queue: str, group: str, message_id: str, reason: str) -> bool:
        log, state = self._group(queue, group)
        check_message_id(message_id)
        check_str("reason", reason)
        if not self._in_flight(state, message_id):
            return False
        self._bury(state, log.log[log.position[message_id]], self._clock.now(), reason)
        return True

    def dead_letters(self, queue: str, group: str) -> list[DeadLetter]:
        return list(self._group(queue, group)[1].dead.values())

    def replay_dead_letters(
        self, queue: str, group: str, message_ids: Sequence[str] | None = None
    ) -> int:
        _, state = self._group(queue, group)
        wanted = check_message_ids(message_ids)
        now = self._clock.now()
        chosen = [mid for mid in state.dead if wanted is None or mid in wanted]
        for message_id in chosen:
            del state.dead[message_id]
            state.inflight.add(message_id, now)  # due at once
            state.deliveries[message_id] = 0  # a fresh delivery count
        return len(chosen)

    def statistics(self, queue: str, group: str) -> QueueStatistics:
        log, state = self._group(queue, group)
        now = self._clock.now()
        never_delivered = len(log.log) - state.cursor
        expired = state.inflight.by_score(_NEG_INF, now)
        limit = state.settings.max_deliveries
        due_again = sum(state.deliveries[mid] < limit for mid, _ in expired) if expired else 0
        lag = never_delivered + len(state.inflight)
        oldest_age_s = 0.0
        if state.deliveries:  # the log is in id order, so the oldest has the lowest position
            oldest = min(map(log.position.__getitem__, state.deliveries))
            oldest_age_s = now - log.log[oldest].published_at
        elif never_delivered:
            oldest_age_s = now - log.log[state.cursor].published_at
        return QueueStatistics(
            published=len(log.log) - state.baseline,
            delivered=state.delivered,
            redelivered=state.redelivered,
            acked=state.acked,
            dead_lettered=state.dead_lettered,
            depth=never_delivered + due_again,
            in_flight=len(state.inflight) - len(expired),
            lag=lag,
            oldest_age_s=oldest_age_s,
        )

    def clear(self) -> None:
        """Forget every queue and group."""
        self._queues.clear()

    def _group(self, queue: str, group: str) -> tuple[_Queue, _Group]:
        if type(queue) is str and type(group) is str:  # found: checked by create_group()
            log = self._queues.get(queue)
            state = None if log is None else log.groups.get(group)
            if log is not None and state is not None:
                return log, state
        check_name("queue", queue)
        check_name("group", group)
        log = self._queues.get(queue)
        state = None if log is None else log.groups.get(group)
        if log is None or state is None:
            raise NotFound(
                "consumer group", f"{queue}/{group}", "create it with create_group() first"
            )
        return log, state

    def _in_flight(self, state: _Group, message_id: str) -> bool:
        deadline = state.inflight.score(message_id)
        return deadline is not None and deadline > self._clock.now()

    def _hand_out(self, state: _Group, delivery: Delivery, now: float) -> Delivery:
        state.inflight.add(delivery.message_id, now + state.settings.visibility_timeout_s)
        state.deliveries[delivery.message_id] = delivery.deliveries
        state.delivered += 1
        state.redelivered += delivery.deliveries > 1
        return delivery

    def _bury(self, state: _Group, entry: Delivery, now: float, reason: str) -> None:
        state.inflight.discard(entry.message_id)
        deliveries = state.deliveries.pop(entry.message_id)
        state.dead[entry.message_id] = DeadLetter(
            entry.message_id, entry.body, deliveries, entry.published_at, now, reason
        )
        state.dead_lettered += 1
