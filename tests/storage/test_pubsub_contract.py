"""The PubSub port: the same behaviour on every backend.

A real server delivers asynchronously, so reads that expect messages wait a little
(``drain``), and reads that expect nothing wait ``QUIET_S`` before concluding so.
"""

from __future__ import annotations

import pytest

from reference.core.errors import InvalidArgument
from reference.storage import PubSub, Store, Subscription

QUIET_S = 0.05  # how long "nothing arrived" waits on a network backend
WAIT_S = 1.0  # the longest a test waits for an expected message


def drain(subscription: Subscription, expected_n: int) -> list[tuple[str, str]]:
    """Collect messages until ``expected_n`` arrived (or a few waits passed)."""
    received: list[tuple[str, str]] = []
    for _ in range(5):
        if len(received) >= expected_n:
            break
        received += subscription.get_messages(timeout_s=WAIT_S)
    return received


def test_every_backend_implements_the_pubsub_port(store: Store) -> None:
    assert isinstance(store.pubsub, PubSub)
    subscription = store.pubsub.subscribe("presence")
    assert isinstance(subscription, Subscription)
    subscription.close()


def test_publish_with_no_subscribers_reaches_nobody(store: Store) -> None:
    assert store.pubsub.publish("presence", "alice:online") == 0


def test_only_subscribers_present_at_publish_time_receive(store: Store) -> None:
    store.pubsub.publish("presence", "before")
    subscription = store.pubsub.subscribe("presence")
    assert store.pubsub.publish("presence", "after") == 1
    assert drain(subscription, 1) == [("presence", "after")]
    assert subscription.get_messages(timeout_s=QUIET_S) == []


def test_every_subscriber_receives_and_publish_counts_them(store: Store) -> None:
    first = store.pubsub.subscribe("presence")
    second = store.pubsub.subscribe("presence")
    assert store.pubsub.publish("presence", "bob:idle") == 2
    assert drain(first, 1) == drain(second, 1) == [("presence", "bob:idle")]


def test_messages_arrive_in_publish_order(store: Store) -> None:
    subscription = store.pubsub.subscribe("room:{1}")
    sent = [f"m{i}" for i in range(20)]
    for message in sent:
        store.pubsub.publish("room:{1}", message)
    assert drain(subscription, len(sent)) == [("room:{1}", m) for m in sent]


def test_one_subscription_hears_several_channels_and_names_each(store: Store) -> None:
    subscription = store.pubsub.subscribe("a", "b", "a")
    assert store.pubsub.publish("a", "1") == 1  # subscribing twice still counts once
    store.pubsub.publish("c", "ignored")
    store.pubsub.publish("b", "2")
    assert drain(subscription, 2) == [("a", "1"), ("b", "2")]


def test_get_messages_drains_what_arrived(store: Store) -> None:
    subscription = store.pubsub.subscribe("presence")
    store.pubsub.publish("presence", "x")
    assert drain(subscription, 1) == [("presence", "x")]
    assert subscription.get_messages(timeout_s=QUIET_S) == []


def test_close_stops_delivery_to_that_subscriber_only(store: Store) -> None:
    leaving = store.pubsub.subscribe("presence")
    staying = store.pubsub.subscribe("presence")
    leaving.close()
    assert store.pubsub.publish("presence", "after close") == 1
    assert leaving.get_messages(timeout_s=QUIET_S) == []
    assert drain(staying, 1) == [("presence", "after close")]
    leaving.close()  # closing twice is harmless


def test_closing_the_last_subscriber_leaves_nobody(store: Store) -> None:
    subscription = store.pubsub.subscribe("presence")
    subscription.close()
    assert store.pubsub.publish("presence", "x") == 0


def test_subscribe_needs_at_least_one_channel(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="channels"):
        store.pubsub.subscribe()


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda p: p.publish("", "m"), "channel"),
        (lambda p: p.publish("c", 42), "message"),
        (lambda p: p.subscribe("ok", 7), "channel"),
    ],
)
def test_bad_arguments_are_refused_by_name(store: Store, call: object, name: str) -> None:
    with pytest.raises(InvalidArgument, match=name):
        call(store.pubsub)  # type: ignore[operator]


def test_a_negative_timeout_is_refused(store: Store) -> None:
    subscription = store.pubsub.subscribe("presence")
    with pytest.raises(InvalidArgument, match="timeout_s"):
        subscription.get_messages(timeout_s=-1)
    subscription.close()
