"""The vocabulary of chapter 11, the news feed (뉴스 피드): posts, feed pages, fanout tasks.

Who does what, in the notes' ten steps::

    publish (피드 발행)                          read (피드 읽기)
    1 graph DB: the author's followers         5 the user asks for a page
    2 user cache: drop who muted the author    6 the load balancer picks a web server
    3 followers + post id onto a queue         7 the web server calls the news feed service
    4 fanout workers write <post id, user id>  8 post ids from the feed cache
      into each follower's feed cache          9 posts and users from their caches
                                               10 the page goes back

A feed holds post *ids* only (Twitter: id + user id + flag bits); the posts themselves live
once in the post store and its cache, and a page is *hydrated* (filled in) from them.

Examples
--------
>>> post = Post(post_id=7, author="u1", text="hello", created_at=1.5)
>>> Post.from_json(post.to_json()) == post
True
>>> FanoutTask(7, "u1", ("u2", "u3")).to_json()
'[7,"u1",["u2","u3"]]'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from reference.core.errors import InvalidArgument

__all__ = [
    "ACTIVE_WINDOW_S",
    "FANOUT_CHUNK",
    "FANOUT_GROUP",
    "FANOUT_QUEUE",
    "FEED_MAX_ENTRIES",
    "FOLLOW_BACKFILL_POSTS",
    "PAGE_SIZE",
    "FanoutTask",
    "FeedItem",
    "FeedPage",
    "Post",
    "PostId",
    "Profile",
    "UserId",
]

UserId = str
PostId = int  # a Snowflake id: sorting by id sorts by time

# ── presets (sources in ../shared/FACTS.md: Twitter 2013, GetStream, Stream-Framework) ─────
FEED_MAX_ENTRIES: Final = 800  # Twitter kept each home timeline to ~800 entries
ACTIVE_WINDOW_S: Final = 30 * 86_400  # fan out only to users active in the last 30 days
FOLLOW_BACKFILL_POSTS: Final = 100  # GetStream copies ~100 recent activities on follow
FANOUT_CHUNK: Final = 100  # Stream-Framework fans out to 100 followers per task
PAGE_SIZE: Final = 20  # posts per feed page by default
FANOUT_QUEUE: Final = "fanout"  # the message queue between publishing and fanout workers
FANOUT_GROUP: Final = "fanout-workers"


@dataclass(frozen=True, slots=True)
class Post:
    """One post (포스팅) as the post store keeps it."""

    post_id: PostId
    author: UserId
    text: str
    created_at: float

    def to_json(self) -> str:
        return json.dumps([self.post_id, self.author, self.text, self.created_at],
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Post:
        """Inverse of :meth:`to_json`; a malformed record raises InvalidArgument."""
        try:
            post_id, author, body, created_at = json.loads(text)
            return cls(int(post_id), str(author), str(body), float(created_at))
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(f"not a stored post: {text[:60]!r} ({exc})") from exc


@dataclass(frozen=True, slots=True)
class Profile:
    """What a feed shows of a user: the user cache's entry (name, photo)."""

    user_id: UserId
    name: str
    photo_url: str


@dataclass(frozen=True, slots=True)
class FanoutTask:
    """One message on the fanout queue: a post id and a chunk of its author's followers."""

    post_id: PostId
    author: UserId
    followers: tuple[UserId, ...]

    def to_json(self) -> str:
        return json.dumps([self.post_id, self.author, list(self.followers)],
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> FanoutTask:
        """Inverse of :meth:`to_json`; a malformed body raises InvalidArgument."""
        try:
            post_id, author, followers = json.loads(text)
            return cls(int(post_id), str(author), tuple(str(f) for f in followers))
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(f"not a fanout task: {text[:60]!r} ({exc})") from exc


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One hydrated entry of a feed page: the post with its author's name and photo, its
    like, reply and share counts (the counter cache) and whether the reader liked it (the
    action cache)."""

    post_id: PostId
    author: UserId
    author_name: str
    author_photo: str
    text: str
    created_at: float
    likes: int
    replies: int
    shares: int
    liked: bool


@dataclass(frozen=True, slots=True)
class FeedPage:
    """A page of a feed, newest first; pass ``next_cursor`` as ``before`` for the next page
    (None: this was the last page). The cursor is a post id (``id_lt``), so posts that
    arrive meanwhile never make a page skip or repeat a post."""

    items: tuple[FeedItem, ...]
    next_cursor: PostId | None

    @property
    def post_ids(self) -> tuple[PostId, ...]:
        return tuple(item.post_id for item in self.items)
