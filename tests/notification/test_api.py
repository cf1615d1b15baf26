"""The Notification API: signed request in, jobs on channel queues out, nothing on rejection."""

from __future__ import annotations

import dataclasses
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.blocks.delayed_queue import DelayedQueue
from reference.blocks.ratelimit import RateLimiter
from reference.core.clock import FakeClock
from reference.core.errors import (
    ClockMovedBackwards,
    InvalidArgument,
    LabError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)
from reference.core.ids import SnowflakeGenerator
from reference.notification.api import (
    DEFERRED_QUEUE,
    APIStatistics,
    NotificationAPI,
    Receipt,
)
from reference.notification.auth import HEADER_TIMESTAMP, SignedRequest, sign
from reference.notification.client import NotificationClient
from reference.notification.model import (
    WORKER_GROUP,
    Category,
    Channel,
    Job,
    NotificationRequest,
    Status,
    StatusChange,
    queue_name,
)
from reference.notification.pump import ensure_groups
from reference.notification.settings import Defer, QuietHours, Suppress, decide
from reference.notification.tracking import NotificationLog
from reference.storage import Store, connect

IOS, ANDROID, SMS, EMAIL = Channel.IOS_PUSH, Channel.ANDROID_PUSH, Channel.SMS, Channel.EMAIL
ALL = (IOS, ANDROID, SMS, EMAIL)


# ── recording fakes ─────────────────────────────────────────────────────────────────────


@dataclass
class RecordingLog:
    """A StatusRecorder that keeps every change, in order."""

    changes: list[StatusChange] = field(default_factory=list)

    def record(self, change: StatusChange) -> None:
        self.changes.append(change)

    def statuses(self, notification_id: str) -> list[str]:
        return [c.status.value for c in self.changes if c.notification_id == notification_id]


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: float
    remaining: int


@dataclass
class CountingLimiter:
    """Allows ``limit`` acquisitions per key, forever; records every key asked."""

    limit: int = 1_000
    asked: list[str] = field(default_factory=list)

    def acquire(self, key: str) -> Verdict:
        self.asked.append(key)
        used = self.asked.count(key)
        return Verdict(used <= self.limit, 0.0 if used <= self.limit else 60.0, 0)


# ── the world under test ────────────────────────────────────────────────────────────────


@dataclass
class World:
    clock: FakeClock
    store: Store
    api: NotificationAPI
    client: NotificationClient
    log: RecordingLog
    limiter: CountingLimiter

    def request(self, **kw: object) -> NotificationRequest:
        fields: dict[str, object] = {
            "event_id": "evt-1",
            "user_id": "u1",
            "template": "welcome",
            "variables": {"name": "Ada"},
            "channels": ALL,
            **kw,
        }
        return NotificationRequest(**fields)  # type: ignore[arg-type]

    def jobs(self, channel: Channel) -> list[Job]:
        deliveries = self.store.queue.consume(queue_name(channel), WORKER_GROUP, "w", count=100)
        return [Job.from_json(d.body) for d in deliveries]

    def snapshot(self) -> tuple[object, ...]:
        """Everything a submit may write: queues, deferrals, log, limiter, nonce index."""
        queues = tuple(
            (
                self.store.queue.statistics(queue_name(c), WORKER_GROUP).published,
                self.store.queue.statistics(queue_name(c), WORKER_GROUP).depth,
            )
            for c in Channel
        )
        deferred = DelayedQueue(self.store.timeline, name=DEFERRED_QUEUE)
        nonces = self.store.timeline.size(f"nonces:{{{self.client.app_key}}}")
        return (queues, len(deferred), list(self.log.changes), list(self.limiter.asked), nonces)


def build_world(store: Store, clock: FakeClock) -> World:
    ensure_groups(store.queue)
    log, limiter = RecordingLog(), CountingLimiter()
    api = NotificationAPI.from_store(
        store, clock=clock, log=log, ids=SnowflakeGenerator(clock, worker_id=3), limiter=limiter
    )
    api.contacts.register_user("u1", phone="+14155550100", email="ada@example.com")
    api.contacts.add_device("u1", IOS, "iphone-a")
    api.contacts.add_device("u1", IOS, "ipad-b")
    api.contacts.add_device("u1", ANDROID, "pixel-c")
    api.contacts.register_user("u2", email="bob@example.com")  # email only
    api.templates.publish("welcome", title="Welcome ${name}", body="Hi ${name}!", channels=ALL)
    api.templates.publish("otp", title="", body="Code ${code}", channels=[SMS])
    key, secret = api.registry.create_app("signup-service", random.Random(1))
    client = NotificationClient(
        api, app_key=key, app_secret=secret, clock=clock, rng=random.Random(2)
    )
    return World(clock, store, api, client, log, limiter)


@pytest.fixture
def world(store: Store, clock: FakeClock) -> World:
    return build_world(store, clock)


def outcomes(receipt: Receipt) -> list[tuple[str, str, str, str]]:
    return [(e.channel.value, e.address, e.status.value, e.reason) for e in receipt.entries]


# ── accepted requests ───────────────────────────────────────────────────────────────────


def test_one_job_per_channel_and_address_lands_on_each_channel_queue(world: World) -> None:
    receipt = world.client.send(world.request())
    assert outcomes(receipt) == [
        ("ios", "ipad-b", "queued", ""),
        ("ios", "iphone-a", "queued", ""),
        ("android", "pixel-c", "queued", ""),
        ("sms", "+14155550100", "queued", ""),
        ("email", "ada@example.com", "queued", ""),
    ]
    assert (receipt.event_id, receipt.user_id, receipt.app_name) == (
        "evt-1",
        "u1",
        "signup-service",
    )
    ios = world.jobs(IOS)
    assert [j.address for j in ios] == ["ipad-b", "iphone-a"]
    job = ios[0]
    assert (job.title, job.body, job.event_id, job.template) == (
        "Welcome Ada",
        "Hi Ada!",
        "evt-1",
        "welcome",
    )
    assert job.accepted_at == world.clock.now() and job.attempt == 1
    assert job.notification_id == receipt.entries[0].notification_id
    assert [j.address for j in world.jobs(SMS)] == ["+14155550100"]


def test_every_outcome_is_logged_as_accepted_then_its_status(world: World) -> None:
    receipt = world.client.send(world.request())
    for entry in receipt.entries:
        assert world.log.statuses(entry.notification_id) == ["accepted", "queued"]
    assert len(world.log.changes) == 2 * len(receipt.entries)
    assert {c.at for c in world.log.changes} == {world.clock.now()}


def test_notification_ids_are_unique_time_ordered_snowflakes(world: World) -> None:
    first = world.client.send(world.request())
    world.clock.advance(0.002)
    second = world.client.send(world.request(event_id="evt-2"))
    ids = [int(e.notification_id) for r in (first, second) for e in r.entries]
    assert len(set(ids)) == len(ids) and ids == sorted(ids)


def test_a_channel_without_contact_info_is_suppressed_with_a_reason(world: World) -> None:
    receipt = world.client.send(world.request(user_id="u2", channels=(SMS, EMAIL)))
    assert outcomes(receipt) == [
        ("sms", "", "suppressed", "no_contact:channel=sms"),
        ("email", "bob@example.com", "queued", ""),
    ]
    assert world.jobs(SMS) == []
    suppressed = receipt.with_status(Status.SUPPRESSED)[0]
    assert world.log.statuses(suppressed.notification_id) == ["accepted", "suppressed"]
    assert world.log.changes[-3].reason == "no_contact:channel=sms"


def test_an_opted_out_channel_is_suppressed_for_every_address(world: World) -> None:
    world.api.settings.set_channel("u1", IOS, opted_in=False)
    receipt = world.client.send(world.request(channels=(IOS, EMAIL)))
    assert [e.status for e in receipt.entries] == [Status.SUPPRESSED] * 2 + [Status.QUEUED]
    assert {e.reason for e in receipt.with_status(Status.SUPPRESSED)} == {"opted_out:channel=ios"}
    assert world.jobs(IOS) == []
    assert world.limiter.asked == ["u1|email"]  # suppressed channels use no rate budget


def test_marketing_is_suppressed_by_default(world: World) -> None:
    receipt = world.client.send(world.request(channels=(EMAIL,), category=Category.MARKETING))
    assert outcomes(receipt) == [
        ("email", "ada@example.com", "suppressed", "opted_out:category=marketing")
    ]


def test_quiet_hours_defer_jobs_until_the_window_ends_then_the_pump_queues_them(
    world: World,
) -> None:
    start = datetime.fromtimestamp(world.clock.now(), UTC)  # 2023-11-14 22:13:20 UTC
    world.api.settings.set_quiet_hours("u1", QuietHours(time(22), time(7)), time_zone="UTC")
    receipt = world.client.send(world.request(channels=(SMS, EMAIL)))
    morning = datetime(start.year, start.month, start.day + 1, 7, tzinfo=UTC).timestamp()
    assert [(e.status, e.due_at) for e in receipt.entries] == [(Status.DEFERRED, morning)] * 2
    assert receipt.entries[0].reason == "quiet_hours:22:00-07:00 UTC"
    assert world.jobs(SMS) == [] and world.api.next_release_at() == morning

    world.clock.advance(morning - world.clock.now() - 1)
    assert world.api.release_deferred() == ()
    world.clock.advance(1)
    released = world.api.release_deferred()
    assert [j.channel for j in released] == [SMS, EMAIL]
    assert [j.address for j in world.jobs(SMS)] == ["+14155550100"]
    nid = receipt.entries[0].notification_id
    assert world.log.statuses(nid) == ["accepted", "deferred", "queued"]
    assert world.api.release_deferred() == ()
    assert world.api.statistics().released == 2


def test_an_opt_out_made_while_a_job_waits_suppresses_it_at_release(world: World) -> None:
    world.api.settings.set_quiet_hours("u1", QuietHours(time(22), time(7)), time_zone="UTC")
    receipt = world.client.send(world.request(channels=(SMS, EMAIL, IOS)))
    critical = world.client.send(world.request(event_id="evt-2", channels=(SMS,),
                                               category=Category.SECURITY, critical=True))
    assert {e.status for e in receipt.entries} == {Status.DEFERRED}
    assert critical.entries[0].status is Status.QUEUED  # critical: no quiet hours
    world.api.settings.set_channel("u1", SMS, opted_in=False)  # while they wait
    world.api.settings.set_category("u1", Category.TRANSACTIONAL, opted_in=False)
    world.api.settings.set_channel("u1", EMAIL, opted_in=True)
    due = world.api.next_release_at()
    assert due is not None
    world.clock.advance(due - world.clock.now())
    assert world.api.release_deferred() == ()
    last = {c.notification_id: c for c in world.log.changes}
    assert sorted((e.channel.value, last[e.notification_id].status.value,
                   last[e.notification_id].reason) for e in receipt.entries) == [
        ("email", "suppressed", "opted_out:category=transactional (while deferred)"),
        ("ios", "suppressed", "opted_out:category=transactional (while deferred)"),
        ("ios", "suppressed", "opted_out:category=transactional (while deferred)"),
        ("sms", "suppressed", "opted_out:channel=sms (while deferred)"),
    ]
    stats = world.api.statistics()
    assert (stats.released, stats.opted_out_while_deferred) == (0, 4)


def test_an_opt_in_made_while_a_job_waits_lets_it_leave(world: World) -> None:
    world.api.settings.set_quiet_hours("u1", QuietHours(time(22), time(7)), time_zone="UTC")
    receipt = world.client.send(world.request(channels=(SMS,)))
    world.api.settings.set_channel("u1", SMS, opted_in=False)
    world.api.settings.set_channel("u1", SMS, opted_in=True)  # changed back in time
    due = world.api.next_release_at()
    assert due is not None
    world.clock.advance(due - world.clock.now())
    assert [j.notification_id for j in world.api.release_deferred()] == [
        receipt.entries[0].notification_id]


def test_critical_bypasses_opt_out_quiet_hours_and_the_rate_limit(world: World) -> None:
    world.api.settings.set_channel("u1", SMS, opted_in=False)
    world.api.settings.set_quiet_hours("u1", QuietHours(time(0), time(23, 59)))
    world.limiter.limit = 0
    receipt = world.client.send(
        world.request(channels=(SMS,), category=Category.SECURITY, critical=True)
    )
    assert outcomes(receipt) == [("sms", "+14155550100", "queued", "")]
    assert world.limiter.asked == []
    assert world.jobs(SMS)[0].critical is True


def test_critical_still_needs_contact_info(world: World) -> None:
    receipt = world.client.send(world.request(user_id="u2", channels=(SMS,), critical=True))
    assert outcomes(receipt) == [("sms", "", "suppressed", "no_contact:channel=sms")]


def test_over_the_rate_limit_a_channel_is_suppressed_and_counted_once_per_request(
    world: World,
) -> None:
    world.limiter.limit = 1
    first = world.client.send(world.request(channels=(IOS, SMS)))
    second = world.client.send(world.request(event_id="evt-2", channels=(IOS, SMS)))
    assert [e.status for e in first.entries] == [Status.QUEUED] * 3
    assert outcomes(second) == [
        ("ios", "ipad-b", "suppressed", "rate_limited:channel=ios"),
        ("ios", "iphone-a", "suppressed", "rate_limited:channel=ios"),
        ("sms", "+14155550100", "suppressed", "rate_limited:channel=sms"),
    ]
    assert world.limiter.asked == ["u1|ios", "u1|sms"] * 2  # two iOS devices, one unit
    assert world.api.statistics().rate_limited == 2


def test_a_duplicate_event_is_accepted_again_with_the_same_dedupe_keys(world: World) -> None:
    first = world.client.send(world.request(channels=(EMAIL,)))
    again = world.client.send(world.request(channels=(EMAIL,)))
    jobs = world.jobs(EMAIL)
    assert len(jobs) == 2 and jobs[0].dedupe_key == jobs[1].dedupe_key
    assert first.entries[0].notification_id != again.entries[0].notification_id


def test_the_latest_template_version_is_rendered(world: World) -> None:
    world.api.templates.publish("welcome", title="Hey ${name}", body="v2 ${name}", channels=ALL)
    world.client.send(world.request(channels=(EMAIL,)))
    assert [(j.title, j.body) for j in world.jobs(EMAIL)] == [("Hey Ada", "v2 Ada")]


def test_statistics_count_requests_and_outcomes(world: World) -> None:
    world.api.settings.set_channel("u1", IOS, opted_in=False)
    world.client.send(world.request())
    with pytest.raises(NotFound):
        world.client.send(world.request(user_id="ghost"))
    assert world.api.statistics() == APIStatistics(
        requests=2,
        rejected=1,
        accepted=1,
        queued=3,
        deferred=0,
        suppressed=2,
        rate_limited=0,
        released=0,
        opted_out_while_deferred=0,
    )


# ── rejections write nothing ────────────────────────────────────────────────────────────


def signed_raw(world: World, **fields: object) -> SignedRequest:
    """Sign a raw JSON body as a (possibly buggy) client would, bypassing encode_request."""
    body = {
        "event_id": "evt-1",
        "user_id": "u1",
        "template": "welcome",
        "variables": {"name": "Ada"},
        "channels": [c.value for c in ALL],
        **fields,
    }
    return sign(
        app_key=world.client.app_key,
        app_secret=world.client.app_secret,
        method="POST",
        path="/v1/notifications",
        body=json.dumps(body),
        timestamp=world.clock.now(),
        nonce="nonce-0123456789",
    )


REJECTIONS: dict[str, tuple[dict[str, object], type[LabError], str]] = {
    "unknown user": ({"user_id": "ghost"}, NotFound, "user 'ghost' not found"),
    "unknown template": ({"template": "nope"}, NotFound, "template 'nope'"),
    "template lacks channel": (
        {"template": "otp", "variables": {"code": 1}, "channels": ["sms", "ios"]},
        InvalidArgument,
        "no variant for channels",
    ),
    "missing variable": ({"variables": {}}, InvalidArgument, r"missing \['name'\]"),
    "payload too large": ({"variables": {"name": "가" * 1500}}, PayloadTooLarge, "ios push"),
    "sms too long": (
        {"channels": ["sms"], "variables": {"name": "x" * 1600}},
        PayloadTooLarge,
        "sms body is 1604 characters",
    ),
    "unknown channel": ({"channels": ["fax"]}, InvalidArgument, "channel='fax'"),
    "bad user id": ({"user_id": "u{1}"}, InvalidArgument, "user_id="),
    "unknown field": ({"critcal": True}, InvalidArgument, "unknown fields"),
    "variables not a mapping": ({"variables": [1]}, InvalidArgument, "variables="),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_an_invalid_request_raises_and_leaves_nothing_written(world: World, case: str) -> None:
    fields, error, match = REJECTIONS[case]
    world.client.send(world.request(event_id="evt-0", channels=(EMAIL,)))  # some prior state
    before = world.snapshot()
    signed = signed_raw(world, **fields)
    with pytest.raises(error, match=match):
        world.api.submit(signed)
    assert world.snapshot() == before
    # the nonce was not consumed: the same request fails for the same reason, not as a replay
    with pytest.raises(error, match=match):
        world.api.submit(signed)
    assert world.api.statistics().rejected == 2


def test_a_valid_raw_request_signed_like_the_rejected_ones_is_accepted(world: World) -> None:
    assert len(world.api.submit(signed_raw(world)).entries) == 5


AUTH_FAILURES = {
    "tampered body": (
        lambda w, s: dataclasses.replace(s, body=s.body.replace("u1", "u2")),
        "bad signature",
    ),
    "unknown key": (
        lambda w, s: dataclasses.replace(
            s, headers={**s.headers, "X-App-Key": "ak_00000000deadbeef"}
        ),
        "unknown app key",
    ),
    "stale": (lambda w, s: (w.clock.advance(301), s)[1], "301 s old"),
    "from the future": (
        lambda w, s: dataclasses.replace(
            s, headers={**s.headers, HEADER_TIMESTAMP: str(int(w.clock.now()) + 400)}
        ),
        "in the future",
    ),
    "not a signed request": (lambda w, s: {"body": s.body}, "expected a SignedRequest"),
}


@pytest.mark.parametrize("case", sorted(AUTH_FAILURES))
def test_an_unauthenticated_request_raises_and_leaves_nothing_written(
    world: World, case: str
) -> None:
    tamper, match = AUTH_FAILURES[case]
    before = world.snapshot()
    bad = tamper(world, world.client.sign(world.request()))
    with pytest.raises(Unauthorized, match=match):
        world.api.submit(bad)
    assert world.snapshot() == before


def test_a_replayed_request_is_rejected_and_leaves_nothing_more_written(world: World) -> None:
    signed = world.client.sign(world.request(channels=(EMAIL,)))
    world.api.submit(signed)
    after_first = world.snapshot()
    world.clock.advance(10)
    with pytest.raises(Unauthorized, match="replayed nonce"):
        world.api.submit(signed)
    assert world.snapshot() == after_first


def test_a_replay_to_another_stateless_instance_is_rejected(world: World) -> None:
    other = NotificationAPI.from_store(
        world.store,
        clock=world.clock,
        log=world.log,
        ids=SnowflakeGenerator(world.clock, worker_id=4),
    )
    signed = world.client.sign(world.request(channels=(EMAIL,)))
    world.api.submit(signed)
    with pytest.raises(Unauthorized, match="replayed"):
        other.submit(signed)


def test_another_instance_releases_jobs_this_one_deferred(world: World) -> None:
    world.api.settings.set_quiet_hours("u1", QuietHours(time(22), time(7)), time_zone="UTC")
    world.client.send(world.request(channels=(EMAIL,)))
    other = NotificationAPI.from_store(
        world.store,
        clock=world.clock,
        log=world.log,
        ids=SnowflakeGenerator(world.clock, worker_id=4),
    )
    world.clock.advance(12 * 3600)
    assert [j.channel for j in other.release_deferred()] == [EMAIL]
    assert world.api.release_deferred() == ()


# ── wiring ──────────────────────────────────────────────────────────────────────────────


def test_the_client_signs_each_request_with_a_fresh_nonce_and_the_clock(world: World) -> None:
    one, two = world.client.sign(world.request()), world.client.sign(world.request())
    assert one.header("X-Nonce") != two.header("X-Nonce")
    assert one.header("X-Timestamp") == str(int(world.clock.now()))
    assert one.path == "/v1/notifications" and one.method == "POST"


def test_the_api_refuses_missing_collaborators(world: World, clock: FakeClock) -> None:
    with pytest.raises(InvalidArgument, match="log="):
        NotificationAPI.from_store(
            world.store,
            clock=clock,
            log=object(),  # type: ignore[arg-type]
            ids=SnowflakeGenerator(clock),
        )
    with pytest.raises(InvalidArgument, match="limiter="):
        NotificationAPI.from_store(
            world.store,
            clock=clock,
            log=RecordingLog(),
            ids=SnowflakeGenerator(clock),
            limiter=object(),
        )  # type: ignore[arg-type]


# ── with the real notification log and rate limiter ─────────────────────────────────────


def test_with_the_real_log_and_limiter_the_funnel_and_state_machine_agree(
    store: Store, clock: FakeClock
) -> None:
    ensure_groups(store.queue)
    log = NotificationLog()
    limiter = RateLimiter(store.timeline, clock, limit=2, window_s=3600.0, name="per-user")
    api = NotificationAPI.from_store(
        store, clock=clock, log=log, limiter=limiter, ids=SnowflakeGenerator(clock)
    )
    api.contacts.register_user("u1", phone="+14155550100", email="ada@example.com")
    api.templates.publish("t", title="T ${n}", body="B ${n}", channels=[SMS, EMAIL])
    api.settings.set_quiet_hours("u1", QuietHours(time(22), time(7)), time_zone="UTC")
    key, secret = api.registry.create_app("svc", random.Random(1))
    client = NotificationClient(
        api, app_key=key, app_secret=secret, clock=clock, rng=random.Random(2)
    )
    receipts = [
        client.send(NotificationRequest(f"e{i}", "u1", "t", {"n": i}, channels=(SMS, EMAIL)))
        for i in range(3)
    ]
    assert [e.status for e in receipts[0].entries] == [Status.DEFERRED] * 2
    assert {e.reason for e in receipts[2].entries} == {
        "rate_limited:channel=sms",
        "rate_limited:channel=email",
    }
    clock.advance(9 * 3600)
    assert len(api.release_deferred()) == 4
    assert log.status(receipts[0].entries[0].notification_id) is Status.QUEUED
    funnel = log.funnel(channel=SMS)
    assert (funnel.accepted, funnel.suppressed) == (3, 1)
    assert limiter.statistics().denied == 2


# ── property: the receipt, the queues and the log always tell the same story ────────────


@settings(max_examples=40, deadline=None)
@given(
    channels=st.lists(st.sampled_from(ALL), min_size=1, max_size=4, unique=True),
    opted_out=st.frozensets(st.sampled_from(ALL)),
    category=st.sampled_from(list(Category)),
    critical=st.booleans(),
    quiet=st.none() | st.sampled_from(["22:00-07:00", "08:00-23:00", "23:00-22:00"]),
    user=st.sampled_from(["u1", "u2"]),
)
def test_receipt_queues_and_log_agree_with_the_settings_decision(
    channels: list[Channel],
    opted_out: frozenset[Channel],
    category: Category,
    critical: bool,
    quiet: str | None,
    user: str,
) -> None:
    clock = FakeClock(start=1_700_000_000.0)
    w = build_world(connect("memory", clock=clock), clock)
    for channel in opted_out:
        w.api.settings.set_channel(user, channel, opted_in=False)
    if quiet:
        w.api.settings.set_quiet_hours(user, QuietHours.parse(quiet))
    receipt = w.client.send(
        w.request(user_id=user, channels=tuple(channels), category=category, critical=critical)
    )
    prefs = w.api.settings.get(user)
    contacts = w.api.contacts.get(user)
    for entry in receipt.entries:
        decision = decide(
            prefs, channel=entry.channel, category=category, critical=critical, now=clock.now()
        )
        if not contacts.addresses(entry.channel):
            assert entry.reason.startswith("no_contact")
        elif isinstance(decision, Suppress):
            assert (entry.status, entry.reason) == (Status.SUPPRESSED, decision.reason)
        elif isinstance(decision, Defer):
            assert (entry.status, entry.due_at) == (Status.DEFERRED, decision.until)
        else:
            assert entry.status is Status.QUEUED
        assert w.log.statuses(entry.notification_id) == ["accepted", entry.status.value]
    queued = Counter(e.channel for e in receipt.with_status(Status.QUEUED))
    for channel in Channel:
        published = w.store.queue.statistics(queue_name(channel), WORKER_GROUP).published
        assert published == queued[channel]
    assert w.api.next_release_at() == min(
        (e.due_at for e in receipt.with_status(Status.DEFERRED) if e.due_at), default=None
    )
    assert sum(len(contacts.addresses(c)) or 1 for c in channels) == len(receipt.entries)


def test_any_lab_error_from_submit_is_counted_as_a_rejection(world: World) -> None:
    with pytest.raises(LabError):
        world.api.submit(world.client.sign(world.request(user_id="ghost")))
    assert world.api.statistics().rejected == 1


def test_a_clock_rollback_refuses_the_request_before_anything_is_written(world: World) -> None:
    world.api.submit(world.client.sign(world.request(event_id="evt-0", channels=(EMAIL,))))
    before = world.snapshot()
    signed = world.client.sign(world.request(event_id="evt-1"))
    world.clock.set_to(world.clock.now() - 5)  # the id generator saw a later millisecond
    with pytest.raises(ClockMovedBackwards):
        world.api.submit(signed)
    assert world.snapshot() == before  # no nonce spent, no rate-limit slot, no log, no job
    assert world.api.statistics().rejected == 1
    world.clock.set_to(world.clock.now() + 10)  # the clock recovers: the same request goes in
    assert {e.status for e in world.api.submit(signed).entries} == {Status.QUEUED}
