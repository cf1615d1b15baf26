"""The caching tiers of the news feed (캐시 구조), the notes' table as real caches.

========================== ============================= =====================================
tier (계층)                parts                         what it holds, and what fills it
========================== ============================= =====================================
news feed (뉴스 피드)      feed ids                      post ids per user: the feed cache on
                                                         the store (:mod:`reference.feed.feeds`)
content (콘텐츠)           hot (인기) · normal (일반)    posts by id; a post read often is
                                                         promoted to the small hot part, which
                                                         the normal part's churn cannot evict
social graph (소셜 그래프) followers · following        follower and followee lists by user
action (행동)              liked · replied · other       did this user like / reply to / share
                                                         this post
counters (횟수)            likes · replies · other       counts per post
users                      profiles                      name and photo by user (the user
                                                         cache of the notes' steps 2 and 9)
========================== ============================= =====================================

Each part is a :class:`~reference.blocks.cache.Cache` with a capacity, an eviction policy and
a TTL on the injected clock, and reports hits, misses, hit rate, evictions, entries and bytes
(:meth:`CacheTiers.statistics`). The facades below put them in front of the databases with
the databases' own method names, so the news feed service cannot tell a cache from a store:
every read goes to the cache first, the misses go to the database in one multi-get, and what
came back fills the cache. Every write to a database invalidates what it changed (delete,
never update in place: a racing reader can then at worst refill a value that is current).

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.core.ids import SnowflakeGenerator
>>> from reference.feed.posts import PostStore
>>> from reference.storage import connect
>>> clock = FakeClock(start=1_767_225_600.0)
>>> store = connect("memory", clock=clock)
>>> tiers = CacheTiers(clock)
>>> posts = CachedPosts(PostStore(store, SnowflakeGenerator(clock, worker_id=1)), tiers)
>>> post = posts.create("ada", "hello")
>>> for _ in range(3):
...     _ = posts.get_many([post.post_id])
>>> normal = tiers.statistics()["content.normal"]
>>> normal.hits, normal.misses
(2, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from reference.blocks.cache import Cache, CacheStatistics
from reference.core.clock import Clock

if TYPE_CHECKING:  # the feed package wires these caches in: no import back at run time
    from reference.feed.actions import ActionStore, Kind
    from reference.feed.graph import SocialGraph
    from reference.feed.model import Post, PostId, Profile, UserId
    from reference.feed.posts import PostStore
    from reference.feed.users import UserStore

__all__ = [
    "HOT_AFTER_READS",
    "CacheTiers",
    "CachedActions",
    "CachedGraph",
    "CachedPosts",
    "CachedProfiles",
    "TierSizes",
]

HOT_AFTER_READS: Final = 8  # a post read this often (while its count is cached) turns hot


@dataclass(frozen=True, slots=True)
class TierSizes:
    """Capacity (entries) and TTL (seconds) of each part; small enough to show evictions in
    a notebook, sized like memcache's many small objects (FACTS: median ~230 B)."""

    content_hot: int = 100
    content: int = 2_000
    graph: int = 2_000
    actions: int = 5_000
    counters: int = 5_000
    users: int = 2_000
    content_ttl_s: float = 3_600.0
    hot_ttl_s: float = 600.0
    graph_ttl_s: float = 600.0
    actions_ttl_s: float = 600.0
    counters_ttl_s: float = 60.0
    users_ttl_s: float = 3_600.0


class CacheTiers:
    """Every cache part of the chapter, built on one clock (see the module table)."""

    def __init__(self, clock: Clock, sizes: TierSizes = TierSizes()) -> None:
        self.sizes = sizes

        def part(name: str, capacity: int, ttl_s: float) -> Cache[object, object]:
            return Cache(clock, capacity=capacity, name=name, ttl_s=ttl_s)

        self.content_hot = part("content.hot", sizes.content_hot, sizes.hot_ttl_s)
        self.content = part("content.normal", sizes.content, sizes.content_ttl_s)
        self.read_counts = part("content.read_counts", sizes.content, sizes.hot_ttl_s)
        self.followers = part("graph.followers", sizes.graph, sizes.graph_ttl_s)
        self.following = part("graph.following", sizes.graph, sizes.graph_ttl_s)
        self.actions = {kind: part(f"action.{kind}", sizes.actions, sizes.actions_ttl_s)
                        for kind in ("like", "reply", "share")}
        self.counters = {kind: part(f"counter.{kind}", sizes.counters, sizes.counters_ttl_s)
                         for kind in ("like", "reply", "share")}
        self.users = part("users.profiles", sizes.users, sizes.users_ttl_s)

    def parts(self) -> list[Cache[object, object]]:
        return [self.content_hot, self.content, self.followers, self.following,
                *self.actions.values(), *self.counters.values(), self.users]

    def statistics(self) -> dict[str, CacheStatistics]:
        """Each part's statistics by name (``content.hot``, ``counter.like``, ...)."""
        return {part.name: part.statistics() for part in self.parts()}


class CachedPosts:
    """The content tier in front of the post store: hot part, then normal part, then the
    database (one multi-get for the misses)."""

    def __init__(self, store: PostStore, tiers: CacheTiers, *,
                 hot_after_reads: int = HOT_AFTER_READS) -> None:
        self.store = store
        self.tiers = tiers
        self.hot_after_reads = hot_after_reads

    def create(self, author: UserId, text: str) -> Post:
        return self.store.create(author, text)

    def get_many(self, post_ids: Sequence[PostId]) -> dict[PostId, Post]:
        hot, normal = self.tiers.content_hot, self.tiers.content
        found: dict[PostId, Post] = {}
        for post_id in post_ids:
            post = hot.get(post_id) or normal.get(post_id)
            if post is not None:
                found[post_id] = post  # type: ignore[assignment]
                self._count_read(post)  # type: ignore[arg-type]
        missing = [i for i in post_ids if i not in found]
        for post_id, post in self.store.get_many(missing).items() if missing else ():
            normal.set(post_id, post)
            found[post_id] = post
        return found

    def _count_read(self, post: Post) -> None:
        """A post read ``hot_after_reads`` times while its count is cached turns hot."""
        reads = int(self.tiers.read_counts.peek(post.post_id) or 0) + 1  # type: ignore[call-overload]
        self.tiers.read_counts.set(post.post_id, reads)
        if reads >= self.hot_after_reads and post.post_id not in self.tiers.content_hot:
            self.tiers.content_hot.set(post.post_id, post)  # (again, once its TTL ran out)

    def recent(self, author: UserId, *, limit: int, before: PostId | None = None
               ) -> list[PostId]:
        return self.store.recent(author, limit=limit, before=before)

    def recent_many(self, authors: Sequence[UserId], *, limit: int) -> dict[UserId, list[PostId]]:
        return self.store.recent_many(authors, limit=limit)

    def delete(self, post: Post) -> bool:
        """Delete the post and its cached copies: its content leaves every tier."""
        for part in (self.tiers.content_hot, self.tiers.content, self.tiers.read_counts):
            part.delete(post.post_id)
        return self.store.delete(post)


class CachedGraph:
    """The social graph tier in front of the graph database: follower and followee lists
    cached per user; everything else asked of the graph directly. The system invalidates a
    user's lists when their follows change."""

    def __init__(self, graph: SocialGraph, tiers: CacheTiers) -> None:
        self.graph = graph
        self.tiers = tiers

    def followers(self, user: UserId) -> tuple[UserId, ...]:
        found = self.tiers.followers.get(user)
        if found is None:
            found = self.graph.followers(user)
            self.tiers.followers.set(user, found)
        return found  # type: ignore[return-value]

    def following(self, user: UserId) -> tuple[UserId, ...]:
        found = self.tiers.following.get(user)
        if found is None:
            found = self.graph.following(user)
            self.tiers.following.set(user, found)
        return found  # type: ignore[return-value]

    def follower_count(self, user: UserId) -> int:
        return len(self.followers(user))

    def invalidate(self, *users: UserId) -> None:
        """Forget the cached lists of ``users`` (their follows changed)."""
        for user in users:
            self.tiers.followers.delete(user)
            self.tiers.following.delete(user)

    def is_following(self, follower: UserId, followee: UserId) -> bool:
        return self.graph.is_following(follower, followee)

    def is_muted(self, user: UserId, other: UserId) -> bool:
        return self.graph.is_muted(user, other)

    def audience(self, author: UserId, candidates: Sequence[UserId]) -> list[UserId]:
        return self.graph.audience(author, candidates)

    def muted(self, user: UserId) -> tuple[UserId, ...]:
        return self.graph.muted(user)

    def since(self, follower: UserId, followee: UserId) -> int:
        return self.graph.since(follower, followee)


class CachedProfiles:
    """The user cache in front of the user store (names and photos)."""

    def __init__(self, store: UserStore, tiers: CacheTiers) -> None:
        self.store = store
        self.tiers = tiers

    def profiles(self, user_ids: Sequence[UserId]) -> dict[UserId, Profile]:
        found: dict[UserId, Profile] = self.tiers.users.get_many(user_ids)  # type: ignore[assignment]
        missing = [u for u in user_ids if u not in found]
        for user_id, profile in self.store.profiles(missing).items() if missing else ():
            self.tiers.users.set(user_id, profile)
            found[user_id] = profile
        return found


class CachedActions:
    """The action and counter tiers in front of the action store; every write invalidates
    the counts and the flag it changed."""

    def __init__(self, store: ActionStore, tiers: CacheTiers) -> None:
        self.store = store
        self.tiers = tiers

    def act(self, user: UserId, post_id: PostId, kind: Kind) -> bool:
        changed = self.store.act(user, post_id, kind)
        self._invalidate(user, post_id, kind)
        return changed

    def undo(self, user: UserId, post_id: PostId, kind: Kind) -> bool:
        changed = self.store.undo(user, post_id, kind)
        self._invalidate(user, post_id, kind)
        return changed

    def reply(self, user: UserId, post_id: PostId, text: str) -> int:
        count = self.store.reply(user, post_id, text)
        self._invalidate(user, post_id, "reply")
        return count

    def _invalidate(self, user: UserId, post_id: PostId, kind: Kind) -> None:
        self.tiers.counters[kind].delete(post_id)
        self.tiers.actions[kind].delete((post_id, user))

    def counts(self, post_ids: Sequence[PostId]) -> dict[PostId, tuple[int, int, int]]:
        parts = [self.tiers.counters[k] for k in ("like", "reply", "share")]
        cached = [part.get_many(post_ids) for part in parts]
        missing = [p for p in post_ids if any(p not in c for c in cached)]
        fresh = self.store.counts(missing) if missing else {}
        for post_id, values in fresh.items():
            for part, value in zip(parts, values, strict=True):
                part.set(post_id, value)
        return {p: fresh[p] if p in fresh else (int(cached[0][p]), int(cached[1][p]),  # type: ignore[call-overload]
                                                int(cached[2][p]))  # type: ignore[call-overload]
                for p in post_ids}

    def done_by(self, user: UserId, post_ids: Sequence[PostId], kind: Kind
                ) -> dict[PostId, bool]:
        part = self.tiers.actions[kind]
        cached = part.get_many([(p, user) for p in post_ids])
        missing = [p for p in post_ids if (p, user) not in cached]
        fresh = self.store.done_by(user, missing, kind) if missing else {}
        for post_id, flag in fresh.items():
            part.set((post_id, user), flag)
        return {p: fresh[p] if p in fresh else bool(cached[(p, user)]) for p in post_ids}

    def forget(self, post_id: PostId) -> None:
        self.store.forget(post_id)
        for part in self.tiers.counters.values():
            part.delete(post_id)

