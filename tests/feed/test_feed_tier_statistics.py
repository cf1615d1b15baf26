"""The news feed tier reports like the other cache tiers: hits, misses, hit rate, evictions,
entries (cached feeds) and bytes, in both shapes and on every backend."""

from __future__ import annotations

import pytest

from reference.feed.feeds import FEED_SHAPES
from reference.feed.system import NewsFeedSystem
from reference.storage import Store
from reference.storage.ports import ID_WIDTH


@pytest.mark.parametrize("shape", FEED_SHAPES)
def test_the_feed_tier_counts_cached_feeds_their_ids_bytes_and_evictions(
        store: Store, shape: str) -> None:
    system = NewsFeedSystem.create(store, seed=1, mode="push", shape=shape)
    for name in ("ada", "bob", "cyd", "dee"):
        system.register_user(name, name=name.title())
    for reader in ("bob", "cyd"):
        system.follow(reader, "ada")
        system.feed(reader)  # a miss: rebuilt and cached (an empty feed, by its bottom mark)
    for n in range(3):
        system.publish("ada", f"post {n}")
    system.run_until_idle()
    system.feed("bob")  # a hit
    stats = system.feed_statistics()
    assert (stats.entries, stats.ids, stats.bytes) == (2, 6, 6 * ID_WIDTH)
    assert (stats.hits, stats.misses, stats.hit_rate) == (1, 2, 1 / 3)
    assert stats.evictions == 0
    # a lost node evicts its feeds (so do an unmute and a return after 30 days)
    assert system.lose_feed_node(system.ring.node_for("feed:{bob}")) >= 1
    after = system.feed_statistics()
    assert after.evictions >= 1 and after.entries < stats.entries
