"""The WorkQueue port: the same behaviour on every backend, with time on the FakeClock."""

from __future__ import annotations

import pytest

from reference.core.clock import FakeClock
from reference.core.errors import Conflict, InvalidArgument, NotFound
from reference.storage import QueueStatistics, Store, WorkQueue
from reference.storage.queue_rules import message_order

Q = "notify.ios"
G = "senders"
VT_S = 30.0


@pytest.fixture
def queue(store: Store) -> WorkQueue:
    """``store.queue`` with group ``senders``: 30 s visibility, 3 deliveries at most."""
    store.queue.create_group(Q, G, visibility_timeout_s=VT_S, max_deliveries=3)
    return store.queue


def stats(queue: WorkQueue, **expected: float) -> None:
    """Assert the statistics fields named in ``expected`` (others are not checked)."""
    actual = queue.statistics(Q, G)
    assert {name: getattr(actual, name) for name in expected} == expected


def test_every_backend_implements_the_work_queue_port(store: Store) -> None:
    assert isinstance(store.queue, WorkQueue)


def test_ids_come_from_the_clock_and_sort_in_publish_order(
    queue: WorkQueue, clock: FakeClock
) -> None:
    ids = [queue.publish(Q, f"job-{i}") for i in range(12)]
    clock.advance(0.001)
    ids.append(queue.publish(Q, "later"))
    assert ids[:2] == ["1700000000000-0", "1700000000000-1"]
    assert ids[-1] == "1700000000001-0"
    assert sorted(ids, key=message_order) == ids
    assert len(set(ids)) == len(ids)


def test_ids_keep_increasing_when_the_clock_steps_backwards(
    queue: WorkQueue, clock: FakeClock
) -> None:
    first = queue.publish(Q, "a")
    clock.set_to(clock.now() - 60)
    second = queue.publish(Q, "b")
    assert message_order(second) > message_order(first)
    assert [d.body for d in queue.consume(Q, G, "w", count=2)] == ["a", "b"]


def test_consume_hands_out_messages_in_publish_order_up_to_count(queue: WorkQueue) -> None:
    for i in range(5):
        queue.publish(Q, f"job-{i}")
    first = queue.consume(Q, G, "w1", count=3)
    second = queue.consume(Q, G, "w1", count=3)
    assert [d.body for d in first] == ["job-0", "job-1", "job-2"]
    assert [d.body for d in second] == ["job-3", "job-4"]
    assert queue.consume(Q, G, "w1", count=3) == []


def test_a_delivery_carries_id_body_count_and_publish_time(
    queue: WorkQueue, clock: FakeClock
) -> None:
    message_id = queue.publish(Q, '{"to": "device-1"}')
    clock.advance(5)
    [delivery] = queue.consume(Q, G, "w1")
    assert delivery.message_id == message_id
    assert delivery.body == '{"to": "device-1"}'
    assert delivery.deliveries == 1
    assert delivery.published_at == 1_700_000_000.0


def test_in_a_group_each_message_goes_to_one_consumer(queue: WorkQueue) -> None:
    queue.publish(Q, "m1")
    queue.publish(Q, "m2")
    assert [d.body for d in queue.consume(Q, G, "w1")] == ["m1"]
    assert [d.body for d in queue.consume(Q, G, "w2")] == ["m2"]
    assert queue.consume(Q, G, "w3") == []


def test_every_group_sees_every_message(store: Store, queue: WorkQueue) -> None:
    queue.create_group(Q, "analytics")
    queue.publish(Q, "m1")
    queue.publish(Q, "m2")
    senders = queue.consume(Q, G, "w", count=5)
    analytics = queue.consume(Q, "analytics", "w", count=5)
    assert [d.body for d in senders] == [d.body for d in analytics] == ["m1", "m2"]
    assert queue.ack(Q, G, senders[0].message_id)
    assert queue.ack(Q, "analytics", senders[0].message_id)  # acks are per group


def test_a_group_sees_only_messages_published_after_it_was_created(store: Store) -> None:
    store.queue.publish(Q, "before")
    store.queue.create_group(Q, G)
    store.queue.publish(Q, "after")
    assert [d.body for d in store.queue.consume(Q, G, "w", count=5)] == ["after"]
    assert store.queue.statistics(Q, G).published == 1


def test_ack_settles_once_and_a_repeated_ack_returns_false(queue: WorkQueue) -> None:
    queue.publish(Q, "m1")
    [delivery] = queue.consume(Q, G, "w1")
    assert queue.ack(Q, G, delivery.message_id) is True
    assert queue.ack(Q, G, delivery.message_id) is False


def test_ack_of_a_message_never_handed_out_returns_false(queue: WorkQueue) -> None:
    message_id = queue.publish(Q, "m1")
    assert queue.ack(Q, G, message_id) is False
    assert queue.ack(Q, G, "1-0") is False
    assert [d.message_id for d in queue.consume(Q, G, "w1")] == [message_id]


def test_no_redelivery_before_the_visibility_timeout(queue: WorkQueue, clock: FakeClock) -> None:
    queue.publish(Q, "m1")
    queue.consume(Q, G, "w1")
    clock.advance(VT_S - 0.001)
    assert queue.consume(Q, G, "w2") == []


def test_redelivery_after_the_visibility_timeout_counts_deliveries(
    queue: WorkQueue, clock: FakeClock
) -> None:
    message_id = queue.publish(Q, "m1")
    [first] = queue.consume(Q, G, "w1")
    clock.advance(VT_S)
    [second] = queue.consume(Q, G, "w2")
    assert (second.message_id, second.body, second.deliveries) == (message_id, "m1", 2)
    assert second.published_at == first.published_at
    assert queue.consume(Q, G, "w3") == []  # w2 holds it now, for a fresh timeout


def test_a_late_ack_returns_false_and_the_message_comes_back(
    queue: WorkQueue, clock: FakeClock
) -> None:
    queue.publish(Q, "m1")
    [delivery] = queue.consume(Q, G, "w1")
    clock.advance(VT_S + 1)
    assert queue.ack(Q, G, delivery.message_id) is False
    [again] = queue.consume(Q, G, "w2")
    assert again.deliveries == 2
    assert queue.ack(Q, G, again.message_id) is True


def test_at_the_exact_deadline_the_message_is_no_longer_in_flight(
    queue: WorkQueue, clock: FakeClock
) -> None:
    first, second = queue.publish(Q, "m1"), queue.publish(Q, "m2")
    queue.consume(Q, G, "w1", count=2)
    clock.advance(VT_S - 0.001)
    assert queue.statistics(Q, G).in_flight == 2
    clock.advance(0.001)
    assert queue.statistics(Q, G).in_flight == 0
    assert queue.ack(Q, G, first) is False
    assert queue.dead_letter(Q, G, second, "too late") is False


def test_expired_messages_are_handed_out_before_new_ones(
    queue: WorkQueue, clock: FakeClock
) -> None:
    queue.publish(Q, "old-1")
    queue.publish(Q, "old-2")
    queue.consume(Q, G, "w1", count=2)
    queue.publish(Q, "new")
    clock.advance(VT_S)
    assert [d.body for d in queue.consume(Q, G, "w2", count=2)] == ["old-1", "old-2"]
    assert [d.body for d in queue.consume(Q, G, "w2", count=2)] == ["new"]


def test_after_max_deliveries_an_expired_message_is_dead_lettered(
    queue: WorkQueue, clock: FakeClock
) -> None:
    message_id = queue.publish(Q, "poison")
    for attempt in (1, 2, 3):
        [delivery] = queue.consume(Q, G, "w")
        assert delivery.deliveries == attempt
        clock.advance(VT_S)
    queue.publish(Q, "next")
    assert [d.body for d in queue.consume(Q, G, "w", count=5)] == ["next"]
    [letter] = queue.dead_letters(Q, G)
    assert (letter.message_id, letter.body, letter.deliveries) == (message_id, "poison", 3)
    assert letter.published_at == 1_700_000_000.0
    assert letter.dead_lettered_at == clock.now()
    assert "max_deliveries=3" in letter.reason
    assert queue.ack(Q, G, message_id) is False


def test_explicit_dead_letter_moves_an_in_flight_message_with_its_reason(
    queue: WorkQueue, clock: FakeClock
) -> None:
    queue.publish(Q, "bad token")
    [delivery] = queue.consume(Q, G, "w")
    clock.advance(2)
    assert queue.dead_letter(Q, G, delivery.message_id, "APNs: BadDeviceToken") is True
    assert queue.dead_letter(Q, G, delivery.message_id, "again") is False
    assert queue.ack(Q, G, delivery.message_id) is False
    [letter] = queue.dead_letters(Q, G)
    assert (letter.reason, letter.deliveries) == ("APNs: BadDeviceToken", 1)
    assert letter.dead_lettered_at == 1_700_000_002.0
    clock.advance(VT_S)
    assert queue.consume(Q, G, "w") == []  # never redelivered


def test_dead_letter_of_a_message_not_in_flight_returns_false(
    queue: WorkQueue, clock: FakeClock
) -> None:
    message_id = queue.publish(Q, "m1")
    assert queue.dead_letter(Q, G, message_id, "too early") is False
    queue.consume(Q, G, "w")
    clock.advance(VT_S)
    assert queue.dead_letter(Q, G, message_id, "too late") is False
    assert queue.dead_letters(Q, G) == []


def test_dead_letters_are_listed_oldest_first(queue: WorkQueue, clock: FakeClock) -> None:
    for body in ("a", "b", "c"):
        queue.publish(Q, body)
    deliveries = queue.consume(Q, G, "w", count=3)
    for delivery in reversed(deliveries):
        queue.dead_letter(Q, G, delivery.message_id, f"reason {delivery.body}")
        clock.advance(1)
    assert [d.body for d in queue.dead_letters(Q, G)] == ["c", "b", "a"]


def test_replay_all_dead_letters_redelivers_them_with_a_fresh_count(
    queue: WorkQueue, clock: FakeClock
) -> None:
    for body in ("a", "b"):
        queue.publish(Q, body)
    for delivery in queue.consume(Q, G, "w", count=2):
        queue.dead_letter(Q, G, delivery.message_id, "provider down")
    assert queue.replay_dead_letters(Q, G) == 2
    assert queue.dead_letters(Q, G) == []
    replayed = queue.consume(Q, G, "w", count=5)
    assert [(d.body, d.deliveries) for d in replayed] == [("a", 1), ("b", 1)]
    assert all(queue.ack(Q, G, d.message_id) for d in replayed)
    assert queue.replay_dead_letters(Q, G) == 0


def test_replay_of_chosen_ids_leaves_the_other_dead_letters(queue: WorkQueue) -> None:
    ids = [queue.publish(Q, body) for body in ("a", "b", "c")]
    for delivery in queue.consume(Q, G, "w", count=3):
        queue.dead_letter(Q, G, delivery.message_id, "x")
    assert queue.replay_dead_letters(Q, G, [ids[1], "999-0"]) == 1
    assert [d.body for d in queue.dead_letters(Q, G)] == ["a", "c"]
    assert [d.body for d in queue.consume(Q, G, "w", count=5)] == ["b"]


def test_replay_needs_a_sequence_of_ids_not_a_lone_string(queue: WorkQueue) -> None:
    with pytest.raises(InvalidArgument, match="message_ids"):
        queue.replay_dead_letters(Q, G, "1700000000000-0")
    with pytest.raises(InvalidArgument, match="message id"):
        queue.replay_dead_letters(Q, G, ["not-an-id"])


def test_statistics_follow_a_message_through_its_life(queue: WorkQueue, clock: FakeClock) -> None:
    assert queue.statistics(Q, G) == QueueStatistics(0, 0, 0, 0, 0, 0, 0, 0, 0.0)
    queue.publish(Q, "a")
    clock.advance(1)
    queue.publish(Q, "b")
    clock.advance(1)
    stats(queue, published=2, depth=2, in_flight=0, lag=2, oldest_age_s=2.0)
    [_] = queue.consume(Q, G, "w")
    stats(queue, delivered=1, depth=1, in_flight=1, lag=2, oldest_age_s=2.0)
    clock.advance(VT_S)
    stats(queue, depth=2, in_flight=0, lag=2, oldest_age_s=VT_S + 2)
    [a_again, b] = queue.consume(Q, G, "w", count=2)
    assert (a_again.body, b.body) == ("a", "b")
    stats(queue, delivered=3, redelivered=1, depth=0, in_flight=2, lag=2)
    assert queue.ack(Q, G, a_again.message_id)
    stats(queue, acked=1, in_flight=1, lag=1, oldest_age_s=VT_S + 1)
    assert queue.dead_letter(Q, G, b.message_id, "bad payload")
    assert queue.statistics(Q, G) == QueueStatistics(
        published=2,
        delivered=3,
        redelivered=1,
        acked=1,
        dead_lettered=1,
        depth=0,
        in_flight=0,
        lag=0,
        oldest_age_s=0.0,
    )
    assert queue.replay_dead_letters(Q, G) == 1
    stats(queue, dead_lettered=1, depth=1, lag=1)


def test_an_exhausted_expired_message_counts_in_lag_but_not_depth_until_dead_lettered(
    store: Store, clock: FakeClock
) -> None:
    store.queue.create_group(Q, G, visibility_timeout_s=10, max_deliveries=1)
    store.queue.publish(Q, "once")
    store.queue.consume(Q, G, "w")
    clock.advance(10)
    stats(store.queue, depth=0, in_flight=0, lag=1, dead_lettered=0)
    assert store.queue.consume(Q, G, "w") == []
    stats(store.queue, depth=0, in_flight=0, lag=0, dead_lettered=1)


def test_consume_dead_letters_exhausted_messages_only_up_to_what_it_hands_out(
    store: Store, clock: FakeClock
) -> None:
    store.queue.create_group(Q, G, visibility_timeout_s=10, max_deliveries=2)
    ids = [store.queue.publish(Q, body) for body in ("x", "y", "z")]
    store.queue.consume(Q, G, "w", count=2)  # x, y
    clock.advance(10)
    store.queue.consume(Q, G, "w")  # x again (2nd delivery); y stays expired
    clock.advance(10)
    handed = store.queue.consume(Q, G, "w", count=2)
    # deadlines: y (t+10) before x (t+20): y is redelivered, x is exhausted, then z is new
    assert [(d.body, d.deliveries) for d in handed] == [("y", 2), ("z", 1)]
    assert [d.message_id for d in store.queue.dead_letters(Q, G)] == [ids[0]]


def test_statistics_count_each_group_separately(queue: WorkQueue) -> None:
    queue.create_group(Q, "analytics")
    queue.publish(Q, "m")
    [delivery] = queue.consume(Q, G, "w")
    queue.ack(Q, G, delivery.message_id)
    stats(queue, acked=1, lag=0)
    assert queue.statistics(Q, "analytics").lag == 1


def test_creating_a_group_again_with_the_same_settings_is_a_no_op(queue: WorkQueue) -> None:
    queue.publish(Q, "m")
    queue.create_group(Q, G, visibility_timeout_s=VT_S, max_deliveries=3)
    stats(queue, published=1, depth=1)


@pytest.mark.parametrize("changed", [{"visibility_timeout_s": 5.0}, {"max_deliveries": 9}])
def test_creating_a_group_again_with_other_settings_is_a_conflict(
    queue: WorkQueue, changed: dict[str, float]
) -> None:
    settings: dict[str, float] = {"visibility_timeout_s": VT_S, "max_deliveries": 3, **changed}
    with pytest.raises(Conflict, match=G):
        queue.create_group(Q, G, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "call",
    [
        lambda q: q.consume(Q, "nobody", "w"),
        lambda q: q.ack(Q, "nobody", "1-0"),
        lambda q: q.dead_letter(Q, "nobody", "1-0", "x"),
        lambda q: q.dead_letters(Q, "nobody"),
        lambda q: q.replay_dead_letters(Q, "nobody"),
        lambda q: q.statistics(Q, "nobody"),
        lambda q: q.consume("no.such.queue", G, "w"),
    ],
)
def test_a_missing_group_is_not_found(queue: WorkQueue, call: object) -> None:
    with pytest.raises(NotFound, match="consumer group"):
        call(queue)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"visibility_timeout_s": 0}, "visibility_timeout_s"),
        ({"visibility_timeout_s": -1.0}, "visibility_timeout_s"),
        ({"visibility_timeout_s": float("nan")}, "visibility_timeout_s"),
        ({"visibility_timeout_s": True}, "visibility_timeout_s"),
        ({"max_deliveries": 0}, "max_deliveries"),
        ({"max_deliveries": 2.5}, "max_deliveries"),
    ],
)
def test_bad_group_settings_are_refused_and_no_group_is_created(
    store: Store, settings: dict[str, object], name: str
) -> None:
    with pytest.raises(InvalidArgument, match=name):
        store.queue.create_group(Q, G, **settings)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.queue.statistics(Q, G)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda q: q.create_group("", G), "queue"),
        (lambda q: q.create_group("a{b}", G), "queue"),
        (lambda q: q.create_group(Q, "g}"), "group"),
        (lambda q: q.publish(Q, 42), "body"),
        (lambda q: q.publish("", "m"), "queue"),
        (lambda q: q.consume(Q, G, ""), "consumer"),
        (lambda q: q.consume(Q, G, "w", count=0), "count"),
        (lambda q: q.ack(Q, G, "17"), "message_id"),
        (lambda q: q.ack(Q, G, "1-2-3"), "message_id"),
        (lambda q: q.dead_letter(Q, G, "1-0", None), "reason"),
    ],
)
def test_bad_arguments_are_refused_by_name(queue: WorkQueue, call: object, name: str) -> None:
    with pytest.raises(InvalidArgument, match=name):
        call(queue)  # type: ignore[operator]
    stats(queue, published=0, delivered=0)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda q: q.publish([Q], "m"), "queue"),
        (lambda q: q.consume(Q, [G], "w"), "group"),
        (lambda q: q.ack(Q, "g}", "1-0"), "group"),
        (lambda q: q.ack({Q}, G, "1-0"), "queue"),
        (lambda q: q.ack(Q, G, 17), "message_id"),
        (lambda q: q.ack(Q, G, ["1-0"]), "message_id"),
        (lambda q: q.statistics(Q, ""), "group"),
    ],
)
def test_bad_names_and_ids_are_refused_by_name_even_next_to_an_existing_group(
    queue: WorkQueue, call: object, name: str
) -> None:
    queue.publish(Q, "m1")
    with pytest.raises(InvalidArgument, match=name):
        call(queue)  # type: ignore[operator]
    stats(queue, published=1, delivered=0)


class _Text(str):
    """A str subclass: callers may pass one wherever a str is expected."""


def test_str_subclass_names_ids_and_bodies_work_like_plain_strings(queue: WorkQueue) -> None:
    message_id = queue.publish(_Text(Q), _Text("m1"))
    [delivery] = queue.consume(_Text(Q), _Text(G), _Text("w"))
    assert (delivery.message_id, delivery.body) == (message_id, "m1")
    assert queue.ack(_Text(Q), _Text(G), _Text(message_id)) is True
    stats(queue, published=1, acked=1)
