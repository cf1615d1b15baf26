"""Exercise ch10: dedupe (중복 전송 방지) by event id — an idempotency store on the KeyValue port.

The work queues of chapter 10 are *at-least-once*: the same job can reach a worker twice (a
duplicate publish, or a redelivery after a worker died before acking). The chapter's answer is
to remember the event id and drop a duplicate. You build that memory: an **idempotency
store** keyed by the effect that must happen once (``Job.dedupe_key``: event, channel,
address), honoured for a window (24 h, as Knock does) measured on the *injected* clock.

Every method below raises ``NotImplementedError``: replace each body with your code. The
docstrings are the contract; ``exercises/graders/test_ch10_dedupe.py`` checks it. Grade
yourself with::

    make grade CHAPTER=10                     # the whole chapter, as a table
    check("dedupe-claim")                     # one exercise, inside a notebook

The vocabulary is yours to use, not to rebuild: :data:`IDEMPOTENCY_WINDOW_S`, the records
:class:`IdempotencyStatistics` and :class:`IdempotencyRecord`, the :class:`KeyValue` port
and :class:`InvalidArgument`. The model answer is ``reference/notification/dedupe.py``; its
``get``, ``pin`` and ``unpin`` (which provider holds a request still in doubt) go beyond
this exercise.

Exercises (name → what to implement):

==================== =====================================================================
dedupe-claim         ``__init__`` and :meth:`IdempotencyStore.claim`: the first claim wins
dedupe-done          :meth:`~IdempotencyStore.mark_done`, :meth:`~IdempotencyStore.is_done`,
                     :meth:`~IdempotencyStore.release`
dedupe-window        the window: a record lives ``window_s`` from its first claim, on the
                     clock the caller passes in (``now``), never on a Redis TTL
dedupe-model         all of it together, against a model: a hypothesis state machine
dedupe-statistics    :meth:`IdempotencyStore.statistics`
==================== =====================================================================

How a worker uses it (why there are two marks, not one)::

    claim(key, now)      False → this effect was seen before (a redelivery or a duplicate)
    ... send to the provider, with the same idempotency key ...
    mark_done(key, now)  the provider accepted: a redelivered copy will now be skipped
    is_done(key, now)    True → ack the job and skip it
"""

from __future__ import annotations

from reference.blocks.idempotency import IdempotencyRecord, IdempotencyStatistics
from reference.core.errors import InvalidArgument  # noqa: F401  (yours to raise)
from reference.notification.model import IDEMPOTENCY_WINDOW_S
from reference.storage.ports import KeyValue

__all__ = [
    "IDEMPOTENCY_WINDOW_S",
    "IdempotencyRecord",
    "IdempotencyStatistics",
    "IdempotencyStore",
    "KeyValue",
]


class IdempotencyStore:
    """Remember which effects were claimed and which are done, for ``window_s`` seconds.

    Parameters
    ----------
    kv : KeyValue
        Where the records live (``store.kv``). Keep **no** records in the object itself: two
        workers (two ``IdempotencyStore`` objects with the same ``name`` over one ``kv``)
        must see each other's claims, as two servers sharing one Redis do.
    window_s : float
        How long a key is honoured, counted from its **first** claim (default 24 h): a finite
        number > 0.
    name : str
        A namespace: a non-empty string without ``{`` or ``}``. Stores with different names
        over one ``kv`` are independent (one for API requests, one for deliveries).

    Raises
    ------
    InvalidArgument
        For a bad ``window_s`` (0, negative, ``inf``, ``nan``, a bool) or ``name``.

    Notes
    -----
    Suggested layout: one string per key at ``f"idem:{name}:{{{key}}}"`` holding JSON such
    as ``{"first_seen": 12.5, "done_at": null}``. Every call is one GET and at most one
    write (``set(..., if_absent=True)`` or ``compare_and_set``): O(1), plus one more GET and
    write each time another worker changed the record in between. Time is *passed in*
    (``now``, seconds on the caller's injected clock): the record stores the first-seen time
    and "expired" is decided by arithmetic, ``now >= first_seen + window_s``, never by a
    Redis TTL (a TTL would be storage hygiene only).

    Several workers share the records, so a change is *read, decide, compare-and-set*:
    ``kv.compare_and_set(k, expected, value)`` stores ``value`` only if the key still holds
    ``expected`` (the string you read, or None if it was absent), in one atomic step (one
    Lua ``EVAL`` on Redis), and returns whether it wrote. False means another worker wrote
    in between: read again and decide again. Of two claimers racing on one key, exactly one
    wins.

    Examples
    --------
    >>> from reference.core.clock import FakeClock
    >>> from reference.storage import connect
    >>> seen = IdempotencyStore(connect("memory", clock=FakeClock()).kv, window_s=3600.0)
    >>> seen.claim("evt-1|email|a@example.com", now=0.0)
    True
    >>> seen.claim("evt-1|email|a@example.com", now=5.0)     # a redelivery
    False
    >>> seen.mark_done("evt-1|email|a@example.com", now=6.0)
    >>> seen.is_done("evt-1|email|a@example.com", now=3599.0), seen.is_done(
    ...     "evt-1|email|a@example.com", now=3600.0)         # the window is over
    (True, False)
    """

    def __init__(
        self, kv: KeyValue, *, window_s: float = IDEMPOTENCY_WINDOW_S, name: str = "delivery"
    ) -> None:
        """Validate the settings, then keep ``kv``, the window and the name (``dedupe-claim``).

        Hint
        ----
        ``isinstance(window_s, bool)`` first (``True`` is an ``int``!), then
        ``isinstance(window_s, (int, float))``, ``math.isfinite`` and ``> 0``. Start the five
        counters of :meth:`statistics` at 0 here too.
        """
        raise NotImplementedError(
            "exercise: IdempotencyStore.__init__ — validate window_s and name, keep kv"
        )

    def claim(self, key: str, now: float) -> bool:
        """Claim ``key`` at ``now``: True only for the first claim within the window.

        Contract (``dedupe-claim``, ``dedupe-window``)
        ----------------------------------------------
        * No live record for ``key`` → store one with ``first_seen = now`` and return True.
        * A live record (claimed, or marked done, less than ``window_s`` ago) → False, and
          change nothing (the first-seen time stays: repeats never extend the window).
        * An *expired* record (``now >= first_seen + window_s``) counts as absent: replace it
          with a fresh one first seen ``now`` and return True (an *expired takeover*).

        Parameters
        ----------
        key : str
            The effect that must happen once, e.g. ``Job.dedupe_key``; any non-empty string.
        now : float
            Seconds on the caller's clock; finite (a bool is not a time).

        Raises
        ------
        InvalidArgument
            For an empty or non-string ``key`` or a bad ``now``, **before** anything is
            read, written or counted.

        Hint
        ----
        Read the record, decide, then write. For a key with no record, ``kv.set(k, value,
        if_absent=True)`` (Redis's ``SET NX``) is enough: it writes only if the key is still
        absent and tells you whether it did, so two racing claimers cannot both win. For an
        expired record, ``kv.compare_and_set(k, raw, value)`` against the string ``raw`` you
        read (``compare_and_set(k, None, value)`` is the same as ``SET NX``): it replaces the
        record only if nobody changed it since your read. If either write returns False,
        another claimer got in first: read again and decide again (you will find its live
        record and return False). Do not delete the expired record and then ``SET NX``:
        between the two, another claimer may take the key over, and your delete would
        erase its fresh claim.
        """
        raise NotImplementedError(
            "exercise: IdempotencyStore.claim — first claim wins (SET NX), expired ones by "
            "compare-and-set"
        )

    def mark_done(self, key: str, now: float, *, by: str | None = None) -> None:
        """Record that the effect of ``key`` happened at ``now`` (``dedupe-done``).

        Contract
        --------
        * A live record keeps its ``first_seen`` and gets ``done_at = now``.
        * No live record (never claimed, released, or expired) → a new record first seen
          ``now`` and done ``now``: its window starts now.
        * Already done within the window → nothing changes (the first completion stands).
        * ``by``, if given, names who settled the key (a notification id): keep it in the
          record beside ``done_at``, so a later duplicate can say whose effect it repeats.

        Raises
        ------
        InvalidArgument
            A bad ``key`` or ``now``, or a ``by`` that is neither None nor a string, before
            anything is written.

        Hint
        ----
        Load the live record (or nothing), then write the new JSON with
        ``kv.compare_and_set`` against the string you read (None if there was none), and
        read again if it returns False: a plain ``kv.set`` would overwrite a claim or a
        completion another worker wrote since your read.
        """
        raise NotImplementedError(
            "exercise: IdempotencyStore.mark_done — keep first_seen, store done_at"
        )

    def is_done(self, key: str, now: float) -> bool:
        """True if ``key`` was marked done and its window is still live at ``now``.

        (``dedupe-done``, ``dedupe-window``.) A claimed but not done key is not done. The
        window runs from ``first_seen``, not from ``done_at``.

        Raises
        ------
        InvalidArgument
            A bad ``key`` or ``now``.

        Hint
        ----
        The same "live record" helper ``claim`` and ``mark_done`` use, then look at
        ``done_at``.
        """
        raise NotImplementedError("exercise: IdempotencyStore.is_done — live and done?")

    def release(self, key: str) -> bool:
        """Forget ``key`` so it can be claimed again; True if a record for it was stored.

        (``dedupe-done``.) The key may then be sent again, by anyone: the reference's
        dead-letter replay uses ``reopen`` instead, which lifts only the done mark and keeps
        a pin in doubt. Releasing a key that has no record returns False.

        Raises
        ------
        InvalidArgument
            A bad ``key``.

        Hint
        ----
        ``kv.delete(k)`` returns how many keys existed.
        """
        raise NotImplementedError("exercise: IdempotencyStore.release — delete the record")

    def statistics(self) -> IdempotencyStatistics:
        """A snapshot of what this store object has done (``dedupe-statistics``).

        Returns
        -------
        IdempotencyStatistics
            ``claims`` (valid ``claim`` calls), ``first_claims`` (those that returned True),
            ``repeat_claims`` (those that returned False), ``done`` (``mark_done`` calls
            that stored a completion; a repeat on a done key does not count) and
            ``expired_takeovers`` (claims that replaced an expired record). Rejected calls
            count nothing.

        Hint
        ----
        Plain integer counters on the object (they are per object, unlike the records), and
        a new ``IdempotencyStatistics`` on every call.
        """
        raise NotImplementedError("exercise: IdempotencyStore.statistics — five counters")
