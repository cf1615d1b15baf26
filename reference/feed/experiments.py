"""Experiments behind the chapter-11 notebook's plots: each runs the real system, seeded.

Each function answers one question an interviewer asks, with numbers rather than prose:

=============================== ===========================================================
function                        the question
=============================== ===========================================================
:func:`fanout_experiment`       push, pull or hybrid: what does a post cost to write, a feed
                                load to read, how long until the last follower can see a
                                post, how many feed entries are cached?
:func:`threshold_sweep`         the hybrid's celebrity threshold (유명인 기준): the same
                                numbers as it moves from "pull everyone" to "push everyone"
:func:`tier_experiment`         the five cache tiers (캐시 구조) under a skewed read load:
                                each part's hit rate, with and without the hot part
:func:`feed_shape_experiment`   capped list or sorted timeline for the feed cache: Redis
                                commands to write, read, rebuild and delete
:func:`pagination_experiment`   paging while posts arrive and go: cursor vs offset
:func:`lost_node_experiment`    a feed cache node is lost: how many feeds, and what the next
                                reads cost
=============================== ===========================================================

Every function builds its own :class:`~reference.feed.system.NewsFeedSystem` on a fresh
store and :class:`~reference.core.clock.FakeClock`, so the same arguments give the same
result. The large runs use the ``memory`` backend behind a :class:`RoundTripMeter`, which
counts each call of a storage port: on Redis each such call is one round trip (one command
or one pipeline), which the tests check against fakeredis's own command recorder.

Examples
--------
>>> push = fanout_experiment("push", users=300, posts=40, readers=30, seed=1)
>>> pull = fanout_experiment("pull", users=300, posts=40, readers=30, seed=1)
>>> push.writes_per_post > pull.writes_per_post == 0.0
True
>>> pull.post_lists_per_load > push.post_lists_per_load
True
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from random import Random
from typing import Any, Final, Literal

from reference.blocks.lossy_queue import LossyQueue
from reference.cache.tiers import HOT_AFTER_READS, TierSizes
from reference.core.checks import check_int, check_positive_seconds, check_probability
from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument
from reference.feed.fanout import FanoutPlan
from reference.feed.feeds import BOTTOM, FeedShape, feed_key
from reference.feed.graph import SocialGraph, follower_graph
from reference.feed.model import Post, PostId, UserId
from reference.feed.system import Mode, NewsFeedSystem
from reference.storage import Store, connect

__all__ = [
    "START_S",
    "TIER_TABLE",
    "FanoutResult",
    "FeedShapeResult",
    "LostNodeResult",
    "PaginationResult",
    "PostDelivery",
    "RoundTripMeter",
    "ThresholdSweep",
    "TierResult",
    "fanout_experiment",
    "feed_shape_experiment",
    "lost_node_experiment",
    "offset_pages",
    "pagination_experiment",
    "percentile",
    "threshold_sweep",
    "tier_experiment",
]

START_S: Final = 1_767_225_600.0  # 2026-01-01 00:00 UTC
DAY_S: Final = 86_400.0
_PORTS: Final = ("kv", "id_timeline", "lists", "counter", "queue")


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) by the nearest-rank method; 0.0 for no values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([], 99)
    (2.0, 0.0)
    """
    if not 0 <= p <= 100:
        raise InvalidArgument.bad_value("p", p, "a percentile in 0..100")
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


# ── counting round trips on the memory backend ─────────────────────────────────────────────


def _touched(args: tuple[Any, ...]) -> tuple[str, int]:
    """What a storage call touched, from its first argument: the kind of key (``feed``,
    ``posts`` for an author's post list, ``post`` for content, ``user``, ``active``,
    ``pull-authors``, ``likes``, ...) and how many keys (a multi-key call: all of them)."""
    first = args[0] if args else ""
    keys = list(first) if isinstance(first, (list, tuple)) else [first]
    kind = str(keys[0]).split(":")[0] if keys and isinstance(keys[0], str) else ""
    return kind, len(keys)


class _MeteredPort:
    """A storage port that tallies each call (and the keys it touched), then makes it."""

    def __init__(self, port: Any, name: str, meter: RoundTripMeter) -> None:
        self._port, self._name, self._meter = port, name, meter

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._port, attribute)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            kind, keys = _touched(args)
            self._meter.calls[f"{self._name}.{attribute}", kind] += 1
            self._meter.keys[kind] += keys
            return value(*args, **kwargs)

        return call


class RoundTripMeter:
    """Counts the storage calls a store's users make: each one a round trip on Redis.

    Parameters
    ----------
    store : Store
        The store to meter; :attr:`store` is the same store with every port metered.

    Attributes
    ----------
    calls : Counter of (port.method, kind of key)
        Storage calls since the last :meth:`reset`.
    keys : Counter of kind of key
        Keys those calls touched (a multi-get of 20 posts: one call, 20 ``post`` keys).

    Examples
    --------
    >>> meter = RoundTripMeter(connect("memory", clock=FakeClock(start=START_S)))
    >>> meter.store.kv.set("post:{1}", "hello"), meter.store.kv.get_many(["post:{1}", "post:{2}"])
    (True, ['hello', None])
    >>> meter.total(), meter.by_kind(), meter.keys["post"]
    (2, {'post': 2}, 3)
    """

    def __init__(self, store: Store) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.keys: Counter[str] = Counter()
        metered: dict[str, Any] = {name: _MeteredPort(getattr(store, name), name, self)
                                   for name in _PORTS}
        self.store = replace(store, **metered)

    def reset(self) -> None:
        self.calls.clear()
        self.keys.clear()

    def total(self) -> int:
        """Storage calls (round trips) since the last :meth:`reset`."""
        return sum(self.calls.values())

    def by_kind(self) -> dict[str, int]:
        """Storage calls by the kind of key they touched, sorted by kind."""
        kinds: Counter[str] = Counter()
        for (_, kind), n in self.calls.items():
            kinds[kind] += n
        return dict(sorted(kinds.items()))


# ── push, pull, hybrid ─────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class PostDelivery:
    """When one post reached its followers: ``seconds`` from publishing until the last
    fanout task was done (0.0 for a pulled post: it is merged in at the next read)."""

    post_id: PostId
    author: UserId
    followers: int
    published_s: float  # seconds after the measured phase began
    mode: Literal["push", "pull"]
    seconds: float


@dataclass(frozen=True, slots=True)
class FanoutResult:
    """What :func:`fanout_experiment` measured for one mode (and threshold).

    ``writes_per_post`` counts the feed writes fanout asked for (active followers only),
    ``written_per_post`` those that landed in a cached feed. ``round_trips_per_load`` is
    the mean of the storage calls one feed page costs, ``post_lists_per_load`` how many
    authors' post lists it read (the pull model's merge; a rebuild reads all of them in one
    call), ``read_breakdown`` the calls by the kind of key they touched (per load).
    ``feed_entries`` counts the post ids held in all feed caches at the end.
    """

    mode: Mode
    threshold: int | None
    users: int
    follows: int
    posts: int
    pulled_authors: tuple[UserId, ...]
    writes_per_post: float
    written_per_post: float
    round_trips_per_load: float
    post_lists_per_load: float
    read_breakdown: tuple[tuple[str, float], ...]
    feed_entries: int
    deliveries: tuple[PostDelivery, ...]

    @property
    def label(self) -> str:
        return f"hybrid ({self.threshold})" if self.mode == "hybrid" else self.mode

    def visible_after_s(self, p: float = 100) -> float:
        """The ``p``-th percentile of the seconds until a post's last follower can see it."""
        return percentile([d.seconds for d in self.deliveries], p)

    def summary(self) -> str:
        """One line with the four numbers the chapter argues about."""
        return (f"{self.label:>14}: {self.writes_per_post:5.1f} feed writes/post, "
                f"{self.round_trips_per_load:5.1f} round trips/load "
                f"({self.post_lists_per_load:4.1f} post lists), last follower after "
                f"p50 {self.visible_after_s(50):3.0f} s / max {self.visible_after_s():3.0f} s, "
                f"{self.feed_entries:,} feed entries cached")


def _checked_options(users: int, posts: int, readers: int, posts_per_s: float,
                     active_share: float, chunk: int) -> None:
    check_int("users", users, 10)
    check_int("posts", posts, 1)
    check_int("readers", readers, 1)
    check_int("chunk", chunk, 1)
    check_positive_seconds("posts_per_s", posts_per_s, "a finite rate > 0")
    check_probability("active_share", active_share)


def _load_graph(system: NewsFeedSystem, graph: SocialGraph) -> None:
    """Register ``graph``'s users and copy its follows in (before any post exists, so a
    follow has nothing to backfill: the graph database takes them directly)."""
    for user in graph.users():
        system.register_user(user, name=user.upper())
    for user in graph.users():
        for followee in graph.following(user):
            system.graph.follow(user, followee)


def _held(store: Store, system: NewsFeedSystem, user: UserId) -> list[PostId]:
    """Every post id ``user``'s feed cache holds, repeats included (what its memory pays
    for; a rebuilt feed's bottom mark is not a post and is left out)."""
    key = feed_key(user)
    if system.feeds.shape == "list":
        entries = [int(e) for e in store.lists.range(key, 0, -1)]
    else:
        entries = store.id_timeline.newest(key, limit=system.feeds.max_entries + 1)
    return [e for e in entries if e != BOTTOM]


def _populated(store: Store, graph: SocialGraph, *, mode: Mode, threshold: int | None,
               seed: int, history: int, active_share: float, rng: Random,
               workers: int = 2, chunk: int = 10, shape: FeedShape = "sorted",
               sizes: TierSizes | None = None, hot_after_reads: int = HOT_AFTER_READS,
               ) -> tuple[NewsFeedSystem, list[UserId]]:
    """A system on ``store`` with ``graph`` loaded, ``history`` posts per user from the day
    before, and the ``active_share`` of users who read their feed since (so it is cached;
    the others have not been seen: inactive); return it and the active users."""
    options: dict[str, Any] = {} if sizes is None else {"sizes": sizes}
    system = NewsFeedSystem.create(store, seed=seed, mode=mode, threshold=threshold,
                                   workers=workers, shape=shape, **options)
    # Two knobs create() does not take: set on the parts it built, before anything runs.
    system.fanout.chunk = chunk  # followers per fanout task (preset 100; see fanout_experiment)
    system.posts.hot_after_reads = hot_after_reads  # reads that promote a post to the hot part
    _load_graph(system, graph)
    for _ in range(history):  # loaded straight into the post store, as a migration would
        for user in graph.users():
            system.posts.create(user, f"an older post by {user}")
            if system.fanout.mode_for(user) == "pull":
                system.fanout.pull_authors.add(user)  # as publish() notes a pulled author
        system.run_until(system.clock.now() + 60.0)
    system.run_until(system.clock.now() + DAY_S)
    active = [user for user in graph.users() if rng.random() < active_share]
    for user in active:
        system.feed(user)  # back: the feed is rebuilt and cached
    return system, active


def _deliveries(system: NewsFeedSystem, published: list[tuple[Post, FanoutPlan]],
                start: float) -> tuple[PostDelivery, ...]:
    """When each published post reached its last follower: its last fanout task's end."""
    last_done: dict[PostId, float] = {}
    for worker in system.workers:
        for post_id, at in worker.done:
            last_done[post_id] = max(last_done.get(post_id, at), at)
    found = []
    for post, plan in published:
        if plan.mode == "pull":
            seconds = 0.0
        elif post.post_id in last_done:
            seconds = round(last_done[post.post_id] - post.created_at, 6)
        else:
            continue  # an author nobody follows: no fanout task at all
        found.append(PostDelivery(post.post_id, post.author, plan.followers,
                                  round(post.created_at - start, 6), plan.mode, seconds))
    return tuple(found)


def fanout_experiment(mode: Mode = "hybrid", *, threshold: int | None = None,
                      users: int = 2_000, posts: int = 200, posts_per_s: float = 5.0,
                      celebrity_posts: int = 3, history: int = 2, active_share: float = 0.7,
                      readers: int = 200, workers: int = 2, chunk: int = 10,
                      seed: int = 0) -> FanoutResult:
    """Publish ``posts`` posts on a heavy-tailed follow graph and measure one fanout mode.

    The world: :func:`~reference.feed.graph.follower_graph` with ``users`` users (about 20
    follows each); every user published ``history`` posts the day before; since then the
    ``active_share`` of users came back and read their feed (so it is cached), the others
    are inactive (fanout skips them). Then, ``posts_per_s`` posts a second, random authors
    publish, and the most-followed account publishes ``celebrity_posts`` of them (evenly
    spread). When the fanout queue is empty, ``readers`` active users each load a page.

    Parameters
    ----------
    mode : {"push", "pull", "hybrid"}
        Fanout on write, on read, or push below ``threshold`` followers.
    threshold : int, optional
        The hybrid's celebrity threshold (followers); default 200.
    users, posts, posts_per_s, celebrity_posts, history, active_share, readers
        The world and the load, as above.
    workers, chunk : int
        Fanout workers, and followers per fanout task. Each worker takes up to 10 tasks a
        second, so the fanout capacity is ``workers * 10 * chunk`` feed writes a second.
        The preset chunk (100, Stream-Framework's) is scaled down to 10 here because the
        graph is scaled down too: a celebrity's post must still be many tasks.
    seed : int
        Seeds the graph, who is active, the authors and the readers.

    Returns
    -------
    FanoutResult

    Raises
    ------
    InvalidArgument
        A bad mode, threshold or count.

    Notes
    -----
    Push pays at write time, once per follower (the hot-key problem: a celebrity's post
    is thousands of writes, and the posts queued behind it wait); pull pays at read time,
    one post list per followed author; the hybrid pushes most posts and pulls only the
    authors above the threshold.

    Examples
    --------
    >>> hybrid = fanout_experiment("hybrid", threshold=50, users=300, posts=40, readers=30)
    >>> hybrid.pulled_authors[:3]
    ('u00000', 'u00001', 'u00002')
    >>> hybrid.visible_after_s(100) <= fanout_experiment(
    ...     "push", users=300, posts=40, readers=30).visible_after_s(100)
    True
    """
    _checked_options(users, posts, readers, posts_per_s, active_share, chunk)
    check_int("celebrity_posts", celebrity_posts, 0, posts)
    check_int("history", history, 1)
    cut = 200 if mode == "hybrid" and threshold is None else threshold
    rng = Random(f"{seed}:fanout")
    graph = follower_graph(users, seed=seed)
    meter = RoundTripMeter(connect("memory", clock=FakeClock(start=START_S)))
    system, active = _populated(meter.store, graph, mode=mode, threshold=cut, seed=seed,
                                history=history, active_share=active_share, rng=rng,
                                workers=workers, chunk=chunk)
    celebrity = graph.statistics().most_followed
    spaced = {round(posts * (k + 0.5) / celebrity_posts) for k in range(celebrity_posts)}
    before = system.feeds.statistics()
    start = system.clock.now()
    published: list[tuple[Post, FanoutPlan]] = []
    for i in range(posts):
        system.run_until(start + i / posts_per_s)
        author = celebrity if i in spaced and celebrity else rng.choice(graph.users())
        post = system.publish(author, f"post {i} by {author}")
        assert system.last_plan is not None  # publish() just made one
        published.append((post, system.last_plan))
    system.run_until_idle()
    after = system.feeds.statistics()
    chosen = rng.sample(active, min(readers, len(active)))
    meter.reset()
    for user in chosen:
        system.feed(user)
    loads = max(1, len(chosen))
    post_lists = meter.keys["posts"]
    store = meter.store
    return FanoutResult(
        mode=mode, threshold=system.fanout.threshold, users=users,
        follows=graph.statistics().follows, posts=posts,
        pulled_authors=tuple(sorted(system.fanout.pull_authors.all())),
        writes_per_post=round((after.pushes - before.pushes) / posts, 4),
        written_per_post=round((after.written - before.written) / posts, 4),
        round_trips_per_load=round(meter.total() / loads, 4),
        post_lists_per_load=round(post_lists / loads, 4),
        read_breakdown=tuple((kind, round(n / loads, 4)) for kind, n in meter.by_kind().items()),
        feed_entries=sum(len(_held(store, system, u)) for u in graph.users()),
        deliveries=_deliveries(system, published, start),
    )


@dataclass(frozen=True, slots=True)
class ThresholdSweep:
    """:func:`fanout_experiment` at each celebrity threshold, in the order given (None:
    push everyone, 0: pull everyone)."""

    results: tuple[FanoutResult, ...]

    @property
    def thresholds(self) -> tuple[int | None, ...]:
        return tuple(r.threshold for r in self.results)

    def at(self, threshold: int | None) -> FanoutResult:
        """The result measured at ``threshold`` (InvalidArgument if it was not measured)."""
        for result in self.results:
            if result.threshold == threshold:
                return result
        raise InvalidArgument.bad_value("threshold", threshold, f"one of {self.thresholds}")


def threshold_sweep(thresholds: Iterable[int | None], **options: Any) -> ThresholdSweep:
    """Run :func:`fanout_experiment` at each celebrity threshold (followers).

    A threshold of 0 pulls every author (the pull model), None pushes every author (the
    push model), anything between is the hybrid. ``options`` go to
    :func:`fanout_experiment` (same world, same seed, same load for every threshold); pass a
    progress bar as ``thresholds`` (``tqdm(...)``) to watch it run.

    Examples
    --------
    >>> sweep = threshold_sweep([0, 60, None], users=300, posts=40, readers=30)
    >>> [round(r.writes_per_post) for r in sweep.results]
    [0, 9, 22]
    >>> sweep.at(60).mode
    'hybrid'
    """
    results = []
    for threshold in thresholds:
        mode: Mode = "push" if threshold is None else "pull" if threshold == 0 else "hybrid"
        results.append(fanout_experiment(mode, threshold=threshold, **options))
    return ThresholdSweep(tuple(results))


# ── the cache tiers under a skewed read load ───────────────────────────────────────────────

#: the notes' cache table (캐시 구조), row by row: the tier, its Korean name, and its parts as
#: (name in :meth:`CacheTiers.statistics`, English, Korean); ``feed`` is the feed cache
TIER_TABLE: Final = (
    ("news feed", "뉴스 피드", (("feed", "feed ids", "뉴스 피드"),)),
    ("content", "콘텐츠", (("content.hot", "hot", "인기 콘텐츠"),
                          ("content.normal", "normal", "일반 콘텐츠"))),
    ("social graph", "소셜 그래프", (("graph.followers", "followers", "팔로어"),
                                  ("graph.following", "following", "팔로잉"))),
    ("action", "행동", (("action.like", "liked", "좋아요"), ("action.reply", "replied", "답글"),
                       ("action.share", "shared", "기타"))),
    ("counters", "횟수", (("counter.like", "likes", "좋아요 횟수"),
                         ("counter.reply", "replies", "답글 횟수"),
                         ("counter.share", "shares", "기타"))),
    ("users", "사용자 정보", (("users.profiles", "names, photos", "이름, 사진"),)),
)


@dataclass(frozen=True, slots=True)
class TierResult:
    """Lookups of each cache part during :func:`tier_experiment`'s load (not its set-up).

    ``lookups`` pairs each part's name with (hits, misses); ``post_db_reads`` counts the
    posts read from the post store (the content tier's misses, as database reads).
    """

    hot_after_reads: int
    content_capacity: int
    zipf_s: float
    reads: int
    lookups: tuple[tuple[str, tuple[int, int]], ...]
    post_db_reads: int

    def hit_rate(self, part: str) -> float | None:
        """Hits over lookups of ``part`` (None: it was never looked up)."""
        hits, misses = dict(self.lookups)[part]
        return hits / (hits + misses) if hits + misses else None

    @property
    def content_hit_rate(self) -> float:
        """Post lookups answered by the hot or the normal part (each lookup tries hot first)."""
        parts = dict(self.lookups)
        hot_hits, hot_misses = parts["content.hot"]
        normal_hits, _ = parts["content.normal"]
        asked = hot_hits + hot_misses
        return (hot_hits + normal_hits) / asked if asked else 0.0

    def rows(self) -> list[tuple[str, str, str, str, float | None, int]]:
        """(tier, tier in Korean, part, part in Korean, hit rate, lookups), in the notes'
        order (:data:`TIER_TABLE`)."""
        parts = dict(self.lookups)
        return [(tier, korean, english, part_korean, self.hit_rate(part), sum(parts[part]))
                for tier, korean, members in TIER_TABLE
                for part, english, part_korean in members]


def _zipf_weights(n: int, s: float) -> list[float]:
    """Cumulative Zipf weights of ranks 1..n with exponent ``s`` (for ``Random.choices``)."""
    total, cumulative = 0.0, []
    for rank in range(1, n + 1):
        total += rank ** -s
        cumulative.append(total)
    return cumulative


def _lookups(system: NewsFeedSystem) -> dict[str, tuple[int, int]]:
    found = {name: (s.hits, s.misses) for name, s in system.tiers.statistics().items()}
    feeds = system.feeds.statistics()
    return {"feed": (feeds.hits, feeds.misses), **found}


def tier_experiment(*, hot_after_reads: int = HOT_AFTER_READS, content_capacity: int = 200,
                    users: int = 400, reads: int = 2_000, zipf_s: float = 1.0,
                    duration_s: float = 1_800.0, seed: int = 0) -> TierResult:
    """Drive a skewed read load through every cache tier and measure each part's hit rate.

    The world: a heavy-tailed follow graph of ``users`` (three posts each, 80% of them
    active, the hybrid's threshold at 100 followers). The load: ``reads`` feed pages over
    ``duration_s`` simulated seconds, the reader drawn from a Zipf law over the active users
    (exponent ``zipf_s``: a few read all the time, most now and then); after a page, the
    reader likes one of its posts with probability 0.2, replies to one with 0.03 and shares
    one with 0.02, and publishes a post with 0.05. Every page is hydrated through the
    content, user, counter and action caches, every publish asks the social graph tier.

    Parameters
    ----------
    hot_after_reads : int
        Reads that promote a post to the small hot part of the content tier (default 8). A
        huge value turns the hot part off: then the normal part's churn evicts popular posts
        as readily as any other.
    content_capacity : int
        Entries of the normal content part (the hot part keeps its 100).
    users, reads, zipf_s, duration_s, seed
        The world and the load.

    Returns
    -------
    TierResult

    Examples
    --------
    >>> on = tier_experiment(users=150, reads=300)
    >>> off = tier_experiment(hot_after_reads=10**9, users=150, reads=300)
    >>> on.content_hit_rate > off.content_hit_rate, on.post_db_reads < off.post_db_reads
    (True, True)
    """
    check_int("hot_after_reads", hot_after_reads, 1)
    check_int("content_capacity", content_capacity, 1)
    check_int("users", users, 10)
    check_int("reads", reads, 1)
    check_positive_seconds("zipf_s", zipf_s, "a finite exponent > 0")
    check_positive_seconds("duration_s", duration_s)
    rng = Random(f"{seed}:tiers")
    graph = follower_graph(users, seed=seed)
    sizes = replace(TierSizes(), content=content_capacity)
    system, active = _populated(connect("memory", clock=FakeClock(start=START_S)), graph,
                                mode="hybrid", threshold=100, seed=seed, history=3,
                                active_share=0.8, rng=rng, sizes=sizes,
                                hot_after_reads=hot_after_reads)
    before, db_before = _lookups(system), system.posts.store.statistics().reads
    readers, weights = rng.sample(active, len(active)), _zipf_weights(len(active), zipf_s)
    start = system.clock.now()
    for i in range(reads):
        system.run_until(start + i * duration_s / reads)
        [reader] = rng.choices(readers, cum_weights=weights)
        page = system.feed(reader)
        if page.items:
            if rng.random() < 0.2:
                system.like(reader, rng.choice(page.items).post_id)
            if rng.random() < 0.03:
                system.reply(reader, rng.choice(page.items).post_id, "nice")
            if rng.random() < 0.02:
                system.share(reader, rng.choice(page.items).post_id)
        if rng.random() < 0.05:
            system.publish(reader, f"post {i} by {reader}")
    system.run_until_idle()
    after = _lookups(system)
    return TierResult(
        hot_after_reads=hot_after_reads, content_capacity=content_capacity, zipf_s=zipf_s,
        reads=reads,
        lookups=tuple((part, (after[part][0] - before[part][0], after[part][1] - before[part][1]))
                      for _, _, members in TIER_TABLE for part, _, _ in members),
        post_db_reads=system.posts.store.statistics().reads - db_before,
    )


# ── capped list or sorted timeline ─────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class FeedShapeResult:
    """Redis commands the feed cache costs in one shape (fakeredis's recorder).

    Per feed write fanout makes (``feed_writes``, duplicate deliveries included):
    ``commands_per_write``. Per page load of a cached feed:
    ``read_round_trips`` (the whole load) and ``entries_per_read`` (ids the feed cache
    sends: the whole feed, in both shapes). Per page load that rebuilds the feed (a miss):
    ``rebuild_round_trips``. Per follower of a deleted post: ``commands_per_removal``.
    ``duplicate_entries`` counts ids held more than once in all feeds after the fanout (the
    queue delivered some fanout tasks twice).
    """

    shape: FeedShape
    feed_writes: int
    commands_per_write: float
    read_round_trips: float
    entries_per_read: float
    rebuild_round_trips: float
    commands_per_removal: float
    duplicate_entries: int
    write_commands: tuple[tuple[str, int], ...]


def _feed_commands(commands: Iterable[tuple[str, ...]]) -> Counter[str]:
    """The recorded commands that touched a feed key, by name."""
    return Counter(c[0] for c in commands if any(":feed:{" in arg for arg in c[1:]))


def feed_shape_experiment(shape: FeedShape, *, users: int = 120, posts: int = 40,
                          duplicate_rate: float = 0.3, seed: int = 0) -> FeedShapeResult:
    """Measure one feed cache shape on fakeredis: what fanout, reads, rebuilds and deletes
    cost in Redis commands, and what duplicate deliveries leave behind.

    The world: a follow graph of ``users`` (about 10 follows each, two older posts per
    user, 80% active); then ``posts`` posts by random authors, fanned out by a queue that
    delivers a task twice with probability ``duplicate_rate``; then every active user
    loads a page, then loads it again after their feed was dropped (a rebuild); then the
    last post is deleted.

    Examples
    --------
    >>> sorted_ = feed_shape_experiment("sorted", users=40, posts=10)
    >>> capped = feed_shape_experiment("list", users=40, posts=10)
    >>> sorted_.commands_per_write, capped.commands_per_write     # EVALSHA vs LPUSHX + LTRIM
    (1.0, 2.0)
    >>> # a rebuild's extra round trips, less the one the first pass spent filling the
    >>> # like and counter caches: the lists, then DEL, ZADD and the trim (sorted: 4), or
    >>> # the lists, then DEL and one MULTI of LPUSH and LTRIM (list: 3)
    >>> [round(r.rebuild_round_trips - r.read_round_trips) for r in (sorted_, capped)]
    [3, 2]
    >>> sorted_.duplicate_entries, capped.duplicate_entries > 0    # a set vs a list
    (0, True)
    """
    if shape not in ("sorted", "list"):
        raise InvalidArgument.bad_value("shape", shape, "'sorted' or 'list'")
    check_int("users", users, 10)
    check_int("posts", posts, 1)
    check_probability("duplicate_rate", duplicate_rate)
    rng = Random(f"{seed}:shape")
    store = connect("fakeredis", clock=FakeClock(start=START_S), namespace="lab")
    store = replace(store, queue=LossyQueue(store.queue, rng=Random(f"{seed}:queue"),
                                            loss_rate=0.0, duplicate_rate=duplicate_rate))
    graph = follower_graph(users, seed=seed, mean_following=10.0)
    system, active = _populated(store, graph, mode="push", threshold=None, seed=seed,
                                history=2, active_share=0.8, rng=rng, shape=shape, chunk=100)
    system.publish(active[0], "a first post")  # loads the fanout's Lua script (NOSCRIPT once)
    system.run_until_idle()
    asked_before = system.feeds.statistics().pushes
    with store.record_commands() as fanout:
        published = [system.publish(rng.choice(active), f"post {i}") for i in range(posts)]
        system.run_until_idle()
    asked = system.feeds.statistics().pushes - asked_before
    writes = _feed_commands(fanout.commands)
    held = [_held(store, system, user) for user in graph.users()]
    feeds = {user: _held(store, system, user) for user in active}
    with store.record_commands() as reads:
        for user in active:
            system.feed(user)
    for user in active:
        system.feeds.drop(user)
    with store.record_commands() as rebuilds:
        for user in active:
            system.feed(user)
    last = published[-1]
    followers = len(graph.followers(last.author))
    with store.record_commands() as removal:
        system.delete_post(last.post_id)
    removals = sum(_feed_commands(removal.commands).values())
    return FeedShapeResult(
        shape=shape, feed_writes=asked,
        commands_per_write=round(sum(v for k, v in writes.items() if k != "DEL") / max(1, asked),
                                 4),
        read_round_trips=round(reads.round_trips / len(active), 4),
        entries_per_read=round(sum(len(f) for f in feeds.values()) / len(active), 4),
        rebuild_round_trips=round(rebuilds.round_trips / len(active), 4),
        commands_per_removal=round(removals / max(1, followers), 4),
        duplicate_entries=sum(len(entries) - len(set(entries)) for entries in held),
        write_commands=tuple(sorted(writes.items())),
    )




# ── paging while posts arrive ──────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class PaginationResult:
    """Pages read one after the other while posts arrive and go, by cursor and by offset.

    ``pages`` maps each method to its pages (post ids, newest first); ``repeated`` and
    ``skipped`` map each method to the post ids shown twice, and to the posts that existed
    throughout, fell between the first and last post shown, yet were never shown.
    ``texts`` names every post; ``events`` says what happened between pages.
    """

    pages: dict[str, tuple[tuple[PostId, ...], ...]]
    repeated: dict[str, tuple[PostId, ...]]
    skipped: dict[str, tuple[PostId, ...]]
    texts: dict[PostId, str]
    events: tuple[str, ...]

    def named(self, method: str) -> list[list[str]]:
        """The pages of ``method`` as post texts."""
        return [[self.texts[i] for i in page] for page in self.pages[method]]


def offset_pages(system: NewsFeedSystem, user: UserId, *, page: int, limit: int
                 ) -> tuple[PostId, ...]:
    """NAIVE, for contrast only: page ``page`` (0-based) of ``user``'s feed by *position*
    (``OFFSET page * limit LIMIT limit``), recomputed from the whole feed at each call.

    A post arriving on top pushes every position down (the next page repeats posts); a
    post deleted above pulls them up (the next page skips posts). The lab's feed pages by
    cursor instead (:meth:`NewsFeedSystem.feed` with ``before=``).
    """
    whole = system.feed(user, limit=200).post_ids
    return whole[page * limit:(page + 1) * limit]


def _paging_problems(pages: Sequence[Sequence[PostId]], stable: set[PostId]
                     ) -> tuple[tuple[PostId, ...], tuple[PostId, ...]]:
    shown = [p for page in pages for p in page]
    repeated = tuple(sorted(p for p, n in Counter(shown).items() if n > 1))
    low, high = min(shown), max(shown)
    skipped = tuple(sorted((p for p in stable if low <= p <= high and p not in shown),
                           reverse=True))
    return repeated, skipped


def pagination_experiment(*, limit: int = 4, seed: int = 0) -> PaginationResult:
    """Ada scrolls three pages while Bob posts and others delete: cursor vs offset pages.

    Bob, Cyd and Dee post five times each, in turn, a second apart; Ada follows them all.
    Ada reads page 1. Bob posts three new posts. Ada reads page 2. Cyd and Dee each delete
    the newest post Ada saw on page 1. Ada reads page 3. Each page is read both ways: by cursor (the
    lab's ``before=`` the last id shown) and by offset (:func:`offset_pages`).

    Examples
    --------
    >>> result = pagination_experiment()
    >>> result.repeated["cursor"], result.skipped["cursor"]
    ((), ())
    >>> len(result.repeated["offset"]), len(result.skipped["offset"])
    (3, 2)
    """
    check_int("limit", limit, 2, 5)
    system = NewsFeedSystem.create(connect("memory", clock=FakeClock(start=START_S)),
                                   seed=seed, mode="push")
    for name in ("ada", "bob", "cyd", "dee"):
        system.register_user(name, name=name.title())
    for author in ("bob", "cyd", "dee"):
        system.follow("ada", author)
    texts: dict[PostId, str] = {}

    def post(author: UserId, n: int) -> PostId:
        created = system.publish(author, f"{author.title()} #{n}")
        texts[created.post_id] = created.text
        system.run_until(system.clock.now() + 1.0)
        return created.post_id

    for n in range(1, 6):
        for author in ("bob", "cyd", "dee"):
            post(author, n)
    system.feed("ada")  # Ada's feed is cached from here on
    stable = set(texts)
    cursor_pages: list[tuple[PostId, ...]] = []
    offset: list[tuple[PostId, ...]] = []
    events: list[str] = []

    def read(number: int) -> None:
        before = cursor_pages[-1][-1] if cursor_pages else None
        cursor_pages.append(system.feed("ada", before=before, limit=limit).post_ids)
        offset.append(offset_pages(system, "ada", page=number, limit=limit))

    read(0)
    for n in range(6, 9):
        stable.discard(post("bob", n))
    system.run_until_idle()
    events.append("Bob posts " + ", ".join(f"#{n}" for n in range(6, 9)))
    read(1)
    gone = [p for p in cursor_pages[0] if not texts[p].startswith("Bob")][:2]
    for post_id in gone:
        system.delete_post(post_id)
        stable.discard(post_id)
    events.append(" and ".join(texts[p] for p in gone) + " are deleted")
    read(2)
    problems = {"cursor": _paging_problems(cursor_pages, stable),
                "offset": _paging_problems(offset, stable)}
    return PaginationResult(
        pages={"cursor": tuple(cursor_pages), "offset": tuple(offset)},
        repeated={m: p[0] for m, p in problems.items()},
        skipped={m: p[1] for m, p in problems.items()},
        texts=dict(sorted(texts.items())), events=tuple(events),
    )


# ── a lost feed cache node ─────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class LostNodeResult:
    """A feed cache node lost: what it held, and what the next page load of every active
    user (``readers`` of them) cost, before the loss (a normal pass) and after it.

    ``rebuilds_before`` counts the feeds rebuilt in the normal pass (none: every feed was
    cached, an empty one too, by its bottom mark).
    """

    node: str
    nodes: int
    readers: int
    feeds_cached: int
    feeds_wiped: int
    rebuilds_before: int
    rebuilds_after: int
    round_trips_before: float
    round_trips_after: float
    post_lists_before: float
    post_lists_after: float

    @property
    def share_wiped(self) -> float:
        return self.feeds_wiped / self.feeds_cached if self.feeds_cached else 0.0


def lost_node_experiment(node: str = "feed-cache-2", *, users: int = 1_000,
                         seed: int = 0) -> LostNodeResult:
    """Lose one of the four feed cache nodes and measure the next pass of page loads.

    The world: a heavy-tailed follow graph of ``users`` (two posts each, 70% active, push
    everyone). Every active user loads a page (a normal pass, metered), then ``node`` is
    lost (every feed it held is wiped: consistent hashing puts about a quarter of the feeds
    on each node), then every active user loads a page again (metered).

    Examples
    --------
    >>> lost = lost_node_experiment(users=200)
    >>> 0.1 < lost.share_wiped < 0.4
    True
    >>> lost.rebuilds_after - lost.rebuilds_before == lost.feeds_wiped
    True
    >>> lost.round_trips_after > lost.round_trips_before
    True
    """
    check_int("users", users, 10)
    rng = Random(f"{seed}:node")
    graph = follower_graph(users, seed=seed)
    meter = RoundTripMeter(connect("memory", clock=FakeClock(start=START_S)))
    system, active = _populated(meter.store, graph, mode="push", threshold=None, seed=seed,
                                history=2, active_share=0.7, rng=rng)
    cached = sum(meter.store.id_timeline.size(feed_key(u)) > 0 for u in graph.users())

    def one_pass() -> tuple[float, float]:
        meter.reset()
        for user in active:
            system.feed(user)
        lists = meter.keys["posts"]
        return round(meter.total() / len(active), 4), round(lists / len(active), 4)

    rebuilt = system.reader.statistics().rebuilds
    before = one_pass()
    rebuilt, rebuilds_before = (system.reader.statistics().rebuilds,
                                system.reader.statistics().rebuilds - rebuilt)
    wiped = system.lose_feed_node(node)
    after = one_pass()
    return LostNodeResult(
        node=node, nodes=len(system.ring.nodes), readers=len(active), feeds_cached=cached,
        feeds_wiped=wiped,
        rebuilds_before=rebuilds_before,
        rebuilds_after=system.reader.statistics().rebuilds - rebuilt,
        round_trips_before=before[0], round_trips_after=after[0],
        post_lists_before=before[1], post_lists_after=after[1],
    )
