"""Simulated providers: seeded failures, idempotency keys, payload limits, outages, receipts."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from reference.core.errors import InvalidArgument
from reference.notification.model import (
    APNS_PAYLOAD_LIMIT_BYTES,
    IDEMPOTENCY_WINDOW_S,
    SMS_BODY_LIMIT_CHARS,
    Category,
    Channel,
    Job,
)
from reference.notification.providers import (
    ACCEPTED_CODES,
    NO_FAILURES,
    PERMANENT_CODES,
    PROVIDER_CHAINS,
    TRANSIENT_CODES,
    FailureModel,
    SimulatedProvider,
    default_providers,
)


def make_job(channel: Channel = Channel.EMAIL, n: int = 1, **changes: object) -> Job:
    base = Job(f"n{n}", f"evt-{n}", "u1", channel, f"addr-{n}", "Title", "Body",
               Category.TRANSACTIONAL, False, accepted_at=0.0)
    return replace(base, **changes)  # type: ignore[arg-type]


def provider(channel: Channel = Channel.EMAIL, failures: FailureModel = NO_FAILURES,
             seed: int = 1, **kw: object) -> SimulatedProvider:
    return SimulatedProvider("p", channel, rng=random.Random(seed), failures=failures,
                             **kw)  # type: ignore[arg-type]


def test_a_perfect_provider_accepts_and_records_one_effect() -> None:
    p = provider()
    job = make_job()
    res = p.send(job, idempotency_key=job.dedupe_key, now=5.0)
    assert (res.outcome, res.code, res.provider) == ("accepted", "ok", "p")
    assert res.latency_s > 0
    assert [(e.notification_id, e.idempotency_key) for e in p.sent] == [("n1", job.dedupe_key)]


def test_a_repeated_idempotency_key_is_accepted_but_not_delivered_twice() -> None:
    p = provider()
    job = make_job()
    for t in (1.0, 2.0, 3.0):
        assert p.send(job, idempotency_key="k", now=t).outcome == "accepted"
    assert len(p.sent) == 1
    stats = p.statistics()
    assert (stats.requests, stats.accepted, stats.duplicates, stats.effects) == (3, 3, 2, 1)


def test_an_idempotency_key_is_honoured_for_twenty_four_hours_only() -> None:
    p = provider()
    job = make_job()
    p.send(job, idempotency_key="k", now=0.0)
    assert p.send(job, idempotency_key="k", now=IDEMPOTENCY_WINDOW_S - 1).code == "duplicate"
    assert p.send(job, idempotency_key="k", now=IDEMPOTENCY_WINDOW_S + 1).code == "ok"
    assert len(p.sent) == 2


def test_the_same_seed_gives_the_same_answers() -> None:
    flaky = FailureModel(timeout_rate=0.1, server_error_rate=0.2, throttle_rate=0.1,
                         invalid_address_rate=0.1)

    def run(seed: int) -> list[tuple[str, str, float]]:
        p = provider(failures=flaky, seed=seed)
        out = []
        for i in range(50):
            r = p.send(make_job(n=i), idempotency_key=f"k{i}", now=float(i))
            out.append((r.outcome, r.code, r.latency_s))
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_seeded_error_rates_are_roughly_the_configured_ones() -> None:
    model = FailureModel(server_error_rate=0.2, throttle_rate=0.1, timeout_rate=0.0)
    p = provider(failures=model, seed=11)
    codes = [p.send(make_job(n=i), idempotency_key=f"k{i}", now=0.0).code for i in range(4000)]
    assert 0.17 < codes.count("server_error") / 4000 < 0.23
    assert 0.08 < codes.count("throttled") / 4000 < 0.12


def test_latency_is_lognormal_around_the_median() -> None:
    p = provider(failures=FailureModel(latency_median_s=0.2, latency_sigma=0.5), seed=2)
    lat = sorted(p.send(make_job(n=i), idempotency_key=f"k{i}", now=0.0).latency_s
                 for i in range(2001))
    assert 0.18 < lat[1000] < 0.22  # the median
    assert lat[1980] > 2 * lat[1000]  # a tail


def test_a_throttle_answer_carries_retry_after() -> None:
    p = provider(failures=FailureModel(throttle_rate=1.0, throttle_retry_after_s=42.0))
    res = p.send(make_job(), idempotency_key="k", now=0.0)
    assert (res.outcome, res.code, res.retry_after_s) == ("transient", "throttled", 42.0)
    assert p.sent == []


def test_a_timeout_may_have_delivered_and_the_retry_with_the_same_key_says_duplicate() -> None:
    p = provider(failures=FailureModel(timeout_rate=1.0, timeout_effect_rate=1.0))
    job = make_job()
    first = p.send(job, idempotency_key="k", now=0.0)
    assert (first.outcome, first.code) == ("transient", "timeout")
    assert len(p.sent) == 1  # it got through; only the answer was lost
    p.set_failures(NO_FAILURES)
    again = p.send(job, idempotency_key="k", now=30.0)
    assert (again.outcome, again.code) == ("accepted", "duplicate")
    assert len(p.sent) == 1


def test_a_timeout_without_effect_delivers_on_retry() -> None:
    p = provider(failures=FailureModel(timeout_rate=1.0, timeout_effect_rate=0.0))
    p.send(make_job(), idempotency_key="k", now=0.0)
    assert p.sent == []
    p.set_failures(NO_FAILURES)
    assert p.send(make_job(), idempotency_key="k", now=1.0).code == "ok"
    assert len(p.sent) == 1


def test_an_outage_window_fails_everything_inside_it_and_nothing_outside() -> None:
    p = provider(failures=NO_FAILURES.with_outage(100.0, 200.0))
    codes = [p.send(make_job(n=i), idempotency_key=f"k{i}", now=t).code
             for i, t in enumerate([99.0, 100.0, 150.0, 199.9, 200.0])]
    assert codes == ["ok", "unavailable", "unavailable", "unavailable", "ok"]


def test_a_payload_over_the_apns_limit_is_a_permanent_error() -> None:
    p = provider(Channel.IOS_PUSH)
    assert p.payload_limit_bytes == APNS_PAYLOAD_LIMIT_BYTES
    big = make_job(Channel.IOS_PUSH, body="x" * APNS_PAYLOAD_LIMIT_BYTES)
    res = p.send(big, idempotency_key="k", now=0.0)
    assert (res.outcome, res.code) == ("permanent", "payload_too_large")
    assert p.sent == []
    fits = make_job(Channel.IOS_PUSH, n=2, body="x" * 4000)
    assert p.send(fits, idempotency_key="k2", now=0.0).outcome == "accepted"


def test_an_sms_over_the_character_limit_is_rejected() -> None:
    p = provider(Channel.SMS)
    res = p.send(make_job(Channel.SMS, body="y" * (SMS_BODY_LIMIT_CHARS + 1)),
                 idempotency_key="k", now=0.0)
    assert res.code == "payload_too_large"


def test_an_invalidated_push_token_is_unregistered_and_an_email_is_invalid() -> None:
    push = provider(Channel.ANDROID_PUSH)
    push.invalidate("addr-1")
    assert push.send(make_job(Channel.ANDROID_PUSH), idempotency_key="k",
                     now=0.0).code == "unregistered_token"
    email = provider(Channel.EMAIL)
    email.invalidate("addr-1")
    assert email.send(make_job(), idempotency_key="k", now=0.0).code == "invalid_address"
    assert push.sent == [] and email.sent == []


def test_a_randomly_invalid_address_stays_invalid() -> None:
    p = provider(failures=FailureModel(invalid_address_rate=1.0))
    p.send(make_job(), idempotency_key="k", now=0.0)
    p.set_failures(NO_FAILURES)
    assert p.send(make_job(), idempotency_key="k", now=1.0).code == "invalid_address"


def test_scripted_failures_come_first_in_order() -> None:
    p = provider()
    p.fail_next("server_error", "throttled")
    codes = [p.send(make_job(), idempotency_key="k", now=float(t)).code for t in range(3)]
    assert codes == ["server_error", "throttled", "ok"]


def test_scripting_an_unknown_code_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="code"):
        provider().fail_next("teapot")


def test_receipts_arrive_after_a_delay_and_wait_until_ready() -> None:
    p = provider(failures=FailureModel(receipt_delay_median_s=5.0))
    job = make_job()
    p.send(job, idempotency_key="k", now=0.0)
    assert p.collect_receipts(0.0) == []
    assert p.collect_receipts(1000.0, ready=lambda r: False) == []
    [receipt] = p.collect_receipts(1000.0)
    assert receipt.job == job and receipt.idempotency_key == "k" and receipt.provider == "p"
    assert receipt.delivered_at > 0.0
    assert p.collect_receipts(2000.0) == []  # handed out once
    assert p.statistics().receipts == 1


def test_a_device_that_never_confirms_sends_no_receipt() -> None:
    p = provider(failures=FailureModel(delivery_rate=0.0))
    p.send(make_job(), idempotency_key="k", now=0.0)
    assert len(p.sent) == 1
    assert p.collect_receipts(1e6) == []


def test_a_duplicate_send_does_not_produce_a_second_receipt() -> None:
    p = provider()
    p.send(make_job(), idempotency_key="k", now=0.0)
    p.send(make_job(), idempotency_key="k", now=1.0)
    assert len(p.collect_receipts(1e6)) == 1


def test_a_timed_out_delivery_gets_its_receipt_only_once_the_caller_hears_accepted() -> None:
    p = provider(failures=FailureModel(timeout_rate=1.0, timeout_effect_rate=1.0))
    p.send(make_job(), idempotency_key="k", now=0.0)
    assert p.collect_receipts(1e6) == []
    p.set_failures(NO_FAILURES)
    p.send(make_job(), idempotency_key="k", now=10.0)
    assert len(p.collect_receipts(1e6)) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"timeout_rate": 1.5}, "timeout_rate"),
     ({"server_error_rate": 0.6, "throttle_rate": 0.6}, "sum of at most 1"),
     ({"latency_median_s": 0.0}, "latency_median_s"),
     ({"outages": ((5.0, 1.0),)}, "outages")],
)
def test_a_bad_failure_model_is_invalid(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        FailureModel(**kwargs)  # type: ignore[arg-type]


def test_a_job_for_another_channel_is_invalid_and_not_counted() -> None:
    p = provider(Channel.SMS)
    with pytest.raises(InvalidArgument, match="channel sms"):
        p.send(make_job(Channel.EMAIL), idempotency_key="k", now=0.0)
    with pytest.raises(InvalidArgument, match="idempotency_key"):
        p.send(make_job(Channel.SMS), idempotency_key="", now=0.0)
    assert p.statistics().requests == 0


def test_every_code_is_in_exactly_one_class() -> None:
    assert not ACCEPTED_CODES & TRANSIENT_CODES
    assert not TRANSIENT_CODES & PERMANENT_CODES


def test_default_providers_build_every_chain_with_independent_streams() -> None:
    chains = default_providers(7)
    assert {c: tuple(p.name for p in ps) for c, ps in chains.items()} == dict(PROVIDER_CHAINS)
    a = default_providers(7)[Channel.SMS][0].send(make_job(Channel.SMS), idempotency_key="k",
                                                  now=0.0)
    b = chains[Channel.SMS][0].send(make_job(Channel.SMS), idempotency_key="k", now=0.0)
    assert a == b


def test_default_providers_reject_an_override_for_an_unknown_provider() -> None:
    with pytest.raises(InvalidArgument, match="names of chain providers"):
        default_providers(1, failures={"pigeon": NO_FAILURES})
