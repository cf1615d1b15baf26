"""Chapter 11, publish to page: push, pull and hybrid fanout in both feed shapes, feeds that a
fanout never creates, the 800-entry cap with pages past it, cursor pagination, the load
balancer."""

from __future__ import annotations

import pytest

from reference.feed.feeds import BOTTOM, FEED_SHAPES, feed_key
from reference.feed.model import FEED_MAX_ENTRIES, PostId
from reference.feed.system import NewsFeedSystem
from reference.storage import Store
from tests.feed.feed_helpers import MODES, add_users, feed_system, post, scroll


def cached_size(system: NewsFeedSystem, user: str) -> int:
    """How many posts ``user``'s feed holds in the feed cache (its bottom mark aside)."""
    key = feed_key(user)
    if system.feeds.shape == "sorted":
        return len(set(system.store.id_timeline.newest(key, limit=10_000)) - {BOTTOM})
    return len({int(e) for e in system.store.lists.range(key, 0, -1)} - {BOTTOM})


def feed_exists(system: NewsFeedSystem, user: str) -> bool:
    key = feed_key(user)
    if system.feeds.shape == "sorted":
        return system.store.id_timeline.size(key) > 0
    return system.store.lists.length(key) > 0


# ── publish to page ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("shape", FEED_SHAPES)
@pytest.mark.parametrize("mode", MODES)
def test_a_post_reaches_a_followers_page_newest_first_in_every_mode_and_shape(
        store: Store, mode: str, shape: str) -> None:
    system = feed_system(store, mode=mode, shape=shape)
    add_users(system, "ada", "bob")
    system.follow("bob", "ada")
    first = post(system, "ada", "first")
    system.run_until_idle()
    assert system.feed("bob").post_ids == (first,)  # bob reads: his feed is cached now
    second = post(system, "ada", "second")
    system.run_until_idle()
    page = system.feed("bob")
    assert page.post_ids == (second, first)
    assert [item.text for item in page.items] == ["second", "first"]
    assert page.items[0].author == "ada" and page.items[0].author_name == "Ada"
    assert page.next_cursor is None
    pushed = mode in ("push", "hybrid")  # hybrid: ada has 1 follower, far below 10,000
    assert system.last_plan is not None and system.last_plan.mode == (
        "push" if pushed else "pull")
    assert cached_size(system, "bob") == (2 if pushed else 1)  # pull writes no feed


@pytest.mark.parametrize("shape", FEED_SHAPES)
def test_hybrid_pulls_a_celebritys_posts_and_merges_them_with_pushed_ones_in_id_order(
        store: Store, shape: str) -> None:
    system = feed_system(store, mode="hybrid", threshold=2, shape=shape)
    add_users(system, "ada", "bob", "cyd", "eve")
    for follower, followee in [("bob", "ada"), ("bob", "cyd"), ("eve", "cyd")]:
        system.follow(follower, followee)
    seed_post = post(system, "ada")
    system.run_until_idle()
    system.feed("bob")  # cached: [seed_post]
    posts: list[PostId] = []
    modes = []
    authors = ("cyd", "ada", "cyd", "ada", "ada", "cyd")
    for author in authors:
        posts.append(post(system, author))
        assert system.last_plan is not None
        modes.append(system.last_plan.mode)
    system.run_until_idle()
    assert modes == ["pull", "push", "pull", "push", "push", "pull"]  # cyd: 2 followers
    page = system.feed("bob")
    assert page.post_ids == tuple(sorted([*posts, seed_post], reverse=True))
    assert [item.author for item in page.items] == [
        "cyd", "ada", "ada", "cyd", "ada", "cyd", "ada"]
    assert cached_size(system, "bob") == 4  # only ada's posts were written into bob's feed
    by_cyd = [p for p, author in zip(posts, authors, strict=True) if author == "cyd"]
    assert system.feed("eve").post_ids == tuple(sorted(by_cyd, reverse=True))


def test_pull_mode_writes_no_feed_and_a_page_merges_every_followee(store: Store) -> None:
    system = feed_system(store, mode="pull")
    add_users(system, "ada", "bob", "cyd")
    system.follow("bob", "ada")
    system.follow("bob", "cyd")
    posts = [post(system, author) for author in ("ada", "cyd", "cyd", "ada")]
    system.run_until_idle()
    assert store.queue.statistics("fanout", "fanout-workers").published == 0
    assert system.feed("bob").post_ids == tuple(reversed(posts))
    assert system.feeds.statistics().pushes == 0


# ── feeds a fanout never creates ─────────────────────────────────────────────────────────


@pytest.mark.parametrize("shape", FEED_SHAPES)
def test_fanout_writes_no_feed_for_an_active_follower_without_one_yet_the_first_read_shows_it(
        store: Store, shape: str) -> None:
    system = feed_system(store, mode="push", shape=shape)
    add_users(system, "ada", "bob")
    system.follow("bob", "ada")
    post(system, "bob")  # bob is active (he posted) but has never read: no feed is cached
    system.run_until_idle()
    published = post(system, "ada")
    system.run_until_idle()
    assert not feed_exists(system, "bob")  # the fanout tried bob's feed and left it absent
    stats = system.feeds.statistics()
    assert stats.pushes == 1
    if shape == "sorted":
        assert stats.written == 0
    assert system.feed("bob").post_ids == (published,)  # rebuilt on the miss
    assert cached_size(system, "bob") == 1
    assert system.feeds.statistics().rebuilt == stats.rebuilt + 1


def test_fanout_writes_no_feed_for_a_follower_who_never_read(store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob")
    system.follow("bob", "ada")
    older = post(system, "ada")
    newer = post(system, "ada")
    system.run_until_idle()
    assert store.id_timeline.size("feed:{bob}") == 0  # the key does not exist
    assert system.feed("bob").post_ids == (newer, older)


# ── the 800 cap, and pages older than the cached feed ─────────────────────────────────────


def test_a_feed_keeps_its_newest_800_ids_and_scrolling_still_reads_every_older_post(
        store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob")
    system.follow("bob", "ada")
    posts = [post(system, "ada")]
    system.feed("bob")
    posts += [post(system, "ada") for _ in range(FEED_MAX_ENTRIES + 9)]
    system.run_until_idle()
    assert store.id_timeline.size("feed:{bob}") == FEED_MAX_ENTRIES
    assert store.id_timeline.newest("feed:{bob}", limit=1000) == sorted(
        posts, reverse=True)[:FEED_MAX_ENTRIES]
    assert scroll(system, "bob", limit=100) == sorted(posts, reverse=True)
    assert system.reader.statistics().deep_pages >= 1


@pytest.mark.parametrize("shape", FEED_SHAPES)
@pytest.mark.parametrize("mode", MODES)
def test_scrolling_past_a_small_cached_feed_pulls_older_posts_with_no_gap(
        store: Store, mode: str, shape: str) -> None:
    system = feed_system(store, mode=mode, shape=shape, threshold=2)
    system.feeds.max_entries = 6  # a small cap (the same feed cache serves fanout and reads)
    add_users(system, "ada", "bob", "cyd", "eve")
    for followee in ("ada", "cyd", "eve"):
        system.follow("bob", followee)
    system.follow("ada", "cyd")  # cyd has 2 followers: pulled in the hybrid
    posts = [post(system, "ada")]
    system.feed("bob")
    posts += [post(system, author) for author in ("ada", "cyd", "eve") * 8]
    system.run_until_idle()
    assert cached_size(system, "bob") <= 6
    for limit in (1, 4, 5, 7, 25, 200):
        assert scroll(system, "bob", limit=limit) == sorted(posts, reverse=True), limit


# ── cursor pagination ────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("shape", FEED_SHAPES)
@pytest.mark.parametrize("mode", MODES)
def test_pages_never_skip_or_repeat_a_post_while_new_posts_arrive_between_pages(
        store: Store, mode: str, shape: str) -> None:
    system = feed_system(store, mode=mode, shape=shape, threshold=2)
    add_users(system, "ada", "bob", "cyd", "eve")
    for followee in ("ada", "cyd"):
        system.follow("bob", followee)
        system.follow("eve", followee)
    old = [post(system, author) for author in ("ada", "cyd") * 5]
    system.run_until_idle()
    shown: list[PostId] = []
    before: PostId | None = None
    pages = 0
    while True:
        page = system.feed("bob", before=before, limit=4)
        pages += 1
        shown += page.post_ids
        if page.next_cursor is None:
            break
        assert page.next_cursor == page.post_ids[-1]
        before = page.next_cursor
        post(system, "ada")  # newer than every page already read
        post(system, "cyd")
        system.run_until_idle()
    assert shown == sorted(old, reverse=True)  # 10 posts: pages of 4, 4 and 2
    assert pages == 3


def test_the_last_page_has_no_cursor_and_a_cursor_below_everything_gives_an_empty_page(
        store: Store) -> None:
    system = feed_system(store, mode="push")
    add_users(system, "ada", "bob")
    system.follow("bob", "ada")
    posts = [post(system, "ada") for _ in range(3)]
    system.run_until_idle()
    full = system.feed("bob", limit=3)
    assert full.post_ids == tuple(reversed(posts))
    assert system.feed("bob", limit=4).next_cursor is None
    after_last = system.feed("bob", before=posts[0], limit=3)
    assert after_last.post_ids == () and after_last.next_cursor is None
    assert system.feed("bob", before=posts[2], limit=3).post_ids == (posts[1], posts[0])


# ── the load balancer ────────────────────────────────────────────────────────────────────


def test_the_load_balancer_spreads_feed_requests_round_robin_over_the_web_servers(
        store: Store) -> None:
    system = feed_system(store, web_servers=3)
    add_users(system, "ada", "bob")
    served = []
    for _ in range(7):
        before = system.web.statistics()
        system.feed("bob")
        after = system.web.statistics()
        served += [name for name in after if after[name] != before[name]]
    assert served == ["web-1", "web-2", "web-3", "web-1", "web-2", "web-3", "web-1"]
    assert system.web.statistics() == {"web-1": 3, "web-2": 2, "web-3": 2}
