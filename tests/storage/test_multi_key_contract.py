"""Many keys in one call on the KeyValue and Timeline ports: the same behaviour everywhere.

(The IdTimeline's and CappedList's many-key calls are in their own contract suites; what
each call costs in round trips is in ``test_round_trips.py``.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reference.core.errors import Conflict, InvalidArgument
from reference.storage import Store

POSTS = [f"post:{{{n}}}" for n in (1, 2, 3)]
FEEDS = [f"feed:{{{user}}}" for user in (7, 8, 9)]


# ── KeyValue.get_many / set_many / hgetall_many ───────────────────────────────────────────


def test_set_many_then_get_many_answers_in_key_order_none_where_absent(store: Store) -> None:
    assert store.kv.set_many({POSTS[0]: "hello", POSTS[2]: ""}) is None
    assert store.kv.get_many([POSTS[2], POSTS[1], POSTS[0]]) == ["", None, "hello"]


def test_get_many_answers_a_key_listed_twice_twice(store: Store) -> None:
    store.kv.set(POSTS[0], "hello")
    assert store.kv.get_many([POSTS[0], POSTS[1], POSTS[0]]) == ["hello", None, "hello"]


def test_set_many_overwrites_strings_and_replaces_keys_of_any_kind(store: Store) -> None:
    store.kv.set(POSTS[0], "old")
    store.kv.hset(POSTS[1], {"f": "v"})
    store.id_timeline.add(POSTS[2], [2**61])
    store.kv.set_many({POSTS[0]: "new", POSTS[1]: "now a string", POSTS[2]: "me too"})
    assert store.kv.get_many(POSTS) == ["new", "now a string", "me too"]


def test_hgetall_many_answers_every_hash_in_order_empty_where_absent(store: Store) -> None:
    store.kv.hset("user:{1}", {"name": "ada"})
    store.kv.hset("user:{3}", {"name": "grace", "lang": "cobol"})
    assert store.kv.hgetall_many(["user:{3}", "user:{2}", "user:{1}", "user:{3}"]) == [
        {"name": "grace", "lang": "cobol"}, {}, {"name": "ada"}, {"name": "grace", "lang": "cobol"}
    ]


def test_many_key_calls_with_no_keys_do_nothing(store: Store) -> None:
    assert store.kv.get_many([]) == []
    assert store.kv.hgetall_many(()) == []
    assert store.kv.set_many({}) is None
    assert store.timeline.add_to_many([], "post:1", 1.0, max_len=3) == 0


def test_reading_a_key_of_another_kind_in_a_batch_is_a_conflict(store: Store) -> None:
    store.kv.hset(POSTS[1], {"f": "v"})
    store.kv.set(POSTS[0], "s")
    with pytest.raises(Conflict, match=r"post:\{2\}.*WRONGTYPE"):
        store.kv.get_many(POSTS)
    with pytest.raises(Conflict, match=r"post:\{1\}.*WRONGTYPE"):
        store.kv.hgetall_many(POSTS)


def test_str_subclasses_are_plain_strings_to_the_batch_calls(store: Store) -> None:
    class Text(str):
        pass

    store.kv.set_many({Text(POSTS[0]): Text("v")})
    assert store.kv.get_many([Text(POSTS[0])]) == ["v"]


# ── Timeline.add_to_many ──────────────────────────────────────────────────────────────────


def test_add_to_many_adds_one_member_to_every_feed_and_counts_the_new(store: Store) -> None:
    store.timeline.add(FEEDS[1], {"post:1": 5.0})  # there already (its score is updated)
    assert store.timeline.add_to_many(FEEDS, "post:1", 10.0) == 2
    for feed in FEEDS:
        assert store.timeline.range_by_rank(feed, 0, -1) == [("post:1", 10.0)]


def test_add_to_many_trims_each_feed_to_its_max_len_highest(store: Store) -> None:
    store.timeline.add(FEEDS[0], {"a": 1.0, "b": 2.0, "c": 3.0})
    assert store.timeline.add_to_many(FEEDS[:2], "d", 4.0, max_len=2) == 2
    assert [m for m, _ in store.timeline.range_by_rank(FEEDS[0], 0, -1)] == ["c", "d"]
    assert [m for m, _ in store.timeline.range_by_rank(FEEDS[1], 0, -1)] == ["d"]


def test_add_to_many_counts_a_member_below_a_full_feed_although_trimmed_at_once(
    store: Store,
) -> None:
    store.timeline.add(FEEDS[0], {"a": 5.0, "b": 6.0})
    assert store.timeline.add_to_many([FEEDS[0]], "old", 1.0, max_len=2) == 1
    assert [m for m, _ in store.timeline.range_by_rank(FEEDS[0], 0, -1)] == ["a", "b"]


def test_add_to_many_writes_a_key_listed_twice_once(store: Store) -> None:
    store.timeline.add(FEEDS[0], {"a": 5.0, "b": 6.0})
    assert store.timeline.add_to_many([FEEDS[0], FEEDS[1], FEEDS[0]], "old", 1.0,
                                      max_len=2) == 2
    assert store.timeline.size(FEEDS[0]) == 2
    assert store.timeline.size(FEEDS[1]) == 1


def test_add_to_many_over_a_key_of_another_kind_writes_the_rest_then_raises(
    store: Store,
) -> None:
    store.kv.set("s:{1}", "not a feed")
    with pytest.raises(Conflict, match=r"s:\{1\}.*WRONGTYPE"):
        store.timeline.add_to_many([FEEDS[0], "s:{1}", FEEDS[1]], "post:1", 1.0, max_len=5)
    assert store.timeline.score(FEEDS[0], "post:1") == store.timeline.score(FEEDS[1], "post:1")
    assert store.timeline.score(FEEDS[1], "post:1") == 1.0
    assert store.kv.get("s:{1}") == "not a feed"


# ── bad input: refused before anything is written ─────────────────────────────────────────

Call = Callable[[Store], object]

BAD_CALLS: list[tuple[Call, str]] = [
    (lambda s: s.kv.get_many(POSTS[0]), "keys"),  # a bare str is not a list of keys
    (lambda s: s.kv.get_many([POSTS[0], ""]), "keys"),
    (lambda s: s.kv.get_many(None), "keys"),  # type: ignore[arg-type]
    (lambda s: s.kv.hgetall_many([POSTS[0], 5]), "keys"),  # type: ignore[list-item]
    (lambda s: s.kv.hgetall_many({POSTS[0]}), "keys"),  # type: ignore[arg-type]
    (lambda s: s.kv.set_many({POSTS[1]: "v", POSTS[2]: 5}), "mapping"),  # type: ignore[dict-item]
    (lambda s: s.kv.set_many({POSTS[1]: "v", "": "v"}), "mapping"),
    (lambda s: s.kv.set_many({POSTS[1]: "v", 7: "v"}), "mapping"),  # type: ignore[dict-item]
    (lambda s: s.kv.set_many([(POSTS[1], "v")]), "mapping"),  # type: ignore[arg-type]
    (lambda s: s.timeline.add_to_many([FEEDS[1], ""], "m", 1.0), "keys"),
    (lambda s: s.timeline.add_to_many(FEEDS[1], "m", 1.0), "keys"),
    (lambda s: s.timeline.add_to_many([FEEDS[1]], 5, 1.0), "member"),  # type: ignore[arg-type]
    (lambda s: s.timeline.add_to_many([FEEDS[1]], "m", 2.0**60), "score"),
    (lambda s: s.timeline.add_to_many([FEEDS[1]], "m", float("nan")), "score"),
    (lambda s: s.timeline.add_to_many([FEEDS[1]], "m", 1.0, max_len=0), "max_len"),
    (lambda s: s.timeline.add_to_many([FEEDS[1]], "m", 1.0, max_len=1.5), "max_len"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "name"), BAD_CALLS)
def test_bad_arguments_are_refused_by_name_before_anything_is_written(
    store: Store, call: Call, name: str
) -> None:
    store.kv.set(POSTS[0], "kept")
    store.timeline.add(FEEDS[0], {"kept": 1.0})
    with pytest.raises(InvalidArgument, match=name):
        call(store)
    assert store.kv.get_many(POSTS) == ["kept", None, None]
    assert [store.timeline.size(feed) for feed in FEEDS] == [1, 0, 0]
