"""A seeded fault scenario for the news feed (장애 시나리오): ten busy minutes, faults included.

:func:`run_feed_scenario` builds a :class:`~reference.feed.system.NewsFeedSystem`, loads a
heavy-tailed follow graph, then plays a schedule drawn from the seed, every action a timer on
the system's simulator beside the fanout rounds::

    posts ──▶ fanout queue ──▶ fanout workers ──▶ feed cache ◀── reads (pages, rebuilds)
      │ deleted, some while    ▲ crash mid-chunk   ▲ a cache node lost (its feeds wiped)
      │ still being fanned out │ (redelivered)     │ evictions under pressure (small caches)
      │ likes, replies, shares └ duplicate deliveries
      └ follows, unfollows, mutes, unmutes, blocks meanwhile (some while a post fans out)

When the schedule has run and the queue is empty, a scroll phase has some users read their
feed a page at a time while their followees keep posting (pages must never skip or repeat),
and finally every user's whole feed is read page by page. Everything is recorded for the
checker (:mod:`reference.feed.checker`): every action in order, with its time and whether it
changed anything, every page read, and the pages of the scroll sessions.

Everything random comes from the seed (one ``Random`` per purpose) and time from the
simulator: the same seed gives the same history, on every backend.

Examples
--------
>>> result = run_feed_scenario(FeedScenarioConfig.calm().scaled(users=12, posts=20), seed=3)
>>> len(result.final_feeds), result.statistics["posts"]
(12, 20)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from random import Random
from typing import Any, Literal

from reference.blocks.lossy_queue import LossyQueue
from reference.cache.tiers import TierSizes
from reference.core.checks import check_int, check_positive_seconds, check_probability
from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument, LabError
from reference.core.faults import CrashPlan
from reference.feed.fanout import AFTER_PUSH
from reference.feed.feeds import FeedShape
from reference.feed.graph import follower_graph
from reference.feed.model import PostId, UserId
from reference.feed.system import Mode, NewsFeedSystem
from reference.storage import Store, connect

__all__ = [
    "Action",
    "FeedScenarioConfig",
    "FeedScenarioResult",
    "PageRead",
    "build_feed_system",
    "run_feed_scenario",
]

START_S = 1_767_225_600.0  # 2026-01-01 00:00 UTC
SCROLL_USERS = 4  # users who scroll while their followees post, after the busy minutes
SCROLL_PAGE = 4  # posts per page while scrolling
FINAL_PAGE = 7  # posts per page when every feed is read at the end


@dataclass(frozen=True, slots=True)
class FeedScenarioConfig:
    """The knobs of a scenario; every rate is a probability in [0, 1].

    Parameters
    ----------
    users, posts : int
        Population, and posts published during ``horizon_s``.
    mean_following : float
        The follow graph's average out-degree (heavy-tailed in-degree).
    mode, threshold, shape : the fanout mode, the hybrid's follower threshold, the feed shape.
    churn_rate : float
        Per post: some user follows, unfollows, mutes, unmutes or blocks someone.
    delete_rate : float
        Per post: it is deleted later (half of those within 2 s: while it fans out).
    reaction_rate : float
        Per post: a reader likes, unlikes, shares or replies to it.
    read_rate : float
        Per post: some user reads one or two pages (a first read caches their feed).
    active_share : float
        The share of users who read their feed at the start (the rest are inactive: no
        fanout to them until they come back).
    crash_rate : float
        Per task a worker takes: it dies after writing the feeds, before the ack.
    duplicate_rate : float
        Per task published: the queue delivers it twice.
    node_loss_rate : float
        Per post: a feed cache node is lost at a random moment (its feeds wiped).
    small_caches : bool
        Caching tiers a few entries large, so they evict under pressure.
    """

    users: int = 40
    posts: int = 120
    horizon_s: float = 600.0
    mean_following: float = 6.0
    mode: Mode = "hybrid"
    threshold: int = 8
    shape: FeedShape = "sorted"
    churn_rate: float = 0.0
    delete_rate: float = 0.0
    reaction_rate: float = 0.3
    read_rate: float = 0.3
    active_share: float = 0.7
    crash_rate: float = 0.0
    duplicate_rate: float = 0.0
    node_loss_rate: float = 0.0
    small_caches: bool = False
    workers: int = 2

    def __post_init__(self) -> None:
        check_int("users", self.users, 2)
        check_int("posts", self.posts, 1)
        check_int("threshold", self.threshold, 0)
        check_int("workers", self.workers, 1)
        check_positive_seconds("horizon_s", self.horizon_s)
        check_positive_seconds("mean_following", self.mean_following)
        for name in ("churn_rate", "delete_rate", "reaction_rate", "read_rate", "active_share",
                     "crash_rate", "duplicate_rate", "node_loss_rate"):
            check_probability(name, getattr(self, name))
        if self.mode not in ("push", "pull", "hybrid"):
            raise InvalidArgument.bad_value("mode", self.mode, "'push', 'pull' or 'hybrid'")
        if self.shape not in ("sorted", "list"):
            raise InvalidArgument.bad_value("shape", self.shape, "'sorted' or 'list'")

    @classmethod
    def calm(cls) -> FeedScenarioConfig:
        """Ten good minutes: people post, read and react; nothing breaks."""
        return cls()

    @classmethod
    def stormy(cls) -> FeedScenarioConfig:
        """Ten bad minutes: workers crash mid-chunk, the queue duplicates tasks, cache nodes are
        lost, small caches evict, and people unfollow, block and delete while posts fan out."""
        return cls(churn_rate=0.4, delete_rate=0.15, crash_rate=0.05, duplicate_rate=0.2,
                   node_loss_rate=0.03, small_caches=True)

    def scaled(self, *, users: int, posts: int) -> FeedScenarioConfig:
        """The same weather with another population (horizon scaled with the posts)."""
        return replace(self, users=users, posts=posts,
                       horizon_s=self.horizon_s * posts / self.posts)


@dataclass(frozen=True, slots=True)
class Action:
    """One user action as the scenario did it, in order: ``kind`` (register, follow,
    unfollow, mute, unmute, block, publish, delete, like, unlike, share, reply,
    lose_node), who did it to whom or what, and whether it changed anything
    (``error`` names a refusal)."""

    seq: int
    at: float
    kind: str
    user: UserId = ""
    other: UserId = ""
    post_id: PostId = 0
    changed: bool = True
    error: str = ""


@dataclass(frozen=True, slots=True)
class PageRead:
    """One page a user read after ``seq`` actions: its post ids and the counts it showed."""

    seq: int
    at: float
    user: UserId
    before: PostId | None
    post_ids: tuple[PostId, ...]
    counts: tuple[tuple[int, int, int], ...]
    next_cursor: PostId | None


@dataclass(frozen=True, slots=True)
class FeedScenarioResult:
    """Everything a scenario did, for the checker and for plots."""

    config: FeedScenarioConfig
    seed: int
    backend: str
    actions: tuple[Action, ...]
    reads: tuple[PageRead, ...]
    sessions: tuple[tuple[PageRead, ...], ...]  # scroll sessions: pages in order
    final_feeds: dict[UserId, tuple[PageRead, ...]]  # every user's whole feed, page by page
    crashes: int
    statistics: dict[str, Any]

    def fingerprint(self) -> str:
        """A short digest of the whole history: equal histories, equal fingerprints."""
        digest = hashlib.sha256()
        for part in (self.actions, self.reads, self.sessions,
                     sorted(self.final_feeds.items())):
            digest.update(repr(part).encode("utf-8"))
        return digest.hexdigest()[:16]


Builder = Callable[[Store, FeedScenarioConfig, int], NewsFeedSystem]


def build_feed_system(store: Store, config: FeedScenarioConfig, seed: int,
                      **overrides: Any) -> NewsFeedSystem:
    """The system a scenario runs on; ``overrides`` replace any argument of
    :meth:`NewsFeedSystem.create` (a broken part, for a checker test)."""
    if config.duplicate_rate:
        store = replace(store, queue=LossyQueue(store.queue, rng=Random(f"{seed}:broker"),
                                                loss_rate=0.0,
                                                duplicate_rate=config.duplicate_rate))
    options: dict[str, Any] = {
        "seed": seed, "mode": config.mode, "threshold": config.threshold,
        "shape": config.shape, "workers": config.workers,
        "sizes": TierSizes(content_hot=3, content=12, graph=8, actions=20, counters=20,
                           users=8) if config.small_caches else TierSizes(),
        "crash_plan": CrashPlan.drawn([AFTER_PUSH], rate=config.crash_rate,
                                      arrivals=config.posts * 8, rng=Random(f"{seed}:crashes")),
    }
    options.update(overrides)
    return NewsFeedSystem.create(store, **options)


class _Runner:
    """Plays one scenario: every action a timer on the system's simulator."""

    def __init__(self, system: NewsFeedSystem, config: FeedScenarioConfig, seed: int) -> None:
        self.system, self.config = system, config
        self.rng = Random(f"{seed}:world")
        self.actions: list[Action] = []
        self.reads: list[PageRead] = []
        self.users: list[UserId] = []
        self.posts: list[PostId] = []

    def record(self, kind: str, call: Callable[[], object], **fields: Any) -> object:
        """Do ``call`` and record the action (a typed refusal is recorded, not raised)."""
        result: object = None
        error = ""
        try:
            result = call()
        except LabError as exc:
            error = type(exc).__name__
        self.actions.append(Action(len(self.actions), self.system.clock.now(), kind,
                                   changed=bool(result), error=error, **fields))
        return result

    def setup(self) -> None:
        graph = follower_graph(self.config.users, seed=self.rng.randrange(2**31),
                               mean_following=self.config.mean_following)
        self.users = list(graph.users())
        system = self.system
        for user in self.users:
            self.record("register", partial(system.register_user, user, name=user.upper()),
                        user=user)
        for user in self.users:
            for followee in graph.following(user):
                self.record("follow", partial(system.follow, user, followee),
                            user=user, other=followee)
        for user in self.users:
            if self.rng.random() < self.config.active_share:
                self.read(user, pages=1)

    def schedule(self) -> None:
        cfg, rng, sim = self.config, self.rng, self.system.sim
        start = self.system.clock.now()
        for _ in range(cfg.posts):
            at = start + rng.uniform(0.0, cfg.horizon_s)
            sim.call_at(at, self.publish, rng.choice(self.users))
            if rng.random() < cfg.churn_rate:
                sim.call_at(at + rng.choice((0.0, rng.uniform(0.0, 2.0))), self.churn)
            if rng.random() < cfg.read_rate:
                sim.call_at(start + rng.uniform(0.0, cfg.horizon_s), self.read,
                            rng.choice(self.users), rng.choice((1, 2)))
            if rng.random() < cfg.reaction_rate:
                sim.call_at(at + rng.uniform(0.0, 60.0), self.react)
            if rng.random() < cfg.delete_rate:
                sim.call_at(at + rng.choice((rng.uniform(0.0, 2.0), rng.uniform(2.0, 300.0))),
                            self.delete)
            if rng.random() < cfg.node_loss_rate:
                sim.call_at(start + rng.uniform(0.0, cfg.horizon_s), self.lose_node)

    # ── the actions ──────────────────────────────────────────────────────────────────────
    def publish(self, author: UserId) -> None:
        post = self.system.publish(author, f"post by {author} at {self.system.clock.now():.3f}")
        self.posts.append(post.post_id)
        self.actions.append(Action(len(self.actions), self.system.clock.now(), "publish",
                                   user=author, post_id=post.post_id))

    def churn(self) -> None:
        rng, system = self.rng, self.system
        user, other = rng.sample(self.users, 2)
        kind = rng.choice(("follow", "follow", "unfollow", "unfollow", "mute", "unmute",
                           "block"))
        verb = {"follow": system.follow, "unfollow": system.unfollow, "mute": system.mute,
                "unmute": system.unmute, "block": system.block}[kind]
        if kind in ("unfollow", "mute") and system.graph.following(user):
            other = rng.choice(system.graph.following(user))  # someone they follow
        elif kind == "unmute" and system.graph.muted(user):
            other = rng.choice(system.graph.muted(user))
        self.record(kind, lambda: verb(user, other), user=user, other=other)

    def react(self) -> None:
        if not self.posts:
            return
        rng, system = self.rng, self.system
        user, post_id = rng.choice(self.users), rng.choice(self.posts[-20:])
        kind = rng.choice(("like", "like", "unlike", "share", "reply"))
        calls: dict[str, Callable[[], object]] = {
            "like": lambda: system.like(user, post_id),
            "unlike": lambda: system.unlike(user, post_id),
            "share": lambda: system.share(user, post_id),
            "reply": lambda: system.reply(user, post_id, "nice"),
        }
        self.record(kind, calls[kind], user=user, post_id=post_id)

    def delete(self) -> None:
        if self.posts:
            post_id = self.rng.choice(self.posts[-5:])
            self.record("delete", lambda: self.system.delete_post(post_id), post_id=post_id)

    def lose_node(self) -> None:
        node = self.rng.choice(self.system.ring.nodes)
        self.record("lose_node", lambda: self.system.lose_feed_node(node), user=node)

    def page(self, user: UserId, before: PostId | None, limit: int) -> PageRead:
        """One page of ``user``'s feed, as recorded for the checker."""
        page = self.system.feed(user, before=before, limit=limit)
        return PageRead(len(self.actions), self.system.clock.now(), user, before,
                        page.post_ids, tuple((i.likes, i.replies, i.shares) for i in page.items),
                        page.next_cursor)

    def read(self, user: UserId, pages: int = 1) -> tuple[PageRead, ...]:
        """``user`` reads ``pages`` pages (all of them if 0) from the top."""
        read: list[PageRead] = []
        before: PostId | None = None
        while True:
            read.append(self.page(user, before, FINAL_PAGE))
            before = read[-1].next_cursor
            if before is None or len(read) == pages:
                break
        self.reads.extend(read)
        return tuple(read)

    def scroll(self, user: UserId) -> tuple[PageRead, ...]:
        """``user`` scrolls a page at a time while the accounts they follow keep posting
        (each new post fanned out before the next page)."""
        pages: list[PageRead] = []
        before: PostId | None = None
        followees = list(self.system.graph.following(user))
        for _ in range(4):
            pages.append(self.page(user, before, SCROLL_PAGE))
            before = pages[-1].next_cursor
            if before is None:
                break
            for author in followees[:2]:
                self.publish(author)
            self.system.run_until_idle()
            self.system.clock.advance(1.0)
        return tuple(pages)


def run_feed_scenario(config: FeedScenarioConfig, seed: int, *,
                      backend: Literal["memory", "fakeredis", "redis"] = "memory",
                      build: Builder | None = None,
                      namespace: str | None = None) -> FeedScenarioResult:
    """Run one seeded news feed scenario and record its history.

    Parameters
    ----------
    config : FeedScenarioConfig
        Population, traffic and faults.
    seed : int
        Every random choice derives from it.
    backend : {"memory", "fakeredis", "redis"}
        The storage backend; "redis" uses ``$REDIS_URL`` (a fresh namespace, flushed after).
    build : callable, optional
        ``build(store, config, seed) -> NewsFeedSystem``; default :func:`build_feed_system`.
    """
    if not isinstance(config, FeedScenarioConfig):
        raise InvalidArgument.bad_value("config", config, "a FeedScenarioConfig")
    check_int("seed", seed, 0)
    clock = FakeClock(start=START_S)
    store = connect(backend, clock=clock, namespace=namespace or f"feed-scenario-{seed}")
    try:
        if backend == "redis":
            store.flush()
        system = (build or build_feed_system)(store, config, seed)
        runner = _Runner(system, config, seed)
        runner.setup()
        runner.schedule()
        system.run_until_idle()
        posts = len(runner.posts)
        sessions = tuple(runner.scroll(user) for user in runner.rng.sample(
            runner.users, min(SCROLL_USERS, len(runner.users))))
        final = {user: runner.read(user, pages=0) for user in runner.users}
        return FeedScenarioResult(
            config=config, seed=seed, backend=backend, actions=tuple(runner.actions),
            reads=tuple(runner.reads), sessions=sessions, final_feeds=final,
            crashes=len(system.sim.crash_plan.fired),
            statistics={"posts": posts, "rounds": system.rounds,
                        "feeds": system.feed_statistics(), "reader": system.reader.statistics()},
        )
    finally:
        if backend == "redis":
            store.flush()
        store.close()
