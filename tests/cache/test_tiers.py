"""Chapter 11's caching tiers: each facade answers from its cache, sends its misses to the
database in one multi-get, and forgets what a write changed; a hot post is promoted; small
tiers evict under pressure and pages stay right."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from reference.cache.tiers import (
    HOT_AFTER_READS,
    CachedActions,
    CachedGraph,
    CachedPosts,
    CachedProfiles,
    CacheTiers,
    TierSizes,
)
from reference.core.clock import FakeClock
from reference.core.ids import SnowflakeGenerator
from reference.feed.actions import ActionStore, Kind
from reference.feed.graph import SocialGraph
from reference.feed.model import Post, PostId, Profile, UserId
from reference.feed.posts import PostStore
from reference.feed.system import NewsFeedSystem
from reference.feed.users import UserStore
from reference.storage import Store, connect

# ── recording databases: every call the facades make reaches them ────────────────────────


class RecordingPosts(PostStore):
    def __init__(self, store: Store) -> None:
        super().__init__(store, SnowflakeGenerator(store.clock, worker_id=1))
        self.asked: list[list[PostId]] = []

    def get_many(self, post_ids: Sequence[PostId]) -> dict[PostId, Post]:
        self.asked.append(list(post_ids))
        return super().get_many(post_ids)


class RecordingUsers(UserStore):
    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.asked: list[list[UserId]] = []

    def profiles(self, user_ids: Sequence[UserId]) -> dict[UserId, Profile]:
        self.asked.append(list(user_ids))
        return super().profiles(user_ids)


class RecordingActions(ActionStore):
    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.counted: list[list[PostId]] = []
        self.looked_up: list[list[PostId]] = []

    def counts(self, post_ids: Sequence[PostId]) -> dict[PostId, tuple[int, int, int]]:
        self.counted.append(list(post_ids))
        return super().counts(post_ids)

    def done_by(self, user: UserId, post_ids: Sequence[PostId], kind: Kind
                ) -> dict[PostId, bool]:
        self.looked_up.append(list(post_ids))
        return super().done_by(user, post_ids, kind)


class RecordingGraph(SocialGraph):
    __slots__ = ("asked",)

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, UserId]] = []

    def followers(self, user: UserId) -> tuple[UserId, ...]:
        self.asked.append(("followers", user))
        return super().followers(user)

    def following(self, user: UserId) -> tuple[UserId, ...]:
        self.asked.append(("following", user))
        return super().following(user)


def fake_clock(store: Store) -> FakeClock:
    assert isinstance(store.clock, FakeClock)
    return store.clock


def publish(posts: CachedPosts, store: Store, n: int, author: str = "ada") -> list[Post]:
    made = []
    for i in range(n):
        fake_clock(store).advance(1.0)
        made.append(posts.create(author, f"post {i}"))
    return made


# ── content: CachedPosts ─────────────────────────────────────────────────────────────────


def test_cached_posts_send_only_the_misses_to_the_post_store_in_one_multi_get(
        store: Store) -> None:
    tiers = CacheTiers(store.clock)
    db = RecordingPosts(store)
    posts = CachedPosts(db, tiers)
    a, b, c, d = publish(posts, store, 4)
    assert db.asked == []  # creating a post does not fill the cache
    assert posts.get_many([a.post_id, b.post_id, c.post_id]) == {
        a.post_id: a, b.post_id: b, c.post_id: c}
    assert db.asked == [[a.post_id, b.post_id, c.post_id]]
    assert posts.get_many([c.post_id, d.post_id, a.post_id]) == {
        c.post_id: c, d.post_id: d, a.post_id: a}
    assert db.asked[1:] == [[d.post_id]]
    posts.get_many([a.post_id, d.post_id])
    assert len(db.asked) == 2
    normal = tiers.statistics()["content.normal"]
    assert (normal.hits, normal.misses, normal.entries) == (4, 4, 4)


def test_cached_posts_misses_cost_one_round_trip_on_redis(clock: FakeClock) -> None:
    with connect("fakeredis", clock=clock) as store:
        posts = CachedPosts(RecordingPosts(store), CacheTiers(clock))
        made = publish(posts, store, 20)
        with store.record_commands() as recorder:
            found = posts.get_many([p.post_id for p in made])
        assert len(found) == 20
        assert recorder.round_trips == 1 and recorder.counts()["GET"] == 20


def test_a_deleted_post_leaves_every_content_tier_and_is_not_cached_again(store: Store
                                                                           ) -> None:
    tiers = CacheTiers(store.clock)
    db = RecordingPosts(store)
    posts = CachedPosts(db, tiers)
    hot, other = publish(posts, store, 2)
    for _ in range(HOT_AFTER_READS + 1):
        posts.get_many([hot.post_id, other.post_id])
    assert hot.post_id in tiers.content_hot and hot.post_id in tiers.content
    assert posts.delete(hot) is True
    assert hot.post_id not in tiers.content_hot
    assert hot.post_id not in tiers.content
    assert tiers.read_counts.peek(hot.post_id) is None
    asked = len(db.asked)
    assert posts.get_many([hot.post_id, other.post_id]) == {other.post_id: other}
    assert db.asked[asked:] == [[hot.post_id]]  # a miss: asked of the store, found gone
    assert hot.post_id not in tiers.content


def test_a_post_read_often_is_promoted_to_the_hot_part_which_normal_churn_cannot_evict(
        store: Store) -> None:
    tiers = CacheTiers(store.clock, TierSizes(content=3))
    db = RecordingPosts(store)
    posts = CachedPosts(db, tiers)
    hot, *others = publish(posts, store, 10)
    posts.get_many([hot.post_id])  # a miss: from the store
    for _ in range(HOT_AFTER_READS - 1):
        posts.get_many([hot.post_id])
    assert hot.post_id not in tiers.content_hot  # read 7 times from the cache: not yet
    posts.get_many([hot.post_id])
    assert hot.post_id in tiers.content_hot
    for post in others:  # churn: the normal part (3 entries) evicts the hot post
        posts.get_many([post.post_id])
    assert hot.post_id not in tiers.content
    assert tiers.statistics()["content.normal"].evictions > 0
    asked = len(db.asked)
    assert posts.get_many([hot.post_id]) == {hot.post_id: hot}
    assert len(db.asked) == asked  # served by the hot part
    assert tiers.statistics()["content.hot"].hits >= 1


def test_a_post_that_stays_hot_is_still_in_the_hot_part_after_its_hot_ttl(store: Store
                                                                         ) -> None:
    tiers = CacheTiers(store.clock)
    posts = CachedPosts(RecordingPosts(store), tiers)
    [hot] = publish(posts, store, 1)
    for _minute in range(2 * int(tiers.sizes.hot_ttl_s) // 60):
        for _ in range(HOT_AFTER_READS + 2):  # read 10 times a minute, every minute
            posts.get_many([hot.post_id])
        fake_clock(store).advance(60.0)
    posts.get_many([hot.post_id])
    assert hot.post_id in tiers.content_hot


# ── users: CachedProfiles ────────────────────────────────────────────────────────────────


def test_cached_profiles_send_only_the_misses_to_the_user_store_in_one_multi_get(
        store: Store) -> None:
    tiers = CacheTiers(store.clock)
    db = RecordingUsers(store)
    for user in ("ada", "bob", "cyd"):
        db.register(user, name=user.title())
    profiles = CachedProfiles(db, tiers)
    assert sorted(profiles.profiles(["ada", "bob"])) == ["ada", "bob"]
    assert profiles.profiles(["bob", "cyd", "nobody"])["cyd"].name == "Cyd"
    assert db.asked == [["ada", "bob"], ["cyd", "nobody"]]
    assert "nobody" not in profiles.profiles(["ada", "nobody"])  # unknown: never cached
    assert db.asked[2:] == [["nobody"]]
    stats = tiers.statistics()["users.profiles"]
    assert (stats.entries, stats.hits) == (3, 2)


def test_cached_profiles_expire_after_their_ttl_and_are_read_again(store: Store) -> None:
    tiers = CacheTiers(store.clock, TierSizes(users_ttl_s=60.0))
    db = RecordingUsers(store)
    db.register("ada", name="Ada")
    profiles = CachedProfiles(db, tiers)
    profiles.profiles(["ada"])
    fake_clock(store).advance(59.0)
    profiles.profiles(["ada"])
    fake_clock(store).advance(2.0)
    profiles.profiles(["ada"])
    assert db.asked == [["ada"], ["ada"]]


# ── actions and counters: CachedActions ──────────────────────────────────────────────────


def test_cached_counts_and_flags_go_to_the_action_store_once_for_all_misses(store: Store
                                                                           ) -> None:
    tiers = CacheTiers(store.clock)
    db = RecordingActions(store)
    actions = CachedActions(db, tiers)
    actions.act("bob", 1, "like")
    actions.reply("cyd", 2, "hi")
    assert actions.counts([1, 2, 3]) == {1: (1, 0, 0), 2: (0, 1, 0), 3: (0, 0, 0)}
    assert actions.done_by("bob", [1, 2, 3], "like") == {1: True, 2: False, 3: False}
    assert actions.counts([3, 1, 2]) == {3: (0, 0, 0), 1: (1, 0, 0), 2: (0, 1, 0)}
    assert actions.done_by("bob", [1, 2, 3], "like") == {1: True, 2: False, 3: False}
    assert db.counted == [[1, 2, 3]] and db.looked_up == [[1, 2, 3]]


@pytest.mark.parametrize(("kind", "expected"), [("like", (1, 0, 0)), ("share", (0, 0, 1))])
def test_a_like_or_share_and_its_undo_invalidate_exactly_that_posts_count_and_flag(
        store: Store, kind: Kind, expected: tuple[int, int, int]) -> None:
    tiers = CacheTiers(store.clock)
    db = RecordingActions(store)
    actions = CachedActions(db, tiers)
    actions.counts([1, 2])
    actions.done_by("bob", [1, 2], kind)
    actions.done_by("cyd", [1, 2], kind)
    assert actions.act("bob", 1, kind) is True
    assert actions.counts([1, 2]) == {1: expected, 2: (0, 0, 0)}
    assert actions.done_by("bob", [1, 2], kind) == {1: True, 2: False}
    assert actions.done_by("cyd", [1, 2], kind) == {1: False, 2: False}
    assert db.counted[1:] == [[1]] and db.looked_up[2:] == [[1]]  # only what changed
    assert actions.act("bob", 1, kind) is False
    assert actions.counts([1]) == {1: expected}
    assert actions.undo("bob", 1, kind) is True
    assert actions.counts([1, 2]) == {1: (0, 0, 0), 2: (0, 0, 0)}
    assert actions.done_by("bob", [1], kind) == {1: False}


def test_a_reply_invalidates_the_reply_count_and_forget_drops_a_posts_counts(
        store: Store) -> None:
    tiers = CacheTiers(store.clock)
    actions = CachedActions(RecordingActions(store), tiers)
    actions.act("bob", 1, "like")
    assert actions.counts([1]) == {1: (1, 0, 0)}
    assert actions.reply("bob", 1, "one") == 1
    assert actions.reply("bob", 1, "two") == 2
    assert actions.counts([1]) == {1: (1, 2, 0)}
    actions.forget(1)
    assert all(1 not in part for part in tiers.counters.values())
    assert actions.counts([1]) == {1: (0, 0, 0)}


def test_cached_counts_misses_cost_one_round_trip_on_redis(clock: FakeClock) -> None:
    with connect("fakeredis", clock=clock) as store:
        actions = CachedActions(ActionStore(store), CacheTiers(clock))
        with store.record_commands() as recorder:
            actions.counts(list(range(1, 11)))
        assert recorder.round_trips == 1


def test_cached_like_flags_misses_cost_one_round_trip_on_redis(clock: FakeClock) -> None:
    with connect("fakeredis", clock=clock) as store:
        actions = CachedActions(ActionStore(store), CacheTiers(clock))
        with store.record_commands() as recorder:
            actions.done_by("bob", list(range(1, 11)), "like")
        assert recorder.round_trips == 1


# ── the social graph: CachedGraph ────────────────────────────────────────────────────────


def test_cached_graph_lists_are_read_once_until_invalidated() -> None:
    graph = RecordingGraph()
    for user in ("ada", "bob", "cyd"):
        graph.add_user(user)
    graph.follow("bob", "ada")
    cached = CachedGraph(graph, CacheTiers(FakeClock(start=1_700_000_000.0)))
    assert cached.followers("ada") == ("bob",) == cached.followers("ada")
    assert cached.following("bob") == ("ada",) == cached.following("bob")
    assert graph.asked == [("followers", "ada"), ("following", "bob")]
    graph.follow("cyd", "ada")  # behind the cache's back: it still answers the old list
    assert cached.followers("ada") == ("bob",)
    assert cached.follower_count("ada") == 1
    cached.invalidate("cyd", "ada")
    assert cached.followers("ada") == ("bob", "cyd")
    assert cached.following("cyd") == ("ada",)
    assert cached.is_following("cyd", "ada")  # asked of the graph itself
    assert graph.asked[2:] == [("followers", "ada"), ("following", "cyd")]


def test_the_system_invalidates_the_graph_tier_on_follow_unfollow_and_block(store: Store
                                                                           ) -> None:
    system = NewsFeedSystem.create(store, seed=1)
    for user in ("ada", "bob", "cyd"):
        system.register_user(user, name=user.title())
    graph = system.cached_graph
    assert graph.followers("ada") == () and graph.following("bob") == ()
    system.follow("bob", "ada")
    assert graph.followers("ada") == ("bob",) and graph.following("bob") == ("ada",)
    system.follow("cyd", "ada")
    assert graph.followers("ada") == ("bob", "cyd")
    system.unfollow("bob", "ada")
    assert graph.followers("ada") == ("cyd",) and graph.following("bob") == ()
    system.block("ada", "cyd")
    assert graph.followers("ada") == () and graph.following("cyd") == ()


# ── the tiers in the system ──────────────────────────────────────────────────────────────


def test_the_tier_report_names_every_part_and_counts_hits_and_misses(store: Store) -> None:
    system = NewsFeedSystem.create(store, seed=1, mode="push")
    for user in ("ada", "bob"):
        system.register_user(user, name=user.title())
    system.follow("bob", "ada")
    system.publish("ada", "hello")
    system.run_until_idle()
    system.feed("bob")
    report = system.tiers.statistics()
    assert set(report) == {"content.hot", "content.normal", "graph.followers",
                           "graph.following", "action.like", "action.reply", "action.share",
                           "counter.like", "counter.reply", "counter.share", "users.profiles"}
    # the fanout worker's look (is the post still there?) missed and filled the tier; the
    # page's read then hit it
    assert report["content.normal"].misses == 1 and report["content.normal"].hits == 1
    system.feed("bob")
    again = system.tiers.statistics()
    assert again["content.normal"].hits == 2
    assert again["users.profiles"].hits == report["users.profiles"].hits + 1
    assert again["counter.like"].hits == report["counter.like"].hits + 1


def test_a_hot_post_read_on_many_pages_is_promoted_to_the_hot_part(store: Store) -> None:
    system = NewsFeedSystem.create(store, seed=1, mode="push")
    readers = [f"r{n}" for n in range(HOT_AFTER_READS + 1)]
    for user in ("ada", *readers):
        system.register_user(user, name=user.title())
    for reader in readers:
        system.follow(reader, "ada")
    viral = system.publish("ada", "viral").post_id
    system.run_until_idle()
    for reader in readers:
        assert system.feed(reader).post_ids == (viral,)
    assert viral in system.tiers.content_hot


TINY = TierSizes(content_hot=1, content=2, graph=2, actions=2, counters=2, users=2)


def test_tiny_tiers_evict_under_pressure_yet_every_page_stays_right(store: Store) -> None:
    clock = fake_clock(store)
    system = NewsFeedSystem.create(store, seed=1, mode="hybrid", threshold=4, sizes=TINY)
    authors = ["ada", "cyd", "eve", "fay"]
    readers = [f"r{n}" for n in range(6)]
    for user in (*authors, *readers):
        system.register_user(user, name=user.title())
    for n, reader in enumerate(readers):
        for author in authors[: 2 + n % 3]:
            system.follow(reader, author)
    made: dict[PostId, str] = {}
    for n in range(24):
        clock.advance(1.0)
        author = authors[n % len(authors)]
        made[system.publish(author, f"{author} {n}").post_id] = author
        if n % 5 == 0:
            system.like(readers[n % 6], next(iter(made)))
    system.run_until_idle()
    for reader in readers:
        followed = set(system.graph.following(reader))
        expected = sorted((p for p, a in made.items() if a in followed), reverse=True)
        shown: list[PostId] = []
        before: PostId | None = None
        while True:
            page = system.feed(reader, before=before, limit=3)
            shown += page.post_ids
            for item in page.items:
                assert item.author_name == item.author.title()
                assert item.likes == system.actions.store.counts([item.post_id])[
                    item.post_id][0]
            if page.next_cursor is None:
                break
            before = page.next_cursor
        assert shown == expected, reader
    evictions = {name: s.evictions for name, s in system.tiers.statistics().items()}
    for part in ("content.normal", "users.profiles", "counter.like", "graph.following"):
        assert evictions[part] > 0, part
