"""The whole news feed system (뉴스 피드 시스템) wired on one store and one simulator.

:class:`NewsFeedSystem` is the chapter's bootstrap: it builds nothing new, it only wires the
parts, and it is where every user action enters::

    publish ─▶ post store ─▶ fanout service ─▶ fanout queue ─▶ fanout workers ─▶ feed cache
               (포스팅 저장소) (포스팅 전송)     push: chunks    (timers on the   (뉴스 피드
                               │ pull: noted for reads            simulator)       캐시)
    feed(user) ─▶ load balancer ─▶ web server ─▶ news feed service ─▶ feed cache,
                                                 content / user / counter / action caches

============== ====================================================== ========================
attribute      component                                              module
============== ====================================================== ========================
``graph``      social graph (그래프 데이터베이스), behind its cache   :mod:`.graph`
``users``      profiles and activity                                  :mod:`.users`
``posts``      the post store, behind the content cache               :mod:`.posts`
``actions``    likes, replies, shares, behind the action and counter  :mod:`.actions`
               caches
``feeds``      the feed cache (sorted timelines or capped lists)      :mod:`.feeds`
``fanout``     push / pull / hybrid decision and the fanout queue     :mod:`.fanout`
``workers``    fanout workers                                         :mod:`.fanout`
``reader``     the news feed service (read path)                      :mod:`.read`
``web``        load balancer and stateless web servers                :mod:`.web`
``tiers``      the caching tiers (캐시 구조)                          :mod:`~.cache.tiers`
``ring``       which feed cache node holds whose feed                 :mod:`~.blocks.hash_ring`
============== ====================================================== ========================

Time runs on the lab's simulator: while the fanout queue holds tasks, a *round* timer lets
each worker poll (each poll a timer of its own) a tick apart; with nothing queued, no timer is
left, and a new post wakes the round again.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> system = NewsFeedSystem.create(connect("memory", clock=FakeClock(start=1_767_225_600.0)),
...                                seed=1, threshold=2)          # hybrid: 2+ followers: pulled
>>> for name in ("ada", "bob", "cyd"):
...     _ = system.register_user(name, name=name.title())
>>> _ = system.follow("bob", "ada"), system.follow("cyd", "ada"), system.follow("bob", "cyd")
>>> system.publish("ada", "pulled: ada has 2 followers").post_id > 0
True
>>> _ = system.publish("cyd", "pushed: cyd has 1 follower")
>>> _ = system.run_until_idle()
>>> [item.text for item in system.feed("bob").items]
['pushed: cyd has 1 follower', 'pulled: ada has 2 followers']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from reference.blocks.hash_ring import HashRing
from reference.cache.tiers import (
    CachedActions,
    CachedGraph,
    CachedPosts,
    CachedProfiles,
    CacheTiers,
    TierSizes,
)
from reference.core.checks import check_int, check_positive_seconds
from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument, NotFound
from reference.core.faults import CrashPlan
from reference.core.ids import SnowflakeGenerator
from reference.core.sim import Simulation, Timer
from reference.feed.actions import ActionStore, Kind
from reference.feed.fanout import (
    FanoutPlan,
    FanoutService,
    FanoutWorker,
    PullAuthors,
)
from reference.feed.feeds import FeedCacheStatistics, FeedShape, feed_key, feeds_on
from reference.feed.graph import SocialGraph
from reference.feed.model import (
    FANOUT_GROUP,
    FANOUT_QUEUE,
    FOLLOW_BACKFILL_POSTS,
    PAGE_SIZE,
    FeedPage,
    Post,
    PostId,
    Profile,
    UserId,
)
from reference.feed.posts import PostStore, check_text
from reference.feed.read import NewsFeedService
from reference.feed.users import UserStore, check_user_id
from reference.feed.web import LoadBalancer, WebServer
from reference.storage import Store
from reference.storage.checks import check_id

__all__ = ["DEFAULT_TICK_S", "FEED_NODES", "NewsFeedSystem", "mode_threshold"]

DEFAULT_TICK_S: Final = 1.0  # time between fanout rounds while tasks are queued
FEED_NODES: Final = ("feed-cache-1", "feed-cache-2", "feed-cache-3", "feed-cache-4")
Mode = Literal["push", "pull", "hybrid"]
DEFAULT_SIZES: Final = TierSizes()
DEFAULT_CELEBRITY_FOLLOWERS: Final = 10_000


def _check_nodes(nodes: object) -> tuple[str, ...]:
    """The feed cache's node names: a list or tuple of distinct non-empty strings."""
    if isinstance(nodes, str) or not isinstance(nodes, Sequence) or not nodes or any(
            not isinstance(n, str) or not n for n in nodes) or len(set(nodes)) != len(nodes):
        raise InvalidArgument.bad_value("feed_nodes", nodes,
                                        "a list or tuple of distinct, non-empty node names")
    return tuple(nodes)


def mode_threshold(mode: Mode, threshold: int | None = None) -> int | None:
    """The follower threshold of a fanout mode: push (None: never pull), pull (0: always),
    hybrid (``threshold``, default 10,000 followers)."""
    if mode == "push":
        return None
    if mode == "pull":
        return 0
    if mode == "hybrid":
        return DEFAULT_CELEBRITY_FOLLOWERS if threshold is None else threshold
    raise InvalidArgument.bad_value("mode", mode, "'push', 'pull' or 'hybrid'")


@dataclass(frozen=True, slots=True)
class _Parts:
    graph: SocialGraph
    cached_graph: CachedGraph
    users: UserStore
    posts: CachedPosts
    actions: CachedActions


class NewsFeedSystem:
    """Chapter 11 end to end. Build it with :meth:`create`; the constructor only stores parts.

    Notes
    -----
    Wiring only: every behaviour is the components'. The user actions check their input
    here, at the boundary, before anything is written.
    """

    def __init__(self, *, store: Store, sim: Simulation, parts: _Parts,
                 fanout: FanoutService, workers: list[FanoutWorker], reader: NewsFeedService,
                 web: LoadBalancer, tiers: CacheTiers, ring: HashRing, tick_s: float) -> None:
        self.store, self.sim, self.clock = store, sim, sim.clock
        self.graph, self.users = parts.graph, parts.users
        self.cached_graph, self.posts, self.actions = parts.cached_graph, parts.posts, parts.actions
        self.feeds = reader.feeds
        self.fanout, self.workers, self.reader, self.web = fanout, workers, reader, web
        self.tiers, self.ring, self.tick_s = tiers, ring, tick_s
        self._round: Timer | None = None
        self.rounds = 0
        self.last_plan: FanoutPlan | None = None  # the fanout decision of the last post

    @classmethod
    def create(cls, store: Store, *, seed: int | str, mode: Mode = "hybrid",
               threshold: int | None = None, shape: FeedShape = "sorted",
               workers: int = 2, web_servers: int = 3, sizes: TierSizes = DEFAULT_SIZES,
               crash_plan: CrashPlan | None = None, tick_s: float = DEFAULT_TICK_S,
               feed_nodes: Sequence[str] = FEED_NODES) -> NewsFeedSystem:
        """Wire every chapter-11 component on ``store`` (whose clock must be a FakeClock).

        Parameters
        ----------
        mode : "push", "pull" or "hybrid"
            Fanout on write, on read, or push below ``threshold`` followers (default 10,000).
        shape : "sorted" or "list"
            The feed cache's structure.
        workers, web_servers : int
            Fanout workers; stateless web servers behind the load balancer.
        sizes : TierSizes
            Capacities and TTLs of the caching tiers.
        crash_plan : CrashPlan, optional
            Where fanout workers die (the simulator holds it).
        feed_nodes : sequence of str
            The feed cache's nodes on a consistent-hash ring (losing one wipes its feeds).
        """
        if not isinstance(store, Store) or not isinstance(store.clock, FakeClock):
            raise InvalidArgument.bad_value("store", store,
                                            "a Store on a FakeClock (reference.storage.connect)")
        if threshold is not None:
            check_int("threshold", threshold, 0)
        cut = mode_threshold(mode, threshold)
        nodes = _check_nodes(feed_nodes)
        if shape not in ("sorted", "list"):
            raise InvalidArgument.bad_value("shape", shape, "'sorted' or 'list'")
        check_int("workers", workers, 1, 64)
        check_int("web_servers", web_servers, 1, 64)
        check_positive_seconds("tick_s", tick_s)
        if not isinstance(sizes, TierSizes):
            raise InvalidArgument.bad_value("sizes", sizes, "a TierSizes")
        sim = Simulation(seed, clock=store.clock, crash_plan=crash_plan)
        tiers = CacheTiers(store.clock, sizes)
        graph = SocialGraph()
        users = UserStore(store)
        parts = _Parts(graph, CachedGraph(graph, tiers), users,
                       CachedPosts(PostStore(store, SnowflakeGenerator(store.clock, worker_id=2)),
                                   tiers),
                       CachedActions(ActionStore(store), tiers))
        feeds = feeds_on(store, shape)
        pulled = PullAuthors(store.kv)
        fanout = FanoutService(parts.cached_graph, store.queue, pulled, threshold=cut)
        pool = [FanoutWorker(f"fanout-{n}", store.queue, parts.cached_graph, users, feeds,
                             parts.posts, crash_plan=sim.crash_plan)
                for n in range(1, workers + 1)]
        reader = NewsFeedService(graph=parts.cached_graph, users=users, feeds=feeds,
                                 posts=parts.posts, profiles=CachedProfiles(users, tiers),
                                 reactions=parts.actions, pulled=pulled)
        web = LoadBalancer([WebServer(f"web-{n}", reader) for n in range(1, web_servers + 1)])
        return cls(store=store, sim=sim, parts=parts, fanout=fanout,
                   workers=pool, reader=reader, web=web, tiers=tiers,
                   ring=HashRing(nodes), tick_s=tick_s)

    # ── users and follows ────────────────────────────────────────────────────────────────
    def register_user(self, user_id: UserId, *, name: str,
                      photo_url: str | None = None) -> Profile:
        """Create a user: a profile and a node in the social graph."""
        profile = self.users.register(user_id, name=name, photo_url=photo_url)
        self.graph.add_user(user_id)
        return profile

    def _known(self, *user_ids: UserId) -> None:
        for user_id in user_ids:
            check_user_id("user_id", user_id)
            if not self.graph.has_user(user_id):
                raise NotFound("user", user_id)

    def follow(self, follower: UserId, followee: UserId) -> bool:
        """``follower`` follows ``followee``: the followee's 100 most recent posts are copied
        into the follower's feed (if it is cached) and older ones are never shown."""
        self._known(follower, followee)
        recent = self.posts.recent(followee, limit=FOLLOW_BACKFILL_POSTS)
        since = recent[-1] if len(recent) == FOLLOW_BACKFILL_POSTS else 0
        new = self.graph.follow(follower, followee, since_post_id=since)
        self.cached_graph.invalidate(follower, followee)
        if new and recent:
            self.feeds.backfill(follower, recent)
        return new

    def unfollow(self, follower: UserId, followee: UserId) -> bool:
        """Stop following: the followee's posts leave the follower's feed."""
        self._known(follower, followee)
        gone = self.graph.unfollow(follower, followee)
        self.cached_graph.invalidate(follower, followee)
        if gone:
            self._forget_posts(follower, followee)
        return gone

    def _forget_posts(self, reader: UserId, author: UserId) -> None:
        self.feeds.remove([reader], self.posts.recent(author, limit=self.feeds.max_entries))

    def mute(self, user: UserId, other: UserId) -> bool:
        """Hide ``other``'s posts from ``user``'s feed (still following)."""
        self._known(user, other)
        return self.graph.mute(user, other)

    def unmute(self, user: UserId, other: UserId) -> bool:
        """Show ``other``'s posts again: fanout skipped them meanwhile, so the feed is
        rebuilt on the next read."""
        self._known(user, other)
        changed = self.graph.unmute(user, other)
        if changed:
            self.feeds.drop(user)
        return changed

    def block(self, user: UserId, other: UserId) -> bool:
        """Block: follows in both directions end, and each one's posts leave the other's
        feed."""
        self._known(user, other)
        changed = self.graph.block(user, other)
        self.cached_graph.invalidate(user, other)
        self._forget_posts(user, other)
        self._forget_posts(other, user)
        return changed

    # ── posts ────────────────────────────────────────────────────────────────────────────
    def publish(self, author: UserId, text: str) -> Post:
        """Store a post and start its fanout (the notes' steps 1-4)."""
        self._known(author)
        check_text("text", text)
        self._touch(author)
        post = self.posts.create(author, text)
        self.last_plan = self.fanout.publish(post)
        self.wake()
        return post

    def delete_post(self, post_id: PostId) -> bool:
        """Delete a post: its content leaves the post store and every cache, and its id every
        follower's feed. False if there was no such post."""
        found = self.posts.get_many([check_id("post_id", post_id)]).get(post_id)
        if found is None:
            return False
        self.posts.delete(found)
        self.actions.forget(post_id)
        self.feeds.remove(self.cached_graph.followers(found.author), [post_id])
        return True

    def like(self, user: UserId, post_id: PostId) -> bool:
        return self._act(user, post_id, "like")

    def share(self, user: UserId, post_id: PostId) -> bool:
        return self._act(user, post_id, "share")

    def unlike(self, user: UserId, post_id: PostId) -> bool:
        self._known(user)
        return self.actions.undo(user, check_id("post_id", post_id), "like")

    def reply(self, user: UserId, post_id: PostId, text: str) -> int:
        self._known(user)
        check_text("text", text)
        self._exists(post_id)
        return self.actions.reply(user, post_id, text)

    def _act(self, user: UserId, post_id: PostId, kind: Kind) -> bool:
        self._known(user)
        self._exists(post_id)
        return self.actions.act(user, post_id, kind)

    def _exists(self, post_id: PostId) -> Post:
        found = self.posts.get_many([check_id("post_id", post_id)]).get(post_id)
        if found is None:
            raise NotFound("post", post_id)
        return found

    # ── reads ────────────────────────────────────────────────────────────────────────────
    def feed(self, user: UserId, *, before: PostId | None = None,
             limit: int = PAGE_SIZE) -> FeedPage:
        """A page of ``user``'s feed through the load balancer (the notes' steps 5-10)."""
        self._known(user)
        page: FeedPage = self.web.get_feed(user, before=before, limit=limit)
        return page

    def _touch(self, user: UserId) -> None:
        if self.users.touch(user):
            self.feeds.drop(user)  # back after a while: not kept up to date meanwhile

    def feed_statistics(self) -> FeedCacheStatistics:
        """The news feed tier's statistics, with what every user's cached feed holds now."""
        return self.feeds.statistics(self.graph.users())

    # ── faults ───────────────────────────────────────────────────────────────────────────
    def lose_feed_node(self, node: str) -> int:
        """A feed cache node is lost: every feed it held is wiped (rebuilt on a miss)."""
        if node not in self.ring:
            raise InvalidArgument.bad_value("node", node, f"one of {self.ring.nodes}")
        return sum(self.feeds.drop(u) for u in self.graph.users()
                   if self.ring.node_for(feed_key(u)) == node)

    # ── running: fanout rounds are timers on the simulator ───────────────────────────────
    def wake(self) -> None:
        """Have a fanout round run now (a post was queued)."""
        if self._round is None or self._round.state != "pending":
            self._round = self.sim.call_later(0.0, self._fanout_round)

    def _fanout_round(self) -> None:
        """Timer: each worker polls (a timer each); then the next round, if tasks remain."""
        for worker in self.workers:
            self.sim.call_later(0.0, worker.poll)
        self.sim.call_later(0.0, self._end_round)

    def _end_round(self) -> None:
        self.rounds += 1
        if self.store.queue.statistics(FANOUT_QUEUE, FANOUT_GROUP).lag:
            self._round = self.sim.call_later(self.tick_s, self._fanout_round)

    def run_until_idle(self) -> int:
        """Run the simulator until no timer is left (every queued fanout task done); return
        the fanout rounds taken."""
        before = self.rounds
        self.sim.run()
        return self.rounds - before

    def run_until(self, t: float) -> int:
        """Run the simulator until its clock reaches ``t``; return the rounds taken."""
        before = self.rounds
        self.sim.run_until(t)
        return self.rounds - before

    def __repr__(self) -> str:
        return (f"NewsFeedSystem(backend={self.store.backend!r}, "
                f"threshold={self.fanout.threshold!r}, feeds={self.feeds.shape!r})")
