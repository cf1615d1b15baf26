"""One wiring function: :func:`connect` chooses a backend and returns a :class:`Store`.

================ =============================================================== ============
backend          what it is                                                      commands
================ =============================================================== ============
``"memory"``     plain Python dicts and sorted lists: fastest, for big runs      none
``"fakeredis"``  an embedded, private Redis (fakeredis): real Redis commands     recorded
``"redis"``      a real server at ``url`` or ``$REDIS_URL``                       recorded
================ =============================================================== ============

Nothing connects at import time; each fakeredis store has its own private server.

Examples
--------
>>> from reference.core.clock import FakeClock
>>> store = connect("fakeredis", clock=FakeClock(start=1_700_000_000.0))
>>> store
Store(backend='fakeredis', namespace='lab')
>>> with store.record_commands() as rec:
...     for follower in (7, 8, 9):
...         _ = store.timeline.add(f"feed:{{{follower}}}", {"post:1": 1_700_000_000})
>>> rec.counts()
Counter({'ZADD': 3})
>>> rec.commands[0]
('ZADD', 'lab:feed:{7}', '1700000000.0', 'post:1')
>>> with store.record_commands() as rec:  # the same fanout, pipelined: one round trip
...     _ = store.id_timeline.add_to_many(["feed:{7}", "feed:{8}", "feed:{9}"], 2**61)
>>> rec.counts(), rec.round_trips
(Counter({'ZADD': 3}), 1)
>>> store.close()
>>> connect("postgres", clock=FakeClock())
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: backend='postgres' is invalid: expected one of 'memory', ...
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit

from reference.core.clock import Clock
from reference.core.errors import BackendError, InvalidArgument, LabError
from reference.storage.checks import check_namespace
from reference.storage.client import CommandRecorder, LabRedis
from reference.storage.memory import (
    Keyspace,
    MemoryCounter,
    MemoryKeyValue,
    MemoryPubSub,
    MemoryTimeline,
)
from reference.storage.memory_lists import MemoryCappedList, MemoryIdTimeline
from reference.storage.memory_queue import MemoryWorkQueue
from reference.storage.ports import (
    CappedList,
    Counter,
    IdTimeline,
    KeyValue,
    PubSub,
    Timeline,
    WorkQueue,
)
from reference.storage.redis_backend import (
    RedisCounter,
    RedisKeyValue,
    RedisPubSub,
    RedisTimeline,
)
from reference.storage.redis_lists import RedisCappedList, RedisIdTimeline
from reference.storage.redis_queue import RedisWorkQueue

__all__ = ["BACKENDS", "CONNECT_TIMEOUT_S", "SOCKET_TIMEOUT_S", "Store", "connect"]

BACKENDS = ("memory", "fakeredis", "redis")
CONNECT_TIMEOUT_S = 2.0  # how long connect() waits for a real server's TCP handshake
SOCKET_TIMEOUT_S = 10.0  # how long any one command may wait for its reply
_FLUSH_BATCH = 500


class _Engine(Protocol):
    """What differs between backends beyond the seven ports."""

    def record_commands(self) -> AbstractContextManager[CommandRecorder]: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True, repr=False)
class Store:
    """The seven storage ports over one backend, plus the clock they decide time with.

    Use it as a context manager (or call :meth:`close`) to release connections.
    """

    backend: str
    clock: Clock
    namespace: str
    kv: KeyValue
    timeline: Timeline
    id_timeline: IdTimeline
    lists: CappedList
    counter: Counter
    queue: WorkQueue
    pubsub: PubSub
    _engine: _Engine = field(compare=False)

    def record_commands(self) -> AbstractContextManager[CommandRecorder]:
        """Record the Redis commands issued inside a ``with`` block.

        Returns a context manager giving a :class:`~reference.storage.client.CommandRecorder`
        (``rec.commands`` in order, ``rec.counts()`` by name).

        Raises
        ------
        BackendError
            On the memory backend, which issues no Redis commands to record.
        """
        return self._engine.record_commands()

    @property
    def redis_client(self) -> Any:
        """The raw redis-py client (None on the memory backend).

        For measuring and debugging only (the benchmarks compare pipelined and unpipelined
        commands with it); components use the ports, never the client.
        """
        return getattr(self._engine, "_client", None)

    def flush(self) -> None:
        """Delete every key of this store's namespace (only those: other namespaces stay)."""
        self._engine.flush()

    def close(self) -> None:
        """Close subscriptions and connections. The store is unusable afterwards."""
        self._engine.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store(backend={self.backend!r}, namespace={self.namespace!r})"


class _MemoryEngine:
    __slots__ = ("_pubsub", "_queue", "_space")

    def __init__(self, space: Keyspace, queue: MemoryWorkQueue, pubsub: MemoryPubSub) -> None:
        self._space, self._queue, self._pubsub = space, queue, pubsub

    def record_commands(self) -> AbstractContextManager[CommandRecorder]:
        raise BackendError(
            "the memory backend issues no Redis commands to record: "
            "use connect('fakeredis', ...) or connect('redis', ...) to see them"
        )

    def flush(self) -> None:
        self._space.clear()
        self._queue.clear()

    def close(self) -> None:
        self._pubsub.close_all()


class _RedisEngine:
    __slots__ = ("_client", "_namespace", "_pubsub")

    def __init__(self, client: LabRedis, namespace: str, pubsub: RedisPubSub) -> None:
        self._client, self._namespace, self._pubsub = client, namespace, pubsub

    def record_commands(self) -> AbstractContextManager[CommandRecorder]:
        return self._client.tap.recording()

    def flush(self) -> None:
        client: Any = self._client
        batch: list[str] = []
        for key in client.scan_iter(match=f"{self._namespace}:*", count=_FLUSH_BATCH):
            batch.append(key)
            if len(batch) == _FLUSH_BATCH:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)

    def close(self) -> None:
        self._pubsub.close_all()
        self._client.close()
        self._client.connection_pool.disconnect()


def connect(
    backend: str | None = None,
    *,
    clock: Clock,
    url: str | None = None,
    namespace: str = "lab",
) -> Store:
    """Build a :class:`Store` on the chosen backend.

    Parameters
    ----------
    backend : {"memory", "fakeredis", "redis"} or None
        None means ``"redis"`` when ``url`` is given or ``$REDIS_URL`` is set, else
        ``"fakeredis"``.
    clock : Clock
        Every time decision of the store (visibility timeouts, ages) uses this clock.
    url : str, optional
        ``redis://host:port/db`` of a real server (``backend="redis"`` only); defaults to
        ``$REDIS_URL``.
    namespace : str
        Prefix of every key and channel, so several stores can share one server.

    Returns
    -------
    Store

    Raises
    ------
    InvalidArgument
        For an unknown backend, a bad namespace, a non-Clock clock, or a ``url`` given to
        a backend that is not ``"redis"``.
    BackendError
        For ``"redis"`` with neither ``url`` nor ``$REDIS_URL``, a malformed URL, or a
        server that does not answer PING within ``CONNECT_TIMEOUT_S``.

    Notes
    -----
    The real-server client never retries a command on its own: a retried INCR or XADD
    could apply twice, so a failure surfaces as BackendError and the caller decides.
    """
    if not isinstance(clock, Clock):
        raise InvalidArgument.bad_value("clock", clock, "a Clock (now, now_ms, sleep)")
    check_namespace(namespace)
    if url is not None and not isinstance(url, str):
        raise InvalidArgument.bad_value("url", url, "None or a redis:// URL string")
    env_url = os.environ.get("REDIS_URL") or None
    if backend is None:
        backend = "redis" if (url or env_url) else "fakeredis"
    if backend not in BACKENDS:
        raise InvalidArgument.bad_value(
            "backend", backend, "one of " + ", ".join(repr(name) for name in BACKENDS)
        )
    if backend == "memory":
        if url is not None:
            raise InvalidArgument.bad_value("url", url, "None: only backend='redis' takes a url")
        return _memory_store(clock, namespace)
    if backend == "fakeredis":
        if url is not None:
            raise InvalidArgument.bad_value("url", url, "None: only backend='redis' takes a url")
        return _redis_store("fakeredis", _fake_client(), clock, namespace)
    chosen = url or env_url
    if chosen is None:
        raise BackendError(
            "backend='redis' needs a server: set REDIS_URL (e.g. redis://127.0.0.1:6379/0) "
            "or pass url=..."
        )
    return _redis_store("redis", _real_client(chosen), clock, namespace)


def _memory_store(clock: Clock, namespace: str) -> Store:
    space, queue, pubsub = Keyspace(), MemoryWorkQueue(clock), MemoryPubSub()
    return Store(
        backend="memory",
        clock=clock,
        namespace=namespace,
        kv=MemoryKeyValue(space),
        timeline=MemoryTimeline(space),
        id_timeline=MemoryIdTimeline(space),
        lists=MemoryCappedList(space),
        counter=MemoryCounter(space),
        queue=queue,
        pubsub=pubsub,
        _engine=_MemoryEngine(space, queue, pubsub),
    )


def _redis_store(backend: str, client: LabRedis, clock: Clock, namespace: str) -> Store:
    pubsub = RedisPubSub(client, namespace=namespace)
    return Store(
        backend=backend,
        clock=clock,
        namespace=namespace,
        kv=RedisKeyValue(client, namespace=namespace),
        timeline=RedisTimeline(client, namespace=namespace),
        id_timeline=RedisIdTimeline(client, namespace=namespace),
        lists=RedisCappedList(client, namespace=namespace),
        counter=RedisCounter(client, namespace=namespace),
        queue=RedisWorkQueue(client, clock, namespace=namespace),
        pubsub=pubsub,
        _engine=_RedisEngine(client, namespace, pubsub),
    )


def _fake_client() -> LabRedis:
    import fakeredis  # imported on first use: `import reference` stays light

    fake = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    return LabRedis(connection_pool=fake.connection_pool)


def _redact(url: str) -> str:
    """The URL with its password hidden, for error messages."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return url
    return url.replace(f":{password}@", ":***@") if password else url


def _real_client(url: str) -> LabRedis:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    shown = _redact(url)
    try:
        client = LabRedis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=SOCKET_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )
    except ValueError as err:
        raise BackendError(
            f"cannot use Redis URL {shown!r}: {err}; expected redis://[:password@]host:port/db"
        ) from err
    if not isinstance(client, LabRedis):  # pragma: no cover - from_url returns cls
        raise BackendError(f"unexpected client for {shown!r}")
    try:
        client.ping()
    except LabError as err:
        client.close()
        client.connection_pool.disconnect()
        raise BackendError(
            f"cannot reach Redis at {shown!r}: {err}. Expected a running server there "
            "(start one with `redis-server --port 6390` and use redis://127.0.0.1:6390/0)"
        ) from err
    return client
