"""The work-queue port over a Redis Stream, with every time decision on the injected clock.

The Stream is the log; our own keys (see :mod:`reference.storage.redis_queue_keys`) hold
the in-flight deadlines, delivery counts, dead letters and counters, all on our clock.

Steps that read and then write (claim an expired message, ack, dead-letter, replay) are
optimistic transactions: WATCH the in-flight set, read, then MULTI/EXEC, and start again
if another client changed it in between (there is no Lua here).

Examples
--------
>>> import fakeredis
>>> from reference.core.clock import FakeClock
>>> from reference.storage.client import LabRedis, optimistic
>>> client = LabRedis(connection_pool=fakeredis.FakeRedis(decode_responses=True).connection_pool)
>>> clock = FakeClock(start=1_700_000_000.0)
>>> queue = RedisWorkQueue(client, clock, namespace="lab")
>>> queue.create_group("jobs", "workers", visibility_timeout_s=10)
>>> queue.publish("jobs", "resize photo 7")
'1700000000000-0'
>>> with client.tap.recording() as rec:
...     [job] = queue.consume("jobs", "workers", "w1")
>>> [command[0] for command in rec.commands]
['HGET', 'WATCH', 'ZRANGEBYSCORE', 'UNWATCH', 'XREADGROUP', 'MULTI', 'ZADD', 'HSET', 'HINCRBY', \
'HINCRBY', 'EXEC']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from reference.core.clock import Clock
from reference.core.errors import BackendError, Conflict, NotFound
from reference.storage.checks import check_int, check_name, check_str
from reference.storage.client import LabRedis, optimistic
from reference.storage.ports import DeadLetter, Delivery, QueueStatistics
from reference.storage.queue_rules import (
    GroupSettings,
    check_message_id,
    check_message_ids,
    exhausted_reason,
    message_order,
)
from reference.storage.redis_queue_keys import QueueKeys, log_key

__all__ = ["PUBLISH_ATTEMPTS", "RedisWorkQueue"]

PUBLISH_ATTEMPTS = 10  # XADDs tried while other publishers keep moving the last id


def _letter(
    message_id: str, entry: tuple[str, float], deliveries: int, now: float, reason: str
) -> DeadLetter:
    body, published_at = entry
    return DeadLetter(message_id, body, deliveries, published_at, now, reason)


class RedisWorkQueue:
    """At-least-once queue with consumer groups on a Redis Stream (see the module notes).

    Parameters
    ----------
    client : LabRedis
        The store's client (fakeredis or a real server).
    clock : Clock
        Every deadline and age is computed on this clock, never on the server's.
    namespace : str
        Key prefix shared by the store.

    Notes
    -----
    ``publish`` is one XADD; ``consume`` costs about 5 commands plus 1 XRANGE per redelivered
    message; ``ack`` is WATCH, ZSCORE and one MULTI/EXEC. If a consumer dies between
    XREADGROUP and the MULTI that records the deadline, the message stays in the Stream's
    pending list but is never redelivered; a production queue closes that gap with a Lua
    script (or reconciles against XPENDING).
    """

    __slots__ = ("_client", "_clock", "_namespace")

    def __init__(self, client: LabRedis, clock: Clock, *, namespace: str) -> None:
        self._client: Any = client  # replies are converted explicitly (see client.py)
        self._clock = clock
        self._namespace = namespace

    def create_group(
        self,
        queue: str,
        group: str,
        *,
        visibility_timeout_s: float = 30.0,
        max_deliveries: int = 5,
    ) -> None:
        keys = self._keys(queue, group)
        settings = GroupSettings.checked(visibility_timeout_s, max_deliveries)
        if not self._client.hsetnx(keys.groups, group, json.dumps(asdict(settings))):
            existing = self._settings(keys, queue, group)
            if existing != settings:
                raise Conflict(
                    f"group {group!r} of queue {queue!r} exists with {existing}, not {settings}"
                )
            return

        def start(pipe: Any) -> None:  # the group's start ($) and baseline must agree
            pipe.watch(keys.log)
            length = int(pipe.xlen(keys.log))
            pipe.multi()
            pipe.xgroup_create(keys.log, group, id="$", mkstream=True)
            pipe.hset(keys.stats, "baseline", length)
            pipe.execute()

        optimistic(self._client, start)

    def publish(self, queue: str, body: str) -> str:
        log = log_key(self._namespace, queue)
        check_str("body", body)
        fields = {"body": body, "published_at": repr(self._clock.now())}
        ms = max(0, self._clock.now_ms())
        for _ in range(PUBLISH_ATTEMPTS):
            try:
                return str(self._client.xadd(log, fields, id=f"{ms}-*"))
            except Conflict:  # our clock is behind the stream's last id: publish after it
                top = self._client.xrevrange(log, "+", "-", count=1)
                ms = max(ms, message_order(str(top[0][0]))[0]) if top else ms
        raise BackendError(f"could not append to {log!r}: its last id kept moving")

    def consume(self, queue: str, group: str, consumer: str, *, count: int = 1) -> list[Delivery]:
        keys = self._keys(queue, group)
        settings = self._settings(keys, queue, group)
        check_name("consumer", consumer)
        check_int("count", count, 1)
        now = self._clock.now()
        out = self._redeliver_expired(keys, group, settings, now, count)
        if len(out) < count:
            out += self._deliver_new(keys, group, consumer, settings, now, count - len(out))
        return out

    def _redeliver_expired(
        self, keys: QueueKeys, group: str, settings: GroupSettings, now: float, count: int
    ) -> list[Delivery]:
        """Expired in-flight messages, oldest deadline first: hand out, or dead-letter."""

        def claim(pipe: Any) -> list[Delivery]:
            pipe.watch(keys.inflight)
            again: dict[str, int] = {}  # message id -> its new delivery count
            exhausted: dict[str, int] = {}
            offset = 0
            while len(again) < count:
                ids = pipe.zrangebyscore(keys.inflight, "-inf", now, start=offset, num=count)
                if not ids:
                    break
                offset += len(ids)
                for mid, n in zip(ids, pipe.hmget(keys.deliveries, ids), strict=True):
                    if int(n) >= settings.max_deliveries:
                        exhausted[mid] = int(n)
                    else:
                        again[mid] = int(n) + 1
                        if len(again) == count:
                            break
            if not again and not exhausted:
                return []
            entries = self._entries(keys.log, [*again, *exhausted])
            limit = settings.max_deliveries
            letters = [
                _letter(mid, entries[mid], n, now, exhausted_reason(n, limit))
                for mid, n in exhausted.items()
            ]
            pipe.multi()
            if again:
                pipe.zadd(keys.inflight, dict.fromkeys(again, now + settings.visibility_timeout_s))
                pipe.hset(keys.deliveries, mapping=again)
                pipe.hincrby(keys.stats, "delivered", len(again))
                pipe.hincrby(keys.stats, "redelivered", sum(n > 1 for n in again.values()))
            self._bury(pipe, keys, group, letters)
            pipe.execute()
            return [Delivery(mid, entries[mid][0], n, entries[mid][1]) for mid, n in again.items()]

        return optimistic(self._client, claim)

    def _deliver_new(
        self,
        keys: QueueKeys,
        group: str,
        consumer: str,
        settings: GroupSettings,
        now: float,
        count: int,
    ) -> list[Delivery]:
        rows = self._client.xreadgroup(group, consumer, {keys.log: ">"}, count=count)
        entries: list[tuple[str, dict[str, str]]] = rows[0][1] if rows else []
        if not entries:
            return []
        with self._client.pipeline() as pipe:
            deadline = now + settings.visibility_timeout_s
            pipe.zadd(keys.inflight, {mid: deadline for mid, _ in entries})
            pipe.hset(keys.deliveries, mapping={mid: 1 for mid, _ in entries})
            pipe.hincrby(keys.stats, "delivered", len(entries))
            pipe.hincrby(keys.stats, "read", len(entries))
            pipe.execute()
        return [
            Delivery(str(mid), fields["body"], 1, float(fields["published_at"]))
            for mid, fields in entries
        ]

    def ack(self, queue: str, group: str, message_id: str) -> bool:
        keys = self._keys(queue, group)
        self._settings(keys, queue, group)
        check_message_id(message_id)
        now = self._clock.now()

        def settle(pipe: Any) -> bool:
            pipe.watch(keys.inflight)
            deadline = pipe.zscore(keys.inflight, message_id)
            if deadline is None or float(deadline) <= now:
                return False  # never delivered, already settled, or its timeout ran out
            pipe.multi()
            pipe.zrem(keys.inflight, message_id)
            pipe.hdel(keys.deliveries, message_id)
            pipe.xack(keys.log, group, message_id)
            pipe.hincrby(keys.stats, "acked", 1)
            pipe.execute()
            return True

        return optimistic(self._client, settle)

    def dead_letter(self, queue: str, group: str, message_id: str, reason: str) -> bool:
        keys = self._keys(queue, group)
        self._settings(keys, queue, group)
        check_message_id(message_id)
        check_str("reason", reason)
        now = self._clock.now()

        def bury(pipe: Any) -> bool:
            pipe.watch(keys.inflight)
            deadline = pipe.zscore(keys.inflight, message_id)
            if deadline is None or float(deadline) <= now:
                return False
            deliveries = int(pipe.hget(keys.deliveries, message_id))
            entry = self._entries(keys.log, [message_id])[message_id]
            pipe.multi()
            self._bury(pipe, keys, group, [_letter(message_id, entry, deliveries, now, reason)])
            pipe.execute()
            return True

        return optimistic(self._client, bury)

    def dead_letters(self, queue: str, group: str) -> list[DeadLetter]:
        keys = self._keys(queue, group)
        self._settings(keys, queue, group)
        with self._client.pipeline() as pipe:
            order, data = pipe.lrange(keys.dead, 0, -1).hgetall(keys.dead_data).execute()
        return [DeadLetter(**json.loads(data[mid])) for mid in order]

    def replay_dead_letters(
        self, queue: str, group: str, message_ids: Sequence[str] | None = None
    ) -> int:
        keys = self._keys(queue, group)
        self._settings(keys, queue, group)
        wanted = check_message_ids(message_ids)
        now = self._clock.now()

        def replay(pipe: Any) -> int:
            pipe.watch(keys.dead)
            order = pipe.lrange(keys.dead, 0, -1)
            chosen = [mid for mid in order if wanted is None or mid in wanted]
            if not chosen:
                return 0
            pipe.multi()
            if len(chosen) == len(order):
                pipe.delete(keys.dead, keys.dead_data)
            else:
                for mid in chosen:
                    pipe.lrem(keys.dead, 1, mid)
                pipe.hdel(keys.dead_data, *chosen)
            pipe.zadd(keys.inflight, dict.fromkeys(chosen, now))  # due at once
            pipe.hset(keys.deliveries, mapping=dict.fromkeys(chosen, 0))  # a fresh count
            pipe.execute()
            return len(chosen)

        return optimistic(self._client, replay)

    def statistics(self, queue: str, group: str) -> QueueStatistics:
        keys = self._keys(queue, group)
        settings = self._settings(keys, queue, group)
        now = self._clock.now()
        with self._client.pipeline() as pipe:  # one consistent snapshot
            pipe.xlen(keys.log).hgetall(keys.stats)
            pipe.zrangebyscore(keys.inflight, "-inf", now).zcard(keys.inflight)
            pipe.hgetall(keys.deliveries)
            length, stats, expired, outstanding, deliveries = pipe.execute()
        counters = {name: int(value) for name, value in stats.items()}
        never_delivered = int(length) - counters.get("baseline", 0) - counters.get("read", 0)
        due_again = sum(int(deliveries[mid]) < settings.max_deliveries for mid in expired)
        oldest_age_s = 0.0
        if deliveries:
            oldest = min(deliveries, key=message_order)
            oldest_age_s = now - self._entries(keys.log, [oldest])[oldest][1]
        elif never_delivered:
            oldest_age_s = now - self._first_undelivered(keys, group)[1]
        return QueueStatistics(
            published=int(length) - counters.get("baseline", 0),
            delivered=counters.get("delivered", 0),
            redelivered=counters.get("redelivered", 0),
            acked=counters.get("acked", 0),
            dead_lettered=counters.get("dead_lettered", 0),
            depth=never_delivered + due_again,
            in_flight=int(outstanding) - len(expired),
            lag=never_delivered + int(outstanding),
            oldest_age_s=oldest_age_s,
        )

    def _keys(self, queue: str, group: str) -> QueueKeys:
        return QueueKeys.of(self._namespace, queue, group)

    def _settings(self, keys: QueueKeys, queue: str, group: str) -> GroupSettings:
        text = self._client.hget(keys.groups, group)
        if text is None:
            raise NotFound(
                "consumer group", f"{queue}/{group}", "create it with create_group() first"
            )
        return GroupSettings(**json.loads(text))

    def _entries(self, log: str, message_ids: list[str]) -> dict[str, tuple[str, float]]:
        """(body, published_at) of each message, one pipelined XRANGE per id."""
        with self._client.pipeline(transaction=False) as pipe:
            for mid in message_ids:
                pipe.xrange(log, mid, mid)
            rows = pipe.execute()
        return {mid: _fields(found[0][1]) for mid, found in zip(message_ids, rows, strict=True)}

    def _first_undelivered(self, keys: QueueKeys, group: str) -> tuple[str, float]:
        info = self._client.xinfo_groups(keys.log)
        last = next(g["last-delivered-id"] for g in info if g["name"] == group)
        [(_, fields)] = self._client.xrange(keys.log, f"({last}", "+", count=1)
        return _fields(fields)

    def _bury(self, pipe: Any, keys: QueueKeys, group: str, letters: list[DeadLetter]) -> None:
        """Queue (inside MULTI) the writes that move ``letters`` to the dead-letter list."""
        if not letters:
            return
        ids = [letter.message_id for letter in letters]
        pipe.zrem(keys.inflight, *ids)
        pipe.hdel(keys.deliveries, *ids)
        pipe.xack(keys.log, group, *ids)
        pipe.rpush(keys.dead, *ids)
        pipe.hset(keys.dead_data, mapping={m.message_id: _json(m) for m in letters})
        pipe.hincrby(keys.stats, "dead_lettered", len(letters))


def _fields(fields: dict[str, str]) -> tuple[str, float]:
    return fields["body"], float(fields["published_at"])


def _json(letter: DeadLetter) -> str:
    return json.dumps(asdict(letter))
