"""The work queue against a trivially correct model, driven by a Hypothesis state machine.

The model keeps one record per (group, message) and answers every question by scanning
everything: slow and obviously right. The machine runs on the memory backend (the one the
big simulations use) and, with fewer examples, on fakeredis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from reference.core.clock import FakeClock
from reference.core.errors import Conflict
from reference.storage import DeadLetter, Delivery, QueueStatistics, Store, connect
from reference.storage.queue_rules import exhausted_reason

Q = "jobs"
GROUPS = ("a", "b")
START_S = 1_700_000_000.0


@dataclass
class Record:
    """One message as one group sees it."""

    status: str = "new"  # new | out (handed out, maybe expired) | acked | dead
    deadline: float = 0.0
    deliveries: int = 0
    dead: DeadLetter | None = None


@dataclass
class ModelGroup:
    visibility_timeout_s: float
    max_deliveries: int
    records: dict[str, Record] = field(default_factory=dict)
    dead_order: list[str] = field(default_factory=list)
    delivered: int = 0
    redelivered: int = 0
    acked: int = 0
    dead_lettered: int = 0


class Model:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.messages: list[tuple[str, str, float]] = []  # id, body, published_at
        self.groups: dict[str, ModelGroup] = {}

    def message(self, message_id: str) -> tuple[str, str, float]:
        return next(m for m in self.messages if m[0] == message_id)

    def publish(self, message_id: str, body: str) -> None:
        self.messages.append((message_id, body, self.clock.now()))
        for group in self.groups.values():
            group.records[message_id] = Record()

    def consume(self, name: str, count: int) -> list[Delivery]:
        group, now = self.groups[name], self.clock.now()
        out: list[Delivery] = []
        expired = sorted(
            (r.deadline, mid)
            for mid, r in group.records.items()
            if r.status == "out" and r.deadline <= now
        )
        for _, mid in expired:
            if len(out) == count:
                break
            record = group.records[mid]
            if record.deliveries >= group.max_deliveries:
                reason = exhausted_reason(record.deliveries, group.max_deliveries)
                self.bury(group, mid, reason)
            else:
                out.append(self.hand_out(group, mid))
        for mid, _, _ in self.messages:
            if len(out) < count and mid in group.records and group.records[mid].status == "new":
                out.append(self.hand_out(group, mid))
        return out

    def hand_out(self, group: ModelGroup, mid: str) -> Delivery:
        record = group.records[mid]
        record.status, record.deliveries = "out", record.deliveries + 1
        record.deadline = self.clock.now() + group.visibility_timeout_s
        group.delivered += 1
        group.redelivered += record.deliveries > 1
        _, body, published_at = self.message(mid)
        return Delivery(mid, body, record.deliveries, published_at)

    def in_flight(self, group: ModelGroup, mid: str) -> bool:
        record = group.records.get(mid)
        return record is not None and record.status == "out" and record.deadline > self.clock.now()

    def ack(self, name: str, mid: str) -> bool:
        group = self.groups[name]
        if not self.in_flight(group, mid):
            return False
        group.records[mid].status = "acked"
        group.acked += 1
        return True

    def dead_letter(self, name: str, mid: str, reason: str) -> bool:
        group = self.groups[name]
        if not self.in_flight(group, mid):
            return False
        self.bury(group, mid, reason)
        return True

    def bury(self, group: ModelGroup, mid: str, reason: str) -> None:
        record = group.records[mid]
        _, body, published_at = self.message(mid)
        record.status = "dead"
        record.dead = DeadLetter(
            mid, body, record.deliveries, published_at, self.clock.now(), reason
        )
        group.dead_order.append(mid)
        group.dead_lettered += 1

    def replay(self, name: str, wanted: set[str] | None) -> int:
        group = self.groups[name]
        chosen = [mid for mid in group.dead_order if wanted is None or mid in wanted]
        for mid in chosen:
            group.dead_order.remove(mid)
            group.records[mid] = Record("out", self.clock.now(), 0)
        return len(chosen)

    def statistics(self, name: str) -> QueueStatistics:
        group, now = self.groups[name], self.clock.now()
        records = group.records
        live = [mid for mid, r in records.items() if r.status in ("new", "out")]
        due = [
            mid
            for mid in live
            if records[mid].status == "new"
            or (records[mid].deadline <= now and records[mid].deliveries < group.max_deliveries)
        ]
        out_now = [m for m in live if records[m].status == "out" and records[m].deadline > now]
        oldest = min((self.messages.index(self.message(mid)) for mid in live), default=None)
        age = 0.0 if oldest is None else now - self.messages[oldest][2]
        return QueueStatistics(
            published=len(records),
            delivered=group.delivered,
            redelivered=group.redelivered,
            acked=group.acked,
            dead_lettered=group.dead_lettered,
            depth=len(due),
            in_flight=len(out_now),
            lag=len(live),
            oldest_age_s=age,
        )


class WorkQueueMachine(RuleBasedStateMachine):
    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(start=START_S)
        self.store: Store = connect(self.backend, clock=self.clock)
        self.model = Model(self.clock)
        self.handed: list[str] = []  # ids handed out at least once, for ack/dead_letter picks

    def teardown(self) -> None:
        self.store.close()

    @rule(
        name=st.sampled_from(GROUPS),
        visibility_timeout_s=st.sampled_from([5.0, 10.0]),
        max_deliveries=st.integers(1, 3),
    )
    def create_group(self, name: str, visibility_timeout_s: float, max_deliveries: int) -> None:
        existing = self.model.groups.get(name)
        try:
            self.store.queue.create_group(
                Q, name, visibility_timeout_s=visibility_timeout_s, max_deliveries=max_deliveries
            )
        except Conflict:
            assert existing is not None
            assert (existing.visibility_timeout_s, existing.max_deliveries) != (
                visibility_timeout_s,
                max_deliveries,
            )
            return
        if existing is None:
            self.model.groups[name] = ModelGroup(visibility_timeout_s, max_deliveries)
        else:
            assert (existing.visibility_timeout_s, existing.max_deliveries) == (
                visibility_timeout_s,
                max_deliveries,
            )

    @rule(body=st.text(alphabet="xyz", max_size=3))
    def publish(self, body: str) -> None:
        message_id = self.store.queue.publish(Q, body)
        assert message_id not in [m[0] for m in self.model.messages]
        self.model.publish(message_id, body)

    @precondition(lambda self: self.model.groups)
    @rule(data=st.data(), count=st.integers(1, 3))
    def consume(self, data: st.DataObject, count: int) -> None:
        name = data.draw(st.sampled_from(sorted(self.model.groups)))
        got = self.store.queue.consume(Q, name, "worker", count=count)
        assert got == self.model.consume(name, count)
        self.handed += [d.message_id for d in got]

    @precondition(lambda self: self.model.groups and self.handed)
    @rule(data=st.data())
    def ack(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.model.groups)))
        message_id = data.draw(st.sampled_from(self.handed))
        assert self.store.queue.ack(Q, name, message_id) == self.model.ack(name, message_id)

    @precondition(lambda self: self.model.groups and self.handed)
    @rule(data=st.data())
    def dead_letter(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.model.groups)))
        message_id = data.draw(st.sampled_from(self.handed))
        expected = self.model.dead_letter(name, message_id, "gave up")
        assert self.store.queue.dead_letter(Q, name, message_id, "gave up") == expected

    @precondition(lambda self: self.model.groups)
    @rule(data=st.data(), everything=st.booleans())
    def replay(self, data: st.DataObject, everything: bool) -> None:
        name = data.draw(st.sampled_from(sorted(self.model.groups)))
        wanted = None
        if not everything and self.handed:
            wanted = set(data.draw(st.lists(st.sampled_from(self.handed), max_size=2)))
        ids = None if wanted is None else sorted(wanted)
        assert self.store.queue.replay_dead_letters(Q, name, ids) == self.model.replay(name, wanted)

    @rule(seconds=st.sampled_from([0.0, 1.0, 4.999, 5.0, 10.0, 30.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def statistics_and_dead_letters_match_the_model(self) -> None:
        for name, group in self.model.groups.items():
            assert self.store.queue.statistics(Q, name) == self.model.statistics(name)
            expected = [group.records[mid].dead for mid in group.dead_order]
            assert self.store.queue.dead_letters(Q, name) == expected


class FakeRedisWorkQueueMachine(WorkQueueMachine):
    backend = "fakeredis"


TestMemoryWorkQueueAgainstModel = WorkQueueMachine.TestCase
TestMemoryWorkQueueAgainstModel.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None
)
TestFakeRedisWorkQueueAgainstModel = FakeRedisWorkQueueMachine.TestCase
TestFakeRedisWorkQueueAgainstModel.settings = settings(
    max_examples=15, stateful_step_count=30, deadline=None
)
