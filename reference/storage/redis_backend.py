"""The key-value, timeline, counter and pub/sub ports over Redis (fakeredis or a real server).

Each port method is one Redis command (a pub/sub subscription waits for the server's
confirmation, so a message published right after ``subscribe`` returns is received); each
``*_many`` method is one non-transactional pipeline: one command per key, one round trip.
``compare_and_set`` is one ``EVAL`` of a small Lua script: Redis runs a script without
interleaving any other client's command, so its GET-compare-SET is one atomic step.
A script run once per key of a many-key call is a :class:`LuaScript`, sent by its SHA1
(``EVALSHA``) on the pipeline rather than as text (see :meth:`_Prefixed._script_per_key`).
Every key is prefixed with the store's namespace (``lab:feed:{42}``); the hash tag the
caller put in the key still decides the Redis Cluster slot.

The work queue lives in :mod:`reference.storage.redis_queue`; the id timeline and the capped
list in :mod:`reference.storage.redis_lists`; the client that records commands and
translates errors in :mod:`reference.storage.client`.

Examples
--------
>>> import fakeredis
>>> from reference.storage.client import LabRedis
>>> client = LabRedis(connection_pool=fakeredis.FakeRedis(decode_responses=True).connection_pool)
>>> timeline = RedisTimeline(client, namespace="lab")
>>> with client.tap.recording() as rec:
...     timeline.add("feed:{42}", {"post:1": 10, "post:2": 20})
...     timeline.trim_to("feed:{42}", 1)
2
1
>>> rec.commands
[('ZADD', 'lab:feed:{42}', '10.0', 'post:1', '20.0', 'post:2'), ('ZREMRANGEBYRANK', \
'lab:feed:{42}', '0', '-2')]

A fanout on write to three followers' feeds is three ZADDs, but one round trip:

>>> with client.tap.recording() as rec:
...     timeline.add_to_many(["feed:{7}", "feed:{8}", "feed:{9}"], "post:3", 30)
3
>>> rec.counts(), rec.round_trips
(Counter({'ZADD': 3}), 1)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis
from redis.exceptions import NoScriptError

from reference.core.errors import BackendError, Conflict, InvalidArgument
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
from reference.storage.client import LabRedis, lab_error
from reference.storage.ports import WindowAdd

__all__ = [
    "COMPARE_AND_SET_LUA",
    "CONFIRM_TIMEOUT_S",
    "WINDOW_ADD_LUA",
    "LuaScript",
    "RedisCounter",
    "RedisKeyValue",
    "RedisPubSub",
    "RedisSubscription",
    "RedisTimeline",
]

CONFIRM_TIMEOUT_S = 5.0  # how long to wait for the server to confirm (un)subscribing
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


def _pairs(rows: Any) -> list[tuple[str, float]]:
    return [(str(member), float(score)) for member, score in rows]


def _bound(value: float, exclusive: bool = False) -> str:
    text = "+inf" if value == float("inf") else "-inf" if value == float("-inf") else repr(value)
    return f"({text}" if exclusive else text


class LuaScript:
    """A Lua script and its SHA1, the name ``EVALSHA`` runs it by once the server has it.

    Sending 40 hex digits instead of the script's text matters when one call runs the
    script once per key: a fanout to 10,000 feeds would otherwise send the text 10,000
    times.

    >>> LuaScript("return 1").sha
    'e0e1f9fabfc9d4800c877a703b823ac0578ff8db'
    """

    __slots__ = ("sha", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()


class _Prefixed:
    __slots__ = ("_client", "_prefix")

    def __init__(self, client: LabRedis, *, namespace: str) -> None:
        self._client: Any = client  # replies are converted explicitly (see client.py)
        self._prefix = f"{namespace}:"

    def _key(self, key: str) -> str:
        return self._prefix + check_key("key", key)

    def _keys(self, keys: Sequence[str], *, once: bool = False) -> list[str]:
        """Checked, prefixed keys of a many-key call; ``once`` drops repeats (for writes)."""
        checked = check_key_list("keys", keys)
        return [self._prefix + key for key in (dict.fromkeys(checked) if once else checked)]

    def _per_key(
        self,
        full_keys: list[str],
        queue: Callable[[Any, str], object],
        *,
        raise_on_error: bool = True,
    ) -> list[Any]:
        """Queue commands for every key on one non-transactional pipeline; send it (one
        round trip, nothing if there are no keys) and return every reply in order.

        Not a MULTI/EXEC: a transaction needs all its keys on one cluster slot, and a
        pipeline does not (a cluster client splits it into one pipeline per node).
        Without ``raise_on_error`` a refused command's reply is its redis-py error.
        """
        if not full_keys:
            return []
        with self._client.pipeline(transaction=False) as pipe:
            for full in full_keys:
                queue(pipe, full)
            replies: list[Any] = pipe.execute(raise_on_error=raise_on_error)
        return replies

    def _script_per_key(
        self, script: LuaScript, full_keys: list[str], args: Sequence[str]
    ) -> list[Any]:
        """``EVALSHA script 1 <key> *args`` for every key on one pipeline; every reply, in
        order. One round trip once the server holds the script.

        A server that does not hold it yet (never asked, restarted, ``SCRIPT FLUSH``,
        failed over) answers NOSCRIPT for each key, and a NOSCRIPT script did not run. So,
        as a redis-py ``Script`` called on its own does, those keys are sent again after
        one ``SCRIPT LOAD``: such a first call costs three round trips (the refused
        pipeline, the load, the pipeline again), every later one one. (A ``Script`` queued
        on a redis-py pipeline would send ``SCRIPT EXISTS`` before every pipeline: two round
        trips on every call.) A key refused for another reason (WRONGTYPE) raises its lab
        error after every key had its turn.
        """

        def send(keys: list[str]) -> list[Any]:
            return self._per_key(keys, lambda pipe, full: pipe.evalsha(script.sha, 1, full, *args),
                                 raise_on_error=False)

        replies = send(full_keys)
        missing = [n for n, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if missing:
            self._client.script_load(script.text)
            for n, reply in zip(missing, send([full_keys[n] for n in missing]), strict=True):
                replies[n] = reply
        for full, reply in zip(full_keys, replies, strict=True):
            if isinstance(reply, redis.RedisError):
                raise lab_error(reply, ("EVALSHA", script.sha, "1", full)) from reply
        return replies


#: GET, compare, SET inside the server. ARGV: "1" and the expected value, or "0" (expect the
#: key absent); then the new value. Returns 1 if written, 0 if the key held something else.
COMPARE_AND_SET_LUA = """\
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1"""


#: Timeline.add_within_limit in one round trip. KEYS[1] the sorted set; ARGV: score, window,
#: limit. The step's time is the later of the score and the log's highest; the new member is
#: named "<time %.17g>#<n>", n counted up from the size until ZADD NX takes it. A nil in a Lua
#: table would end the reply, so the lowest score comes last and only if there is one.
WINDOW_ADD_LUA = """\
local at = tonumber(ARGV[1])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if top[2] and tonumber(top[2]) > at then at = tonumber(top[2]) end
local cutoff = string.format('%.17g', at - tonumber(ARGV[2]))
local trimmed = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
local size = redis.call('ZCARD', KEYS[1])
local added = 0
if size < tonumber(ARGV[3]) then
  local n = size
  local stamp = string.format('%.17g', at)
  while redis.call('ZADD', KEYS[1], 'NX', stamp, stamp .. '#' .. n) == 0 do n = n + 1 end
  size = size + 1
  added = 1
end
local lowest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {added, string.format('%.17g', at), size, trimmed, lowest[2]}"""


class RedisKeyValue(_Prefixed):
    """Strings (GET/SET [NX]/DEL) and hashes (HSET/HGET/HGETALL/HDEL): one command each;
    ``compare_and_set`` is one EVAL of :data:`COMPARE_AND_SET_LUA`; ``get_many``,
    ``set_many`` and ``hgetall_many`` one pipeline of GET, SET or HGETALL."""

    __slots__ = ()

    def get(self, key: str) -> str | None:
        value = self._client.get(self._key(key))
        return None if value is None else str(value)

    def set(self, key: str, value: str, *, if_absent: bool = False) -> bool:
        full = self._key(key)
        check_str("value", value)
        return bool(self._client.set(full, value, nx=if_absent))

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        full = self._key(key)
        check_str("value", value)
        if expected is None:
            args = ("0", "", value)
        else:
            args = ("1", check_str("expected", expected), value)
        return bool(self._client.eval(COMPARE_AND_SET_LUA, 1, full, *args))

    def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        return int(self._client.delete(*(self._prefix + key for key in check_keys("key", keys))))

    def hset(self, key: str, mapping: Mapping[str, str]) -> int:
        full = self._key(key)
        return int(self._client.hset(full, mapping=check_str_mapping("mapping", mapping)))

    def hget(self, key: str, field: str) -> str | None:
        value = self._client.hget(self._key(key), check_str("field", field))
        return None if value is None else str(value)

    def hgetall(self, key: str) -> dict[str, str]:
        return {str(f): str(v) for f, v in self._client.hgetall(self._key(key)).items()}

    def hdel(self, key: str, *fields: str) -> int:
        full = self._key(key)
        for field in fields:
            check_str("field", field)
        return int(self._client.hdel(full, *fields)) if fields else 0

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        replies = self._per_key(self._keys(keys), lambda pipe, full: pipe.get(full))
        return [None if value is None else str(value) for value in replies]

    def set_many(self, mapping: Mapping[str, str]) -> None:
        values = {self._prefix + key: value
                  for key, value in check_value_mapping("mapping", mapping).items()}
        self._per_key(list(values), lambda pipe, full: pipe.set(full, values[full]))

    def hgetall_many(self, keys: Sequence[str]) -> list[dict[str, str]]:
        replies = self._per_key(self._keys(keys), lambda pipe, full: pipe.hgetall(full))
        return [{str(f): str(v) for f, v in reply.items()} for reply in replies]


class RedisTimeline(_Prefixed):
    """A ZSET per key: ZADD, ZREM, ZCARD, ZSCORE, ZRANGE, ZRANGEBYSCORE, ZREMRANGEBYRANK."""

    __slots__ = ()

    def add(self, key: str, members: Mapping[str, float]) -> int:
        full = self._key(key)
        if not isinstance(members, Mapping) or not members:
            raise InvalidArgument.bad_value("members", members, "a non-empty mapping")
        checked = {
            check_str("member", member): check_score("score", score)
            for member, score in members.items()
        }
        return int(self._client.zadd(full, checked))

    def remove(self, key: str, *members: str) -> int:
        full = self._key(key)
        for member in members:
            check_str("member", member)
        return int(self._client.zrem(full, *members)) if members else 0

    def size(self, key: str) -> int:
        return int(self._client.zcard(self._key(key)))

    def score(self, key: str, member: str) -> float | None:
        value = self._client.zscore(self._key(key), check_str("member", member))
        return None if value is None else float(value)

    def add_within_limit(
        self, key: str, score: float, *, window: float, limit: int
    ) -> WindowAdd:
        full = self._key(key)
        score, window, limit = check_window_add(score, window, limit)
        reply = self._client.eval(WINDOW_ADD_LUA, 1, full, repr(score), repr(window),
                                  str(limit))
        return WindowAdd(added=bool(int(reply[0])), at=float(reply[1]), size=int(reply[2]),
                         trimmed=int(reply[3]),
                         lowest=float(reply[4]) if len(reply) > 4 else None)

    def range_by_rank(
        self, key: str, start: int, stop: int, *, descending: bool = False
    ) -> list[tuple[str, float]]:
        full = self._key(key)
        check_int("start", start, INT64_MIN, INT64_MAX)
        check_int("stop", stop, INT64_MIN, INT64_MAX)
        if descending:
            return _pairs(self._client.zrevrange(full, start, stop, withscores=True))
        return _pairs(self._client.zrange(full, start, stop, withscores=True))

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
        full = self._key(key)
        low = _bound(check_bound("min_score", min_score), min_exclusive)
        high = _bound(check_bound("max_score", max_score))
        page: dict[str, int] = {}
        if limit is not None:
            page = {"start": 0, "num": check_int("limit", limit, 0)}
        if descending:
            rows = self._client.zrevrangebyscore(full, high, low, withscores=True, **page)
        else:
            rows = self._client.zrangebyscore(full, low, high, withscores=True, **page)
        return _pairs(rows)

    def trim_to(self, key: str, max_len: int) -> int:
        full = self._key(key)
        keep = check_count("max_len", max_len, 0)
        return int(self._client.zremrangebyrank(full, 0, -(keep + 1)))

    def add_to_many(
        self, keys: Sequence[str], member: str, score: float, *, max_len: int | None = None
    ) -> int:
        full_keys = self._keys(keys, once=True)
        entry = {check_str("member", member): check_score("score", score)}
        keep = None if max_len is None else check_count("max_len", max_len, 1)

        def queue(pipe: Any, full: str) -> None:
            pipe.zadd(full, entry)
            if keep is not None:
                pipe.zremrangebyrank(full, 0, -(keep + 1))

        replies = self._per_key(full_keys, queue)
        return sum(int(added) for added in replies[:: 1 if keep is None else 2])


class RedisCounter(_Prefixed):
    """INCRBY and GET on a string key: atomic on the server, one round trip each."""

    __slots__ = ()

    def incr(self, key: str, amount: int = 1) -> int:
        full = self._key(key)
        return int(self._client.incrby(full, check_int("amount", amount, INT64_MIN, INT64_MAX)))

    def get(self, key: str) -> int:
        return _counter_value(key, self._client.get(self._key(key)))

    def get_many(self, keys: Sequence[str]) -> list[int]:
        checked = check_key_list("keys", keys)
        replies = self._per_key([self._prefix + k for k in checked],
                                lambda pipe, full: pipe.get(full))
        return [_counter_value(key, text) for key, text in zip(checked, replies, strict=True)]


def _counter_value(key: str, text: object) -> int:
    """A counter's stored text as an int (0 if missing); Conflict if it is no integer."""
    if text is None:
        return 0
    if not _INTEGER.fullmatch(str(text)) or not INT64_MIN <= int(str(text)) <= INT64_MAX:
        raise Conflict(f"key {key!r} holds {text!r}, not an integer")
    return int(str(text))


class RedisSubscription:
    """One connection in subscriber mode. ``get_messages`` may wait up to ``timeout_s``."""

    __slots__ = ("_bus", "_early", "_prefix", "_pubsub", "channels", "closed")

    def __init__(
        self, bus: RedisPubSub, client: Any, prefix: str, channels: tuple[str, ...]
    ) -> None:
        self._bus = bus
        self._prefix = prefix
        self.channels = channels
        self.closed = False
        self._early: list[tuple[str, str]] = []  # messages that beat a later confirmation
        self._pubsub = client.pubsub()
        full = [prefix + channel for channel in channels]
        client.tap.note(("SUBSCRIBE", *full))
        try:
            self._pubsub.subscribe(*full)
            confirmed = 0
            while confirmed < len(full):  # once all are confirmed, every publish reaches us
                message = self._pubsub.get_message(timeout=CONFIRM_TIMEOUT_S)
                if message is None:
                    raise BackendError(f"Redis did not confirm SUBSCRIBE {full!r}")
                if message["type"] == "subscribe":
                    confirmed += 1
                else:
                    self._early += self._unpack(message)
        except redis.RedisError as err:
            self._pubsub.close()
            raise lab_error(err, ("SUBSCRIBE", *full)) from err

    def _unpack(self, message: dict[str, Any]) -> list[tuple[str, str]]:
        if message["type"] != "message":
            return []
        return [(str(message["channel"])[len(self._prefix) :], str(message["data"]))]

    def get_messages(self, *, timeout_s: float = 0.0) -> list[tuple[str, str]]:
        wait_s = check_seconds("timeout_s", timeout_s)
        if self.closed:
            return []
        received, self._early = self._early, []
        try:
            message = self._pubsub.get_message(timeout=0.0 if received else wait_s)
            while message is not None:
                received += self._unpack(message)
                message = self._pubsub.get_message(timeout=0.0)
        except redis.RedisError as err:
            raise lab_error(err, ("SUBSCRIBE", *self.channels)) from err
        return received

    def close(self) -> None:
        """Unsubscribe and wait for the server to confirm, so later publishes skip us."""
        if self.closed:
            return
        self.closed = True
        self._bus.forget(self)
        try:
            self._bus.tap_note(("UNSUBSCRIBE",))
            self._pubsub.unsubscribe()
            while True:
                message = self._pubsub.get_message(timeout=CONFIRM_TIMEOUT_S)
                if message is None or (message["type"] == "unsubscribe" and not message["data"]):
                    break
        except redis.RedisError:
            pass  # the connection is going away anyway: closing it also unsubscribes
        finally:
            self._pubsub.close()


class RedisPubSub(_Prefixed):
    """PUBLISH to ``namespace:channel``; each subscription holds its own connection."""

    __slots__ = ("_open",)

    def __init__(self, client: LabRedis, *, namespace: str) -> None:
        super().__init__(client, namespace=namespace)
        self._open: list[RedisSubscription] = []

    def publish(self, channel: str, message: str) -> int:
        full = self._prefix + check_key("channel", channel)
        return int(self._client.publish(full, check_str("message", message)))

    def subscribe(self, *channels: str) -> RedisSubscription:
        if not channels:
            raise InvalidArgument.bad_value("channels", channels, "at least one channel")
        unique = tuple(dict.fromkeys(check_keys("channel", channels)))
        subscription = RedisSubscription(self, self._client, self._prefix, unique)
        self._open.append(subscription)
        return subscription

    def forget(self, subscription: RedisSubscription) -> None:
        self._open = [s for s in self._open if s is not subscription]

    def tap_note(self, args: tuple[str, ...]) -> None:
        self._client.tap.note(args)

    def close_all(self) -> None:
        for subscription in list(self._open):
            subscription.close()
