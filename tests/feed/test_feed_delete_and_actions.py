"""Chapter 11, deleting a post (every feed, the post store, the content tiers) and the actions
on posts (likes, replies, shares) whose counts a page shows at once."""

from __future__ import annotations

import pytest

from reference.core.errors import NotFound
from reference.feed.feeds import FEED_SHAPES
from reference.feed.model import FeedItem, PostId
from reference.feed.system import NewsFeedSystem
from reference.storage import Store
from tests.feed.feed_helpers import MODES, add_users, cached, feed_system, post


def item(system: NewsFeedSystem, user: str, post_id: PostId) -> FeedItem:
    """``post_id`` as ``user``'s first page shows it."""
    [found] = [i for i in system.feed(user).items if i.post_id == post_id]
    return found


# ── delete ───────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("shape", FEED_SHAPES)
@pytest.mark.parametrize("mode", MODES)
def test_a_deleted_post_leaves_every_feed_the_post_store_and_the_content_tiers(
        store: Store, mode: str, shape: str) -> None:
    system = feed_system(store, mode=mode, shape=shape, threshold=3)
    add_users(system, "ada", "bob", "cyd", "eve")
    for follower in ("bob", "cyd", "eve"):  # eve never reads: no cached feed
        system.follow(follower, "ada")
    doomed, kept = post(system, "ada"), post(system, "ada")
    system.run_until_idle()
    for _ in range(12):  # read often: the post turns hot
        for reader in ("bob", "cyd"):
            assert system.feed(reader).post_ids == (kept, doomed)
    assert doomed in system.tiers.content_hot
    system.like("cyd", doomed)
    assert system.delete_post(doomed) is True
    for reader in ("bob", "cyd"):
        assert doomed not in cached(system, reader)
    for reader in ("bob", "cyd", "eve"):
        assert system.feed(reader).post_ids == (kept,)
    assert system.posts.store.get_many([doomed]) == {}
    assert system.posts.recent("ada", limit=10) == [kept]
    assert doomed not in system.tiers.content_hot
    assert doomed not in system.tiers.content
    assert system.actions.store.counts([doomed]) == {doomed: (0, 0, 0)}
    assert system.delete_post(doomed) is False


def test_likes_shares_and_replies_on_a_deleted_post_are_refused_and_change_nothing(
        store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob")
    system.follow("bob", "ada")
    doomed = post(system, "ada")
    system.delete_post(doomed)
    with pytest.raises(NotFound):
        system.like("bob", doomed)
    with pytest.raises(NotFound):
        system.share("bob", doomed)
    with pytest.raises(NotFound):
        system.reply("bob", doomed, "too late")
    assert system.actions.store.counts([doomed]) == {doomed: (0, 0, 0)}
    assert system.actions.store.done_by("bob", [doomed], "like") == {doomed: False}


@pytest.mark.parametrize("shape", FEED_SHAPES)
def test_a_post_deleted_while_its_fanout_is_queued_never_shows(store: Store, shape: str
                                                                ) -> None:
    system = feed_system(store, mode="push", shape=shape)
    add_users(system, "ada", "bob")
    system.follow("bob", "ada")
    kept = post(system, "ada")
    system.run_until_idle()
    assert system.feed("bob").post_ids == (kept,)
    doomed = post(system, "ada")
    system.delete_post(doomed)  # the fanout task is still on the queue
    system.run_until_idle()
    assert system.feed("bob").post_ids == (kept,)


@pytest.mark.parametrize("shape", FEED_SHAPES)
def test_a_post_deleted_while_its_fanout_is_queued_is_never_written_into_a_feed(
        store: Store, shape: str) -> None:
    system = feed_system(store, mode="push", shape=shape)
    add_users(system, "ada", "bob")
    system.follow("bob", "ada")
    kept = post(system, "ada")
    system.run_until_idle()
    assert system.feed("bob").post_ids == (kept,)
    doomed = post(system, "ada")
    system.delete_post(doomed)
    system.run_until_idle()
    assert cached(system, "bob") == [kept]


# ── likes, replies, shares ───────────────────────────────────────────────────────────────


@pytest.mark.parametrize("shape", FEED_SHAPES)
def test_a_like_counts_once_on_every_page_at_once_and_liked_is_the_readers_own(
        store: Store, shape: str) -> None:
    system = feed_system(store, mode="push", shape=shape)
    add_users(system, "ada", "bob", "cyd")
    for follower in ("bob", "cyd"):
        system.follow(follower, "ada")
    liked = post(system, "ada")
    system.run_until_idle()
    for reader in ("bob", "cyd"):  # the counts and flags are cached now
        seen = item(system, reader, liked)
        assert (seen.likes, seen.replies, seen.shares, seen.liked) == (0, 0, 0, False)
    assert system.like("cyd", liked) is True
    assert (item(system, "bob", liked).likes, item(system, "bob", liked).liked) == (1, False)
    assert (item(system, "cyd", liked).likes, item(system, "cyd", liked).liked) == (1, True)
    assert system.like("bob", liked) is True
    assert system.like("bob", liked) is False  # a repeated like counts once
    assert (item(system, "bob", liked).likes, item(system, "bob", liked).liked) == (2, True)
    assert item(system, "cyd", liked).likes == 2
    assert system.unlike("bob", liked) is True
    assert system.unlike("bob", liked) is False
    assert (item(system, "bob", liked).likes, item(system, "bob", liked).liked) == (1, False)
    assert (item(system, "cyd", liked).likes, item(system, "cyd", liked).liked) == (1, True)


def test_replies_count_every_time_and_shares_once_per_user_on_the_page_at_once(
        store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob", "cyd")
    system.follow("bob", "ada")
    target = post(system, "ada")
    system.run_until_idle()
    assert item(system, "bob", target).replies == 0
    assert system.reply("bob", target, "first!") == 1
    assert system.reply("bob", target, "again") == 2
    assert system.reply("cyd", target, "hi") == 3
    assert item(system, "bob", target).replies == 3
    assert system.share("cyd", target) is True
    assert system.share("cyd", target) is False
    assert system.share("bob", target) is True
    seen = item(system, "bob", target)
    assert (seen.likes, seen.replies, seen.shares, seen.liked) == (0, 3, 2, False)


def test_counts_stay_right_for_every_post_of_a_page_after_actions_on_some(
        store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob", "cyd", "eve")
    system.follow("bob", "ada")
    posts = [post(system, "ada") for _ in range(6)]
    system.run_until_idle()
    system.feed("bob")
    expected = dict.fromkeys(posts, (0, 0, 0))
    for n, target in enumerate(posts[::2]):
        for user in ("cyd", "eve")[: n + 1]:
            system.like(user, target)
        system.reply("cyd", target, "ok")
        expected[target] = (min(n + 1, 2), 1, 0)
    page = system.feed("bob")
    assert {i.post_id: (i.likes, i.replies, i.shares) for i in page.items} == expected
