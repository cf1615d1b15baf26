"""Dedupe when another worker writes between a read and a write.

Each test makes the race deterministic: worker A's store talks to the port through
:class:`WriteBetween`, which lets worker B (another store over the same port) change the
record right after A has read it and before A writes. A decision taken on that stale read
must never overwrite B's change: A's compare-and-set is refused, A reads again and decides
again. With a plain SET in place of the compare-and-set each store test fails. The worker
tests go one step further: a worker whose pin finds the key settled or pinned elsewhere
meanwhile must not send (it would repeat the other copy's effect).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from reference.core.clock import FakeClock
from reference.core.errors import Conflict
from reference.notification.dedupe import MAX_RACES, IdempotencyStore
from reference.notification.delivery import DeliveryService
from reference.notification.model import Category, Channel, Job, Status
from reference.notification.providers import SimulatedProvider
from reference.notification.tracking import NotificationLog
from reference.storage import Store

KEY = "evt-1|sms|+15550100"


class WriteBetween:
    """A KeyValue port that runs ``meanwhile()`` before each of the next ``times`` writes
    (only string writes whose value ``when(value)`` accepts, if given), i.e. after the
    writer's read and before its write lands."""

    def __init__(self, kv: Any, meanwhile: Callable[[], object], *, times: int = 1,
                 when: Callable[[str], bool] | None = None) -> None:
        self._kv = kv
        self._meanwhile = meanwhile
        self._when = when
        self.left = times

    def _interfere(self, value: str | None = None) -> None:
        if self._when is not None and (value is None or not self._when(value)):
            return
        if self.left > 0:
            self.left -= 1
            self._meanwhile()

    def get(self, key: str) -> str | None:
        return self._kv.get(key)  # type: ignore[no-any-return]

    def set(self, key: str, value: str, *, if_absent: bool = False) -> bool:
        self._interfere(value)
        return self._kv.set(key, value, if_absent=if_absent)  # type: ignore[no-any-return]

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        self._interfere(value)
        return self._kv.compare_and_set(key, expected, value)  # type: ignore[no-any-return]

    def delete(self, *keys: str) -> int:
        self._interfere()
        return self._kv.delete(*keys)  # type: ignore[no-any-return]

    def hset(self, key: str, mapping: Mapping[str, str]) -> int:
        return self._kv.hset(key, mapping)  # type: ignore[no-any-return]

    def hget(self, key: str, field: str) -> str | None:
        return self._kv.hget(key, field)  # type: ignore[no-any-return]

    def hgetall(self, key: str) -> dict[str, str]:
        return self._kv.hgetall(key)  # type: ignore[no-any-return]

    def hdel(self, key: str, *fields: str) -> int:
        return self._kv.hdel(key, *fields)  # type: ignore[no-any-return]


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


# ── a worker whose pin loses a race ───────────────────────────────────────────────────────

JOB = Job("n1", "evt-1", "u1", Channel.EMAIL, "ada@example.com", "Hi", "Welcome!",
          Category.TRANSACTIONAL, False, accepted_at=0.0, template="welcome")


def racing_service(store: Store, clock: FakeClock, log: NotificationLog,
                   meanwhile: Callable[[], object]) -> DeliveryService:
    """A delivery service whose first pin to email-primary finds ``meanwhile()`` done."""
    racing = WriteBetween(store.kv, meanwhile, when=lambda value: '"email-primary"' in value)
    return DeliveryService(queue=store.queue, kv=racing, timeline=store.timeline,  # type: ignore[arg-type]
                           clock=clock, recorder=log, seed=1, failures="none")


def sent_by(service: DeliveryService) -> dict[str, int]:
    counts = {}
    for provider in service.providers[Channel.EMAIL]:
        assert isinstance(provider, SimulatedProvider)
        counts[provider.name] = len(provider.sent)
    return counts


def drain(service: DeliveryService, clock: FakeClock, seconds: int = 120) -> None:
    for _ in range(seconds):
        clock.advance(1.0)
        service.step()


def test_a_worker_whose_key_was_settled_meanwhile_does_not_send_it_again(
    store: Store, clock: FakeClock
) -> None:
    log = NotificationLog()
    other = IdempotencyStore(store.kv)
    service = racing_service(store, clock, log,
                             lambda: other.mark_done(JOB.dedupe_key, clock.now(), by="n-other"))
    service.submit(JOB)
    drain(service, clock)
    assert sent_by(service) == {"email-primary": 0, "email-backup": 0}
    assert service.statistics().raced == 1
    assert log.status("n1") is Status.SUPPRESSED
    assert "already settled by n-other" in log.history("n1")[-1].reason


def test_a_worker_whose_key_was_pinned_elsewhere_meanwhile_sends_only_there(
    store: Store, clock: FakeClock
) -> None:
    log = NotificationLog()
    other = IdempotencyStore(store.kv)
    service = racing_service(
        store, clock, log,
        lambda: other.pin(JOB.dedupe_key, clock.now(), provider="email-backup", token="m-x#1"),
    )
    service.submit(JOB)
    drain(service, clock)
    assert sent_by(service) == {"email-primary": 0, "email-backup": 1}
    assert service.statistics().raced == 1
    assert log.status("n1") in (Status.SENT, Status.DELIVERED)
    assert [c.status for c in log.history("n1")][:3] == [
        Status.ACCEPTED, Status.QUEUED, Status.SENT]
