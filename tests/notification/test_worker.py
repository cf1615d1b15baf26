"""Workers end to end on the memory and fakeredis backends: one effect per (event, channel,
address) through duplicates, crashes, retries, fallback, dead letters and quotas."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest

from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument
from reference.core.faults import CrashPlan
from reference.notification.delivery import DeliveryService
from reference.notification.model import (
    WORKER_GROUP,
    Category,
    Channel,
    CrashPoint,
    Job,
    Status,
    queue_name,
)
from reference.notification.providers import NO_FAILURES, FailureModel, SimulatedProvider
from reference.notification.tracking import NotificationLog
from reference.notification.worker import Worker
from reference.storage import Store, connect

S = Status
VISIBILITY_S = 30.0


@pytest.fixture
def log() -> NotificationLog:
    return NotificationLog()


class RecordingContacts:
    """A contact-store fake that records which tokens it was asked to forget."""

    def __init__(self) -> None:
        self.removed: list[str] = []

    def remove_token(self, token: str) -> str | None:
        self.removed.append(token)
        return "u1"


def make_job(i: int = 1, channel: Channel = Channel.EMAIL, **changes: object) -> Job:
    base = Job(f"n{i}", f"evt-{i}", "u1", channel, f"addr-{i}", "Title", "Body",
               Category.TRANSACTIONAL, False, accepted_at=0.0, template="welcome")
    return replace(base, **changes)  # type: ignore[arg-type]


def make_service(store: Store, clock: FakeClock, log: NotificationLog,
                 **kwargs: object) -> DeliveryService:
    kwargs.setdefault("failures", "none")
    return DeliveryService.from_store(store, clock=clock, recorder=log, seed=1, **kwargs)


def run(service: DeliveryService, clock: FakeClock, seconds: float, tick_s: float = 1.0) -> None:
    for _ in range(round(seconds / tick_s)):
        clock.advance(tick_s)
        service.step()


def statuses(log: NotificationLog, nid: str = "n1") -> list[Status]:
    return [c.status for c in log.history(nid)]


def effects(service: DeliveryService, channel: Channel = Channel.EMAIL) -> list[str]:
    return [e.idempotency_key for p in service.providers[channel]
            for e in p.sent]  # type: ignore[attr-defined]


def first_provider(service: DeliveryService, channel: Channel) -> SimulatedProvider:
    provider = service.providers[channel][0]
    assert isinstance(provider, SimulatedProvider)
    return provider


def test_a_job_is_sent_once_and_delivered_when_its_receipt_arrives(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log)
    service.submit(make_job())
    run(service, clock, 1)
    assert statuses(log) == [S.ACCEPTED, S.QUEUED, S.SENT]
    assert log.history("n1")[-1].reason == "via email-primary"
    run(service, clock, 60)
    assert statuses(log)[-1] is S.DELIVERED
    assert effects(service) == [make_job().dedupe_key]
    assert store.queue.statistics(queue_name(Channel.EMAIL), WORKER_GROUP).lag == 0


def test_a_job_the_queue_delivers_twice_has_one_effect_and_one_suppressed_duplicate(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log)
    service.submit(make_job())
    service.publish(make_job())
    run(service, clock, 1)
    service.publish(make_job())  # a late duplicate
    run(service, clock, 1)
    assert len(effects(service)) == 1
    assert service.statistics().duplicates_suppressed == 2
    assert statuses(log)[:3] == [S.ACCEPTED, S.QUEUED, S.SENT]


def test_a_crash_between_send_and_record_is_redelivered_and_the_effect_stays_once(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    plan = CrashPlan().crash(CrashPoint.AFTER_SEND)
    service = make_service(store, clock, log, crash_plan=plan)
    service.submit(make_job())
    run(service, clock, 1)
    assert plan.fired == [(CrashPoint.AFTER_SEND, "n1")]
    assert len(effects(service)) == 1  # the user has it ...
    assert statuses(log) == [S.ACCEPTED, S.QUEUED]  # ... the log does not know yet
    run(service, clock, VISIBILITY_S + 2)  # the queue hands it out again
    assert len(effects(service)) == 1
    assert statuses(log)[:3] == [S.ACCEPTED, S.QUEUED, S.SENT]
    provider = first_provider(service, Channel.EMAIL)
    assert provider.statistics().duplicates == 1
    stats = service.statistics()
    assert (stats.crashes, stats.reentries, stats.sent) == (1, 1, 1)


def test_a_crash_before_the_ack_is_redelivered_and_acked_as_a_duplicate(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    plan = CrashPlan().crash(CrashPoint.BEFORE_ACK)
    service = make_service(store, clock, log, crash_plan=plan)
    service.submit(make_job())
    run(service, clock, VISIBILITY_S + 5)
    assert len(effects(service)) == 1
    assert service.statistics().duplicates_suppressed == 1
    assert first_provider(service, Channel.EMAIL).statistics().requests == 1
    assert store.queue.statistics(queue_name(Channel.EMAIL), WORKER_GROUP).lag == 0


def test_a_crash_after_the_claim_before_the_send_still_sends_once(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    plan = CrashPlan().crash(CrashPoint.AFTER_CLAIM)
    service = make_service(store, clock, log, crash_plan=plan)
    service.submit(make_job())
    run(service, clock, 1)
    assert effects(service) == []
    run(service, clock, VISIBILITY_S + 2)
    assert len(effects(service)) == 1
    assert S.SENT in statuses(log)


def test_a_crash_stops_the_rest_of_the_batch_which_comes_back_later(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    plan = CrashPlan().crash(CrashPoint.AFTER_SEND, item="n2")
    service = make_service(store, clock, log, crash_plan=plan)
    for i in range(1, 5):
        service.submit(make_job(i))
    run(service, clock, 1)
    assert [log.status(f"n{i}") for i in range(1, 5)] == [S.SENT, S.QUEUED, S.QUEUED, S.QUEUED]
    run(service, clock, VISIBILITY_S + 2)
    assert sorted(Counter(effects(service)).values()) == [1, 1, 1, 1]
    assert all(log.status(f"n{i}") in (S.SENT, S.DELIVERED) for i in range(1, 5))


def test_transient_failures_go_through_the_retry_queue_then_succeed(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log)
    first_provider(service, Channel.IOS_PUSH).fail_next("server_error", "server_error")
    service.submit(make_job(channel=Channel.IOS_PUSH))
    run(service, clock, 1)
    assert statuses(log)[-1] is S.FAILED
    assert "attempt 1" in log.history("n1")[-1].reason
    run(service, clock, 120)
    assert statuses(log)[:7] == [S.ACCEPTED, S.QUEUED, S.FAILED, S.QUEUED, S.FAILED, S.QUEUED,
                                 S.SENT]
    assert len(effects(service, Channel.IOS_PUSH)) == 1
    stats = service.statistics(Channel.IOS_PUSH)
    assert (stats.failed_attempts, stats.retries, stats.sent) == (2, 2, 1)
    assert service.pump.statistics().moved == 2


def test_a_retried_job_waits_its_backoff_in_the_retry_queue(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log)
    first_provider(service, Channel.IOS_PUSH).fail_next("server_error")
    service.submit(make_job(channel=Channel.IOS_PUSH))
    run(service, clock, 1)
    failed_at = clock.now()
    due = service.deps.retry_queue.next_due_at()
    assert due is not None and failed_at <= due <= failed_at + 15.0  # full jitter, attempt 1
    assert len(log.history("n1")) == 3  # accepted, queued, failed: waiting
    run(service, clock, 16)
    requeued = log.history("n1")[3]
    assert requeued.status is S.QUEUED and requeued.at >= due


def test_a_throttled_answer_waits_at_least_the_providers_retry_after(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log)
    first_provider(service, Channel.IOS_PUSH).fail_next("throttled")
    service.submit(make_job(channel=Channel.IOS_PUSH))
    run(service, clock, 1)
    due = service.deps.retry_queue.next_due_at()
    assert due is not None and due >= clock.now() + NO_FAILURES.throttle_retry_after_s


def test_a_provider_outage_falls_back_to_the_backup_provider(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    down = NO_FAILURES.with_outage(clock.now(), clock.now() + 3600)
    service = make_service(store, clock, log,
                           failures={"sms-primary": down, "sms-backup": NO_FAILURES})
    service.submit(make_job(channel=Channel.SMS))
    run(service, clock, 120)
    primary, backup = service.providers[Channel.SMS]
    assert primary.sent == [] and len(backup.sent) == 1  # type: ignore[attr-defined]
    sent = next(c for c in log.history("n1") if c.status is S.SENT)
    assert sent.reason == "via sms-backup"
    assert service.statistics(Channel.SMS).fallbacks == 1


def test_out_of_attempts_dead_letters_alerts_and_a_replay_delivers(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log)
    apns = first_provider(service, Channel.IOS_PUSH)
    apns.fail_next(*["server_error"] * 8)
    service.submit(make_job(channel=Channel.IOS_PUSH))
    run(service, clock, 1800, tick_s=5.0)
    assert log.status("n1") is S.DEAD_LETTERED
    assert apns.statistics().requests == 8
    [alert] = service.alerts.alerts
    assert alert.notification_id == "n1" and "out of attempts (8)" in alert.reason
    qname = queue_name(Channel.IOS_PUSH)
    [letter] = store.queue.dead_letters(qname, WORKER_GROUP)
    assert Job.from_json(letter.body).attempt == 8
    apns.fail_next("server_error")  # one more failure after the replay: a fresh budget retries
    assert service.replay_dead_letters(Channel.IOS_PUSH) == 1
    run(service, clock, 60)
    path = statuses(log)
    after = path[path.index(S.DEAD_LETTERED):]
    assert after[:5] == [S.DEAD_LETTERED, S.QUEUED, S.FAILED, S.QUEUED, S.SENT]
    assert len(effects(service, Channel.IOS_PUSH)) == 1
    assert store.queue.dead_letters(qname, WORKER_GROUP) == []


def test_replaying_only_chosen_dead_letters(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log)
    first_provider(service, Channel.IOS_PUSH).fail_next("payload_too_large",
                                                      "payload_too_large")
    service.submit(make_job(1, Channel.IOS_PUSH))
    service.submit(make_job(2, Channel.IOS_PUSH))
    run(service, clock, 1)
    letters = store.queue.dead_letters(queue_name(Channel.IOS_PUSH), WORKER_GROUP)
    assert len(letters) == 2 and len(service.alerts) == 2
    assert service.replay_dead_letters(Channel.IOS_PUSH, [letters[1].message_id]) == 1
    run(service, clock, 1)
    assert log.status("n1") is S.DEAD_LETTERED
    assert log.status("n2") is S.SENT


def test_an_unregistered_token_is_removed_from_contacts_and_never_retried(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    contacts = RecordingContacts()
    service = make_service(store, clock, log, contacts=contacts)
    first_provider(service, Channel.ANDROID_PUSH).invalidate("addr-1")
    service.submit(make_job(channel=Channel.ANDROID_PUSH))
    run(service, clock, 300, tick_s=5.0)
    assert contacts.removed == ["addr-1"]
    assert statuses(log) == [S.ACCEPTED, S.QUEUED, S.FAILED, S.SUPPRESSED]
    assert "device token removed" in log.history("n1")[-1].reason
    assert first_provider(service, Channel.ANDROID_PUSH).statistics().requests == 1
    assert service.alerts.alerts == []


def test_an_invalid_email_address_is_suppressed_without_touching_contacts(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    contacts = RecordingContacts()
    service = make_service(store, clock, log, contacts=contacts)
    first_provider(service, Channel.EMAIL).invalidate("addr-1")
    service.submit(make_job())
    run(service, clock, 5)
    assert contacts.removed == []
    assert log.status("n1") is S.SUPPRESSED


def test_over_quota_jobs_wait_for_the_window_without_using_an_attempt(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log, quotas_per_minute={"email-primary": 2})
    for i in range(1, 6):
        service.submit(make_job(i))
    run(service, clock, 1)
    assert len(effects(service)) == 2
    assert service.statistics().quota_deferred == 3
    run(service, clock, 59)
    assert len(effects(service)) == 2  # the window has not moved yet
    run(service, clock, 130)
    assert len(effects(service)) == 5
    assert service.statistics().failed_attempts == 0
    assert all(S.FAILED not in statuses(log, f"n{i}") for i in range(1, 6))
    sends = sorted(c.at for i in range(1, 6) for c in log.history(f"n{i}")
                   if c.status is S.SENT)
    assert all(b - a >= 60.0 for a, b in zip(sends, sends[2:], strict=False))


def test_a_timeout_that_delivered_is_not_sent_again_on_retry(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log)
    apns = first_provider(service, Channel.IOS_PUSH)
    apns.set_failures(FailureModel(timeout_rate=1.0, timeout_effect_rate=1.0))
    service.submit(make_job(channel=Channel.IOS_PUSH))
    run(service, clock, 1)
    assert len(apns.sent) == 1 and log.status("n1") is S.FAILED
    apns.set_failures(NO_FAILURES)
    run(service, clock, 60)
    assert len(apns.sent) == 1
    assert log.status("n1") in (S.SENT, S.DELIVERED)


def test_a_malformed_message_is_dead_lettered_with_an_alert(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log)
    store.queue.publish(queue_name(Channel.SMS), "{not json")
    store.queue.publish(queue_name(Channel.SMS), make_job(channel=Channel.EMAIL).to_json())
    run(service, clock, 1)
    assert service.statistics().malformed == 2
    assert len(store.queue.dead_letters(queue_name(Channel.SMS), WORKER_GROUP)) == 2
    assert len(service.alerts) == 2


def test_the_retry_pump_drops_a_copy_whose_key_is_already_done(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log)
    first_provider(service, Channel.IOS_PUSH).fail_next("server_error")
    job = make_job(channel=Channel.IOS_PUSH)
    service.submit(job)
    run(service, clock, 1)  # attempt 1 failed: a retry copy waits
    service.publish(job)  # a duplicate copy goes through first
    run(service, clock, 1)
    assert log.status("n1") is S.SENT
    run(service, clock, 30)
    assert service.pump.statistics().dropped_done == 1
    assert len(effects(service, Channel.IOS_PUSH)) == 1


def test_each_channel_pool_scales_on_its_own(
    store: Store, clock: FakeClock, log: NotificationLog
) -> None:
    service = make_service(store, clock, log, pool_sizes={Channel.EMAIL: 3},
                           batch_size=2)
    assert [len(service.pools[c]) for c in Channel] == [1, 1, 1, 3]
    for i in range(10):
        service.submit(make_job(i))
    clock.advance(1)
    results = service.step()
    assert sum(r.consumed for r in results[Channel.EMAIL]) == 6  # 3 workers x batch 2
    service.scale(Channel.EMAIL, 1)
    service.scale(Channel.SMS, 0)
    assert len(service.pools[Channel.EMAIL]) == 1 and service.pools[Channel.SMS] == []
    run(service, clock, 3)
    assert service.statistics().sent == 10  # retired workers still count in the total
    assert service.statistics(Channel.EMAIL).sent < 10


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_under_seeded_faults_every_notification_settles_with_at_most_one_effect(
    seed: int, clock: FakeClock
) -> None:
    store = connect("memory", clock=clock)
    log = NotificationLog()
    flaky = FailureModel(timeout_rate=0.15, server_error_rate=0.25, throttle_rate=0.05,
                         invalid_address_rate=0.02, throttle_retry_after_s=20.0)
    plan = CrashPlan()
    for point in CrashPoint:
        plan.crash(point, nth=3).crash(point, nth=17)
    contacts = RecordingContacts()
    service = DeliveryService.from_store(
        store, clock=clock, recorder=log, seed=seed, contacts=contacts, crash_plan=plan,
        failures={name: flaky for name in
                  ("apns", "fcm", "sms-primary", "sms-backup", "email-primary",
                   "email-backup")},
        pool_sizes={c: 2 for c in Channel}, quotas_per_minute={"fcm": 20},
    )
    rng = random.Random(seed)
    jobs = [make_job(i, rng.choice(list(Channel))) for i in range(120)]
    for job in jobs:
        service.submit(job)
        if rng.random() < 0.2:
            service.publish(job)  # the producer emitted it twice
    run(service, clock, 4000, tick_s=5.0)
    settled = {S.SENT, S.DELIVERED, S.DEAD_LETTERED, S.SUPPRESSED}
    per_notification = Counter(e.notification_id for c in Channel
                               for e in service.providers[c][0].sent)  # type: ignore[attr-defined]
    per_notification.update(e.notification_id for c in (Channel.SMS, Channel.EMAIL)
                            for e in service.providers[c][1].sent)  # type: ignore[attr-defined]
    for job in jobs:
        status = log.status(job.notification_id)
        assert status in settled, (seed, job.notification_id, status)
        copies = per_notification[job.notification_id]
        if status in (S.SENT, S.DELIVERED):
            assert copies == 1, (seed, job.notification_id)
        elif status is S.SUPPRESSED:
            assert copies == 0
        else:  # dead-lettered: delivered only if its last answer was an ambiguous timeout
            ambiguous = "ambiguous" in log.history(job.notification_id)[-1].reason
            assert copies <= int(ambiguous)
    assert len(plan.fired) == 6
    assert len(service.alerts) == log.counts_by_status()[S.DEAD_LETTERED]


def test_a_worker_rejects_bad_settings(clock: FakeClock, log: NotificationLog) -> None:
    service = make_service(connect("memory", clock=clock), clock, log)
    chain = service.providers[Channel.EMAIL]
    with pytest.raises(InvalidArgument, match="providers"):
        Worker(Channel.EMAIL, service.deps, [], rng=random.Random(0), name="w")
    with pytest.raises(InvalidArgument, match="batch_size"):
        Worker(Channel.EMAIL, service.deps, chain, rng=random.Random(0), name="w",
               batch_size=0)
    with pytest.raises(InvalidArgument, match="failures"):
        DeliveryService.from_store(connect("memory", clock=clock), clock=clock, recorder=log,
                                   seed=1, providers=service.providers, failures="none")


def test_crash_plan_counts_per_notification_when_asked() -> None:
    plan = CrashPlan().crash(CrashPoint.BEFORE_ACK, nth=2, item="n7")
    hits = [plan.should_crash(CrashPoint.BEFORE_ACK, nid) for nid in ["n7", "n1", "n7", "n7"]]
    assert hits == [False, False, True, False]
    with pytest.raises(InvalidArgument, match="nth"):
        plan.crash(CrashPoint.AFTER_SEND, nth=0)
