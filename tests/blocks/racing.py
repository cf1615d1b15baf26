"""A KeyValue port that lets another writer in between a read and a write: races made
deterministic, for the idempotency store's tests and the workers' that use it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class WriteBetween:
    """A KeyValue port that runs ``meanwhile()`` before each of the next ``times`` writes
    (only string writes whose value ``when(value)`` accepts, if given), i.e. after the
    writer's read and before its write lands."""

    def __init__(self, kv: Any, meanwhile: Callable[[], object], *, times: int = 1,
                 when: Callable[[str], bool] | None = None) -> None:
        self._kv = kv
        self._meanwhile = meanwhile
        self._when = when
        self.left = times

    def _interfere(self, value: str | None = None) -> None:
        if self._when is not None and (value is None or not self._when(value)):
            return
        if self.left > 0:
            self.left -= 1
            self._meanwhile()

    def get(self, key: str) -> str | None:
        return self._kv.get(key)  # type: ignore[no-any-return]

    def set(self, key: str, value: str, *, if_absent: bool = False) -> bool:
        self._interfere(value)
        return self._kv.set(key, value, if_absent=if_absent)  # type: ignore[no-any-return]

    def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        self._interfere(value)
        return self._kv.compare_and_set(key, expected, value)  # type: ignore[no-any-return]

    def delete(self, *keys: str) -> int:
        self._interfere()
        return self._kv.delete(*keys)  # type: ignore[no-any-return]

    def hset(self, key: str, mapping: Mapping[str, str]) -> int:
        return self._kv.hset(key, mapping)  # type: ignore[no-any-return]

    def hget(self, key: str, field: str) -> str | None:
        return self._kv.hget(key, field)  # type: ignore[no-any-return]

    def hgetall(self, key: str) -> dict[str, str]:
        return self._kv.hgetall(key)  # type: ignore[no-any-return]

    def hdel(self, key: str, *fields: str) -> int:
        return self._kv.hdel(key, *fields)  # type: ignore[no-any-return]
