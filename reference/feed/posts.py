"""The post store (포스팅 저장소): every post once, by Snowflake id, and each author's post list.

The database side of the post service. A post is written once, as JSON at ``post:{<id>}``,
and its id goes into its author's list ``posts:{<author>}``, a timeline of Snowflake ids in
exact order (:class:`~reference.storage.ports.IdTimeline`). Feeds hold only ids: a page asks
this store (through the content cache) for all its posts in one multi-get. The pull model
reads the authors' lists (``recent_many``: one round trip for all of a user's followees).

Deleting a post deletes its content here: no copy stays behind in a shared activity store
(Stream-Framework's users asked for exactly that).

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.core.ids import SnowflakeGenerator
>>> from reference.storage import connect
>>> clock = FakeClock(start=1_767_225_600.0)
>>> store = connect("memory", clock=clock)
>>> posts = PostStore(store, SnowflakeGenerator(clock, worker_id=1))
>>> first = posts.create("ada", "hello")
>>> clock.advance(1.0)
>>> second = posts.create("ada", "again")
>>> posts.recent("ada", limit=10) == [second.post_id, first.post_id]
True
>>> posts.delete(first)
True
>>> list(posts.get_many([first.post_id, second.post_id]).values()) == [second]
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from reference.core.clock import Clock
from reference.core.errors import InvalidArgument
from reference.core.ids import SnowflakeGenerator
from reference.feed.model import Post, PostId, UserId
from reference.storage.ports import IdTimeline, KeyValue

__all__ = ["MAX_POST_CHARS", "PostStore", "PostStoreStatistics", "check_text"]

MAX_POST_CHARS: Final = 280  # Twitter's limit


class _Store(Protocol):
    @property
    def clock(self) -> Clock: ...
    @property
    def kv(self) -> KeyValue: ...
    @property
    def id_timeline(self) -> IdTimeline: ...


def check_text(name: str, value: object, *, max_chars: int = MAX_POST_CHARS) -> str:
    """A non-empty text of at most ``max_chars`` characters that every backend can store
    (no lone surrogate, which Redis refuses to encode)."""
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise InvalidArgument.bad_value(name, value, f"a non-empty str of <= {max_chars} chars")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument.bad_value(name, value, "text without lone surrogates") from None
    return value


def post_key(post_id: PostId) -> str:
    return f"post:{{{post_id}}}"


def author_key(author: UserId) -> str:
    return f"posts:{{{author}}}"


@dataclass(frozen=True, slots=True)
class PostStoreStatistics:
    """Posts created and deleted, and reads of post content (each a database read)."""

    created: int
    deleted: int
    reads: int


class PostStore:
    """The posts and each author's list of post ids, on a store's ports.

    Parameters
    ----------
    store : Store
        Its ``kv`` (post content), ``id_timeline`` (authors' lists) and ``clock`` are used.
    ids : SnowflakeGenerator
        Issues the post ids (time-ordered).
    """

    __slots__ = ("_clock", "_created", "_deleted", "_ids", "_kv", "_lists", "_reads")

    def __init__(self, store: _Store, ids: SnowflakeGenerator) -> None:
        self._kv = store.kv
        self._lists = store.id_timeline
        self._clock = store.clock
        self._ids = ids
        self._created = self._deleted = self._reads = 0

    def create(self, author: UserId, text: str) -> Post:
        """Store a new post by ``author`` (already checked) and list it under its author."""
        post_id = self._ids.next_id()
        post = Post(post_id, author, text, self._clock.now())
        self._kv.set(post_key(post_id), post.to_json())
        self._lists.add(author_key(author), [post_id])
        self._created += 1
        return post

    def get_many(self, post_ids: Sequence[PostId]) -> dict[PostId, Post]:
        """The posts that still exist among ``post_ids``, by id (one multi-get)."""
        self._reads += len(post_ids)
        found = self._kv.get_many([post_key(i) for i in post_ids])
        return {i: Post.from_json(raw) for i, raw in zip(post_ids, found, strict=True) if raw}

    def recent(self, author: UserId, *, limit: int, before: PostId | None = None
               ) -> list[PostId]:
        """``author``'s newest post ids (below ``before`` if given), newest first."""
        return self._lists.newest(author_key(author), limit=limit, before=before)

    def recent_many(self, authors: Sequence[UserId], *, limit: int) -> dict[UserId, list[PostId]]:
        """Each author's newest ``limit`` post ids, in one round trip (the pull model)."""
        lists = self._lists.newest_many([author_key(a) for a in authors], limit=limit)
        return dict(zip(authors, lists, strict=True))

    def delete(self, post: Post) -> bool:
        """Delete ``post``'s content and unlist it; True if it existed."""
        self._lists.remove(author_key(post.author), post.post_id)
        existed = self._kv.delete(post_key(post.post_id)) == 1
        self._deleted += existed
        return existed

    def statistics(self) -> PostStoreStatistics:
        return PostStoreStatistics(created=self._created, deleted=self._deleted,
                                   reads=self._reads)
