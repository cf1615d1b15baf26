"""A repeated event (the same event id sent again) never spends the user's rate limit.

The intake recognises a repeat by the per-user grant record of each (event, channel,
address) the limiter already let through; the repeat's jobs still go out, and the workers'
dedupe makes their effect happen once.
"""

from __future__ import annotations

import pytest

from reference.core.clock import FakeClock
from reference.core.ids import SnowflakeGenerator
from reference.notification.api import NotificationAPI
from reference.notification.model import IDEMPOTENCY_WINDOW_S, Channel, NotificationRequest, Status
from reference.notification.system import NotificationSystem
from reference.storage import Store
from tests.notification.test_api import EMAIL, IOS, SMS, World, build_world

S = Status


@pytest.fixture
def world(store: Store, clock: FakeClock) -> World:
    return build_world(store, clock)


def test_an_event_sent_ten_times_spends_one_unit_of_the_users_rate_limit(world: World) -> None:
    world.limiter.limit = 2
    repeats = [world.client.send(world.request(event_id="evt-1", channels=(EMAIL,)))
               for _ in range(10)]
    other = world.client.send(world.request(event_id="evt-2", channels=(EMAIL,)))
    assert {r.entries[0].status for r in repeats} == {S.QUEUED}
    assert other.entries[0].status is S.QUEUED  # a different, legitimate notification
    assert world.limiter.asked == ["u1|email", "u1|email"]  # evt-1 once, evt-2 once
    assert world.api.statistics().rate_limited == 0


def test_a_repeat_keeps_the_dedupe_key_so_the_workers_make_one_effect_of_it(
    world: World,
) -> None:
    world.client.send(world.request(event_id="evt-1", channels=(EMAIL,)))
    world.client.send(world.request(event_id="evt-1", channels=(EMAIL,)))
    first, again = world.jobs(EMAIL)
    assert first.dedupe_key == again.dedupe_key == "evt-1|email|ada@example.com"


def test_a_repeat_sent_to_another_api_instance_sharing_the_store_is_recognised(
    world: World,
) -> None:
    other = NotificationAPI.from_store(world.store, clock=world.clock, log=world.log,
                                       ids=SnowflakeGenerator(world.clock, worker_id=4),
                                       limiter=world.limiter)
    world.api.submit(world.client.sign(world.request(event_id="evt-1", channels=(SMS,))))
    receipt = other.submit(world.client.sign(world.request(event_id="evt-1", channels=(SMS,))))
    assert receipt.entries[0].status is S.QUEUED
    assert world.limiter.asked == ["u1|sms"]


def test_a_repeat_that_reaches_a_new_device_asks_the_limit_once_for_that_channel(
    world: World,
) -> None:
    world.client.send(world.request(event_id="evt-1", channels=(IOS,)))  # iphone-a, ipad-b
    world.api.contacts.add_device("u1", IOS, "ipad-new")
    world.client.send(world.request(event_id="evt-1", channels=(IOS,)))  # a new address
    world.client.send(world.request(event_id="evt-1", channels=(IOS,)))  # nothing new
    assert world.limiter.asked == ["u1|ios", "u1|ios"]


def test_a_rate_limited_event_has_no_grant_so_its_repeat_asks_again(world: World) -> None:
    world.limiter.limit = 0
    first = world.client.send(world.request(event_id="evt-1", channels=(SMS,)))
    world.limiter.limit = 2  # (CountingLimiter counts every question: the 2nd is allowed)
    again = world.client.send(world.request(event_id="evt-1", channels=(SMS,)))
    assert (first.entries[0].reason, again.entries[0].status) == (
        "rate_limited:channel=sms", S.QUEUED)
    assert world.limiter.asked == ["u1|sms", "u1|sms"]


def test_a_grant_is_remembered_for_the_idempotency_window_only(world: World) -> None:
    world.client.send(world.request(event_id="evt-1", channels=(SMS,)))
    world.clock.advance(IDEMPOTENCY_WINDOW_S - 1)
    world.client.send(world.request(event_id="evt-1", channels=(SMS,)))
    assert world.limiter.asked == ["u1|sms"]
    world.clock.advance(1)  # the workers' dedupe forgets the event now: a new effect, counted
    world.client.send(world.request(event_id="evt-1", channels=(SMS,)))
    assert world.limiter.asked == ["u1|sms", "u1|sms"]


def test_one_event_twice_in_one_batch_asks_the_limit_once(world: World) -> None:
    request = world.request(event_id="evt-1", channels=(EMAIL,))
    receipts = world.client.send_batch([request, request])
    assert [r.entries[0].status for r in receipts] == [S.QUEUED, S.QUEUED]
    assert world.limiter.asked == ["u1|email"]


def test_a_critical_event_takes_no_grant_so_its_non_critical_repeat_is_counted(
    world: World,
) -> None:
    world.client.send(world.request(event_id="evt-1", channels=(SMS,), critical=True))
    world.client.send(world.request(event_id="evt-1", channels=(SMS,)))
    assert world.limiter.asked == ["u1|sms"]


def test_with_the_real_limiter_a_duplicate_storm_leaves_room_for_the_next_notification(
    store: Store,
) -> None:
    system = NotificationSystem.create(store, seed=3, failures="none", rate_limit=(2, 3600.0))
    system.publish_template("news", title="News", body="Hello ${name}")
    system.register_user("ada", phone="+14155550100")
    client = system.client()

    def send(event: str) -> Status:
        request = NotificationRequest(event, "ada", "news", {"name": "Ada"},
                                      channels=(Channel.SMS,))
        return client.send(request).entries[0].status

    assert [send("evt-1") for _ in range(10)] == [S.QUEUED] * 10
    assert send("evt-2") is S.QUEUED
    assert send("evt-3") is S.SUPPRESSED  # the limit still holds for new events
    system.run_until_idle()
    assert sorted(e.body for p in system.providers[Channel.SMS]
                  for e in p.sent) == ["Hello Ada", "Hello Ada"]  # type: ignore[attr-defined]
    assert system.limiter is not None
    assert [(a.key, a.allowed) for a in system.limiter.acquisitions] == [
        ("ada|sms", True), ("ada|sms", True), ("ada|sms", False)]
