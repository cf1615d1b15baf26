"""The Redis work queue under concurrent consumers: WATCH/MULTI keeps each claim single.

Threads share one store (one connection pool), as worker threads of one process would.
The memory backend serves one thread (simulations and trio run single-threaded), so these
tests cover the Redis backends only (``redis_store``, in ``conftest.py``).
"""

from __future__ import annotations

import threading

from reference.core.clock import FakeClock
from reference.storage import Delivery, Store

Q, G = "jobs", "workers"
MESSAGES_N = 40
THREADS_N = 4


def consume_concurrently(store: Store) -> list[Delivery]:
    """Run THREADS_N consumers until the queue hands out nothing more; return all deliveries."""
    received: list[Delivery] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            while batch := store.queue.consume(Q, G, name, count=3):
                with lock:
                    received.extend(batch)
        except BaseException as err:  # surfaced in the main thread below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(THREADS_N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return received


def test_concurrent_consumers_never_share_a_new_message(redis_store: Store) -> None:
    redis_store.queue.create_group(Q, G, visibility_timeout_s=30)
    ids = {redis_store.queue.publish(Q, f"m{i}") for i in range(MESSAGES_N)}
    received = consume_concurrently(redis_store)
    assert sorted(d.message_id for d in received) == sorted(ids)
    assert redis_store.queue.statistics(Q, G).in_flight == MESSAGES_N


def test_concurrent_consumers_claim_each_expired_message_once(
    redis_store: Store, clock: FakeClock
) -> None:
    redis_store.queue.create_group(Q, G, visibility_timeout_s=30)
    ids = {redis_store.queue.publish(Q, f"m{i}") for i in range(MESSAGES_N)}
    redis_store.queue.consume(Q, G, "first", count=MESSAGES_N)
    clock.advance(30)
    received = consume_concurrently(redis_store)
    assert sorted(d.message_id for d in received) == sorted(ids)
    assert {d.deliveries for d in received} == {2}
    stats = redis_store.queue.statistics(Q, G)
    assert (stats.delivered, stats.redelivered, stats.in_flight) == (80, 40, 40)


def test_concurrent_acks_settle_each_message_once(redis_store: Store) -> None:
    redis_store.queue.create_group(Q, G)
    for i in range(MESSAGES_N):
        redis_store.queue.publish(Q, f"m{i}")
    deliveries = redis_store.queue.consume(Q, G, "w", count=MESSAGES_N)
    results: list[bool] = []
    lock = threading.Lock()

    def acker() -> None:
        for delivery in deliveries:  # every thread acks every message: one ack wins each
            outcome = redis_store.queue.ack(Q, G, delivery.message_id)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=acker) for _ in range(THREADS_N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == MESSAGES_N
    assert redis_store.queue.statistics(Q, G).acked == MESSAGES_N
