"""Deliberately broken parts of chapter 11, for showing that the checker catches them.

Each is one small, plausible mistake:

* :class:`TrustingReader` serves whatever the feed cache holds, without asking again whether
  the reader still follows the author and has not muted them. Fanout filters when it writes,
  but a post written before a mute, or by a chunk still in flight during an unfollow, stays in
  the cache: the checker names ``extra_post``.
* :class:`ForgetfulCounters` updates the database on a like but leaves the cached count alone
  until its TTL runs out: the checker names ``stale_count``.

Examples
--------
>>> from dataclasses import replace
>>> from reference.feed.checker import check_feed
>>> from reference.feed.scenario import FeedScenarioConfig, run_feed_scenario
>>> busy = replace(FeedScenarioConfig.stormy(), churn_rate=1.0)  # many mutes and unfollows
>>> report = check_feed(run_feed_scenario(busy, seed=0, build=with_mutant(TrustingReader)))
>>> report.counts["extra_post"] > 0
True
"""

from __future__ import annotations

from typing import Any

from reference.cache.tiers import CachedActions
from reference.feed.actions import Kind
from reference.feed.model import Post, PostId, UserId
from reference.feed.read import NewsFeedService, _Reader
from reference.feed.scenario import Builder, FeedScenarioConfig, build_feed_system
from reference.feed.system import NewsFeedSystem
from reference.storage import Store

__all__ = ["ForgetfulCounters", "TrustingReader", "with_mutant"]


class TrustingReader(NewsFeedService):
    """A news feed service that trusts the feed cache: no second look at follows and mutes."""

    def _shows(self, reader: _Reader, post: Post) -> bool:
        return True


class ForgetfulCounters(CachedActions):
    """Action and counter caches that are never invalidated on a write."""

    def _invalidate(self, user: UserId, post_id: PostId, kind: Kind) -> None:
        """Nothing: the cached counts stay as they were until they expire."""


def with_mutant(kind: type[Any]) -> Builder:
    """A scenario builder whose system has ``kind`` in place of the right part."""

    def build(store: Store, config: FeedScenarioConfig, seed: int) -> NewsFeedSystem:
        system = build_feed_system(store, config, seed)
        reader = system.reader
        if issubclass(kind, NewsFeedService):
            system.reader = kind(graph=reader.graph, users=reader.users, feeds=reader.feeds,
                                 posts=reader.posts, profiles=reader.profiles,
                                 reactions=reader.reactions, pulled=reader.pulled)
            for server in system.web.servers:
                server.service = system.reader
        else:
            system.actions = kind(system.actions.store, system.tiers)
            reader.reactions = system.actions
        return system

    return build
