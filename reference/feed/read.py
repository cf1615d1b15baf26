"""The news feed service (뉴스 피드 서비스): a page of a user's feed, hydrated (the notes' 8-10).

:meth:`NewsFeedService.page` answers "the next ``limit`` posts of my feed older than
``before``" in a fixed number of steps, whatever the page's length:

1. the feed's post ids from the feed cache; on a miss (never built, dropped, wiped) the feed
   is rebuilt from the authors' post lists (the pull model) and cached;
2. the posts of celebrities (authors pulled, not pushed: the hybrid model) merged in;
3. the posts filled in from the content cache (one multi-get), keeping those still there
   (not deleted) whose author the user still follows, has not muted, and follows since
   before the post (a follow copies only the followee's recent posts in);
4. the authors' names and photos from the user cache, the like, reply and share counts from
   the counter cache and the reader's own likes from the action cache (a multi-get each).

A feed cache keeps only the newest 800 ids. A page older than the oldest cached id reads the
followees' post lists directly (pull), so scrolling never runs out while older posts exist.

The cursor is a post id (``id_lt``, as GetStream's API): a page is "the newest posts below
this id", so posts published while the user scrolls can never make a later page skip or
repeat one.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.feed.system import NewsFeedSystem
>>> from reference.storage import connect
>>> system = NewsFeedSystem.create(connect("memory", clock=FakeClock(start=1_767_225_600.0)),
...                                seed=1)
>>> for name in ("ada", "bob"):
...     _ = system.register_user(name, name=name.title())
>>> _ = system.follow("bob", "ada")
>>> _ = system.feed("bob")                    # bob reads once: his feed is now cached
>>> first = system.publish("ada", "first post")
>>> second = system.publish("ada", "second post")
>>> _ = system.run_until_idle()               # the fanout workers write bob's feed
>>> page = system.feed("bob", limit=1)
>>> [item.text for item in page.items], page.next_cursor == second.post_id
(['second post'], True)
>>> [item.text for item in system.feed("bob", before=page.next_cursor).items]
['first post']
"""

from __future__ import annotations

import bisect
import heapq
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from reference.core.checks import check_int
from reference.core.errors import NotFound
from reference.feed.actions import Kind
from reference.feed.feeds import BOTTOM, CachedFeed, FeedCache
from reference.feed.model import PAGE_SIZE, FeedItem, FeedPage, Post, PostId, Profile, UserId
from reference.storage.checks import check_id

__all__ = ["NewsFeedService", "Reactions", "ReadStatistics", "merge_newest", "page_of"]


class Follows(Protocol):
    """What a read asks of the social graph (through its cache)."""

    def following(self, user: UserId) -> tuple[UserId, ...]: ...
    def muted(self, user: UserId) -> tuple[UserId, ...]: ...
    def since(self, follower: UserId, followee: UserId) -> int: ...


class Posts(Protocol):
    def get_many(self, post_ids: Sequence[PostId]) -> dict[PostId, Post]: ...
    def recent(self, author: UserId, *, limit: int, before: PostId | None = None
               ) -> list[PostId]: ...
    def recent_many(self, authors: Sequence[UserId], *, limit: int
                    ) -> dict[UserId, list[PostId]]: ...


class Profiles(Protocol):
    def profiles(self, user_ids: Sequence[UserId]) -> dict[UserId, Profile]: ...


class Activity(Protocol):
    def exists(self, user_id: UserId) -> bool: ...
    def touch(self, user_id: UserId) -> bool: ...


class Reactions(Protocol):
    def counts(self, post_ids: Sequence[PostId]) -> dict[PostId, tuple[int, int, int]]: ...
    def done_by(self, user: UserId, post_ids: Sequence[PostId], kind: Kind
                ) -> dict[PostId, bool]: ...


class Pulled(Protocol):
    def all(self) -> frozenset[UserId]: ...


@dataclass(frozen=True, slots=True)
class ReadStatistics:
    """Pages served, feeds rebuilt on a miss, pages that reached past the cached feed."""

    pages: int
    rebuilds: int
    deep_pages: int


@dataclass(frozen=True, slots=True)
class _Reader:
    """What one page needs to know about its reader: whom they follow, and since when."""

    user: UserId
    since: Mapping[UserId, PostId]  # followee -> the first post id the reader sees

    def sees(self, post: Post) -> bool:
        since = self.since.get(post.author)
        return since is not None and post.post_id >= since


class NewsFeedService:
    """Reads feed pages: feed cache, pull merge, hydration (see the module notes).

    Parameters
    ----------
    graph : Follows
        Follows (with the backfill boundary on each edge) and mutes.
    users : Activity
        The user store: a read is activity; a user back after a while gets a rebuilt feed.
    feeds : FeedCache
        The feed cache.
    posts : Posts
        Posts by id (the content cache in front of the post store) and authors' lists.
    profiles : Profiles
        Names and photos (the user cache).
    reactions : Reactions
        Like, reply and share counts (the counter cache) and who liked what (the action
        cache).
    pulled : Pulled
        The authors whose posts were not pushed.
    """

    def __init__(self, *, graph: Follows, users: Activity, feeds: FeedCache, posts: Posts,
                 profiles: Profiles, reactions: Reactions, pulled: Pulled) -> None:
        self.graph, self.users, self.feeds, self.posts = graph, users, feeds, posts
        self.profiles, self.reactions, self.pulled = profiles, reactions, pulled
        self._pages = self._rebuilds = self._deep = 0

    def page(self, user: UserId, *, before: PostId | None = None,
             limit: int = PAGE_SIZE) -> FeedPage:
        """The newest ``limit`` posts of ``user``'s feed below ``before`` (newest first)."""
        check_int("limit", limit, 1, 200)
        if before is not None:
            check_id("before", before)
        if not self.users.exists(user):
            raise NotFound("user", user)
        if self.users.touch(user):
            self.feeds.drop(user)  # not kept up to date while away: rebuilt below
        reader = self._reader(user)
        cached = self.feeds.read(user) or self._rebuild(reader)
        head = [i for i in cached.post_ids if before is None or i < before]
        pulled = self.pulled.all()
        celebrities = [a for a in reader.since if a in pulled]
        # below the oldest cached id of a trimmed feed, only the authors' lists know
        horizon = BOTTOM if cached.complete or not cached.post_ids else cached.post_ids[-1]
        head = merge_newest([head, *self._newest(reader, celebrities, before, limit)],
                            floor=horizon)
        posts = self._visible(reader, head, limit)
        if len(posts) < limit and horizon != BOTTOM:
            self._deep += 1
            below = horizon if before is None or horizon < before else before
            tail = merge_newest(self._newest(reader, list(reader.since), below, limit))
            posts += self._visible(reader, tail, limit - len(posts))
        self._pages += 1
        return self._hydrate(user, posts, limit)

    def _reader(self, user: UserId) -> _Reader:
        muted = set(self.graph.muted(user))
        return _Reader(user, {a: self.graph.since(user, a) for a in self.graph.following(user)
                              if a not in muted})

    def _rebuild(self, reader: _Reader) -> CachedFeed:
        """The feed from the followees' post lists (the pull model), cached for next time."""
        most = self.feeds.max_entries
        lists = self.posts.recent_many(sorted(reader.since), limit=most + 1)
        ids = merge_newest([[i for i in ids if i >= reader.since[a]] for a, ids in lists.items()],
                           limit=most + 1)
        self.feeds.write(reader.user, ids[:most])
        self._rebuilds += 1
        return CachedFeed(ids[:most], complete=len(ids) <= most)

    def _newest(self, reader: _Reader, authors: Iterable[UserId], below: PostId | None,
                limit: int) -> list[list[PostId]]:
        """Each author's newest ``limit`` post ids (below ``below``) that the reader sees."""
        return [[i for i in self.posts.recent(a, limit=limit, before=below)
                 if i >= reader.since[a]] for a in authors]

    def _visible(self, reader: _Reader, candidates: Sequence[PostId], limit: int) -> list[Post]:
        """The first ``limit`` candidates (newest first) that still exist and that the
        reader still sees, fetched from the content cache a page at a time."""
        shown: list[Post] = []
        batch, cursor = page_of(candidates, before=None, limit=limit)
        while batch:
            found = self.posts.get_many(batch)
            shown += [found[i] for i in batch if i in found and self._shows(reader, found[i])]
            if len(shown) >= limit or cursor is None:
                return shown[:limit]
            batch, cursor = page_of(candidates, before=cursor, limit=limit)
        return shown

    def _shows(self, reader: _Reader, post: Post) -> bool:
        """Whether a post found in the feed may be shown: the reader still follows its
        author, has not muted them, and follows since before it (fanout checked when it
        wrote, but a mute or an unfollow may have come since)."""
        return reader.sees(post)

    def _hydrate(self, user: UserId, posts: list[Post], limit: int) -> FeedPage:
        """Fill in the authors, the counts and the reader's likes; the cursor is the last
        post's id."""
        ids = [p.post_id for p in posts]
        authors = self.profiles.profiles(sorted({p.author for p in posts}))
        counts = self.reactions.counts(ids)
        liked = self.reactions.done_by(user, ids, "like")
        items = tuple(FeedItem(p.post_id, p.author, authors[p.author].name,
                               authors[p.author].photo_url, p.text, p.created_at,
                               *counts[p.post_id], liked[p.post_id]) for p in posts)
        return FeedPage(items, items[-1].post_id if len(items) == limit else None)

    def statistics(self) -> ReadStatistics:
        return ReadStatistics(self._pages, self._rebuilds, self._deep)


def merge_newest(lists: Iterable[Sequence[PostId]], *, floor: PostId = 0,
                 limit: int | None = None) -> list[PostId]:
    """Merge newest-first id lists into one, newest first, without repeats, keeping ids
    >= ``floor`` (at most ``limit``): the pull model's k-way merge (읽기 시점 팬아웃).

    Notes
    -----
    ``heapq.merge`` keeps one cursor per list: O(k) to start and O(log k) per id taken, so a
    page of ``limit`` posts from ``k`` followees costs O(k + limit log k), however long
    their lists are.

    Examples
    --------
    >>> merge_newest([[9, 4, 1], [8, 4, 2], [7]], limit=5)
    [9, 8, 7, 4, 2]
    >>> merge_newest([[9, 4, 1], [8, 2]], floor=3)
    [9, 8, 4]
    """
    merged: list[PostId] = []
    for post_id in heapq.merge(*lists, reverse=True):
        if post_id < floor or (limit is not None and len(merged) == limit):
            break
        if not merged or merged[-1] != post_id:
            merged.append(post_id)
    return merged


def page_of(ids: Sequence[PostId], *, before: PostId | None, limit: int
            ) -> tuple[list[PostId], PostId | None]:
    """The first ``limit`` ids of a newest-first list below the cursor ``before``, and the
    cursor of the next page: the page's last id, or None when the page is not full.

    Parameters
    ----------
    ids : sequence of PostId
        Strictly decreasing (newest first), as a feed or :func:`merge_newest` gives them.
    before : PostId or None
        The previous page's cursor: only ids ``< before`` (None: from the newest).
    limit : int
        The page size (>= 1).

    Notes
    -----
    The cursor is a *value* (``id_lt``), not a position: posts that arrive above it or
    leave below it between two calls move every position, not the cut, so scrolling never
    skips or repeats a post, where an offset (``ids[20:40]``) would. A binary search finds
    the cut: O(log n + limit).

    Examples
    --------
    >>> page_of([9, 7, 5, 3, 1], before=None, limit=2)
    ([9, 7], 7)
    >>> page_of([12, 9, 7, 5, 3, 1], before=7, limit=2)   # 12 arrived meanwhile: no repeat
    ([5, 3], 3)
    >>> page_of([9, 7, 5, 3, 1], before=3, limit=2)       # the last page
    ([1], None)
    """
    start = 0 if before is None else bisect.bisect_right(ids, -before, key=operator.neg)
    page = list(ids[start:start + limit])
    return page, page[-1] if len(page) == limit else None
