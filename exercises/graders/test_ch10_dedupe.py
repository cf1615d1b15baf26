"""Graders for exercises/ch10_dedupe.py: the idempotency store (dedupe by event id).

Each test reaches the code under test only through ``impl``. Records live in a real
``KeyValue`` port (the memory backend, and fakeredis where sharing is checked), wrapped in
:class:`RecordingKV` so a test can see whether a rejected call wrote anything. Every time is
a multiple of 1/4 s, exact in binary, so a learner's float arithmetic meets no rounding.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from exercises.graders.support import GRADER_SETTINGS, GuardedClock
from reference.blocks.idempotency import IdempotencyStatistics
from reference.core.errors import InvalidArgument
from reference.notification.model import IDEMPOTENCY_WINDOW_S
from reference.storage import Store, connect

SOLUTION = "reference.blocks.idempotency"

T0 = 1_000.0
KEY = "evt-1|email|ada@example.com"
BAD_KEYS = ["", 7, None]
BAD_TIMES = [float("nan"), float("inf"), True, "5"]


class RecordingKV:
    """A KeyValue port that passes every call to a real one and records the writes."""

    def __init__(self, kv: Any) -> None:
        self._kv = kv
        self.writes: list[tuple[str, ...]] = []

    def get(self, key: str) -> str | None:
        return self._kv.get(key)  # type: ignore[no-any-return]

    def set(self, key: str, value: str, *, if_absent: bool = False) -> bool:
        self.writes.append(("set", key))
        return self._kv.set(key, value, if_absent=if_absent)  # type: ignore[no-any-return]

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        self.writes.append(("compare_and_set", key))
        return self._kv.compare_and_set(key, expected, value)  # type: ignore[no-any-return]

    def delete(self, *keys: str) -> int:
        self.writes.append(("delete", *keys))
        return self._kv.delete(*keys)  # type: ignore[no-any-return]

    def hset(self, key: str, mapping: Mapping[str, str]) -> int:
        self.writes.append(("hset", key))
        return self._kv.hset(key, mapping)  # type: ignore[no-any-return]

    def hget(self, key: str, field: str) -> str | None:
        return self._kv.hget(key, field)  # type: ignore[no-any-return]

    def hgetall(self, key: str) -> dict[str, str]:
        return self._kv.hgetall(key)  # type: ignore[no-any-return]

    def hdel(self, key: str, *fields: str) -> int:
        self.writes.append(("hdel", key, *fields))
        return self._kv.hdel(key, *fields)  # type: ignore[no-any-return]


def memory_kv() -> RecordingKV:
    return RecordingKV(connect("memory", clock=GuardedClock(start=T0)).kv)


@pytest.fixture(params=["memory", "fakeredis"])
def shared_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    store = connect(request.param, clock=GuardedClock(start=T0))
    yield store
    store.close()


# ------------------------------------------------------------------------------ dedupe-claim


@pytest.mark.exercise(
    name="dedupe-claim",
    points=2,
    hint="claim returns True for a key's first claim and False for every repeat; "
    "kv.set(k, v, if_absent=True) tells you which",
)
def test_the_first_claim_wins_and_every_repeat_loses(impl: Any) -> None:
    seen = impl.IdempotencyStore(memory_kv())
    assert seen.claim(KEY, T0) is True, "the first claim of a key must return True"
    assert seen.claim(KEY, T0) is False, "a second claim at the same time must return False"
    assert seen.claim(KEY, T0 + 60.0) is False, "a claim a minute later is still a repeat"
    assert seen.claim("evt-2|email|ada@example.com", T0) is True, "another key is new"


@pytest.mark.exercise(
    name="dedupe-claim",
    points=2,
    hint="keep the records in kv, under a key that includes the store's name: two stores "
    "with one name share claims, different names do not",
)
def test_stores_with_one_name_share_claims_and_other_names_do_not(
    impl: Any, shared_store: Store
) -> None:
    worker_a = impl.IdempotencyStore(shared_store.kv, name="delivery")
    worker_b = impl.IdempotencyStore(shared_store.kv, name="delivery")
    requests = impl.IdempotencyStore(shared_store.kv, name="requests")
    assert worker_a.claim(KEY, T0) is True
    assert worker_b.claim(KEY, T0 + 1.0) is False, (
        "a second store object over the same kv and name must see the first one's claim "
        "(keep the records in kv, not in the object)"
    )
    assert requests.claim(KEY, T0 + 1.0) is True, "a store with another name is independent"


@pytest.mark.exercise(
    name="dedupe-claim",
    points=2,
    hint="validate key (a non-empty str) and now (a finite int/float, not a bool) before "
    "touching kv, and raise InvalidArgument",
)
@pytest.mark.parametrize(
    ("key", "now"),
    [(k, T0) for k in BAD_KEYS] + [(KEY, t) for t in BAD_TIMES],
    ids=[f"key={k!r}" for k in BAD_KEYS] + [f"now={t!r}" for t in BAD_TIMES],
)
def test_claim_rejects_a_bad_key_or_time_before_writing(impl: Any, key: Any, now: Any) -> None:
    kv = memory_kv()
    seen = impl.IdempotencyStore(kv)
    with pytest.raises(InvalidArgument):
        seen.claim(key, now)
    assert kv.writes == [], f"a rejected claim must write nothing, but wrote {kv.writes}"
    assert seen.claim(KEY, T0) is True, "the rejected call must not have claimed anything"


@pytest.mark.exercise(
    name="dedupe-claim",
    points=2,
    hint="window_s is a finite number > 0 (not a bool); name is a non-empty str without "
    "braces; raise InvalidArgument otherwise",
)
@pytest.mark.parametrize(
    "settings_",
    [
        {"window_s": 0},
        {"window_s": -1.0},
        {"window_s": float("inf")},
        {"window_s": float("nan")},
        {"window_s": True},
        {"window_s": "60"},
        {"name": ""},
        {"name": "a{b"},
        {"name": "a}b"},
        {"name": 5},
    ],
    ids=repr,
)
def test_bad_settings_are_rejected(impl: Any, settings_: dict[str, Any]) -> None:
    impl.IdempotencyStore(memory_kv(), window_s=60.0, name="ok")  # valid settings must work
    with pytest.raises(InvalidArgument):
        impl.IdempotencyStore(memory_kv(), **settings_)


# ------------------------------------------------------------------------------- dedupe-done


@pytest.mark.exercise(
    name="dedupe-done",
    points=2,
    hint="a claim alone is not done; mark_done stores done_at and is_done reads it back",
)
def test_a_claimed_key_is_done_only_after_mark_done(impl: Any) -> None:
    seen = impl.IdempotencyStore(memory_kv())
    seen.claim(KEY, T0)
    assert seen.is_done(KEY, T0 + 1.0) is False, "claimed but not sent: not done yet"
    assert seen.mark_done(KEY, T0 + 2.0) is None
    assert seen.is_done(KEY, T0 + 3.0) is True
    assert seen.is_done("evt-2|sms|+15550100", T0 + 3.0) is False, "an unknown key is not done"
    assert seen.claim(KEY, T0 + 4.0) is False, "a done key is still claimed"


@pytest.mark.exercise(
    name="dedupe-done",
    points=2,
    hint="mark_done on a key with no live record creates one, first seen now and done now",
)
def test_mark_done_without_a_claim_starts_a_window_of_its_own(impl: Any) -> None:
    seen = impl.IdempotencyStore(memory_kv(), window_s=10.0)
    seen.mark_done(KEY, T0)
    assert seen.is_done(KEY, T0) is True
    assert seen.claim(KEY, T0 + 1.0) is False, "marked done counts as seen"
    assert seen.is_done(KEY, T0 + 9.75) is True
    assert seen.is_done(KEY, T0 + 10.0) is False, "its window started when it was marked"


@pytest.mark.exercise(
    name="dedupe-done",
    points=2,
    hint="release deletes the key's record and returns whether there was one",
)
def test_release_forgets_a_key_so_a_replay_can_send_again(impl: Any) -> None:
    seen = impl.IdempotencyStore(memory_kv())
    seen.claim(KEY, T0)
    seen.mark_done(KEY, T0 + 1.0)
    assert seen.release(KEY) is True
    assert seen.is_done(KEY, T0 + 2.0) is False, "a released key is no longer done"
    assert seen.claim(KEY, T0 + 2.0) is True, "a released key can be claimed again"
    assert seen.release("never-seen") is False, "releasing an unknown key returns False"


@pytest.mark.exercise(
    name="dedupe-done",
    points=2,
    hint="mark_done takes an optional keyword by= (who settled the key): None or a str",
)
def test_mark_done_records_who_settled_the_key_and_rejects_a_bad_by(impl: Any) -> None:
    kv = memory_kv()
    seen = impl.IdempotencyStore(kv)
    seen.claim(KEY, T0)
    writes = len(kv.writes)
    for bad in (7, b"n1", ["n1"]):
        with pytest.raises(InvalidArgument):
            seen.mark_done(KEY, T0 + 1.0, by=bad)
    assert len(kv.writes) == writes, f"a rejected mark_done must write nothing: {kv.writes}"
    assert seen.is_done(KEY, T0 + 1.0) is False
    seen.mark_done(KEY, T0 + 1.0, by="notification-1")
    assert seen.is_done(KEY, T0 + 2.0) is True
    seen.mark_done("evt-2|sms|+15550100", T0 + 2.0, by=None)
    assert seen.is_done("evt-2|sms|+15550100", T0 + 2.0) is True


@pytest.mark.exercise(
    name="dedupe-done",
    points=2,
    hint="mark_done, is_done and release validate key (and now) first, like claim",
)
@pytest.mark.parametrize("method", ["mark_done", "is_done", "release"])
def test_done_and_release_reject_a_bad_key_or_time_before_writing(
    impl: Any, method: str
) -> None:
    kv = memory_kv()
    seen = impl.IdempotencyStore(kv)
    calls: list[tuple[Any, ...]] = [(k,) for k in BAD_KEYS]
    if method != "release":
        calls = [(k, T0) for k in BAD_KEYS] + [(KEY, t) for t in BAD_TIMES]
    for args in calls:
        with pytest.raises(InvalidArgument):
            getattr(seen, method)(*args)
    assert kv.writes == [], f"rejected calls must write nothing, but wrote {kv.writes}"


# ----------------------------------------------------------------------------- dedupe-window


@pytest.mark.exercise(
    name="dedupe-window",
    points=2,
    hint="a record is live while now < first_seen + window_s; at exactly that time it has "
    "expired and the next claim wins again",
)
def test_a_claim_is_honoured_until_exactly_window_s_after_the_first_one(impl: Any) -> None:
    seen = impl.IdempotencyStore(memory_kv(), window_s=10.0)
    assert seen.claim(KEY, T0) is True
    assert seen.claim(KEY, T0 + 9.75) is False, "inside the window"
    assert seen.claim(KEY, T0 + 10.0) is True, "at first_seen + window_s the window is over"
    assert seen.claim(KEY, T0 + 15.0) is False, "the takeover started a new window at T0 + 10"
    assert seen.claim(KEY, T0 + 20.0) is True


@pytest.mark.exercise(
    name="dedupe-window",
    points=2,
    hint="a repeat claim must not move first_seen: the window is counted from the first claim",
)
def test_repeated_claims_do_not_extend_the_window(impl: Any) -> None:
    seen = impl.IdempotencyStore(memory_kv(), window_s=10.0)
    seen.claim(KEY, T0)
    for later in (2.0, 5.0, 9.5):
        assert seen.claim(KEY, T0 + later) is False
    assert seen.claim(KEY, T0 + 10.0) is True, "repeats must not have pushed the window out"


@pytest.mark.exercise(
    name="dedupe-window",
    points=2,
    hint="is_done is False once the window counted from first_seen (not from done_at) is over",
)
def test_done_expires_with_the_window_of_the_first_claim(impl: Any) -> None:
    seen = impl.IdempotencyStore(memory_kv(), window_s=10.0)
    seen.claim(KEY, T0)
    seen.mark_done(KEY, T0 + 8.0)
    assert seen.is_done(KEY, T0 + 9.75) is True
    assert seen.is_done(KEY, T0 + 10.0) is False, "the window runs from first_seen"
    seen.mark_done(KEY, T0 + 10.0)
    assert seen.is_done(KEY, T0 + 19.75) is True, "a mark on an expired record starts anew"


@pytest.mark.exercise(
    name="dedupe-window",
    points=2,
    hint="the default window_s is IDEMPOTENCY_WINDOW_S (24 h)",
)
def test_the_default_window_is_twenty_four_hours(impl: Any) -> None:
    seen = impl.IdempotencyStore(memory_kv())
    seen.claim(KEY, T0)
    seen.mark_done(KEY, T0)
    assert seen.is_done(KEY, T0 + IDEMPOTENCY_WINDOW_S - 0.25) is True
    assert seen.is_done(KEY, T0 + IDEMPOTENCY_WINDOW_S) is False
    assert seen.claim(KEY, T0 + IDEMPOTENCY_WINDOW_S) is True


@pytest.mark.exercise(
    name="dedupe-window",
    points=2,
    hint="decide expiry from the now you are given, not from a clock or a TTL of the store",
)
def test_expiry_follows_the_time_passed_in_not_the_stores_clock(impl: Any) -> None:
    clock = GuardedClock(start=T0)  # the store's clock never moves in this test
    seen = impl.IdempotencyStore(connect("memory", clock=clock).kv, window_s=60.0)
    assert seen.claim(KEY, 5_000.0) is True
    assert seen.claim(KEY, 5_059.75) is False
    assert seen.claim(KEY, 5_060.0) is True, "60 s after the first claim's now, it expired"


# ------------------------------------------------------------------------------ dedupe-model

WINDOW_S = 8.0
KEYS = ("a", "b", "c")


def dedupe_machine(impl: Any) -> type[RuleBasedStateMachine]:
    class DedupeAgainstAModel(RuleBasedStateMachine):
        """The store against a dict of records {key: (first_seen, done_at)}, expired kept."""

        def __init__(self) -> None:
            super().__init__()
            self.clock = GuardedClock(start=T0)
            self.seen = impl.IdempotencyStore(
                connect("memory", clock=self.clock).kv, window_s=WINDOW_S
            )
            self.records: dict[str, tuple[float, float | None]] = {}

        def live(self, key: str) -> tuple[float, float | None] | None:
            record = self.records.get(key)
            if record is None or self.clock.now() >= record[0] + WINDOW_S:
                return None
            return record

        @rule(key=st.sampled_from(KEYS))
        def claim(self, key: str) -> None:
            now = self.clock.now()
            expected = self.live(key) is None
            got = self.seen.claim(key, now)
            assert got is expected, f"claim({key!r}) at +{now - T0} s returned {got!r}"
            if expected:
                self.records[key] = (now, None)

        @rule(key=st.sampled_from(KEYS))
        def mark_done(self, key: str) -> None:
            now = self.clock.now()
            live = self.live(key)
            self.seen.mark_done(key, now)
            if live is None:
                self.records[key] = (now, now)
            elif live[1] is None:
                self.records[key] = (live[0], now)

        @rule(key=st.sampled_from(KEYS))
        def release(self, key: str) -> None:
            stored, live = key in self.records, self.live(key) is not None
            got = self.seen.release(key)
            if not stored:
                assert got is False, f"release({key!r}) of a key never stored returned {got!r}"
            elif live:
                assert got is True, f"release({key!r}) of a live key returned {got!r}"
            self.records.pop(key, None)

        @rule(seconds=st.sampled_from([0.25, 1.0, WINDOW_S / 2, WINDOW_S - 0.25, WINDOW_S]))
        def advance(self, seconds: float) -> None:
            self.clock.advance(seconds)

        @invariant()
        def is_done_agrees_with_the_model(self) -> None:
            now = self.clock.now()
            for key in KEYS:
                live = self.live(key)
                expected = live is not None and live[1] is not None
                got = self.seen.is_done(key, now)
                assert got is expected, f"is_done({key!r}) at +{now - T0} s returned {got!r}"

    return DedupeAgainstAModel


@pytest.mark.exercise(
    name="dedupe-model",
    points=3,
    hint="random claim/mark_done/release/advance sequences must agree with a dict of "
    "(first_seen, done_at) records; read the failing steps hypothesis prints",
)
def test_random_histories_agree_with_a_dict_of_records(impl: Any) -> None:
    run_state_machine_as_test(
        lambda: dedupe_machine(impl)(),
        settings=settings(GRADER_SETTINGS, stateful_step_count=30),
    )


# ------------------------------------------------------------------------- dedupe-statistics


@pytest.mark.exercise(
    name="dedupe-statistics",
    points=1,
    hint="count valid claims, first and repeat claims, new completions and expired "
    "takeovers; return reference.blocks.idempotency.IdempotencyStatistics",
)
def test_statistics_count_claims_completions_and_takeovers(impl: Any) -> None:
    seen = impl.IdempotencyStore(memory_kv(), window_s=10.0)
    empty = seen.statistics()
    assert isinstance(empty, IdempotencyStatistics), (
        "statistics() must return reference.blocks.idempotency.IdempotencyStatistics"
    )
    assert empty == IdempotencyStatistics(0, 0, 0, 0, 0)
    seen.claim("a", T0)  # first
    seen.claim("a", T0 + 1.0)  # repeat
    seen.claim("b", T0 + 1.0)  # first
    seen.mark_done("a", T0 + 2.0)  # done
    seen.mark_done("a", T0 + 3.0)  # already done: not counted
    seen.mark_done("c", T0 + 3.0)  # done without a claim
    with pytest.raises(InvalidArgument):
        seen.claim("", T0 + 3.0)  # rejected: counts nothing
    seen.claim("a", T0 + 10.0)  # a's record expired: a takeover, and a first claim
    assert seen.statistics() == IdempotencyStatistics(
        claims=4, first_claims=3, repeat_claims=1, done=2, expired_takeovers=1
    )
    assert empty == IdempotencyStatistics(0, 0, 0, 0, 0), "an earlier snapshot must not change"
