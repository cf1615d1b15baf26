"""Graders for exercises/ch11_leases.py: memcache leases against the herd and stale sets.

Each test reaches the code under test only through ``impl``; the values live in the
reference :class:`~reference.blocks.cache.Cache` (the vocabulary), on a ``GuardedClock``
moved in steps of 1/4 s. ``lease-herd`` runs its own small herd on the lab's simulator:
400 reads of one hot key, 5 ms apart, whose entry expires at 1 s while each database load
takes 50 ms; a hot miss retries 10 ms later. It counts the database loads and checks which
value the cache holds at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest

from exercises.graders.support import GuardedClock
from reference.blocks.cache import Cache
from reference.cache.leases import LeaseAnswer, LeaseStatistics
from reference.core.errors import InvalidArgument
from reference.core.sim import Simulation, SimulationRunaway

SOLUTION = "reference.cache.leases"

T0 = 1_000.0
KEY = "post:{celebrity-post}"


def make(impl: Any, *, lease_s: float = 10.0, ttl_s: float | None = None
         ) -> tuple[Any, Cache[Any, Any], GuardedClock]:
    clock = GuardedClock(start=T0)
    cache: Cache[Any, Any] = Cache(clock, capacity=10, name="feed", ttl_s=ttl_s)
    return impl.LeaseCache(cache, lease_s=lease_s), cache, clock


def ask(leases: Any, key: Any = KEY) -> LeaseAnswer[Any]:
    answer = leases.get(key)
    assert isinstance(answer, LeaseAnswer), (
        f"get must return reference.cache.leases.LeaseAnswer, got {answer!r}"
    )
    return answer


# -------------------------------------------------------------------------------- lease-token

TOKEN_HINT = (
    "on a miss, grant a token (1, 2, 3, ...) unless the key has a live lease (then a hot "
    "miss: LeaseAnswer(None, None)); a set with the live token stores and ends the lease"
)


@pytest.mark.exercise(name="lease-token", points=3, hint=TOKEN_HINT)
def test_the_first_miss_gets_the_token_and_the_others_wait(impl: Any) -> None:
    leases, _, _ = make(impl)
    first = ask(leases)
    assert first == LeaseAnswer(None, 1), f"the first miss must get token 1, got {first}"
    for _ in range(3):
        assert ask(leases) == LeaseAnswer(None, None), (
            "while a lease on the key is live, every other miss is a hot miss (no token)"
        )
    assert leases.set(KEY, (30, 20), token=1) is True, "the token holder's set is stored"
    assert ask(leases) == LeaseAnswer((30, 20), None), "after the set, a read is a hit"


@pytest.mark.exercise(name="lease-token", points=3, hint=TOKEN_HINT)
def test_each_key_has_its_own_lease_and_tokens_count_up(impl: Any) -> None:
    leases, _, _ = make(impl)
    tokens = [ask(leases, key).token for key in ("feed:{1}", "feed:{2}", "feed:{3}")]
    assert tokens == [1, 2, 3], f"three keys, three leases: tokens {tokens}, expected [1, 2, 3]"


@pytest.mark.exercise(name="lease-token", points=3, hint=TOKEN_HINT)
def test_a_lease_runs_out_after_lease_s_and_the_next_miss_gets_a_new_token(impl: Any) -> None:
    leases, _, clock = make(impl, lease_s=2.0)
    assert ask(leases).token == 1
    clock.advance(1.75)
    assert ask(leases).must_wait, "1.75 s into a 2 s lease, a miss must still wait"
    clock.advance(0.25)
    assert ask(leases) == LeaseAnswer(None, 2), (
        "exactly lease_s later the holder is presumed dead: the next miss gets token 2"
    )


@pytest.mark.exercise(name="lease-token", points=3, hint=TOKEN_HINT)
def test_when_the_value_expires_the_next_miss_gets_a_new_lease(impl: Any) -> None:
    leases, _, clock = make(impl, ttl_s=1.0)
    assert leases.set(KEY, "v1", token=ask(leases).token) is True
    clock.advance(0.75)
    assert ask(leases).value == "v1"
    clock.advance(0.25)
    assert ask(leases) == LeaseAnswer(None, 2), "the value expired: a miss, and a new token"


# ---------------------------------------------------------------------------- lease-stale-set

STALE_HINT = (
    "delete drops the value and forgets the key's lease; set accepts only the token of the "
    "key's live lease and refuses (False, nothing stored) every other"
)


@pytest.mark.exercise(name="lease-stale-set", points=3, hint=STALE_HINT)
def test_a_delete_voids_the_lease_so_the_slow_readers_old_value_is_refused(impl: Any) -> None:
    leases, cache, _ = make(impl)
    slow = ask(leases)  # reads the database: the old row
    assert leases.delete(KEY) is False, "nothing was cached: delete returns False"
    assert leases.set(KEY, "old row", token=slow.token) is False, (
        "a delete came after the token was granted: the set with it must be refused"
    )
    assert cache.peek(KEY) is None, "a refused set must store nothing"
    fresh = ask(leases)
    assert fresh.token is not None and fresh.token != slow.token, (
        f"after the delete, the next miss must get a new token, got {fresh}"
    )
    assert leases.set(KEY, "new row", token=fresh.token) is True
    assert cache.peek(KEY) == "new row"


@pytest.mark.exercise(name="lease-stale-set", points=3, hint=STALE_HINT)
def test_a_used_a_foreign_and_an_unknown_token_are_refused(impl: Any) -> None:
    leases, cache, _ = make(impl)
    mine = ask(leases, "feed:{1}").token
    other = ask(leases, "feed:{2}").token
    assert leases.set("feed:{1}", "theirs", token=other) is False, "another key's token"
    assert leases.set("feed:{1}", "made up", token=99) is False, "a token never issued"
    assert leases.set("feed:{1}", "mine", token=mine) is True
    assert leases.set("feed:{1}", "again", token=mine) is False, "a token works once"
    assert cache.peek("feed:{1}") == "mine"


@pytest.mark.exercise(name="lease-stale-set", points=3, hint=STALE_HINT)
def test_a_set_after_the_lease_ran_out_is_refused(impl: Any) -> None:
    leases, cache, clock = make(impl, lease_s=1.0)
    late = ask(leases).token
    clock.advance(1.0)
    assert leases.set(KEY, "late", token=late) is False, (
        "the lease ran out (a holder presumed dead): its late set must be refused"
    )
    assert cache.peek(KEY) is None


@pytest.mark.exercise(name="lease-stale-set", points=3, hint=STALE_HINT)
def test_delete_answers_whether_a_value_was_live_and_drops_it(impl: Any) -> None:
    leases, cache, _ = make(impl)
    leases.set(KEY, "v", token=ask(leases).token)
    assert leases.delete(KEY) is True and cache.peek(KEY) is None


# --------------------------------------------------------------------------------- lease-herd


@dataclass
class Herd:
    """One hot key, many readers, a database that takes 50 ms per load."""

    leases: Any
    cache: Cache[str, int]
    sim: Simulation
    version: int = 1
    loads: list[float] = field(default_factory=list)
    served: int = 0
    stale_sets: int = 0

    def read(self) -> None:
        answer = self.leases.get(KEY)
        if answer.value is not None:
            self.served += 1
        elif answer.token is None:  # a hot miss: someone is refilling it
            self.sim.call_later(0.010, self.read)
        else:
            self.loads.append(round(self.sim.clock.now() - T0, 3))
            self.sim.call_later(0.050, self.loaded, answer.token, self.version)

    def loaded(self, token: int, value: int) -> None:
        if self.leases.set(KEY, value, token=token) and value < self.version:
            self.stale_sets += 1
        self.served += 1

    def write(self) -> None:
        self.version += 1
        self.leases.delete(KEY)


READS = 400


def run_herd(impl: Any, *, write_at_s: float | None = None) -> Herd:
    sim = Simulation(seed=0, clock=GuardedClock(start=T0))
    cache: Cache[str, int] = Cache(sim.clock, capacity=1, name="feed", ttl_s=1.0)
    herd = Herd(impl.LeaseCache(cache, lease_s=10.0), cache, sim)
    cache.set(KEY, 1)  # warm at t = 0; expires at t = 1 s
    for n in range(READS):
        sim.call_at(T0 + n * 0.005, herd.read)
    if write_at_s is not None:
        sim.call_at(T0 + write_at_s, herd.write)
    try:
        sim.run(max_events=100_000)
    except SimulationRunaway:
        pytest.fail(
            "readers were still retrying after 100,000 events: a hot miss that never ends? "
            "A lease ends when its holder sets, when the key is deleted, or after lease_s",
            pytrace=False,
        )
    return herd


HERD_HINT = (
    "the first miss after the entry expires gets the only token; the readers arriving "
    "during its 50 ms load get hot misses and retry; the load's set ends the lease"
)


@pytest.mark.exercise(name="lease-herd", points=2, hint=HERD_HINT)
def test_a_herd_on_an_expired_hot_key_costs_one_database_load(impl: Any) -> None:
    herd = run_herd(impl)
    assert herd.served == READS, f"{herd.served} of {READS} reads were answered"
    assert herd.loads == [1.0], (
        f"the database was loaded at {herd.loads} s; with leases only the first miss after "
        "the entry expired at 1.0 s loads (plain look-aside loads 10 times here)"
    )
    assert herd.cache.peek(KEY) == 1


@pytest.mark.exercise(name="lease-herd", points=2, hint=HERD_HINT)
def test_a_write_during_the_refill_leaves_the_new_value_cached(impl: Any) -> None:
    herd = run_herd(impl, write_at_s=1.02)  # the row changes while the first load runs
    assert herd.served == READS, f"{herd.served} of {READS} reads were answered"
    assert herd.stale_sets == 0, (
        f"{herd.stale_sets} old value(s) were set after the write: the write's delete must "
        "void the lease, so the first loader's set (the old row) is refused"
    )
    assert len(herd.loads) == 2 and herd.loads[0] == 1.0 and 1.02 <= herd.loads[1] < 1.05, (
        f"loads at {herd.loads} s: expected the first miss at 1.0 s and, once the write's "
        "delete at 1.02 s voided its lease, one more: the next miss gets a new token"
    )
    assert herd.cache.peek(KEY) == 2, (
        f"the cache holds {herd.cache.peek(KEY)!r} after the run: expected the new row, 2"
    )


# --------------------------------------------------------------------------- lease-statistics


@pytest.mark.exercise(
    name="lease-statistics",
    points=1,
    hint="count tokens granted, hot misses, sets accepted and refused, live leases voided; "
    "return reference.cache.leases.LeaseStatistics with cache=cache.statistics()",
)
def test_statistics_count_every_decision(impl: Any) -> None:
    leases, cache, clock = make(impl, lease_s=1.0)
    empty = leases.statistics()
    assert isinstance(empty, LeaseStatistics), (
        "statistics() must return reference.cache.leases.LeaseStatistics"
    )
    assert empty == LeaseStatistics(0, 0, 0, 0, 0, cache.statistics())
    a = ask(leases, "a").token  # granted
    ask(leases, "a")  # hot miss
    leases.set("a", 1, token=a)  # accepted
    ask(leases, "a")  # a hit
    b = ask(leases, "b").token  # granted
    leases.delete("b")  # voided (live)
    leases.set("b", 2, token=b)  # refused
    c = ask(leases, "c").token  # granted
    clock.advance(1.0)
    leases.delete("c")  # ran out already: not counted as voided
    with pytest.raises(InvalidArgument):
        leases.set("a", 1, token=0)  # rejected: counts nothing
    assert leases.statistics() == LeaseStatistics(
        leases_granted=3, hot_misses=1, sets_accepted=1, sets_refused=1, leases_voided=1,
        cache=cache.statistics(),
    ), f"got {leases.statistics()}"
    assert c == 3


# ---------------------------------------------------------------------------- lease-arguments

ARGUMENTS_HINT = (
    "cache must be a reference.blocks.cache.Cache and lease_s a finite number > 0; set "
    "refuses a None value, an unhashable key or a token that is not an int >= 1 with "
    "InvalidArgument"
)


@pytest.mark.exercise(name="lease-arguments", points=1, hint=ARGUMENTS_HINT)
@pytest.mark.parametrize(
    "bad", [{"lease_s": 0}, {"lease_s": -1.0}, {"lease_s": math.inf}, {"lease_s": math.nan},
            {"lease_s": True}, {"lease_s": "10"}, {"cache": {}}, {"cache": None}],
    ids=repr,
)
def test_bad_settings_are_rejected(impl: Any, bad: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "cache": Cache(GuardedClock(start=T0), capacity=1), "lease_s": 10.0}
    impl.LeaseCache(**arguments)  # valid settings must work
    with pytest.raises(InvalidArgument):
        impl.LeaseCache(**{**arguments, **bad})


@pytest.mark.exercise(name="lease-arguments", points=1, hint=ARGUMENTS_HINT)
@pytest.mark.parametrize(
    ("key", "value", "token"),
    [(KEY, None, 1), ([1], "v", 1), (KEY, "v", 0), (KEY, "v", -1), (KEY, "v", True),
     (KEY, "v", 1.0), (KEY, "v", "1")],
    ids=["value-None", "unhashable-key", "token-0", "token-negative", "token-True",
         "token-float", "token-str"],
)
def test_a_bad_set_is_rejected_and_the_lease_survives(
    impl: Any, key: Any, value: Any, token: Any
) -> None:
    leases, cache, _ = make(impl)
    assert ask(leases).token == 1
    with pytest.raises(InvalidArgument):
        leases.set(key, value, token=token)
    assert cache.peek(KEY) is None
    assert leases.set(KEY, "v", token=1) is True, "the lease must survive a rejected call"


@pytest.mark.exercise(name="lease-arguments", points=1, hint=ARGUMENTS_HINT)
def test_an_unhashable_key_is_rejected_by_get_and_delete(impl: Any) -> None:
    leases, _, _ = make(impl)
    for call in (leases.get, leases.delete):
        with pytest.raises(InvalidArgument):
            call({"k": 1})
