"""The benchmark runner works end to end (tiny workloads; figures are reported, never judged)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import main
from benchmarks.harness import Figure, Quantity, measure


def test_measure_reports_operations_per_second_of_the_best_repeat() -> None:
    calls: list[int] = []
    rate = measure(calls.append, 1000, repeats=2)
    assert calls == [1000, 1000]
    assert rate > 0


def test_ids_suite_prints_ratios_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    assert main(["--only", "ids", "--scale", "0.02", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "calibration loop" in printed
    assert "snowflake ids/s" in printed
    assert "layout limit 4096/ms" in printed
    data = json.loads(out.read_text())
    (figure,) = [Figure(**f) for f in data["figures"]]
    assert figure.vs_calibration == pytest.approx(figure.ops_per_s / data["calibration_ops_per_s"])
    assert figure.vs_baseline == pytest.approx(figure.ops_per_s / 4_096_000)


def test_a_non_positive_scale_is_refused_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--scale", "0"])
    assert "--scale must be > 0" in capsys.readouterr().err


def test_storage_suite_reports_each_backend_against_memory_and_pipelining(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["--only", "storage", "--scale", "0.01"]) == 0
    printed = capsys.readouterr().out
    assert "memory: timeline insert (ZADD)" in printed
    assert "x memory" in printed  # fakeredis figures carry their ratio to the memory backend
    assert "x unpipelined" in printed


@pytest.fixture(scope="module")
def notification_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """One tiny run of the notification suite (without real Redis): its output and JSON."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.delenv("REDIS_URL", raising=False)
        assert main(["--only", "notification", "--scale", "0.01", "--json", str(out)]) == 0
    return printed.getvalue(), json.loads(out.read_text())


def test_notification_suite_reports_the_pipeline_as_ratios_without_a_target(
    notification_run: tuple[str, dict[str, Any]],
) -> None:
    printed, data = notification_run
    for name in ("memory: notification pipeline (end to end)",
                 "memory: pipeline, one signed call per request",
                 "memory: intake only (batch call → queued)",
                 "memory: delivery only (queue → provider → log)",
                 "memory: caller: encode + sign batch calls",
                 "memory: floor (job, its JSON, 4 log lines only)",
                 "memory: pipeline without the notification DB",
                 "fakeredis: notification pipeline (end to end)"):
        assert name in printed
    assert "target" not in printed.lower()
    assert "50,000" not in printed
    assert "x memory pipeline" in printed
    assert "target" not in json.dumps(data).lower()
    figures = {f["name"]: Figure(**f) for f in data["figures"]}
    pipeline = figures["memory: notification pipeline (end to end)"]
    fake = figures["fakeredis: notification pipeline (end to end)"]
    intake = figures["memory: intake only (batch call → queued)"]
    single = figures["memory: pipeline, one signed call per request"]
    assert not [name for name in figures if name.startswith("redis:")]  # REDIS_URL is unset
    assert pipeline.vs_calibration == pytest.approx(
        pipeline.ops_per_s / data["calibration_ops_per_s"])
    assert (pipeline.baseline, pipeline.vs_baseline) == ("", None)  # the memory baseline
    assert fake.baseline == "memory"
    assert fake.vs_baseline == pytest.approx(fake.ops_per_s / pipeline.ops_per_s)
    assert intake.vs_baseline == pytest.approx(intake.ops_per_s / pipeline.ops_per_s)
    assert single.vs_baseline == pytest.approx(single.ops_per_s / pipeline.ops_per_s)
    bare = figures["memory: pipeline without the notification DB"]
    assert bare.vs_baseline == pytest.approx(bare.ops_per_s / pipeline.ops_per_s)
    assert f"costs {1 - pipeline.ops_per_s / bare.ops_per_s:.0%} of this rate" in bare.note
    floor = figures["memory: floor (job, its JSON, 4 log lines only)"]
    assert floor.baseline == "memory pipeline"
    assert floor.vs_baseline == pytest.approx(floor.ops_per_s / pipeline.ops_per_s)
    assert (f"the messages alone are {pipeline.ops_per_s / floor.ops_per_s:.0%} of a "
            "notification's pipeline cost") in floor.note
    sharded = [f for name, f in figures.items() if "processes (sharded by user)" in name]
    for figure in sharded:  # one per core, when the machine has more than one
        assert figure.baseline == "memory pipeline"
        assert figure.vs_baseline == pytest.approx(figure.ops_per_s / pipeline.ops_per_s)


def test_notification_suite_reports_commands_memory_and_burst_scaling_as_quantities(
    notification_run: tuple[str, dict[str, Any]],
) -> None:
    from benchmarks import bench_notification

    printed, data = notification_run
    assert "quantity" in printed and "value" in printed  # the second table's header
    quantities = {q["name"]: Quantity(**q) for q in data["quantities"]}
    for name in quantities:
        assert name in printed

    commands = quantities["fakeredis: Redis commands per delivered notification"]
    trips = quantities["fakeredis: round trips per delivered notification"]
    assert commands.unit == "commands" and commands.value > 0
    assert sum(commands.details.values()) == pytest.approx(commands.value)
    assert commands.details["XADD"] == pytest.approx(1.0)  # each job published once
    assert commands.details["XACK"] == pytest.approx(1.0)  # and acked once
    top = max(commands.details, key=lambda name: commands.details[name])
    assert f"most: {top} " in commands.note
    assert trips.unit == "round trips" and 0 < trips.value <= commands.value
    assert trips.baseline == "commands"
    assert trips.vs_baseline == pytest.approx(trips.value / commands.value)

    memory = quantities["memory: bytes retained per waiting notification"]
    fake = quantities["fakeredis: bytes retained per waiting notification"]
    for waiting in (memory, fake):
        assert waiting.unit == "bytes" and waiting.value > 0
        assert sum(waiting.details.values()) == pytest.approx(waiting.value)
        assert "tracemalloc" in waiting.note
    assert any(name.startswith("reference/notification/") for name in memory.details)
    assert "fakeredis" in fake.details  # the embedded server's data is counted
    assert fake.baseline == "memory"
    assert fake.vs_baseline == pytest.approx(fake.value / memory.value)
    assert not [name for name in quantities if name.startswith("redis:")]

    sizes = bench_notification.burst_sizes(0.01)
    bursts = [quantities[f"memory: burst of {jobs:,} jobs, until idle"] for jobs in sizes]
    first = bursts[0]
    for jobs, burst in zip(sizes, bursts, strict=True):
        assert burst.unit == "s (wall)" and burst.value > 0
        assert burst.details["jobs"] == jobs
        assert burst.details["users"] == jobs // 2
        assert burst.details["seconds_per_job"] == pytest.approx(burst.value / jobs)
        assert burst.baseline == f"per job, {sizes[0]:,}-job burst"
        assert burst.vs_baseline == pytest.approx(
            burst.details["seconds_per_job"] / first.details["seconds_per_job"])
    assert first.vs_baseline == pytest.approx(1.0)


def test_burst_sizes_scale_to_even_counts_with_a_floor() -> None:
    from benchmarks.bench_notification import MIN_BURST_JOBS, burst_sizes

    assert burst_sizes(1.0) == [2_000, 4_000, 8_000, 16_000]
    assert burst_sizes(0.0001) == [MIN_BURST_JOBS] * 4
    assert all(jobs % 2 == 0 for jobs in burst_sizes(0.0123))


def test_a_burst_is_refused_unless_every_job_is_delivered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from benchmarks import bench_notification
    from reference.notification.system import NotificationSystem

    monkeypatch.setattr(NotificationSystem, "run_until_idle", lambda self, **kw: 0)
    with pytest.raises(RuntimeError, match="0 of 20 notifications delivered"):
        bench_notification.run_burst(20)


def test_waiting_memory_counts_what_the_intake_left_alive_by_file() -> None:
    from benchmarks.bench_notification import run_waiting_memory

    run = run_waiting_memory("memory", 20)
    assert run.jobs == 20 and run.server_bytes is None
    assert run.process_bytes == sum(run.by_source.values()) > 0
    assert "reference/notification/tracking.py" in run.by_source  # the log's lines
    assert not [name for name in run.by_source if "tracemalloc" in name]  # not the snapshots


def test_the_pipeline_benchmark_refuses_a_run_that_did_not_deliver_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from benchmarks import bench_notification
    from reference.notification.system import NotificationSystem

    monkeypatch.setattr(NotificationSystem, "run_until_idle", lambda self, **kw: 0)
    with pytest.raises(RuntimeError, match="0 of 50 notifications delivered"):
        bench_notification.run_pipeline("memory", 50)


def test_a_failing_shard_is_reported_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import bench_notification

    def fail(*args: object, **kwargs: object) -> None:
        raise SystemExit(3)

    monkeypatch.setattr(bench_notification, "run_pipeline", fail)
    with pytest.raises(RuntimeError, match="a shard failed with exit code 3"):
        bench_notification.run_sharded(2, 10)


def test_feed_suite_reports_fanout_per_insert_the_twitter_load_and_page_round_trips(
    tmp_path: Path,
) -> None:
    out = tmp_path / "feed.json"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--only", "feed", "--scale", "0.01", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    figures = {f["name"]: f for f in data["figures"]}
    quantities = {q["name"]: q for q in data["quantities"]}
    sorted_write = figures["memory: fanout write, sorted timeline (per insert)"]
    assert sorted_write["baseline"] == "capped list" and sorted_write["vs_baseline"] > 0
    assert figures["fakeredis: fanout write, list (per insert)"]["baseline"] == (
        "bare command loop")
    assert quantities["fakeredis: round trips per fanout chunk of 100 (sorted)"]["value"] == 1
    for shape in ("list", "sorted"):
        assert quantities[f"memory: Twitter 2013 write load, {shape} feeds, real-time factor"][
            "value"] > 0
    pages = [quantities[f"fakeredis: round trips per hydrated page of {n}"] for n in (5, 20, 50)]
    assert {page["value"] for page in pages} == {pages[0]["value"]}  # fixed, whatever the length
