"""Unique ids: a Snowflake generator and a per-channel local sequence.

Snowflake (Twitter, 2010) packs a 64-bit id as::

     1 bit   41 bits                    5 bits        5 bits      12 bits
    [ 0 | ms since a custom epoch | datacenter id | worker id | sequence ]

so ids from one worker are unique, and ids from all workers are *k-sorted* by time: sort them
and you get creation order to within a millisecond. One worker issues at most 4096 ids in a
millisecond; the 4097th waits for the next millisecond. If the clock goes backwards, an id
could repeat, so the generator refuses (or, by policy, waits until the clock catches up).

A chat channel only needs ids that are unique and ordered *within the channel*: a local
sequence (지역적 순서 번호 생성기) backed by the store's atomic counter is enough, and its
numbers are small and dense (1, 2, 3, ...).

Examples
--------
>>> from reference.core.clock import FakeClock
>>> clock = FakeClock(start=1_420_070_400.0)        # 2015-01-01, Discord's epoch
>>> gen = SnowflakeGenerator(clock, datacenter_id=1, worker_id=2, epoch_ms=DISCORD_EPOCH_MS)
>>> first, second = gen.next_id(), gen.next_id()
>>> first, second
(139264, 139265)
>>> decode(second, epoch_ms=DISCORD_EPOCH_MS)
SnowflakeParts(timestamp_ms=1420070400000, datacenter_id=1, worker_id=2, sequence=1)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from reference.core.checks import check_int
from reference.core.clock import Clock
from reference.core.errors import ClockMovedBackwards, InvalidArgument

__all__ = [
    "DATACENTER_BITS",
    "DISCORD_EPOCH_MS",
    "FIELDS",
    "IDS_PER_MS",
    "MAX_DATACENTER_ID",
    "MAX_SEQUENCE",
    "MAX_TIMESTAMP_MS",
    "MAX_WORKER_ID",
    "SEQUENCE_BITS",
    "TIMESTAMP_BITS",
    "TWITTER_EPOCH_MS",
    "WORKER_BITS",
    "LocalSequence",
    "SnowflakeGenerator",
    "SnowflakeParts",
    "SnowflakeStatistics",
    "decode",
    "describe",
    "encode",
]

TIMESTAMP_BITS = 41
DATACENTER_BITS = 5
WORKER_BITS = 5
SEQUENCE_BITS = 12

MAX_TIMESTAMP_MS = (1 << TIMESTAMP_BITS) - 1  # ~69.7 years after the epoch
MAX_DATACENTER_ID = (1 << DATACENTER_BITS) - 1  # 31
MAX_WORKER_ID = (1 << WORKER_BITS) - 1  # 31
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1  # 4095
IDS_PER_MS = 1 << SEQUENCE_BITS  # 4096 ids per millisecond per worker

WORKER_SHIFT = SEQUENCE_BITS  # 12
DATACENTER_SHIFT = SEQUENCE_BITS + WORKER_BITS  # 17
TIMESTAMP_SHIFT = SEQUENCE_BITS + WORKER_BITS + DATACENTER_BITS  # 22

TWITTER_EPOCH_MS = 1_288_834_974_657  # 2010-11-04T01:42:54.657Z
DISCORD_EPOCH_MS = 1_420_070_400_000  # 2015-01-01T00:00:00Z

RollbackPolicy = Literal["refuse", "wait"]


@dataclass(frozen=True, slots=True)
class SnowflakeParts:
    """The four fields of a Snowflake id; ``timestamp_ms`` is Unix milliseconds."""

    timestamp_ms: int
    datacenter_id: int
    worker_id: int
    sequence: int


@dataclass(frozen=True, slots=True)
class SnowflakeStatistics:
    """What a generator has done: ids issued and the waits and refusals on the way."""

    issued: int
    sequence_exhausted_waits: int
    rollbacks_refused: int
    rollback_waits: int


def encode(
    *,
    timestamp_ms: int,
    datacenter_id: int,
    worker_id: int,
    sequence: int,
    epoch_ms: int = TWITTER_EPOCH_MS,
) -> int:
    """Pack the four fields into one 63-bit integer.

    Parameters
    ----------
    timestamp_ms : int
        Unix milliseconds; must lie in ``epoch_ms .. epoch_ms + 2**41 - 1``.
    datacenter_id, worker_id : int
        0..31 each.
    sequence : int
        0..4095.
    epoch_ms : int
        The custom epoch the 41-bit field counts from.

    Raises
    ------
    InvalidArgument
        If a field is out of range.

    Examples
    --------
    >>> encode(timestamp_ms=TWITTER_EPOCH_MS + 1, datacenter_id=0, worker_id=0, sequence=0)
    4194304
    """
    check_int("epoch_ms", epoch_ms, 0, 1 << 62)
    elapsed = check_int(
        "timestamp_ms", timestamp_ms, epoch_ms, epoch_ms + MAX_TIMESTAMP_MS
    ) - epoch_ms
    check_int("datacenter_id", datacenter_id, 0, MAX_DATACENTER_ID)
    check_int("worker_id", worker_id, 0, MAX_WORKER_ID)
    check_int("sequence", sequence, 0, MAX_SEQUENCE)
    return (
        (elapsed << TIMESTAMP_SHIFT)
        | (datacenter_id << DATACENTER_SHIFT)
        | (worker_id << WORKER_SHIFT)
        | sequence
    )


def decode(snowflake: int, *, epoch_ms: int = TWITTER_EPOCH_MS) -> SnowflakeParts:
    """Split an id into its fields (the inverse of :func:`encode`).

    Raises
    ------
    InvalidArgument
        If ``snowflake`` is not an integer in ``0 .. 2**63 - 1``.

    Examples
    --------
    >>> decode(4194304 | (3 << 17) | (7 << 12) | 9).worker_id
    7
    """
    check_int("snowflake", snowflake, 0, (1 << 63) - 1)
    check_int("epoch_ms", epoch_ms, 0, 1 << 62)
    return SnowflakeParts(
        timestamp_ms=(snowflake >> TIMESTAMP_SHIFT) + epoch_ms,
        datacenter_id=(snowflake >> DATACENTER_SHIFT) & MAX_DATACENTER_ID,
        worker_id=(snowflake >> WORKER_SHIFT) & MAX_WORKER_ID,
        sequence=snowflake & MAX_SEQUENCE,
    )


FIELDS: tuple[tuple[str, int], ...] = (
    ("sign", 1),
    ("timestamp", TIMESTAMP_BITS),
    ("datacenter", DATACENTER_BITS),
    ("worker", WORKER_BITS),
    ("sequence", SEQUENCE_BITS),
)
"""The 64-bit layout, most significant field first: (name, width in bits)."""


def describe(snowflake: int, *, epoch_ms: int = TWITTER_EPOCH_MS) -> str:
    """Explain an id: its bits grouped by field, and each field's value.

    Examples
    --------
    >>> print(describe(encode(timestamp_ms=TWITTER_EPOCH_MS + 5, datacenter_id=1,
    ...                       worker_id=2, sequence=3)))
    id 21110787 = 0b 0 00000000000000000000000000000000000000101 00001 00010 000000000011
      timestamp   5 ms after the epoch = 2010-11-04T01:42:54.662Z
      datacenter  1
      worker      2
      sequence    3
    """
    parts = decode(snowflake, epoch_ms=epoch_ms)
    bits = format(snowflake, "064b")
    groups, start = [], 0
    for _, width in FIELDS:
        groups.append(bits[start : start + width])
        start += width
    when = datetime.fromtimestamp(parts.timestamp_ms / 1000, tz=UTC)
    iso = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parts.timestamp_ms % 1000:03d}Z"
    return "\n".join(
        [
            f"id {snowflake} = 0b " + " ".join(groups),
            f"  timestamp   {parts.timestamp_ms - epoch_ms} ms after the epoch = {iso}",
            f"  datacenter  {parts.datacenter_id}",
            f"  worker      {parts.worker_id}",
            f"  sequence    {parts.sequence}",
        ]
    )


class SnowflakeGenerator:
    """Issue unique, time-ordered 64-bit ids for one (datacenter, worker).

    Parameters
    ----------
    clock : Clock
        Where time comes from (inject a :class:`~reference.core.clock.FakeClock` in tests).
    datacenter_id, worker_id : int
        0..31 each; every live generator needs its own pair.
    epoch_ms : int
        Custom epoch in Unix ms (Twitter's by default); must not be after the clock's now.
    on_clock_rollback : {"refuse", "wait"}
        ``"refuse"`` raises :class:`ClockMovedBackwards`; ``"wait"`` sleeps on the clock until
        it passes the last issued millisecond, up to ``max_rollback_wait_ms``, then refuses.
    max_rollback_wait_ms : int
        The longest rollback the ``"wait"`` policy will sit out.

    Notes
    -----
    ``next_id`` is O(1). Within one millisecond the sequence counts 0..4095; the 4097th call
    sleeps on the clock until the next millisecond (counted in ``statistics()``). The trade-off
    taught: no coordination between workers at all, at the price of trusting the clock.
    """

    __slots__ = (
        "_clock",
        "_issued",
        "_last_ms",
        "_policy",
        "_prefix",
        "_rollback_waits",
        "_rollbacks_refused",
        "_seq_waits",
        "_sequence",
        "datacenter_id",
        "epoch_ms",
        "max_rollback_wait_ms",
        "worker_id",
    )

    def __init__(
        self,
        clock: Clock,
        *,
        datacenter_id: int = 0,
        worker_id: int = 0,
        epoch_ms: int = TWITTER_EPOCH_MS,
        on_clock_rollback: RollbackPolicy = "refuse",
        max_rollback_wait_ms: int = 1_000,
    ) -> None:
        if not isinstance(clock, Clock):
            raise InvalidArgument.bad_value("clock", clock, "a Clock (now, now_ms, sleep)")
        self.datacenter_id = check_int("datacenter_id", datacenter_id, 0, MAX_DATACENTER_ID)
        self.worker_id = check_int("worker_id", worker_id, 0, MAX_WORKER_ID)
        now_ms = clock.now_ms()
        self.epoch_ms = check_int("epoch_ms", epoch_ms, 0, now_ms)
        if on_clock_rollback not in ("refuse", "wait"):
            raise InvalidArgument.bad_value(
                "on_clock_rollback", on_clock_rollback, "'refuse' or 'wait'"
            )
        self.max_rollback_wait_ms = check_int(
            "max_rollback_wait_ms", max_rollback_wait_ms, 0, 3_600_000
        )
        self._clock = clock
        self._policy: RollbackPolicy = on_clock_rollback
        self._prefix = (datacenter_id << DATACENTER_SHIFT) | (worker_id << WORKER_SHIFT)
        self._last_ms = -1
        self._sequence = 0
        self._issued = 0
        self._seq_waits = 0
        self._rollbacks_refused = 0
        self._rollback_waits = 0

    def next_id(self) -> int:
        """Return the next id.

        Raises
        ------
        ClockMovedBackwards
            If the clock is behind the last issued millisecond (policy ``"refuse"``, or a
            rollback longer than ``max_rollback_wait_ms`` under ``"wait"``).
        InvalidArgument
            If the clock has run past the 41-bit range of the epoch (~69 years), or reads a
            time before the epoch. Either way nothing is issued and the state is unchanged.
        """
        now_ms = self._clock.now_ms()
        if now_ms < self._last_ms:
            now_ms = self._handle_rollback(now_ms)
        sequence = 0
        if now_ms == self._last_ms:
            sequence = self._sequence + 1
            if sequence > MAX_SEQUENCE:
                self._seq_waits += 1
                now_ms = self._wait_past(self._last_ms)
                sequence = 0
        elapsed = now_ms - self.epoch_ms
        if elapsed < 0:
            raise InvalidArgument(
                f"clock reads {now_ms} ms, before epoch_ms={self.epoch_ms}: expected a clock "
                f"at or after the epoch (ids before it would be negative)"
            )
        if elapsed > MAX_TIMESTAMP_MS:
            # Checked before (last_ms, sequence) change: a refused call must not reset the
            # sequence, or a later call in the last millisecond would repeat an id.
            raise InvalidArgument(
                f"clock is {elapsed} ms past epoch_ms={self.epoch_ms}: expected at most "
                f"{MAX_TIMESTAMP_MS} ms (41 bits); choose a later epoch"
            )
        self._last_ms = now_ms
        self._sequence = sequence
        self._issued += 1
        return (elapsed << TIMESTAMP_SHIFT) | self._prefix | sequence

    def _handle_rollback(self, now_ms: int) -> int:
        behind = self._last_ms - now_ms
        if self._policy == "refuse" or behind > self.max_rollback_wait_ms:
            self._rollbacks_refused += 1
            raise ClockMovedBackwards(self._last_ms, now_ms)
        self._rollback_waits += 1
        return self._wait_past(self._last_ms - 1)

    def _wait_past(self, ms: int) -> int:
        """Sleep on the clock until it reads a millisecond after ``ms``; return that reading."""
        now_ms = self._clock.now_ms()
        while now_ms <= ms:
            self._clock.sleep((ms + 1 - now_ms) / 1000)
            now_ms = self._clock.now_ms()
        return now_ms

    def statistics(self) -> SnowflakeStatistics:
        return SnowflakeStatistics(
            issued=self._issued,
            sequence_exhausted_waits=self._seq_waits,
            rollbacks_refused=self._rollbacks_refused,
            rollback_waits=self._rollback_waits,
        )

    def decode(self, snowflake: int) -> SnowflakeParts:
        """Decode an id with this generator's epoch."""
        return decode(snowflake, epoch_ms=self.epoch_ms)

    def __repr__(self) -> str:
        return (
            f"SnowflakeGenerator(datacenter_id={self.datacenter_id}, "
            f"worker_id={self.worker_id}, epoch_ms={self.epoch_ms})"
        )


class AtomicCounter(Protocol):
    """The slice of the storage counter port a local sequence needs."""

    def incr(self, key: str, amount: int = 1) -> int: ...

    def get(self, key: str) -> int: ...


class LocalSequence:
    """Per-channel message numbers 1, 2, 3, ... from the store's atomic counter.

    Parameters
    ----------
    counter : AtomicCounter
        A storage counter port (``store.counter``); its ``incr`` is atomic on every backend.
    namespace : str
        Key prefix; the channel id goes inside a hash tag (``seq:{42}``) so each channel's
        counter lives on one Redis Cluster slot.

    Notes
    -----
    One round trip per id and no clock at all; uniqueness holds only *within* a channel,
    which is all the chapter needs to order messages and to sync ``cur_max_message_id``.

    Examples
    --------
    >>> class DictCounter:
    ...     def __init__(self): self.values = {}
    ...     def incr(self, key, amount=1):
    ...         self.values[key] = self.values.get(key, 0) + amount
    ...         return self.values[key]
    ...     def get(self, key): return self.values.get(key, 0)
    >>> seq = LocalSequence(DictCounter())
    >>> seq.next_id("general"), seq.next_id("general"), seq.next_id("random")
    (1, 2, 1)
    >>> seq.current("general")
    2
    """

    __slots__ = ("_counter", "namespace")

    def __init__(self, counter: AtomicCounter, *, namespace: str = "seq") -> None:
        if not callable(getattr(counter, "incr", None)) or not callable(
            getattr(counter, "get", None)
        ):
            raise InvalidArgument.bad_value(
                "counter", counter, "a counter port with incr(key, amount) and get(key)"
            )
        if not isinstance(namespace, str) or not namespace or "{" in namespace:
            raise InvalidArgument.bad_value(
                "namespace", namespace, "a non-empty string without '{'"
            )
        self._counter = counter
        self.namespace = namespace

    def _key(self, channel_id: str | int) -> str:
        if isinstance(channel_id, bool) or not isinstance(channel_id, (str, int)):
            raise InvalidArgument.bad_value("channel_id", channel_id, "a str or int")
        text = str(channel_id)
        if not text or (isinstance(channel_id, int) and channel_id < 0) or "}" in text:
            raise InvalidArgument.bad_value(
                "channel_id", channel_id, "a non-empty name without '}' or an int >= 0"
            )
        return f"{self.namespace}:{{{text}}}"

    def next_id(self, channel_id: str | int) -> int:
        """Return the next number in ``channel_id``'s sequence (the first is 1)."""
        return self._counter.incr(self._key(channel_id), 1)

    def current(self, channel_id: str | int) -> int:
        """The last number issued in ``channel_id`` (0 if none)."""
        return self._counter.get(self._key(channel_id))
