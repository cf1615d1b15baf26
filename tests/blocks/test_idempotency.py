"""The idempotency store: first claim wins, done marks, a window on the injected clock."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reference.blocks.idempotency import IDEMPOTENCY_WINDOW_S, IdempotencyRecord, IdempotencyStore
from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument
from reference.storage import Store, connect

KEY = "evt-1|email|a@example.com"


def test_the_first_claim_wins_and_later_ones_lose(store: Store, clock: FakeClock) -> None:
    seen = IdempotencyStore(store.kv)
    now = clock.now()
    assert seen.claim(KEY, now) is True
    assert seen.claim(KEY, now + 1) is False
    assert seen.claim("evt-2|email|a@example.com", now) is True
    stats = seen.statistics()
    assert (stats.first_claims, stats.repeat_claims) == (2, 1)


def test_the_default_window_is_twenty_four_hours(store: Store) -> None:
    assert IdempotencyStore(store.kv).window_s == IDEMPOTENCY_WINDOW_S == 86_400


def test_a_claim_is_honoured_until_the_window_ends_on_our_clock(
    store: Store, clock: FakeClock
) -> None:
    seen = IdempotencyStore(store.kv, window_s=60.0)
    t0 = clock.now()
    seen.claim(KEY, t0)
    assert seen.claim(KEY, t0 + 59.999999) is False
    assert seen.claim(KEY, t0 + 60.0) is True  # a new window starts
    assert seen.statistics().expired_takeovers == 1
    record = seen.get(KEY, t0 + 60.0)
    assert record == IdempotencyRecord(KEY, first_seen=t0 + 60.0, done_at=None)


def test_done_is_remembered_and_keeps_the_first_seen_time(
    store: Store, clock: FakeClock
) -> None:
    seen = IdempotencyStore(store.kv, window_s=100.0)
    t0 = clock.now()
    seen.claim(KEY, t0)
    assert not seen.is_done(KEY, t0)
    seen.mark_done(KEY, t0 + 10)
    seen.mark_done(KEY, t0 + 20)  # a second mark keeps the first completion
    assert seen.get(KEY, t0 + 30) == IdempotencyRecord(KEY, first_seen=t0, done_at=t0 + 10)
    assert seen.is_done(KEY, t0 + 99)
    assert not seen.is_done(KEY, t0 + 100)  # the window counts from the first claim
    assert seen.statistics().done == 1


def test_marking_done_without_a_claim_counts_as_first_seen(
    store: Store, clock: FakeClock
) -> None:
    seen = IdempotencyStore(store.kv)
    seen.mark_done(KEY, clock.now())
    assert seen.is_done(KEY, clock.now())
    assert seen.claim(KEY, clock.now()) is False


def test_release_forgets_a_key_so_a_replay_can_send_again(
    store: Store, clock: FakeClock
) -> None:
    seen = IdempotencyStore(store.kv)
    seen.mark_done(KEY, clock.now())
    assert seen.release(KEY) is True
    assert not seen.is_done(KEY, clock.now())
    assert seen.claim(KEY, clock.now()) is True
    assert seen.release("never-seen") is False


def test_two_stores_with_different_names_are_independent(
    store: Store, clock: FakeClock
) -> None:
    requests = IdempotencyStore(store.kv, name="requests")
    deliveries = IdempotencyStore(store.kv, name="delivery")
    assert requests.claim(KEY, clock.now()) and deliveries.claim(KEY, clock.now())


def test_two_stores_with_the_same_name_see_each_others_claims(
    store: Store, clock: FakeClock
) -> None:
    worker_a = IdempotencyStore(store.kv)
    worker_b = IdempotencyStore(store.kv)
    assert worker_a.claim(KEY, clock.now())
    assert not worker_b.claim(KEY, clock.now())
    worker_a.mark_done(KEY, clock.now())
    assert worker_b.is_done(KEY, clock.now())


@pytest.mark.parametrize(
    ("call", "match"),
    [("claim_empty", "key="), ("claim_nan", "now="), ("done_bool", "now=")],
)
def test_bad_arguments_are_invalid_and_write_nothing(
    call: str, match: str, clock: FakeClock
) -> None:
    store = connect("memory", clock=clock)
    seen = IdempotencyStore(store.kv)
    with pytest.raises(InvalidArgument, match=match):
        if call == "claim_empty":
            seen.claim("", clock.now())
        elif call == "claim_nan":
            seen.claim(KEY, float("nan"))
        else:
            seen.mark_done(KEY, True)  # type: ignore[arg-type]
    assert seen.get(KEY, clock.now()) is None
    assert seen.statistics().claims == 0


@pytest.mark.parametrize("kwargs", [{"window_s": 0}, {"window_s": float("inf")}, {"name": ""}])
def test_bad_settings_are_invalid(kwargs: dict[str, object], clock: FakeClock) -> None:
    with pytest.raises(InvalidArgument):
        IdempotencyStore(connect("memory", clock=clock).kv, **kwargs)  # type: ignore[arg-type]


class DedupeAgainstASet(RuleBasedStateMachine):
    """claim/mark_done/is_done/release agree with a set of live keys and a set of done keys."""

    WINDOW_S = 50.0

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(start=0.0)
        self.seen = IdempotencyStore(connect("memory", clock=self.clock).kv,
                                     window_s=self.WINDOW_S)
        self.first_seen: dict[str, float] = {}  # the model: live claims ...
        self.done: set[str] = set()  # ... and which of them are done

    def _expire(self) -> None:
        now = self.clock.now()
        for key in [k for k, t in self.first_seen.items() if now >= t + self.WINDOW_S]:
            del self.first_seen[key]
            self.done.discard(key)

    @rule(key=st.sampled_from("abc"))
    def claim(self, key: str) -> None:
        self._expire()
        won = self.seen.claim(key, self.clock.now())
        assert won == (key not in self.first_seen)
        self.first_seen.setdefault(key, self.clock.now())

    @rule(key=st.sampled_from("abc"))
    def mark_done(self, key: str) -> None:
        self._expire()
        self.seen.mark_done(key, self.clock.now())
        self.first_seen.setdefault(key, self.clock.now())
        self.done.add(key)

    @rule(key=st.sampled_from("abc"))
    def release(self, key: str) -> None:
        self._expire()
        self.seen.release(key)
        self.first_seen.pop(key, None)
        self.done.discard(key)

    @rule(seconds=st.sampled_from([0.5, 10.0, 25.0, 49.999999, 50.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def done_keys_match(self) -> None:
        self._expire()
        for key in "abc":
            assert self.seen.is_done(key, self.clock.now()) == (key in self.done)
            record = self.seen.get(key, self.clock.now())
            assert (record is not None) == (key in self.first_seen)


DedupeAgainstASet.TestCase.settings = settings(max_examples=40, stateful_step_count=40,
                                               deadline=None)
test_dedupe_agrees_with_a_set_model = DedupeAgainstASet.TestCase


def test_reopening_lifts_the_done_mark_but_keeps_the_pin_and_the_owner() -> None:
    seen = IdempotencyStore(connect("memory", clock=FakeClock()).kv)
    assert seen.reopen(KEY, 1.0) is False  # never done
    seen.claim(KEY, 1.0)
    assert seen.pin(KEY, 1.0, provider="apns", token="req-1") == "apns"
    seen.mark_done(KEY, 2.0, by="n1")
    assert seen.reopen(KEY, 3.0) is True
    record = seen.get(KEY, 3.0)
    assert record is not None
    assert (record.done_at, record.done_by, record.pinned_to) == (None, "n1", "apns")
    assert seen.pin(KEY, 4.0, provider="fcm", token="req-2") == "apns"  # still in doubt there
    assert seen.reopen(KEY, 5.0) is False  # not done again yet
