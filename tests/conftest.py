"""Shared fixtures: a fake ``clock``, and a ``store`` on every storage backend.

``store`` runs each test on "memory" and "fakeredis", and on "redis" when ``REDIS_URL`` is
set (CI sets it); a real-server test gets a fresh namespace, flushed afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from reference.core.clock import FakeClock
from reference.storage import Store, connect

START_S = 1_700_000_000.0  # 2023-11-14T22:13:20Z: every test's clock starts here

_NO_REDIS = (
    "REDIS_URL is not set: the real-Redis leg runs in CI "
    "(start redis-server and set REDIS_URL=redis://127.0.0.1:6379/0 to run it here)"
)


def _backend_params() -> list[object]:
    return [
        pytest.param("memory", id="memory"),
        pytest.param("fakeredis", id="fakeredis"),
        pytest.param(
            "redis",
            id="redis",
            marks=pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason=_NO_REDIS),
        ),
    ]


@pytest.fixture
def clock() -> FakeClock:
    """A FakeClock at START_S; move it with ``clock.advance(seconds)``."""
    return FakeClock(start=START_S)


@pytest.fixture(params=_backend_params())
def store(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Store]:
    """A fresh, empty store on one backend, deciding time with ``clock``."""
    backend: str = request.param
    namespace = f"test-{uuid.uuid4().hex[:12]}" if backend == "redis" else "lab"
    with connect(backend, clock=clock, namespace=namespace) as fresh:
        try:
            yield fresh
        finally:
            if backend == "redis":
                fresh.flush()
