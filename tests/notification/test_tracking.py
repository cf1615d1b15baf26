"""The notification log: a checked state machine per notification, engagement and funnels."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from reference.core.errors import Conflict, InvalidArgument, NotFound
from reference.notification.model import Channel, Status, StatusChange, StatusRecorder
from reference.notification.tracking import (
    ALLOWED_TRANSITIONS,
    REASON_REQUIRED,
    Engagement,
    Funnel,
    NotificationLog,
)

S = Status


def change(
    status: Status,
    at: float = 0.0,
    *,
    nid: str = "n1",
    reason: str = "",
    channel: Channel = Channel.EMAIL,
    template: str = "welcome",
) -> StatusChange:
    if status in REASON_REQUIRED and not reason:
        reason = f"because {status.value}"
    return StatusChange(nid, f"evt-{nid}", "u1", channel, template, status, at, reason)


def walk(log: NotificationLog, *statuses: Status, nid: str = "n1", **kw: object) -> None:
    for i, status in enumerate(statuses):
        log.record(change(status, float(i), nid=nid, **kw))  # type: ignore[arg-type]


def test_the_log_is_a_status_recorder() -> None:
    log = NotificationLog()
    recorder: StatusRecorder = log
    accepted = change(S.ACCEPTED)
    recorder.record(accepted)
    assert log.history("n1") == (accepted,)
    assert log.status("n1") is S.ACCEPTED


def test_happy_path_is_recorded_in_order() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED, S.SENT, S.DELIVERED)
    assert [c.status for c in log.history("n1")] == [S.ACCEPTED, S.QUEUED, S.SENT, S.DELIVERED]
    assert log.status("n1") is S.DELIVERED


def test_retry_path_failed_then_queued_then_sent_is_legal() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED, S.FAILED, S.QUEUED, S.FAILED, S.QUEUED, S.SENT)
    assert log.status("n1") is S.SENT


def test_replay_path_dead_lettered_then_queued_is_legal() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED, S.FAILED, S.DEAD_LETTERED, S.QUEUED, S.SENT)
    assert log.funnel().dead_lettered == 1


def test_deferred_for_quiet_hours_is_queued_later() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.DEFERRED, S.QUEUED, S.SENT)
    assert log.status("n1") is S.SENT


def test_first_record_must_be_accepted() -> None:
    log = NotificationLog()
    with pytest.raises(Conflict, match=r"\(none\) -> queued"):
        log.record(change(S.QUEUED))
    assert "n1" not in log


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((S.ACCEPTED,), S.SENT),
        ((S.ACCEPTED, S.QUEUED, S.SENT), S.QUEUED),
        ((S.ACCEPTED, S.QUEUED, S.SENT, S.DELIVERED), S.FAILED),
        ((S.ACCEPTED, S.SUPPRESSED), S.QUEUED),
        ((S.ACCEPTED, S.QUEUED, S.DEAD_LETTERED), S.SENT),
    ],
)
def test_an_illegal_transition_raises_conflict_and_writes_nothing(
    path: tuple[Status, ...], illegal: Status
) -> None:
    log = NotificationLog()
    walk(log, *path)
    before = log.history("n1")
    with pytest.raises(Conflict, match="illegal transition"):
        log.record(change(illegal, 99.0))
    assert log.history("n1") == before
    assert log.status("n1") is path[-1]


@pytest.mark.parametrize("status", sorted(REASON_REQUIRED))
def test_suppressed_deferred_failed_and_dead_lettered_require_a_reason(status: Status) -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED)
    with pytest.raises(InvalidArgument, match="reason"):
        log.record(StatusChange("n1", "evt-n1", "u1", Channel.EMAIL, "welcome", status, 5.0))
    assert log.status("n1") is S.QUEUED


def test_a_repeated_status_is_ignored_and_counted() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED, S.SENT)
    log.record(change(S.SENT, 10.0))  # a redelivered job recorded sent again
    assert len(log.history("n1")) == 3
    assert log.statistics().ignored_repeats == 1


def test_sent_arriving_after_delivered_is_stale_and_ignored() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED, S.SENT, S.DELIVERED)
    log.record(change(S.SENT, 10.0))
    assert log.status("n1") is S.DELIVERED
    assert log.statistics().ignored_repeats == 1


def test_a_change_with_another_channel_for_the_same_id_is_a_conflict() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED)
    with pytest.raises(Conflict, match="differs from its first record"):
        log.record(change(S.QUEUED, channel=Channel.SMS))


@pytest.mark.parametrize("bad_at", [float("nan"), float("inf"), "1.0", True])
def test_a_non_finite_time_is_invalid(bad_at: object) -> None:
    log = NotificationLog()
    bad = StatusChange("n1", "e", "u", Channel.EMAIL, "t", S.ACCEPTED, bad_at)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="at="):
        log.record(bad)
    assert len(log) == 0


def test_record_rejects_something_that_is_not_a_status_change() -> None:
    with pytest.raises(InvalidArgument, match="StatusChange"):
        NotificationLog().record("accepted")  # type: ignore[arg-type]


def test_engagement_needs_the_notification_sent_first() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED)
    with pytest.raises(Conflict, match="needs it sent"):
        log.record_engagement("n1", Engagement.OPENED, at=5.0)
    log.record(change(S.SENT, 6.0))
    log.record_engagement("n1", Engagement.OPENED, at=7.0)
    log.record_engagement("n1", Engagement.CLICKED, at=8.0)
    assert [e.kind for e in log.engagements("n1")] == [Engagement.OPENED, Engagement.CLICKED]


def test_engagement_on_an_unknown_notification_is_not_found() -> None:
    with pytest.raises(NotFound, match="notification 'nope'"):
        NotificationLog().record_engagement("nope", Engagement.CLICKED, at=1.0)


def test_engagement_kind_must_be_an_engagement() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED, S.SENT)
    with pytest.raises(InvalidArgument, match="kind"):
        log.record_engagement("n1", "opened", at=1.0)  # type: ignore[arg-type]


def test_engagement_stays_allowed_after_delivered() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED, S.SENT, S.DELIVERED)
    log.record_engagement("n1", Engagement.CLICKED, at=9.0)
    assert log.funnel().clicked == 1


def test_funnel_counts_each_stage_per_channel_and_per_template() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED, S.SENT, S.DELIVERED, nid="a")
    walk(log, S.ACCEPTED, S.QUEUED, S.SENT, nid="b")
    walk(log, S.ACCEPTED, S.QUEUED, S.FAILED, S.DEAD_LETTERED, nid="c")
    walk(log, S.ACCEPTED, S.SUPPRESSED, nid="d", channel=Channel.SMS)
    walk(log, S.ACCEPTED, S.QUEUED, S.SENT, nid="e", template="promo")
    log.record_engagement("a", Engagement.OPENED, at=10.0)
    log.record_engagement("a", Engagement.OPENED, at=11.0)  # counted once
    log.record_engagement("b", Engagement.CLICKED, at=12.0)  # a click implies an open
    email_welcome = log.funnel(channel=Channel.EMAIL, template="welcome")
    assert email_welcome == Funnel(accepted=3, sent=2, delivered=1, opened=2, clicked=1,
                                   failed=1, suppressed=0, dead_lettered=1)
    assert email_welcome.delivery_rate == 0.5
    assert email_welcome.open_rate == 1.0
    assert email_welcome.click_rate == 0.5
    assert log.funnel(channel=Channel.SMS).suppressed == 1
    assert log.funnel(template="promo").sent == 1
    assert log.funnel().accepted == 5


def test_empty_funnel_rates_are_zero() -> None:
    empty = NotificationLog().funnel()
    assert (empty.delivery_rate, empty.open_rate, empty.click_rate) == (0.0, 0.0, 0.0)


def test_counts_by_status_and_iteration_follow_first_record_order() -> None:
    log = NotificationLog()
    walk(log, S.ACCEPTED, S.QUEUED, nid="x")
    walk(log, S.ACCEPTED, nid="y")
    assert list(log) == ["x", "y"]
    counts = log.counts_by_status()
    assert counts[S.QUEUED] == 1 and counts[S.ACCEPTED] == 1 and counts[S.SENT] == 0


def test_history_of_an_unknown_notification_is_not_found() -> None:
    with pytest.raises(NotFound):
        NotificationLog().history("ghost")


class LogAgainstTransitionTable(RuleBasedStateMachine):
    """The log accepts exactly the steps the table allows; history skips ignored repeats."""

    def __init__(self) -> None:
        super().__init__()
        self.log = NotificationLog()
        self.model: dict[str, list[Status]] = {}
        self.t = 0.0

    @rule(nid=st.sampled_from(["a", "b"]), status=st.sampled_from(list(Status)))
    def record(self, nid: str, status: Status) -> None:
        self.t += 1.0
        path = self.model.get(nid)
        current = path[-1] if path else None
        stale = current is S.DELIVERED and status is S.SENT
        allowed = ALLOWED_TRANSITIONS[current] if current else frozenset({S.ACCEPTED})
        legal = status in allowed
        if current is not None and (status is current or stale):
            self.log.record(change(status, self.t, nid=nid))
        elif legal:
            self.log.record(change(status, self.t, nid=nid))
            self.model.setdefault(nid, []).append(status)
        else:
            with pytest.raises(Conflict):
                self.log.record(change(status, self.t, nid=nid))

    @invariant()
    def histories_match(self) -> None:
        for nid, path in self.model.items():
            assert [c.status for c in self.log.history(nid)] == path
        assert len(self.log) == len(self.model)


LogAgainstTransitionTable.TestCase.settings = settings(max_examples=40, stateful_step_count=30,
                                                       deadline=None)
test_log_agrees_with_the_transition_table = LogAgainstTransitionTable.TestCase
