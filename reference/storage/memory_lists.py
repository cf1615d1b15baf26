"""Plain-Python backends for the IdTimeline and CappedList ports.

Both live in the shared :class:`~reference.storage.memory.Keyspace`, beside strings, hashes
and sorted sets, so a key of another kind is a Conflict here just as Redis answers
``WRONGTYPE``, ``KeyValue.delete`` removes them and ``Store.flush`` empties them. An id
timeline is a sorted ``list`` of ints (bisect); a capped list is a ``deque`` of strings,
newest at the left. Every call holds the keyspace lock, so a read never sees half a write.

Examples
--------
>>> from reference.storage.memory import Keyspace
>>> space = Keyspace()
>>> ids, lists = MemoryIdTimeline(space), MemoryCappedList(space)
>>> ids.add("feed:{42}", [2**61 + 1, 2**61, 2**61 + 2])  # three ids a double cannot tell apart
3
>>> ids.newest("feed:{42}", limit=2)
[2305843009213693954, 2305843009213693953]
>>> ids.newest("feed:{42}", limit=2, before=2305843009213693953)
[2305843009213693952]
>>> lists.push("home:{42}", "tweet:1", max_len=2), lists.push("home:{42}", "tweet:2", max_len=2)
(1, 2)
>>> lists.push("home:{42}", "tweet:3", max_len=2), lists.range("home:{42}", 0, -1)
(2, ['tweet:3', 'tweet:2'])
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import islice

from reference.core.errors import InvalidArgument
from reference.storage.checks import (
    INT64_MAX,
    INT64_MIN,
    check_count,
    check_id,
    check_ids,
    check_int,
    check_key,
    check_key_list,
    check_str,
)
from reference.storage.memory import Keyspace, for_each_key

__all__ = ["MemoryCappedList", "MemoryIdTimeline"]


def _check_max_len(max_len: int | None) -> int | None:
    return None if max_len is None else check_count("max_len", max_len, 1)


class MemoryIdTimeline:
    """Id timelines in a :class:`~reference.storage.memory.Keyspace`: ascending ``list[int]``.

    Notes
    -----
    Finding an id is O(log n) (bisect); inserting or removing one also shifts the list,
    O(n) but a C memmove, fast for the thousands of ids a feed keeps. Pages are
    O(log n + k): the costs Redis' skiplist gives, with less code to read.

    Examples
    --------
    >>> feed = MemoryIdTimeline(Keyspace())
    >>> feed.add_to_many(["feed:{7}", "feed:{8}"], 2**61, max_len=2)
    2
    >>> feed.newest_many(["feed:{7}", "feed:{9}"], limit=5)
    [[2305843009213693952], []]
    >>> feed.add_to_many(["feed:{7}", "feed:{9}"], 2**61 + 1, max_len=2, only_existing=True)
    1
    >>> feed.newest_many(["feed:{7}", "feed:{9}"], limit=5)  # feed:{9} was not created
    [[2305843009213693953, 2305843009213693952], []]
    """

    __slots__ = ("_space",)

    def __init__(self, space: Keyspace) -> None:
        self._space = space

    def add(self, key: str, ids: Iterable[int], *, only_existing: bool = False) -> int:
        check_key("key", key)
        checked = check_ids("ids", ids)
        if not checked:
            return 0
        with self._space.lock:
            return self._add(key, checked, only_existing)

    def add_to_many(
        self,
        keys: Sequence[str],
        id: int,
        *,
        max_len: int | None = None,
        only_existing: bool = False,
    ) -> int:
        unique = dict.fromkeys(check_key_list("keys", keys))
        new_id, keep = check_id("id", id), _check_max_len(max_len)

        def step(key: str) -> int:
            added = self._add(key, [new_id], only_existing)
            if keep is not None:
                self._trim(key, keep)
            return added

        with self._space.lock:
            return sum(for_each_key(unique, step))

    def remove(self, key: str, *ids: int) -> int:
        check_key("key", key)
        doomed = check_ids("ids", ids)
        if not doomed:
            return 0
        with self._space.lock:
            return self._remove(key, doomed)

    def remove_from_many(self, keys: Sequence[str], id: int) -> int:
        unique = dict.fromkeys(check_key_list("keys", keys))
        doomed = [check_id("id", id)]
        with self._space.lock:
            return sum(for_each_key(unique, lambda key: self._remove(key, doomed)))

    def newest(self, key: str, *, limit: int, before: int | None = None) -> list[int]:
        check_key("key", key)
        check_count("limit", limit, 1)
        below = None if before is None else check_id("before", before)
        with self._space.lock:
            return self._newest(key, limit, below)

    def oldest_after(self, key: str, after: int, *, limit: int) -> list[int]:
        check_key("key", key)
        above = check_id("after", after)
        check_count("limit", limit, 1)
        with self._space.lock:
            held = self._space.ids(key) or []
            start = bisect_right(held, above)
            return held[start : start + limit]

    def newest_many(self, keys: Sequence[str], *, limit: int) -> list[list[int]]:
        checked = check_key_list("keys", keys)
        check_count("limit", limit, 1)
        with self._space.lock:
            return [self._newest(key, limit, None) for key in checked]

    def size(self, key: str) -> int:
        held = self._space.ids(check_key("key", key))
        return 0 if held is None else len(held)

    def trim_to(self, key: str, max_len: int) -> int:
        check_key("key", key)
        keep = check_count("max_len", max_len, 0)
        with self._space.lock:
            return self._trim(key, keep)

    # The steps below run with the lock held.

    def _add(self, key: str, ids: list[int], only_existing: bool = False) -> int:
        held = self._space.ids(key)
        if held is None:
            if only_existing:  # not cached: left absent, for a miss to rebuild it whole
                return 0
            held = self._space.data[key] = []
        added = 0
        for new_id in ids:
            at = bisect_left(held, new_id)
            if at == len(held) or held[at] != new_id:
                held.insert(at, new_id)
                added += 1
        return added

    def _remove(self, key: str, ids: list[int]) -> int:
        held = self._space.ids(key)
        if held is None:
            return 0
        removed = 0
        for doomed in ids:
            at = bisect_left(held, doomed)
            if at < len(held) and held[at] == doomed:
                del held[at]
                removed += 1
        self._drop_if_empty(key, held)
        return removed

    def _newest(self, key: str, limit: int, before: int | None) -> list[int]:
        held = self._space.ids(key) or []
        stop = len(held) if before is None else bisect_left(held, before)
        return held[max(0, stop - limit) : stop][::-1]

    def _trim(self, key: str, keep: int) -> int:
        held = self._space.ids(key)
        if held is None:
            return 0
        excess = max(0, len(held) - keep)
        del held[:excess]
        self._drop_if_empty(key, held)
        return excess

    def _drop_if_empty(self, key: str, held: list[int]) -> None:
        if not held:
            del self._space.data[key]


class MemoryCappedList:
    """Capped lists in a :class:`~reference.storage.memory.Keyspace`: a ``deque``, newest left.

    Notes
    -----
    A push is O(1) (``appendleft``, then ``pop`` what passed the cap); ``range`` is
    O(start + k); ``remove`` is O(n), a full scan, as Redis' LREM.

    Examples
    --------
    >>> homes = MemoryCappedList(Keyspace())
    >>> homes.push_to_many(["home:{7}", "home:{8}"], "tweet:1", max_len=800)
    >>> homes.range_many(["home:{7}", "home:{8}"], 0, -1), homes.remove("home:{7}", "tweet:1")
    ([['tweet:1'], ['tweet:1']], 1)
    """

    __slots__ = ("_space",)

    def __init__(self, space: Keyspace) -> None:
        self._space = space

    def push(self, key: str, item: str, *, max_len: int, only_existing: bool = False) -> int:
        check_key("key", key)
        check_str("item", item)
        keep = check_count("max_len", max_len, 1)
        with self._space.lock:
            return self._push(key, item, keep, only_existing)

    def extend(self, key: str, items: Sequence[str], *, max_len: int) -> int:
        check_key("key", key)
        if isinstance(items, str) or not isinstance(items, Sequence):
            raise InvalidArgument.bad_value("items", items, "a list or tuple of str")
        for item in items:
            check_str("item", item)
        keep = check_count("max_len", max_len, 1)
        with self._space.lock:
            for item in items:
                self._push(key, item, keep)
            found = self._space.capped(key)
            return 0 if found is None else len(found)

    def push_to_many(
        self, keys: Sequence[str], item: str, *, max_len: int, only_existing: bool = False
    ) -> None:
        unique = dict.fromkeys(check_key_list("keys", keys))
        check_str("item", item)
        keep = check_count("max_len", max_len, 1)
        with self._space.lock:
            for_each_key(unique, lambda key: self._push(key, item, keep, only_existing))

    def range(self, key: str, start: int, stop: int) -> list[str]:
        check_key("key", key)
        check_int("start", start, INT64_MIN, INT64_MAX)
        check_int("stop", stop, INT64_MIN, INT64_MAX)
        with self._space.lock:
            return self._range(key, start, stop)

    def range_many(self, keys: Sequence[str], start: int, stop: int) -> list[list[str]]:
        checked = check_key_list("keys", keys)
        check_int("start", start, INT64_MIN, INT64_MAX)
        check_int("stop", stop, INT64_MIN, INT64_MAX)
        with self._space.lock:
            return [self._range(key, start, stop) for key in checked]

    def length(self, key: str) -> int:
        items = self._space.capped(check_key("key", key))
        return 0 if items is None else len(items)

    def remove(self, key: str, item: str) -> int:
        check_key("key", key)
        check_str("item", item)
        with self._space.lock:
            return self._remove(key, item)

    def remove_from_many(self, keys: Sequence[str], item: str) -> int:
        unique = dict.fromkeys(check_key_list("keys", keys))
        check_str("item", item)
        with self._space.lock:
            return sum(for_each_key(unique, lambda key: self._remove(key, item)))

    # The steps below run with the lock held.

    def _push(self, key: str, item: str, keep: int, only_existing: bool = False) -> int:
        items = self._space.capped(key)
        if items is None:
            if only_existing:  # as LPUSHX: no list, no push
                return 0
            items = self._space.data[key] = deque()
        items.appendleft(item)
        while len(items) > keep:
            items.pop()
        return len(items)

    def _range(self, key: str, start: int, stop: int) -> list[str]:
        items = self._space.capped(key)
        if items is None:
            return []
        size = len(items)
        start = max(start + size if start < 0 else start, 0)
        stop = min(stop + size if stop < 0 else stop, size - 1)
        return list(islice(items, start, stop + 1)) if start <= stop else []

    def _remove(self, key: str, item: str) -> int:
        items = self._space.capped(key)
        if items is None:
            return 0
        count = items.count(item)
        if count:
            kept = [other for other in items if other != item]
            items.clear()
            items.extend(kept)
            if not items:
                del self._space.data[key]
        return count
