"""Fanout writers racing on shared timelines: nothing lost, nothing doubled, caps kept.

Threads share one store, as fanout workers share one Redis, and all write the same keys at
once. Memory and a real Redis server only: fakeredis itself loses writes under fast thread
switching (see ``test_keyvalue_concurrency``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from reference.storage import Store

THREADS_N = 4
IDS_PER_THREAD = 300
FEEDS = [f"feed:{{{user}}}" for user in range(5)]
BIG = 2**61


def run_threads(work: Callable[[int], None]) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS_N)

    def worker(n: int) -> None:
        try:
            start.wait()  # all at once, so their writes interleave
            work(n)
        except BaseException as err:  # surfaced in the main thread below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS_N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.usefixtures("frequent_switches")
def test_concurrent_fanouts_of_the_same_ids_keep_each_id_once(store: Store) -> None:
    if store.backend == "fakeredis":
        pytest.skip("fakeredis loses plain writes under fast thread switching")
    new: list[int] = []

    def fanout(_: int) -> None:  # every worker writes the same ids: redeliveries
        for i in range(IDS_PER_THREAD):
            new.append(store.id_timeline.add_to_many(FEEDS, BIG + i))

    run_threads(fanout)
    assert sum(new) == len(FEEDS) * IDS_PER_THREAD  # each (feed, id) was new exactly once
    expected = [BIG + i for i in reversed(range(IDS_PER_THREAD))]
    assert store.id_timeline.newest_many(FEEDS, limit=1000) == [expected] * len(FEEDS)


@pytest.mark.usefixtures("frequent_switches")
def test_concurrent_pushes_keep_every_list_within_its_cap(store: Store) -> None:
    if store.backend == "fakeredis":
        pytest.skip("fakeredis loses plain writes under fast thread switching")
    cap = 100

    def fanout(n: int) -> None:
        for i in range(IDS_PER_THREAD):
            store.lists.push_to_many(FEEDS, f"post:{n}:{i}", max_len=cap)
            store.lists.push(FEEDS[0], f"solo:{n}:{i}", max_len=cap)

    run_threads(fanout)
    assert [store.lists.length(feed) for feed in FEEDS] == [cap] * len(FEEDS)
    for items in store.lists.range_many(FEEDS, 0, -1):
        assert len(set(items)) == cap  # each push landed once


@pytest.mark.usefixtures("frequent_switches")
def test_concurrent_fanouts_to_existing_feeds_only_never_create_one(store: Store) -> None:
    if store.backend == "fakeredis":
        pytest.skip("fakeredis loses plain writes under fast thread switching")
    homes = [feed.replace("feed", "home") for feed in FEEDS]
    cached = FEEDS[::2]  # the other users' feeds and homes are not cached
    for feed, home in zip(FEEDS[::2], homes[::2], strict=True):
        store.id_timeline.add(feed, [0])
        store.lists.push(home, "seed", max_len=5000)
    new: list[int] = []

    def fanout(n: int) -> None:  # every worker writes the same ids: redeliveries
        for i in range(IDS_PER_THREAD):
            new.append(store.id_timeline.add_to_many(FEEDS, BIG + i, max_len=1000,
                                                     only_existing=True))
            store.lists.push_to_many(homes, f"post:{n}:{i}", max_len=5000, only_existing=True)

    run_threads(fanout)
    assert sum(new) == len(cached) * IDS_PER_THREAD
    expected = [BIG + i for i in reversed(range(IDS_PER_THREAD))] + [0]
    assert store.id_timeline.newest_many(FEEDS, limit=1000) == [
        expected if feed in cached else [] for feed in FEEDS
    ]
    assert [store.lists.length(home) for home in homes] == [
        1 + THREADS_N * IDS_PER_THREAD if feed in cached else 0 for feed in FEEDS
    ]
    assert store.kv.delete(*FEEDS[1::2], *homes[1::2]) == 0  # never created
