"""The news feed cache (뉴스 피드 캐시): each user's feed as post ids, in one of two shapes.

The notes' step 4: fanout workers put ``<post id, user id>`` into the feed cache, the user id
being the key (``feed:{<user>}``) and the post id the entry. Two structures can hold it, and
the chapter compares them:

=============== ============================================= ==============================
shape           what it costs                                  order
=============== ============================================= ==============================
capped list     O(1) push to the front, trim to N (Twitter's   by arrival: a late write lands
(``"list"``)    choice: ``LPUSH`` + ``LTRIM``); a read takes   out of place, a repeated push
                the whole list and sorts it; removing many     is kept twice (dropped on read);
                posts from one feed costs a rebuild            a full list trims by arrival, so
                                                               a late older post can push a
                                                               newer one out (Twitter accepted
                                                               it; the sorted shape cannot)
sorted timeline O(log N) insert and trim; a read is one range  exact, by Snowflake id; a
(``"sorted"``)  query (the lab takes the whole feed, up to     repeated push changes nothing
                800 ids, and pages through it in memory)
=============== ============================================= ==============================

Either way a feed keeps at most :data:`~reference.feed.model.FEED_MAX_ENTRIES` (800) ids and
a fanout write **never creates a feed** (``only_existing``): a feed that is not cached (never
built, dropped for an inactive user, wiped with a lost cache node) stays a miss, and the next
read rebuilds it whole from the post store. A stray write would have made a one-post feed
that hides everything older.

A rebuilt feed also holds a **bottom mark**, the id :data:`BOTTOM` (0), below every post:
it makes a feed with no post yet a key that exists (Redis keeps no empty set or list, and a
fanout writes only into existing feeds), and while it is there nothing was ever trimmed, so
the feed is *complete*: a reader needs no older posts from elsewhere. The first trim past
800 entries drops it, and from then on pages older than the oldest cached id come from the
authors' post lists.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> feeds = SortedFeeds(connect("memory", clock=FakeClock()))
>>> feeds.push(["ada", "bob"], 7)      # nobody's feed is cached yet: nothing is written
0
>>> feeds.read("ada") is None
True
>>> feeds.write("ada", [5, 3])         # rebuilt on a miss
>>> feeds.push(["ada", "bob"], 7)
1
>>> feeds.read("ada"), feeds.statistics().misses
(CachedFeed(post_ids=[7, 5, 3], complete=True), 1)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from reference.feed.model import FEED_MAX_ENTRIES, PostId, UserId
from reference.storage.ports import ID_WIDTH, CappedList, IdTimeline, KeyValue

__all__ = [
    "BOTTOM",
    "FEED_SHAPES",
    "CachedFeed",
    "FeedCache",
    "FeedCacheStatistics",
    "ListFeeds",
    "SortedFeeds",
    "feed_key",
    "feeds_on",
]

FeedShape = Literal["sorted", "list"]
FEED_SHAPES: tuple[FeedShape, ...] = ("sorted", "list")


BOTTOM: PostId = 0  # the bottom mark of a rebuilt feed: lower than every post id


def feed_key(user_id: UserId) -> str:
    return f"feed:{{{user_id}}}"


@dataclass(frozen=True, slots=True)
class CachedFeed:
    """A cached feed as read: its post ids, newest first, and whether it is complete (its
    bottom mark is still there: nothing older was ever trimmed away)."""

    post_ids: list[PostId]
    complete: bool


def _as_read(ids: list[PostId]) -> CachedFeed:
    if ids and ids[-1] == BOTTOM:
        return CachedFeed(ids[:-1], complete=True)
    return CachedFeed(ids, complete=False)


@dataclass(frozen=True, slots=True)
class FeedCacheStatistics:
    """The news feed tier as a cache whose entries are whole feeds, one per user: reads that
    found a feed (hits) or not (misses, each followed by a rebuild), feeds rebuilt, feeds
    evicted (``dropped``: an inactive user's, one to rebuild after an unmute or a follow,
    those of a lost node), fanout writes asked for and made (a write to an uncached feed is
    skipped), ids removed; and, when the users are given, the feeds cached now
    (``entries``), the post ids they hold (``ids``) and their size as stored (``bytes``:
    20 digits an id, as the Redis members are). The capacity is ``max_entries`` ids per
    feed, trimmed oldest first; no TTL: a feed leaves when its user stops reading."""

    hits: int
    misses: int
    rebuilt: int
    dropped: int
    pushes: int
    written: int
    removed: int
    entries: int = 0
    ids: int = 0
    bytes: int = 0

    @property
    def evictions(self) -> int:
        return self.dropped

    @property
    def hit_rate(self) -> float:
        reads = self.hits + self.misses
        return self.hits / reads if reads else 0.0


class FeedCache(Protocol):
    """What the fanout workers and the news feed service ask of the feed cache."""

    shape: FeedShape
    max_entries: int

    def push(self, users: Sequence[UserId], post_id: PostId) -> int: ...
    def read(self, user: UserId) -> CachedFeed | None: ...
    def write(self, user: UserId, post_ids: Sequence[PostId]) -> None: ...
    def backfill(self, user: UserId, post_ids: Sequence[PostId]) -> bool: ...
    def remove(self, users: Sequence[UserId], post_ids: Sequence[PostId]) -> int: ...
    def drop(self, user: UserId) -> bool: ...
    def statistics(self, users: Sequence[UserId] = ()) -> FeedCacheStatistics: ...


class _Counts(ABC):
    """The counters both shapes keep."""

    def __init__(self) -> None:
        self.hits = self.misses = self.rebuilt = self.dropped = 0
        self.pushes = self.written = self.removed = 0

    def statistics(self, users: Sequence[UserId] = ()) -> FeedCacheStatistics:
        """The counters; with ``users``, also what their cached feeds hold now (one size
        query per user: for reports, not for the request path)."""
        sizes = [size for size in map(self._held, users) if size is not None]
        return FeedCacheStatistics(self.hits, self.misses, self.rebuilt, self.dropped,
                                   self.pushes, self.written, self.removed,
                                   entries=len(sizes), ids=sum(sizes),
                                   bytes=sum(sizes) * ID_WIDTH)

    @abstractmethod
    def _held(self, user: UserId) -> int | None:
        """How many post ids ``user``'s cached feed holds (its bottom mark aside); None if
        the feed is not cached."""


class _Store(Protocol):
    @property
    def kv(self) -> KeyValue: ...
    @property
    def id_timeline(self) -> IdTimeline: ...
    @property
    def lists(self) -> CappedList: ...


class SortedFeeds(_Counts):
    """Feeds as sorted timelines of Snowflake ids (exact order; a set: repeats collapse)."""

    shape: FeedShape = "sorted"

    def __init__(self, store: _Store, *, max_entries: int = FEED_MAX_ENTRIES) -> None:
        super().__init__()
        self._ids = store.id_timeline
        self._kv = store.kv
        self.max_entries = max_entries

    def push(self, users: Sequence[UserId], post_id: PostId) -> int:
        """Add ``post_id`` to the cached feeds among ``users`` (one round trip)."""
        self.pushes += len(users)
        added = self._ids.add_to_many([feed_key(u) for u in users], post_id,
                                      max_len=self.max_entries, only_existing=True)
        self.written += added
        return added

    def read(self, user: UserId) -> CachedFeed | None:
        """The feed, newest first; None on a miss."""
        ids = self._ids.newest(feed_key(user), limit=self.max_entries + 1)
        self.hits, self.misses = self.hits + bool(ids), self.misses + (not ids)
        return _as_read(ids) if ids else None

    def write(self, user: UserId, post_ids: Sequence[PostId]) -> None:
        """Replace ``user``'s feed with ``post_ids`` (a rebuild) and its bottom mark, the
        newest ``max_entries`` kept."""
        key = feed_key(user)
        self._kv.delete(key)
        self._ids.add(key, [*post_ids, BOTTOM])
        self._ids.trim_to(key, self.max_entries)
        self.rebuilt += 1

    def backfill(self, user: UserId, post_ids: Sequence[PostId]) -> bool:
        """Copy ``post_ids`` into ``user``'s feed if it is cached (a follow); True if so."""
        key = feed_key(user)
        if not self._ids.size(key):
            return False  # not cached: the next read rebuilds it, these posts included
        self._ids.add(key, post_ids)
        self._ids.trim_to(key, self.max_entries)
        return True

    def remove(self, users: Sequence[UserId], post_ids: Sequence[PostId]) -> int:
        """Take ``post_ids`` out of the feeds of ``users``: one post from many feeds (a
        delete) or many posts from one feed (an unfollow), one round trip either way."""
        if len(users) == 1:
            removed = self._ids.remove(feed_key(users[0]), *post_ids) if post_ids else 0
        else:
            removed = sum(self._ids.remove_from_many([feed_key(u) for u in users], post_id)
                          for post_id in post_ids)
        self.removed += removed
        return removed

    def _held(self, user: UserId) -> int | None:
        size = self._ids.size(feed_key(user))
        marked = size and self._ids.newest(feed_key(user), limit=1, before=1) == [BOTTOM]
        return (size - 1 if marked else size) if size else None

    def drop(self, user: UserId) -> bool:
        """Forget ``user``'s feed: the next read rebuilds it."""
        dropped = self._kv.delete(feed_key(user)) == 1
        self.dropped += dropped
        return dropped


class ListFeeds(_Counts):
    """Feeds as capped lists, newest arrival first (Twitter's timelines in Redis)."""

    shape: FeedShape = "list"

    def __init__(self, store: _Store, *, max_entries: int = FEED_MAX_ENTRIES) -> None:
        super().__init__()
        self._lists = store.lists
        self._kv = store.kv
        self.max_entries = max_entries

    def push(self, users: Sequence[UserId], post_id: PostId) -> int:
        """Push ``post_id`` onto the cached feeds among ``users`` (one round trip)."""
        keys = [feed_key(u) for u in users]
        self.pushes += len(users)
        before = self.written
        self._lists.push_to_many(keys, str(post_id), max_len=self.max_entries,
                                 only_existing=True)
        self.written = before + len(users)  # a list push cannot say which keys existed
        return len(users)

    def read(self, user: UserId) -> CachedFeed | None:
        """The feed, newest first (sorted here: the list is in arrival order, and a
        repeated push is dropped); None on a miss."""
        entries = self._lists.range(feed_key(user), 0, -1)
        self.hits, self.misses = self.hits + bool(entries), self.misses + (not entries)
        return _as_read(sorted({int(e) for e in entries}, reverse=True)) if entries else None

    def write(self, user: UserId, post_ids: Sequence[PostId]) -> None:
        """Replace ``user``'s feed with ``post_ids`` (a rebuild) and its bottom mark, the
        newest ``max_entries`` kept."""
        key = feed_key(user)
        self._kv.delete(key)
        newest = sorted(post_ids)[-self.max_entries:]  # oldest first: the newest ends in front
        self._lists.extend(key, [str(i) for i in (BOTTOM, *newest)], max_len=self.max_entries)
        self.rebuilt += 1

    def backfill(self, user: UserId, post_ids: Sequence[PostId]) -> bool:
        """A follow: ``user``'s feed is dropped, and rebuilt with the followee's posts on
        the next read. (Pushed in, older posts would sit in front of newer ones, and the
        next trims would drop those newer ones from the back.)"""
        return self.drop(user)

    def remove(self, users: Sequence[UserId], post_ids: Sequence[PostId]) -> int:
        """Take ``post_ids`` out of the feeds of ``users``: one post from many feeds with one
        LREM each (a delete, one round trip); many posts from one feed (an unfollow) by
        dropping that feed, rebuilt on the next read, instead of hundreds of LREMs."""
        if len(post_ids) > 1:
            return sum(self.drop(user) for user in users)
        removed = sum(self._lists.remove_from_many([feed_key(u) for u in users], str(p))
                      for p in post_ids)
        self.removed += removed
        return removed

    def _held(self, user: UserId) -> int | None:
        entries = self._lists.range(feed_key(user), 0, -1)
        return len({e for e in entries if e != str(BOTTOM)}) if entries else None

    def drop(self, user: UserId) -> bool:
        dropped = self._kv.delete(feed_key(user)) == 1
        self.dropped += dropped
        return dropped


def feeds_on(store: _Store, shape: FeedShape, *, max_entries: int = FEED_MAX_ENTRIES
             ) -> FeedCache:
    """The feed cache of ``shape`` on ``store``."""
    return (SortedFeeds if shape == "sorted" else ListFeeds)(store, max_entries=max_entries)
