"""The IdTimeline and CappedList ports over Redis (fakeredis or a real server).

An id timeline is a ZSET whose members all have score 0 and are ids written as 20-digit
zero-padded decimal, so Redis' byte order of equal-score members is the ids' numeric order
(see :class:`~reference.storage.ports.IdTimeline` for why). A capped list is a LIST, newest
at the head. Every single-key call is one command, except :meth:`RedisCappedList.push`
(LPUSH + LTRIM in one MULTI/EXEC); every ``*_many`` call is one non-transactional pipeline.
Either way: one round trip.

A write with ``only_existing=True`` (a fanout must not create a feed that is not cached) is
native on a list: ``LPUSHX`` pushes only into an existing one. A sorted set has no such
command, so the id timeline runs :data:`ADD_IF_EXISTS_LUA` per key, by its SHA (``EVALSHA``):
still one round trip, except the very first call on a server that does not hold the script
yet, which costs three (see :meth:`~reference.storage.redis_backend._Prefixed._script_per_key`).

Examples
--------
>>> import fakeredis
>>> from reference.storage.client import LabRedis
>>> client = LabRedis(connection_pool=fakeredis.FakeRedis(decode_responses=True).connection_pool)
>>> ids = RedisIdTimeline(client, namespace="lab")
>>> ids.add("feed:{42}", [2**61 + 1, 2**61, 2**61 + 2])  # three ids a double cannot tell apart
3
>>> with client.tap.recording() as rec:
...     ids.newest("feed:{42}", limit=2, before=2305843009213693954)
[2305843009213693953, 2305843009213693952]
>>> rec.commands
[('ZREVRANGEBYLEX', 'lab:feed:{42}', '(02305843009213693954', '-', 'LIMIT', '0', '2')]
>>> with client.tap.recording() as rec:
...     ids.add_to_many(["feed:{7}", "feed:{8}"], 2**61 + 3, max_len=800)
2
>>> rec.counts(), rec.round_trips
(Counter({'ZADD': 2, 'ZREMRANGEBYRANK': 2}), 1)
>>> lists = RedisCappedList(client, namespace="lab")
>>> with client.tap.recording() as rec:
...     lists.push("home:{42}", "tweet:1", max_len=800)
1
>>> [command[0] for command in rec.commands], rec.round_trips
(['MULTI', 'LPUSH', 'LTRIM', 'EXEC'], 1)

A fanout that only writes feeds which exist: feed:{7} and home:{42} get the post, feed:{9}
and home:{9} stay absent. The first script run on this server loads the script:

>>> with client.tap.recording() as rec:
...     ids.add_to_many(["feed:{7}", "feed:{9}"], 2**61 + 4, max_len=800, only_existing=True)
1
>>> rec.counts(), rec.round_trips
(Counter({'EVALSHA': 4, 'SCRIPT LOAD': 1}), 3)
>>> with client.tap.recording() as rec:
...     ids.add_to_many(["feed:{7}", "feed:{9}"], 2**61 + 5, max_len=800, only_existing=True)
1
>>> rec.counts(), rec.round_trips
(Counter({'EVALSHA': 2}), 1)
>>> with client.tap.recording() as rec:
...     lists.push_to_many(["home:{42}", "home:{9}"], "tweet:2", max_len=800, only_existing=True)
>>> rec.counts(), rec.round_trips, lists.length("home:{9}")
(Counter({'LPUSHX': 2, 'LTRIM': 2}), 1, 0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from reference.core.errors import InvalidArgument
from reference.storage.checks import (
    INT64_MAX,
    INT64_MIN,
    check_count,
    check_id,
    check_ids,
    check_int,
    check_str,
)
from reference.storage.ports import ID_WIDTH
from reference.storage.redis_backend import LuaScript, _Prefixed

__all__ = ["ADD_IF_EXISTS_LUA", "RedisCappedList", "RedisIdTimeline", "id_member"]

#: IdTimeline writes with ``only_existing``: ZADD into KEYS[1] only if it exists. ARGV[1] is
#: the ZREMRANGEBYRANK stop that trims to the newest max_len ('' for no trim), written by
#: Python (a Lua number is a double: -(2**63-1) would lose digits); ARGV[2..] the members.
#: Returns how many members were new (0 for a key that does not exist: nothing written).
ADD_IF_EXISTS_LUA = LuaScript("""\
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local added = 0
for i = 2, #ARGV do added = added + redis.call('ZADD', KEYS[1], 0, ARGV[i]) end
if ARGV[1] ~= '' then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, ARGV[1]) end
return added""")


def _trim_stop(keep: int | None) -> str:
    """The ZREMRANGEBYRANK stop that keeps the newest ``keep`` ('' keeps all)."""
    return "" if keep is None else str(-(keep + 1))


def id_member(id: int) -> str:
    """The ZSET member that stores ``id``: fixed-width decimal, so byte order is id order.

    >>> id_member(42)
    '00000000000000000042'
    >>> sorted([id_member(10), id_member(9)]) == [id_member(9), id_member(10)]
    True
    """
    return f"{id:0{ID_WIDTH}d}"


def _ids(members: Any) -> list[int]:
    return [int(member) for member in members]


class RedisIdTimeline(_Prefixed):
    """A ZSET per key, every score 0, members :func:`id_member`: ZADD, ZREM, ZCARD,
    ZREVRANGE, ZREVRANGEBYLEX / ZRANGEBYLEX (cursor pages), ZREMRANGEBYRANK (trim); with
    ``only_existing``, EVALSHA of :data:`ADD_IF_EXISTS_LUA` (EXISTS, ZADD, ZREMRANGEBYRANK).

    Examples
    --------
    >>> import fakeredis
    >>> from reference.storage.client import LabRedis
    >>> pool = fakeredis.FakeRedis(decode_responses=True).connection_pool
    >>> history = RedisIdTimeline(LabRedis(connection_pool=pool), namespace="lab")
    >>> history.add("channel:{7}", [2**61 + 1, 2**61 + 2])
    2
    >>> history.oldest_after("channel:{7}", 2**61 + 1, limit=10)  # exact at 2**61
    [2305843009213693954]
    """

    __slots__ = ()

    def add(self, key: str, ids: Iterable[int], *, only_existing: bool = False) -> int:
        full = self._key(key)
        members = dict.fromkeys(map(id_member, check_ids("ids", ids)), 0)
        if not members:
            return 0
        if only_existing:
            return int(self._script_per_key(ADD_IF_EXISTS_LUA, [full], ["", *members])[0])
        return int(self._client.zadd(full, members))

    def add_to_many(
        self,
        keys: Sequence[str],
        id: int,
        *,
        max_len: int | None = None,
        only_existing: bool = False,
    ) -> int:
        full_keys = self._keys(keys, once=True)
        entry = {id_member(check_id("id", id)): 0}
        keep = None if max_len is None else check_count("max_len", max_len, 1)
        if only_existing:
            args = [_trim_stop(keep), *entry]
            return sum(int(n) for n in self._script_per_key(ADD_IF_EXISTS_LUA, full_keys, args))

        def queue(pipe: Any, full: str) -> None:
            pipe.zadd(full, entry)
            if keep is not None:
                pipe.zremrangebyrank(full, 0, -(keep + 1))

        replies = self._per_key(full_keys, queue)
        return sum(int(added) for added in replies[:: 1 if keep is None else 2])

    def remove(self, key: str, *ids: int) -> int:
        full = self._key(key)
        members = [id_member(doomed) for doomed in check_ids("ids", ids)]
        return int(self._client.zrem(full, *members)) if members else 0

    def remove_from_many(self, keys: Sequence[str], id: int) -> int:
        full_keys = self._keys(keys, once=True)
        member = id_member(check_id("id", id))
        return sum(int(n) for n in self._per_key(full_keys, lambda p, k: p.zrem(k, member)))

    def newest(self, key: str, *, limit: int, before: int | None = None) -> list[int]:
        full = self._key(key)
        count = check_count("limit", limit, 1)
        if before is None:
            return _ids(self._client.zrevrange(full, 0, count - 1))
        below = "(" + id_member(check_id("before", before))
        return _ids(self._client.zrevrangebylex(full, below, "-", start=0, num=count))

    def oldest_after(self, key: str, after: int, *, limit: int) -> list[int]:
        full = self._key(key)
        above = "(" + id_member(check_id("after", after))
        count = check_count("limit", limit, 1)
        return _ids(self._client.zrangebylex(full, above, "+", start=0, num=count))

    def newest_many(self, keys: Sequence[str], *, limit: int) -> list[list[int]]:
        full_keys = self._keys(keys)
        stop = check_count("limit", limit, 1) - 1
        return [_ids(page) for page in
                self._per_key(full_keys, lambda pipe, full: pipe.zrevrange(full, 0, stop))]

    def size(self, key: str) -> int:
        return int(self._client.zcard(self._key(key)))

    def trim_to(self, key: str, max_len: int) -> int:
        full = self._key(key)
        keep = check_count("max_len", max_len, 0)
        return int(self._client.zremrangebyrank(full, 0, -(keep + 1)))


class RedisCappedList(_Prefixed):
    """A LIST per key, newest at the head: LPUSH + LTRIM (LPUSHX + LTRIM with
    ``only_existing``), LRANGE, LLEN, LREM.

    Examples
    --------
    >>> import fakeredis
    >>> from reference.storage.client import LabRedis
    >>> pool = fakeredis.FakeRedis(decode_responses=True).connection_pool
    >>> homes = RedisCappedList(LabRedis(connection_pool=pool), namespace="lab")
    >>> homes.push_to_many(["home:{7}", "home:{8}"], "tweet:1", max_len=800)
    >>> homes.range_many(["home:{7}", "home:{8}"], 0, -1)
    [['tweet:1'], ['tweet:1']]
    """

    __slots__ = ()

    def push(self, key: str, item: str, *, max_len: int, only_existing: bool = False) -> int:
        full = self._key(key)
        check_str("item", item)
        keep = check_count("max_len", max_len, 1)
        with self._client.pipeline() as pipe:  # MULTI/EXEC: never seen over its cap
            (pipe.lpushx if only_existing else pipe.lpush)(full, item)
            length, _ = pipe.ltrim(full, 0, keep - 1).execute()
        return min(int(length), keep)

    def extend(self, key: str, items: Sequence[str], *, max_len: int) -> int:
        full = self._key(key)
        if isinstance(items, str) or not isinstance(items, Sequence):
            raise InvalidArgument.bad_value("items", items, "a list or tuple of str")
        values = [check_str("item", item) for item in items]
        keep = check_count("max_len", max_len, 1)
        if not values:
            return int(self._client.llen(full))
        with self._client.pipeline() as pipe:  # MULTI/EXEC: never seen over its cap
            length, _ = pipe.lpush(full, *values).ltrim(full, 0, keep - 1).execute()
        return min(int(length), keep)

    def push_to_many(
        self, keys: Sequence[str], item: str, *, max_len: int, only_existing: bool = False
    ) -> None:
        full_keys = self._keys(keys, once=True)
        check_str("item", item)
        keep = check_count("max_len", max_len, 1)

        def queue(pipe: Any, full: str) -> None:
            (pipe.lpushx if only_existing else pipe.lpush)(full, item)
            pipe.ltrim(full, 0, keep - 1)

        self._per_key(full_keys, queue)

    def range(self, key: str, start: int, stop: int) -> list[str]:
        full = self._key(key)
        check_int("start", start, INT64_MIN, INT64_MAX)
        check_int("stop", stop, INT64_MIN, INT64_MAX)
        return [str(item) for item in self._client.lrange(full, start, stop)]

    def range_many(self, keys: Sequence[str], start: int, stop: int) -> list[list[str]]:
        full_keys = self._keys(keys)
        check_int("start", start, INT64_MIN, INT64_MAX)
        check_int("stop", stop, INT64_MIN, INT64_MAX)
        pages = self._per_key(full_keys, lambda pipe, full: pipe.lrange(full, start, stop))
        return [[str(item) for item in page] for page in pages]

    def length(self, key: str) -> int:
        return int(self._client.llen(self._key(key)))

    def remove(self, key: str, item: str) -> int:
        full = self._key(key)
        return int(self._client.lrem(full, 0, check_str("item", item)))

    def remove_from_many(self, keys: Sequence[str], item: str) -> int:
        full_keys = self._keys(keys, once=True)
        check_str("item", item)
        return sum(int(n) for n in self._per_key(full_keys, lambda p, k: p.lrem(k, 0, item)))
