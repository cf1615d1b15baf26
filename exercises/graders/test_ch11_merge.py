"""Graders for exercises/ch11_merge.py: the pull model's k-way merge of newest-first lists.

Each test reaches the code under test only through ``impl``. The model is the definition
itself, ``sorted(set(...), reverse=True)`` cut at ``floor`` and ``limit``. Laziness is
checked with :class:`CountingIds`, a newest-first sequence of a million ids that are made
up on demand and counted as they are read (by iteration or by index).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exercises.graders.support import GRADER_SETTINGS, CountingIds

SOLUTION = {"merge_newest": "reference.feed.read:merge_newest"}

MILLION = 1_000_000


def model(lists: list[list[int]], floor: int = 0, limit: int | None = None) -> list[int]:
    merged = [i for i in sorted({i for ids in lists for i in ids}, reverse=True) if i >= floor]
    return merged if limit is None else merged[:limit]


def merge(impl: Any, lists: list[list[int]], **kwargs: Any) -> list[int]:
    frozen = [list(ids) for ids in lists]
    got = impl.merge_newest(lists, **kwargs)
    assert lists == frozen, "merge_newest must not modify the lists it is given"
    assert isinstance(got, list), f"merge_newest must return a list, got {type(got).__name__}"
    return got


# --------------------------------------------------------------------------------- feed-merge

MERGE_HINT = (
    "merge with heapq.merge(*lists, reverse=True); skip an id equal to the last one kept; "
    "stop below floor or at limit"
)


@pytest.mark.exercise(name="feed-merge", points=3, hint=MERGE_HINT)
@pytest.mark.parametrize(
    ("lists", "kwargs", "expected"),
    [
        ([[9, 4, 1], [8, 4, 2], [7]], {"limit": 5}, [9, 8, 7, 4, 2]),
        ([[9, 4, 1], [8, 2]], {"floor": 3}, [9, 8, 4]),
        ([[9, 4, 1], [8, 2]], {}, [9, 8, 4, 2, 1]),
        ([[5, 3], [5, 3], [5, 3]], {}, [5, 3]),
        ([[], [6], []], {}, [6]),
        ([], {}, []),
        ([[], []], {"limit": 3}, []),
        ([[9, 4, 1], [8, 2]], {"floor": 4, "limit": 10}, [9, 8, 4]),
        ([[9, 4, 1], [8, 2]], {"floor": 100}, []),
        ([[3, 2, 1]], {"limit": 1}, [3]),
    ],
    ids=["limit", "floor", "all", "same-list-thrice", "empty-lists", "no-lists",
         "only-empty-lists", "floor-is-kept", "floor-above-all", "one-list"],
)
def test_examples_merge_newest_first_without_repeats(
    impl: Any, lists: list[list[int]], kwargs: dict[str, Any], expected: list[int]
) -> None:
    got = merge(impl, lists, **kwargs)
    assert got == expected, f"merge_newest({lists}, {kwargs}) = {got}, expected {expected}"


SNOWFLAKE = 1 << 61  # real post ids are Snowflake ids near 2**61: exact as Python ints


@pytest.mark.exercise(name="feed-merge", points=3, hint=MERGE_HINT)
def test_real_snowflake_ids_stay_exact(impl: Any) -> None:
    a = [SNOWFLAKE + 5, SNOWFLAKE + 3, SNOWFLAKE + 1]
    b = [SNOWFLAKE + 4, SNOWFLAKE + 3, SNOWFLAKE + 2]
    got = merge(impl, [a, b])
    assert got == [SNOWFLAKE + n for n in (5, 4, 3, 2, 1)], (
        f"ids one apart near 2**61 must stay distinct and exact (no float), got {got}"
    )


newest_first_lists = st.lists(
    st.sets(st.integers(min_value=0, max_value=60), max_size=12).map(
        lambda ids: sorted(ids, reverse=True)
    ),
    max_size=6,
)


@pytest.mark.exercise(name="feed-merge", points=3, hint=MERGE_HINT)
@GRADER_SETTINGS
@given(
    lists=newest_first_lists,
    floor=st.integers(min_value=0, max_value=64),
    limit=st.none() | st.integers(min_value=0, max_value=30),
)
def test_any_merge_agrees_with_sorted_set_cut_at_floor_and_limit(
    impl: Any, lists: list[list[int]], floor: int, limit: int | None
) -> None:
    got = merge(impl, lists, floor=floor, limit=limit)
    expected = model(lists, floor, limit)
    assert got == expected, (
        f"merge_newest({lists}, floor={floor}, limit={limit}) = {got}, expected {expected}"
    )


@pytest.mark.exercise(name="feed-merge", points=3, hint=MERGE_HINT)
@GRADER_SETTINGS
@given(lists=newest_first_lists)
def test_lists_may_be_any_sequence_and_any_iterable_of_them(
    impl: Any, lists: list[list[int]]
) -> None:
    as_tuples = (tuple(ids) for ids in lists)  # a generator of tuples, read once
    got = impl.merge_newest(as_tuples)
    assert got == model(lists), (
        f"merge_newest over a generator of tuples {lists} = {got}, expected {model(lists)}"
    )


# ---------------------------------------------------------------------------- feed-merge-lazy


def long_lists() -> list[CountingIds]:
    """Three followees with a million posts each; ids interleave (3 apart, offset by 1)."""
    return [CountingIds(10 * MILLION, 3, MILLION), CountingIds(10 * MILLION - 1, 3, MILLION),
            CountingIds(10 * MILLION - 2, 3, MILLION)]


LAZY_HINT = (
    "read lazily: heapq.merge pulls an id from a list only when its head is taken; never "
    "sorted(), list() or set() a whole list"
)
READ_BUDGET = 200  # about k + limit is enough; any full read costs millions


@pytest.mark.exercise(name="feed-merge-lazy", points=2, hint=LAZY_HINT)
def test_a_page_of_20_from_three_long_lists_reads_about_20_ids(impl: Any) -> None:
    lists = long_lists()
    got = impl.merge_newest(lists, limit=20)
    assert got == list(range(10 * MILLION, 10 * MILLION - 20, -1)), f"wrong page: {got}"
    reads = sum(ids.reads for ids in lists)
    assert reads <= READ_BUDGET, (
        f"a page of 20 from 3 lists read {reads:,} ids; a lazy merge reads about 23 "
        "(k + limit): the cost of a pull-model read must not grow with the lists' length"
    )


@pytest.mark.exercise(name="feed-merge-lazy", points=2, hint=LAZY_HINT)
def test_a_floor_stops_the_reading_as_well_as_the_output(impl: Any) -> None:
    lists = long_lists()
    floor = 10 * MILLION - 29
    got = impl.merge_newest(lists, floor=floor)
    assert got == list(range(10 * MILLION, floor - 1, -1)), f"wrong ids above the floor: {got}"
    reads = sum(ids.reads for ids in lists)
    assert reads <= READ_BUDGET, (
        f"30 ids above the floor cost {reads:,} reads; stop at the first id below the floor "
        "(the merged stream is sorted: nothing after it can qualify)"
    )
