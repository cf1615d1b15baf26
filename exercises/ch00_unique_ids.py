"""Exercise ch00: unique ids — rebuild a Snowflake generator and a per-channel local sequence.

Every function and method below raises ``NotImplementedError``: replace each body with your
implementation. The docstrings are the contract; the graders in
``exercises/graders/test_ch00_unique_ids.py`` check it. Grade yourself with::

    make grade CHAPTER=0                      # the whole chapter, as a table
    check("snowflake-encode")                 # one exercise, inside a notebook

The vocabulary is yours to use, not to rebuild: the bit-width constants, the epochs,
:class:`SnowflakeParts` and :class:`SnowflakeStatistics` (imported below from
``reference.core.ids``), and the errors :class:`InvalidArgument` and
:class:`ClockMovedBackwards` from ``reference.core.errors``.

The layout you are building, most significant bit first::

     1 bit   41 bits                    5 bits        5 bits      12 bits
    [ 0 | ms since a custom epoch | datacenter id | worker id | sequence ]

so the sequence sits in bits 0-11, the worker id is shifted left by 12, the datacenter id
by 17 and the elapsed milliseconds by 22.

Exercises (name → what to implement):

========================== ==============================================================
snowflake-encode           :func:`encode`
snowflake-decode           :func:`decode`
snowflake-generator        ``SnowflakeGenerator.__init__``, ``next_id``, ``decode``
snowflake-sequence         4096 ids per ms, then wait for the next ms (``next_id``)
snowflake-clock-rollback   refuse, or wait out, a clock that moved backwards (``next_id``)
snowflake-unique-k-sorted  many ids, many workers: unique, and sorted by time
snowflake-statistics       ``SnowflakeGenerator.statistics``
local-sequence             :class:`LocalSequence`
========================== ==============================================================
"""

from __future__ import annotations

from reference.core.clock import Clock
from reference.core.errors import ClockMovedBackwards, InvalidArgument  # noqa: F401  (yours to raise)
from reference.core.ids import (
    DATACENTER_BITS,
    DISCORD_EPOCH_MS,
    FIELDS,
    IDS_PER_MS,
    MAX_DATACENTER_ID,
    MAX_SEQUENCE,
    MAX_TIMESTAMP_MS,
    MAX_WORKER_ID,
    SEQUENCE_BITS,
    TIMESTAMP_BITS,
    TWITTER_EPOCH_MS,
    WORKER_BITS,
    AtomicCounter,
    RollbackPolicy,
    SnowflakeParts,
    SnowflakeStatistics,
)

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
    "encode",
]


def encode(
    *,
    timestamp_ms: int,
    datacenter_id: int,
    worker_id: int,
    sequence: int,
    epoch_ms: int = TWITTER_EPOCH_MS,
) -> int:
    """Pack the four fields into one 63-bit integer (exercise ``snowflake-encode``).

    Parameters
    ----------
    timestamp_ms : int
        Unix milliseconds; must lie in ``epoch_ms .. epoch_ms + MAX_TIMESTAMP_MS``.
    datacenter_id, worker_id : int
        ``0..31`` each.
    sequence : int
        ``0..4095``.
    epoch_ms : int
        The custom epoch the 41-bit field counts from (Twitter's by default).

    Returns
    -------
    int
        ``(timestamp_ms - epoch_ms) << 22 | datacenter_id << 17 | worker_id << 12 | sequence``.

    Raises
    ------
    InvalidArgument
        If a field is not an integer or is out of its range; the message names the field,
        e.g. ``InvalidArgument.bad_value("worker_id", 32, "an integer in 0..31")``.

    Hint
    ----
    Check every field first, then shift each one into place and combine them with ``|``.

    Examples
    --------
    >>> encode(timestamp_ms=TWITTER_EPOCH_MS + 1, datacenter_id=0, worker_id=0, sequence=0)
    4194304
    """
    raise NotImplementedError("exercise: encode — validate the four fields, then shift and OR them")


def decode(snowflake: int, *, epoch_ms: int = TWITTER_EPOCH_MS) -> SnowflakeParts:
    """Split an id into its four fields: the inverse of :func:`encode` (``snowflake-decode``).

    Parameters
    ----------
    snowflake : int
        An id in ``0 .. 2**63 - 1``.
    epoch_ms : int
        The epoch the id was encoded with.

    Returns
    -------
    SnowflakeParts
        ``reference.core.ids.SnowflakeParts`` with ``timestamp_ms`` in Unix milliseconds
        (the elapsed field plus ``epoch_ms``).

    Raises
    ------
    InvalidArgument
        If ``snowflake`` is not an integer in ``0 .. 2**63 - 1``.

    Hint
    ----
    Shift right to bring a field down to bit 0, then mask it: ``(x >> 12) & 0b11111``.

    Examples
    --------
    >>> decode(175928847299117063, epoch_ms=DISCORD_EPOCH_MS)    # a real Discord id
    SnowflakeParts(timestamp_ms=1462015105796, datacenter_id=1, worker_id=0, sequence=7)
    """
    raise NotImplementedError("exercise: decode — shift each field down to bit 0 and mask it")


class SnowflakeGenerator:
    """Issue unique, time-ordered 64-bit ids for one (datacenter, worker).

    Parameters
    ----------
    clock : Clock
        Where time comes from: read it with ``clock.now_ms()``, wait with ``clock.sleep(s)``.
        Tests pass a ``FakeClock``, which moves *only* when slept or advanced, so a busy loop
        that re-reads it without sleeping never ends.
    datacenter_id, worker_id : int
        ``0..31`` each; keep them as the public attributes ``datacenter_id`` and ``worker_id``.
    epoch_ms : int
        Custom epoch in Unix ms, kept as the attribute ``epoch_ms``; must be ``>= 0`` and not
        after the clock's current millisecond.
    on_clock_rollback : {"refuse", "wait"}
        What ``next_id`` does when the clock reads earlier than the last id it issued.
    max_rollback_wait_ms : int
        ``>= 0``: the longest rollback the ``"wait"`` policy sits out.

    Raises
    ------
    InvalidArgument
        For a ``clock`` that is not a :class:`~reference.core.clock.Clock`, an id out of range,
        an epoch in the future, an unknown policy or a negative ``max_rollback_wait_ms``.

    Notes
    -----
    ``next_id`` is O(1) and needs no coordination between workers: the price is trusting the
    clock. The state you need is small: the millisecond of the last id, the sequence used in
    it, and four counters for :meth:`statistics`.

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> clock = FakeClock(start=1_420_070_400.0)        # 2015-01-01, Discord's epoch
    >>> gen = SnowflakeGenerator(clock, datacenter_id=1, worker_id=2, epoch_ms=DISCORD_EPOCH_MS)
    >>> gen.next_id(), gen.next_id()
    (139264, 139265)
    """

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
        """Validate every setting, then remember them (exercise ``snowflake-generator``).

        Hint
        ----
        ``isinstance(clock, Clock)`` works (``Clock`` is a runtime-checkable Protocol). Read
        the clock once here to reject an ``epoch_ms`` in the future.
        """
        raise NotImplementedError(
            "exercise: SnowflakeGenerator.__init__ — validate the settings and set up the state"
        )

    def next_id(self) -> int:
        """Return the next id: unique for this worker, larger than every id issued before.

        Contract
        --------
        * Stamp the id with ``clock.now_ms()``. Within one millisecond the sequence counts
          0, 1, ..., 4095; in a new millisecond it starts again at 0 (``snowflake-generator``).
        * The 4097th id in one millisecond sleeps on the clock until the next millisecond
          and uses sequence 0 there (``snowflake-sequence``).
        * If the clock reads earlier than the last issued millisecond
          (``snowflake-clock-rollback``):

          - policy ``"refuse"``: raise ``ClockMovedBackwards(last_ms, now_ms)`` at once;
          - policy ``"wait"``: if the clock is at most ``max_rollback_wait_ms`` behind, sleep
            on the clock until it is back at (or past) the last millisecond, then issue as
            usual; if it is further behind, raise ``ClockMovedBackwards`` without waiting.

          A refused call issues nothing and changes nothing: the next successful call
          continues exactly where the last successful one left off.

        Raises
        ------
        ClockMovedBackwards
            As above.

        Hint
        ----
        Compare ``now_ms`` with the last millisecond you issued in: smaller → rollback;
        equal → next sequence (overflow → wait); larger → sequence 0. Wait with
        ``clock.sleep((target_ms - now_ms) / 1000)`` and read the clock again.
        """
        raise NotImplementedError(
            "exercise: SnowflakeGenerator.next_id — stamp, sequence, overflow wait, rollback"
        )

    def statistics(self) -> SnowflakeStatistics:
        """A snapshot of what the generator has done (exercise ``snowflake-statistics``).

        Returns
        -------
        SnowflakeStatistics
            ``issued`` (ids returned), ``sequence_exhausted_waits`` (times the 4096-per-ms
            limit made ``next_id`` wait), ``rollbacks_refused`` (``ClockMovedBackwards``
            raised) and ``rollback_waits`` (rollbacks sat out under ``"wait"``).

        Hint
        ----
        Keep four integer counters and build a new ``SnowflakeStatistics`` on every call, so
        an earlier snapshot never changes.
        """
        raise NotImplementedError(
            "exercise: SnowflakeGenerator.statistics — count ids, waits and refusals"
        )

    def decode(self, snowflake: int) -> SnowflakeParts:
        """Decode an id with this generator's ``epoch_ms`` (exercise ``snowflake-generator``).

        Hint
        ----
        One line: call your module-level :func:`decode`.
        """
        raise NotImplementedError(
            "exercise: SnowflakeGenerator.decode — decode with this generator's epoch"
        )


class LocalSequence:
    """Per-channel message numbers 1, 2, 3, ... from the store's atomic counter.

    Exercise ``local-sequence``.

    Parameters
    ----------
    counter : AtomicCounter
        Anything with ``incr(key, amount=1) -> int`` (atomic; a missing key counts as 0) and
        ``get(key) -> int`` (0 if missing), such as a storage backend's ``counter`` port.
    namespace : str
        Key prefix: a non-empty string without ``"{"``.

    Raises
    ------
    InvalidArgument
        If ``counter`` lacks a callable ``incr`` or ``get``, or ``namespace`` is bad.

    Notes
    -----
    Keep no numbers in the object: the counter is the only state, so two ``LocalSequence``
    objects over one store (two chat servers) continue one another's sequence. Each channel
    has its own key, ``f"{namespace}:{{{channel_id}}}"`` (``seq:{42}``): the channel id sits
    in a Redis Cluster hash tag. One atomic ``incr`` per id, no clock at all.

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

    def __init__(self, counter: AtomicCounter, *, namespace: str = "seq") -> None:
        """Validate and keep the counter and the namespace.

        Hint
        ----
        ``callable(getattr(counter, "incr", None))`` tells you whether it can count.
        """
        raise NotImplementedError(
            "exercise: LocalSequence.__init__ — validate and keep the counter and namespace"
        )

    def next_id(self, channel_id: str | int) -> int:
        """Return the next number in ``channel_id``'s sequence (the first is 1).

        Raises
        ------
        InvalidArgument
            Before touching the counter, if ``channel_id`` is not a non-empty ``str`` without
            ``"}"`` or an ``int >= 0`` (a ``bool`` is not a channel id).

        Hint
        ----
        Build the key (validating on the way), then make exactly one ``counter.incr(key, 1)``.
        """
        raise NotImplementedError(
            "exercise: LocalSequence.next_id — one atomic incr on the channel's key"
        )

    def current(self, channel_id: str | int) -> int:
        """The last number issued in ``channel_id`` (0 if none); same validation as next_id.

        Hint
        ----
        Build the key exactly as ``next_id`` does, then ``counter.get(key)``.
        """
        raise NotImplementedError("exercise: LocalSequence.current — read the channel's counter")
