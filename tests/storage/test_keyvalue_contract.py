"""The KeyValue port: the same behaviour on every backend."""

from __future__ import annotations

import pytest

from reference.core.errors import Conflict, InvalidArgument
from reference.storage import KeyValue, Store


def test_every_backend_implements_the_key_value_port(store: Store) -> None:
    assert isinstance(store.kv, KeyValue)


def test_get_of_a_missing_key_is_none(store: Store) -> None:
    assert store.kv.get("user:{1}:name") is None


def test_set_then_get_returns_the_value_and_set_overwrites(store: Store) -> None:
    assert store.kv.set("user:{1}:name", "alice") is True
    assert store.kv.set("user:{1}:name", "alicia") is True
    assert store.kv.get("user:{1}:name") == "alicia"


def test_set_if_absent_writes_only_a_new_key(store: Store) -> None:
    assert store.kv.set("idem:{n1}", "first", if_absent=True) is True
    assert store.kv.set("idem:{n1}", "second", if_absent=True) is False
    assert store.kv.get("idem:{n1}") == "first"


def test_set_if_absent_treats_a_hash_key_as_present(store: Store) -> None:
    store.kv.hset("idem:{n1}", {"f": "v"})
    assert store.kv.set("idem:{n1}", "x", if_absent=True) is False
    assert store.kv.hgetall("idem:{n1}") == {"f": "v"}


def test_empty_string_is_a_value_not_a_missing_key(store: Store) -> None:
    store.kv.set("k:{1}", "")
    assert store.kv.get("k:{1}") == ""
    assert store.kv.set("k:{1}", "x", if_absent=True) is False


def test_delete_counts_only_keys_that_existed_strings_and_hashes_alike(store: Store) -> None:
    store.kv.set("a:{1}", "1")
    store.kv.hset("h:{1}", {"f": "v"})
    assert store.kv.delete("a:{1}", "h:{1}", "missing:{1}") == 2
    assert store.kv.get("a:{1}") is None
    assert store.kv.hgetall("h:{1}") == {}
    assert store.kv.delete() == 0


def test_hset_counts_new_fields_and_updates_old_ones(store: Store) -> None:
    assert store.kv.hset("contact:{7}", {"email": "a@x.io", "phone": "+1"}) == 2
    assert store.kv.hset("contact:{7}", {"email": "b@x.io", "apns": "tok"}) == 1
    assert store.kv.hgetall("contact:{7}") == {"email": "b@x.io", "phone": "+1", "apns": "tok"}


def test_hget_returns_a_field_or_none(store: Store) -> None:
    store.kv.hset("contact:{7}", {"email": "a@x.io"})
    assert store.kv.hget("contact:{7}", "email") == "a@x.io"
    assert store.kv.hget("contact:{7}", "phone") is None
    assert store.kv.hget("missing:{7}", "email") is None


def test_hdel_counts_removed_fields_and_an_emptied_hash_disappears(store: Store) -> None:
    store.kv.hset("contact:{7}", {"email": "a", "phone": "b"})
    assert store.kv.hdel("contact:{7}", "email", "nope") == 1
    assert store.kv.hdel("contact:{7}", "phone") == 1
    assert store.kv.hgetall("contact:{7}") == {}
    assert store.kv.delete("contact:{7}") == 0  # the key itself is gone
    assert store.kv.hdel("contact:{7}") == 0


def test_hset_with_an_empty_mapping_is_refused(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="mapping"):
        store.kv.hset("contact:{7}", {})


def test_hset_with_a_non_string_value_is_refused_and_writes_nothing(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="str"):
        store.kv.hset("contact:{7}", {"email": "a@x.io", "age": 42})  # type: ignore[dict-item]
    assert store.kv.hgetall("contact:{7}") == {}


@pytest.mark.parametrize("bad_key", ["", 42, None, b"bytes"])
def test_a_key_must_be_a_non_empty_string(store: Store, bad_key: object) -> None:
    with pytest.raises(InvalidArgument, match="key"):
        store.kv.set(bad_key, "v")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="key"):
        store.kv.get(bad_key)  # type: ignore[arg-type]


def test_set_refuses_a_non_string_value(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="value"):
        store.kv.set("k:{1}", 42)  # type: ignore[arg-type]
    assert store.kv.get("k:{1}") is None


def test_reading_a_hash_as_a_string_or_a_string_as_a_hash_is_a_conflict(store: Store) -> None:
    store.kv.hset("h:{1}", {"f": "v"})
    store.kv.set("s:{1}", "v")
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.kv.get("h:{1}")
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.kv.hget("s:{1}", "f")
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.kv.hset("s:{1}", {"f": "v"})
    assert store.kv.get("s:{1}") == "v"


def test_set_replaces_a_key_of_any_type(store: Store) -> None:
    store.kv.hset("k:{1}", {"f": "v"})
    assert store.kv.set("k:{1}", "now a string") is True
    assert store.kv.get("k:{1}") == "now a string"


def test_unicode_keys_fields_and_values_round_trip(store: Store) -> None:
    store.kv.hset("사용자:{1}", {"이름": "앨리스 🎉"})
    assert store.kv.hgetall("사용자:{1}") == {"이름": "앨리스 🎉"}


@pytest.mark.parametrize("bad_key", ["", 42, None, ["k"]])
def test_hash_reads_refuse_a_bad_key(store: Store, bad_key: object) -> None:
    with pytest.raises(InvalidArgument, match="key"):
        store.kv.hget(bad_key, "f")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="key"):
        store.kv.hgetall(bad_key)  # type: ignore[arg-type]


def test_hget_refuses_a_non_string_field_even_when_the_key_is_missing(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="field"):
        store.kv.hget("missing:{1}", 5)  # type: ignore[arg-type]
    store.kv.hset("h:{1}", {"f": "v"})
    with pytest.raises(InvalidArgument, match="field"):
        store.kv.hget("h:{1}", None)  # type: ignore[arg-type]


class _Text(str):
    """A str subclass: callers may pass one wherever a str is expected."""


def test_str_subclasses_are_plain_strings_to_every_operation(store: Store) -> None:
    assert store.kv.set(_Text("s:{1}"), _Text("v")) is True
    assert store.kv.get("s:{1}") == store.kv.get(_Text("s:{1}")) == "v"
    with pytest.raises(Conflict, match="WRONGTYPE"):
        store.kv.hget("s:{1}", "f")
    store.kv.hset(_Text("h:{1}"), {_Text("f"): _Text("v")})
    assert store.kv.hget(_Text("h:{1}"), _Text("f")) == "v"
    assert store.kv.hgetall(_Text("h:{1}")) == {"f": "v"}


# ── compare-and-set ────────────────────────────────────────────────────────────────────────


def test_compare_and_set_with_none_writes_only_an_absent_key(store: Store) -> None:
    assert store.kv.compare_and_set("idem:{n1}", None, "first") is True
    assert store.kv.compare_and_set("idem:{n1}", None, "second") is False
    assert store.kv.get("idem:{n1}") == "first"


def test_compare_and_set_writes_only_over_the_expected_value(store: Store) -> None:
    store.kv.set("idem:{n1}", "v1")
    assert store.kv.compare_and_set("idem:{n1}", "v0", "v2") is False  # someone else's value
    assert store.kv.get("idem:{n1}") == "v1"
    assert store.kv.compare_and_set("idem:{n1}", "v1", "v2") is True
    assert store.kv.get("idem:{n1}") == "v2"
    assert store.kv.compare_and_set("idem:{n1}", "v1", "v3") is False  # v1 is gone now
    assert store.kv.get("idem:{n1}") == "v2"


def test_compare_and_set_tells_the_empty_string_from_an_absent_key(store: Store) -> None:
    assert store.kv.compare_and_set("k:{1}", "", "x") is False  # absent is not ""
    assert store.kv.get("k:{1}") is None
    store.kv.set("k:{1}", "")
    assert store.kv.compare_and_set("k:{1}", None, "x") is False  # "" is present
    assert store.kv.compare_and_set("k:{1}", "", "x") is True
    assert store.kv.get("k:{1}") == "x"


def test_a_read_decide_write_loses_to_a_write_in_between_and_wins_on_a_fresh_read(
    store: Store,
) -> None:
    seen = store.kv.get("counter:{1}")
    store.kv.set("counter:{1}", "7")  # another writer, between our read and our write
    assert store.kv.compare_and_set("counter:{1}", seen, "1") is False
    fresh = store.kv.get("counter:{1}")
    assert store.kv.compare_and_set("counter:{1}", fresh, str(int(fresh or "0") + 1)) is True
    assert store.kv.get("counter:{1}") == "8"


def test_compare_and_set_on_a_hash_is_a_conflict_and_leaves_it(store: Store) -> None:
    store.kv.hset("h:{1}", {"f": "v"})
    with pytest.raises(Conflict, match=r"h:\{1\}.*WRONGTYPE"):  # the key, not the script
        store.kv.compare_and_set("h:{1}", None, "x")
    with pytest.raises(Conflict, match=r"h:\{1\}.*WRONGTYPE"):
        store.kv.compare_and_set("h:{1}", "v", "x")
    assert store.kv.hgetall("h:{1}") == {"f": "v"}


@pytest.mark.parametrize(
    ("key", "expected", "value", "named"),
    [("", None, "x", "key"), (7, None, "x", "key"), ("k:{1}", None, 5, "value"),
     ("k:{1}", 5, "x", "expected"), ("k:{1}", b"v", "x", "expected")],
)
def test_compare_and_set_refuses_bad_arguments_and_writes_nothing(
    store: Store, key: object, expected: object, value: object, named: str
) -> None:
    store.kv.set("k:{1}", "v")
    with pytest.raises(InvalidArgument, match=named):
        store.kv.compare_and_set(key, expected, value)  # type: ignore[arg-type]
    assert store.kv.get("k:{1}") == "v"


def test_compare_and_set_takes_str_subclasses_as_plain_strings(store: Store) -> None:
    store.kv.set("s:{1}", "v")
    assert store.kv.compare_and_set(_Text("s:{1}"), _Text("v"), _Text("w")) is True
    assert store.kv.get("s:{1}") == "w"
