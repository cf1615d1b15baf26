"""Idempotency keys (중복 전송 방지): a store keyed by the effect, on the KeyValue port.

A building block any chapter can use; chapter 10's workers dedupe with it. The chapter's
advice is to check the event id and drop a duplicate event. This module makes
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

* ``claim(key, now)``: first claim wins (written only if the key is absent) and stores the
  first-seen time; a ``False`` tells the caller this effect was seen before (a redelivery, a
  retry or a duplicate). The intake side can use it to drop duplicate *requests* outright.
* a worker never skips on a lost claim alone: it sends again **with the same key**, and the
  provider collapses the second request into the first effect;
* ``mark_done(key, now)`` after the provider accepted (and the log says ``sent``), or after
  the job was settled otherwise (stopped, dead-lettered);
* ``is_done(key, now)``: a redelivered job whose key is done is acked and skipped.
  A worker asks this and claims in one read: ``check_and_claim(key, now)`` returns the
  live record (done? pinned?) and whether the claim was the first.

The effect is then exactly once per (event, channel, address) within the window, and the
window is ours: the record holds the first-seen time and expiry is decided on the injected
clock (``now >= first_seen + window_s``), never by a Redis TTL. ``reopen(key, now)`` lifts the
done mark (keeping a pin), so an operator's replay of a dead letter can send again;
``release(key)`` forgets a key altogether.

Several workers share the store, so every change is a read, a decision and a
**compare-and-set** against what was read (:meth:`KeyValue.compare_and_set`: one Lua
``EVAL`` on Redis). If another worker wrote the record in between, the write is refused and
the step reads again and decides again: no worker's claim, pin or done mark is ever
overwritten by a decision taken on a stale read.

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
from collections.abc import Callable
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any, TypeVar

from reference.core.checks import check_positive_seconds, check_time
from reference.core.clock import US_PER_S
from reference.core.errors import Conflict, InvalidArgument
from reference.storage.ports import KeyValue

__all__ = [
    "IDEMPOTENCY_WINDOW_S",
    "MAX_RACES", "IdempotencyRecord", "IdempotencyStatistics", "IdempotencyStore"]

#: How many times in a row one change may find the record rewritten under it before giving up
#: (each loss means another worker's change went through: progress, not a livelock).
MAX_RACES = 16
#: How long a key is honoured by default: 24 h, as Knock and Stripe honour idempotency keys.
IDEMPOTENCY_WINDOW_S = 24 * 3600
_T = TypeVar("_T")



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
    """``now`` in whole microseconds, after checking it is a finite time."""
    return round(check_time("now", now) * US_PER_S)


#: A record as stored, decoded: ``[first_seen_us, done_at_us, done_by, pinned_to, pin_token]``
#: (two ints, three strings; None where not known yet). Written only by this class.
_Fields = list[Any]
_FIRST, _DONE_AT, _DONE_BY, _PINNED_TO, _PIN_TOKEN = range(5)
_DECODE = json.JSONDecoder().decode


def _decode(raw: str) -> _Fields:
    """A stored record's fields."""
    fields: _Fields = _DECODE(raw)
    return fields


_NULL = "null"
_quote = encode_basestring_ascii  # a str as a JSON string literal, as json.dumps writes it


def _encode(fields: _Fields) -> str:
    r"""``fields`` as the compact JSON array ``json.dumps(fields, separators=(",", ":"))``
    writes, built directly: json's own escaper for the strings, digits for the ints.

    Cheaper than ``json.dumps``, which builds an encoder for every call.

    Examples
    --------
    >>> fields = [1_000_000, None, None, "fcm", 'm-1#"2"']
    >>> _encode(fields)
    '[1000000,null,null,"fcm","m-1#\\"2\\""]'
    >>> _encode(fields) == json.dumps(fields, separators=(",", ":"))
    True
    """
    first, done_at, done_by, pinned_to, pin_token = fields
    return (f"[{first},{_NULL if done_at is None else done_at},"
            f"{_NULL if done_by is None else _quote(done_by)},"
            f"{_NULL if pinned_to is None else _quote(pinned_to)},"
            f"{_NULL if pin_token is None else _quote(pin_token)}]")


def _new_record(now_us: int) -> _Fields:
    return [now_us, None, None, None, None]


class IdempotencyStore:
    """Remember which effects were claimed and which are done, for ``window_s`` seconds.

    Parameters
    ----------
    kv : KeyValue
        One string per key at ``idem:<name>:{<key>}`` holding a JSON array
        ``[first_seen_us, done_at_us, done_by, pinned_to, pin_token]`` (``null`` until known).
    window_s : float
        How long a key is honoured from its first claim (default 24 h, as Knock does).
    name : str
        Namespace, so two stores (requests, deliveries) can share one KeyValue.

    Notes
    -----
    Every call is one GET plus at most one compare-and-set: O(1), more only when another
    worker wrote the record in between (then the call reads and decides again). A worker
    enters a job with :meth:`check_and_claim` (the record and the claim in one GET), pins
    it, and marks it done: three GETs and three compare-and-sets per delivered job. The
    record is a positional array, not an object with named keys: fewer bytes, cheaper to
    write and to read. Each call reads the record afresh (another worker may have changed
    it), but the store remembers the last record it wrote: when the GET returns that same
    string, as it does when a worker claims, pins and marks one key in a row, its fields are
    known without decoding.

    Claiming an *expired* record replaces it with a compare-and-set against the expired
    string, so of two claimers racing on it exactly one wins. Expired records are replaced
    when touched; without a TTL, untouched ones stay (storage hygiene would add a Redis TTL
    well beyond the window, never used for the decision).
    """

    __slots__ = ("_claims", "_done", "_first", "_kv", "_name", "_repeat", "_takeovers",
                 "_window_us", "_written", "_written_fields")

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
        self._written: str | None = None  # the last record this store wrote ...
        self._written_fields: _Fields = []  # ... and its fields

    @property
    def window_s(self) -> float:
        return self._window_us / US_PER_S

    def _kv_key(self, key: str) -> str:
        return f"idem:{self._name}:{{{key}}}"

    def _load(self, key: str, now_us: int) -> _Fields | None:
        """The live record of ``key`` as stored, or None if absent or expired."""
        return self._live(self._kv.get(self._kv_key(key)), now_us)

    def _live(self, raw: str | None, now_us: int) -> _Fields | None:
        """``raw`` (a stored record, or None) decoded, or None if absent or expired."""
        if raw is None:
            return None
        # the record this store wrote last comes back as it was written: copy, not decode
        fields = list(self._written_fields) if raw == self._written else _decode(raw)
        if now_us >= fields[_FIRST] + self._window_us:
            return None
        return fields

    def _write(self, kv_key: str, fields: _Fields, *, over: str | None) -> bool:
        """Write the record if the key still holds ``over`` (the string read; None: absent);
        True if written.

        ``fields`` is remembered with the string written (the caller leaves it alone after),
        so reading that string back costs a copy of the list, not a decode.
        """
        raw = _encode(fields)
        written = self._kv.compare_and_set(kv_key, over, raw)
        if written:
            self._written, self._written_fields = raw, fields
        return written

    def _change(self, key: str, now_us: int,
                step: Callable[[_Fields | None], tuple[_Fields | None, _T]]) -> _T:
        """Read ``key``'s live record, let ``step`` decide (new fields to write, or None to
        leave it; and the answer), and write with a compare-and-set against what was read.
        If another writer got in between, read and decide again.

        Raises
        ------
        Conflict
            If the record changed under this call :data:`MAX_RACES` times in a row.
        """
        kv_key = self._kv_key(key)
        for _ in range(MAX_RACES):
            raw = self._kv.get(kv_key)
            fields, answer = step(self._live(raw, now_us))
            if fields is None or self._write(kv_key, fields, over=raw):
                return answer
        raise Conflict(
            f"idempotency key {key!r} was rewritten by other workers {MAX_RACES} times in a "
            "row while this change was being decided: expected less contention on one key"
        )

    def _record(self, key: str, fields: _Fields) -> IdempotencyRecord:
        first, done_at, done_by, pinned_to, _token = fields
        return IdempotencyRecord(key, first / US_PER_S,
                                 None if done_at is None else done_at / US_PER_S,
                                 done_by, pinned_to)

    def _claim(self, kv_key: str, raw: str | None, live: _Fields | None, now_us: int) -> bool:
        """Claim at ``now_us`` the key whose GET found ``raw`` (``live``: it decoded, within
        its window)."""
        self._claims += 1
        if live is not None:
            self._repeat += 1
            return False
        # absent, or expired (the window is over, a new one starts now): replace what was read
        won = self._write(kv_key, _new_record(now_us), over=raw)
        if won:
            self._first += 1
            self._takeovers += raw is not None
        else:
            self._repeat += 1  # another claimer got in between: theirs is the first claim
        return won

    def claim(self, key: str, now: float) -> bool:
        """Claim ``key`` at ``now``; True only for the first claim within the window.

        Raises
        ------
        InvalidArgument
            An empty key or a non-finite ``now``.
        """
        key = _check_key(key)
        now_us = _to_us(now)
        kv_key = self._kv_key(key)
        raw = self._kv.get(kv_key)
        return self._claim(kv_key, raw, self._live(raw, now_us), now_us)

    def check_and_claim(self, key: str, now: float) -> tuple[IdempotencyRecord | None, bool]:
        """:meth:`get`, then :meth:`claim` unless the record is done, with one GET.

        The worker's first step for a job: the live record says whether the effect is done
        already (skip it) or pinned to a provider (send it there), and the claim says whether
        this is the key's first arrival.

        Returns
        -------
        tuple[IdempotencyRecord | None, bool]
            The live record as found before the claim (None if absent or expired), and
            whether this call won the first claim (False as well when the record is done:
            a done key is not claimed).

        Raises
        ------
        InvalidArgument
            An empty key or a non-finite ``now``.

        Examples
        --------
        >>> from reference.core.clock import FakeClock
        >>> from reference.storage import connect
        >>> seen = IdempotencyStore(connect("memory", clock=FakeClock()).kv)
        >>> seen.check_and_claim("k", 1.0)
        (None, True)
        >>> record, first = seen.check_and_claim("k", 2.0)   # a redelivery: claimed before
        >>> record.first_seen, record.done_at, first
        (1.0, None, False)
        """
        key = _check_key(key)
        now_us = _to_us(now)
        kv_key = self._kv_key(key)
        raw = self._kv.get(kv_key)
        fields = self._live(raw, now_us)
        record = None if fields is None else self._record(key, fields)
        if record is not None and record.done_at is not None:
            return record, False
        return record, self._claim(kv_key, raw, fields, now_us)

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

        def settle(live: _Fields | None) -> tuple[_Fields | None, bool]:
            fields = live or _new_record(now_us)
            if fields[_DONE_AT] is not None:
                return None, False  # already done: keep the first completion time
            fields[_DONE_AT], fields[_DONE_BY] = now_us, by
            return fields, True

        self._done += self._change(key, now_us, settle)

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
        if not isinstance(provider, str) or not provider:
            raise InvalidArgument.bad_value("provider", provider, "a non-empty string")
        if not isinstance(token, str) or not token:
            raise InvalidArgument.bad_value("token", token, "a non-empty string")

        def hold(live: _Fields | None) -> tuple[_Fields | None, str | None]:
            fields = live or _new_record(now_us)
            if fields[_DONE_AT] is not None:
                return None, None
            if fields[_PINNED_TO] is not None:
                return None, str(fields[_PINNED_TO])
            fields[_PINNED_TO], fields[_PIN_TOKEN] = provider, token
            return fields, provider

        return self._change(key, now_us, hold)

    def unpin(self, key: str, now: float, *, token: str) -> bool:
        """Lift the pin set with ``token`` (its request failed for certain); True if lifted.

        A pin set by another request (one still in doubt) stays.
        """
        key = _check_key(key)

        def lift(fields: _Fields | None) -> tuple[_Fields | None, bool]:
            if fields is None or fields[_PIN_TOKEN] != token or fields[_DONE_AT] is not None:
                return None, False
            fields[_PINNED_TO] = fields[_PIN_TOKEN] = None
            return fields, True

        return self._change(key, _to_us(now), lift)

    def reopen(self, key: str, now: float) -> bool:
        """Undo the done mark of ``key`` so that it may be sent again (an operator's replay
        of a dead letter); True if it was done.

        Unlike :meth:`release` the rest stays. The pin: if a request for the key is still
        in doubt (it timed out, or its worker died after sending), the replay must go to
        that same provider, whose idempotency key can tell whether the message already went
        out. And ``done_by``: the key still belongs to the notification that settled it, so
        a copy of another notification for the same effect (a duplicate event) remains a
        duplicate while the replay runs.
        """
        key = _check_key(key)

        def undo(fields: _Fields | None) -> tuple[_Fields | None, bool]:
            if fields is None or fields[_DONE_AT] is None:
                return None, False
            fields[_DONE_AT] = None
            return fields, True

        return self._change(key, _to_us(now), undo)

    def is_done(self, key: str, now: float) -> bool:
        """True if ``key`` was marked done within the window that is live at ``now``."""
        return self.settlement(key, now)[0]

    def settlement(self, key: str, now: float) -> tuple[bool, str | None]:
        """Whether ``key`` is done within the window live at ``now``, and who settled it:
        :meth:`is_done` and ``get(key, now).done_by`` in one read, without building a record.

        A worker asks this of every delivery receipt it is about to log.

        Examples
        --------
        >>> from reference.core.clock import FakeClock
        >>> from reference.storage import connect
        >>> seen = IdempotencyStore(connect("memory", clock=FakeClock()).kv)
        >>> seen.settlement("k", 1.0)
        (False, None)
        >>> seen.mark_done("k", 2.0, by="n1")
        >>> seen.settlement("k", 3.0)
        (True, 'n1')
        """
        key = _check_key(key)
        fields = self._load(key, _to_us(now))
        if fields is None or fields[_DONE_AT] is None:
            return False, None
        return True, fields[_DONE_BY]

    def get(self, key: str, now: float) -> IdempotencyRecord | None:
        """The live record of ``key`` at ``now``, or None."""
        key = _check_key(key)
        fields = self._load(key, _to_us(now))
        return None if fields is None else self._record(key, fields)

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
