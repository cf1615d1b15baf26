"""Round trips are countable: ``CommandRecorder.round_trips``, and every many-key call costs
exactly one, however many keys it touches (Redis backends; the memory backend sends none).

A call that runs a Lua script per key (``IdTimeline.add_to_many(..., only_existing=True)``)
sends it by its SHA (EVALSHA): one round trip once the server holds the script, three for
the very first call on a server that does not (NOSCRIPT, SCRIPT LOAD, the pipeline again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reference.core.errors import Conflict
from reference.storage import Store
from reference.storage.redis_lists import ADD_IF_EXISTS_LUA

BIG = 2**61


# ── what counts as a round trip ───────────────────────────────────────────────────────────


def test_a_command_sent_alone_is_one_round_trip(redis_store: Store) -> None:
    with redis_store.record_commands() as rec:
        redis_store.kv.set("k:{1}", "v")
        redis_store.kv.get("k:{1}")
    assert (len(rec), rec.round_trips) == (2, 2)


def test_a_pipeline_is_one_round_trip_however_many_commands_it_holds(redis_store: Store) -> None:
    client = redis_store.redis_client
    with redis_store.record_commands() as rec, client.pipeline(transaction=False) as pipe:
        for n in range(10):
            pipe.set(f"{redis_store.namespace}:k:{{{n}}}", "v")
        pipe.execute()
    assert (len(rec), rec.round_trips) == (10, 1)


def test_a_transaction_is_one_round_trip_multi_and_exec_included(redis_store: Store) -> None:
    key = f"{redis_store.namespace}:k:{{1}}"
    with redis_store.record_commands() as rec, redis_store.redis_client.pipeline() as pipe:
        pipe.set(key, "a").append(key, "b").get(key)
        assert pipe.execute()[-1] == "ab"
    assert [command[0] for command in rec.commands] == ["MULTI", "SET", "APPEND", "GET", "EXEC"]
    assert rec.round_trips == 1


def test_an_empty_pipeline_sends_nothing_and_costs_nothing(redis_store: Store) -> None:
    with redis_store.record_commands() as rec, redis_store.redis_client.pipeline() as pipe:
        assert pipe.execute() == []
    assert (len(rec), rec.round_trips) == (0, 0)


def test_an_optimistic_transaction_pays_for_its_watch_and_reads_one_by_one(
    redis_store: Store,
) -> None:
    key = f"{redis_store.namespace}:k:{{1}}"
    with redis_store.record_commands() as rec, redis_store.redis_client.pipeline() as pipe:
        pipe.watch(key)  # sent at once: one round trip
        seen = pipe.get(key)  # read while watching: one more
        pipe.multi()
        pipe.set(key, f"{seen}+1")
        pipe.execute()  # MULTI SET EXEC: one
    assert [command[0] for command in rec.commands] == ["WATCH", "GET", "MULTI", "SET", "EXEC"]
    assert rec.round_trips == 3


def test_nested_recorders_each_count_their_own_round_trips(redis_store: Store) -> None:
    with redis_store.record_commands() as outer:
        redis_store.kv.set("k:{1}", "v")
        with redis_store.record_commands() as inner:
            redis_store.kv.get_many(["k:{1}", "k:{2}", "k:{3}"])
    assert (outer.round_trips, len(outer)) == (2, 4)
    assert (inner.round_trips, len(inner)) == (1, 3)
    assert repr(inner) == "CommandRecorder(3 commands in 1 round trip: {'GET': 3})"


def test_subscribing_and_unsubscribing_are_a_round_trip_each(redis_store: Store) -> None:
    with redis_store.record_commands() as rec:
        subscription = redis_store.pubsub.subscribe("presence", "typing")
        subscription.close()
    assert rec.round_trips == 2


# ── every many-key call: ONE round trip, whatever the number of keys ─────────────────────

Many = Callable[[Store, list[str]], Any]

#: (call, commands sent per key, the kind of key to prepare)
MANY_KEY_CALLS: dict[str, tuple[Many, int, str]] = {
    "kv.get_many": (lambda s, keys: s.kv.get_many(keys), 1, "string"),
    "kv.set_many": (lambda s, keys: s.kv.set_many(dict.fromkeys(keys, "v")), 1, "string"),
    "kv.hgetall_many": (lambda s, keys: s.kv.hgetall_many(keys), 1, "hash"),
    "timeline.add_to_many": (lambda s, keys: s.timeline.add_to_many(keys, "p", 1.0), 1, "zset"),
    "timeline.add_to_many(max_len)": (
        lambda s, keys: s.timeline.add_to_many(keys, "p", 1.0, max_len=3), 2, "zset"),
    "id_timeline.add_to_many": (
        lambda s, keys: s.id_timeline.add_to_many(keys, BIG + 7), 1, "ids"),
    "id_timeline.add_to_many(max_len)": (
        lambda s, keys: s.id_timeline.add_to_many(keys, BIG + 7, max_len=3), 2, "ids"),
    "id_timeline.remove_from_many": (
        lambda s, keys: s.id_timeline.remove_from_many(keys, BIG), 1, "ids"),
    "id_timeline.newest_many": (
        lambda s, keys: s.id_timeline.newest_many(keys, limit=10), 1, "ids"),
    "id_timeline.add_to_many(only_existing)": (
        lambda s, keys: s.id_timeline.add_to_many(keys, BIG + 7, only_existing=True), 1, "ids"),
    "id_timeline.add_to_many(max_len, only_existing)": (
        lambda s, keys: s.id_timeline.add_to_many(keys, BIG + 7, max_len=3, only_existing=True),
        1, "ids"),  # the trim runs inside the script: still one EVALSHA per key
    "lists.push_to_many": (
        lambda s, keys: s.lists.push_to_many(keys, "p", max_len=3), 2, "list"),
    "lists.push_to_many(only_existing)": (
        lambda s, keys: s.lists.push_to_many(keys, "p", max_len=3, only_existing=True), 2,
        "list"),
    "lists.range_many": (lambda s, keys: s.lists.range_many(keys, 0, -1), 1, "list"),
    "lists.remove_from_many": (
        lambda s, keys: s.lists.remove_from_many(keys, "old"), 1, "list"),
}


def prepare(store: Store, keys: list[str], kind: str) -> None:
    """Give every key some content of its kind, so reads and removals have work to do."""
    for key in keys:
        if kind == "string":
            store.kv.set(key, "old")
        elif kind == "hash":
            store.kv.hset(key, {"f": "v"})
        elif kind == "zset":
            store.timeline.add(key, {"old": 0.0})
        elif kind == "ids":
            store.id_timeline.add(key, [BIG, BIG + 1])
        else:
            store.lists.push(key, "old", max_len=5)


@pytest.mark.parametrize("n_keys", [1, 3, 50])
@pytest.mark.parametrize("name", list(MANY_KEY_CALLS))
def test_every_many_key_call_costs_one_round_trip_whatever_the_number_of_keys(
    redis_store: Store, name: str, n_keys: int
) -> None:
    call, per_key, kind = MANY_KEY_CALLS[name]
    keys = [f"k:{{{user}}}" for user in range(n_keys)]  # one hash tag per key: any slot
    prepare(redis_store, keys, kind)
    redis_store.redis_client.script_load(ADD_IF_EXISTS_LUA.text)  # see the tests below
    with redis_store.record_commands() as rec:
        call(redis_store, keys)
    assert rec.round_trips == 1
    assert len(rec) == per_key * n_keys
    assert "MULTI" not in rec.counts()  # a plain pipeline: no transaction across slots


@pytest.mark.parametrize("name", list(MANY_KEY_CALLS))
def test_a_many_key_call_with_no_keys_sends_nothing(redis_store: Store, name: str) -> None:
    call, _, _ = MANY_KEY_CALLS[name]
    with redis_store.record_commands() as rec:
        call(redis_store, [])
    assert (len(rec), rec.round_trips) == (0, 0)


# ── a script per key: EVALSHA, and a server without the script loads it once ────────────


@pytest.mark.parametrize("n_keys", [1, 3, 50])
def test_a_fanout_to_existing_feeds_only_is_one_evalsha_per_key_in_one_round_trip(
    redis_store: Store, n_keys: int
) -> None:
    keys = [f"feed:{{{user}}}" for user in range(n_keys)]
    prepare(redis_store, keys[::2], "ids")  # every other feed cached, the rest absent
    redis_store.id_timeline.add_to_many(["warm:{0}"], BIG, only_existing=True)  # loads it
    with redis_store.record_commands() as rec:
        added = redis_store.id_timeline.add_to_many(keys, BIG + 7, max_len=3,
                                                    only_existing=True)
    assert added == len(keys[::2])
    assert (rec.round_trips, rec.counts()) == (1, {"EVALSHA": n_keys})
    assert rec.commands[0] == (
        "EVALSHA", ADD_IF_EXISTS_LUA.sha, "1", f"{redis_store.namespace}:feed:{{0}}",
        "-4", f"{BIG + 7:020d}",
    )


@pytest.mark.parametrize("n_keys", [1, 3, 50])
def test_the_first_fanout_on_a_server_without_the_script_costs_three_round_trips(
    redis_store: Store, n_keys: int
) -> None:
    """The script cache is empty on a fresh or restarted server (SCRIPT FLUSH does the
    same here: the backends reload the script, so flushing a test server is harmless).
    Every EVALSHA answers NOSCRIPT, which means nothing ran; one SCRIPT LOAD, then the
    same pipeline again. Later calls cost one round trip."""
    keys = [f"feed:{{{user}}}" for user in range(n_keys)]
    prepare(redis_store, keys[::2], "ids")
    redis_store.redis_client.script_flush()
    with redis_store.record_commands() as cold:
        added = redis_store.id_timeline.add_to_many(keys, BIG + 7, only_existing=True)
    assert added == len(keys[::2])  # each cached feed written once, not twice
    assert cold.round_trips == 3
    assert cold.counts() == {"EVALSHA": 2 * n_keys, "SCRIPT LOAD": 1}
    assert [command[0] for command in cold.commands][n_keys] == "SCRIPT LOAD"
    assert redis_store.id_timeline.newest_many(keys, limit=5) == [
        [BIG + 7, BIG + 1, BIG] if n % 2 == 0 else [] for n in range(n_keys)
    ]
    with redis_store.record_commands() as warm:
        redis_store.id_timeline.add_to_many(keys, BIG + 8, only_existing=True)
    assert (warm.round_trips, warm.counts()) == (1, {"EVALSHA": n_keys})


def test_a_single_feed_write_only_if_it_exists_is_one_evalsha(redis_store: Store) -> None:
    redis_store.id_timeline.add("f:{1}", [BIG])
    redis_store.redis_client.script_flush()
    with redis_store.record_commands() as cold:
        assert redis_store.id_timeline.add("f:{1}", [BIG + 1, BIG + 2], only_existing=True) == 2
    assert (cold.round_trips, cold.counts()) == (3, {"EVALSHA": 2, "SCRIPT LOAD": 1})
    with redis_store.record_commands() as warm:
        assert redis_store.id_timeline.add("f:{2}", [BIG], only_existing=True) == 0
    assert [command[0] for command in warm.commands] == ["EVALSHA"]
    assert warm.round_trips == 1


def test_a_reloaded_script_still_reports_a_key_of_another_kind_after_the_others(
    redis_store: Store,
) -> None:
    redis_store.id_timeline.add("f:{1}", [BIG])
    redis_store.kv.set("s:{1}", "not a timeline")
    redis_store.redis_client.script_flush()
    with pytest.raises(Conflict, match=r"EVALSHA .*s:\{1\}.*WRONGTYPE"):
        redis_store.id_timeline.add_to_many(["s:{1}", "f:{1}"], BIG + 1, only_existing=True)
    assert redis_store.id_timeline.newest("f:{1}", limit=5) == [BIG + 1, BIG]


# ── the single-key calls of the new ports: one native command (push: one MULTI/EXEC) ──────

One = Callable[[Store], Any]

SINGLE_KEY_CALLS: list[tuple[One, list[str]]] = [
    (lambda s: s.id_timeline.add("f:{1}", [BIG, BIG + 1]), ["ZADD"]),
    (lambda s: s.id_timeline.remove("f:{1}", BIG, BIG + 1), ["ZREM"]),
    (lambda s: s.id_timeline.newest("f:{1}", limit=5), ["ZREVRANGE"]),
    (lambda s: s.id_timeline.newest("f:{1}", limit=5, before=BIG), ["ZREVRANGEBYLEX"]),
    (lambda s: s.id_timeline.oldest_after("f:{1}", BIG, limit=5), ["ZRANGEBYLEX"]),
    (lambda s: s.id_timeline.size("f:{1}"), ["ZCARD"]),
    (lambda s: s.id_timeline.trim_to("f:{1}", 3), ["ZREMRANGEBYRANK"]),
    (lambda s: s.lists.push("l:{1}", "x", max_len=3), ["MULTI", "LPUSH", "LTRIM", "EXEC"]),
    (lambda s: s.lists.push("l:{1}", "x", max_len=3, only_existing=True),
     ["MULTI", "LPUSHX", "LTRIM", "EXEC"]),
    (lambda s: s.lists.range("l:{1}", 0, -1), ["LRANGE"]),
    (lambda s: s.lists.length("l:{1}"), ["LLEN"]),
    (lambda s: s.lists.remove("l:{1}", "x"), ["LREM"]),
]


@pytest.mark.parametrize(("call", "names"), SINGLE_KEY_CALLS)
def test_each_single_key_call_is_one_round_trip(
    redis_store: Store, call: One, names: list[str]
) -> None:
    with redis_store.record_commands() as rec:
        call(redis_store)
    assert [command[0] for command in rec.commands] == names
    assert rec.round_trips == 1


def test_a_page_below_a_cursor_is_one_lex_range_over_fixed_width_ids(redis_store: Store) -> None:
    redis_store.id_timeline.add("f:{1}", [BIG, BIG + 1, BIG + 2])
    with redis_store.record_commands() as rec:
        assert redis_store.id_timeline.newest("f:{1}", limit=2, before=BIG + 2) == [BIG + 1, BIG]
    assert rec.commands == [(
        "ZREVRANGEBYLEX", f"{redis_store.namespace}:f:{{1}}", f"({BIG + 2:020d}", "-",
        "LIMIT", "0", "2",
    )]
