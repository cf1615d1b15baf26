"""The bootstrap's intake verbs as a new user meets them in a notebook: clients made again,
bad arguments to ``create``, ``register_user``, ``publish_template`` and ``run_until``, and
an opt-out made during quiet hours."""

from __future__ import annotations

from random import Random
from typing import Any

import pytest

from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument, NotFound
from reference.notification.auth import HEADER_NONCE, new_nonce
from reference.notification.model import Category, Channel, NotificationRequest, Status
from reference.notification.providers import default_providers
from reference.notification.settings import Preferences, QuietHours
from reference.notification.system import DEFAULT_APP_NAME, NotificationSystem
from reference.storage import Store

S = Status


def make_system(store: Store, **kwargs: Any) -> NotificationSystem:
    system = NotificationSystem.create(store, seed=3, failures="none", **kwargs)
    system.publish_template("news", title="News", body="Hello ${name}")
    return system


def news(event: str, user: str = "ada", channel: Channel = Channel.SMS) -> NotificationRequest:
    return NotificationRequest(event, user, "news", {"name": "Ada"}, channels=(channel,))


# ── clients: a notebook cell run twice ─────────────────────────────────────────────────


def test_a_second_client_of_the_same_app_is_not_refused_as_a_replay(store: Store) -> None:
    system = make_system(store)
    system.register_user("ada", phone="+14155550100")
    first = system.client().send(news("evt-1"))
    again = system.client().send(news("evt-2"))  # the cell that made the client, run again
    assert [r.entries[0].status for r in (first, again)] == [S.QUEUED, S.QUEUED]


def test_clients_of_one_app_never_repeat_each_others_nonces(store: Store) -> None:
    system = make_system(store)
    clients = [system.client("shop") for _ in range(3)] + [system.client()]
    nonces = [c.sign(news(f"evt-{i}")).headers[HEADER_NONCE]
              for i in range(4) for c in clients]
    assert len(set(nonces)) == len(nonces)


def test_the_nonces_of_a_system_are_reproducible_from_its_seed(clock: FakeClock) -> None:
    from reference.storage import connect

    def nonces() -> list[str]:
        with connect("memory", clock=FakeClock(start=clock.now())) as store:
            system = NotificationSystem.create(store, seed=3, failures="none")
            clients = [system.client("shop"), system.client("shop"), system.client()]
            return [c.sign(news("evt-1")).headers[HEADER_NONCE] for c in clients * 2]

    assert nonces() == nonces()


def test_the_first_client_of_an_app_keeps_the_nonces_it_always_drew(store: Store) -> None:
    system = make_system(store)  # (the chapter's notebook prints one of them)
    seeded = Random(f"3:client:{DEFAULT_APP_NAME}")
    client = system.client()
    assert [client.sign(news("evt-1")).headers[HEADER_NONCE] for _ in range(2)] == [
        new_nonce(seeded), new_nonce(seeded)]


# ── register_user and publish_template ─────────────────────────────────────────────────


@pytest.mark.parametrize(
    "devices",
    [{"ios": "apns-abc"}, {"android": "fcm-abc"}, {"ios": None}, {"android": None},
     {"ios": b"apns-abc"}, {"ios": 42}, {"ios": ["ok-token", None]}],
    ids=["ios str", "android str", "ios None", "android None", "ios bytes", "ios int",
         "a None token"],
)
def test_register_user_refuses_anything_but_an_iterable_of_tokens_and_writes_nothing(
    store: Store, devices: dict[str, object],
) -> None:
    system = make_system(store)
    with pytest.raises(InvalidArgument, match=r"ios=|android=|token="):
        system.register_user("hal", email="hal@example.com", **devices)  # type: ignore[arg-type]
    assert not system.contacts.is_registered("hal")
    assert system.contacts.owner_of("apns-abc") is None


def test_register_user_still_takes_any_iterable_of_tokens(store: Store) -> None:
    system = make_system(store)
    contacts = system.register_user("ada", ios=(t for t in ["b-tok", "a-tok"]),
                                    android=frozenset({"fcm-1"}))
    assert (contacts.ios_tokens, contacts.android_tokens) == (("a-tok", "b-tok"), ("fcm-1",))


def test_publish_template_refuses_a_lone_surrogate_so_later_sends_still_work(
    store: Store,
) -> None:
    system = make_system(store)
    system.register_user("ada", phone="+14155550100")
    with pytest.raises(InvalidArgument, match="body="):
        system.publish_template("news", title="News", body="Hello \ud800 ${name}")
    assert system.templates.latest_version("news") == 1
    assert system.client().send(news("evt-1")).entries[0].status is S.QUEUED


# ── create: every argument checked before anything is created ──────────────────────────


def _no_queue_group(store: Store) -> bool:
    for channel in Channel:
        with pytest.raises(NotFound):
            store.queue.statistics(f"notify.{channel.value}", "workers")
    return True


BAD_CREATE: dict[str, tuple[dict[str, Any], str]] = {
    "unknown quota provider": ({"quotas_per_minute": {"nope": 5}}, "quotas_per_minute="),
    "quota not a mapping": ({"quotas_per_minute": [("fcm", 5)]}, "quotas_per_minute="),
    "bad quota": ({"quotas_per_minute": {"fcm": 0}}, "limit="),
    "batch size 0": ({"batch_size": 0}, "batch_size="),
    "worker id out of range": ({"worker_id": 99}, "worker_id="),
    "limiter without acquire": ({"limiter": object()}, "limiter="),
    "policy not a RetryPolicy": ({"policy": "fast"}, "policy="),
    "a provider that is not one": (
        {"failures": None, "providers": {c: ["apns"] for c in Channel}}, "providers="),
    "providers not a mapping": ({"failures": None, "providers": ["apns"]}, "providers="),
    "a channel without providers": (
        {"failures": None, "providers": {Channel.SMS: default_providers(1)[Channel.SMS]}},
        "providers="),
    "unknown failure name": ({"failures": {"nope": None}}, "failures="),
    "pool size": ({"pool_sizes": {Channel.SMS: -1}}, "pool_sizes"),
    "visibility timeout": ({"visibility_timeout_s": 0}, "visibility_timeout_s="),
    "stall": ({"stall_after_s": 0}, "stall_after_s="),
    "rate limit": ({"rate_limit": (0, 60.0)}, "limit="),
}


@pytest.mark.parametrize("case", sorted(BAD_CREATE))
def test_a_refused_create_leaves_the_store_without_any_queue_group(
    store: Store, case: str,
) -> None:
    kwargs, match = BAD_CREATE[case]
    kwargs = {"failures": "none", **kwargs}
    with pytest.raises(InvalidArgument, match=match):
        NotificationSystem.create(store, seed=1, **kwargs)
    assert _no_queue_group(store)


def test_quotas_name_the_providers_of_the_chains_given(store: Store) -> None:
    chains = default_providers(1)
    system = NotificationSystem.create(store, seed=1, providers=chains,
                                       quotas_per_minute={"fcm": 600, "sms-backup": 60})
    assert sorted(system.delivery.deps.quotas) == ["fcm", "sms-backup"]


# ── run_until ─────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("t", [float("inf"), float("nan"), 10**400], ids=["inf", "nan", "huge"])
def test_run_until_refuses_a_time_it_could_never_reach_and_schedules_nothing(
    store: Store, clock: FakeClock, t: float,
) -> None:
    system = make_system(store)
    now = clock.now()
    with pytest.raises(InvalidArgument, match="t="):
        system.run_until(t)
    assert (system.sim.pending, clock.now(), system.statistics().steps) == (0, now, 0)


# ── docs and code agree: an opt-out made during quiet hours wins at release ──────────


def test_a_user_who_opts_out_during_quiet_hours_does_not_get_the_deferred_message(
    store: Store, clock: FakeClock,
) -> None:
    system = make_system(store)  # the clock starts at 22:13 UTC
    system.register_user("bo", email="bo@example.com", preferences=Preferences(
        time_zone="UTC", quiet_hours=QuietHours.parse("22:00-07:00")))
    [entry] = system.client().send(NotificationRequest(
        "evt-1", "bo", "news", {"name": "Bo"}, channels=(Channel.EMAIL,),
        category=Category.SOCIAL)).entries
    assert entry.status is S.DEFERRED
    system.settings.set_category("bo", Category.SOCIAL, opted_in=False)  # while it waits
    system.run_until_idle()
    assert [p.sent for p in system.providers[Channel.EMAIL]] == [[], []]  # type: ignore[attr-defined]
    last = system.log.history(entry.notification_id)[-1]
    assert (last.status, last.reason) == (
        S.SUPPRESSED, "opted_out:category=social (while deferred)")
    assert system.statistics().api.opted_out_while_deferred == 1
