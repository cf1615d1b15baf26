"""The notification DB: every queued job is kept, and a job the broker loses is sent anyway."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from random import Random

import pytest

from reference.blocks.lossy_queue import LossyQueue
from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument, NotFound
from reference.notification.model import (
    WORKER_GROUP,
    Category,
    Channel,
    Job,
    NotificationRequest,
    Status,
    StatusChange,
    queue_name,
)
from reference.notification.records import NotificationRecords
from reference.notification.settings import Preferences, QuietHours
from reference.notification.system import NotificationSystem
from reference.notification.tracking import NotificationLog
from reference.storage import Store, connect

STALL_S = 60.0
SMS = queue_name(Channel.SMS)


def sms_job(n: int, at: float) -> Job:
    return Job(f"n{n}", f"evt-{n}", "u1", Channel.SMS, "+14155550100", "", f"code {n}",
               Category.SECURITY, True, accepted_at=at)


@pytest.fixture
def records(store: Store) -> NotificationRecords:
    store.queue.create_group(SMS, WORKER_GROUP)
    return NotificationRecords(store.kv, store.timeline, NotificationLog(), stall_after_s=STALL_S)


def queue_once(records: NotificationRecords, job: Job, at: float) -> None:
    """What the intake does: log accepted and queued, and keep the job before publishing."""
    for status in (Status.ACCEPTED, Status.QUEUED):
        records.record(StatusChange.for_job(job, status, at))
    records.save(job, job.to_json(), waiting_in="queue", due_at=at)


def bodies(store: Store) -> list[str]:
    return [d.body for d in store.queue.consume(SMS, WORKER_GROUP, "w", count=100)]


def test_a_job_the_broker_lost_is_published_again_after_its_deadline(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    job = sms_job(1, clock.now())
    queue_once(records, job, clock.now())  # ... and the broker loses the publish
    clock.advance(STALL_S - 1)
    assert records.recover(store.queue, now=clock.now()) == ()
    clock.advance(1)
    assert records.recover(store.queue, now=clock.now()) == (job,)
    assert bodies(store) == [job.to_json()]
    row = records.get("n1")
    assert (row.waiting_in, row.deadline, row.settled) == ("queue", clock.now() + STALL_S, "")
    assert records.statistics().recovered == 1


def test_a_job_still_behind_a_backlog_is_not_published_twice(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    jobs = [sms_job(n, clock.now()) for n in range(3)]
    for job in jobs:
        queue_once(records, job, clock.now())
        store.queue.publish(SMS, job.to_json())  # kept: the workers are just slow
    clock.advance(10 * STALL_S)
    assert records.recover(store.queue, now=clock.now()) == ()
    assert len(bodies(store)) == 3


def test_only_jobs_older_than_everything_the_queue_holds_count_as_lost(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    lost = sms_job(1, clock.now())
    queue_once(records, lost, clock.now())  # lost by the broker
    clock.advance(5)
    kept = sms_job(2, clock.now())
    queue_once(records, kept, clock.now())
    store.queue.publish(SMS, kept.to_json())  # kept, and younger than the lost one
    clock.advance(STALL_S + 5)
    assert records.recover(store.queue, now=clock.now()) == (lost,)


def test_settling_closes_the_record_and_keeps_the_outcome(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    job = sms_job(1, clock.now())
    queue_once(records, job, clock.now())
    assert records.open_count() == 1
    records.record(StatusChange.for_job(job, Status.SENT, clock.now() + 1, "via sms-primary"))
    row = records.get("n1")
    assert (row.settled, row.reason, row.deadline, row.job) == ("sent", "via sms-primary",
                                                               None, job)
    assert records.open_count() == 0 and records.next_deadline() is None
    clock.advance(10 * STALL_S)
    assert records.recover(store.queue, now=clock.now()) == ()


def test_failed_and_deferred_do_not_close_a_record(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    job = sms_job(1, clock.now())
    queue_once(records, job, clock.now())
    records.record(StatusChange.for_job(job, Status.FAILED, clock.now(), "5xx"))
    assert records.open_count() == 1


def test_a_retry_lost_on_its_way_back_is_published_after_its_due_time_plus_the_grace(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    job = replace(sms_job(1, clock.now()), attempt=2)
    records.record(StatusChange.for_job(job, Status.ACCEPTED, clock.now()))
    records.save(job, job.to_json(), waiting_in="retry", due_at=clock.now() + 100)
    clock.advance(100 + STALL_S - 1)
    assert records.recover(store.queue, now=clock.now()) == ()
    clock.advance(1)
    assert records.recover(store.queue, now=clock.now()) == (job,)
    assert Job.from_json(bodies(store)[0]).attempt == 2  # the retry itself, not the original


def test_a_late_save_after_settling_is_closed_by_the_sweep_not_resent(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    job = sms_job(1, clock.now())
    queue_once(records, job, clock.now())
    records.record(StatusChange.for_job(job, Status.SENT, clock.now(), "via sms-primary"))
    records.save(job, job.to_json(), waiting_in="retry", due_at=clock.now())  # a late copy
    clock.advance(STALL_S)
    assert records.recover(store.queue, now=clock.now()) == ()
    assert records.open_count() == 0 and bodies(store) == []


def test_bad_input_is_refused_before_anything_is_written(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    job = sms_job(1, clock.now())
    with pytest.raises(InvalidArgument, match="waiting_in"):
        records.save(job, job.to_json(), waiting_in="inbox", due_at=clock.now())
    with pytest.raises(InvalidArgument, match="due_at"):
        records.save(job, job.to_json(), waiting_in="queue", due_at=float("nan"))
    assert records.open_count() == 0
    with pytest.raises(NotFound):
        records.get("n1")
    with pytest.raises(InvalidArgument, match="stall_after_s"):
        NotificationRecords(store.kv, store.timeline, NotificationLog(), stall_after_s=0)
    with pytest.raises(InvalidArgument, match="log"):
        NotificationRecords(store.kv, store.timeline, object())  # type: ignore[arg-type]


# ── the whole system ─────────────────────────────────────────────────────────────────────

def lossy_system(store: Store, loss_rate: float, **options: object) -> NotificationSystem:
    lossy = LossyQueue(store.queue, rng=Random(1), loss_rate=loss_rate)
    system = NotificationSystem.create(replace(store, queue=lossy), seed=2, failures="none",
                                       **options)  # type: ignore[arg-type]
    system.register_user("u1", phone="+14155550100", email="u1@example.com")
    system.publish_template("otp", title="Code", body="Your code is ${code}")
    return system


def send_codes(system: NotificationSystem, n: int) -> list[str]:
    ids, client = [], system.client()
    for i in range(n):
        receipt = client.send(NotificationRequest(
            f"evt-{i}", "u1", "otp", {"code": str(i)}, channels=(Channel.SMS,),
            category=Category.SECURITY, critical=True))
        ids.extend(e.notification_id for e in receipt.entries)
    return ids


def test_with_the_db_every_notification_reaches_the_provider_though_the_broker_loses_half(
        store: Store) -> None:
    system = lossy_system(store, 0.5)
    ids = send_codes(system, 20)
    system.run_until_idle()
    assert {system.log.status(nid) for nid in ids} <= {Status.SENT, Status.DELIVERED}
    sent = [e.notification_id for p in system.providers[Channel.SMS] for e in p.sent]
    assert sorted(sent) == sorted(ids)  # each exactly once
    stats = system.statistics().records
    assert stats is not None and stats.recovered > 0 and stats.open == 0


def test_without_the_db_the_lost_ones_stay_queued_forever(store: Store) -> None:
    system = lossy_system(store, 0.5, stall_after_s=None)
    ids = send_codes(system, 20)
    system.run_until_idle()
    stuck = [nid for nid in ids if system.log.status(nid) is Status.QUEUED]
    assert stuck and system.pending().idle  # idle: nothing anywhere says they exist
    assert system.records is None and system.statistics().records is None


def test_a_deferred_job_lost_between_the_quiet_queue_and_its_channel_is_recovered(
        store: Store, clock: FakeClock) -> None:
    system = lossy_system(store, 0.0)
    # 22:13 UTC at the start: quiet until 07:00
    system.settings.save("u1", Preferences(quiet_hours=QuietHours(time(21), time(7))))
    receipt = system.client().send(NotificationRequest(
        "evt-q", "u1", "otp", {"code": "1"}, channels=(Channel.EMAIL,)))
    entry = receipt.entries[0]
    assert entry.status is Status.DEFERRED and entry.due_at is not None
    clock.advance(entry.due_at - clock.now())
    assert system.deferred.pop_due(now=clock.now())  # a pump that dies before publishing
    system.run_until_idle()
    assert system.log.status(entry.notification_id) in (Status.SENT, Status.DELIVERED)
    queued = [c for c in system.log.history(entry.notification_id) if c.status is Status.QUEUED]
    assert queued[0].reason.startswith("recovered") and queued[0].at == entry.due_at + 120.0


def test_an_idle_system_has_no_open_record(store: Store) -> None:
    system = lossy_system(store, 0.0)
    send_codes(system, 5)
    assert system.pending().open == 5 and not system.pending().idle
    system.run_until_idle()
    assert system.pending().open == 0 and system.pending().idle


def test_a_late_copy_of_a_settled_notification_closes_its_record_when_it_is_dropped(
        store: Store) -> None:
    """On a real deployment another worker may save a copy after the notification settled
    (a retry it scheduled while the other copy went through). The pump that drops that
    retry, and the worker that acks such a copy, close the record at once."""
    system = lossy_system(store, 0.0)
    [nid] = send_codes(system, 1)
    system.run_until_idle()
    records = system.records
    assert records is not None and records.get(nid).settled == "sent"
    job = records.get(nid).job
    assert job is not None
    body = job.to_json()
    records.save(job, body, waiting_in="retry", due_at=system.clock.now())
    system.retry_queue.schedule(body, due_at=system.clock.now())
    system.step()  # the pump drops it: its key is done by this very notification
    assert records.open_count() == 0
    records.save(job, body, waiting_in="queue", due_at=system.clock.now())
    system.delivery.publish(job)
    system.step()  # the worker acks the copy without a log line
    assert records.open_count() == 0
    assert records.statistics().recovered == 0


def test_saving_a_settled_job_again_opens_its_record_again(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    """A replayed dead letter: its row must read open, or a loss of the replay is final."""
    job = sms_job(1, clock.now())
    queue_once(records, job, clock.now())
    records.record(StatusChange.for_job(job, Status.DEAD_LETTERED, clock.now(), "out of tries"))
    assert records.get("n1").settled == "dead_lettered"
    records.save(job, job.to_json(), waiting_in="queue", due_at=clock.now(), reopen=True)
    assert (records.get("n1").settled, records.get("n1").reason) == ("", "")
    clock.advance(STALL_S)
    assert records.recover(store.queue, now=clock.now()) == (job,)  # ... which the broker lost


def test_a_deferred_job_recovered_after_its_user_opted_out_is_suppressed_not_sent(
        store: Store, clock: FakeClock) -> None:
    system = lossy_system(store, 0.0)
    prefs = Preferences(quiet_hours=QuietHours(time(21), time(7)))
    system.settings.save("u1", prefs)
    [entry] = system.client().send(NotificationRequest(
        "evt-q", "u1", "otp", {"code": "1"}, channels=(Channel.EMAIL,))).entries
    assert entry.status is Status.DEFERRED and entry.due_at is not None
    clock.advance(3600)
    system.settings.save("u1", prefs.with_channel(Channel.EMAIL, False))  # while it waits
    clock.advance(entry.due_at - clock.now())
    assert system.deferred.pop_due(now=clock.now())  # the releasing process dies here
    system.run_until_idle()
    last = system.log.history(entry.notification_id)[-1]
    assert (last.status, last.reason) == (Status.SUPPRESSED,
                                          "opted_out:channel=email (while deferred)")
    assert all(not p.sent for p in system.providers[Channel.EMAIL])


def test_on_redis_the_db_costs_four_commands_per_delivered_notification() -> None:
    """What notebook 10 and the benchmark say: HSET and ZADD when queued, ZREM and HSET
    when it settles, and the sweep's reads, nothing else."""
    counts = []
    for stall_after_s in (None, 120.0):
        clock = FakeClock(start=1_767_225_600.0)
        store = connect("fakeredis", clock=clock)
        system = NotificationSystem.create(store, seed=2, failures="none",
                                           stall_after_s=stall_after_s)
        system.register_user("u1", phone="+14155550100")
        system.publish_template("otp", title="Code", body="Your code is ${code}")
        client = system.client()
        with store.record_commands() as recorded:
            client.send(NotificationRequest("evt-1", "u1", "otp", {"code": "1"},
                                            channels=(Channel.SMS,), critical=True,
                                            category=Category.SECURITY))
            system.run_until_idle()
        counts.append(recorded.counts())
    without, with_db = counts
    extra = {name: with_db.get(name, 0) - without.get(name, 0)
             for name in with_db.keys() | without.keys()}
    sweep_reads = {name: n for name, n in extra.items() if name in ("ZRANGEBYSCORE", "ZRANGE")}
    assert {name: n for name, n in extra.items() if n and name not in sweep_reads} == {
        "HSET": 2, "ZADD": 1, "ZREM": 1}


# ── the sweep: a slow queue is never mistaken for a lost message, and costs O(due rows) ─


class CountingKeyValue:
    """The KeyValue port, counting the record reads (HGETALL) a sweep makes."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.reads = 0

    def hgetall(self, key: str) -> dict[str, str]:
        self.reads += 1
        return self._inner.hgetall(key)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_a_job_published_a_moment_after_its_save_is_not_taken_for_lost_at_the_queue_head(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    """The record is saved just before the publish; the API's next ids (or a real clock)
    let a little time pass in between, so the job at the head of the queue was published
    after its save. It is still in the queue: nothing may be published again."""
    for n in range(3):
        job = sms_job(n, clock.now())
        queue_once(records, job, clock.now())
        clock.advance(0.4)
        store.queue.publish(SMS, job.to_json())
    clock.advance(STALL_S * 3)
    assert records.recover(store.queue, now=clock.now()) == ()
    assert len(bodies(store)) == 3 and records.open_count() == 3


def test_a_backlog_waiting_past_its_deadlines_is_neither_republished_nor_read_again(
        store: Store, clock: FakeClock) -> None:
    counting = CountingKeyValue(store.kv)
    store.queue.create_group(SMS, WORKER_GROUP)
    records = NotificationRecords(counting, store.timeline, NotificationLog(),  # type: ignore[arg-type]
                                  stall_after_s=STALL_S)
    jobs = [sms_job(n, clock.now()) for n in range(400)]
    for job in jobs:
        queue_once(records, job, clock.now())
        store.queue.publish(SMS, job.to_json())
    lost = sms_job(999, clock.now())
    queue_once(records, lost, clock.now())  # saved, then the broker loses it
    for _ in range(int(STALL_S * 4)):  # a slow worker: 2 jobs a second, swept every second
        clock.advance(1.0)
        for delivery in store.queue.consume(SMS, WORKER_GROUP, "w", count=2):
            job = Job.from_json(delivery.body)
            records.record(StatusChange.for_job(job, Status.SENT, clock.now()))
            store.queue.ack(SMS, WORKER_GROUP, delivery.message_id)
        recovered = records.recover(store.queue, now=clock.now())
        assert lost.notification_id not in {j.notification_id for j in recovered} or (
            store.queue.statistics(SMS, WORKER_GROUP).lag <= 1)  # found once the queue drained
    assert records.statistics().recovered == 1  # the lost job, found once, nothing else
    assert counting.reads == 1  # the backlog's rows were never read: only the lost one


def test_a_job_that_moved_is_indexed_under_its_new_place_only(
        store: Store, clock: FakeClock, records: NotificationRecords) -> None:
    job = sms_job(1, clock.now())
    queue_once(records, job, clock.now())
    store.queue.publish(SMS, job.to_json())
    records.save(job, job.to_json(), waiting_in="retry", due_at=clock.now() + 30,
                 moved_from="queue")
    assert records.open_count() == 1
    records.record(StatusChange.for_job(job, Status.SENT, clock.now() + 31))
    assert records.open_count() == 0 and records.next_deadline() is None


def test_a_burst_behind_a_small_pool_is_sent_once_each_and_never_recovered(
        clock: FakeClock) -> None:
    """Thousands of SMS for one worker: the last waits minutes behind the backlog, far past
    its deadline, and more than 4,096 ids in one millisecond push the fake clock on between
    a save and its publish. A slow queue is not a lost message: nothing is published again."""
    start = clock.now()
    system = NotificationSystem.create(connect("memory", clock=clock), seed=2, failures="none",
                                       rate_limit=None, stall_after_s=STALL_S)
    system.publish_template("otp", title="Code", body="code ${code}")
    client = system.client()
    for n in range(5_000):
        system.register_user(f"u{n}", phone=f"+1415{n:07d}")
    receipts = [receipt for first in range(0, 5_000, 500) for receipt in client.send_batch([
        NotificationRequest(f"evt-{n}", f"u{n}", "otp", {"code": n}, channels=(Channel.SMS,))
        for n in range(first, first + 500)])]
    assert all(r.entries[0].status is Status.QUEUED for r in receipts)
    system.run_until_idle()
    stats = system.statistics()
    assert stats.records is not None and stats.records.recovered == 0
    assert stats.workers.sent == 5_000 and stats.workers.duplicates_suppressed == 0
    assert clock.now() - start > 3 * STALL_S  # the backlog really outlived the deadlines


def test_a_released_quiet_hours_job_leaves_the_deferred_index(clock: FakeClock) -> None:
    """Released at the end of the quiet window, a job waits on its channel queue: its row
    is indexed there only, so the DB counts it open once and finds no stale entry."""
    start = clock.now()
    quiet = QuietHours(time(0, 0), time(23, 59))
    system = NotificationSystem.create(connect("memory", clock=clock), seed=2, failures="none",
                                       stall_after_s=STALL_S)
    system.publish_template("hi", title="Hi", body="hello")
    system.register_user("ada", phone="+14155550100",
                         preferences=Preferences(time_zone="UTC", quiet_hours=quiet))
    [entry] = system.client().send(NotificationRequest(
        "evt-1", "ada", "hi", {}, channels=(Channel.SMS,))).entries
    assert entry.status is Status.DEFERRED and entry.due_at is not None
    system.run_until(entry.due_at + 5.0)  # released and sent, well before any deadline
    assert system.log.status(entry.notification_id) in (Status.SENT, Status.DELIVERED)
    assert system.records is not None and system.records.open_count() == 0
    assert clock.now() - start < 24 * 3600
