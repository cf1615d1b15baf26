"""Queue monitoring: samples for plotting, and advice that really drains a burst in time."""

from __future__ import annotations

import pytest

from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument
from reference.notification.delivery import DeliveryService
from reference.notification.model import WORKER_GROUP, Category, Channel, Job, queue_name
from reference.notification.monitoring import Advice, QueueMonitor
from reference.notification.tracking import NotificationLog
from reference.storage import Store, connect

EMAIL = Channel.EMAIL


def job(i: int) -> Job:
    return Job(f"n{i}", f"evt-{i}", "u1", EMAIL, f"user{i}@example.com", "Hi", "Body",
               Category.SOCIAL, False, accepted_at=0.0, template="digest")


def setup(batch_size: int = 10) -> tuple[FakeClock, Store, DeliveryService]:
    clock = FakeClock(start=1_700_000_000.0)
    store = connect("memory", clock=clock)
    service = DeliveryService.from_store(store, clock=clock, recorder=NotificationLog(), seed=4,
                                         failures="none", batch_size=batch_size)
    return clock, store, service


def test_a_burst_triggers_advice_and_following_it_drains_within_the_target() -> None:
    clock, store, service = setup()
    monitor = QueueMonitor(store.queue, clock, channels=(EMAIL,), max_age_s=60.0,
                           target_drain_s=60.0)
    n = 0
    for _ in range(3000):  # the burst
        n += 1
        service.submit(job(n))
    for second in range(1, 61):  # one worker (10/s) against 5 new jobs/s
        for _ in range(5):
            n += 1
            service.submit(job(n))
        clock.advance(1.0)
        service.step()
        if second % 10 == 0:
            monitor.sample()
    assert monitor.advise({EMAIL: 1}) == []  # nothing is 60 s old yet...
    for _ in range(5):
        n += 1
        service.submit(job(n))
    clock.advance(1.0)
    service.step()
    monitor.sample()
    [advice] = monitor.advise({EMAIL: len(service.pools[EMAIL])})  # ...now it is
    assert advice.channel is EMAIL
    assert "oldest message 61 s old" in advice.reason
    assert advice.add_workers == 4  # lag ~2700 / 60 s + 5/s arriving = 50/s at 10/s per worker
    service.scale(EMAIL, 1 + advice.add_workers)
    for _ in range(60):
        for _ in range(5):
            n += 1
            service.submit(job(n))
        clock.advance(1.0)
        service.step()
    stats = store.queue.statistics(queue_name(EMAIL), WORKER_GROUP)
    assert stats.lag <= 10  # drained within the 60 s target (only the last second's arrivals)
    monitor.sample()
    assert monitor.advise({EMAIL: len(service.pools[EMAIL])}) == []


def test_a_healthy_queue_gets_no_advice() -> None:
    clock, store, service = setup()
    monitor = QueueMonitor(store.queue, clock, channels=(EMAIL,))
    for i in range(100):
        service.submit(job(i))
        clock.advance(1.0)
        service.step()
        monitor.sample()
    assert monitor.advise({EMAIL: 1}) == []
    assert max(s.depth for s in monitor.samples(EMAIL)) <= 1


def test_depth_growing_for_n_samples_alone_triggers_advice() -> None:
    clock, store, _ = setup()
    monitor = QueueMonitor(store.queue, clock, channels=(EMAIL,), max_age_s=10_000.0,
                           growth_samples=3)
    for i in range(4):
        store.queue.publish(queue_name(EMAIL), job(i).to_json())
        monitor.sample()
        clock.advance(1.0)
        if i < 3:
            assert monitor.advise({EMAIL: 0}) == []
    [advice] = monitor.advise({EMAIL: 0})
    assert "depth grew 3 samples in a row" in advice.reason
    assert advice.add_workers == 1 and "no throughput observed" in advice.reason


def test_depth_that_stops_growing_does_not_trigger_the_growth_rule() -> None:
    clock, store, _ = setup()
    monitor = QueueMonitor(store.queue, clock, channels=(EMAIL,), max_age_s=10_000.0)
    for count in (1, 1, 0, 1):
        for _ in range(count):
            store.queue.publish(queue_name(EMAIL), "x")
        monitor.sample()
        clock.advance(1.0)
    assert [s.depth for s in monitor.samples(EMAIL)] == [1, 2, 2, 3]
    assert monitor.advise({EMAIL: 1}) == []


def test_samples_cover_every_channel_in_time_order() -> None:
    clock, store, service = setup()
    monitor = QueueMonitor(store.queue, clock)
    service.submit(job(1))
    first = monitor.sample()
    clock.advance(2.0)
    monitor.sample()
    assert [s.channel for s in first] == list(Channel)
    assert [s.depth for s in first] == [0, 0, 0, 1]
    every = monitor.samples()
    assert len(every) == 8 and [s.at for s in every] == sorted(s.at for s in every)
    assert monitor.samples(EMAIL)[1].oldest_age_s == 2.0
    assert monitor.statistics().samples == 8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"channels": ()}, "channels="), ({"max_age_s": 0}, "max_age_s="),
     ({"growth_samples": 0}, "growth_samples="), ({"target_drain_s": float("nan")},
                                                  "target_drain_s=")],
)
def test_bad_settings_are_invalid(kwargs: dict[str, object], match: str) -> None:
    clock, store, _ = setup()
    with pytest.raises(InvalidArgument, match=match):
        QueueMonitor(store.queue, clock, **kwargs)  # type: ignore[arg-type]


def test_a_negative_worker_count_is_invalid() -> None:
    clock, store, _ = setup()
    monitor = QueueMonitor(store.queue, clock, channels=(EMAIL,))
    monitor.sample()
    with pytest.raises(InvalidArgument, match="workers"):
        monitor.advise({EMAIL: -1})


def test_an_old_backlog_that_is_draining_fast_enough_gets_a_warning_not_more_workers() -> None:
    clock, store, _ = setup()
    sms = queue_name(EMAIL)
    monitor = QueueMonitor(store.queue, clock, channels=(EMAIL,), max_age_s=30.0,
                           target_drain_s=60.0)
    for i in range(200):
        store.queue.publish(sms, job(i).to_json())
    for _ in range(4):  # 2 workers ack 20 per 10 s: 120 left, well within 60 s at 2/s
        monitor.sample()
        clock.advance(10.0)
        for delivery in store.queue.consume(sms, WORKER_GROUP, "w", count=20):
            store.queue.ack(sms, WORKER_GROUP, delivery.message_id)
    monitor.sample()
    [advice] = monitor.advise({EMAIL: 2})
    assert "oldest message 40 s old" in advice.reason
    assert advice.add_workers == 0
    assert "the current 2 workers drain it within 60 s, no more needed" in advice.reason


def advice_at_an_exact_boundary(workers: int, acks: int, backlog: int) -> Advice:
    """``backlog`` old jobs, then over 10 s: 2 arrive and ``acks`` finish (target 60 s).

    The arithmetic is exact in decimals but not in binary floats: lag 6 / 60 s = 0.1/s, plus
    0.2/s arriving, is 0.30000000000000004 as floats.
    """
    clock, store, _ = setup()
    name = queue_name(EMAIL)
    monitor = QueueMonitor(store.queue, clock, channels=(EMAIL,), max_age_s=5.0,
                           target_drain_s=60.0)
    for i in range(backlog):
        store.queue.publish(name, job(i).to_json())
    monitor.sample()
    clock.advance(10.0)
    for i in range(2):
        store.queue.publish(name, job(backlog + i).to_json())
    for delivery in store.queue.consume(name, WORKER_GROUP, "w", count=acks):
        store.queue.ack(name, WORKER_GROUP, delivery.message_id)
    monitor.sample()
    assert monitor.samples(EMAIL)[-1].lag == 6
    [advice] = monitor.advise({EMAIL: workers})
    return advice


def test_the_advice_is_exact_when_the_need_is_a_whole_number_of_workers() -> None:
    # (6 / 60 + 0.2) / 0.1 per worker = exactly 3 workers: add 2, not 3
    advice = advice_at_an_exact_boundary(workers=1, acks=1, backlog=5)
    assert advice.add_workers == 2
    assert advice.reason.endswith("0.10/s per worker, 0.20/s arriving: 3 workers drain it in 60 s")


def test_a_pool_that_is_exactly_big_enough_gets_a_warning_not_more_workers() -> None:
    # 3 workers at 0.1/s each against exactly 0.3/s needed
    advice = advice_at_an_exact_boundary(workers=3, acks=3, backlog=7)
    assert advice.add_workers == 0
    assert "the current 3 workers drain it within 60 s, no more needed" in advice.reason
