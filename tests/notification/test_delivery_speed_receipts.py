"""Pending receipts can be looked at cheaply, in due order, without collecting them."""

from __future__ import annotations

from random import Random

from reference.notification.model import Category, Channel, Job
from reference.notification.providers import FailureModel, SimulatedProvider


def push_provider() -> SimulatedProvider:
    return SimulatedProvider("apns", Channel.IOS_PUSH, rng=Random(3),
                             failures=FailureModel(receipt_delay_median_s=5.0))


def send_many(provider: SimulatedProvider, n: int) -> None:
    for i in range(n):
        job = Job(f"n{i}", f"e{i}", "u1", Channel.IOS_PUSH, f"tok{i}", "", "hi",
                  Category.SOCIAL, False, accepted_at=0.0)
        provider.send(job, idempotency_key=job.dedupe_key, now=float(i))


def test_pending_receipts_are_the_ones_collect_would_report_in_the_same_order() -> None:
    p = push_provider()
    send_many(p, 30)
    pending = list(p.pending_receipts())
    assert [r.delivered_at for r in pending] == sorted(r.delivered_at for r in pending)
    assert p.statistics().receipts == 0  # looking removes nothing
    assert p.collect_receipts(1e9) == pending


def test_a_probe_that_refuses_every_receipt_leaves_them_all_pending() -> None:
    p = push_provider()
    send_many(p, 10)
    before = list(p.pending_receipts())
    seen = []
    assert p.collect_receipts(1e9, ready=lambda r: bool(seen.append(r))) == []
    assert seen == before == list(p.pending_receipts())


def test_receipts_not_yet_due_stay_pending_after_the_due_ones_are_collected() -> None:
    p = push_provider()
    send_many(p, 20)
    pending = list(p.pending_receipts())
    middle = pending[len(pending) // 2].delivered_at
    collected = p.collect_receipts(middle)
    assert collected == [r for r in pending if r.delivered_at <= middle]
    assert list(p.pending_receipts()) == [r for r in pending if r.delivered_at > middle]
