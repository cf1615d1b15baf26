"""The benchmark runner works end to end (tiny workloads; figures are reported, never judged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.harness import Figure, measure


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


def test_notification_suite_reports_the_pipeline_against_its_target_and_backends_against_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    out = tmp_path / "bench.json"
    assert main(["--only", "notification", "--scale", "0.01", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    for name in ("memory: notification pipeline (end to end)",
                 "memory: pipeline, one signed call per request",
                 "memory: intake only (batch call → queued)",
                 "memory: delivery only (queue → provider → log)",
                 "memory: caller: encode + sign batch calls",
                 "memory: floor (job, its JSON, 4 log lines only)",
                 "memory: pipeline without the notification DB",
                 "fakeredis: notification pipeline (end to end)"):
        assert name in printed
    assert "x target 50,000/s" in printed
    assert "the 50,000 notifications/s target" in printed  # "meets" or "below": not judged
    assert "x memory pipeline" in printed
    data = json.loads(out.read_text())
    figures = {f["name"]: Figure(**f) for f in data["figures"]}
    pipeline = figures["memory: notification pipeline (end to end)"]
    fake = figures["fakeredis: notification pipeline (end to end)"]
    intake = figures["memory: intake only (batch call → queued)"]
    single = figures["memory: pipeline, one signed call per request"]
    assert not [name for name in figures if name.startswith("redis:")]  # REDIS_URL is unset
    assert pipeline.vs_calibration == pytest.approx(
        pipeline.ops_per_s / data["calibration_ops_per_s"])
    assert pipeline.vs_baseline == pytest.approx(pipeline.ops_per_s / 50_000)
    assert pipeline.note.startswith(("meets the 50,000", "below the 50,000"))
    assert fake.baseline == "memory"
    assert fake.vs_baseline == pytest.approx(fake.ops_per_s / pipeline.ops_per_s)
    assert intake.vs_baseline == pytest.approx(intake.ops_per_s / pipeline.ops_per_s)
    assert single.vs_baseline == pytest.approx(single.ops_per_s / pipeline.ops_per_s)
    bare = figures["memory: pipeline without the notification DB"]
    assert bare.vs_baseline == pytest.approx(bare.ops_per_s / pipeline.ops_per_s)
    assert f"costs {1 - pipeline.ops_per_s / bare.ops_per_s:.0%} of this rate" in bare.note
    floor = figures["memory: floor (job, its JSON, 4 log lines only)"]
    assert floor.vs_baseline == pytest.approx(floor.ops_per_s / 50_000)
    assert floor.ops_per_s > pipeline.ops_per_s  # a part costs less than the whole
    assert "µs of the target's 20 µs for everything else" in floor.note
    sharded = [f for name, f in figures.items() if "processes (sharded by user)" in name]
    for figure in sharded:  # one per core, when the machine has more than one
        assert figure.vs_baseline == pytest.approx(figure.ops_per_s / 50_000)
        assert f"{figure.ops_per_s / pipeline.ops_per_s:.2f}x one process" in figure.note


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
