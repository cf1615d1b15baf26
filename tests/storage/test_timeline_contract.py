"""The Timeline port (a sorted set): the same behaviour on every backend."""

from __future__ import annotations

import pytest

from reference.core.errors import Conflict, InvalidArgument
from reference.storage import MAX_EXACT_SCORE, Store, Timeline
from reference.storage.ports import WindowAdd

INF = float("inf")
FEED = "feed:{42}"


@pytest.fixture
def feed(store: Store) -> Timeline:
    """A feed with ties: b and a share score 1, c has 0, d has 2.5, e has 4."""
    store.timeline.add(FEED, {"b": 1, "a": 1, "c": 0, "d": 2.5, "e": 4})
    return store.timeline


def test_every_backend_implements_the_timeline_port(store: Store) -> None:
    assert isinstance(store.timeline, Timeline)


def test_add_counts_new_members_and_rescoring_is_not_new(store: Store) -> None:
    assert store.timeline.add(FEED, {"p1": 1, "p2": 2}) == 2
    assert store.timeline.add(FEED, {"p1": 10, "p3": 3}) == 1
    assert store.timeline.score(FEED, "p1") == 10.0
    assert store.timeline.size(FEED) == 3


def test_scores_come_back_as_floats(store: Store) -> None:
    store.timeline.add(FEED, {"p1": 7})
    score = store.timeline.score(FEED, "p1")
    assert isinstance(score, float)
    assert score == 7.0
    assert store.timeline.range_by_rank(FEED, 0, 0) == [("p1", 7.0)]


def test_missing_keys_and_members_read_as_empty(store: Store) -> None:
    assert store.timeline.size("feed:{0}") == 0
    assert store.timeline.score("feed:{0}", "p") is None
    assert store.timeline.range_by_rank("feed:{0}", 0, -1) == []
    assert store.timeline.range_by_score("feed:{0}", -INF, INF) == []
    assert store.timeline.trim_to("feed:{0}", 0) == 0
    assert store.timeline.remove("feed:{0}", "p") == 0


def test_ties_in_score_order_by_member(feed: Timeline) -> None:
    assert feed.range_by_rank(FEED, 0, -1) == [
        ("c", 0.0),
        ("a", 1.0),
        ("b", 1.0),
        ("d", 2.5),
        ("e", 4.0),
    ]


def test_descending_is_the_exact_reverse_ties_included(feed: Timeline) -> None:
    assert [m for m, _ in feed.range_by_rank(FEED, 0, -1, descending=True)] == [
        "e",
        "d",
        "b",
        "a",
        "c",
    ]


@pytest.mark.parametrize(
    ("start", "stop", "descending", "expected"),
    [
        (0, 1, False, ["c", "a"]),
        (-2, -1, False, ["d", "e"]),
        (0, 1, True, ["e", "d"]),
        (-2, -1, True, ["a", "c"]),
        (1, 100, False, ["a", "b", "d", "e"]),
        (-100, 0, False, ["c"]),
        (3, 2, False, []),
        (5, 10, False, []),
        (-1, -2, True, []),
    ],
)
def test_range_by_rank_follows_zrange_index_rules(
    feed: Timeline, start: int, stop: int, descending: bool, expected: list[str]
) -> None:
    rows = feed.range_by_rank(FEED, start, stop, descending=descending)
    assert [member for member, _ in rows] == expected


@pytest.mark.parametrize(
    ("low", "high", "options", "expected"),
    [
        (1, 2.5, {}, ["a", "b", "d"]),
        (1, 2.5, {"min_exclusive": True}, ["d"]),
        (-INF, INF, {}, ["c", "a", "b", "d", "e"]),
        (-INF, INF, {"limit": 2}, ["c", "a"]),
        (-INF, INF, {"descending": True}, ["e", "d", "b", "a", "c"]),
        (-INF, INF, {"descending": True, "limit": 3}, ["e", "d", "b"]),
        (1, INF, {"descending": True, "min_exclusive": True}, ["e", "d"]),
        (0, 1, {"descending": True, "min_exclusive": True, "limit": 1}, ["b"]),
        (-INF, 0, {"min_exclusive": True}, ["c"]),
        (2, 1, {}, []),
        (-INF, INF, {"limit": 0}, []),
        (4, 4, {}, ["e"]),
        (4, 4, {"min_exclusive": True}, []),
    ],
)
def test_range_by_score_honours_exclusive_min_descending_and_limit(
    feed: Timeline, low: float, high: float, options: dict[str, object], expected: list[str]
) -> None:
    rows = feed.range_by_score(FEED, low, high, **options)  # type: ignore[arg-type]
    assert [member for member, _ in rows] == expected


def test_range_by_score_pages_a_feed_newest_first_without_skips(store: Store) -> None:
    store.timeline.add(FEED, {f"post:{i}": float(i) for i in range(10)})
    pages: list[list[str]] = []
    cursor = INF
    while True:
        page = store.timeline.range_by_score(FEED, -INF, cursor, descending=True, limit=4)
        page = [(m, s) for m, s in page if s < cursor]
        if not page:
            break
        pages.append([m for m, _ in page])
        cursor = page[-1][1]
    assert [m for p in pages for m in p] == [f"post:{i}" for i in range(9, -1, -1)]


def test_remove_counts_only_present_members(feed: Timeline) -> None:
    assert feed.remove(FEED, "a", "zzz") == 1
    assert feed.remove(FEED) == 0
    assert feed.score(FEED, "a") is None
    assert feed.size(FEED) == 4


def test_trim_to_keeps_the_highest_scored_members(feed: Timeline) -> None:
    assert feed.trim_to(FEED, 2) == 3
    assert feed.range_by_rank(FEED, 0, -1) == [("d", 2.5), ("e", 4.0)]
    assert feed.trim_to(FEED, 5) == 0


def test_trim_to_zero_empties_the_key(store: Store, feed: Timeline) -> None:
    assert feed.trim_to(FEED, 0) == 5
    assert feed.size(FEED) == 0
    assert store.kv.delete(FEED) == 0  # an empty sorted set does not linger


def test_scores_at_plus_minus_two_to_the_53_are_stored_exactly(store: Store) -> None:
    top, bottom, odd = MAX_EXACT_SCORE, -MAX_EXACT_SCORE, MAX_EXACT_SCORE - 1
    store.timeline.add(FEED, {"top": top, "bottom": bottom, "odd": odd, "tiny": 1e-300})
    assert store.timeline.score(FEED, "top") == float(top)
    assert store.timeline.score(FEED, "bottom") == float(bottom)
    assert store.timeline.score(FEED, "odd") == float(odd)
    assert store.timeline.score(FEED, "tiny") == 1e-300
    assert int(store.timeline.range_by_rank(FEED, -2, -2)[0][1]) == odd


@pytest.mark.parametrize(
    "bad_score",
    [float("nan"), INF, -INF, MAX_EXACT_SCORE + 1, -(2**54), 1e300, True, "1", None],
)
def test_invalid_scores_are_refused_and_nothing_is_written(store: Store, bad_score: object) -> None:
    with pytest.raises(InvalidArgument, match="score"):
        store.timeline.add(FEED, {"good": 1.0, "bad": bad_score})  # type: ignore[dict-item]
    assert store.timeline.size(FEED) == 0


def test_add_with_no_members_is_refused(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="members"):
        store.timeline.add(FEED, {})


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda t: t.range_by_score(FEED, float("nan"), 1), "min_score"),
        (lambda t: t.range_by_score(FEED, 0, float("nan")), "max_score"),
        (lambda t: t.range_by_score(FEED, 0, 1, limit=-1), "limit"),
        (lambda t: t.range_by_rank(FEED, 0.5, 1), "start"),
        (lambda t: t.range_by_rank(FEED, 0, True), "stop"),
        (lambda t: t.trim_to(FEED, -1), "max_len"),
    ],
)
def test_bad_range_arguments_are_refused_by_name(feed: Timeline, call: object, name: str) -> None:
    with pytest.raises(InvalidArgument, match=name):
        call(feed)  # type: ignore[operator]
    assert feed.size(FEED) == 5


def test_using_a_string_key_as_a_timeline_is_a_conflict(store: Store) -> None:
    store.kv.set(FEED, "not a sorted set")
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.timeline.add(FEED, {"p": 1})
    assert store.kv.get(FEED) == "not a sorted set"


# ── add_within_limit: one atomic step of a sliding-window log ───────────────────────────

WINDOW = "window:{u1}"


def window_add(store: Store, t: float, *, window: float = 10.0, limit: int = 2) -> WindowAdd:
    return store.timeline.add_within_limit(WINDOW, t, window=window, limit=limit)


def test_a_window_takes_members_until_its_limit_and_trims_what_expired(store: Store) -> None:
    assert window_add(store, 1) == WindowAdd(added=True, at=1.0, size=1, trimmed=0, lowest=1.0)
    assert window_add(store, 2) == WindowAdd(added=True, at=2.0, size=2, trimmed=0, lowest=1.0)
    assert window_add(store, 5) == WindowAdd(added=False, at=5.0, size=2, trimmed=0, lowest=1.0)
    assert window_add(store, 11) == WindowAdd(added=True, at=11.0, size=2, trimmed=1,
                                              lowest=2.0)
    assert store.timeline.range_by_rank(WINDOW, 0, -1) == [("2#1", 2.0), ("11#1", 11.0)]


def test_the_log_only_moves_forward_a_late_writer_takes_the_latest_time(store: Store) -> None:
    window_add(store, 1)
    window_add(store, 12)  # a writer whose clock is ahead: trims the entry at 1
    late = window_add(store, 10.5)  # a lagging clock: may not reopen the room at 1
    assert (late.added, late.at, late.size, late.trimmed) == (True, 12.0, 2, 0)
    assert window_add(store, 11) == WindowAdd(added=False, at=12.0, size=2, trimmed=0,
                                              lowest=12.0)


def test_the_same_instant_twice_gives_two_members(store: Store) -> None:
    for _ in range(2):
        store.timeline.add_within_limit(WINDOW, 7.0, window=5.0, limit=5)
    assert store.timeline.range_by_rank(WINDOW, 0, -1) == [("7#0", 7.0), ("7#1", 7.0)]


def test_a_taken_member_name_is_skipped_not_overwritten(store: Store) -> None:
    store.timeline.add(WINDOW, {"7#0": 7.0, "7#1": 7.0})
    store.timeline.remove(WINDOW, "7#0")  # size 1 again, but "7#1" is taken
    step = store.timeline.add_within_limit(WINDOW, 7.0, window=5.0, limit=5)
    assert (step.added, step.size) == (True, 2)
    assert store.timeline.range_by_rank(WINDOW, 0, -1) == [("7#1", 7.0), ("7#2", 7.0)]


def test_a_window_whose_members_all_expired_starts_over(store: Store) -> None:
    store.timeline.add(WINDOW, {"old": 1.0})
    step = store.timeline.add_within_limit(WINDOW, 50.0, window=10.0, limit=1)
    assert step == WindowAdd(added=True, at=50.0, size=1, trimmed=1, lowest=50.0)


@pytest.mark.parametrize(("field", "value"), [
    ("score", float("nan")), ("score", 2.0**60), ("score", 10**400), ("window", 0),
    ("window", -1.0), ("window", float("inf")), ("window", 10**400), ("limit", 0),
    ("limit", True),
])
def test_bad_window_arguments_are_refused_by_name_and_nothing_is_written(
        store: Store, field: str, value: object) -> None:
    args: dict[str, object] = {"score": 1.0, "window": 10.0, "limit": 2, field: value}
    score = args.pop("score")
    with pytest.raises(InvalidArgument, match=field):
        store.timeline.add_within_limit(WINDOW, score, **args)  # type: ignore[arg-type]
    assert store.timeline.size(WINDOW) == 0


def test_huge_ints_are_refused_as_scores_and_bounds(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="score"):
        store.timeline.add(WINDOW, {"m": 10**400})  # type: ignore[dict-item]
    with pytest.raises(InvalidArgument, match="max_score"):
        store.timeline.range_by_score(WINDOW, 0, 10**400)
