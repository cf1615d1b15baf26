"""The IdTimeline port (ids per key, ordered exactly by id): the same behaviour on every backend.

Snowflake ids are about 2**61, where doubles are 2**8 apart: ordered by a sorted-set score,
ids a few apart would tie. Every test here that matters uses ids a double cannot tell apart.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import pairwise

import pytest

from reference.core.clock import FakeClock
from reference.core.errors import Conflict, InvalidArgument
from reference.core.ids import SnowflakeGenerator
from reference.storage import IdTimeline, Store, connect

FEED = "feed:{42}"
OTHER = "feed:{43}"
BIG = 2**61  # a Snowflake-sized id: float(BIG) == float(BIG + 1)
TOP = 2**63 - 1  # the largest id


def test_every_backend_implements_the_id_timeline_port(store: Store) -> None:
    assert isinstance(store.id_timeline, IdTimeline)


def test_ids_a_double_cannot_tell_apart_keep_their_exact_order(store: Store) -> None:
    ids = [BIG + 1, BIG, BIG + 2, TOP, 0, 2**53 + 1, 2**53, TOP - 1]
    assert float(BIG) == float(BIG + 1) == float(BIG + 2)  # a score-based order would tie
    assert store.id_timeline.add(FEED, ids) == len(ids)
    assert store.id_timeline.newest(FEED, limit=100) == sorted(ids, reverse=True)
    assert store.id_timeline.oldest_after(FEED, 0, limit=100) == sorted(ids)[1:]


def test_add_counts_new_ids_and_a_repeat_is_not_new(store: Store) -> None:
    assert store.id_timeline.add(FEED, [BIG + 3, BIG + 1, BIG + 2]) == 3
    assert store.id_timeline.add(FEED, [BIG + 2, BIG + 4, BIG + 4]) == 1
    assert store.id_timeline.size(FEED) == 4


def test_add_takes_any_iterable_and_none_at_all_is_a_no_op(store: Store) -> None:
    assert store.id_timeline.add(FEED, (BIG + i for i in range(3))) == 3
    assert store.id_timeline.add(FEED, []) == 0
    assert store.id_timeline.add(OTHER, set()) == 0
    assert store.id_timeline.size(OTHER) == 0


def test_a_missing_key_reads_as_empty(store: Store) -> None:
    timeline = store.id_timeline
    assert timeline.size(FEED) == 0
    assert timeline.newest(FEED, limit=5) == []
    assert timeline.newest(FEED, limit=5, before=BIG) == []
    assert timeline.oldest_after(FEED, 0, limit=5) == []
    assert timeline.newest_many([FEED, OTHER], limit=5) == [[], []]
    assert timeline.trim_to(FEED, 0) == 0
    assert timeline.remove(FEED, BIG) == 0
    assert timeline.remove_from_many([FEED, OTHER], BIG) == 0


def test_newest_pages_newest_first_and_before_is_strictly_below(store: Store) -> None:
    store.id_timeline.add(FEED, [BIG + i for i in range(10)])
    assert store.id_timeline.newest(FEED, limit=3) == [BIG + 9, BIG + 8, BIG + 7]
    assert store.id_timeline.newest(FEED, limit=3, before=BIG + 7) == [BIG + 6, BIG + 5, BIG + 4]
    assert store.id_timeline.newest(FEED, limit=3, before=BIG + 1) == [BIG]
    assert store.id_timeline.newest(FEED, limit=3, before=BIG) == []


def test_a_cursor_need_not_be_a_stored_id(store: Store) -> None:
    store.id_timeline.add(FEED, [BIG, BIG + 10, BIG + 20])
    assert store.id_timeline.newest(FEED, limit=5, before=BIG + 15) == [BIG + 10, BIG]
    assert store.id_timeline.newest(FEED, limit=5, before=TOP) == [BIG + 20, BIG + 10, BIG]
    assert store.id_timeline.oldest_after(FEED, BIG + 5, limit=5) == [BIG + 10, BIG + 20]


def test_oldest_after_is_ascending_and_strictly_above(store: Store) -> None:
    store.id_timeline.add(FEED, [BIG + i for i in range(10)])
    assert store.id_timeline.oldest_after(FEED, BIG + 2, limit=3) == [BIG + 3, BIG + 4, BIG + 5]
    assert store.id_timeline.oldest_after(FEED, BIG + 8, limit=3) == [BIG + 9]
    assert store.id_timeline.oldest_after(FEED, BIG + 9, limit=3) == []
    assert store.id_timeline.oldest_after(FEED, 0, limit=2) == [BIG, BIG + 1]


def test_id_zero_and_the_largest_id_are_ordinary_ids(store: Store) -> None:
    store.id_timeline.add(FEED, [0, TOP, 1])
    assert store.id_timeline.newest(FEED, limit=5) == [TOP, 1, 0]
    assert store.id_timeline.newest(FEED, limit=5, before=1) == [0]
    assert store.id_timeline.oldest_after(FEED, TOP - 1, limit=5) == [TOP]
    assert store.id_timeline.remove(FEED, 0, TOP) == 2


def test_remove_counts_only_present_ids_and_an_emptied_timeline_vanishes(store: Store) -> None:
    store.id_timeline.add(FEED, [BIG, BIG + 1])
    assert store.id_timeline.remove(FEED, BIG, BIG + 5, BIG) == 1
    assert store.id_timeline.remove(FEED) == 0
    assert store.id_timeline.newest(FEED, limit=5) == [BIG + 1]
    assert store.id_timeline.remove(FEED, BIG + 1) == 1
    assert store.kv.delete(FEED) == 0  # the key itself is gone


def test_trim_to_keeps_the_newest_and_zero_empties_the_key(store: Store) -> None:
    store.id_timeline.add(FEED, [BIG + i for i in range(5)])
    assert store.id_timeline.trim_to(FEED, 2) == 3
    assert store.id_timeline.newest(FEED, limit=5) == [BIG + 4, BIG + 3]
    assert store.id_timeline.trim_to(FEED, 5) == 0
    assert store.id_timeline.trim_to(FEED, 0) == 2
    assert store.kv.delete(FEED) == 0


# ── many keys, one round trip ──────────────────────────────────────────────────────────────

FOLLOWERS = [f"feed:{{{user}}}" for user in (7, 8, 9)]


def test_add_to_many_writes_one_id_into_every_key_and_counts_the_new(store: Store) -> None:
    store.id_timeline.add(FOLLOWERS[1], [BIG])
    assert store.id_timeline.add_to_many(FOLLOWERS, BIG) == 2
    assert store.id_timeline.newest_many(FOLLOWERS, limit=5) == [[BIG], [BIG], [BIG]]


def test_add_to_many_trims_each_key_to_its_newest_max_len(store: Store) -> None:
    store.id_timeline.add(FOLLOWERS[0], [BIG + 1, BIG + 2, BIG + 3])
    store.id_timeline.add(FOLLOWERS[1], [BIG + 1])
    assert store.id_timeline.add_to_many(FOLLOWERS, BIG + 9, max_len=2) == 3
    assert store.id_timeline.newest_many(FOLLOWERS, limit=5) == [
        [BIG + 9, BIG + 3], [BIG + 9, BIG + 1], [BIG + 9]
    ]


def test_add_to_many_counts_an_id_older_than_a_full_timeline_although_trimmed_at_once(
    store: Store,
) -> None:
    store.id_timeline.add(FEED, [BIG + 5, BIG + 6])
    assert store.id_timeline.add_to_many([FEED], BIG, max_len=2) == 1  # ZADD said "new"
    assert store.id_timeline.newest(FEED, limit=5) == [BIG + 6, BIG + 5]


def test_add_to_many_writes_a_key_listed_twice_once(store: Store) -> None:
    store.id_timeline.add(FEED, [BIG + 5, BIG + 6])
    assert store.id_timeline.add_to_many([FEED, OTHER, FEED], BIG, max_len=2) == 2
    assert store.id_timeline.newest(FEED, limit=5) == [BIG + 6, BIG + 5]
    assert store.id_timeline.newest(OTHER, limit=5) == [BIG]


def test_many_key_calls_with_no_keys_do_nothing(store: Store) -> None:
    assert store.id_timeline.add_to_many([], BIG, max_len=3) == 0
    assert store.id_timeline.remove_from_many((), BIG) == 0
    assert store.id_timeline.newest_many([], limit=3) == []


def test_remove_from_many_counts_the_keys_that_held_it(store: Store) -> None:
    store.id_timeline.add_to_many(FOLLOWERS[:2], BIG)
    store.id_timeline.add(FOLLOWERS[0], [BIG + 1])
    assert store.id_timeline.remove_from_many([*FOLLOWERS, FOLLOWERS[0]], BIG) == 2
    assert store.id_timeline.newest_many(FOLLOWERS, limit=5) == [[BIG + 1], [], []]


def test_newest_many_answers_every_position_in_order_repeats_included(store: Store) -> None:
    store.id_timeline.add(FEED, [BIG + i for i in range(4)])
    store.id_timeline.add(OTHER, [BIG + 10])
    assert store.id_timeline.newest_many([OTHER, FEED, "feed:{0}", FEED], limit=2) == [
        [BIG + 10], [BIG + 3, BIG + 2], [], [BIG + 3, BIG + 2]
    ]


# ── only_existing: a fanout never creates a feed ──────────────────────────────────────────
# A cached feed is rebuilt from the database on a miss; a fanout that created a missing one
# would leave it holding one post and hiding everything older. So it skips absent keys.


def test_add_to_many_only_existing_leaves_absent_feeds_absent_and_counts_the_written(
    store: Store,
) -> None:
    store.id_timeline.add(FOLLOWERS[1], [BIG])
    assert store.id_timeline.add_to_many(FOLLOWERS, BIG + 1, only_existing=True) == 1
    assert store.id_timeline.newest_many(FOLLOWERS, limit=5) == [[], [BIG + 1, BIG], []]
    assert [store.id_timeline.size(key) for key in FOLLOWERS] == [0, 2, 0]
    assert store.kv.delete(FOLLOWERS[0], FOLLOWERS[2]) == 0  # no key was created


def test_add_to_many_only_existing_into_no_existing_feed_writes_nothing(store: Store) -> None:
    assert store.id_timeline.add_to_many(FOLLOWERS, BIG, max_len=3, only_existing=True) == 0
    assert store.id_timeline.newest_many(FOLLOWERS, limit=5) == [[], [], []]
    assert store.kv.delete(*FOLLOWERS) == 0


def test_add_to_many_only_existing_trims_each_existing_feed_to_its_newest_max_len(
    store: Store,
) -> None:
    store.id_timeline.add(FOLLOWERS[0], [BIG + 1, BIG + 2, BIG + 3])
    store.id_timeline.add(FOLLOWERS[2], [BIG + 1])
    assert store.id_timeline.add_to_many(FOLLOWERS, BIG + 9, max_len=2, only_existing=True) == 2
    assert store.id_timeline.newest_many(FOLLOWERS, limit=5) == [
        [BIG + 9, BIG + 3], [], [BIG + 9, BIG + 1]
    ]


def test_add_to_many_only_existing_counts_a_repeat_as_not_new_and_an_old_id_as_new(
    store: Store,
) -> None:
    store.id_timeline.add(FEED, [BIG + 5, BIG + 6])
    store.id_timeline.add(OTHER, [BIG + 1])
    assert store.id_timeline.add_to_many([FEED, OTHER], BIG + 1, only_existing=True) == 1
    assert store.id_timeline.add_to_many([FEED], BIG, max_len=2, only_existing=True) == 1
    assert store.id_timeline.newest_many([FEED, OTHER], limit=5) == [
        [BIG + 6, BIG + 5], [BIG + 1]
    ]


def test_add_to_many_only_existing_mixes_present_and_absent_keys_in_one_call(
    store: Store,
) -> None:
    keys = [f"feed:{{{user}}}" for user in range(10)]
    cached = keys[::3]  # users 0, 3, 6, 9 have a feed in cache; the others do not
    for key in cached:
        store.id_timeline.add(key, [BIG])
    assert store.id_timeline.add_to_many([*keys, keys[0], keys[1]], BIG + 2, max_len=5,
                                         only_existing=True) == len(cached)
    expected = [[BIG + 2, BIG] if key in cached else [] for key in keys]
    assert store.id_timeline.newest_many(keys, limit=5) == expected


def test_a_feed_emptied_by_removals_is_gone_so_only_existing_skips_it(store: Store) -> None:
    """Empty timelines vanish (as empty ZSETs do in Redis): an emptied feed reads as not
    cached, and the next miss rebuilds it."""
    store.id_timeline.add(FEED, [BIG])
    store.id_timeline.remove(FEED, BIG)
    assert store.id_timeline.add_to_many([FEED], BIG + 1, only_existing=True) == 0
    assert store.id_timeline.size(FEED) == 0


def test_add_to_many_without_only_existing_still_creates_feeds(store: Store) -> None:
    assert store.id_timeline.add_to_many(FOLLOWERS, BIG, only_existing=False) == 3
    assert store.id_timeline.newest_many(FOLLOWERS, limit=5) == [[BIG], [BIG], [BIG]]


def test_add_only_existing_writes_an_existing_feed_and_leaves_an_absent_one_absent(
    store: Store,
) -> None:
    store.id_timeline.add(FEED, [BIG + 5])
    assert store.id_timeline.add(FEED, [BIG + 7, BIG + 5, BIG + 6], only_existing=True) == 2
    assert store.id_timeline.add(OTHER, [BIG, BIG + 1], only_existing=True) == 0
    assert store.id_timeline.add(OTHER, [], only_existing=True) == 0
    assert store.id_timeline.newest_many([FEED, OTHER], limit=5) == [
        [BIG + 7, BIG + 6, BIG + 5], []
    ]
    assert store.kv.delete(OTHER) == 0


def test_add_to_many_only_existing_with_no_keys_does_nothing(store: Store) -> None:
    assert store.id_timeline.add_to_many([], BIG, max_len=3, only_existing=True) == 0


def test_only_existing_keeps_the_exact_order_of_ids_a_double_cannot_tell_apart(
    store: Store,
) -> None:
    store.id_timeline.add(FEED, [BIG + 2])
    for new_id in (BIG + 1, BIG + 3, BIG, TOP):
        store.id_timeline.add_to_many([FEED, OTHER], new_id, max_len=4, only_existing=True)
    assert store.id_timeline.newest(FEED, limit=5) == [TOP, BIG + 3, BIG + 2, BIG + 1]
    assert store.id_timeline.size(OTHER) == 0


# ── real Snowflake ids ────────────────────────────────────────────────────────────────────


def snowflake_ids(*, workers: int = 4, milliseconds: int = 5, per_ms: int = 200) -> list[int]:
    """Ids of several workers over several milliseconds, as a cluster issues them."""
    clock = FakeClock(start=1_767_225_600.0)  # 2026-01-01T00:00:00Z
    generators = [SnowflakeGenerator(clock, datacenter_id=1, worker_id=w) for w in range(workers)]
    ids: list[int] = []
    for _ in range(milliseconds):
        for generator in generators:
            ids += [generator.next_id() for _ in range(per_ms)]
        clock.advance(0.001)
    return ids


def test_real_snowflake_ids_page_down_and_sync_up_in_exact_order(store: Store) -> None:
    ids = snowflake_ids()
    ordered = sorted(ids)
    assert len(set(ids)) == len(ids) == 4000
    assert ordered[0] > 2**53  # beyond what a double holds exactly ...
    assert len({float(i) for i in ids}) < len(ids)  # ... so a score order would tie them
    assert any(b - a == 1 for a, b in pairwise(ordered))  # ids 1 apart
    shuffled = ids.copy()
    random.Random(11).shuffle(shuffled)
    for start in range(0, len(shuffled), 1000):
        assert store.id_timeline.add(FEED, shuffled[start : start + 1000]) == 1000

    walked_down: list[int] = []
    page = store.id_timeline.newest(FEED, limit=97)
    while page:
        walked_down += page
        page = store.id_timeline.newest(FEED, limit=97, before=page[-1])
    assert walked_down == ordered[::-1]

    walked_up: list[int] = []
    page = store.id_timeline.oldest_after(FEED, 0, limit=89)
    while page:
        walked_up += page
        page = store.id_timeline.oldest_after(FEED, page[-1], limit=89)
    assert walked_up == ordered


def test_pages_down_never_skip_or_repeat_while_newer_ids_arrive(store: Store) -> None:
    ids = sorted(snowflake_ids(workers=3, milliseconds=4, per_ms=25))
    shown, arriving = ids[:100], iter(ids[100:])  # every arriving id is newer than the feed
    store.id_timeline.add(FEED, shown)
    walked: list[int] = []
    page = store.id_timeline.newest(FEED, limit=7)
    while page:
        walked += page
        store.id_timeline.add(FEED, [next(arriving), next(arriving)])  # posted meanwhile
        page = store.id_timeline.newest(FEED, limit=7, before=page[-1])
    assert walked == shown[::-1]


def test_a_sync_walking_up_sees_every_id_that_arrives_meanwhile_once(store: Store) -> None:
    ids = sorted(snowflake_ids(workers=2, milliseconds=3, per_ms=20))
    store.id_timeline.add(FEED, ids[:40])
    arriving = iter(ids[40:])
    walked: list[int] = []
    page = store.id_timeline.oldest_after(FEED, 0, limit=9)
    while page:
        walked += page
        store.id_timeline.add(FEED, [i for i in (next(arriving, None),) if i is not None])
        page = store.id_timeline.oldest_after(FEED, page[-1], limit=9)
    assert walked == ids


# ── bad input and other kinds of key ──────────────────────────────────────────────────────

Call = Callable[[IdTimeline], object]

BAD_CALLS: list[tuple[Call, str]] = [
    (lambda t: t.add(FEED, [BIG, -1]), "ids"),
    (lambda t: t.add(FEED, [BIG, 2**63]), "ids"),
    (lambda t: t.add(FEED, [BIG, True]), "ids"),
    (lambda t: t.add(FEED, [BIG, float(BIG)]), "ids"),
    (lambda t: t.add(FEED, [BIG, "7"]), "ids"),  # type: ignore[list-item]
    (lambda t: t.add(FEED, "123"), "ids"),  # type: ignore[arg-type]
    (lambda t: t.add(FEED, None), "ids"),  # type: ignore[arg-type]
    (lambda t: t.add("", [BIG]), "key"),
    (lambda t: t.add_to_many([OTHER, ""], BIG), "keys"),
    (lambda t: t.add_to_many([OTHER, 7], BIG), "keys"),  # type: ignore[list-item]
    (lambda t: t.add_to_many(OTHER, BIG), "keys"),  # a bare str is not a list of keys
    (lambda t: t.add_to_many({OTHER}, BIG), "keys"),  # type: ignore[arg-type]
    (lambda t: t.add_to_many([OTHER], -1), "id"),
    (lambda t: t.add_to_many([OTHER], BIG, max_len=0), "max_len"),
    (lambda t: t.add_to_many([OTHER], BIG, max_len=True), "max_len"),
    (lambda t: t.add_to_many([OTHER], BIG, max_len=2**63), "max_len"),
    (lambda t: t.add_to_many([FEED], BIG + 2, max_len=0, only_existing=True), "max_len"),
    (lambda t: t.add_to_many([FEED, ""], BIG + 2, only_existing=True), "keys"),
    (lambda t: t.add_to_many([FEED], 2**63, only_existing=True), "id"),
    (lambda t: t.add(FEED, [BIG + 2, -1], only_existing=True), "ids"),
    (lambda t: t.remove(FEED, BIG, "x"), "ids"),  # type: ignore[arg-type]
    (lambda t: t.remove_from_many([FEED, OTHER], 2**63), "id"),
    (lambda t: t.remove_from_many([FEED, None], BIG), "keys"),  # type: ignore[list-item]
    (lambda t: t.newest(FEED, limit=0), "limit"),
    (lambda t: t.newest(FEED, limit=True), "limit"),
    (lambda t: t.newest(FEED, limit=3, before=-1), "before"),
    (lambda t: t.newest(FEED, limit=3, before=1.5), "before"),  # type: ignore[arg-type]
    (lambda t: t.oldest_after(FEED, -1, limit=3), "after"),
    (lambda t: t.oldest_after(FEED, BIG, limit=-1), "limit"),
    (lambda t: t.newest_many([FEED], limit=0), "limit"),
    (lambda t: t.newest_many(FEED, limit=1), "keys"),
    (lambda t: t.size(""), "key"),
    (lambda t: t.trim_to(FEED, -1), "max_len"),
    (lambda t: t.trim_to(FEED, 1.0), "max_len"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "name"), BAD_CALLS)
def test_bad_arguments_are_refused_by_name_before_anything_is_written(
    store: Store, call: Call, name: str
) -> None:
    store.id_timeline.add(FEED, [BIG, BIG + 1])
    with pytest.raises(InvalidArgument, match=name):
        call(store.id_timeline)
    assert store.id_timeline.newest_many([FEED, OTHER], limit=10) == [[BIG + 1, BIG], []]


def test_a_key_of_another_kind_is_a_conflict_both_ways(store: Store) -> None:
    store.kv.set("s:{1}", "not a timeline")
    store.lists.push("l:{1}", "item", max_len=5)
    store.id_timeline.add(FEED, [BIG])
    for key in ("s:{1}", "l:{1}"):
        with pytest.raises(Conflict, match="WRONGTYPE"):
            store.id_timeline.add(key, [BIG])
        with pytest.raises(Conflict, match="WRONGTYPE"):
            store.id_timeline.newest(key, limit=1)
        with pytest.raises(Conflict, match="WRONGTYPE"):
            store.id_timeline.newest_many([FEED, key], limit=1)
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.kv.get(FEED)
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.lists.push(FEED, "item", max_len=5)
    assert store.kv.get("s:{1}") == "not a timeline"
    assert store.lists.range("l:{1}", 0, -1) == ["item"]
    assert store.id_timeline.newest(FEED, limit=5) == [BIG]


def test_a_fanout_over_a_key_of_another_kind_writes_the_rest_then_raises(store: Store) -> None:
    store.kv.set("s:{1}", "not a timeline")
    with pytest.raises(Conflict, match=r"s:\{1\}.*WRONGTYPE"):
        store.id_timeline.add_to_many([FEED, "s:{1}", OTHER], BIG, max_len=3)
    assert store.id_timeline.newest_many([FEED, OTHER], limit=5) == [[BIG], [BIG]]
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.id_timeline.remove_from_many([FEED, "s:{1}", OTHER], BIG)
    assert store.id_timeline.newest_many([FEED, OTHER], limit=5) == [[], []]
    assert store.kv.get("s:{1}") == "not a timeline"


def test_a_fanout_to_existing_feeds_only_over_a_key_of_another_kind_writes_the_rest_then_raises(
    store: Store,
) -> None:
    """A key of another kind exists, so only_existing does not skip it: still a Conflict."""
    store.kv.set("s:{1}", "not a timeline")
    store.id_timeline.add(FEED, [BIG])
    with pytest.raises(Conflict, match=r"s:\{1\}.*WRONGTYPE"):
        store.id_timeline.add_to_many([FEED, "s:{1}", OTHER], BIG + 1, max_len=3,
                                      only_existing=True)
    assert store.id_timeline.newest_many([FEED, OTHER], limit=5) == [[BIG + 1, BIG], []]
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.id_timeline.add("s:{1}", [BIG], only_existing=True)
    store.lists.push("l:{1}", "item", max_len=5)
    with pytest.raises(Conflict, match=r"l:\{1\}.*WRONGTYPE"):
        store.id_timeline.add_to_many(["l:{1}", FEED], BIG + 2, only_existing=True)
    assert store.id_timeline.newest(FEED, limit=5) == [BIG + 2, BIG + 1, BIG]
    assert store.kv.get("s:{1}") == "not a timeline"
    assert store.lists.range("l:{1}", 0, -1) == ["item"]
    assert store.kv.delete(OTHER) == 0


def test_delete_removes_an_id_timeline_like_any_key(store: Store) -> None:
    store.id_timeline.add(FEED, [BIG])
    assert store.kv.delete(FEED) == 1
    assert store.id_timeline.size(FEED) == 0


def test_the_memory_backend_refuses_a_timeline_and_an_id_timeline_on_one_key() -> None:
    """On Redis both are ZSETs and the server cannot tell them apart (so never mix them);
    the memory backend keeps them apart and says so."""
    store = connect("memory", clock=FakeClock())
    store.timeline.add(FEED, {"post:1": 1.0})
    with pytest.raises(Conflict, match="sorted set"):
        store.id_timeline.add(FEED, [BIG])
    store.id_timeline.add(OTHER, [BIG])
    with pytest.raises(Conflict, match="id timeline"):
        store.timeline.size(OTHER)
