"""Compare-and-set under concurrent writers: read, decide, compare-and-set, retry on a loss.

Threads share one store (one connection pool), as worker threads of one process would, on
the memory backend (which takes its keyspace lock for the step) and on a real Redis server.
A short thread switch interval makes a switch between a read and the write that follows it
common, so a compare-and-set that did not compare would lose increments here.

Not on fakeredis: under such switching fakeredis itself loses writes (four threads sending
plain ``INCR`` through one ``FakeRedis`` end short of the count within a few runs at a 1e-4 s
switch interval; none in 100 runs at the default 5 ms), so a failure there would not be ours.
The lab drives fakeredis from one thread.
"""

from __future__ import annotations

import threading

import pytest

from reference.storage import Store

THREADS_N = 4
INCREMENTS_N = 250


def increment_concurrently(store: Store, key: str) -> None:
    """THREADS_N threads each add 1 to ``key`` INCREMENTS_N times, retrying lost races."""
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(INCREMENTS_N):
                while True:
                    seen = store.kv.get(key)
                    if store.kv.compare_and_set(key, seen, str(int(seen or "0") + 1)):
                        break
                    # another thread wrote in between: read again
        except BaseException as err:  # surfaced in the main thread below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(THREADS_N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.usefixtures("frequent_switches")
def test_concurrent_read_decide_compare_and_set_loses_no_increment(store: Store) -> None:
    if store.backend == "fakeredis":
        pytest.skip("fakeredis loses plain writes under fast thread switching (module notes)")
    increment_concurrently(store, "counter:{1}")
    assert store.kv.get("counter:{1}") == str(THREADS_N * INCREMENTS_N)


def test_on_redis_a_compare_and_set_is_one_eval_round_trip(redis_store: Store) -> None:
    with redis_store.record_commands() as recorded:
        assert redis_store.kv.compare_and_set("k:{1}", None, "v") is True
        assert redis_store.kv.compare_and_set("k:{1}", "stale", "w") is False
    assert recorded.counts() == {"EVAL": 2}
