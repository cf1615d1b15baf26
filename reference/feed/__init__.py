"""Chapter 11: a news feed (뉴스 피드 시스템), one small module per idea, in flow order.

Vocabulary
    :mod:`.model`     posts, feed items and pages, fanout tasks, the presets (800, 30 days)

The databases
    :mod:`.graph`     the social graph on networkx (그래프 데이터베이스): follows with their
                      backfill boundary, mutes, blocks, friends, friend recommendation (친구 추천)
    :mod:`.posts`     the post store (포스팅 저장소): content by Snowflake id, each author's list
    :mod:`.users`     profiles (the user cache's source) and activity (30 days)
    :mod:`.actions`   likes, replies, shares and their counts (행동, 횟수)

Publishing (피드 발행)
    :mod:`.fanout`    push / pull / hybrid (쓰기·읽기 시점 팬아웃), the fanout queue and workers
    :mod:`.feeds`     the feed cache (뉴스 피드 캐시): sorted timelines or capped lists, never
                      created by a fanout write

Reading (피드 읽기)
    :mod:`.web`       load balancer and stateless web servers
    :mod:`.read`      the news feed service: feed ids, pull merge, hydration, cursor pages

The whole
    :mod:`.system`    :class:`NewsFeedSystem`: every part wired on one store and simulator
    :mod:`.scenario`  seeded fault scenarios (장애 시나리오)
    :mod:`.checker`   the oracle and its named anomalies (불변식 검사기)
    :mod:`.mutants`   deliberately broken parts the checker catches

The caching tiers (캐시 구조) live in :mod:`reference.cache`.

Examples
--------
>>> from reference.feed import FeedScenarioConfig, check_feed, run_feed_scenario
>>> check_feed(run_feed_scenario(FeedScenarioConfig.stormy().scaled(users=10, posts=20),
...                              seed=5)).ok
True
"""

from reference.feed.checker import ANOMALY_KINDS, check_feed
from reference.feed.graph import SocialGraph, follower_graph
from reference.feed.model import FeedItem, FeedPage, Post, Profile
from reference.feed.scenario import FeedScenarioConfig, FeedScenarioResult, run_feed_scenario
from reference.feed.system import NewsFeedSystem

__all__ = [
    "ANOMALY_KINDS",
    "FeedItem",
    "FeedPage",
    "FeedScenarioConfig",
    "FeedScenarioResult",
    "NewsFeedSystem",
    "Post",
    "Profile",
    "SocialGraph",
    "check_feed",
    "follower_graph",
    "run_feed_scenario",
]
