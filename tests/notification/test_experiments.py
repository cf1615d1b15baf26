"""The notebook's experiments: seeded, and their results say what the chapter claims."""

from __future__ import annotations

import pytest

from reference.core.errors import InvalidArgument
from reference.notification.experiments import (
    burst_experiment,
    engagement_experiment,
    percentile,
    retry_experiment,
)
from reference.notification.model import Channel
from reference.notification.retry import RetryPolicy


def test_retry_experiment_is_reproducible_from_its_seed() -> None:
    assert retry_experiment(0.5, notifications=40, seed=3) == retry_experiment(
        0.5, notifications=40, seed=3
    )


def test_a_perfect_provider_needs_one_call_per_notification_and_dead_letters_nothing() -> None:
    result = retry_experiment(0.0, notifications=30)
    assert result.sent == 30
    assert result.dead_lettered == 0
    assert set(result.attempts) == {1}


def test_more_failures_mean_more_dead_letters_and_a_longer_latency_tail() -> None:
    mild = retry_experiment(0.2, notifications=150, seed=1)
    harsh = retry_experiment(0.8, notifications=150, seed=1)
    assert harsh.dead_letter_rate > mild.dead_letter_rate
    assert percentile(harsh.latencies_s, 99) > percentile(mild.latencies_s, 99)
    assert sum(harsh.attempts) > sum(mild.attempts)
    assert harsh.sent + harsh.dead_lettered == harsh.notifications


def test_fewer_attempts_dead_letter_more_at_the_same_failure_rate() -> None:
    patient = retry_experiment(0.6, notifications=150, seed=2)
    hasty = retry_experiment(0.6, policy=RetryPolicy(max_attempts=2), notifications=150, seed=2)
    assert hasty.dead_letter_rate > patient.dead_letter_rate
    assert max(hasty.attempts) <= 2


def test_one_worker_falls_behind_a_burst_and_the_monitor_asks_for_more() -> None:
    slow = burst_experiment(1, duration_s=120)
    assert slow.first_advice is not None and slow.first_advice.add_workers >= 1
    assert slow.first_advice_at is not None
    assert slow.drained_at is None  # still draining when the run ends


def test_enough_workers_drain_the_burst_quickly_without_advice() -> None:
    fast = burst_experiment(8, duration_s=120)
    assert fast.first_advice is None
    assert fast.drained_at is not None and fast.drained_at <= 40
    assert max(s.depth for s in fast.samples) > 0  # the burst did queue up first


def test_the_funnel_narrows_at_every_stage_on_every_channel() -> None:
    funnels = engagement_experiment(users=60, seed=4)
    assert set(funnels) == set(Channel)
    for funnel in funnels.values():
        assert funnel.accepted == 60
        assert funnel.accepted >= funnel.sent >= funnel.delivered >= funnel.opened
        assert funnel.opened >= funnel.clicked
    assert sum(f.clicked for f in funnels.values()) > 0


def test_percentile_uses_nearest_rank_and_rejects_out_of_range() -> None:
    assert percentile([5.0, 1.0, 3.0], 100) == 5.0
    assert percentile([5.0, 1.0, 3.0], 0) == 1.0
    with pytest.raises(InvalidArgument, match="percentile"):
        percentile([1.0], 101)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: retry_experiment(1.5), "failure_rate"),
        (lambda: retry_experiment(0.1, notifications=0), "notifications"),
        (lambda: burst_experiment(0), "workers"),
        (lambda: engagement_experiment(click_rate=-0.1), "click_rate"),
    ],
)
def test_bad_experiment_arguments_are_refused_with_the_name_of_the_argument(
    call: object, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        call()  # type: ignore[operator]


def test_attempts_count_every_provider_call_including_the_one_that_dead_letters() -> None:
    result = retry_experiment(0.6, policy=RetryPolicy(max_attempts=2), notifications=80, seed=5)
    dead = [a for a in result.attempts if a == 2]
    assert result.dead_lettered > 0
    assert len(dead) >= result.dead_lettered  # each dead letter took both attempts
