"""Exercise ch11: the fanout worker (팬아웃 작업 서버) — a post into its followers' cached feeds.

Fanout on write (쓰기 시점 팬아웃), the notes' steps 3 and 4: when someone posts, the fanout
service puts the post id and the author's followers on a message queue, in chunks of up to
100 (:class:`FanoutTask`), and fanout workers take the tasks off the queue and write the
post id into each follower's feed in the feed cache. You write the worker::

    fanout queue ──▶ poll(): consume a batch ──▶ for each task:
                                                   keep the followers who still want it
                                                   feeds.push(those, post_id)   one round trip
                                                   ack
                    ▲                                           │ a crash before the ack
                    └───── redelivered 30 s later ◀─────────────┘ (at-least-once)

The queue delivers **at least once**: a worker that dies after writing the feeds but before
its ack leaves the task unacked, and the queue hands it out again after its visibility
timeout (30 s); a broker may also deliver a task twice. Writing the same id into a feed
twice must change nothing a reader sees, and every task must end acked.

Every body below raises ``NotImplementedError``: replace each with your code. The docstrings
are the contract; ``exercises/graders/test_ch11_fanout.py`` checks it. Grade yourself with
``make grade CHAPTER=11`` or, in a notebook, ``check("fanout-worker")``.

The vocabulary is yours to use, not to rebuild: :class:`FanoutTask` (``from_json``),
:data:`FANOUT_QUEUE` and :data:`FANOUT_GROUP` (where the tasks are), :data:`AFTER_PUSH` and
:class:`CrashPlan` (where a worker dies), the ports and stores you are handed
(:class:`WorkQueue`, the graph, :class:`UserStore`, :class:`FeedCache`, the posts) and
:class:`InvalidArgument`. The model answer is ``FanoutWorker`` in
``reference/feed/fanout.py``; its ``statistics`` and ``done`` go beyond this exercise.

Exercises (name → what to implement):

==================== ======================================================================
fanout-worker-basics ``__init__`` and :meth:`FanoutWorker.poll` on small hand-made cases:
                     who gets the write (followers who still follow, have not muted the
                     author, are active, and whose feed is cached; nobody if the post was
                     deleted meanwhile), one push per task, the ack, the batch size, a
                     crash before the ack and the redelivery
fanout-worker        graded the Gossip Glomers way: your workers replace the reference's
                     in the chapter's stormy fault scenario (crashes mid-chunk, duplicate
                     deliveries, lost acks, lost cache nodes, unfollows, mutes, blocks and
                     deletes while posts fan out) on 20 seeds; the chapter's checker must
                     find no anomaly in any feed, every write must have gone to a follower
                     who wanted it, and every task must end acked
==================== ======================================================================

Run the storm yourself and read the checker's report of each seed (``make grade`` shows
the first failure; ``--solution`` a passing run)::

    from exercises.ch11_fanout import FanoutWorker
    from exercises.graders.test_ch11_fanout import run_storm

    for run in run_storm(FanoutWorker):      # one SeedRun per seed, 20 in all
        print(run.seed, run.error or run.report.summary(), run.audit.wasted[:3])
"""

from __future__ import annotations

from reference.core.errors import InvalidArgument  # noqa: F401  (yours to raise)
from reference.core.faults import CrashPlan
from reference.feed.fanout import AFTER_PUSH, Followers, PostsById
from reference.feed.feeds import FeedCache
from reference.feed.model import FANOUT_GROUP, FANOUT_QUEUE, FanoutTask
from reference.feed.users import UserStore
from reference.storage.ports import WorkQueue

__all__ = [
    "AFTER_PUSH",
    "FANOUT_GROUP",
    "FANOUT_QUEUE",
    "CrashPlan",
    "FanoutTask",
    "FanoutWorker",
    "FeedCache",
    "Followers",
    "PostsById",
    "UserStore",
    "WorkQueue",
]


class FanoutWorker:
    """One fanout worker: takes tasks off the fanout queue and writes followers' feeds.

    Parameters
    ----------
    name : str
        Its consumer name on the queue: a non-empty str.
    queue : WorkQueue
        The fanout queue: ``consume(FANOUT_QUEUE, FANOUT_GROUP, name, count=...)`` hands out
        :class:`~reference.storage.ports.Delivery` objects (``message_id``, ``body``: a
        :class:`FanoutTask` as JSON, ``deliveries``: 1 the first time), ``ack(FANOUT_QUEUE,
        FANOUT_GROUP, message_id)`` marks one done.
    graph : Followers
        The social graph (through its cache): ``audience(author, candidates)`` is the list of
        those candidates who follow ``author`` and have not muted them, in order (one query
        for a whole chunk); ``is_following(follower, followee)`` and ``is_muted(user,
        other)`` ask the same one pair at a time.
    users : UserStore
        Activity: ``active_among(user_ids)`` is the set of those active in the last 30 days.
    feeds : FeedCache
        The feed cache: ``push(users, post_id)`` adds ``post_id`` to the feeds of ``users``
        **that are cached**, in one round trip, and never creates a feed.
    posts : PostsById
        The posts, through the content cache: ``posts.get_many([post_id])`` is empty when
        the post was deleted (perhaps while its task waited on the queue).
    batch : int
        Tasks taken per poll: an ``int >= 1`` (a bool is not).
    crash_plan : CrashPlan, optional
        Where this worker dies (the scenario's simulated crashes); None: never.

    Raises
    ------
    InvalidArgument
        For a bad ``name`` or ``batch``.

    Notes
    -----
    Why filter at all, when the news feed service checks every post again when it reads?
    Because each write costs: a popular author's post is one write per follower, most of
    them for users who rarely read (Twitter fanned out only to users active in the last 30
    days; an inactive user's feed is rebuilt when they come back). The read-time check
    catches what changed *after* the write (a mute, an unfollow); the write-time filter
    avoids the wasted writes.

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> from reference.core.ids import SnowflakeGenerator
    >>> from reference.feed.feeds import SortedFeeds
    >>> from reference.feed.graph import SocialGraph
    >>> from reference.feed.posts import PostStore
    >>> from reference.storage import connect
    >>> store = connect("memory", clock=FakeClock(start=1_767_225_600.0))
    >>> graph, users, feeds = SocialGraph(), UserStore(store), SortedFeeds(store)
    >>> posts = PostStore(store, SnowflakeGenerator(store.clock, worker_id=1))
    >>> for name in ("ada", "bob", "cyd"):
    ...     graph.add_user(name)
    ...     _ = users.touch(name)
    >>> _ = graph.follow("bob", "ada"), graph.follow("cyd", "ada")
    >>> feeds.write("bob", [1])                       # bob's feed is cached, cyd's is not
    >>> store.queue.create_group(FANOUT_QUEUE, FANOUT_GROUP)
    >>> post = posts.create("ada", "hello")
    >>> task = FanoutTask(post.post_id, "ada", ("bob", "cyd"))
    >>> _ = store.queue.publish(FANOUT_QUEUE, task.to_json())
    >>> worker = FanoutWorker("fanout-1", store.queue, graph, users, feeds, posts)
    >>> worker.poll()
    1
    >>> feeds.read("bob").post_ids == [post.post_id, 1], feeds.read("cyd")  # cyd: not created
    (True, None)
    """

    def __init__(self, name: str, queue: WorkQueue, graph: Followers, users: UserStore,
                 feeds: FeedCache, posts: PostsById, *, batch: int = 10,
                 crash_plan: CrashPlan | None = None) -> None:
        """Validate ``name`` and ``batch``, keep everything (``fanout-worker-basics``).

        Hint
        ----
        ``isinstance(batch, bool)`` before ``isinstance(batch, int)``: ``True`` is an int.
        Replace a None ``crash_plan`` with ``CrashPlan()``, a plan that never crashes, so
        :meth:`poll` can always ask it.
        """
        raise NotImplementedError(
            "exercise: FanoutWorker.__init__ — validate name and batch, keep the parts"
        )

    def poll(self) -> int:
        """Handle one batch of tasks; return how many were taken.

        Contract
        --------
        1. Take up to ``batch`` deliveries: ``queue.consume(FANOUT_QUEUE, FANOUT_GROUP,
           name, count=batch)``.
        2. For each, in order: ``task = FanoutTask.from_json(delivery.body)``. If the post
           no longer exists (``posts.get_many([task.post_id])`` is empty: deleted while
           the task waited), write nothing and go on to step 3. Otherwise, of
           ``task.followers``, keep those who **still follow** ``task.author`` (they may
           have unfollowed, or been blocked, since the task was queued), **have not
           muted** the author, and are **active**. Write ``task.post_id`` into their feeds
           with **one** ``feeds.push(kept, task.post_id)``: it writes only feeds that are
           cached, and a feed that is not cached must stay so (its next read rebuilds it
           whole; a one-post feed would hide every older post).
        3. Then ask ``crash_plan.should_crash(AFTER_PUSH, str(task.post_id))``: if True,
           this worker "dies": return at once, without acking this task or the rest of the
           batch (the queue hands them out again after its visibility timeout).
        4. Otherwise ``queue.ack(FANOUT_QUEUE, FANOUT_GROUP, delivery.message_id)``.

        A task delivered again (a crash, a lost ack, a duplicate publish) is handled again
        the same way: the push is idempotent (a feed holds each id once, or drops repeats
        when read), and it is acked again. Never skip a delivery you have seen before
        without acking it: it would come back five times, then land in the dead-letter
        queue.

        Returns
        -------
        int
            The number of deliveries taken (0 when the queue has nothing for this worker),
            including those a crash left unacked.

        Hint
        ----
        ``users.active_among(candidates)`` answers for many users in one round trip: call it
        once per task, on the followers who passed the graph checks. Never call
        ``feeds.write`` or ``feeds.backfill``: they are for rebuilds and follows.
        """
        raise NotImplementedError(
            "exercise: FanoutWorker.poll — consume, keep who still wants it, push, ack"
        )
