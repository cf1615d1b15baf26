"""The redis-py client the Redis backends use: it records its commands and raises lab errors.

Every command a :class:`LabRedis` sends passes through ``execute_command`` (or, inside a
pipeline, is sent with the pipeline's ``execute``), and both report it to the client's
:class:`CommandTap`. A notebook can then show what a call cost in Redis commands:

>>> import fakeredis
>>> client = LabRedis(connection_pool=fakeredis.FakeRedis(decode_responses=True).connection_pool)
>>> with client.tap.recording() as rec:
...     _ = client.zadd("feed:{42}", {"post:1": 1.0})
...     with client.pipeline() as pipe:
...         _ = pipe.zadd("feed:{7}", {"post:1": 1.0}).zadd("feed:{8}", {"post:1": 1.0}).execute()
>>> rec.counts()
Counter({'ZADD': 3, 'MULTI': 1, 'EXEC': 1})
>>> rec.commands[0]
('ZADD', 'feed:{42}', '1.0', 'post:1')

A round trip is one wait for the server's answer: a command sent alone costs one, a pipeline
one however many commands it carries (the lesson of batching):

>>> rec.round_trips
2

Redis errors become the lab's typed errors (``WRONGTYPE`` -> Conflict, an unreachable
server -> BackendError), so callers never need to import redis. (redis-py's annotations
mix ``bytes`` and ``str`` replies, so the backends hold the client as ``Any`` and convert
every reply explicitly.)

>>> _ = client.set("greeting", "hello")
>>> client.hget("greeting", "field")
Traceback (most recent call last):
...
reference.core.errors.Conflict: HGET 'greeting': the key holds another kind of value (WRONGTYPE)
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import redis
from redis.client import Pipeline
from redis.exceptions import WatchError

from reference.core.errors import BackendError, Conflict, InvalidArgument, LabError, NotFound

__all__ = [
    "MAX_OPTIMISTIC_ATTEMPTS",
    "CommandRecorder",
    "CommandTap",
    "LabPipeline",
    "LabRedis",
    "lab_error",
    "optimistic",
]

MAX_OPTIMISTIC_ATTEMPTS = 100  # WATCH/MULTI retries before giving up under contention

Command = tuple[str, ...]
T = TypeVar("T")


class CommandRecorder:
    """The Redis commands issued while a ``record_commands()`` block was open, in order.

    ``commands`` holds each command as a tuple of strings, name first (``('ZADD', key,
    score, member)``); a pipeline counts as its commands, wrapped in MULTI/EXEC when it is a
    transaction. :meth:`counts` tallies them by name.

    ``round_trips`` counts the times the client waited for the server: one per command sent
    alone, one per pipeline ``execute()`` however many commands it holds (a MULTI/EXEC
    transaction too), one per (un)subscribe. Latency follows round trips, not commands.
    """

    __slots__ = ("commands", "round_trips")

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.round_trips = 0

    def counts(self) -> collections.Counter[str]:
        """How many times each command name was issued."""
        return collections.Counter(command[0] for command in self.commands)

    def __len__(self) -> int:
        return len(self.commands)

    def __repr__(self) -> str:
        trips = f"{self.round_trips} round trip" + ("" if self.round_trips == 1 else "s")
        return f"CommandRecorder({len(self.commands)} commands in {trips}: {dict(self.counts())})"


class CommandTap:
    """Where a client reports its commands; open recorders receive a copy of each."""

    __slots__ = ("_recorders",)

    def __init__(self) -> None:
        self._recorders: list[CommandRecorder] = []

    def note(self, args: tuple[Any, ...]) -> None:
        """One command sent on its own: one round trip."""
        if self._recorders:
            self._record([args])

    def note_batch(self, batch: Sequence[tuple[Any, ...]]) -> None:
        """Commands sent together (a pipeline's ``execute``): one round trip for them all."""
        if self._recorders and batch:
            self._record(batch)

    def _record(self, batch: Sequence[tuple[Any, ...]]) -> None:
        commands = [(str(args[0]).upper(), *(str(arg) for arg in args[1:])) for args in batch]
        for recorder in self._recorders:
            recorder.commands.extend(commands)
            recorder.round_trips += 1

    @contextmanager
    def recording(self) -> Iterator[CommandRecorder]:
        """Record every command issued inside the ``with`` block (blocks may nest)."""
        recorder = CommandRecorder()
        self._recorders.append(recorder)
        try:
            yield recorder
        finally:
            self._recorders.remove(recorder)


def lab_error(err: redis.RedisError, args: tuple[Any, ...]) -> LabError:
    """The lab error for a Redis error raised by the command ``args``."""
    name = str(args[0]).upper() if args else "command"
    key = args[1] if len(args) > 1 else None
    if name in ("EVAL", "EVALSHA"):  # EVAL script numkeys key ...: name the key, not the script
        key = args[3] if len(args) > 3 and str(args[2]) != "0" else None
    where = f"{name} {key!r}" if key is not None else name
    text = str(err)
    if isinstance(err, (redis.ConnectionError, redis.TimeoutError)):
        return BackendError(f"Redis did not answer {where}: {text}; expected a reachable server")
    if "WRONGTYPE" in text:
        return Conflict(f"{where}: the key holds another kind of value (WRONGTYPE)")
    if "not an integer" in text:
        return Conflict(f"{where}: the value is not an integer")
    if "overflow" in text:
        return InvalidArgument(f"{where} would overflow: expected a signed 64-bit result")
    if "NOGROUP" in text:
        return NotFound("consumer group", key, text)
    if "equal or smaller than the target stream top item" in text:
        return Conflict(f"{where}: the id is not above the stream's last id")
    return BackendError(f"Redis refused {where}: {text}")


class LabPipeline(Pipeline):
    """A redis-py pipeline that reports its commands and raises lab errors.

    ``WatchError`` (a watched key changed) passes through unchanged: it is the signal to
    retry an optimistic transaction.
    """

    tap: CommandTap

    def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        self.tap.note(args)
        try:
            return super().immediate_execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except WatchError:
            raise
        except redis.RedisError as err:
            raise lab_error(err, args) from err

    def reset(self) -> None:  # type: ignore[override]  # as redis-py's own Pipeline.reset
        if self.watching and self.connection:  # redis-py sends UNWATCH itself: record it
            self.tap.note(("UNWATCH",))
        super().reset()

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        """Send the queued commands in one round trip; the first command Redis refused
        raises its lab error (naming that command's key), after every reply was read."""
        stack = [args for args, _ in self.command_stack]
        # Pipeline shadows the Redis.transaction() method with a bool flag of that name.
        flag: bool = self.transaction  # type: ignore[assignment]
        transaction = flag or bool(self.explicit_transaction)
        if transaction and (stack or self.watching):  # a watched, empty one sends MULTI EXEC
            self.tap.note_batch([("MULTI",), *stack, ("EXEC",)])
        else:
            self.tap.note_batch(stack)  # nothing at all for an empty pipeline
        try:
            result: list[Any] = super().execute(raise_on_error=False)
        except WatchError:
            raise
        except redis.RedisError as err:
            raise lab_error(err, stack[0] if len(stack) == 1 else ("pipeline",)) from err
        if raise_on_error:
            for args, reply in zip(stack, result, strict=False):
                if isinstance(reply, redis.RedisError):
                    raise lab_error(reply, args) from reply
        return result


class LabRedis(redis.Redis):
    """``redis.Redis`` with a :class:`CommandTap` (``client.tap``) and lab errors."""

    tap: CommandTap

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tap = CommandTap()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.tap.note(args)
        try:
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except redis.RedisError as err:
            raise lab_error(err, args) from err

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> LabPipeline:
        pipe = LabPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.tap = self.tap
        return pipe


def optimistic(client: LabRedis, step: Callable[[Any], T]) -> T:
    """Run ``step(pipe)`` until it commits: it WATCHes keys, reads, then MULTI ... EXEC.

    If a watched key changes before EXEC, Redis refuses the transaction (WatchError) and
    the step runs again on fresh reads: an optimistic check-and-set without Lua.

    Raises
    ------
    BackendError
        After ``MAX_OPTIMISTIC_ATTEMPTS`` refusals in a row (heavy contention).
    """
    for _ in range(MAX_OPTIMISTIC_ATTEMPTS):
        with client.pipeline() as pipe:
            try:
                return step(pipe)
            except WatchError:
                continue
    raise BackendError(
        f"gave up after {MAX_OPTIMISTIC_ATTEMPTS} optimistic retries: "
        "other clients kept changing the same keys"
    )
