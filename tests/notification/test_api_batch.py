"""The batch call: many requests under one signature, checked like single ones, all or nothing."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument, LabError, PayloadTooLarge, Unauthorized
from reference.notification.api import API_PATH, BATCH_API_PATH, APIStatistics
from reference.notification.auth import SignedRequest, sign
from reference.notification.model import Channel, NotificationRequest, Status
from reference.notification.settings import QuietHours
from reference.notification.validation import MAX_BATCH_REQUESTS, encode_batch, parse_batch
from reference.storage import Store, connect
from tests.notification.test_api import (
    ALL,
    EMAIL,
    REJECTIONS,
    SMS,
    World,
    build_world,
    outcomes,
    signed_raw,
)


@pytest.fixture
def world(store: Store, clock: FakeClock) -> World:
    return build_world(store, clock)


def batch_raw(world: World, bodies: list[dict[str, object]], *, nonce: str) -> SignedRequest:
    """Sign a raw batch body as a (possibly buggy) client would, bypassing encode_batch."""
    return sign(
        app_key=world.client.app_key,
        app_secret=world.client.app_secret,
        method="POST",
        path=BATCH_API_PATH,
        body=json.dumps({"requests": bodies}),
        timestamp=world.clock.now(),
        nonce=nonce,
    )


def good_body(event_id: str) -> dict[str, object]:
    return {
        "event_id": event_id,
        "user_id": "u1",
        "template": "welcome",
        "variables": {"name": "Ada"},
        "channels": [c.value for c in ALL],
    }


# ── accepted batches ────────────────────────────────────────────────────────────────────


def test_a_batch_returns_one_receipt_per_request_in_order(world: World) -> None:
    requests = [world.request(event_id="evt-a"),
                world.request(event_id="evt-b", user_id="u2", channels=(EMAIL,)),
                world.request(event_id="evt-c", channels=(SMS,))]
    receipts = world.client.send_batch(requests)
    assert [r.event_id for r in receipts] == ["evt-a", "evt-b", "evt-c"]
    assert outcomes(receipts[1]) == [("email", "bob@example.com", "queued", "")]
    assert outcomes(receipts[2]) == [("sms", "+14155550100", "queued", "")]
    assert {r.accepted_at for r in receipts} == {world.clock.now()}
    ids = [e.notification_id for r in receipts for e in r.entries]
    assert len(set(ids)) == len(ids) == 7
    for notification_id in ids:
        assert world.log.statuses(notification_id) == ["accepted", "queued"]


def test_statistics_count_each_request_of_a_batch(world: World) -> None:
    world.client.send_batch([world.request(event_id=f"evt-{i}", channels=(EMAIL,))
                             for i in range(3)])
    assert world.api.statistics() == APIStatistics(
        requests=3, rejected=0, accepted=3, queued=3, deferred=0, suppressed=0,
        rate_limited=0, released=0, opted_out_while_deferred=0,
    )


def test_requests_of_one_batch_share_the_rate_limit_in_order(world: World) -> None:
    world.limiter.limit = 1
    receipts = world.client.send_batch([world.request(event_id=f"evt-{i}", channels=(EMAIL,))
                                        for i in range(2)])
    assert [e.status for r in receipts for e in r.entries] == [Status.QUEUED, Status.SUPPRESSED]
    assert receipts[1].entries[0].reason == "rate_limited:channel=email"


# the batch path must decide exactly what the single path decides
REQUEST_SHAPES = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2"]),
        st.sampled_from([(EMAIL,), (SMS,), ALL, (Channel.IOS_PUSH, EMAIL)]),
        st.booleans(),  # critical
        st.sampled_from(["transactional", "marketing", "social"]),
    ),
    min_size=1,
    max_size=8,
)


def _world_for_equivalence(limit: int, quiet: bool) -> World:
    clock = FakeClock(start=1_767_225_600.0)  # 2026-01-01 00:00 UTC
    world = build_world(connect("memory", clock=clock), clock)
    world.limiter.limit = limit
    if quiet:
        world.api.settings.set_quiet_hours("u1", QuietHours.parse("23:00-01:00"))
    return world


def _decisions(world: World, receipts: list[object]) -> list[object]:
    return [(r.event_id, outcomes(r)) for r in receipts]  # type: ignore[attr-defined]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shapes=REQUEST_SHAPES, limit=st.integers(1, 3), quiet=st.booleans())
def test_a_batch_decides_exactly_what_the_same_requests_sent_one_by_one_decide(
    shapes: list[tuple[str, tuple[Channel, ...], bool, str]], limit: int, quiet: bool
) -> None:
    single, batched = _world_for_equivalence(limit, quiet), _world_for_equivalence(limit, quiet)
    requests = [
        NotificationRequest(f"evt-{i}", user, "welcome", {"name": "Ada"}, channels=channels,
                            critical=critical, category=category)  # type: ignore[arg-type]
        for i, (user, channels, critical, category) in enumerate(shapes)
    ]
    one_by_one = [single.client.send(r) for r in requests]
    together = list(batched.client.send_batch(requests))
    assert _decisions(batched, together) == _decisions(single, one_by_one)
    assert [c.status for c in batched.log.changes] == [c.status for c in single.log.changes]
    assert batched.limiter.asked == single.limiter.asked
    assert batched.snapshot()[:2] == single.snapshot()[:2]  # queues and deferrals


# ── one signature, one nonce ────────────────────────────────────────────────────────────


def test_a_replayed_batch_is_rejected_and_writes_nothing_more(world: World) -> None:
    signed = world.client.sign_batch([world.request(event_id=f"evt-{i}", channels=(EMAIL,))
                                      for i in range(2)])
    world.api.submit_batch(signed)
    after_first = world.snapshot()
    world.clock.advance(10)
    with pytest.raises(Unauthorized, match="replayed nonce"):
        world.api.submit_batch(signed)
    assert world.snapshot() == after_first


def test_a_tampered_batch_fails_its_signature_and_writes_nothing(world: World) -> None:
    before = world.snapshot()
    signed = world.client.sign_batch([world.request(channels=(EMAIL,))])
    tampered = dataclasses.replace(signed, body=signed.body.replace('"u1"', '"u2"'))
    with pytest.raises(Unauthorized, match="bad signature"):
        world.api.submit_batch(tampered)
    assert world.snapshot() == before


def test_the_batch_and_single_endpoints_sign_different_paths(world: World) -> None:
    request = world.request(channels=(EMAIL,))
    assert world.client.sign(request).path == API_PATH
    assert world.client.sign_batch([request]).path == BATCH_API_PATH
    before = world.snapshot()
    with pytest.raises(InvalidArgument, match=re.escape(f"expected POST {BATCH_API_PATH}")):
        world.api.submit_batch(world.client.sign(request))  # signed for the single endpoint
    with pytest.raises(InvalidArgument, match=re.escape(f"expected POST {API_PATH}")):
        world.api.submit(world.client.sign_batch([request]))  # signed for the batch one
    assert world.snapshot() == before
    assert world.api.statistics().rejected == 2


@pytest.mark.parametrize(("method", "path"), [("GET", API_PATH), ("POST", "/v1/anything"),
                                              ("DELETE", BATCH_API_PATH)])
def test_a_request_signed_for_another_method_or_path_is_refused(
    world: World, method: str, path: str
) -> None:
    body = json.dumps(good_body("evt-1"))
    batch = path == BATCH_API_PATH
    if batch:
        body = json.dumps({"requests": [good_body("evt-1")]})
    signed = sign(app_key=world.client.app_key, app_secret=world.client.app_secret,
                  method=method, path=path, body=body, timestamp=world.clock.now(),
                  nonce="nonce-route-01")
    before = world.snapshot()
    with pytest.raises(InvalidArgument, match="is not this endpoint"):
        (world.api.submit_batch if batch else world.api.submit)(signed)
    assert world.snapshot() == before


def test_a_batch_refuses_a_request_a_single_call_would_refuse_for_its_size(
    world: World,
) -> None:
    huge = {**good_body("evt-big"), "variables": {"name": "x" * 70_000}}
    with pytest.raises(PayloadTooLarge, match="request body"):
        world.api.submit(signed_raw(world, **{"variables": huge["variables"]}))
    before = world.snapshot()
    signed = batch_raw(world, [good_body("evt-1"), huge], nonce="batch-nonce-big")
    with pytest.raises(PayloadTooLarge, match="request body") as caught:
        world.api.submit_batch(signed)
    assert caught.value.__notes__ == ["in requests[1] (event_id='evt-big')"]
    assert world.snapshot() == before


# ── one bad request rejects the batch ───────────────────────────────────────────────────


@pytest.mark.parametrize("position", [0, 2])
@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_one_bad_request_rejects_the_whole_batch_naming_it_and_writes_nothing(
    world: World, case: str, position: int
) -> None:
    fields, error, match = REJECTIONS[case]
    world.client.send(world.request(event_id="evt-0", channels=(EMAIL,)))  # some prior state
    before = world.snapshot()
    bodies = [good_body(f"evt-{i}") for i in range(3)]
    bodies[position] = {**bodies[position], **fields}
    signed = batch_raw(world, bodies, nonce="batch-nonce-0001")
    with pytest.raises(error, match=match) as caught:
        world.api.submit_batch(signed)
    assert any(f"in requests[{position}]" in note for note in caught.value.__notes__)
    assert world.snapshot() == before
    assert world.api.statistics().rejected == 3  # every request of the refused batch
    # the nonce was not spent: the corrected batch goes through under the same signature rules
    bodies[position] = good_body(f"evt-{position}")
    fixed = batch_raw(world, bodies, nonce="batch-nonce-0001")
    assert len(world.api.submit_batch(fixed)) == 3


@pytest.mark.parametrize("count", [0, MAX_BATCH_REQUESTS + 1])
def test_an_empty_or_oversized_batch_is_refused(world: World, count: int) -> None:
    with pytest.raises(InvalidArgument, match=f"1..{MAX_BATCH_REQUESTS} requests"):
        world.client.send_batch([world.request(event_id=f"e{i}") for i in range(count)])
    before = world.snapshot()
    signed = batch_raw(world, [good_body(f"e{i}") for i in range(count)], nonce="nonce-big-01")
    with pytest.raises(InvalidArgument, match=f"1..{MAX_BATCH_REQUESTS} requests"):
        world.api.submit_batch(signed)
    assert world.snapshot() == before


def test_the_client_names_the_bad_request_before_signing(world: World) -> None:
    requests = [world.request(event_id="evt-1"), world.request(event_id="bad|id")]
    with pytest.raises(InvalidArgument, match="event_id") as caught:
        world.client.send_batch(requests)
    assert caught.value.__notes__ == ["in requests[1] (event_id='bad|id')"]


@pytest.mark.parametrize("body", ["[]", '{"requests": {}}', '{"requests": [], "x": 1}',
                                  "not json"])
def test_a_malformed_batch_body_is_a_clear_error(body: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_batch(body)


def test_a_batch_body_over_its_byte_limit_is_payload_too_large() -> None:
    with pytest.raises(PayloadTooLarge, match="batch body"):
        parse_batch('{"requests": ["' + "x" * (4 * 1_048_576) + '"]}')


def test_encode_and_parse_batch_round_trip() -> None:
    requests = [NotificationRequest(f"evt-{i}", f"u{i}", "t", {"n": i}, channels=(EMAIL,))
                for i in range(3)]
    assert list(parse_batch(encode_batch(requests))) == [
        dataclasses.replace(r, channels=(EMAIL,)) for r in requests
    ]


def test_every_lab_error_of_a_batch_counts_its_requests_as_rejected(world: World) -> None:
    with pytest.raises(LabError):
        world.client.send_batch([world.request(event_id="a", channels=(EMAIL,)),
                                 world.request(event_id="b", user_id="ghost")])
    assert world.api.statistics().rejected == 2
