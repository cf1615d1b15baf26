"""Dedupe when another worker writes between a read and a write.

Each test makes the race deterministic: worker A's store talks to the port through
:class:`WriteBetween`, which lets worker B (another store over the same port) change the
record right after A has read it and before A writes. A decision taken on that stale read
must never overwrite B's change: A's compare-and-set is refused, A reads again and decides
again. With a plain SET in place of the compare-and-set each store test fails. (The
workers' side of the same races is in tests/notification/test_worker_races.py.)
"""

from __future__ import annotations

import pytest

from reference.blocks.idempotency import MAX_RACES, IdempotencyStore
from reference.core.clock import FakeClock
from reference.core.errors import Conflict
from reference.storage import Store
from tests.blocks.racing import WriteBetween

KEY = "evt-1|sms|+15550100"


def test_a_pin_decided_on_a_stale_read_does_not_erase_a_done_mark(
    store: Store, clock: FakeClock
) -> None:
    now = clock.now()
    worker_b = IdempotencyStore(store.kv)
    worker_b.claim(KEY, now)
    racing = WriteBetween(store.kv, lambda: worker_b.mark_done(KEY, now, by="n-b"))
    worker_a = IdempotencyStore(racing)  # type: ignore[arg-type]
    assert worker_a.pin(KEY, now, provider="sms-primary", token="m-1#1") is None  # done now
    assert worker_b.settlement(KEY, now + 1) == (True, "n-b")
    record = worker_b.get(KEY, now + 1)
    assert record is not None and record.pinned_to is None


def test_the_first_done_mark_stays_when_two_workers_settle_one_key_at_once(
    store: Store, clock: FakeClock
) -> None:
    now = clock.now()
    worker_b = IdempotencyStore(store.kv)
    worker_b.claim(KEY, now)
    racing = WriteBetween(store.kv, lambda: worker_b.mark_done(KEY, now, by="n-b"))
    IdempotencyStore(racing).mark_done(KEY, now + 2, by="n-a")  # type: ignore[arg-type]
    record = worker_b.get(KEY, now + 3)
    assert record is not None
    assert (record.done_at, record.done_by) == (now, "n-b")


def test_of_two_claimers_taking_over_one_expired_record_exactly_one_wins(
    store: Store, clock: FakeClock
) -> None:
    t0 = clock.now()
    worker_b = IdempotencyStore(store.kv, window_s=60.0)
    worker_b.claim(KEY, t0)
    later = t0 + 61.0  # the first window is over: the next claim starts a new one
    racing = WriteBetween(store.kv, lambda: worker_b.claim(KEY, later))
    worker_a = IdempotencyStore(racing, window_s=60.0)  # type: ignore[arg-type]
    assert worker_a.claim(KEY, later) is False  # B took the expired record over first
    assert worker_b.statistics().expired_takeovers == 1
    assert worker_a.statistics().expired_takeovers == 0
    record = worker_b.get(KEY, later)
    assert record is not None and record.first_seen == later


def test_a_claim_that_loses_the_first_arrival_race_is_a_repeat(
    store: Store, clock: FakeClock
) -> None:
    now = clock.now()
    worker_b = IdempotencyStore(store.kv)
    racing = WriteBetween(store.kv, lambda: worker_b.claim(KEY, now))
    worker_a = IdempotencyStore(racing)  # type: ignore[arg-type]
    record, first = worker_a.check_and_claim(KEY, now)
    assert (record, first) == (None, False)  # read before B; B's claim is the first
    assert (worker_a.statistics().first_claims, worker_b.statistics().first_claims) == (0, 1)


def test_an_unpin_decided_on_a_stale_read_leaves_another_requests_pin(
    store: Store, clock: FakeClock
) -> None:
    now = clock.now()
    worker_b = IdempotencyStore(store.kv)
    worker_b.pin(KEY, now, provider="sms-primary", token="m-1#1")

    def repin() -> None:  # B's request fails, B lifts its pin, C pins for its own request
        worker_b.unpin(KEY, now, token="m-1#1")
        worker_b.pin(KEY, now, provider="sms-backup", token="m-1#2")

    racing = WriteBetween(store.kv, repin)
    assert IdempotencyStore(racing).unpin(KEY, now, token="m-1#1") is False  # type: ignore[arg-type]
    record = worker_b.get(KEY, now)
    assert record is not None and record.pinned_to == "sms-backup"


def test_a_change_that_keeps_losing_gives_up_with_a_conflict_and_writes_nothing_stale(
    store: Store, clock: FakeClock
) -> None:
    now = clock.now()
    worker_b = IdempotencyStore(store.kv)
    worker_b.claim(KEY, now)
    tokens = iter(range(1, 10_000))

    def rewrite() -> None:  # every time A is about to write, B has re-pinned the key anew
        token = next(tokens)
        worker_b.unpin(KEY, now, token=f"t{token - 1}")
        worker_b.pin(KEY, now, provider="sms-primary", token=f"t{token}")

    racing = WriteBetween(store.kv, rewrite, times=MAX_RACES)
    with pytest.raises(Conflict, match=f"rewritten by other workers {MAX_RACES} times"):
        IdempotencyStore(racing).mark_done(KEY, now, by="n-a")  # type: ignore[arg-type]
    assert worker_b.settlement(KEY, now) == (False, None)
