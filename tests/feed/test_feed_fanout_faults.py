"""Chapter 11, the fanout queue delivers at least once: a worker that dies after writing the
feeds has its task redelivered after the visibility timeout, and a task delivered twice
changes nothing a reader sees."""

from __future__ import annotations

from dataclasses import replace
from random import Random

import pytest

from reference.blocks.lossy_queue import LossyQueue
from reference.core.faults import CrashPlan
from reference.feed.fanout import AFTER_PUSH, VISIBILITY_TIMEOUT_S
from reference.feed.feeds import FEED_SHAPES
from reference.feed.model import FANOUT_GROUP, FANOUT_QUEUE
from reference.feed.system import NewsFeedSystem
from reference.storage import Store
from reference.storage.ports import QueueStatistics
from tests.feed.feed_helpers import cached, post

READERS = ("bob", "cyd", "eve")


def with_readers(store: Store, **options: object) -> NewsFeedSystem:
    """ada and three followers whose feeds are cached (each read once, after ada's first
    post)."""
    system = NewsFeedSystem.create(store, seed=1, mode="push", **options)  # type: ignore[arg-type]
    for user in ("ada", *READERS):
        system.register_user(user, name=user.title())
    for reader in READERS:
        system.follow(reader, "ada")
    return system


def queue_stats(system: NewsFeedSystem) -> QueueStatistics:
    return system.store.queue.statistics(FANOUT_QUEUE, FANOUT_GROUP)


@pytest.mark.parametrize("shape", FEED_SHAPES)
def test_a_worker_crash_after_writing_the_feeds_redelivers_the_task_and_pages_show_it_once(
        store: Store, shape: str) -> None:
    first_task_dies = CrashPlan().crash(AFTER_PUSH, nth=2)  # nth=1: ada's first post
    system = with_readers(store, shape=shape, crash_plan=first_task_dies)
    first = post(system, "ada")
    system.run_until_idle()
    for reader in READERS:
        assert system.feed(reader).post_ids == (first,)
    published_at = system.clock.now()
    second = post(system, "ada")
    system.run_until(published_at + VISIBILITY_TIMEOUT_S / 2)
    assert system.sim.crash_plan.fired == [(AFTER_PUSH, str(second))]
    stats = queue_stats(system)
    assert (stats.acked, stats.in_flight, stats.lag) == (1, 1, 1)  # written, not acked
    for reader in READERS:
        assert second in cached(system, reader)
        assert system.feed(reader).post_ids == (second, first)
    system.run_until_idle()
    stats = queue_stats(system)
    assert (stats.redelivered, stats.acked, stats.lag) == (1, 2, 0)
    assert system.clock.now() >= published_at + VISIBILITY_TIMEOUT_S
    assert sum(w.statistics().crashes for w in system.workers) == 1
    for reader in READERS:
        assert system.feed(reader).post_ids == (second, first)
        assert set(cached(system, reader)) == {first, second}


def test_a_crash_leaves_the_rest_of_the_batch_unacked_and_all_of_it_is_redelivered(
        store: Store) -> None:
    system = with_readers(store, crash_plan=CrashPlan().crash(AFTER_PUSH, nth=2),
                          workers=1)
    first = post(system, "ada")
    system.run_until_idle()
    for reader in READERS:
        system.feed(reader)
    batch = [post(system, "ada") for _ in range(4)]  # one worker takes all four in one poll
    system.run_until_idle()
    stats = queue_stats(system)
    assert stats.redelivered == 4 and stats.lag == 0 and stats.acked == 5
    for reader in READERS:
        assert system.feed(reader).post_ids == (*reversed(batch), first)


@pytest.mark.parametrize("shape", FEED_SHAPES)
def test_every_task_delivered_twice_changes_nothing_a_reader_sees(store: Store, shape: str
                                                                   ) -> None:
    doubling = LossyQueue(store.queue, rng=Random(7), loss_rate=0.0, duplicate_rate=1.0)
    system = with_readers(replace(store, queue=doubling), shape=shape)
    posts = [post(system, "ada")]
    system.run_until_idle()
    for reader in READERS:
        system.feed(reader)
    posts += [post(system, "ada") for _ in range(5)]
    system.like("bob", posts[-1])
    system.run_until_idle()
    assert doubling.duplicated == len(posts)
    assert queue_stats(system).acked == 2 * len(posts)
    for reader in READERS:
        page = system.feed(reader)
        assert page.post_ids == tuple(reversed(posts))
        assert [i.likes for i in page.items] == [1, 0, 0, 0, 0, 0]
        assert set(cached(system, reader)) == set(posts)
        if shape == "sorted":
            assert len(cached(system, reader)) == len(posts)


def test_fanout_rounds_stop_when_the_queue_is_empty_and_a_post_wakes_them(store: Store
                                                                          ) -> None:
    system = with_readers(store)
    assert system.run_until_idle() == 0
    post(system, "ada")
    assert system.run_until_idle() >= 1
    assert system.sim.pending == 0
    assert queue_stats(system).lag == 0
