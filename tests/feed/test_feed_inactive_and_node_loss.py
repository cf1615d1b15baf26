"""Chapter 11, feeds that are not kept: users inactive for more than 30 days get no fanout and
a rebuilt feed when they come back; a lost feed cache node wipes exactly its feeds."""

from __future__ import annotations

import pytest

from reference.feed.feeds import FEED_SHAPES, feed_key
from reference.feed.model import ACTIVE_WINDOW_S
from reference.feed.system import FEED_NODES
from reference.storage import Store
from tests.feed.feed_helpers import MODES, add_users, cached, fake_clock, feed_system, post, scroll

# ── inactive users ───────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("shape", FEED_SHAPES)
def test_a_user_inactive_for_more_than_30_days_gets_no_fanout_and_comes_back_to_a_full_feed(
        store: Store, shape: str) -> None:
    system = feed_system(store, mode="push", shape=shape)
    add_users(system, "ada", "bob", "cyd")
    for follower in ("bob", "cyd"):
        system.follow(follower, "ada")
    first = post(system, "ada")
    system.run_until_idle()
    assert system.feed("bob").post_ids == (first,)
    fake_clock(system).advance(ACTIVE_WINDOW_S + 1)
    assert system.feed("cyd").post_ids == (first,)  # cyd is active, bob is not
    before = system.feeds.statistics()
    skipped = sum(w.statistics().skipped for w in system.workers)
    later = [post(system, "ada") for _ in range(3)]
    system.run_until_idle()
    after = system.feeds.statistics()
    assert after.pushes - before.pushes == 3  # cyd only, once per post
    assert sum(w.statistics().skipped for w in system.workers) - skipped == 3  # bob
    assert cached(system, "bob") == [first]  # not kept up to date while away
    assert sorted(cached(system, "cyd"), reverse=True) == [*reversed(later), first]
    assert scroll(system, "bob") == [*reversed(later), first]  # dropped and rebuilt
    stats = system.feeds.statistics()
    assert stats.dropped == after.dropped + 1 and stats.rebuilt == after.rebuilt + 1
    post(system, "ada")  # bob is active again: pushed
    system.run_until_idle()
    assert len(set(cached(system, "bob"))) == 5


def test_a_user_last_seen_exactly_30_days_ago_is_still_active_and_gets_the_push(
        store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob")
    system.follow("bob", "ada")
    first = post(system, "ada")
    system.run_until_idle()
    system.feed("bob")
    fake_clock(system).advance(ACTIVE_WINDOW_S - 1.0)  # the post below adds one second
    second = post(system, "ada")
    system.run_until_idle()
    assert cached(system, "bob") == [second, first]
    assert system.feeds.statistics().dropped == 0


def test_an_inactive_author_who_posts_again_gets_a_rebuilt_feed(store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob", "cyd")
    system.follow("bob", "ada")
    system.follow("ada", "cyd")
    first = post(system, "cyd")
    system.run_until_idle()
    assert system.feed("ada").post_ids == (first,)
    system.feed("bob")
    fake_clock(system).advance(ACTIVE_WINDOW_S + 1)
    missed = post(system, "cyd")  # ada is away: not pushed
    system.run_until_idle()
    assert cached(system, "ada") == [first]
    post(system, "ada")  # ada is back (by posting): her stale feed goes
    assert cached(system, "ada") == []
    assert system.feed("ada").post_ids == (missed, first)


# ── a lost feed cache node ───────────────────────────────────────────────────────────────


@pytest.mark.parametrize("shape", FEED_SHAPES)
@pytest.mark.parametrize("mode", MODES)
def test_losing_a_feed_cache_node_wipes_exactly_its_feeds_and_each_is_rebuilt_complete(
        store: Store, mode: str, shape: str) -> None:
    system = feed_system(store, mode=mode, shape=shape, threshold=4)
    readers = [f"r{n:02d}" for n in range(16)]
    authors = ["ada", "cyd", "eve"]
    add_users(system, *authors, *readers)
    for n, reader in enumerate(readers):
        for author in authors[: 1 + n % 3]:
            system.follow(reader, author)
    for author in authors:
        post(system, author)
    system.run_until_idle()
    expected = {reader: scroll(system, reader) for reader in readers}  # every feed cached
    homes = {reader: system.ring.node_for(feed_key(reader)) for reader in readers}
    lost = max(FEED_NODES, key=lambda node: list(homes.values()).count(node))
    on_lost = {reader for reader in readers if homes[reader] == lost}
    assert on_lost and len(on_lost) < len(readers)
    before = {reader: cached(system, reader) for reader in readers}
    assert all(before.values())
    assert system.lose_feed_node(lost) == len(on_lost)
    for reader in readers:
        assert cached(system, reader) == ([] if reader in on_lost else before[reader])
    rebuilt = system.reader.statistics().rebuilds
    for reader in readers:
        assert scroll(system, reader) == expected[reader]
    assert system.reader.statistics().rebuilds == rebuilt + len(on_lost)


def test_posts_published_after_a_node_loss_reach_the_rebuilt_feeds(store: Store) -> None:
    system = feed_system(store, mode="push")
    readers = [f"r{n:02d}" for n in range(12)]
    add_users(system, "ada", *readers)
    for reader in readers:
        system.follow(reader, "ada")
    first = post(system, "ada")
    system.run_until_idle()
    for reader in readers:
        system.feed(reader)
    for node in FEED_NODES:
        system.lose_feed_node(node)
    second = post(system, "ada")  # no feed is cached: nothing is written
    system.run_until_idle()
    assert all(cached(system, reader) == [] for reader in readers)
    third = post(system, "ada")
    for reader in readers:
        assert scroll(system, reader) == [third, second, first]
    system.run_until_idle()  # the third post's task ran after the rebuilds
    for reader in readers:
        assert scroll(system, reader) == [third, second, first]
