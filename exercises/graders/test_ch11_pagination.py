"""Graders for exercises/ch11_pagination.py: pages of a feed by an id cursor.

Each test reaches the code under test only through ``impl``. The scroll property plays a
user reading page after page while, between two pages, new posts arrive at the top and
random posts are deleted, and judges the pages as chapter 11's checker judges a scroll
session: no id shown twice, none out of order, and every post that was in the feed from
the first page to the last shown once. :class:`CountingIds` makes up a long feed on demand
and counts the reads, for ``cursor-seek``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.graders.support import GRADER_SETTINGS, CountingIds

SOLUTION = {"page_of": "reference.feed.read:page_of"}

SNOWFLAKE = 1 << 61


def page(impl: Any, ids: list[int], before: int | None, limit: int) -> tuple[list[int], Any]:
    frozen = list(ids)
    got = impl.page_of(ids, before=before, limit=limit)
    call = f"page_of({ids}, before={before}, limit={limit})"
    assert ids == frozen, f"{call} modified ids"
    assert isinstance(got, tuple) and len(got) == 2, (
        f"{call} must return (page, cursor), got {got!r}"
    )
    items, cursor = got
    assert isinstance(items, list), f"{call}: the page must be a list, got {items!r}"
    return items, cursor


def expected_page(ids: list[int], before: int | None, limit: int) -> tuple[list[int], Any]:
    items = [i for i in ids if before is None or i < before][:limit]
    return items, items[-1] if len(items) == limit else None


# -------------------------------------------------------------------------------- cursor-page

PAGE_HINT = (
    "page = the first limit ids < before (all from the top if before is None); "
    "next_cursor = page[-1] if len(page) == limit else None"
)


@pytest.mark.exercise(name="cursor-page", points=2, hint=PAGE_HINT)
@pytest.mark.parametrize(
    ("ids", "before", "limit", "expected"),
    [
        ([9, 7, 5, 3, 1], None, 2, ([9, 7], 7)),
        ([9, 7, 5, 3, 1], 7, 2, ([5, 3], 3)),
        ([12, 9, 7, 5, 3, 1], 7, 2, ([5, 3], 3)),
        ([9, 7, 5, 3, 1], 3, 2, ([1], None)),
        ([9, 7], None, 2, ([9, 7], 7)),
        ([9, 7], 7, 2, ([], None)),
        ([9, 7, 5, 3, 1], 6, 2, ([5, 3], 3)),
        ([9, 7, 5, 3, 1], 100, 3, ([9, 7, 5], 5)),
        ([9, 7, 5, 3, 1], 1, 3, ([], None)),
        ([], None, 20, ([], None)),
        ([9, 7, 5], None, 20, ([9, 7, 5], None)),
        ([9, 7, 5], 9, 1, ([7], 7)),
    ],
    ids=["first", "second", "after-an-arrival", "last-short", "full-first", "empty-after-full",
         "cursor-deleted", "cursor-above-all", "cursor-at-the-bottom", "empty-feed",
         "one-short-page", "limit-1"],
)
def test_examples_cut_below_the_cursor_and_name_the_next_one(
    impl: Any, ids: list[int], before: int | None, limit: int, expected: tuple[Any, Any]
) -> None:
    got = page(impl, ids, before, limit)
    assert got == expected, (
        f"page_of({ids}, before={before}, limit={limit}) = {got}, expected {expected}"
    )


@pytest.mark.exercise(name="cursor-page", points=2, hint=PAGE_HINT)
def test_real_snowflake_ids_are_cut_exactly(impl: Any) -> None:
    ids = [SNOWFLAKE + n for n in (9, 8, 7, 6)]
    got = page(impl, ids, SNOWFLAKE + 8, 2)
    assert got == ([SNOWFLAKE + 7, SNOWFLAKE + 6], SNOWFLAKE + 6), (
        f"ids one apart near 2**61 must be compared exactly (no float), got {got}"
    )


@pytest.mark.exercise(name="cursor-page", points=2, hint=PAGE_HINT)
@GRADER_SETTINGS
@given(
    ids=st.sets(st.integers(0, 80), max_size=25).map(lambda s: sorted(s, reverse=True)),
    before=st.none() | st.integers(0, 90),
    limit=st.integers(1, 10),
)
def test_any_page_is_the_definition(
    impl: Any, ids: list[int], before: int | None, limit: int
) -> None:
    got = page(impl, ids, before, limit)
    expected = expected_page(ids, before, limit)
    assert got == expected, (
        f"page_of({ids}, before={before}, limit={limit}) = {got}, expected {expected}"
    )


# ------------------------------------------------------------------------------ cursor-scroll

SCROLL_HINT = (
    "cut by value (ids < before), never by position: arrivals above the cursor and "
    "deletions must not shift the next page"
)


@st.composite
def scrolls(draw: st.DrawFn) -> tuple[list[int], int, list[tuple[int, list[int]]]]:
    """A feed, a page size, and what happens between pages: (arrivals, ids deleted)."""
    feed = sorted(draw(st.sets(st.integers(0, 500), min_size=1, max_size=40)), reverse=True)
    limit = draw(st.integers(1, 6))
    events = draw(st.lists(st.tuples(st.integers(0, 4), st.lists(st.integers(0, 10**6),
                                                                  max_size=3)),
                           max_size=20))
    return feed, limit, events


def scroll(impl: Any, feed: list[int], limit: int,
           events: list[tuple[int, list[int]]]) -> tuple[list[list[int]], set[int], set[int]]:
    """Read page after page; between pages, posts arrive on top and some are deleted.

    Returns the pages, every id deleted, and every id that was ever in the feed.
    """
    current = list(feed)
    deleted: set[int] = set()
    ever = set(feed)
    pages: list[list[int]] = []
    cursor: int | None = None
    for n in range(len(feed) + 3):
        items, cursor = page(impl, current, cursor, limit)
        pages.append(items)
        if cursor is None:
            return pages, deleted, ever
        arrivals, picks = events[n] if n < len(events) else (0, [])
        top = max(ever)  # a new post's id is above every id so far
        current = [top + k for k in range(arrivals, 0, -1)] + current
        ever.update(current)
        for pick in picks:
            if current:
                gone = current.pop(pick % len(current))
                deleted.add(gone)
    raise AssertionError(
        f"scrolling a feed of {len(feed)} ids {limit} at a time took more than "
        f"{len(feed) + 3} pages: next_cursor never became None (it must, once a page is "
        "not full)"
    )


@pytest.mark.exercise(name="cursor-scroll", points=3, hint=SCROLL_HINT)
@GRADER_SETTINGS
@given(case=scrolls())
def test_scrolling_while_posts_arrive_and_leave_never_repeats_or_skips(
    impl: Any, case: tuple[list[int], int, list[tuple[int, list[int]]]]
) -> None:
    feed, limit, events = case
    pages, deleted, ever = scroll(impl, feed, limit, events)
    shown = [i for items in pages for i in items]
    story = f"feed {feed}, {limit} per page, between pages {events}: pages {pages}"
    repeated = sorted({i for i in shown if shown.count(i) > 1})
    assert not repeated, f"{story}: {repeated} shown twice"
    assert shown == sorted(shown, reverse=True), f"{story}: pages are not newest first"
    assert set(shown) <= ever, f"{story}: {sorted(set(shown) - ever)} were never in the feed"
    stayed = [i for i in feed if i not in deleted]
    skipped = [i for i in stayed if i not in shown]
    assert not skipped, f"{story}: {skipped} stayed in the feed throughout but were skipped"
    above = [i for i in shown if i > feed[0]]
    assert not above, f"{story}: {above} arrived above the first page and were shown later"


@pytest.mark.exercise(name="cursor-scroll", points=3, hint=SCROLL_HINT)
def test_an_arrival_between_two_pages_does_not_repeat_the_last_post(impl: Any) -> None:
    feed = [90, 80, 70, 60, 50, 40]
    first, cursor = page(impl, feed, None, 2)
    second, _ = page(impl, [95, *feed], cursor, 2)
    assert (first, second) == ([90, 80], [70, 60]), (
        f"pages {first} then, after 95 arrived, {second}: expected [90, 80] then [70, 60] "
        "(an offset would show 80 again)"
    )


@pytest.mark.exercise(name="cursor-scroll", points=3, hint=SCROLL_HINT)
def test_a_deletion_between_two_pages_does_not_skip_a_post(impl: Any) -> None:
    feed = [90, 80, 70, 60, 50, 40]
    first, cursor = page(impl, feed, None, 2)
    second, _ = page(impl, [80, 70, 60, 50, 40], cursor, 2)
    assert (first, second) == ([90, 80], [70, 60]), (
        f"pages {first} then, after 90 was deleted, {second}: expected [90, 80] then [70, 60] "
        "(an offset would skip 70)"
    )


# -------------------------------------------------------------------------------- cursor-seek


SEEK_HINT = (
    "binary search for the first id below the cursor: "
    "bisect.bisect_right(ids, -before, key=operator.neg), then slice limit ids"
)
MILLION = 1_000_000


@pytest.mark.exercise(name="cursor-seek", points=1, hint=SEEK_HINT)
@pytest.mark.parametrize("depth", [10, MILLION // 2, MILLION - 5], ids=["top", "middle", "bottom"])
def test_a_deep_page_of_a_long_feed_reads_log_n_plus_limit_ids(impl: Any, depth: int) -> None:
    ids = CountingIds(top=4 * MILLION, step=2, length=MILLION)
    before = ids.top - 2 * depth + 1  # between the ids at depth - 1 and depth
    items, cursor = impl.page_of(ids, before=before, limit=20)
    expected = [ids.top - 2 * i for i in range(depth, min(depth + 20, MILLION))]
    assert items == expected, f"wrong page at depth {depth:,}: {items[:5]}..."
    assert cursor == (expected[-1] if len(expected) == 20 else None)
    assert ids.reads <= 100, (
        f"a page of 20 at depth {depth:,} of a feed of a million ids read {ids.reads:,} ids; "
        "a binary search reads about log2(n) = 20 to find the cut, then the 20 of the page"
    )
