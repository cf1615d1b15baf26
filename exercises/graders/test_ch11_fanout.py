"""Graders for exercises/ch11_fanout.py: the fanout worker, by hand and in a storm.

Each test reaches the code under test only through ``impl``.

``fanout-worker-basics`` builds a tiny world by hand: ada posts; bob (active, feed cached)
must get the post; cyd (feed not cached), dee (muted ada), eve (no longer follows ada) and
fay (inactive for 31 days) must not; nobody gets a post deleted while its task waited.

``fanout-worker`` is graded the way Gossip Glomers grades a node: your worker class goes
into the chapter's system in place of the reference workers (:func:`with_workers`), and the
chapter's stormy fault scenario (:func:`reference.feed.scenario.run_feed_scenario`) runs on
20 seeds: workers crash between the push and the ack, the broker duplicates tasks and
loses 5% of the acks, cache nodes are lost, people unfollow, mute, block and delete while
posts fan out. Three verdicts, each over every seed:

1. the chapter's checker (:func:`reference.feed.checker.check_feed`) finds no anomaly in
   any feed or scroll session (its ``summary()`` is the feedback);
2. every feed write was of a post that still existed, to someone who, at that moment,
   followed the author, had not muted them and was active, and the worker never rebuilt
   or created a feed;
3. every task the workers took ended acked (nothing left for the dead-letter queue).

Run the storm yourself: ``run_storm(YourWorker)`` returns one :class:`SeedRun` per seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from random import Random
from typing import Any

import pytest

from exercises.graders.support import GuardedClock
from reference.core.checking import CheckReport
from reference.core.errors import InvalidArgument, LabError
from reference.core.faults import CrashPlan
from reference.core.ids import SnowflakeGenerator
from reference.feed.checker import check_feed
from reference.feed.fanout import AFTER_PUSH
from reference.feed.feeds import feeds_on
from reference.feed.graph import SocialGraph
from reference.feed.model import FANOUT_GROUP, FANOUT_QUEUE, FanoutTask
from reference.feed.posts import PostStore, post_key
from reference.feed.scenario import (
    Builder,
    FeedScenarioConfig,
    build_feed_system,
    run_feed_scenario,
)
from reference.feed.system import NewsFeedSystem
from reference.feed.users import UserStore
from reference.storage import Store, connect
from reference.storage.ports import Delivery

SOLUTION = {"FanoutWorker": "reference.feed.fanout:FanoutWorker"}

T0 = 1_767_225_600.0
DAY_S = 86_400.0
VISIBILITY_TIMEOUT_S = 30.0


# ----------------------------------------------------------------------------- a small world


class RecordingFeeds:
    """A feed cache that passes every call on and records what a worker asked of it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, Any]] = []

    def push(self, users: Sequence[str], post_id: int) -> int:
        self.calls.append(("push", (tuple(users), post_id)))
        return self.inner.push(users, post_id)  # type: ignore[no-any-return]

    def write(self, user: str, post_ids: Sequence[int]) -> None:
        self.calls.append(("write", user))
        self.inner.write(user, post_ids)

    def backfill(self, user: str, post_ids: Sequence[int]) -> bool:
        self.calls.append(("backfill", user))
        return self.inner.backfill(user, post_ids)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class World:
    store: Store
    clock: GuardedClock
    graph: SocialGraph
    users: UserStore
    feeds: RecordingFeeds
    posts: PostStore

    def worker(self, impl: Any, **kwargs: Any) -> Any:
        return impl.FanoutWorker("fanout-1", self.store.queue, self.graph, self.users,
                                 self.feeds, self.posts, **kwargs)

    def publish(self, followers: Sequence[str] = ("bob",)) -> int:
        """ada posts; its fanout task for ``followers`` goes on the queue; its id."""
        post = self.posts.create("ada", "hello")
        self.store.queue.publish(FANOUT_QUEUE, FanoutTask(post.post_id, "ada",
                                                          tuple(followers)).to_json())
        return post.post_id

    def feed(self, user: str) -> list[int] | None:
        """The ids of ``user``'s cached feed, newest first; None if it is not cached."""
        found = self.feeds.inner.read(user)
        return None if found is None else list(getattr(found, "post_ids", found))

    def queue(self) -> Any:
        return self.store.queue.statistics(FANOUT_QUEUE, FANOUT_GROUP)


FOLLOWERS = ("bob", "cyd", "dee", "eve", "fay")
OLD = 1  # every cached feed starts with this old post id


def world(shape: str = "sorted") -> World:
    """ada posts; bob, cyd, dee, eve and fay were her followers when the task was queued.

    bob: active, feed cached.  cyd: active, feed not cached.  dee: muted ada.
    eve: unfollowed ada since.  fay: last active 31 days ago.  Every cached feed holds OLD.
    """
    clock = GuardedClock(start=T0 - 31 * DAY_S)
    store = connect("memory", clock=clock)
    graph, users = SocialGraph(), UserStore(store)
    feeds = RecordingFeeds(feeds_on(store, shape))  # type: ignore[arg-type]
    for name in ("ada", *FOLLOWERS):
        graph.add_user(name)
    users.touch("fay")
    clock.advance(31 * DAY_S)
    for name in ("ada", "bob", "cyd", "dee", "eve"):
        users.touch(name)
    for name in FOLLOWERS:
        graph.follow(name, "ada")
    graph.mute("dee", "ada")
    graph.unfollow("eve", "ada")
    for name in ("bob", "dee", "eve", "fay"):
        feeds.inner.write(name, [OLD])
    store.queue.create_group(FANOUT_QUEUE, FANOUT_GROUP,
                             visibility_timeout_s=VISIBILITY_TIMEOUT_S)
    posts = PostStore(store, SnowflakeGenerator(clock, worker_id=1))
    return World(store, clock, graph, users, feeds, posts)


def poll(worker: Any) -> int:
    taken = worker.poll()
    assert isinstance(taken, int) and not isinstance(taken, bool), (
        f"poll() must return the number of tasks taken (an int), got {taken!r}"
    )
    return taken


# ----------------------------------------------------------------------- fanout-worker-basics

BASICS_HINT = (
    "consume up to batch tasks; skip a deleted post; keep graph.audience(author, followers) "
    "(who still follows, unmuted: one query per chunk), then users.active_among; one "
    "feeds.push per task; ack (unless crash_plan.should_crash(AFTER_PUSH, str(post_id)))"
)


@pytest.mark.exercise(name="fanout-worker-basics", points=3, hint=BASICS_HINT)
def test_a_task_reaches_the_cached_feed_of_an_active_follower_and_is_acked(impl: Any) -> None:
    w = world()
    worker = w.worker(impl)
    post = w.publish(FOLLOWERS)
    assert poll(worker) == 1, "one task was queued: poll() must take it and return 1"
    assert w.feed("bob") == [post, OLD], f"bob's feed is {w.feed('bob')}: expected the post"
    stats = w.queue()
    assert (stats.acked, stats.lag) == (1, 0), (
        f"the task must be acked once its feeds are written: acked={stats.acked}, "
        f"lag={stats.lag}"
    )
    assert poll(worker) == 0, "the queue is empty: poll() must return 0"


@pytest.mark.exercise(name="fanout-worker-basics", points=3, hint=BASICS_HINT)
@pytest.mark.parametrize(
    ("follower", "why"),
    [("dee", "dee muted ada"), ("eve", "eve unfollowed ada after the task was queued"),
     ("fay", "fay was last active 31 days ago (her feed is rebuilt when she comes back)")],
    ids=["muted", "unfollowed", "inactive"],
)
def test_a_follower_who_no_longer_wants_the_post_is_not_written(
    impl: Any, follower: str, why: str
) -> None:
    w = world()
    w.publish(FOLLOWERS)
    poll(w.worker(impl))
    assert w.feed(follower) == [OLD], (
        f"{follower}'s feed is {w.feed(follower)}: {why}, so the post must not be written "
        "(a wasted write)"
    )


@pytest.mark.exercise(name="fanout-worker-basics", points=3, hint=BASICS_HINT)
@pytest.mark.parametrize("shape", ["sorted", "list"])
def test_a_feed_that_is_not_cached_is_not_created(impl: Any, shape: str) -> None:
    w = world(shape)
    post = w.publish(FOLLOWERS)
    poll(w.worker(impl))
    assert w.feed("cyd") is None, (
        f"cyd's feed was not cached, and now holds {w.feed('cyd')}: a fanout write never "
        "creates a feed (feeds.push only writes cached ones); the next read rebuilds it whole"
    )
    assert w.feed("bob") == [post, OLD], f"bob's feed is {w.feed('bob')}: expected the post"
    others = [name for name, _ in w.feeds.calls if name != "push"]
    assert not others, f"the worker called feeds.{others[0]}: a fanout worker only pushes"


@pytest.mark.exercise(name="fanout-worker-basics", points=3, hint=BASICS_HINT)
def test_a_post_deleted_while_its_task_waited_is_not_written_and_the_task_is_acked(
    impl: Any
) -> None:
    w = world()
    post = w.publish(FOLLOWERS)
    w.posts.delete(w.posts.get_many([post])[post])
    assert poll(w.worker(impl)) == 1
    assert w.feed("bob") == [OLD], (
        f"bob's feed is {w.feed('bob')}: the post was deleted before its task was taken "
        "(posts.get_many([post_id]) is empty), so nothing may be written"
    )
    assert w.queue().acked == 1, "the task is done all the same: ack it"


@pytest.mark.exercise(name="fanout-worker-basics", points=3, hint=BASICS_HINT)
def test_each_task_is_written_in_one_push(impl: Any) -> None:
    w = world()
    posts = [w.publish(FOLLOWERS) for _ in range(3)]
    assert poll(w.worker(impl)) == 3
    pushes = [args for name, args in w.feeds.calls if name == "push"]
    for post in posts:
        calls = [users for users, p in pushes if p == post]
        assert len(calls) == 1, (
            f"post {post} was pushed in {len(calls)} calls {calls}: push all of a task's "
            "followers in one call (one round trip), not one call per follower"
        )
        assert "bob" in calls[0] and not {"dee", "eve", "fay"} & set(calls[0]), (
            f"post {post} was pushed to {calls[0]}"
        )
    assert w.feed("bob") == [*reversed(posts), OLD]


@pytest.mark.exercise(name="fanout-worker-basics", points=3, hint=BASICS_HINT)
def test_poll_takes_at_most_batch_tasks_and_returns_how_many(impl: Any) -> None:
    w = world()
    posts = [w.publish() for _ in range(5)]
    worker = w.worker(impl, batch=2)
    taken = [poll(worker) for _ in range(4)]
    assert taken == [2, 2, 1, 0], f"five tasks, batch=2: polls took {taken}, expected [2, 2, 1, 0]"
    assert w.queue().acked == 5
    assert w.feed("bob") == [*reversed(posts), OLD]


@pytest.mark.exercise(name="fanout-worker-basics", points=3, hint=BASICS_HINT)
def test_a_crash_before_the_ack_leaves_the_batch_to_be_redelivered_and_done_again(
    impl: Any
) -> None:
    w = world()
    first, second = w.publish(), w.publish()
    worker = w.worker(impl, crash_plan=CrashPlan().crash(AFTER_PUSH, nth=1))
    assert poll(worker) == 2, "poll() returns the tasks taken, those a crash left unacked too"
    stats = w.queue()
    assert w.feed("bob") == [first, OLD], (
        f"bob's feed is {w.feed('bob')}: the first task is pushed, then the worker dies "
        f"(crash_plan.should_crash(AFTER_PUSH, '{first}') is True) before acking it or "
        "taking the second"
    )
    assert (stats.acked, stats.in_flight) == (0, 2), (
        f"a crash leaves the whole batch unacked: acked={stats.acked}, in flight "
        f"{stats.in_flight}"
    )
    w.clock.advance(VISIBILITY_TIMEOUT_S)  # the queue hands both out again
    assert poll(worker) == 2, "after the visibility timeout, both tasks come back"
    assert w.feed("bob") == [second, first, OLD], (
        f"after the redelivery bob's feed is {w.feed('bob')}"
    )
    assert w.queue().acked == 2 and w.queue().lag == 0, "both tasks must end acked"


@pytest.mark.exercise(name="fanout-worker-basics", points=3, hint=BASICS_HINT)
@pytest.mark.parametrize("shape", ["sorted", "list"])
def test_a_task_delivered_twice_is_harmless_and_acked_twice(impl: Any, shape: str) -> None:
    w = world(shape)
    post = w.publish(FOLLOWERS)
    w.store.queue.publish(FANOUT_QUEUE, FanoutTask(post, "ada", FOLLOWERS).to_json())
    assert poll(w.worker(impl)) == 2, "a broker duplicated the publish: two deliveries"
    assert w.feed("bob") == [post, OLD], f"bob's feed shows {w.feed('bob')}: each post once"
    assert w.queue().acked == 2, "a duplicate is a delivery like any other: ack it"


@pytest.mark.exercise(name="fanout-worker-basics", points=3, hint=BASICS_HINT)
@pytest.mark.parametrize(
    "bad", [{"name": ""}, {"name": None}, {"batch": 0}, {"batch": True}, {"batch": 1.5}],
    ids=repr,
)
def test_bad_settings_are_rejected(impl: Any, bad: dict[str, Any]) -> None:
    w = world()
    arguments: dict[str, Any] = {"name": "fanout-1", "queue": w.store.queue, "graph": w.graph,
                                 "users": w.users, "feeds": w.feeds, "posts": w.posts,
                                 "batch": 10}
    impl.FanoutWorker(**arguments)  # valid settings must work
    with pytest.raises(InvalidArgument):
        impl.FanoutWorker(**{**arguments, **bad})


# ------------------------------------------------------------------------------- the storm

STORM = FeedScenarioConfig.stormy().scaled(users=16, posts=40)
SEEDS = range(20)
LOST_ACK_RATE = 0.05
MAX_POLLS = 5_000  # per worker and scenario; the reference workers need about 200


class StormStopped(Exception):
    """The grader stopped a scenario that could not end (the queue never drained)."""


@dataclass
class Audit:
    """What the workers did during one scenario, as seen from the queue and the feed cache."""

    authors: dict[int, str] = field(default_factory=dict)  # post id -> author, from tasks
    wasted: list[str] = field(default_factory=list)  # writes to someone who did not want them
    forbidden: list[str] = field(default_factory=list)  # feed calls a worker must not make
    delivered: set[str] = field(default_factory=set)
    acked: set[str] = field(default_factory=set)
    redeliveries: int = 0
    lost_acks: int = 0


class AuditedQueue:
    """The fanout queue as the workers see it: records deliveries and acks, and loses some
    acks on the way to the broker (the worker cannot tell; the task comes back later)."""

    def __init__(self, inner: Any, audit: Audit, rng: Random) -> None:
        self.inner, self.audit, self.rng = inner, audit, rng

    def consume(self, queue: str, group: str, consumer: str, *, count: int = 1
                ) -> list[Delivery]:
        deliveries: list[Delivery] = self.inner.consume(queue, group, consumer, count=count)
        for delivery in deliveries:
            self.audit.delivered.add(delivery.message_id)
            self.audit.redeliveries += delivery.deliveries > 1
            task = FanoutTask.from_json(delivery.body)
            self.audit.authors[task.post_id] = task.author
        return deliveries

    def ack(self, queue: str, group: str, message_id: str) -> bool:
        if self.rng.random() < LOST_ACK_RATE:
            self.audit.lost_acks += 1
            return True  # lost on the way: the broker never saw it
        acked: bool = self.inner.ack(queue, group, message_id)
        if acked:
            self.audit.acked.add(message_id)
        return acked

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class AuditedFeeds:
    """The feed cache as the workers see it: judges every push at the moment it is made."""

    def __init__(self, inner: Any, audit: Audit, system: NewsFeedSystem) -> None:
        self.inner, self.audit, self.system = inner, audit, system

    def push(self, users: Sequence[str], post_id: int) -> int:
        author = self.audit.authors.get(post_id)
        at = f"t={self.system.clock.now() - T0:.3f}s"
        for user in users:
            why = (self._unwanted(user, author, post_id) if author
                   else "no task carried this post")
            if why:
                self.audit.wasted.append(f"{at}: post {post_id} by {author} written into "
                                         f"{user}'s feed, but {why}")
        return self.inner.push(users, post_id)  # type: ignore[no-any-return]

    def _unwanted(self, user: str, author: str, post_id: int) -> str:
        graph, users = self.system.graph, self.system.users
        if self.system.store.kv.get(post_key(post_id)) is None:
            return "the post was deleted"
        try:
            if not graph.is_following(user, author):
                return f"{user} does not follow {author} (any more)"
            if graph.is_muted(user, author):
                return f"{user} has muted {author}"
        except LabError as exc:
            return f"{type(exc).__name__}: {exc}"
        if user not in users.active_among([user]):
            return f"{user} is inactive"
        return ""

    def _forbidden(self, call: str, user: str) -> None:
        self.audit.forbidden.append(
            f"t={self.system.clock.now() - T0:.3f}s: feeds.{call}({user!r}, ...): a fanout "
            "worker only pushes (push never creates a feed; write and backfill are for "
            "rebuilds and follows)")

    def write(self, user: str, post_ids: Sequence[int]) -> None:
        self._forbidden("write", user)
        self.inner.write(user, post_ids)

    def backfill(self, user: str, post_ids: Sequence[int]) -> bool:
        self._forbidden("backfill", user)
        return self.inner.backfill(user, post_ids)  # type: ignore[no-any-return]

    def drop(self, user: str) -> bool:
        self._forbidden("drop", user)
        return self.inner.drop(user)  # type: ignore[no-any-return]

    def remove(self, users: Sequence[str], post_ids: Sequence[int]) -> int:
        self._forbidden("remove", ",".join(users))
        return self.inner.remove(users, post_ids)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class PollGuard:
    """Stands in the system's worker list: counts polls and stops a run that cannot end."""

    def __init__(self, worker: Any, seed: int) -> None:
        self.worker, self.seed, self.polls = worker, seed, 0

    def poll(self) -> int:
        self.polls += 1
        if self.polls > MAX_POLLS:
            raise StormStopped(
                f"a worker polled {MAX_POLLS:,} times and the fanout queue still held tasks "
                "(the reference needs about 200): does poll consume and ack every task?")
        return self.worker.poll()  # type: ignore[no-any-return]


def with_workers(worker_class: Callable[..., Any], audit: Audit | None = None) -> Builder:
    """A scenario builder whose system runs ``worker_class`` workers, audited, in place of
    the reference workers (same names, graph, users, posts, batch and crash plan)."""
    seen = Audit() if audit is None else audit

    def build(store: Store, config: FeedScenarioConfig, seed: int) -> NewsFeedSystem:
        system = build_feed_system(store, config, seed)
        rng = Random(f"{seed}:lost-acks")
        guards: list[Any] = [  # anything with poll() will do in the system's worker list
            PollGuard(worker_class(
                w.name, AuditedQueue(w.queue, seen, rng), w.graph, w.users,
                AuditedFeeds(w.feeds, seen, system), w.posts, batch=w.batch,
                crash_plan=w.crash_plan,
            ), seed)
            for w in system.workers
        ]
        system.workers = guards
        return system

    return build


@dataclass
class SeedRun:
    """One seed of the storm: the checker's report (None if the run stopped) and the audit."""

    seed: int
    report: CheckReport | None
    audit: Audit
    error: str = ""


def run_storm(worker_class: Callable[..., Any], seeds: Sequence[int] = SEEDS,
              config: FeedScenarioConfig = STORM) -> list[SeedRun]:
    """Run the storm with ``worker_class`` on every seed; stop at the first run that raises."""
    runs = []
    for seed in seeds:
        audit = Audit()
        try:
            result = run_feed_scenario(config, seed, build=with_workers(worker_class, audit))
        except Exception as exc:  # the learner's code, or a run that could not end
            runs.append(SeedRun(seed, None, audit, f"{type(exc).__name__}: {exc}"))
            break
        runs.append(SeedRun(seed, check_feed(result), audit))
    return runs


@pytest.fixture(scope="module")
def storm(impl: Any) -> list[SeedRun]:
    return run_storm(impl.FanoutWorker)


def stopped(runs: list[SeedRun]) -> None:
    """Fail with the error of a run that raised: nothing else can be judged."""
    for run in runs:
        if run.error:
            raise AssertionError(f"seed {run.seed}: the scenario stopped: {run.error}")


def failing_seeds(runs: list[SeedRun], failed: Callable[[SeedRun], bool]) -> str:
    bad = [run.seed for run in runs if failed(run)]
    return f"failing seeds: {bad} of {len(runs)}"


STORM_HINT = (
    "pass the basics first; then every delivery must end pushed (only into cached feeds, "
    "only for followers who still want it) and acked, crash or redelivery alike: read the "
    "checker's report for the first failing seed"
)


@pytest.mark.exercise(name="fanout-worker", points=5, hint=STORM_HINT)
def test_the_checker_finds_no_anomaly_in_the_stormy_scenario_on_20_seeds(
    impl: Any, storm: list[SeedRun]
) -> None:
    stopped(storm)
    failed = [run for run in storm if run.report is not None and not run.report.ok]
    if failed:
        report = failed[0].report
        assert report is not None
        first = report.anomalies[0]
        raise AssertionError(
            f"seed {failed[0].seed}: {first.kind} {first.subject}: {first.detail} "
            f"({failing_seeds(storm, lambda r: r in failed)}); the checker's report:\n"
            + report.summary())


@pytest.mark.exercise(name="fanout-worker", points=5, hint=STORM_HINT)
def test_every_write_in_the_storm_went_to_a_follower_who_wanted_it(
    impl: Any, storm: list[SeedRun]
) -> None:
    stopped(storm)
    failed = [run for run in storm if run.audit.forbidden or run.audit.wasted]
    if failed:
        found = failed[0].audit.forbidden + failed[0].audit.wasted
        more = f"\n  ... ({len(found) - 10} more)" if len(found) > 10 else ""
        raise AssertionError(
            f"seed {failed[0].seed}: {found[0]} "
            f"({failing_seeds(storm, lambda r: r in failed)}):\n  " + "\n  ".join(found[:10])
            + more)


@pytest.mark.exercise(name="fanout-worker", points=5, hint=STORM_HINT)
def test_every_task_taken_in_the_storm_ended_acked(
    impl: Any, storm: list[SeedRun]
) -> None:
    stopped(storm)
    failed = [run for run in storm if run.audit.delivered - run.audit.acked]
    if failed:
        audit = failed[0].audit
        raise AssertionError(
            f"seed {failed[0].seed}: {len(audit.delivered - audit.acked)} of "
            f"{len(audit.delivered)} tasks taken were never acked, so they went to the "
            "dead-letter queue after 5 deliveries: ack every delivery you handled, a "
            f"redelivered one too ({failing_seeds(storm, lambda r: r in failed)})")
