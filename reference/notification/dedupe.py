"""Dedupe (중복 전송 방지): an idempotency store keyed by the effect, on the KeyValue port.

The chapter's advice is to check the event id and drop a duplicate event. This module makes
that precise, and honest about its limit. Three facts decide the design:

1. The queue is **at-least-once**: a job can be delivered twice (a duplicate publish, or a
   redelivery after a worker died without acking it).
2. A worker can crash **between claiming a job and sending it**. If a claim alone meant
   "skip it from now on", that crash would lose the notification (at-most-once).
3. A worker can crash **between sending and recording**. If nothing remembered the send, the
   redelivered job would notify the user twice (at-least-once).

No local bookkeeping closes both gaps, because the effect happens at the provider. The way
out is the one real providers offer: an **idempotency key** (``Job.dedupe_key``: event,
channel, address) sent with every request, honoured by the provider for 24 h. So the
protocol is:

* ``claim(key, now)``: first claim wins (``SET NX``) and stores the first-seen time; a
  ``False`` tells the caller this effect was seen before (a redelivery, a retry or a
  duplicate). The intake side can use it to drop duplicate *requests* outright.
* a worker never skips on a lost claim alone: it sends again **with the same key**, and the
  provider collapses the second request into the first effect;
* ``mark_done(key, now)`` after the provider accepted (and the log says ``sent``), or after
  the job was settled otherwise (stopped, dead-lettered);
* ``is_done(key, now)``: a redelivered job whose key is done is acked and skipped.

The effect is then exactly once per (event, channel, address) within the window, and the
window is ours: the record holds the first-seen time and expiry is decided on the injected
clock (``now >= first_seen + window_s``), never by a Redis TTL. ``release(key)`` forgets a
key, so an operator's replay of a dead letter can send again.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> from reference.storage import connect
>>> clock = FakeClock(start=0.0)
>>> seen = IdempotencyStore(connect("memory", clock=clock).kv, window_s=3600.0)
>>> seen.claim("evt-1|email|a@example.com", now=clock.now())
True
>>> seen.claim("evt-1|email|a@example.com", now=clock.now())   # a redelivery
False
>>> seen.mark_done("evt-1|email|a@example.com", now=clock.now())
>>> seen.is_done("evt-1|email|a@example.com", now=clock.now() + 3599.0)
True
>>> seen.is_done("evt-1|email|a@example.com", now=clock.now() + 3600.0)   # window over
False
>>> seen.statistics()
IdempotencyStatistics(claims=2, first_claims=1, repeat_claims=1, done=1, expired_takeovers=0)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from reference.core.checks import check_positive_seconds, check_time
from reference.core.clock import US_PER_S
from reference.core.errors import InvalidArgument
from reference.notification.model import IDEMPOTENCY_WINDOW_S
from reference.storage.ports import KeyValue

__all__ = ["IdempotencyRecord", "IdempotencyStatistics", "IdempotencyStore"]



@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What the store remembers about one key (times in seconds on the injected clock).

    ``done_by`` names who settled the key (a notification id), when ``mark_done`` was told;
    ``pinned_to`` the provider holding a request in doubt (see :meth:`IdempotencyStore.pin`).
    """

    key: str
    first_seen: float
    done_at: float | None
    done_by: str | None = None
    pinned_to: str | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyStatistics:
    claims: int
    first_claims: int
    repeat_claims: int
    done: int
    expired_takeovers: int


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidArgument.bad_value("key", key, "a non-empty string")
    return key


def _to_us(now: float) -> int:
    check_time("now", now)
    return round(now * US_PER_S)


class IdempotencyStore:
    """Remember which effects were claimed and which are done, for ``window_s`` seconds.

    Parameters
    ----------
    kv : KeyValue
        One string per key at ``idem:<name>:{<key>}`` holding JSON
        ``{"first_seen_us": ..., "done_at_us": ...}``.
    window_s : float
        How long a key is honoured from its first claim (default 24 h, as Knock does).
    name : str
        Namespace, so two stores (requests, deliveries) can share one KeyValue.

    Notes
    -----
    Every call is one GET plus at most one SET: O(1). The expired-record takeover (delete,
    then ``SET NX``) is not atomic across processes; on a shared Redis two claimers racing
    on an *expired* key could both win (a Lua compare-and-set would close it). Expired
    records are replaced when touched; without a TTL, untouched ones stay (storage hygiene
    would add a Redis TTL well beyond the window, never used for the decision).
    """

    __slots__ = ("_claims", "_done", "_first", "_kv", "_name", "_repeat", "_takeovers",
                 "_window_us")

    def __init__(
        self, kv: KeyValue, *, window_s: float = IDEMPOTENCY_WINDOW_S, name: str = "delivery"
    ) -> None:
        check_positive_seconds("window_s", window_s)
        if not isinstance(name, str) or not name or "{" in name or "}" in name:
            raise InvalidArgument.bad_value("name", name, "a non-empty name without braces")
        self._kv = kv
        self._window_us = round(window_s * US_PER_S)
        self._name = name
        self._claims = 0
        self._first = 0
        self._repeat = 0
        self._done = 0
        self._takeovers = 0

    @property
    def window_s(self) -> float:
        return self._window_us / US_PER_S

    def _kv_key(self, key: str) -> str:
        return f"idem:{self._name}:{{{key}}}"

    def _load(self, key: str, now_us: int) -> dict[str, int | str] | None:
        """The live record of ``key`` as stored (``first_seen_us``, and ``done_at_us``,
        ``done_by``, ``pinned_to``, ``pin_token`` once known), or None if absent or expired."""
        return self._live(self._kv.get(self._kv_key(key)), now_us)

    def _live(self, raw: str | None, now_us: int) -> dict[str, int | str] | None:
        """``raw`` (a stored record, or None) parsed, or None if absent or expired."""
        if raw is None:
            return None
        data: dict[str, int | str] = json.loads(raw)
        if now_us >= int(data["first_seen_us"]) + self._window_us:
            return None
        return data

    def claim(self, key: str, now: float) -> bool:
        """Claim ``key`` at ``now``; True only for the first claim within the window.

        Raises
        ------
        InvalidArgument
            An empty key or a non-finite ``now``.
        """
        key = _check_key(key)
        now_us = _to_us(now)
        self._claims += 1
        kv_key = self._kv_key(key)
        raw = self._kv.get(kv_key)
        if raw is not None:
            if self._live(raw, now_us) is not None:
                self._repeat += 1
                return False
            self._kv.delete(kv_key)  # expired: the window is over, a new one starts now
            self._takeovers += 1
        won = self._kv.set(kv_key, json.dumps({"first_seen_us": now_us}), if_absent=True)
        if won:
            self._first += 1
        else:
            self._repeat += 1
        return won

    def mark_done(self, key: str, now: float, *, by: str | None = None) -> None:
        """Record that the effect of ``key`` happened (or was settled) at ``now``.

        Marks a key never claimed (or expired) as first seen now, too. ``by`` names who
        settled it (the notification id), so a later duplicate with another id can say
        whose effect it repeats.

        Raises
        ------
        InvalidArgument
            An empty key, a non-finite ``now`` or a ``by`` that is not None or a string.
        """
        key = _check_key(key)
        now_us = _to_us(now)
        if by is not None and not isinstance(by, str):
            raise InvalidArgument.bad_value("by", by, "None or a string")
        record = self._load(key, now_us) or {"first_seen_us": now_us}
        if "done_at_us" in record:
            return  # already done: keep the first completion time
        record["done_at_us"] = now_us
        if by is not None:
            record["done_by"] = by
        self._kv.set(self._kv_key(key), json.dumps(record, sort_keys=True))
        self._done += 1

    def pin(self, key: str, now: float, *, provider: str, token: str) -> str | None:
        """Say a request for ``key`` is about to go to ``provider``; return where the key is
        pinned (None once it is done).

        Until the provider answers, the request is *in doubt*: it may deliver even if its
        answer is lost (a timeout, a worker crash). Only that provider, which honours the
        key, can settle the doubt, so every later attempt for the key — a retry, a
        redelivered copy, a duplicate event — must go there. The first pin wins; it stays
        until the key is done, unless :meth:`unpin` with the same ``token`` lifts it (the
        request that set it got a definite failure).

        Raises
        ------
        InvalidArgument
            An empty key, provider or token, or a non-finite ``now``.
        """
        key = _check_key(key)
        now_us = _to_us(now)
        for name, value in (("provider", provider), ("token", token)):
            if not isinstance(value, str) or not value:
                raise InvalidArgument.bad_value(name, value, "a non-empty string")
        record = self._load(key, now_us) or {"first_seen_us": now_us}
        if "done_at_us" in record:
            return None
        if "pinned_to" in record:
            return str(record["pinned_to"])
        record["pinned_to"], record["pin_token"] = provider, token
        self._kv.set(self._kv_key(key), json.dumps(record, sort_keys=True))
        return provider

    def unpin(self, key: str, now: float, *, token: str) -> bool:
        """Lift the pin set with ``token`` (its request failed for certain); True if lifted.

        A pin set by another request (one still in doubt) stays.
        """
        key = _check_key(key)
        record = self._load(key, _to_us(now))
        if record is None or record.get("pin_token") != token or "done_at_us" in record:
            return False
        del record["pinned_to"], record["pin_token"]
        self._kv.set(self._kv_key(key), json.dumps(record, sort_keys=True))
        return True

    def is_done(self, key: str, now: float) -> bool:
        """True if ``key`` was marked done within the window that is live at ``now``."""
        key = _check_key(key)
        live = self._load(key, _to_us(now))
        return live is not None and "done_at_us" in live

    def get(self, key: str, now: float) -> IdempotencyRecord | None:
        """The live record of ``key`` at ``now``, or None."""
        key = _check_key(key)
        live = self._load(key, _to_us(now))
        if live is None:
            return None
        done_us = live.get("done_at_us")
        done_by = live.get("done_by")
        pinned_to = live.get("pinned_to")
        return IdempotencyRecord(
            key=key,
            first_seen=int(live["first_seen_us"]) / US_PER_S,
            done_at=None if done_us is None else int(done_us) / US_PER_S,
            done_by=None if done_by is None else str(done_by),
            pinned_to=None if pinned_to is None else str(pinned_to),
        )

    def release(self, key: str) -> bool:
        """Forget ``key`` (a replayed dead letter may be sent again); True if it existed."""
        return self._kv.delete(self._kv_key(_check_key(key))) == 1

    def statistics(self) -> IdempotencyStatistics:
        return IdempotencyStatistics(
            claims=self._claims,
            first_claims=self._first,
            repeat_claims=self._repeat,
            done=self._done,
            expired_takeovers=self._takeovers,
        )
