"""Chapter 11's figures: push fanout per timeline insert, a Twitter-sized write load, pages.

Figures (rates):

* push fanout on the memory backend, per timeline insert: the feed cache's own write of one
  post id into a chunk of 100 cached feeds (one port call per chunk), for the capped list and
  the sorted timeline, and the whole fanout worker path (task off the queue, follow, mute and
  activity checks, the write, the ack);
* the same fanout write on fakeredis (and real Redis with ``REDIS_URL``), against the bare
  command loop that writes the same entries one command at a time on the same server;
* Twitter's 2013 average write load (4.6K posts/s, each to its author's followers) on a
  heavy-tailed graph with the hybrid threshold, simulated on the memory backend with feeds
  as capped lists (Twitter's choice) and as sorted timelines: the real-time factor is
  simulated seconds per CPU second (above 1: faster than real time).

Quantities: Redis round trips per fanout chunk, and per hydrated feed page for pages of 5, 20
and 50 posts (the page's cost must not grow with its length).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from random import Random

from benchmarks.harness import Figure, Quantity, measure
from reference.core.clock import FakeClock
from reference.feed.feeds import FeedCache, FeedShape, feed_key, feeds_on
from reference.feed.graph import follower_graph
from reference.feed.model import FANOUT_CHUNK
from reference.feed.system import NewsFeedSystem
from reference.storage import Store, connect

START_S = 1_767_225_600.0
TWITTER_POSTS_PER_S = 4_600  # FACTS: ~400M tweets/day, ~4.6K/s on average
TWITTER_FOLLOWERS_PER_POST = 75  # FACTS: ~345K timeline inserts/s at 4.6K tweets/s
BASE_ID = 2**61  # a Snowflake-sized post id


@dataclass(frozen=True, slots=True)
class _Sizes:
    feeds: int
    inserts: int
    load_users: int
    load_seconds: float
    redis_inserts: int


def _sizes(scale: float) -> _Sizes:
    return _Sizes(feeds=max(FANOUT_CHUNK, int(10_000 * scale)),
                  inserts=max(FANOUT_CHUNK * 10, int(200_000 * scale)),
                  load_users=max(200, int(10_000 * scale)),
                  load_seconds=max(0.05, 1.0 * scale),
                  redis_inserts=max(FANOUT_CHUNK * 4, int(20_000 * scale)))


def _cached_feeds(store: Store, shape: str, users: int) -> tuple[FeedCache, list[str]]:
    feeds = feeds_on(store, shape)  # type: ignore[arg-type]
    names = [f"u{i:06d}" for i in range(users)]
    for name in names:
        feeds.write(name, [1])  # cached: a fanout writes only into cached feeds
    return feeds, names


def _feed_write(feeds: FeedCache, names: list[str]) -> Callable[[int], None]:
    """``n`` timeline inserts: post after post, each into a chunk of 100 feeds."""
    chunks = [names[i:i + FANOUT_CHUNK] for i in range(0, len(names), FANOUT_CHUNK)]

    def run(n: int) -> None:
        for k in range(n // FANOUT_CHUNK):
            feeds.push(chunks[k % len(chunks)], BASE_ID + k)

    return run


def _fanout_path(users: int) -> Callable[[int], None]:
    """``n`` timeline inserts through the whole push path: publish a post of an author with
    ``users`` followers, and let the fanout workers take every task."""
    clock = FakeClock(start=START_S)
    system = NewsFeedSystem.create(connect("memory", clock=clock), seed=1, mode="push",
                                   workers=1)
    system.register_user("author", name="Author")
    for i in range(users):
        name = f"u{i:06d}"
        system.register_user(name, name=name)
        system.follow(name, "author")
        system.feed(name)  # active, and cached
    worker = system.workers[0]
    worker.batch = 1_000

    def run(n: int) -> None:
        for _ in range(max(1, n // users)):
            system.publish("author", "hello")
            while worker.poll():
                pass

    return run


def _bare_redis_loop(store: Store, shape: str, names: list[str]) -> Callable[[int], None]:
    """The same entries written one command at a time straight to the server."""
    client = store.redis_client
    keys = [f"{store.namespace}:{feed_key(name)}" for name in names]

    def run(n: int) -> None:
        for k in range(n):
            key, member = keys[k % len(keys)], f"{BASE_ID + k // len(keys):020d}"
            if shape == "list":
                client.lpushx(key, member)
            else:
                client.zadd(key, {member: 0}, xx=False)

    return run


def _redis_backends() -> list[str]:
    return ["fakeredis"] + (["redis"] if os.environ.get("REDIS_URL") else [])


def _twitter_load(users: int, seconds: float, shape: FeedShape) -> tuple[float, int, int]:
    """Simulated seconds per CPU second of Twitter's average write load; also the posts
    published and the timeline inserts made."""
    clock = FakeClock(start=START_S)
    system = NewsFeedSystem.create(connect("memory", clock=clock), seed=3, mode="hybrid",
                                   threshold=users // 20, workers=4, shape=shape)
    graph = follower_graph(users, seed=3, mean_following=TWITTER_FOLLOWERS_PER_POST)
    for user in graph.users():
        system.register_user(user, name=user)
    for user in graph.users():
        for followee in graph.following(user):
            system.graph.follow(user, followee)  # straight into the graph: no backfill
        system.users.touch(user)  # active ...
        system.feeds.write(user, [1])  # ... and a feed cached (an empty feed is no key)
    rng = Random(3)
    authors = list(graph.users())
    posts = int(TWITTER_POSTS_PER_S * seconds)
    for k in range(posts):
        system.sim.call_at(clock.now() + k / TWITTER_POSTS_PER_S, system.publish,
                           rng.choice(authors), "hello")
    start_cpu, start_s = time.process_time(), clock.now()
    system.run_until_idle()
    cpu = time.process_time() - start_cpu
    inserts = sum(worker.statistics().pushed for worker in system.workers)
    return (clock.now() - start_s) / cpu if cpu > 0 else float("inf"), posts, inserts


def _page_round_trips(limit: int) -> float:
    """Round trips of one hydrated page of ``limit`` posts from a cached feed (fakeredis)."""
    clock = FakeClock(start=START_S)
    store = connect("fakeredis", clock=clock, namespace="bench-page")
    system = NewsFeedSystem.create(store, seed=1, mode="push")
    system.register_user("ada", name="Ada")
    system.register_user("bob", name="Bob")
    system.follow("bob", "ada")
    system.feed("bob")
    for i in range(limit):
        system.publish("ada", f"post {i}")
        clock.advance(0.01)
    system.run_until_idle()
    for part in system.tiers.parts():  # every cache tier cold: the worst case
        part.clear()
    with store.record_commands() as recorded:
        system.feed("bob", limit=limit)
    store.close()
    return float(recorded.round_trips)


def run(calibration: float, *, scale: float = 1.0) -> Iterator[Figure | Quantity]:
    sizes = _sizes(scale)
    rates: dict[str, float] = {}
    for shape in ("list", "sorted"):
        feeds, names = _cached_feeds(connect("memory", clock=FakeClock(start=START_S)),
                                     shape, sizes.feeds)
        rates[shape] = measure(_feed_write(feeds, names), sizes.inserts)
    yield Figure("memory: fanout write, capped list (per insert)", rates["list"],
                 rates["list"] / calibration, note="one port call per chunk of 100 feeds")
    yield Figure("memory: fanout write, sorted timeline (per insert)", rates["sorted"],
                 rates["sorted"] / calibration, "capped list",
                 rates["sorted"] / rates["list"], note="exact id order costs this much more")
    path = measure(_fanout_path(FANOUT_CHUNK * 10), sizes.inserts // 4, repeats=2)
    yield Figure("memory: fanout worker path, sorted (per insert)", path, path / calibration,
                 "sorted timeline write", path / rates["sorted"],
                 note="queue, follow/mute/activity checks, write, ack")
    for backend in _redis_backends():
        for shape in ("list", "sorted"):
            store = connect(backend, clock=FakeClock(start=START_S), namespace="bench-feed")
            store.flush()
            feeds, names = _cached_feeds(store, shape, FANOUT_CHUNK * 4)
            ours = measure(_feed_write(feeds, names), sizes.redis_inserts, repeats=2)
            bare = measure(_bare_redis_loop(store, shape, names), sizes.redis_inserts,
                           repeats=2)
            with store.record_commands() as recorded:
                feeds.push(names[:FANOUT_CHUNK], BASE_ID - 1)
            store.flush()
            store.close()
            yield Figure(f"{backend}: fanout write, {shape} (per insert)", ours,
                         ours / calibration, "bare command loop", ours / bare,
                         note=f"bare loop: {bare:,.0f}/s, one command per insert")
            yield Quantity(f"{backend}: round trips per fanout chunk of 100 ({shape})",
                           float(recorded.round_trips), "round trips",
                           note=f"{len(recorded.commands)} commands in it")
    shapes: tuple[FeedShape, ...] = ("list", "sorted")
    for shape in shapes:
        factor, posts, inserts = _twitter_load(sizes.load_users, sizes.load_seconds, shape)
        yield Quantity(f"memory: Twitter 2013 write load, {shape} feeds, real-time factor",
                       factor, "sim s / CPU s", note=f"{posts:,} posts at 4.6K/s, {inserts:,} "
                       f"timeline inserts, {sizes.load_users:,} users, hybrid")
    small = _page_round_trips(5)
    for limit in (5, 20, 50):
        trips = small if limit == 5 else _page_round_trips(limit)
        yield Quantity(f"fakeredis: round trips per hydrated page of {limit}", trips,
                       "round trips", "page of 5", trips / small,
                       note="ids, posts, users, counts, likes: fixed, whatever the length")
