"""The CappedList port (newest first, capped at N): the same behaviour on every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reference.core.errors import Conflict, InvalidArgument
from reference.storage import CappedList, Store

HOME = "home:{42}"
OTHER = "home:{43}"
FOLLOWERS = [f"home:{{{user}}}" for user in (7, 8, 9)]


@pytest.fixture
def home(store: Store) -> CappedList:
    """A home timeline holding t5 (newest) .. t1 (oldest), capped at 10."""
    for n in range(1, 6):
        store.lists.push(HOME, f"t{n}", max_len=10)
    return store.lists


def test_every_backend_implements_the_capped_list_port(store: Store) -> None:
    assert isinstance(store.lists, CappedList)


def test_push_puts_the_newest_first_and_returns_the_length(store: Store) -> None:
    assert store.lists.push(HOME, "t1", max_len=3) == 1
    assert store.lists.push(HOME, "t2", max_len=3) == 2
    assert store.lists.range(HOME, 0, -1) == ["t2", "t1"]


def test_push_trims_to_max_len_dropping_the_oldest(store: Store) -> None:
    for n in range(1, 6):
        assert store.lists.push(HOME, f"t{n}", max_len=3) == min(n, 3)
    assert store.lists.range(HOME, 0, -1) == ["t5", "t4", "t3"]
    assert store.lists.push(HOME, "t6", max_len=1) == 1  # a smaller cap trims harder
    assert store.lists.range(HOME, 0, -1) == ["t6"]


def test_arrival_order_is_kept_and_a_duplicate_push_is_kept_twice(store: Store) -> None:
    for item in ("post:2", "post:1", "post:2"):  # a late write, then a redelivery
        store.lists.push(HOME, item, max_len=10)
    assert store.lists.range(HOME, 0, -1) == ["post:2", "post:1", "post:2"]
    assert store.lists.length(HOME) == 3


def test_a_missing_key_reads_as_empty(store: Store) -> None:
    assert store.lists.length(HOME) == 0
    assert store.lists.range(HOME, 0, -1) == []
    assert store.lists.range_many([HOME, OTHER], 0, -1) == [[], []]
    assert store.lists.remove(HOME, "t1") == 0
    assert store.lists.remove_from_many([HOME, OTHER], "t1") == 0


@pytest.mark.parametrize(
    ("start", "stop", "expected"),
    [
        (0, -1, ["t5", "t4", "t3", "t2", "t1"]),
        (0, 1, ["t5", "t4"]),
        (1, 1, ["t4"]),
        (-2, -1, ["t2", "t1"]),
        (3, 100, ["t2", "t1"]),
        (-100, 0, ["t5"]),
        (-100, -100, []),
        (2, 1, []),
        (5, 10, []),
        (-1, -2, []),
        (4, -1, ["t1"]),
    ],
)
def test_range_follows_lrange_index_rules(
    home: CappedList, start: int, stop: int, expected: list[str]
) -> None:
    assert home.range(HOME, start, stop) == expected


def test_remove_takes_every_occurrence_and_an_emptied_list_vanishes(store: Store) -> None:
    for item in ("a", "b", "a", "c", "a"):
        store.lists.push(HOME, item, max_len=10)
    assert store.lists.remove(HOME, "a") == 3
    assert store.lists.remove(HOME, "zzz") == 0
    assert store.lists.range(HOME, 0, -1) == ["c", "b"]
    assert store.lists.remove(HOME, "b") + store.lists.remove(HOME, "c") == 2
    assert store.kv.delete(HOME) == 0  # the key itself is gone


def test_items_are_any_strings_empty_and_unicode_included(store: Store) -> None:
    for item in ("", "트윗 🎉", " spaced "):
        store.lists.push(HOME, item, max_len=10)
    assert store.lists.range(HOME, 0, -1) == [" spaced ", "트윗 🎉", ""]


# ── many keys, one round trip ──────────────────────────────────────────────────────────────


def test_push_to_many_pushes_into_every_list_and_trims_each(store: Store) -> None:
    store.lists.push(FOLLOWERS[0], "old:1", max_len=5)
    store.lists.push(FOLLOWERS[0], "old:2", max_len=5)
    assert store.lists.push_to_many(FOLLOWERS, "post:9", max_len=2) is None
    assert store.lists.range_many(FOLLOWERS, 0, -1) == [
        ["post:9", "old:2"], ["post:9"], ["post:9"]
    ]


def test_push_to_many_pushes_a_key_listed_twice_once(store: Store) -> None:
    store.lists.push_to_many([HOME, OTHER, HOME], "post:1", max_len=5)
    assert store.lists.range_many([HOME, OTHER], 0, -1) == [["post:1"], ["post:1"]]


def test_range_many_answers_every_position_in_order_repeats_included(home: CappedList) -> None:
    home.push(OTHER, "x", max_len=3)
    assert home.range_many([OTHER, HOME, "home:{0}", HOME], 0, 1) == [
        ["x"], ["t5", "t4"], [], ["t5", "t4"]
    ]


def test_remove_from_many_counts_every_occurrence_removed(store: Store) -> None:
    store.lists.push_to_many(FOLLOWERS, "post:1", max_len=5)
    store.lists.push(FOLLOWERS[0], "post:1", max_len=5)
    store.lists.push(FOLLOWERS[0], "post:2", max_len=5)
    assert store.lists.remove_from_many([*FOLLOWERS, FOLLOWERS[0]], "post:1") == 4
    assert store.lists.range_many(FOLLOWERS, 0, -1) == [["post:2"], [], []]


def test_many_key_calls_with_no_keys_do_nothing(store: Store) -> None:
    assert store.lists.push_to_many([], "x", max_len=3) is None
    assert store.lists.range_many((), 0, -1) == []
    assert store.lists.remove_from_many([], "x") == 0


# ── only_existing: a fanout never creates a home timeline ────────────────────────────────
# A cached home timeline is rebuilt from the database on a miss; a fanout that created a
# missing one would leave it holding one item and hiding everything older.


def test_push_to_many_only_existing_leaves_absent_lists_absent(store: Store) -> None:
    store.lists.push(FOLLOWERS[1], "old:1", max_len=5)
    assert store.lists.push_to_many(FOLLOWERS, "post:9", max_len=5, only_existing=True) is None
    assert store.lists.range_many(FOLLOWERS, 0, -1) == [[], ["post:9", "old:1"], []]
    assert [store.lists.length(key) for key in FOLLOWERS] == [0, 2, 0]
    assert store.kv.delete(FOLLOWERS[0], FOLLOWERS[2]) == 0  # no key was created


def test_push_to_many_only_existing_into_no_existing_list_writes_nothing(store: Store) -> None:
    store.lists.push_to_many(FOLLOWERS, "post:9", max_len=5, only_existing=True)
    assert store.lists.range_many(FOLLOWERS, 0, -1) == [[], [], []]
    assert store.kv.delete(*FOLLOWERS) == 0


def test_push_to_many_only_existing_trims_each_existing_list_to_max_len(store: Store) -> None:
    for n in range(1, 4):
        store.lists.push(FOLLOWERS[0], f"old:{n}", max_len=5)
    store.lists.push(FOLLOWERS[2], "old:1", max_len=5)
    store.lists.push_to_many(FOLLOWERS, "post:9", max_len=2, only_existing=True)
    assert store.lists.range_many(FOLLOWERS, 0, -1) == [
        ["post:9", "old:3"], [], ["post:9", "old:1"]
    ]


def test_push_to_many_only_existing_mixes_present_and_absent_keys_in_one_call(
    store: Store,
) -> None:
    keys = [f"home:{{{user}}}" for user in range(10)]
    cached = keys[1::3]  # users 1, 4, 7 have a home timeline in cache; the others do not
    for key in cached:
        store.lists.push(key, "old", max_len=5)
    store.lists.push_to_many([*keys, keys[1], keys[0]], "post:1", max_len=5, only_existing=True)
    expected = [["post:1", "old"] if key in cached else [] for key in keys]
    assert store.lists.range_many(keys, 0, -1) == expected  # a key listed twice: pushed once


def test_a_list_emptied_by_removals_is_gone_so_only_existing_skips_it(store: Store) -> None:
    store.lists.push(HOME, "t1", max_len=5)
    store.lists.remove(HOME, "t1")
    store.lists.push_to_many([HOME], "t2", max_len=5, only_existing=True)
    assert store.lists.push(HOME, "t3", max_len=5, only_existing=True) == 0
    assert store.lists.length(HOME) == 0


def test_push_only_existing_pushes_into_an_existing_list_and_returns_its_length(
    store: Store,
) -> None:
    store.lists.push(HOME, "t1", max_len=2)
    assert store.lists.push(HOME, "t2", max_len=2, only_existing=True) == 2
    assert store.lists.push(HOME, "t3", max_len=2, only_existing=True) == 2
    assert store.lists.push(OTHER, "t1", max_len=2, only_existing=True) == 0
    assert store.lists.range_many([HOME, OTHER], 0, -1) == [["t3", "t2"], []]
    assert store.kv.delete(OTHER) == 0


def test_push_to_many_without_only_existing_still_creates_lists(store: Store) -> None:
    store.lists.push_to_many(FOLLOWERS, "post:1", max_len=5, only_existing=False)
    assert store.lists.range_many(FOLLOWERS, 0, -1) == [["post:1"]] * 3


def test_push_to_many_only_existing_with_no_keys_does_nothing(store: Store) -> None:
    assert store.lists.push_to_many([], "x", max_len=3, only_existing=True) is None


# ── bad input and other kinds of key ──────────────────────────────────────────────────────

Call = Callable[[CappedList], object]

BAD_CALLS: list[tuple[Call, str]] = [
    (lambda c: c.push(HOME, 7, max_len=3), "item"),  # type: ignore[arg-type]
    (lambda c: c.push(HOME, None, max_len=3), "item"),  # type: ignore[arg-type]
    (lambda c: c.push(HOME, "x", max_len=0), "max_len"),
    (lambda c: c.push(HOME, "x", max_len=-1), "max_len"),
    (lambda c: c.push(HOME, "x", max_len=True), "max_len"),
    (lambda c: c.push(HOME, "x", max_len=2**63), "max_len"),
    (lambda c: c.push("", "x", max_len=3), "key"),
    (lambda c: c.push_to_many([OTHER, ""], "x", max_len=3), "keys"),
    (lambda c: c.push_to_many(OTHER, "x", max_len=3), "keys"),  # a bare str
    (lambda c: c.push_to_many([OTHER], b"x", max_len=3), "item"),  # type: ignore[arg-type]
    (lambda c: c.push_to_many([OTHER], "x", max_len=0), "max_len"),
    (lambda c: c.push_to_many([HOME], "x", max_len=0, only_existing=True), "max_len"),
    (lambda c: c.push_to_many([HOME, ""], "x", max_len=3, only_existing=True), "keys"),
    (lambda c: c.push_to_many([HOME], None, max_len=3, only_existing=True), "item"),  # type: ignore[arg-type]
    (lambda c: c.push(HOME, "x", max_len=0, only_existing=True), "max_len"),
    (lambda c: c.range(HOME, 0.5, 1), "start"),  # type: ignore[arg-type]
    (lambda c: c.range(HOME, 0, True), "stop"),
    (lambda c: c.range(HOME, 0, 2**63), "stop"),
    (lambda c: c.range_many([HOME, 3], 0, 1), "keys"),  # type: ignore[list-item]
    (lambda c: c.range_many([HOME], "0", 1), "start"),  # type: ignore[arg-type]
    (lambda c: c.length(None), "key"),  # type: ignore[arg-type]
    (lambda c: c.remove(HOME, 5), "item"),  # type: ignore[arg-type]
    (lambda c: c.remove_from_many([HOME, OTHER], None), "item"),  # type: ignore[arg-type]
    (lambda c: c.remove_from_many((HOME, ""), "t1"), "keys"),
]


@pytest.mark.parametrize(("call", "name"), BAD_CALLS)
def test_bad_arguments_are_refused_by_name_before_anything_is_written(
    store: Store, call: Call, name: str
) -> None:
    store.lists.push(HOME, "t1", max_len=5)
    with pytest.raises(InvalidArgument, match=name):
        call(store.lists)
    assert store.lists.range_many([HOME, OTHER], 0, -1) == [["t1"], []]


def test_a_key_of_another_kind_is_a_conflict_both_ways(store: Store) -> None:
    store.kv.hset("h:{1}", {"f": "v"})
    store.id_timeline.add("ids:{1}", [2**61])
    store.lists.push(HOME, "t1", max_len=5)
    for key in ("h:{1}", "ids:{1}"):
        with pytest.raises(Conflict, match="WRONGTYPE"):
            store.lists.push(key, "x", max_len=5)
        with pytest.raises(Conflict, match="WRONGTYPE"):
            store.lists.range(key, 0, -1)
        with pytest.raises(Conflict, match="WRONGTYPE"):
            store.lists.length(key)
        with pytest.raises(Conflict, match="WRONGTYPE"):
            store.lists.range_many([HOME, key], 0, -1)
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.kv.hgetall(HOME)
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.timeline.size(HOME)
    assert store.kv.hgetall("h:{1}") == {"f": "v"}
    assert store.id_timeline.newest("ids:{1}", limit=5) == [2**61]


def test_a_fanout_over_a_key_of_another_kind_writes_the_rest_then_raises(store: Store) -> None:
    store.kv.set("s:{1}", "not a list")
    with pytest.raises(Conflict, match=r"s:\{1\}.*WRONGTYPE"):
        store.lists.push_to_many([HOME, "s:{1}", OTHER], "post:1", max_len=3)
    assert store.lists.range_many([HOME, OTHER], 0, -1) == [["post:1"], ["post:1"]]
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.lists.remove_from_many([HOME, "s:{1}", OTHER], "post:1")
    assert store.lists.range_many([HOME, OTHER], 0, -1) == [[], []]
    assert store.kv.get("s:{1}") == "not a list"


def test_a_fanout_to_existing_lists_only_over_a_key_of_another_kind_writes_the_rest_then_raises(
    store: Store,
) -> None:
    """A key of another kind exists, so only_existing does not skip it: still a Conflict."""
    store.kv.set("s:{1}", "not a list")
    store.lists.push(HOME, "t1", max_len=5)
    with pytest.raises(Conflict, match=r"s:\{1\}.*WRONGTYPE"):
        store.lists.push_to_many([HOME, "s:{1}", OTHER], "t2", max_len=3, only_existing=True)
    assert store.lists.range_many([HOME, OTHER], 0, -1) == [["t2", "t1"], []]
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.lists.push("s:{1}", "t3", max_len=3, only_existing=True)
    store.id_timeline.add("ids:{1}", [2**61])
    with pytest.raises(Conflict, match=r"ids:\{1\}.*WRONGTYPE"):
        store.lists.push_to_many(["ids:{1}", HOME], "t3", max_len=3, only_existing=True)
    assert store.lists.range(HOME, 0, -1) == ["t3", "t2", "t1"]
    assert store.kv.get("s:{1}") == "not a list"
    assert store.id_timeline.newest("ids:{1}", limit=5) == [2**61]
    assert store.kv.delete(OTHER) == 0


def test_delete_removes_a_capped_list_like_any_key(store: Store) -> None:
    store.lists.push(HOME, "t1", max_len=5)
    assert store.kv.delete(HOME) == 1
    assert store.lists.length(HOME) == 0


def test_extend_pushes_items_one_after_the_other_and_trims(store: Store) -> None:
    assert store.lists.extend("home:{7}", ["a", "b", "c"], max_len=5) == 3
    assert store.lists.extend("home:{7}", ["d", "e", "f"], max_len=5) == 5
    assert store.lists.range("home:{7}", 0, -1) == ["f", "e", "d", "c", "b"]
    assert store.lists.extend("home:{7}", [], max_len=5) == 5  # nothing to push


def test_extend_refuses_a_bare_str_or_a_non_str_item_and_writes_nothing(store: Store) -> None:
    for items in ("abc", ["a", 7], None):
        with pytest.raises(InvalidArgument):
            store.lists.extend("home:{8}", items, max_len=5)  # type: ignore[arg-type]
    assert store.lists.length("home:{8}") == 0


def test_extend_is_one_round_trip_however_many_items(store: Store) -> None:
    if store.backend == "memory":
        pytest.skip("the memory backend sends no commands")
    with store.record_commands() as recorded:
        store.lists.extend("home:{9}", [str(i) for i in range(300)], max_len=800)
    assert recorded.round_trips == 1 and store.lists.length("home:{9}") == 300
