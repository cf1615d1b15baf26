"""Plain-Python backends for the key-value, timeline, counter and pub/sub ports.

Fast (no network, no serialisation) and used for large simulations. One :class:`Keyspace`
holds strings, hashes, sorted sets, id timelines and capped lists side by side, as one Redis
database does, so the same mistakes fail the same way: reading a hash as a string raises
:class:`~reference.core.errors.Conflict` here just as Redis answers ``WRONGTYPE``, and a
counter is a decimal string that :meth:`MemoryKeyValue.get` can read.

The work queue lives in :mod:`reference.storage.memory_queue`; the id timeline and the
capped list in :mod:`reference.storage.memory_lists`. A ``*_many`` call applies its step
key by key as a Redis pipeline does (:func:`for_each_key`): a key of another kind does not
stop the others, and its Conflict is raised at the end.

Argument checks are those of :mod:`reference.storage.checks`, so bad input fails as on every
backend. The hottest calls (``get``, ``set``, ``hget``, ``hgetall``) first test the common
case inline (``type(key) is str and key``) and call the shared check only when that test
fails; the check then raises the standard error (or accepts, say, a ``str`` subclass). That
saves a function call per argument, which costs about as much as the dict lookup it guards.

Examples
--------
>>> space = Keyspace()
>>> kv, timeline, counter = MemoryKeyValue(space), MemoryTimeline(space), MemoryCounter(space)
>>> kv.set("idem:{n1}", "sent", if_absent=True), kv.set("idem:{n1}", "again", if_absent=True)
(True, False)
>>> timeline.add("feed:{42}", {"post:1": 10, "post:2": 20, "post:3": 30})
3
>>> timeline.range_by_rank("feed:{42}", 0, 1, descending=True)
[('post:3', 30.0), ('post:2', 20.0)]
>>> counter.incr("seq:{general}"), counter.incr("seq:{general}", 5), kv.get("seq:{general}")
(1, 6, '6')
>>> bus = MemoryPubSub()
>>> sub = bus.subscribe("presence")
>>> bus.publish("presence", "alice:online"), bus.publish("other", "ignored")
(1, 0)
>>> sub.get_messages()
[('presence', 'alice:online')]
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from reference.core.errors import Conflict, InvalidArgument
from reference.storage.checks import (
    INT64_MAX,
    INT64_MIN,
    check_bound,
    check_count,
    check_int,
    check_key,
    check_key_list,
    check_keys,
    check_score,
    check_seconds,
    check_str,
    check_str_mapping,
    check_value_mapping,
    check_window_add,
)
from reference.storage.ports import WindowAdd
from reference.storage.sorted_set import SortedSet

__all__ = [
    "Keyspace",
    "MemoryCounter",
    "MemoryKeyValue",
    "MemoryPubSub",
    "MemorySubscription",
    "MemoryTimeline",
    "for_each_key",
]

T = TypeVar("T")
#: list[int] is an IdTimeline (a sorted list of ids), deque[str] a CappedList
Value = str | dict[str, str] | SortedSet | list[int] | deque[str]
_KIND = {str: "a string", dict: "a hash", SortedSet: "a sorted set", list: "an id timeline",
         deque: "a list"}
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


def _wrong_type(key: str, value: Value, kind: type[Value]) -> Conflict:
    held = next(name for held_kind, name in _KIND.items() if isinstance(value, held_kind))
    return Conflict(f"key {key!r} holds {held}, not {_KIND[kind]} (WRONGTYPE)")


def for_each_key(keys: Iterable[str], step: Callable[[str], T]) -> list[T]:
    """``step(key)`` for every key, in order, as a Redis pipeline runs its commands: a key of
    another kind (Conflict) does not stop the others; the first Conflict is raised after
    the last key, so every backend leaves the same keys written."""
    results: list[T] = []
    refused: Conflict | None = None
    for key in keys:
        try:
            results.append(step(key))
        except Conflict as err:
            refused = refused or err
    if refused is not None:
        raise refused
    return results


class Keyspace:
    """One database: key -> string, hash, sorted set, id timeline (a sorted ``list`` of ints)
    or capped list (a ``deque``). Empty hashes, sets, timelines and lists vanish.

    ``lock`` makes read-modify-write steps (a counter's increment) atomic across threads.
    """

    __slots__ = ("data", "lock")

    def __init__(self) -> None:
        self.data: dict[str, Value] = {}
        self.lock = threading.Lock()

    def get_as(self, key: str, kind: type[Value]) -> Value | None:
        """The value at ``key`` if it has type ``kind``; None if absent; Conflict otherwise."""
        value = self.data.get(key)
        if value is not None and not isinstance(value, kind):
            raise _wrong_type(key, value, kind)
        return value

    def hash(self, key: str) -> dict[str, str] | None:
        value = self.data.get(key)
        if value is None or isinstance(value, dict):
            return value
        raise _wrong_type(key, value, dict)

    def zset(self, key: str) -> SortedSet | None:
        value = self.data.get(key)
        if value is None or isinstance(value, SortedSet):
            return value
        raise _wrong_type(key, value, SortedSet)

    def string(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        raise _wrong_type(key, value, str)

    def ids(self, key: str) -> list[int] | None:
        """The id timeline at ``key``: ids in ascending order."""
        value = self.data.get(key)
        if value is None or isinstance(value, list):
            return value
        raise _wrong_type(key, value, list)

    def capped(self, key: str) -> deque[str] | None:
        """The capped list at ``key``: newest first."""
        value = self.data.get(key)
        if value is None or isinstance(value, deque):
            return value
        raise _wrong_type(key, value, deque)

    def clear(self) -> None:
        self.data.clear()


class MemoryKeyValue:
    """Strings and hashes in a :class:`Keyspace`. Every operation is O(1) per key or field
    (``*_many``: per key)."""

    __slots__ = ("_space",)

    def __init__(self, space: Keyspace) -> None:
        self._space = space

    def get(self, key: str) -> str | None:
        if type(key) is not str or not key:
            check_key("key", key)
        value = self._space.data.get(key)  # Keyspace.string(), inlined
        if value is None or isinstance(value, str):
            return value
        raise _wrong_type(key, value, str)

    def set(self, key: str, value: str, *, if_absent: bool = False) -> bool:
        if type(key) is not str or not key:
            check_key("key", key)
        if type(value) is not str:
            check_str("value", value)
        data = self._space.data
        if if_absent and key in data:
            return False
        data[key] = value
        return True

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        if type(key) is not str or not key:
            check_key("key", key)
        if expected is not None and type(expected) is not str:
            check_str("expected", expected)
        if type(value) is not str:
            check_str("value", value)
        data = self._space.data
        with self._space.lock:
            current = data.get(key)
            if current is not None and not isinstance(current, str):
                raise _wrong_type(key, current, str)
            if current != expected:
                return False
            data[key] = value
        return True

    def delete(self, *keys: str) -> int:
        return sum(self._space.data.pop(key, None) is not None for key in check_keys("key", keys))

    def hset(self, key: str, mapping: Mapping[str, str]) -> int:
        check_key("key", key)
        fields = check_str_mapping("mapping", mapping)
        current = self._space.hash(key)
        if current is None:
            current = self._space.data[key] = {}
        new = sum(field not in current for field in fields)
        current.update(fields)
        return new

    def hget(self, key: str, field: str) -> str | None:
        if type(key) is not str or not key:
            check_key("key", key)
        if type(field) is not str:
            check_str("field", field)
        current = self._space.hash(key)
        return None if current is None else current.get(field)

    def hgetall(self, key: str) -> dict[str, str]:
        if type(key) is not str or not key:
            check_key("key", key)
        current = self._space.data.get(key)  # Keyspace.hash(), inlined
        if current is None:
            return {}
        if not isinstance(current, dict):
            raise _wrong_type(key, current, dict)
        return current.copy()

    def hdel(self, key: str, *fields: str) -> int:
        check_key("key", key)
        for field in fields:
            check_str("field", field)
        current = self._space.hash(key) if fields else None
        if current is None:
            return 0
        removed = sum(current.pop(field, None) is not None for field in fields)
        if not current:
            del self._space.data[key]
        return removed

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        return [self.get(key) for key in check_key_list("keys", keys)]

    def set_many(self, mapping: Mapping[str, str]) -> None:
        self._space.data.update(check_value_mapping("mapping", mapping))

    def hgetall_many(self, keys: Sequence[str]) -> list[dict[str, str]]:
        return [self.hgetall(key) for key in check_key_list("keys", keys)]


class MemoryTimeline:
    """Sorted sets in a :class:`Keyspace` (see :class:`~reference.storage.sorted_set.SortedSet`).

    Notes
    -----
    ``add`` is O(log n + n) per member (list insert), reads are O(log n + k).
    """

    __slots__ = ("_space",)

    def __init__(self, space: Keyspace) -> None:
        self._space = space

    def add(self, key: str, members: Mapping[str, float]) -> int:
        check_key("key", key)
        if not isinstance(members, Mapping) or not members:
            raise InvalidArgument.bad_value("members", members, "a non-empty mapping")
        checked = {
            check_str("member", member): check_score("score", score)
            for member, score in members.items()
        }
        zset = self._space.zset(key)
        if zset is None:
            zset = SortedSet()
            self._space.data[key] = zset
        return sum(zset.add(member, score) for member, score in checked.items())

    def remove(self, key: str, *members: str) -> int:
        check_key("key", key)
        for member in members:
            check_str("member", member)
        zset = self._space.zset(key) if members else None
        if zset is None:
            return 0
        removed = sum(zset.discard(member) for member in members)
        self._drop_if_empty(key, zset)
        return removed

    def size(self, key: str) -> int:
        zset = self._space.zset(check_key("key", key))
        return 0 if zset is None else len(zset)

    def score(self, key: str, member: str) -> float | None:
        zset = self._space.zset(check_key("key", key))
        return None if zset is None else zset.score(check_str("member", member))

    def range_by_rank(
        self, key: str, start: int, stop: int, *, descending: bool = False
    ) -> list[tuple[str, float]]:
        check_key("key", key)
        check_int("start", start, INT64_MIN, INT64_MAX)
        check_int("stop", stop, INT64_MIN, INT64_MAX)
        zset = self._space.zset(key)
        return [] if zset is None else zset.by_rank(start, stop, descending=descending)

    def range_by_score(
        self,
        key: str,
        min_score: float,
        max_score: float,
        *,
        min_exclusive: bool = False,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, float]]:
        check_key("key", key)
        low, high = check_bound("min_score", min_score), check_bound("max_score", max_score)
        if limit is not None:
            check_int("limit", limit, 0)
        zset = self._space.zset(key)
        if zset is None:
            return []
        return zset.by_score(
            low, high, min_exclusive=min_exclusive, descending=descending, limit=limit
        )

    def trim_to(self, key: str, max_len: int) -> int:
        check_key("key", key)
        check_count("max_len", max_len, 0)
        zset = self._space.zset(key)
        if zset is None:
            return 0
        removed = zset.remove_lowest(max(0, len(zset) - max_len))
        self._drop_if_empty(key, zset)
        return removed

    def add_to_many(
        self, keys: Sequence[str], member: str, score: float, *, max_len: int | None = None
    ) -> int:
        unique = dict.fromkeys(check_key_list("keys", keys))
        entry = {check_str("member", member): check_score("score", score)}
        if max_len is not None:
            check_count("max_len", max_len, 1)

        def step(key: str) -> int:
            added = self.add(key, entry)
            if max_len is not None:
                self.trim_to(key, max_len)
            return added

        return sum(for_each_key(unique, step))

    def add_within_limit(
        self, key: str, score: float, *, window: float, limit: int
    ) -> WindowAdd:
        check_key("key", key)
        score, window, limit = check_window_add(score, window, limit)
        with self._space.lock:
            zset = self._space.zset(key)
            if zset is None:
                zset = SortedSet()
                self._space.data[key] = zset
            highest = zset.by_rank(-1, -1)
            at = max(score, highest[0][1]) if highest else score
            trimmed = zset.remove_lowest(len(zset.by_score(float("-inf"), at - window)))
            size = len(zset)
            added = size < limit
            if added:
                n = size
                while zset.score(f"{at:.17g}#{n}") is not None:  # a name another writer took
                    n += 1
                zset.add(f"{at:.17g}#{n}", at)
                size += 1
            lowest = zset.by_rank(0, 0)  # never empty: an empty window always takes the add
        return WindowAdd(added, at, size, trimmed, lowest[0][1] if lowest else None)

    def _drop_if_empty(self, key: str, zset: SortedSet) -> None:
        if not zset:
            del self._space.data[key]


class MemoryCounter:
    """Integer counters stored as decimal strings, like Redis INCRBY. O(1), thread-safe."""

    __slots__ = ("_space",)

    def __init__(self, space: Keyspace) -> None:
        self._space = space

    def incr(self, key: str, amount: int = 1) -> int:
        check_key("key", key)
        check_int("amount", amount, INT64_MIN, INT64_MAX)
        with self._space.lock:
            value = self.get(key) + amount
            if not INT64_MIN <= value <= INT64_MAX:
                raise InvalidArgument.bad_value(
                    "amount", amount, f"an amount that keeps {key!r} within a signed 64-bit integer"
                )
            self._space.data[key] = str(value)
            return value

    def get(self, key: str) -> int:
        text = self._space.string(check_key("key", key))
        if text is None:
            return 0
        if not _INTEGER.fullmatch(text) or not INT64_MIN <= int(text) <= INT64_MAX:
            raise Conflict(f"key {key!r} holds {text!r}, not an integer")
        return int(text)

    def get_many(self, keys: Sequence[str]) -> list[int]:
        return [self.get(key) for key in check_key_list("keys", keys)]


class MemorySubscription:
    """An inbox: ``publish`` appends, :meth:`get_messages` drains. Closing drops the rest."""

    __slots__ = ("_bus", "_inbox", "channels", "closed")

    def __init__(self, bus: MemoryPubSub, channels: tuple[str, ...]) -> None:
        self._bus = bus
        self._inbox: deque[tuple[str, str]] = deque()
        self.channels = channels
        self.closed = False

    def deliver(self, channel: str, message: str) -> None:
        self._inbox.append((channel, message))

    def get_messages(self, *, timeout_s: float = 0.0) -> list[tuple[str, str]]:
        """Everything received so far; never waits (nothing can arrive meanwhile)."""
        check_seconds("timeout_s", timeout_s)
        drained = list(self._inbox)
        self._inbox.clear()
        return drained

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus.unsubscribe(self)
            self._inbox.clear()


class MemoryPubSub:
    """Channels -> current subscriptions. ``publish`` is O(subscribers)."""

    __slots__ = ("_subscribers",)

    def __init__(self) -> None:
        self._subscribers: dict[str, list[MemorySubscription]] = {}

    def publish(self, channel: str, message: str) -> int:
        check_key("channel", channel)
        check_str("message", message)
        receivers = self._subscribers.get(channel, [])
        for subscription in receivers:
            subscription.deliver(channel, message)
        return len(receivers)

    def subscribe(self, *channels: str) -> MemorySubscription:
        if not channels:
            raise InvalidArgument.bad_value("channels", channels, "at least one channel")
        unique = tuple(dict.fromkeys(check_keys("channel", channels)))
        subscription = MemorySubscription(self, unique)
        for channel in unique:
            self._subscribers.setdefault(channel, []).append(subscription)
        return subscription

    def unsubscribe(self, subscription: MemorySubscription) -> None:
        for channel in subscription.channels:
            remaining = [s for s in self._subscribers.get(channel, []) if s is not subscription]
            if remaining:
                self._subscribers[channel] = remaining
            else:
                self._subscribers.pop(channel, None)

    def close_all(self) -> None:
        for subscriptions in list(self._subscribers.values()):
            for subscription in list(subscriptions):
                subscription.close()
