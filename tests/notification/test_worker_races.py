"""A worker whose pin loses a race must not send: it would repeat the other copy's effect.

The race is made deterministic with :class:`tests.blocks.racing.WriteBetween`: another
worker settles or pins the key right after this worker's read, before its write.
"""

from __future__ import annotations

from collections.abc import Callable

from reference.blocks.idempotency import IdempotencyStore
from reference.core.clock import FakeClock
from reference.notification.delivery import DeliveryService
from reference.notification.model import Category, Channel, Job, Status
from reference.notification.providers import SimulatedProvider
from reference.notification.tracking import NotificationLog
from reference.storage import Store
from tests.blocks.racing import WriteBetween

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
