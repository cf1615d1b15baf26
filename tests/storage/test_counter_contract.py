"""The Counter port: the same behaviour on every backend."""

from __future__ import annotations

import threading

import pytest

from reference.core.errors import Conflict, InvalidArgument
from reference.storage import Counter, Store

KEY = "seq:{general}"
INT64_MAX = 2**63 - 1


def test_every_backend_implements_the_counter_port(store: Store) -> None:
    assert isinstance(store.counter, Counter)


def test_a_missing_counter_reads_zero_and_first_incr_returns_one(store: Store) -> None:
    assert store.counter.get(KEY) == 0
    assert store.counter.incr(KEY) == 1
    assert store.counter.get(KEY) == 1


def test_incr_adds_any_amount_including_negative_and_zero(store: Store) -> None:
    assert store.counter.incr(KEY, 10) == 10
    assert store.counter.incr(KEY, -15) == -5
    assert store.counter.incr(KEY, 0) == -5
    assert store.counter.get(KEY) == -5


def test_a_counter_is_a_decimal_string_shared_with_the_key_value_port(store: Store) -> None:
    store.counter.incr(KEY, 41)
    assert store.kv.get(KEY) == "41"
    store.kv.set(KEY, "99")
    assert store.counter.incr(KEY) == 100


def test_concurrent_increments_from_threads_are_never_lost(store: Store) -> None:
    threads_n, each_n = 4, 50

    def hammer() -> None:
        for _ in range(each_n):
            store.counter.incr(KEY)

    threads = [threading.Thread(target=hammer) for _ in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.counter.get(KEY) == threads_n * each_n


def test_incr_on_a_non_integer_string_is_a_conflict_and_leaves_it(store: Store) -> None:
    store.kv.set(KEY, "twelve")
    with pytest.raises(Conflict):
        store.counter.incr(KEY)
    with pytest.raises(Conflict):
        store.counter.get(KEY)
    assert store.kv.get(KEY) == "twelve"


def test_incr_on_a_hash_is_a_conflict(store: Store) -> None:
    store.kv.hset(KEY, {"f": "1"})
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.counter.incr(KEY)


def test_overflowing_a_signed_64_bit_counter_is_refused_and_leaves_it(store: Store) -> None:
    store.counter.incr(KEY, INT64_MAX)
    with pytest.raises(InvalidArgument, match="64-bit"):
        store.counter.incr(KEY, 1)
    assert store.counter.get(KEY) == INT64_MAX


@pytest.mark.parametrize("bad_amount", [1.5, True, "1", 2**63, None])
def test_the_amount_must_be_a_64_bit_int(store: Store, bad_amount: object) -> None:
    with pytest.raises(InvalidArgument, match="amount"):
        store.counter.incr(KEY, bad_amount)  # type: ignore[arg-type]
    assert store.counter.get(KEY) == 0


def test_get_many_answers_every_key_in_order_with_zero_for_missing(store: Store) -> None:
    store.counter.incr("likes:{1}", 3)
    store.counter.incr("likes:{2}", -2)
    assert store.counter.get_many(["likes:{2}", "likes:{9}", "likes:{1}", "likes:{1}"]) == [
        -2, 0, 3, 3]
    assert store.counter.get_many([]) == []


def test_get_many_of_a_non_integer_is_a_conflict_and_a_bare_str_is_refused(store: Store) -> None:
    store.kv.set("text:{1}", "hello")
    with pytest.raises(Conflict, match="not an integer"):
        store.counter.get_many(["text:{1}"])
    with pytest.raises(InvalidArgument, match="keys"):
        store.counter.get_many("likes:{1}")  # type: ignore[arg-type]


def test_get_many_is_one_round_trip_however_many_keys(store: Store) -> None:
    if store.backend == "memory":
        pytest.skip("the memory backend sends no commands")
    keys = [f"likes:{{{i}}}" for i in range(50)]
    with store.record_commands() as recorded:
        assert store.counter.get_many(keys) == [0] * 50
    assert recorded.round_trips == 1
