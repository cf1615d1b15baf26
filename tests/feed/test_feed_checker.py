"""Chapter 11's checker: a clean run has no anomaly; each hand-made mistake in a real run's
record is named with exactly its kind; the two mutants are caught."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import cache

import pytest

from reference.core.checking import CheckReport
from reference.feed.checker import ANOMALY_KINDS, check_feed
from reference.feed.feeds import FeedShape
from reference.feed.model import PostId, UserId
from reference.feed.mutants import ForgetfulCounters, TrustingReader, with_mutant
from reference.feed.scenario import (
    Action,
    FeedScenarioConfig,
    FeedScenarioResult,
    PageRead,
    run_feed_scenario,
)
from reference.feed.system import Mode

SMALL = FeedScenarioConfig.calm().scaled(users=12, posts=30)
MUTANT_SEEDS = range(10)


@cache
def real_run() -> FeedScenarioResult:
    """A real small run (calm: no churn, no deletes), the base of every hand edit."""
    return run_feed_scenario(SMALL, seed=3)


def kinds(report: CheckReport) -> dict[str, int]:
    return {kind: n for kind, n in report.counts.items() if n}


def authors(result: FeedScenarioResult) -> dict[PostId, UserId]:
    return {a.post_id: a.user for a in result.actions if a.kind == "publish"}


def shown(pages: Iterable[PageRead]) -> list[PostId]:
    return [p for page in pages for p in page.post_ids]


def one_page(user: UserId, post_ids: list[PostId]) -> tuple[PageRead, ...]:
    return (PageRead(0, 0.0, user, None, tuple(post_ids), tuple((0, 0, 0) for _ in post_ids),
                     None),)


def with_final_feed(result: FeedScenarioResult, user: UserId, post_ids: list[PostId]
                    ) -> FeedScenarioResult:
    return replace(result, final_feeds={**result.final_feeds, user: one_page(user, post_ids)})


def with_action(result: FeedScenarioResult, kind: str, **fields: object
                ) -> FeedScenarioResult:
    """``result`` with one more action at its end (after every page read)."""
    extra = Action(len(result.actions), result.actions[-1].at + 1.0, kind, **fields)  # type: ignore[arg-type]
    return replace(result, actions=(*result.actions, extra))


def busiest_reader(result: FeedScenarioResult) -> UserId:
    return max(result.final_feeds, key=lambda u: (len(shown(result.final_feeds[u])), u))


def an_author_in(result: FeedScenarioResult, user: UserId) -> UserId:
    """The author of most posts in ``user``'s final feed."""
    by = authors(result)
    feed = shown(result.final_feeds[user])
    return max({by[p] for p in feed}, key=lambda a: sum(by[p] == a for p in feed))


# ── a clean run ──────────────────────────────────────────────────────────────────────────


def test_a_clean_run_has_no_anomaly_and_says_what_it_checked() -> None:
    result = real_run()
    report = check_feed(result)
    assert report.ok and kinds(report) == {}
    assert set(report.counts) == set(ANOMALY_KINDS)
    assert report.checked["users"] == SMALL.users
    assert report.checked["posts"] == len(authors(result))  # the scroll phase posts too
    assert report.checked["sessions"] == len(result.sessions) > 0


@pytest.mark.parametrize("shape", ["sorted", "list"])
@pytest.mark.parametrize("mode", ["push", "pull", "hybrid"])
def test_stormy_runs_are_clean_in_every_mode_and_shape(mode: Mode, shape: FeedShape) -> None:
    config = replace(FeedScenarioConfig.stormy().scaled(users=16, posts=40), mode=mode,
                     shape=shape, churn_rate=1.0, threshold=5)
    for seed in (1, 2):
        report = check_feed(run_feed_scenario(config, seed))
        assert report.ok, (seed, report.anomalies[:5])


def test_the_same_seed_gives_the_same_history_on_memory_and_fakeredis() -> None:
    config = replace(FeedScenarioConfig.stormy().scaled(users=10, posts=20), churn_rate=1.0)
    on_memory = run_feed_scenario(config, seed=5)
    on_fakeredis = run_feed_scenario(config, seed=5, backend="fakeredis")
    assert on_memory.fingerprint() == on_fakeredis.fingerprint()
    assert check_feed(on_fakeredis).ok


# ── each anomaly, made by hand ───────────────────────────────────────────────────────────


def test_a_post_left_out_of_a_feed_is_a_missing_post() -> None:
    result = real_run()
    user = busiest_reader(result)
    feed = shown(result.final_feeds[user])
    report = check_feed(with_final_feed(result, user, feed[:3] + feed[4:]))
    assert kinds(report) == {"missing_post": 1}
    assert report.anomalies[0].subject == f"{user}/{feed[3]}"


def test_a_post_from_someone_not_followed_is_an_extra_post_saying_so() -> None:
    result = real_run()
    user = busiest_reader(result)
    followed = {a.other for a in result.actions if a.kind == "follow" and a.user == user}
    stranger, post_id = next((author, p) for p, author in sorted(authors(result).items())
                             if author not in followed)
    feed = sorted([*shown(result.final_feeds[user]), post_id], reverse=True)
    report = check_feed(with_final_feed(result, user, feed))
    assert kinds(report) == {"extra_post": 1}
    assert report.anomalies[0].subject == f"{user}/{post_id}"
    assert report.anomalies[0].detail == f"{user} does not follow {stranger}"


def test_a_post_deleted_later_but_still_shown_is_an_extra_post_in_every_feed_that_shows_it(
        ) -> None:
    result = real_run()
    user = busiest_reader(result)
    post_id = shown(result.final_feeds[user])[0]
    showing = {u for u, pages in result.final_feeds.items() if post_id in shown(pages)}
    report = check_feed(with_action(result, "delete", post_id=post_id))
    assert kinds(report) == {"extra_post": len(showing)}
    assert {a.subject for a in report.anomalies} == {f"{u}/{post_id}" for u in showing}
    assert {a.detail for a in report.anomalies} == {
        f"deleted post by {authors(result)[post_id]}"}


def test_posts_of_a_muted_author_still_shown_are_extra_posts_naming_the_mute() -> None:
    result = real_run()
    user = busiest_reader(result)
    author = an_author_in(result, user)
    theirs = [p for p in shown(result.final_feeds[user]) if authors(result)[p] == author]
    report = check_feed(with_action(result, "mute", user=user, other=author))
    assert kinds(report) == {"extra_post": len(theirs)}
    assert {a.detail for a in report.anomalies} == {f"{user} muted {author}"}


def test_posts_across_a_block_are_extra_posts_naming_the_block() -> None:
    result = real_run()
    user = busiest_reader(result)
    author = an_author_in(result, user)
    by = authors(result)
    across = {(u, p) for u, pages in result.final_feeds.items() for p in shown(pages)
              if {u, by[p]} == {user, author}}
    report = check_feed(with_action(result, "block", user=user, other=author))
    assert kinds(report) == {"extra_post": len(across)}
    assert {a.subject for a in report.anomalies} == {f"{u}/{p}" for u, p in across}
    assert all(a.detail.endswith("are in a block") for a in report.anomalies)


def test_a_post_older_than_the_follows_backfill_boundary_is_an_extra_post() -> None:
    result = real_run()
    ids = list(range(1_000, 1_101))  # ada's 101 posts: bob's follow copies the newest 100
    actions = [Action(0, 0.0, "register", user="ada"), Action(1, 0.0, "register", user="bob"),
               *(Action(2 + n, 1.0, "publish", user="ada", post_id=p)
                 for n, p in enumerate(ids)),
               Action(103, 2.0, "follow", user="bob", other="ada")]
    history = replace(result, actions=tuple(actions), reads=(), sessions=(),
                      final_feeds={"ada": (), "bob": one_page("bob", ids[::-1])})
    report = check_feed(history)
    assert kinds(report) == {"extra_post": 1}
    assert report.anomalies[0].subject == "bob/1000"
    assert report.anomalies[0].detail == "older than the follow's boundary 1001"
    assert check_feed(replace(history, final_feeds={
        "ada": (), "bob": one_page("bob", ids[:0:-1])})).ok


def test_two_posts_swapped_are_out_of_order() -> None:
    result = real_run()
    user = busiest_reader(result)
    feed = shown(result.final_feeds[user])
    feed[4], feed[5] = feed[5], feed[4]
    report = check_feed(with_final_feed(result, user, feed))
    assert kinds(report) == {"out_of_order": 1}


def test_a_post_shown_twice_is_a_duplicate_and_nothing_else() -> None:
    result = real_run()
    user = busiest_reader(result)
    feed = shown(result.final_feeds[user])
    report = check_feed(with_final_feed(result, user, [*feed[:3], feed[2], *feed[3:]]))
    assert kinds(report) == {"duplicate": 1}


def test_a_post_shown_twice_is_named_a_duplicate() -> None:
    result = real_run()
    user = busiest_reader(result)
    feed = shown(result.final_feeds[user])
    report = check_feed(with_final_feed(result, user, [*feed[:3], feed[2], *feed[3:]]))
    assert report.counts["duplicate"] == 1
    assert [a.detail for a in report.anomalies if a.kind == "duplicate"] == ["shown 2 times"]
    assert kinds(report).keys() <= {"duplicate", "out_of_order"}


def a_long_session(result: FeedScenarioResult) -> tuple[int, tuple[PageRead, ...]]:
    return next((n, s) for n, s in enumerate(result.sessions)
                if len(s) >= 3 and all(len(page.post_ids) >= 3 for page in s[:2]))


def with_session(result: FeedScenarioResult, n: int, pages: list[PageRead]
                 ) -> FeedScenarioResult:
    sessions = list(result.sessions)
    sessions[n] = tuple(pages)
    return replace(result, sessions=tuple(sessions))


def test_a_post_dropped_from_a_middle_page_while_scrolling_is_a_page_skip() -> None:
    result = real_run()
    n, session = a_long_session(result)
    pages = list(session)
    second = pages[1]
    skipped = second.post_ids[1]
    pages[1] = replace(second, post_ids=second.post_ids[:1] + second.post_ids[2:],
                       counts=second.counts[:1] + second.counts[2:])
    report = check_feed(with_session(result, n, pages))
    assert kinds(report) == {"page_skip": 1}
    assert report.anomalies[0].subject == f"{session[0].user}/{skipped}"


def test_a_post_shown_again_on_a_later_page_is_a_page_repeat() -> None:
    result = real_run()
    n, session = a_long_session(result)
    pages = list(session)
    first, second = pages[0], pages[1]
    pages[1] = replace(second, post_ids=(first.post_ids[-1], *second.post_ids),
                       counts=(first.counts[-1], *second.counts))
    report = check_feed(with_session(result, n, pages))
    assert kinds(report).keys() == {"page_repeat"}
    assert {a.subject for a in report.anomalies} == {
        f"{session[0].user}/{first.post_ids[-1]}"}
    assert {a.detail for a in report.anomalies} == {
        "shown 2 times while scrolling", "at or above the page's cursor"}


def test_a_count_that_differs_from_the_recorded_actions_is_a_stale_count() -> None:
    result = real_run()
    n, read = next((n, r) for n, r in enumerate(result.reads) if r.post_ids)
    likes, replies, shares = read.counts[0]
    reads = list(result.reads)
    reads[n] = replace(read, counts=((likes + 1, replies, shares), *read.counts[1:]))
    report = check_feed(replace(result, reads=tuple(reads)))
    assert kinds(report) == {"stale_count": 1}
    assert report.anomalies[0].subject == f"{read.user}/{read.post_ids[0]}"


# ── the mutants ──────────────────────────────────────────────────────────────────────────

CHURNY = replace(FeedScenarioConfig.stormy(), churn_rate=1.0)


def test_the_trusting_reader_is_caught_as_extra_post_on_some_seed() -> None:
    reports = [check_feed(run_feed_scenario(CHURNY, seed, build=with_mutant(TrustingReader)))
               for seed in MUTANT_SEEDS]
    assert any(r.counts["extra_post"] > 0 for r in reports)
    assert all(kinds(r).keys() <= {"extra_post"} for r in reports)


def test_the_forgetful_counters_are_caught_as_stale_count_on_some_seed() -> None:
    reports = [check_feed(run_feed_scenario(CHURNY, seed,
                                            build=with_mutant(ForgetfulCounters)))
               for seed in MUTANT_SEEDS]
    assert any(r.counts["stale_count"] > 0 for r in reports)
    assert all(kinds(r).keys() <= {"stale_count"} for r in reports)


def test_the_right_parts_on_the_same_seeds_are_clean() -> None:
    for seed in MUTANT_SEEDS:
        report = check_feed(run_feed_scenario(CHURNY, seed))
        assert report.ok, (seed, report.anomalies[:5])
