"""The fanout service (포스팅 전송 서비스): a new post delivered to its author's followers.

Two ways to get a post into a follower's feed, and the notes' recommendation between them:

* **push** (쓰기 시점 팬아웃, fanout on write): at publish time the follower list goes on a
  message queue in chunks, and fanout workers write the post id into each follower's feed.
  Reads are cheap and feeds are fresh, but an account with millions of followers makes
  millions of writes for one post (the hot-key problem, 핫키 문제), most of them for users who
  rarely read;
* **pull** (읽기 시점 팬아웃, fanout on read): nothing is written; a read merges the recent
  posts of everyone the reader follows. Cheap writes, costly reads;
* **hybrid**: push for most authors, pull for the few above a follower threshold
  (celebrities), merged in at read time — the notes' (and Twitter's) answer.

:class:`FanoutService` decides per post and queues the work; :class:`FanoutWorker` does it.
A worker takes a task (a post id and up to :data:`~reference.feed.model.FANOUT_CHUNK`
followers), keeps the followers who still follow the author, have not muted them (the notes'
step 2, from the user's settings) and were active in the last 30 days, and writes the id into
their cached feeds in one round trip. The queue delivers at least once: a worker that dies
mid-chunk leaves the task unacked, it comes back after the visibility timeout, and writing
the same id twice into a feed changes nothing a reader sees.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.core.ids import SnowflakeGenerator
>>> from reference.feed.feeds import SortedFeeds
>>> from reference.feed.graph import SocialGraph
>>> from reference.feed.posts import PostStore
>>> from reference.feed.users import UserStore
>>> from reference.storage import connect
>>> clock = FakeClock(start=1_767_225_600.0)
>>> store = connect("memory", clock=clock)
>>> graph, users, feeds = SocialGraph(), UserStore(store), SortedFeeds(store)
>>> for name in ("ada", "bob", "cyd"):
...     graph.add_user(name)
...     _ = users.touch(name)
>>> _ = graph.follow("bob", "ada"), graph.follow("cyd", "ada")
>>> feeds.write("bob", [1])                       # bob's feed is cached, cyd's is not
>>> service = FanoutService(graph, store.queue, PullAuthors(store.kv), threshold=None)
>>> posts = PostStore(store, SnowflakeGenerator(clock, worker_id=1))
>>> post = posts.create("ada", "hi")
>>> service.publish(post)
FanoutPlan(post_id=..., mode='push', followers=2, tasks=1)
>>> worker = FanoutWorker("fanout-1", store.queue, graph, users, feeds, posts)
>>> worker.poll()
1
>>> feeds.read("bob").post_ids == [post.post_id, 1], feeds.read("cyd")
(True, None)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from reference.core.checks import check_int
from reference.core.errors import InvalidArgument
from reference.core.faults import CrashPlan
from reference.feed.feeds import FeedCache
from reference.feed.model import (
    FANOUT_CHUNK,
    FANOUT_GROUP,
    FANOUT_QUEUE,
    FanoutTask,
    Post,
    PostId,
    UserId,
)
from reference.feed.users import UserStore
from reference.storage.ports import KeyValue, WorkQueue


class Followers(Protocol):
    """What fanout asks of the social graph (the graph database, or its cache)."""

    def followers(self, user: UserId) -> tuple[UserId, ...]: ...
    def follower_count(self, user: UserId) -> int: ...
    def is_following(self, follower: UserId, followee: UserId) -> bool: ...
    def is_muted(self, user: UserId, other: UserId) -> bool: ...
    def audience(self, author: UserId, candidates: Sequence[UserId]) -> list[UserId]: ...


class PostsById(Protocol):
    """What fanout asks of the posts: whether one still exists."""

    def get_many(self, post_ids: Sequence[PostId]) -> Mapping[PostId, object]: ...

__all__ = [
    "AFTER_PUSH",
    "VISIBILITY_TIMEOUT_S",
    "FanoutPlan",
    "FanoutService",
    "FanoutWorker",
    "Followers",
    "PostsById",
    "PullAuthors",
]

VISIBILITY_TIMEOUT_S: Final = 30.0  # an unacked task is handed out again after this
AFTER_PUSH: Final = "after_push"  # the crash point: feeds written, task not acked
_PULL_AUTHORS_KEY: Final = "pull-authors"
Mode = Literal["push", "pull"]


class PullAuthors:
    """The authors some of whose posts were not pushed: a read merges their posts in.

    A set kept in one hash, so that an author who crossed the celebrity threshold is pulled
    for the posts that were not pushed, whatever the threshold says later.
    """

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    def add(self, author: UserId) -> None:
        self._kv.hset(_PULL_AUTHORS_KEY, {author: "1"})

    def all(self) -> frozenset[UserId]:
        return frozenset(self._kv.hgetall(_PULL_AUTHORS_KEY))


@dataclass(frozen=True, slots=True)
class FanoutPlan:
    """What :meth:`FanoutService.publish` decided for one post."""

    post_id: int
    mode: Mode
    followers: int
    tasks: int


class FanoutService:
    """Decides push or pull for each post and puts the push work on the fanout queue.

    Parameters
    ----------
    graph : Followers
        Where the followers come from (step 1: the graph database, through its cache).
    queue : WorkQueue
        The message queue to the fanout workers.
    pull_authors : PullAuthors
        Where a pulled author is noted.
    threshold : int or None
        Authors with at least this many followers are pulled (celebrities); None: push
        everyone (fanout on write); 0: pull everyone (fanout on read).
    chunk : int
        Followers per task.
    """

    def __init__(self, graph: Followers, queue: WorkQueue, pull_authors: PullAuthors, *,
                 threshold: int | None, chunk: int = FANOUT_CHUNK) -> None:
        if threshold is not None:
            check_int("threshold", threshold, 0)
        self.graph = graph
        self.queue = queue
        self.pull_authors = pull_authors
        self.threshold = threshold
        self.chunk = check_int("chunk", chunk, 1)
        queue.create_group(FANOUT_QUEUE, FANOUT_GROUP, visibility_timeout_s=VISIBILITY_TIMEOUT_S)

    def mode_for(self, author: UserId) -> Mode:
        """Push, unless the author has at least ``threshold`` followers."""
        pulled = self.threshold is not None and (
            self.graph.follower_count(author) >= self.threshold)
        return "pull" if pulled else "push"

    def publish(self, post: Post) -> FanoutPlan:
        """Queue ``post``'s fanout: one task per chunk of followers (none when pulled)."""
        followers = self.graph.followers(post.author)
        mode = self.mode_for(post.author)
        if mode == "pull":
            self.pull_authors.add(post.author)
            return FanoutPlan(post.post_id, mode, len(followers), 0)
        chunks = [followers[i:i + self.chunk] for i in range(0, len(followers), self.chunk)]
        for chunk in chunks:
            self.queue.publish(FANOUT_QUEUE, FanoutTask(post.post_id, post.author,
                                                        chunk).to_json())
        return FanoutPlan(post.post_id, mode, len(followers), len(chunks))


@dataclass(frozen=True, slots=True)
class FanoutWorkerStatistics:
    """Tasks handled, followers skipped (unfollowed, muted, inactive), feeds written."""

    tasks: int
    skipped: int
    pushed: int
    crashes: int


class FanoutWorker:
    """One fanout worker (팬아웃 작업 서버): takes tasks off the queue and writes feeds.

    Parameters
    ----------
    name : str
        Its consumer name on the queue.
    queue, graph, users, feeds, posts
        The fanout queue, the social graph, the user store (activity), the feed cache and
        the posts (through the content cache: a post deleted while its task waited is not
        written).
    batch : int
        Tasks taken per poll.
    crash_plan : CrashPlan, optional
        Where it dies (point ``AFTER_PUSH``: the feeds are written, the task is not acked).

    Attributes
    ----------
    done : list of (post id, time)
        Every task it finished, with the simulated time: when the last chunk of a post is
        done, its last follower can see it.
    """

    def __init__(self, name: str, queue: WorkQueue, graph: Followers, users: UserStore,
                 feeds: FeedCache, posts: PostsById, *, batch: int = 10,
                 crash_plan: CrashPlan | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgument.bad_value("name", name, "a non-empty str")
        self.name = name
        self.queue = queue
        self.graph = graph
        self.users = users
        self.feeds = feeds
        self.posts = posts
        self.batch = check_int("batch", batch, 1)
        self.crash_plan = CrashPlan() if crash_plan is None else crash_plan
        self.clock = users.clock
        self.done: list[tuple[int, float]] = []
        self._tasks = self._skipped = self._pushed = self._crashes = 0

    def poll(self) -> int:
        """Handle one batch of tasks; return how many were taken (a crash stops the batch,
        leaving the rest unacked)."""
        deliveries = self.queue.consume(FANOUT_QUEUE, FANOUT_GROUP, self.name,
                                        count=self.batch)
        for delivery in deliveries:
            task = FanoutTask.from_json(delivery.body)
            if self.posts.get_many([task.post_id]):  # not deleted while the task waited
                self._pushed += self.feeds.push(self._still_wanted(task), task.post_id)
            if self.crash_plan.should_crash(AFTER_PUSH, str(task.post_id)):
                self._crashes += 1
                return len(deliveries)
            self.queue.ack(FANOUT_QUEUE, FANOUT_GROUP, delivery.message_id)
            self.done.append((task.post_id, self.clock.now()))
            self._tasks += 1
        return len(deliveries)

    def _still_wanted(self, task: FanoutTask) -> Sequence[UserId]:
        """The task's followers who still follow the author, have not muted them and are
        active (the inactive ones get their feed rebuilt when they come back)."""
        following = self.graph.audience(task.author, task.followers)  # one query a chunk
        active = self.users.active_among(following)
        wanted = [f for f in following if f in active]
        self._skipped += len(task.followers) - len(wanted)
        return wanted

    def statistics(self) -> FanoutWorkerStatistics:
        return FanoutWorkerStatistics(self._tasks, self._skipped, self._pushed, self._crashes)
