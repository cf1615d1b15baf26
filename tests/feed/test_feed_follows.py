"""Chapter 11, follows and their edges: the backfill boundary of a follow, unfollow, mute and
unmute, block."""

from __future__ import annotations

import pytest

from reference.core.errors import Conflict
from reference.feed.feeds import FEED_SHAPES
from reference.feed.model import FOLLOW_BACKFILL_POSTS, PostId
from reference.storage import Store
from tests.feed.feed_helpers import MODES, add_users, cached, feed_system, post, scroll


def newest_first(ids: list[PostId]) -> list[PostId]:
    return sorted(ids, reverse=True)


# ── follow: the backfill boundary ────────────────────────────────────────────────────────


@pytest.mark.parametrize("bob_reads_first", [True, False], ids=["cached", "not-cached"])
@pytest.mark.parametrize("shape", FEED_SHAPES)
def test_following_copies_only_the_followees_100_most_recent_posts_and_never_shows_older(
        store: Store, shape: str, bob_reads_first: bool) -> None:
    system = feed_system(store, mode="push", shape=shape)
    add_users(system, "ada", "bob", "cyd")
    system.follow("bob", "cyd")
    by_ada = [post(system, "ada") for _ in range(FOLLOW_BACKFILL_POSTS + 5)]
    by_cyd = [post(system, "cyd")]
    system.run_until_idle()
    if bob_reads_first:
        assert system.feed("bob").post_ids == tuple(by_cyd)
    assert system.follow("bob", "ada") is True
    recent = by_ada[-FOLLOW_BACKFILL_POSTS:]
    if bob_reads_first and shape == "sorted":
        assert set(cached(system, "bob")) == {*recent, *by_cyd}
    elif bob_reads_first:  # a capped list is dropped and rebuilt: no older post in front
        assert cached(system, "bob") == []
    else:
        assert cached(system, "bob") == []  # a follow creates no feed either
    for limit in (7, 200):
        assert scroll(system, "bob", limit=limit) == newest_first([*recent, *by_cyd])
    later = post(system, "ada")
    system.run_until_idle()
    assert scroll(system, "bob")[:1] == [later]


def test_following_someone_with_few_posts_shows_all_of_them(store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob")
    by_ada = [post(system, "ada") for _ in range(3)]
    system.run_until_idle()
    assert system.feed("bob").post_ids == ()
    system.follow("bob", "ada")
    assert scroll(system, "bob") == newest_first(by_ada)


def test_following_twice_keeps_the_first_boundary_and_changes_nothing(store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob")
    by_ada = [post(system, "ada") for _ in range(FOLLOW_BACKFILL_POSTS + 2)]
    system.follow("bob", "ada")
    before = scroll(system, "bob")
    assert system.follow("bob", "ada") is False
    assert scroll(system, "bob") == before == newest_first(by_ada)[:FOLLOW_BACKFILL_POSTS]


# ── unfollow ─────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("shape", FEED_SHAPES)
@pytest.mark.parametrize("mode", MODES)
def test_unfollowing_removes_the_followees_posts_from_the_feed(
        store: Store, mode: str, shape: str) -> None:
    system = feed_system(store, mode=mode, shape=shape, threshold=2)
    add_users(system, "ada", "bob", "cyd", "eve")
    for followee in ("ada", "cyd"):
        system.follow("bob", followee)
    system.follow("eve", "ada")  # ada has 2 followers: pulled in the hybrid
    by_ada = [post(system, "ada") for _ in range(3)]
    by_cyd = [post(system, "cyd") for _ in range(2)]
    system.run_until_idle()
    assert scroll(system, "bob") == newest_first([*by_ada, *by_cyd])
    assert system.unfollow("bob", "ada") is True
    assert not set(by_ada) & set(cached(system, "bob"))
    assert scroll(system, "bob") == newest_first(by_cyd)
    post(system, "ada")  # no longer reaches bob
    system.run_until_idle()
    assert scroll(system, "bob") == newest_first(by_cyd)
    assert system.unfollow("bob", "ada") is False


# ── mute and unmute ──────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("shape", FEED_SHAPES)
@pytest.mark.parametrize("mode", MODES)
def test_muting_hides_posts_while_following_and_unmuting_shows_even_those_posted_meanwhile(
        store: Store, mode: str, shape: str) -> None:
    system = feed_system(store, mode=mode, shape=shape, threshold=2)
    add_users(system, "ada", "bob", "cyd", "eve")
    for followee in ("ada", "cyd"):
        system.follow("bob", followee)
    system.follow("eve", "ada")
    before_mute = [post(system, "ada"), post(system, "cyd")]
    system.run_until_idle()
    assert scroll(system, "bob") == newest_first(before_mute)
    assert system.mute("bob", "ada") is True
    assert system.mute("bob", "ada") is False
    assert system.graph.is_following("bob", "ada")
    while_muted = [post(system, "ada"), post(system, "cyd"), post(system, "ada")]
    system.run_until_idle()
    visible = [p for p in [*before_mute, *while_muted]
               if system.posts.get_many([p])[p].author == "cyd"]
    assert scroll(system, "bob") == newest_first(visible)
    assert system.unmute("bob", "ada") is True
    assert scroll(system, "bob") == newest_first([*before_mute, *while_muted])
    assert system.unmute("bob", "ada") is False


def test_a_mute_without_a_follow_hides_nothing_and_keeps_nothing_from_a_later_follow(
        store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob")
    system.mute("bob", "ada")
    by_ada = post(system, "ada")
    system.follow("bob", "ada")
    assert scroll(system, "bob") == []  # muted: hidden although followed
    system.unmute("bob", "ada")
    assert scroll(system, "bob") == [by_ada]


# ── block ────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("shape", FEED_SHAPES)
@pytest.mark.parametrize("mode", MODES)
def test_blocking_ends_follows_both_ways_and_each_ones_posts_leave_the_others_feed(
        store: Store, mode: str, shape: str) -> None:
    system = feed_system(store, mode=mode, shape=shape, threshold=3)
    add_users(system, "ada", "bob", "cyd")
    system.follow("bob", "ada")
    system.follow("ada", "bob")
    system.follow("bob", "cyd")
    by_ada = post(system, "ada")
    by_bob = post(system, "bob")
    by_cyd = post(system, "cyd")
    system.run_until_idle()
    assert scroll(system, "bob") == [by_cyd, by_ada]
    assert scroll(system, "ada") == [by_bob]
    assert system.block("ada", "bob") is True
    assert not system.graph.is_following("bob", "ada")
    assert not system.graph.is_following("ada", "bob")
    assert by_ada not in cached(system, "bob") and by_bob not in cached(system, "ada")
    assert scroll(system, "bob") == [by_cyd]
    assert scroll(system, "ada") == []
    post(system, "ada")
    system.run_until_idle()
    assert scroll(system, "bob") == [by_cyd]


@pytest.mark.parametrize(("follower", "followee"), [("bob", "ada"), ("ada", "bob")])
def test_a_blocked_pair_cannot_follow_again_either_way_and_the_refusal_changes_nothing(
        store: Store, follower: str, followee: str) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob", "cyd")
    system.follow("bob", "cyd")
    for author in ("ada", "bob", "cyd"):
        post(system, author)
    system.run_until_idle()
    system.block("ada", "bob")
    pages = {user: scroll(system, user) for user in ("ada", "bob")}
    feeds = {user: cached(system, user) for user in ("ada", "bob")}
    graph = system.graph.statistics()
    with pytest.raises(Conflict):
        system.follow(follower, followee)
    assert system.graph.statistics() == graph
    assert {user: cached(system, user) for user in ("ada", "bob")} == feeds
    assert {user: scroll(system, user) for user in ("ada", "bob")} == pages


@pytest.mark.parametrize("shape", [
    "sorted", "list"])
def test_following_someone_with_older_posts_into_a_full_feed_hides_no_newer_post(
        store: Store, shape: str) -> None:
    system = feed_system(store, mode="push", shape=shape)
    system.feeds.max_entries = 6  # a small cap (the same feed cache serves fanout and reads)
    add_users(system, "ada", "bob", "cyd")
    by_ada = [post(system, "ada") for _ in range(3)]  # older than everything cyd posts
    system.follow("bob", "cyd")
    by_cyd = [post(system, "cyd")]
    system.run_until_idle()
    system.feed("bob")
    by_cyd += [post(system, "cyd") for _ in range(8)]
    system.run_until_idle()
    assert len(cached(system, "bob")) == 6  # full
    system.follow("bob", "ada")
    assert scroll(system, "bob", limit=4) == newest_first([*by_ada, *by_cyd])


@pytest.mark.parametrize("shape", [
    "sorted", "list"])
def test_a_feed_that_fills_up_after_a_follow_copied_older_posts_in_hides_no_newer_post(
        store: Store, shape: str) -> None:
    system = feed_system(store, mode="push", shape=shape)
    system.feeds.max_entries = 8
    add_users(system, "ada", "bob", "cyd")
    by_ada = [post(system, "ada") for _ in range(3)]
    system.follow("bob", "cyd")
    by_cyd = [post(system, "cyd") for _ in range(2)]
    system.run_until_idle()
    system.feed("bob")
    system.follow("bob", "ada")  # 6 posts (and the bottom mark): not full yet
    by_cyd += [post(system, "cyd") for _ in range(4)]
    system.run_until_idle()
    assert scroll(system, "bob", limit=3) == newest_first([*by_ada, *by_cyd])


def test_following_into_a_list_feed_full_at_800_entries_hides_no_newer_post(store: Store
                                                                           ) -> None:
    system = feed_system(store, mode="push", shape="list")
    add_users(system, "ada", "bob", "cyd")
    by_ada = [post(system, "ada") for _ in range(3)]
    system.follow("bob", "cyd")
    by_cyd = [post(system, "cyd")]
    system.run_until_idle()
    system.feed("bob")
    by_cyd += [post(system, "cyd") for _ in range(system.feeds.max_entries + 4)]
    system.run_until_idle()
    system.follow("bob", "ada")
    assert scroll(system, "bob", limit=200) == newest_first([*by_ada, *by_cyd])
