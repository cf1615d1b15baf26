"""A sliding-window add under concurrent writers: never more members than the limit.

Threads share one store, as two API servers share one Redis, and all add to one window at
the same instant; ``add_within_limit`` must let exactly ``limit`` of them in. Memory and a
real Redis server only: fakeredis itself loses writes under fast thread switching (see
``test_keyvalue_concurrency``).
"""

from __future__ import annotations

import threading

import pytest

from reference.storage import Store

THREADS_N = 4
TRIES_N = 100
LIMIT = 150


@pytest.mark.usefixtures("frequent_switches")
def test_concurrent_window_adds_admit_exactly_the_limit(store: Store) -> None:
    if store.backend == "fakeredis":
        pytest.skip("fakeredis loses plain writes under fast thread switching")
    admitted: list[bool] = []
    errors: list[BaseException] = []

    def server() -> None:
        try:
            for _ in range(TRIES_N):
                step = store.timeline.add_within_limit("window:{u1}", 5.0, window=5.0,
                                                       limit=LIMIT)
                admitted.append(step.added)
        except BaseException as err:  # surfaced in the main thread below
            errors.append(err)

    threads = [threading.Thread(target=server) for _ in range(THREADS_N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(admitted) == LIMIT
    assert store.timeline.size("window:{u1}") == LIMIT
