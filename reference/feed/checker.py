"""The invariant checker of chapter 11: feeds judged against an oracle built from the history.

The oracle never asks the system. It replays the recorded actions (:mod:`.scenario`) into
plain sets and dicts and says what every feed must be at the end: the posts, newest first, of
everyone the user follows and has not muted, that were not deleted, from the follow's backfill
boundary on (a follow copies only the followee's 100 most recent posts in). That is the pull
model's answer, computed independently, and push, pull and hybrid must all give it.

======================= ==================================================================
anomaly                 the promise broken
======================= ==================================================================
``missing_post``        a post the user should see is not in their feed
``extra_post``          a post from an author not followed (any more), muted, blocked,
                        from before the follow's boundary, or deleted, is in the feed
``duplicate``           a post shows twice in one feed
``out_of_order``        a feed is not newest first
``page_skip``           scrolling page by page while new posts arrive skipped a post
``page_repeat``         ... or showed one twice
``stale_count``         a like, reply or share count differs from the recorded actions
======================= ==================================================================

Examples
--------
>>> from reference.feed.scenario import FeedScenarioConfig, run_feed_scenario
>>> report = check_feed(run_feed_scenario(
...     FeedScenarioConfig.stormy().scaled(users=12, posts=30), seed=2))
>>> report.ok
True
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from reference.core.checking import Anomaly, CheckerSpec, CheckReport
from reference.feed.model import FOLLOW_BACKFILL_POSTS, PostId, UserId
from reference.feed.scenario import Action, FeedScenarioResult, PageRead

__all__ = ["ANOMALY_KINDS", "CHECKER_SPEC", "check_feed"]

ANOMALY_KINDS = ("missing_post", "extra_post", "duplicate", "out_of_order", "page_skip",
                 "page_repeat", "stale_count")
CHECKER_SPEC = CheckerSpec(
    kinds=ANOMALY_KINDS,
    counted=(("users", "users"), ("posts", "posts"), ("pages", "pages"),
             ("sessions", "scroll sessions")),
)


@dataclass
class _World:
    """The oracle's state: what the recorded actions say, nothing the system says."""

    author: dict[PostId, UserId] = field(default_factory=dict)
    deleted: set[PostId] = field(default_factory=set)
    follows: dict[UserId, dict[UserId, PostId]] = field(default_factory=lambda: defaultdict(dict))
    muted: dict[UserId, set[UserId]] = field(default_factory=lambda: defaultdict(set))
    blocked: set[frozenset[UserId]] = field(default_factory=set)
    done: dict[str, set[tuple[PostId, UserId]]] = field(
        default_factory=lambda: {"like": set(), "share": set()})
    replies: Counter[PostId] = field(default_factory=Counter)

    def apply(self, action: Action) -> None:
        if action.error or not action.changed:
            return
        kind, user, other = action.kind, action.user, action.other
        if kind == "publish":
            self.author[action.post_id] = user
        elif kind == "delete":
            self.deleted.add(action.post_id)
        elif kind == "follow":
            self.follows[user][other] = self._boundary(other)
        elif kind == "unfollow":
            self.follows[user].pop(other, None)
        elif kind == "mute":
            self.muted[user].add(other)
        elif kind == "unmute":
            self.muted[user].discard(other)
        elif kind == "block":
            self.blocked.add(frozenset((user, other)))
            self.follows[user].pop(other, None)
            self.follows[other].pop(user, None)
        elif kind in ("like", "share"):
            self.done[kind].add((action.post_id, user))
        elif kind == "unlike":
            self.done["like"].discard((action.post_id, user))
        elif kind == "reply":
            self.replies[action.post_id] += 1

    def _boundary(self, followee: UserId) -> PostId:
        """The first post id a new follower sees: the followee's 100th most recent post."""
        recent = sorted((p for p, a in self.author.items()
                         if a == followee and p not in self.deleted), reverse=True)
        return recent[FOLLOW_BACKFILL_POSTS - 1] if len(recent) >= FOLLOW_BACKFILL_POSTS else 0

    def feed(self, user: UserId) -> list[PostId]:
        """What ``user``'s feed must be, newest first."""
        since = {a: s for a, s in self.follows[user].items() if a not in self.muted[user]}
        return sorted((p for p, a in self.author.items()
                       if a in since and p >= since[a] and p not in self.deleted), reverse=True)

    def why_not(self, user: UserId, post_id: PostId) -> str:
        """Why ``post_id`` does not belong in ``user``'s feed."""
        author = self.author.get(post_id)
        if author is None:
            return "no such post"
        if post_id in self.deleted:
            return f"deleted post by {author}"
        if frozenset((user, author)) in self.blocked:
            return f"{author} and {user} are in a block"
        if author in self.muted[user]:
            return f"{user} muted {author}"
        if author not in self.follows[user]:
            return f"{user} does not follow {author}"
        return f"older than the follow's boundary {self.follows[user][author]}"

    def counts(self, post_id: PostId) -> tuple[int, int, int]:
        return (sum(1 for p, _ in self.done["like"] if p == post_id), self.replies[post_id],
                sum(1 for p, _ in self.done["share"] if p == post_id))


def _replay(actions: Iterable[Action], until: int | None = None) -> _World:
    """The world after the first ``until`` actions (all of them if None)."""
    world = _World()
    for action in actions:
        if until is not None and action.seq >= until:
            break
        world.apply(action)
    return world


def _final(world: _World, user: UserId, pages: tuple[PageRead, ...]) -> list[Anomaly]:
    shown = [p for page in pages for p in page.post_ids]
    expected = world.feed(user)
    found = []
    for post_id in sorted(set(expected) - set(shown), reverse=True):
        found.append(Anomaly("missing_post", f"{user}/{post_id}",
                             f"by {world.author[post_id]}, not in {user}'s feed"))
    for post_id in sorted(set(shown) - set(expected), reverse=True):
        found.append(Anomaly("extra_post", f"{user}/{post_id}", world.why_not(user, post_id)))
    for post_id, n in sorted(Counter(shown).items()):
        if n > 1:
            found.append(Anomaly("duplicate", f"{user}/{post_id}", f"shown {n} times"))
    if any(a < b for a, b in pairwise(shown)):
        found.append(Anomaly("out_of_order", user, "the feed is not newest first"))
    return found


def _stale_counts(world: _World, pages: Iterable[PageRead]) -> list[Anomaly]:
    """Counts a page showed that differ from the recorded actions up to that page."""
    return [Anomaly("stale_count", f"{page.user}/{post_id}",
                    f"shows (likes, replies, shares) {counts}, recorded "
                    f"{world.counts(post_id)} (after action {page.seq})")
            for page in pages for post_id, counts in zip(page.post_ids, page.counts, strict=True)
            if post_id in world.author and counts != world.counts(post_id)]


def _counts_while_running(actions: tuple[Action, ...], reads: Iterable[PageRead]
                          ) -> list[Anomaly]:
    """Every page read during the run against the actions recorded before it."""
    found: list[Anomaly] = []
    world, done = _World(), 0
    for page in sorted(reads, key=lambda read: read.seq):
        while done < page.seq:
            world.apply(actions[done])
            done += 1
        found += _stale_counts(world, [page])
    return found


def _session(actions: tuple[Action, ...], pages: tuple[PageRead, ...]) -> list[Anomaly]:
    """Pages read one after the other while new posts arrive: every post of the feed as it
    was at the first page, between the first and the last post shown, exactly once."""
    user = pages[0].user
    start = _replay(actions, until=pages[0].seq)
    end = _replay(actions, until=pages[-1].seq)
    shown = [p for page in pages for p in page.post_ids]
    if not shown:
        return []
    found = [Anomaly("page_repeat", f"{user}/{p}", f"shown {n} times while scrolling")
             for p, n in sorted(Counter(shown).items()) if n > 1]
    for earlier, later in pairwise(pages):
        above = [p for p in later.post_ids if earlier.next_cursor is not None
                 and p >= earlier.next_cursor]
        found += [Anomaly("page_repeat", f"{user}/{p}", "at or above the page's cursor")
                  for p in above]
    stable = set(start.feed(user)) & set(end.feed(user))
    for post_id in sorted(stable, reverse=True):
        if min(shown) <= post_id <= max(shown) and post_id not in shown:
            found.append(Anomaly("page_skip", f"{user}/{post_id}", "skipped while scrolling"))
    return found


def check_feed(result: FeedScenarioResult) -> CheckReport:
    """Judge a recorded scenario: every anomaly of :data:`ANOMALY_KINDS` it shows."""
    world = _replay(result.actions)
    anomalies = [a for user, pages in sorted(result.final_feeds.items())
                 for a in _final(world, user, pages)]
    for session in result.sessions:
        anomalies += _session(result.actions, session)
    anomalies += _counts_while_running(
        result.actions, [*result.reads, *(page for s in result.sessions for page in s)])
    pages = sum(len(p) for p in result.final_feeds.values()) + len(result.reads)
    return CheckReport(CHECKER_SPEC, tuple(anomalies), {
        "users": len(result.final_feeds), "posts": len(world.author), "pages": pages,
        "sessions": len(result.sessions)})
