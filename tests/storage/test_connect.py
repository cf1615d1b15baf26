"""connect(): choosing a backend, failing clearly, namespaces, and command recording."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from reference.core.clock import FakeClock
from reference.core.errors import BackendError, InvalidArgument, NotFound
from reference.storage import BACKENDS, Store, connect

UNREACHABLE_URL = "redis://127.0.0.1:1/0"  # port 1: nothing listens there
REAL_URL = os.environ.get("REDIS_URL")
needs_real_redis = pytest.mark.skipif(
    not REAL_URL, reason="REDIS_URL is not set: the real-Redis leg runs in CI"
)


@pytest.fixture
def no_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)


@pytest.fixture(params=["fakeredis", pytest.param("redis", marks=needs_real_redis)])
def recording_store(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Store]:
    """A store on a Redis backend (the memory backend has no commands to record)."""
    namespace = f"rec-{uuid.uuid4().hex[:8]}"
    with connect(request.param, clock=clock, namespace=namespace) as store:
        try:
            yield store
        finally:
            store.flush()


def test_backends_are_memory_fakeredis_and_redis() -> None:
    assert BACKENDS == ("memory", "fakeredis", "redis")


def test_without_a_backend_or_redis_url_connect_uses_fakeredis(
    no_redis_url: None, clock: FakeClock
) -> None:
    with connect(clock=clock) as store:
        assert store.backend == "fakeredis"
        assert repr(store) == "Store(backend='fakeredis', namespace='lab')"


def test_an_unknown_backend_is_refused_with_the_valid_names(clock: FakeClock) -> None:
    with pytest.raises(InvalidArgument, match="'memory', 'fakeredis', 'redis'"):
        connect("postgres", clock=clock)


@pytest.mark.parametrize("backend", ["memory", "fakeredis"])
def test_a_url_is_refused_by_backends_that_take_none(backend: str, clock: FakeClock) -> None:
    with pytest.raises(InvalidArgument, match="url"):
        connect(backend, clock=clock, url="redis://127.0.0.1:6379/0")


def test_redis_without_url_or_redis_url_says_how_to_fix_it(
    no_redis_url: None, clock: FakeClock
) -> None:
    with pytest.raises(BackendError, match="set REDIS_URL"):
        connect("redis", clock=clock)


@pytest.mark.parametrize("url", ["not a url", "http://127.0.0.1:6379/0", "redis://host:abc/0"])
def test_a_malformed_url_is_a_backend_error_that_quotes_it(url: str, clock: FakeClock) -> None:
    with pytest.raises(BackendError, match="expected redis://") as caught:
        connect("redis", clock=clock, url=url)
    assert repr(url) in str(caught.value)


def test_an_unreachable_server_is_a_backend_error_that_quotes_the_url(clock: FakeClock) -> None:
    with pytest.raises(BackendError, match="cannot reach Redis") as caught:
        connect("redis", clock=clock, url=UNREACHABLE_URL)
    assert UNREACHABLE_URL in str(caught.value)


def test_a_password_in_the_url_is_hidden_in_the_error(clock: FakeClock) -> None:
    with pytest.raises(BackendError) as caught:
        connect("redis", clock=clock, url="redis://:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in str(caught.value)
    assert ":***@" in str(caught.value)


@pytest.mark.parametrize("backend", [None, "redis"])
def test_redis_url_from_the_environment_is_used_when_no_url_is_given(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock, backend: str | None
) -> None:
    monkeypatch.setenv("REDIS_URL", UNREACHABLE_URL)
    with pytest.raises(BackendError, match=r"127\.0\.0\.1:1/0"):
        connect(backend, clock=clock)


@pytest.mark.parametrize("namespace", ["", "a:b", "x*", "{tag}", "has space", 7])
def test_a_bad_namespace_is_refused(namespace: object, clock: FakeClock) -> None:
    with pytest.raises(InvalidArgument, match="namespace"):
        connect("memory", clock=clock, namespace=namespace)  # type: ignore[arg-type]


def test_the_clock_must_be_a_clock() -> None:
    with pytest.raises(InvalidArgument, match="clock"):
        connect("memory", clock=1_700_000_000.0)  # type: ignore[arg-type]


def test_importing_the_package_connects_to_nothing_and_loads_no_fakeredis() -> None:
    code = "import sys, reference.storage; print('fakeredis' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_each_fakeredis_store_has_its_own_private_server(clock: FakeClock) -> None:
    with connect("fakeredis", clock=clock) as one, connect("fakeredis", clock=clock) as two:
        one.kv.set("k:{1}", "one")
        assert two.kv.get("k:{1}") is None


def test_flush_empties_every_port_of_the_store(store: Store) -> None:
    store.kv.set("k:{1}", "v")
    store.timeline.add("feed:{1}", {"p": 1})
    store.id_timeline.add("ids:{1}", [2**61])
    store.lists.push("home:{1}", "p", max_len=5)
    store.counter.incr("c:{1}")
    store.queue.create_group("jobs", "g")
    store.queue.publish("jobs", "m")
    store.flush()
    assert store.kv.get("k:{1}") is None
    assert store.timeline.size("feed:{1}") == 0
    assert store.id_timeline.size("ids:{1}") == 0
    assert store.lists.length("home:{1}") == 0
    assert store.counter.get("c:{1}") == 0
    with pytest.raises(NotFound):
        store.queue.statistics("jobs", "g")


@pytest.fixture
def two_namespaces(clock: FakeClock) -> Iterator[tuple[Store, Store]]:
    suffix = uuid.uuid4().hex[:8]
    with (
        connect("redis", clock=clock, url=REAL_URL, namespace=f"left-{suffix}") as left,
        connect("redis", clock=clock, url=REAL_URL, namespace=f"right-{suffix}") as right,
    ):
        try:
            yield left, right
        finally:
            left.flush()
            right.flush()


@needs_real_redis
def test_namespaces_isolate_stores_that_share_a_server(two_namespaces: tuple[Store, Store]) -> None:
    left, right = two_namespaces
    left.kv.set("k:{1}", "left")
    right.kv.set("k:{1}", "right")
    for store in (left, right):
        store.id_timeline.add("ids:{1}", [2**61])
        store.lists.push("home:{1}", "p", max_len=5)
    subscription = right.pubsub.subscribe("presence")
    assert left.pubsub.publish("presence", "x") == 0
    left.flush()
    assert left.kv.get("k:{1}") is None
    assert (left.id_timeline.size("ids:{1}"), left.lists.length("home:{1}")) == (0, 0)
    assert right.kv.get("k:{1}") == "right"
    assert (right.id_timeline.size("ids:{1}"), right.lists.length("home:{1}")) == (1, 1)
    subscription.close()


def test_the_memory_backend_refuses_to_record_commands_and_says_why(clock: FakeClock) -> None:
    store = connect("memory", clock=clock)
    with pytest.raises(BackendError, match="fakeredis"):
        store.record_commands()


def test_record_commands_counts_each_zadd_of_a_fanout(recording_store: Store) -> None:
    with recording_store.record_commands() as rec:
        for follower in (7, 8, 9):
            recording_store.timeline.add(f"feed:{{{follower}}}", {"post:1": 1.0})
    assert rec.counts()["ZADD"] == 3
    assert rec.commands[0] == ("ZADD", f"{recording_store.namespace}:feed:{{7}}", "1.0", "post:1")


def test_recording_stops_when_the_block_ends(recording_store: Store) -> None:
    with recording_store.record_commands() as rec:
        recording_store.kv.set("k:{1}", "v")
    recording_store.kv.get("k:{1}")
    assert rec.counts() == {"SET": 1}
    assert len(rec) == 1


def test_recorders_nest_and_each_sees_its_own_span(recording_store: Store) -> None:
    with recording_store.record_commands() as outer:
        recording_store.counter.incr("c:{1}")
        with recording_store.record_commands() as inner:
            recording_store.counter.get("c:{1}")
    assert outer.counts() == {"INCRBY": 1, "GET": 1}
    assert inner.counts() == {"GET": 1}


def test_pipelined_commands_count_one_by_one_inside_multi_exec(recording_store: Store) -> None:
    recording_store.queue.create_group("jobs", "g")
    recording_store.queue.publish("jobs", "m1")
    recording_store.queue.publish("jobs", "m2")
    with recording_store.record_commands() as rec:
        recording_store.queue.consume("jobs", "g", "w", count=2)
    counts = rec.counts()
    assert counts["XREADGROUP"] == 1
    assert counts["MULTI"] == counts["EXEC"] == 1
    assert counts["ZADD"] == 1  # both deadlines in one ZADD
    assert counts["HINCRBY"] == 2
    names = [command[0] for command in rec.commands]
    assert names.index("MULTI") < names.index("ZADD") < names.index("EXEC")


def test_subscribing_is_recorded_too(recording_store: Store) -> None:
    with recording_store.record_commands() as rec:
        subscription = recording_store.pubsub.subscribe("presence")
        recording_store.pubsub.publish("presence", "x")
        subscription.close()
    assert [c[0] for c in rec.commands] == ["SUBSCRIBE", "PUBLISH", "UNSUBSCRIBE"]


def test_redis_client_is_exposed_for_measurement_only_on_redis_backends(clock: FakeClock) -> None:
    with connect("memory", clock=clock) as memory:
        assert memory.redis_client is None
    with connect("fakeredis", clock=clock) as fake:
        assert fake.redis_client.ping() is True
