"""Dead-letter replays in the middle of a stormy day: no loss, no duplicate, no illegal step.

An operator replays every channel's dead letters every 50 steps while the queue buries
messages after two deliveries (``max_deliveries=2``), workers crash, the broker loses
messages and duplicate events arrive. Each seed below once broke one of these: a replayed
record the broker then lost was never recovered (its row still said settled); a replay of a
letter whose notification had settled otherwise (``delivered -> queued``); a replay that
dropped an in-doubt pin and let a retry fall back to a second provider (a duplicate effect);
a duplicate event's copy let through while a replay had the key reopened.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from reference.notification.checker import check
from reference.notification.model import Channel
from reference.notification.scenario import ScenarioConfig, build_system, run_scenario
from reference.notification.system import NotificationSystem
from reference.storage import Store

HARSH = replace(ScenarioConfig.stormy(), queue_loss_rate=0.35, crash_rate=0.08,
                transient_rate=0.4, permanent_rate=0.05, queue_duplicate_rate=0.4,
                settings_change_rate=1.0, quiet_hours_rate=0.7, duplicate_event_rate=0.3)
REPLAY_EVERY_STEPS = 50


def replaying(**overrides: object):  # type: ignore[no-untyped-def]
    def build(store: Store, config: ScenarioConfig, seed: int) -> NotificationSystem:
        system = build_system(store, config, seed, max_deliveries=2, **overrides)
        step, steps = system.step, [0]

        def step_and_replay(now: float | None = None):  # type: ignore[no-untyped-def]
            result = step(now)
            steps[0] += 1
            if steps[0] % REPLAY_EVERY_STEPS == 0:
                for channel in Channel:
                    system.delivery.replay_dead_letters(channel)
            return result

        system.step = step_and_replay  # type: ignore[method-assign]
        return system
    return build


@pytest.mark.parametrize("seed", [0, 24, 52, 53, 68, *range(100, 110)])
def test_replays_during_a_harsh_day_break_no_promise(seed: int) -> None:
    result = run_scenario(HARSH, seed, build=replaying())
    report = check(result)
    assert report.ok, f"seed {seed}: {report.summary()}"
    assert result.statistics.records is not None and result.statistics.records.open == 0


@pytest.mark.parametrize("seed", [24, 53, 68])
def test_replays_without_broker_loss_or_the_db_break_no_promise(seed: int) -> None:
    result = run_scenario(replace(HARSH, queue_loss_rate=0.0), seed,
                          build=replaying(stall_after_s=None))
    report = check(result)
    assert report.ok, f"seed {seed}: {report.summary()}"


def test_the_harsh_day_really_replays_and_loses_messages() -> None:
    results = [run_scenario(HARSH, seed, build=replaying()) for seed in (0, 52, 53)]
    replays = 0
    for result in results:
        last: dict[str, str] = {}
        for change in result.changes:
            before = last.get(change.notification_id)
            if before == "dead_lettered" and change.status.value == "queued":
                replays += 1
            last[change.notification_id] = change.status.value
    assert replays >= 3
    assert sum(r.broker_losses for r in results) >= 30
