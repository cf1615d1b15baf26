"""Storage operations per second on each backend: timeline inserts and queue round trips.

Figures: a ZADD through the Timeline port (one command per call), the same inserts sent as a
redis-py pipeline (Redis backends only), a work-queue message published, consumed and
acked, and a fanout on write of post ids into ``FEEDS`` id timelines with one
``add_to_many`` (one round trip) per post. Each is shown against the calibration loop and
against the memory backend (the pipeline against the same backend unpipelined, the fanout
against one ``add`` call per feed).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from benchmarks.harness import Figure, measure
from reference.core.clock import FakeClock
from reference.storage import Store, connect

FEEDS = 100
PIPELINE_CHUNK = 100


def _backends() -> list[str]:
    return ["memory", "fakeredis"] + (["redis"] if os.environ.get("REDIS_URL") else [])


def _timeline_insert(store: Store) -> Callable[[int], None]:
    add = store.timeline.add

    def run(n: int) -> None:
        for i in range(n):
            add(f"bench:feed:{{{i % FEEDS}}}", {f"post-{i}": float(i)})

    return run


def _timeline_insert_pipelined(store: Store) -> Callable[[int], None]:
    client = store.redis_client
    prefix = f"{store.namespace}:bench:pipe:"

    def run(n: int) -> None:
        for start in range(0, n, PIPELINE_CHUNK):
            pipe = client.pipeline(transaction=False)
            for i in range(start, min(n, start + PIPELINE_CHUNK)):
                pipe.zadd(f"{prefix}{{{i % FEEDS}}}", {f"post-{i}": float(i)})
            pipe.execute()

    return run


def _id_fanout(store: Store, *, batched: bool) -> Callable[[int], None]:
    """``n`` feed entries: ``n // FEEDS`` post ids, each written into every feed."""
    timeline = store.id_timeline
    feeds = [f"bench:ids:{{{i}}}" for i in range(FEEDS)]

    def run(n: int) -> None:
        for post in range(n // FEEDS):
            post_id = 2**61 + post  # a Snowflake-sized id
            if batched:
                timeline.add_to_many(feeds, post_id)
            else:
                for feed in feeds:
                    timeline.add(feed, [post_id])

    return run


def _queue_round_trip(store: Store) -> Callable[[int], None]:
    queue = store.queue
    queue.create_group("bench", "workers", visibility_timeout_s=60.0, max_deliveries=3)

    def run(n: int) -> None:
        for i in range(n):
            queue.publish("bench", f"job-{i}")
        done = 0
        while done < n:
            batch = queue.consume("bench", "workers", "w1", count=50)
            for delivery in batch:
                queue.ack("bench", "workers", delivery.message_id)
            done += len(batch)

    return run


def run(calibration: float, *, scale: float = 1.0) -> list[Figure]:
    figures: list[Figure] = []
    memory_rates: dict[str, float] = {}
    for backend in _backends():
        ops = int((50_000 if backend == "memory" else 3_000) * scale) or 100
        namespace = "bench"
        with connect(backend, clock=FakeClock(start=1_700_000_000.0), namespace=namespace) as st:
            st.flush()
            cases = [
                ("timeline insert (ZADD)", _timeline_insert(st)),
                ("queue publish+consume+ack", _queue_round_trip(st)),
            ]
            for label, case in cases:
                rate = measure(case, ops, repeats=2)
                memory_rates.setdefault(label, rate)
                baseline = memory_rates[label]
                figures.append(
                    Figure(
                        name=f"{backend}: {label}",
                        ops_per_s=rate,
                        vs_calibration=rate / calibration,
                        baseline="memory" if backend != "memory" else "",
                        vs_baseline=rate / baseline if backend != "memory" else None,
                    )
                )
            if st.redis_client is not None:
                plain = figures[-2].ops_per_s
                rate = measure(_timeline_insert_pipelined(st), ops, repeats=2)
                figures.append(
                    Figure(
                        name=f"{backend}: timeline insert, pipelined x{PIPELINE_CHUNK}",
                        ops_per_s=rate,
                        vs_calibration=rate / calibration,
                        baseline="unpipelined",
                        vs_baseline=rate / plain,
                    )
                )
            entries = max(FEEDS, ops // FEEDS * FEEDS)
            one_by_one = measure(_id_fanout(st, batched=False), entries, repeats=2)
            rate = measure(_id_fanout(st, batched=True), entries, repeats=2)
            figures.append(
                Figure(
                    name=f"{backend}: id fanout, add_to_many into {FEEDS} feeds",
                    ops_per_s=rate,
                    vs_calibration=rate / calibration,
                    baseline="one add per feed",
                    vs_baseline=rate / one_by_one,
                )
            )
            st.flush()
    return figures
