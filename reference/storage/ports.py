"""The storage ports: small Protocols the chapters depend on, never a client library.

Five ports, each with one contract suite (``tests/storage/``) run against every backend:

========== ================================================== ============================
port       what it is for                                     Redis structure underneath
========== ================================================== ============================
KeyValue   strings and hashes: user settings, contact info,   STRING, HASH (compare-and-set:
           idempotency keys (``set(..., if_absent=True)``,     a Lua script, one round trip)
           ``compare_and_set``)
Timeline   a sorted set: feeds, message history, due times,    ZSET (a sliding-window add:
           sliding-window logs (``add_within_limit``)          a Lua script, one round trip)
Counter    atomic counters: local sequences, rate windows      INCRBY on a STRING
WorkQueue  consumer groups, ack, redelivery after a            STREAM + our own bookkeeping
           visibility timeout, dead-letter after N deliveries
PubSub     fire-and-forget fan-out: presence changes            PUBLISH / SUBSCRIBE
========== ================================================== ============================

Keys are plain strings chosen by the caller, with the entity id inside a Redis Cluster hash
tag (``feed:{42}``) so that everything about one entity lands on one cluster slot.

Values are ``str``; services serialise their own records (JSON) before storing them.

Time: every decision that depends on time (visibility timeout, oldest-message age) is taken
on the *injected* clock the backend was built with, never on the Redis server's clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "MAX_EXACT_SCORE",
    "Counter",
    "DeadLetter",
    "Delivery",
    "KeyValue",
    "PubSub",
    "QueueStatistics",
    "Subscription",
    "Timeline",
    "WindowAdd",
    "WorkQueue",
]

MAX_EXACT_SCORE = 2**53  # sorted-set scores are IEEE doubles: integers beyond this lose precision


@runtime_checkable
class KeyValue(Protocol):
    """Strings and hashes."""

    def get(self, key: str) -> str | None:
        """The value at ``key``, or None."""
        ...

    def set(self, key: str, value: str, *, if_absent: bool = False) -> bool:
        """Store ``value``; with ``if_absent`` only when the key is new (SET NX).

        Returns True if the value was written.
        """
        ...

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        """Store ``value`` only if ``key`` holds ``expected`` (None: only if it is absent),
        as one atomic step; return True if the value was written.

        The safe way to read, decide and write one key while others may write it too: read,
        decide, then ``compare_and_set`` against what was read; False means another writer
        got in between, so read again and decide again (optimistic concurrency).
        A key holding a hash is a Conflict (WRONGTYPE), as for :meth:`get`.
        """
        ...

    def delete(self, *keys: str) -> int:
        """Delete keys (strings or hashes); return how many existed."""
        ...

    def hset(self, key: str, mapping: Mapping[str, str]) -> int:
        """Set hash fields; return how many fields were new. An empty mapping is an error."""
        ...

    def hget(self, key: str, field: str) -> str | None: ...

    def hgetall(self, key: str) -> dict[str, str]:
        """All fields of the hash (empty dict if absent)."""
        ...

    def hdel(self, key: str, *fields: str) -> int:
        """Delete fields; return how many existed."""
        ...


@dataclass(frozen=True, slots=True)
class WindowAdd:
    """What one :meth:`Timeline.add_within_limit` did.

    ``added`` says whether a new member went in; ``at`` is the time the step took (the
    score asked for, or the log's highest score if that was later); ``size`` is how many
    members the key holds afterwards, ``trimmed`` how many expired members it removed
    first, ``lowest`` the lowest score left (None if the key is empty).
    """

    added: bool
    at: float
    size: int
    trimmed: int
    lowest: float | None


@runtime_checkable
class Timeline(Protocol):
    """A sorted set of (member, score): ordered by score, ties by member."""

    def add(self, key: str, members: Mapping[str, float]) -> int:
        """Add or re-score members (ZADD); return how many were new.

        Scores must be finite and within +-2**53 (exact in a double), else InvalidArgument.
        """
        ...

    def remove(self, key: str, *members: str) -> int: ...

    def size(self, key: str) -> int: ...

    def score(self, key: str, member: str) -> float | None: ...

    def range_by_rank(
        self, key: str, start: int, stop: int, *, descending: bool = False
    ) -> list[tuple[str, float]]:
        """Members at ranks ``start..stop`` inclusive (negative counts from the end), as ZRANGE."""
        ...

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
        """Members with ``min_score <= score <= max_score`` (``<`` if ``min_exclusive``).

        Ascending by default; ``descending`` walks from ``max_score`` down. ``limit`` caps
        the count. Use ``float('-inf')``/``float('inf')`` for open ends.
        """
        ...

    def trim_to(self, key: str, max_len: int) -> int:
        """Keep only the ``max_len`` highest-scored members; return how many were removed."""
        ...

    def add_within_limit(
        self, key: str, score: float, *, window: float, limit: int
    ) -> WindowAdd:
        """One step of a sliding-window log, atomically (on Redis: one EVAL).

        The step's time ``at`` is ``score``, or the log's highest score if that is later:
        the log only moves forward, so a writer whose clock lags (or whose call arrives
        late) cannot reopen room that a later writer already used. Members scored at most
        ``at - window`` are removed; then, if fewer than ``limit`` are left, a new member
        ``f"{at:.17g}#{n}"`` is added at ``at`` (``n`` the members left, counted up until
        the name is new, so two writers never share one).
        """
        ...


@runtime_checkable
class Counter(Protocol):
    """Atomic integer counters."""

    def incr(self, key: str, amount: int = 1) -> int:
        """Add ``amount`` atomically and return the new value (a missing key counts as 0)."""
        ...

    def get(self, key: str) -> int:
        """Current value (0 if missing)."""
        ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a consumer. ``deliveries`` is 1 on the first delivery."""

    message_id: str
    body: str
    deliveries: int
    published_at: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that will not be delivered again, and why."""

    message_id: str
    body: str
    deliveries: int
    published_at: float
    dead_lettered_at: float
    reason: str


@dataclass(frozen=True, slots=True)
class QueueStatistics:
    """A queue as one consumer group sees it.

    depth          messages waiting to be handed out (new ones, and expired ones due again)
    in_flight      handed out, not acked, visibility timeout not yet expired
    lag            published but not yet acked or dead-lettered (>= depth + in_flight)
    oldest_age_s   clock.now() - published_at of the oldest message still counted in lag
    """

    published: int
    delivered: int
    redelivered: int
    acked: int
    dead_lettered: int
    depth: int
    in_flight: int
    lag: int
    oldest_age_s: float


@runtime_checkable
class WorkQueue(Protocol):
    """At-least-once work queue with consumer groups (a Redis Stream, or its in-memory twin).

    Each group sees every message; inside a group each message goes to one consumer at a time.
    A message not acked within ``visibility_timeout_s`` of its delivery (on the injected clock)
    is delivered again; when it has been delivered ``max_deliveries`` times and expires once
    more, it moves to the group's dead-letter list instead.
    """

    def create_group(
        self,
        queue: str,
        group: str,
        *,
        visibility_timeout_s: float = 30.0,
        max_deliveries: int = 5,
    ) -> None:
        """Create a consumer group that sees messages published from now on. Idempotent only
        with identical settings; different settings raise Conflict."""
        ...

    def publish(self, queue: str, body: str) -> str:
        """Append a message; return its id (ids sort in publish order)."""
        ...

    def consume(self, queue: str, group: str, consumer: str, *, count: int = 1) -> list[Delivery]:
        """Hand out up to ``count`` messages: expired in-flight ones first, then new ones.

        Raises NotFound if the group does not exist.
        """
        ...

    def ack(self, queue: str, group: str, message_id: str) -> bool:
        """Mark done; True if it was in flight (a late or repeated ack returns False)."""
        ...

    def dead_letter(self, queue: str, group: str, message_id: str, reason: str) -> bool:
        """Move an in-flight message to the dead-letter list now (a permanent failure)."""
        ...

    def dead_letters(self, queue: str, group: str) -> list[DeadLetter]:
        """The group's dead letters, oldest first."""
        ...

    def replay_dead_letters(
        self, queue: str, group: str, message_ids: Sequence[str] | None = None
    ) -> int:
        """Make dead letters deliverable again (all, or the given ids) with a fresh delivery
        count; return how many were replayed."""
        ...

    def statistics(self, queue: str, group: str) -> QueueStatistics: ...


@runtime_checkable
class Subscription(Protocol):
    """One subscriber's inbox on one or more channels."""

    def get_messages(self, *, timeout_s: float = 0.0) -> list[tuple[str, str]]:
        """Drain (channel, message) pairs received so far, in publish order.

        A network backend may wait up to ``timeout_s`` for the first one to arrive.
        """
        ...

    def close(self) -> None: ...


@runtime_checkable
class PubSub(Protocol):
    """Fire-and-forget broadcast: only subscribers connected at publish time receive."""

    def publish(self, channel: str, message: str) -> int:
        """Send to current subscribers; return how many received it."""
        ...

    def subscribe(self, *channels: str) -> Subscription: ...
