"""Fixtures of the storage tests: ``redis_store``, the Redis backends only, for tests that
run threads against one store (each on its own namespace, flushed after); and
``frequent_switches`` for tests that race threads."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator

import pytest

from reference.core.clock import FakeClock
from reference.storage import Store, connect


@pytest.fixture(
    params=[
        "fakeredis",
        pytest.param(
            "redis",
            marks=pytest.mark.skipif(
                not os.environ.get("REDIS_URL"),
                reason="REDIS_URL is not set: the real-Redis leg runs in CI",
            ),
        ),
    ]
)
def redis_store(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Store]:
    with connect(request.param, clock=clock, namespace=f"cc-{uuid.uuid4().hex[:8]}") as store:
        try:
            yield store
        finally:
            store.flush()


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """A very short thread switch interval: a switch between a read and the write that
    follows it becomes common, so a step that is not atomic loses updates."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
