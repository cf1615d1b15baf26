"""The storage ports: small Protocols the chapters depend on, never a client library.

Seven ports, each with one contract suite (``tests/storage/``) run against every backend:

========== ================================================== ============================
port       what it is for                                     Redis structure underneath
========== ================================================== ============================
KeyValue   strings and hashes: user settings, contact info,   STRING, HASH (compare-and-set:
           idempotency keys (``set(..., if_absent=True)``,     a Lua script, one round trip)
           ``compare_and_set``), posts fetched by id in bulk
           (``get_many``)
Timeline   a sorted set: feeds, message history, due times,    ZSET (a sliding-window add:
           sliding-window logs (``add_within_limit``)          a Lua script, one round trip)
IdTimeline ids per key in exact id order: ID-only news feeds,  ZSET, every score 0, members
           chat history by message id (Snowflake ids, far      20-digit zero-padded ids:
           beyond the 2**53 a score holds exactly)             ordered by their bytes
CappedList a newest-first list capped at N: Twitter's home     LIST (LPUSH + LTRIM)
           timeline (arrival order, duplicates kept)
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

Many keys in one round trip
---------------------------
The ``*_many`` methods (``get_many``, ``add_to_many``, ``newest_many``, ...) touch many keys
for the price of ONE round trip: on Redis they send one command per key in one
non-transactional *pipeline*. Not ``MGET``: a multi-key command needs every key on one
cluster slot, and ``feed:{7}`` and ``feed:{8}`` may live on different nodes; a pipeline is
the cluster-safe form (a cluster client splits it into one pipeline per node). Rules shared
by all of them:

* ``keys`` is a list or tuple of keys; an empty one is allowed and sends nothing.
* Reads answer every position, in order: a key listed twice is answered twice.
* Writes touch each key once: a key listed twice is written once (and counted once).
* A pipeline is not a transaction: if one key holds another kind of value, the other keys
  are still written and :class:`~reference.core.errors.Conflict` (WRONGTYPE) is raised
  afterwards, on every backend alike. Bad *arguments* are refused before anything is sent.

Fanout into caches: ``only_existing``
-------------------------------------
A feed in a cache is a *copy*, rebuilt from the database on a miss. A fanout worker that
writes a new post id into every follower's cached feed must not *create* a feed that is
not cached (wiped with a lost cache node, or never built for an inactive user): the new
feed would hold that one post and hide everything older, where a miss would have rebuilt
it whole. So :meth:`IdTimeline.add_to_many` and :meth:`CappedList.push_to_many` (and their
single-key ``add``/``push``) take ``only_existing=True``: a key that does not exist is left
absent, nothing written and nothing counted. Twitter's timelines worked this way: no
timeline in cache, no fanout to it; rebuilt when the user comes back. A key that exists
but holds another kind of value is still a Conflict, as above. Still one round trip per
call: ``LPUSHX`` + ``LTRIM`` per list; per id timeline one ``EVALSHA`` of a small Lua
script (EXISTS, then ZADD and the trim), since a sorted set has no "add only if the key
exists" command. The very first such call on a server that does not hold the script yet
costs three round trips: the refused pipeline, one ``SCRIPT LOAD``, the pipeline again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "ID_WIDTH",
    "MAX_EXACT_SCORE",
    "CappedList",
    "Counter",
    "DeadLetter",
    "Delivery",
    "IdTimeline",
    "KeyValue",
    "PubSub",
    "QueueStatistics",
    "Subscription",
    "Timeline",
    "WindowAdd",
    "WorkQueue",
]

MAX_EXACT_SCORE = 2**53  # sorted-set scores are IEEE doubles: integers beyond this lose precision
ID_WIDTH = 20  # digits of an IdTimeline member: f"{id:020d}" holds every 64-bit id


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

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """The value at each key, in order (None where absent): one round trip.

        Notes
        -----
        One pipelined GET per key, not MGET: MGET needs every key on one cluster slot
        (see "Many keys in one round trip" above). The way a feed turns post ids into posts.
        """
        ...

    def set_many(self, mapping: Mapping[str, str]) -> None:
        """Store every ``key -> value`` (plain SET each): one round trip, not atomic."""
        ...

    def hgetall_many(self, keys: Sequence[str]) -> list[dict[str, str]]:
        """Every key's hash, in order (``{}`` where absent): one round trip."""
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

    def add_to_many(
        self, keys: Sequence[str], member: str, score: float, *, max_len: int | None = None
    ) -> int:
        """Add one member to many sorted sets (fanout on write), each then trimmed to its
        ``max_len`` highest if given (>= 1); one round trip. Return how many keys got it as
        new (ZADD's answer: a member added and trimmed at once still counts).

        Notes
        -----
        One ZADD (and one ZREMRANGEBYRANK) per key in one pipeline: the write amplification
        of fanout on write is one command per follower, the latency one round trip.
        """
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
class IdTimeline(Protocol):
    """Integer ids per key (Snowflake post or message ids), ordered exactly by id.

    Why not :class:`Timeline`: sorted-set scores are doubles, exact only up to 2**53, and a
    Snowflake id is about 2**61, so two ids a few apart would share one score and their
    order would be lost. This port stays exact on every backend.

    Decision: every id is a ZSET member with score 0, written as fixed-width zero-padded
    decimal (``f"{id:020d}"``, :data:`ID_WIDTH` digits hold every 64-bit id). Redis orders
    members of equal score by their bytes, and for fixed-width digits byte order IS numeric
    order. So a cursor page is ONE native command (``ZREVRANGEBYLEX key (<cursor> - LIMIT 0
    n``), the newest N are ``ZREVRANGE key 0 N-1`` and trimming to the newest N is
    ``ZREMRANGEBYRANK key 0 -(N+1)``, each O(log n + k). The memory backend keeps a sorted
    list of ints per key (bisect).

    Not chosen: score = the id's millisecond (exact in a double), member = the fixed-width
    id. Ids within one millisecond would still be ordered by member, but an exact
    ``id < cursor`` page would start in the middle of the cursor's millisecond, which no
    single native command expresses (``BYLEX`` ranges are only meaningful when all scores
    are equal): it would need a Lua script or two round trips.

    Rules: ids are ints (not bool) with ``0 <= id < 2**63``; ``limit`` is an int >= 1 (a
    page of nothing is a caller's bug); ``max_len`` is >= 1 when writing (an id written
    into a timeline that keeps none makes no sense) and >= 0 for :meth:`trim_to` (0
    empties the key). Many-key calls follow "Many keys in one round trip" above. A key
    holding another kind of value is a Conflict (WRONGTYPE). Do not use the same key with
    :class:`Timeline`: on Redis both are ZSETs and the server cannot tell them apart, while
    the memory backend refuses the mix with Conflict.

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> from reference.storage import connect
    >>> history = connect("memory", clock=FakeClock()).id_timeline
    >>> history.add("channel:{7}", [2**61 + 3, 2**61 + 1, 2**61 + 2])  # all one double
    3
    >>> history.newest("channel:{7}", limit=2)  # the latest page
    [2305843009213693955, 2305843009213693954]
    >>> history.oldest_after("channel:{7}", 2**61 + 1, limit=10)  # a device's sync
    [2305843009213693954, 2305843009213693955]
    """

    def add(self, key: str, ids: Iterable[int], *, only_existing: bool = False) -> int:
        """Add ids (none is fine); return how many were new.

        With ``only_existing`` the ids go in only if the key exists: an absent key stays
        absent and the answer is 0 (see "Fanout into caches" above). On Redis one EVALSHA.
        """
        ...

    def add_to_many(
        self,
        keys: Sequence[str],
        id: int,
        *,
        max_len: int | None = None,
        only_existing: bool = False,
    ) -> int:
        """Write ONE id into MANY keys (fanout on write), each then trimmed to its newest
        ``max_len`` if given; one round trip. Return how many keys got it as new (ZADD's
        answer: an id older than a full timeline is added, trimmed at once, and counts).

        With ``only_existing`` only the keys that exist are written (and counted); the
        others stay absent, so a feed that is not cached is rebuilt whole on its next miss
        instead of being created holding one post (see "Fanout into caches" above).

        Notes
        -----
        On Redis one pipeline of ZADD (+ ZREMRANGEBYRANK) per key; with ``only_existing``
        one EVALSHA per key, a Lua script doing EXISTS, ZADD, ZREMRANGEBYRANK atomically.
        The very first such call on a server without the script costs three round trips
        (NOSCRIPT, SCRIPT LOAD, the pipeline again); every later call one.
        """
        ...

    def remove(self, key: str, *ids: int) -> int:
        """Remove ids; return how many were there."""
        ...

    def remove_from_many(self, keys: Sequence[str], id: int) -> int:
        """Remove one id from many keys (a deleted post); one round trip. Return how many
        keys held it."""
        ...

    def newest(self, key: str, *, limit: int, before: int | None = None) -> list[int]:
        """Up to ``limit`` ids, newest first; only ids strictly below ``before`` if given.

        Pass the last id of a page as the next page's ``before`` (an ``id_lt`` cursor):
        ids added meanwhile are higher, so a walk down never skips or repeats.
        """
        ...

    def oldest_after(self, key: str, after: int, *, limit: int) -> list[int]:
        """Up to ``limit`` ids strictly greater than ``after``, ascending (chat sync:
        everything after the device's ``cur_max_message_id``)."""
        ...

    def newest_many(self, keys: Sequence[str], *, limit: int) -> list[list[int]]:
        """Each key's newest ``limit`` ids, newest first, in key order; one round trip
        (fanout on read: a pull-model feed merges the timelines it reads)."""
        ...

    def size(self, key: str) -> int:
        """How many ids the key holds (0 if absent)."""
        ...

    def trim_to(self, key: str, max_len: int) -> int:
        """Keep the newest ``max_len`` ids; return how many were removed."""
        ...


@runtime_checkable
class CappedList(Protocol):
    """A list kept newest-first and capped at N items: Twitter's home timeline structure.

    On Redis a LIST: a push is ``LPUSH`` then ``LTRIM key 0 N-1``, sent together. The
    memory backend keeps a deque per key.

    Trade-off against :class:`IdTimeline`: a push is O(1) and the order is *arrival*
    order, so a late or redelivered write lands out of id order and a duplicate push is
    kept twice; an IdTimeline keeps exact id order and set semantics (a repeat is a no-op)
    at O(log n) per write. Choose the list when writes arrive in order and are written
    once, or when the reader re-sorts and de-duplicates anyway.

    Rules: ``max_len`` is an int >= 1; ``start``/``stop`` follow LRANGE; many-key calls
    follow "Many keys in one round trip" above. A key holding another kind of value is a
    Conflict (WRONGTYPE).

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> from reference.storage import connect
    >>> home = connect("memory", clock=FakeClock()).lists
    >>> for tweet in ("t1", "t2", "t3", "t4"):
    ...     _ = home.push("home:{42}", tweet, max_len=3)
    >>> home.range("home:{42}", 0, -1)  # newest first, t1 fell off the cap
    ['t4', 't3', 't2']
    >>> home.push("home:{42}", "t3", max_len=3)  # a redelivery: kept twice, t2 falls off
    3
    >>> home.range("home:{42}", 0, -1)
    ['t3', 't4', 't3']
    """

    def push(self, key: str, item: str, *, max_len: int, only_existing: bool = False) -> int:
        """Push ``item`` to the front and trim to ``max_len``; return the length after.

        With ``only_existing`` only into a list that exists (``LPUSHX``): an absent key
        stays absent and the answer is 0 (see "Fanout into caches" above).
        On Redis one MULTI/EXEC (one round trip): no reader sees the list over its cap.
        """
        ...

    def extend(self, key: str, items: Sequence[str], *, max_len: int) -> int:
        """Push ``items`` to the front one after the other (the last ends up first), then
        trim to ``max_len``; return the length after. A rebuilt list in one call: on Redis
        one MULTI with one ``LPUSH`` of every item and one ``LTRIM`` (one round trip). No
        items: nothing is sent, and the answer is the list's length."""
        ...

    def push_to_many(
        self, keys: Sequence[str], item: str, *, max_len: int, only_existing: bool = False
    ) -> None:
        """Push one item to the front of many lists, each trimmed to ``max_len``; one round
        trip. Returns None: a plain push always lands, so there is nothing to count.

        With ``only_existing`` only lists that exist get the item; absent keys stay absent,
        so a home timeline that is not cached is rebuilt whole on its next miss instead of
        being created holding one item (see "Fanout into caches" above). On Redis one
        pipeline of ``LPUSHX`` + ``LTRIM`` per key (``LPUSH`` + ``LTRIM`` without it).
        """
        ...

    def range(self, key: str, start: int, stop: int) -> list[str]:
        """Items at positions ``start..stop`` inclusive, newest first; negative counts from
        the end (LRANGE: ``0, -1`` is everything)."""
        ...

    def range_many(self, keys: Sequence[str], start: int, stop: int) -> list[list[str]]:
        """:meth:`range` of every key, in key order; one round trip."""
        ...

    def length(self, key: str) -> int:
        """How many items the list holds (0 if absent)."""
        ...

    def remove(self, key: str, item: str) -> int:
        """Remove every occurrence of ``item`` (LREM key 0 item); return how many.

        Notes
        -----
        O(n): a list has no index, so it is scanned end to end (an IdTimeline removes in
        O(log n)).
        """
        ...

    def remove_from_many(self, keys: Sequence[str], item: str) -> int:
        """Remove every occurrence of ``item`` from many lists; one round trip. Return how
        many occurrences went, in all."""
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

    def get_many(self, keys: Sequence[str]) -> list[int]:
        """Each key's current value (0 if missing), in order: one round trip on Redis (a
        pipeline of GETs; see "Many keys in one round trip")."""
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
