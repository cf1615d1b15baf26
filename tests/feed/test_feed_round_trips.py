"""Chapter 11, what a feed page costs: the Redis round trips of one hydrated page of a cached
push feed (fakeredis), which must not grow with the page's length (the notes' steps 8-9: ids
from the feed cache, then posts, users and counts a multi-get each)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from reference.cache.tiers import TierSizes
from reference.core.clock import FakeClock
from reference.feed.feeds import BOTTOM
from reference.feed.system import NewsFeedSystem
from reference.storage import connect

FOLLOWEES = 5
POSTS = 40
#: every part of the caching tiers has expired after this long
ALL_TIERS_EXPIRED_S = 1 + max(
    getattr(TierSizes(), name) for name in TierSizes.__slots__ if name.endswith("_ttl_s"))
#: a page whose tiers are warm: the reader exists (HGETALL), activity (GET, SET), the feed
#: ids (ZREVRANGE), which authors are pulled (HGETALL); the rest from the caching tiers
WARM_PAGE_ROUND_TRIPS = 5
#: ... and with every tier cold, a multi-get each for posts, profiles, counts and likes
COLD_PAGE_ROUND_TRIPS = WARM_PAGE_ROUND_TRIPS + 4


def cached_push_feed(clock: FakeClock, *, followees: int = FOLLOWEES,
                     posts: int = POSTS) -> Iterator[NewsFeedSystem]:
    """bob follows ``followees`` authors who posted ``posts`` times, pushed into his cached
    feed (no celebrities), on fakeredis."""
    with connect("fakeredis", clock=clock) as store:
        system = NewsFeedSystem.create(store, seed=1, mode="push")
        authors = [f"a{n}" for n in range(followees)]
        for user in ("bob", *authors):
            system.register_user(user, name=user.title())
        for author in authors:
            system.follow("bob", author)
        system.publish(authors[0], "before bob reads")
        system.run_until_idle()
        system.feed("bob")  # bob's feed is cached now
        for n in range(posts):
            clock.advance(1.0)
            system.publish(authors[n % followees], f"post {n}")
        system.run_until_idle()
        cached = system.store.id_timeline.newest("feed:{bob}", limit=1000)
        assert len(set(cached) - {BOTTOM}) == posts + 1
        yield system


def page_cost(system: NewsFeedSystem, limit: int) -> tuple[int, Counter[str]]:
    with system.store.record_commands() as recorder:
        page = system.feed("bob", limit=limit)
    assert len(page.items) == limit
    return recorder.round_trips, recorder.counts()


@pytest.mark.parametrize("followees", [1, FOLLOWEES])
def test_a_warm_page_of_a_cached_push_feed_costs_a_fixed_number_of_round_trips(
        clock: FakeClock, followees: int) -> None:
    for system in cached_push_feed(clock, followees=followees):
        system.feed("bob", limit=40)  # warm the caching tiers for every page below
        costs = {limit: page_cost(system, limit) for limit in (5, 20, 40)}
        assert {trips for trips, _ in costs.values()} == {WARM_PAGE_ROUND_TRIPS}
        assert costs[5][1] == costs[20][1] == costs[40][1]  # the same commands


@pytest.mark.parametrize("followees", [1, FOLLOWEES])
def test_a_cold_page_of_a_cached_push_feed_costs_the_same_round_trips_for_5_or_20_posts(
        clock: FakeClock, followees: int) -> None:
    for system in cached_push_feed(clock, followees=followees):
        clock.advance(ALL_TIERS_EXPIRED_S)
        trips_5, commands_5 = page_cost(system, 5)
        clock.advance(ALL_TIERS_EXPIRED_S)
        trips_20, commands_20 = page_cost(system, 20)
        assert trips_5 == trips_20 == COLD_PAGE_ROUND_TRIPS
        assert commands_20["GET"] > commands_5["GET"]  # more commands, the same round trips


def test_a_pages_round_trips_do_not_grow_with_the_number_of_followees(
        clock: FakeClock) -> None:
    trips = {}
    for followees in (1, 8):
        for system in cached_push_feed(clock, followees=followees, posts=16):
            clock.advance(ALL_TIERS_EXPIRED_S)
            cold, _ = page_cost(system, 10)
            warm, _ = page_cost(system, 10)
            trips[followees] = (cold, warm)
    assert trips[1] == trips[8] == (COLD_PAGE_ROUND_TRIPS, WARM_PAGE_ROUND_TRIPS)
