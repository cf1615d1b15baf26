"""User settings: opt-ins, quiet hours across midnight and DST, critical bypass, persistence."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument
from reference.notification.model import Category, Channel
from reference.notification.settings import (
    DEFAULT_CATEGORIES,
    DEFAULT_CHANNELS,
    EARLIEST_NOW,
    LATEST_NOW,
    SEND,
    Defer,
    Preferences,
    QuietHours,
    Send,
    SettingsStore,
    Suppress,
    decide,
    quiet_window_end,
)
from reference.storage import Store, connect

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
FIXED_ZONES = ("UTC", "Asia/Seoul", "Asia/Kolkata", "Asia/Kathmandu")
DST_ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Santiago")


@pytest.fixture
def settings_store(store: Store) -> SettingsStore:
    return SettingsStore(store.kv)


def at(zone: ZoneInfo, *args: int, fold: int = 0) -> float:
    return datetime(*args, tzinfo=zone, fold=fold).timestamp()  # type: ignore[misc]


def local(zone: ZoneInfo, ts: float) -> str:
    return datetime.fromtimestamp(ts, zone).isoformat()


def night(zone: str = "UTC") -> Preferences:
    return Preferences(time_zone=zone, quiet_hours=QuietHours(time(22), time(7)))


def ask(prefs: Preferences, now: float, **kw: object) -> object:
    args: dict[str, object] = {
        "channel": Channel.SMS,
        "category": Category.SOCIAL,
        "critical": False,
        **kw,
    }
    return decide(prefs, now=now, **args)  # type: ignore[arg-type]


# ── opt-in ──────────────────────────────────────────────────────────────────────────────


def test_defaults_opt_in_to_every_channel_and_category_except_marketing() -> None:
    prefs = Preferences()
    assert prefs.channels == frozenset(Channel) == DEFAULT_CHANNELS
    assert prefs.categories == frozenset(Category) - {Category.MARKETING} == DEFAULT_CATEGORIES
    assert ask(prefs, 0.0, category=Category.MARKETING) == Suppress("opted_out:category=marketing")
    assert ask(prefs, 0.0, category=Category.SOCIAL) is SEND


def test_an_opted_out_channel_is_suppressed_with_the_channel_as_reason() -> None:
    prefs = Preferences().with_channel(Channel.SMS, False)
    assert ask(prefs, 0.0, channel=Channel.SMS) == Suppress("opted_out:channel=sms")
    assert ask(prefs, 0.0, channel=Channel.EMAIL) is SEND


def test_the_channel_opt_out_is_reported_before_the_category_opt_out() -> None:
    prefs = Preferences().with_channel(Channel.SMS, False)
    decision = ask(prefs, 0.0, channel=Channel.SMS, category=Category.MARKETING)
    assert decision == Suppress("opted_out:channel=sms")


def test_opting_in_to_marketing_lets_marketing_through() -> None:
    prefs = Preferences().with_category(Category.MARKETING, True)
    assert ask(prefs, 0.0, category=Category.MARKETING) is SEND


def test_an_opt_out_wins_over_quiet_hours() -> None:
    prefs = night().with_channel(Channel.SMS, False)
    assert ask(prefs, at(ZoneInfo("UTC"), 2026, 1, 1, 23)) == Suppress("opted_out:channel=sms")


# ── quiet hours ─────────────────────────────────────────────────────────────────────────


def test_quiet_hours_across_midnight_defer_to_the_next_morning() -> None:
    utc = ZoneInfo("UTC")
    decision = ask(night(), at(utc, 2026, 1, 1, 23, 15))
    assert isinstance(decision, Defer)
    assert decision.until == at(utc, 2026, 1, 2, 7)
    assert decision.reason == "quiet_hours:22:00-07:00 UTC"


def test_early_morning_inside_quiet_hours_defers_to_the_same_morning() -> None:
    utc = ZoneInfo("UTC")
    decision = ask(night(), at(utc, 2026, 1, 2, 3))
    assert isinstance(decision, Defer) and decision.until == at(utc, 2026, 1, 2, 7)


def test_the_window_is_half_open_start_inside_end_outside() -> None:
    utc = ZoneInfo("UTC")
    assert isinstance(ask(night(), at(utc, 2026, 1, 1, 22)), Defer)
    assert ask(night(), at(utc, 2026, 1, 1, 7)) is SEND
    assert ask(night(), at(utc, 2026, 1, 1, 21, 59, 59)) is SEND


def test_quiet_hours_are_read_in_the_users_time_zone() -> None:
    prefs = night("Asia/Seoul")
    noon_utc = at(ZoneInfo("UTC"), 2026, 1, 1, 14)  # 23:00 in Seoul
    decision = ask(prefs, noon_utc)
    assert isinstance(decision, Defer)
    assert local(ZoneInfo("Asia/Seoul"), decision.until) == "2026-01-02T07:00:00+09:00"
    assert ask(night("UTC"), noon_utc) is SEND


def test_a_daytime_window_that_does_not_wrap_defers_to_its_end() -> None:
    prefs = Preferences(quiet_hours=QuietHours.parse("09:00-17:30"))
    decision = ask(prefs, at(ZoneInfo("UTC"), 2026, 5, 5, 12))
    assert isinstance(decision, Defer)
    assert decision.until == at(ZoneInfo("UTC"), 2026, 5, 5, 17, 30)


def test_new_york_spring_forward_skips_the_end_time_so_the_window_ends_at_the_jump() -> None:
    # 2026-03-08: clocks jump from 02:00 EST to 03:00 EDT; 02:30 never happens.
    prefs = Preferences(time_zone="America/New_York", quiet_hours=QuietHours.parse("22:00-02:30"))
    decision = ask(prefs, at(NY, 2026, 3, 8, 1, 30))
    assert isinstance(decision, Defer)
    assert local(NY, decision.until) == "2026-03-08T03:00:00-04:00"
    assert decision.until == at(ZoneInfo("UTC"), 2026, 3, 8, 7)


def test_new_york_spring_forward_night_is_one_hour_shorter_in_real_time() -> None:
    prefs = Preferences(time_zone="America/New_York", quiet_hours=QuietHours.parse("22:00-07:00"))
    now = at(NY, 2026, 3, 7, 23)
    decision = ask(prefs, now)
    assert isinstance(decision, Defer)
    assert local(NY, decision.until) == "2026-03-08T07:00:00-04:00"
    assert decision.until - now == 7 * 3600


def test_berlin_fall_back_night_is_one_hour_longer_in_real_time() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET.
    prefs = Preferences(time_zone="Europe/Berlin", quiet_hours=QuietHours.parse("22:00-07:00"))
    now = at(BERLIN, 2026, 10, 24, 22)
    decision = ask(prefs, now)
    assert isinstance(decision, Defer)
    assert local(BERLIN, decision.until) == "2026-10-25T07:00:00+01:00"
    assert decision.until - now == 10 * 3600


def test_berlin_fall_back_end_time_that_happens_twice_ends_at_the_next_occurrence() -> None:
    prefs = Preferences(time_zone="Europe/Berlin", quiet_hours=QuietHours.parse("01:00-02:30"))
    first_pass = at(BERLIN, 2026, 10, 25, 2, 15, fold=0)  # 02:15 CEST
    second_pass = at(BERLIN, 2026, 10, 25, 2, 15, fold=1)  # 02:15 CET, an hour later
    one = ask(prefs, first_pass)
    two = ask(prefs, second_pass)
    assert isinstance(one, Defer) and isinstance(two, Defer)
    assert local(BERLIN, one.until) == "2026-10-25T02:30:00+02:00"
    assert local(BERLIN, two.until) == "2026-10-25T02:30:00+01:00"
    assert one.until - first_pass == two.until - second_pass == 15 * 60


def test_berlin_spring_forward_inside_the_window_keeps_the_wall_clock_end() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST.
    prefs = Preferences(time_zone="Europe/Berlin", quiet_hours=QuietHours.parse("01:00-04:00"))
    now = at(BERLIN, 2026, 3, 29, 1, 30)
    decision = ask(prefs, now)
    assert isinstance(decision, Defer)
    assert local(BERLIN, decision.until) == "2026-03-29T04:00:00+02:00"
    assert decision.until - now == 90 * 60


def test_new_york_fall_back_can_jump_out_of_the_window_past_its_start() -> None:
    # 2026-11-01: 02:00 EDT becomes 01:00 EST, outside 01:15-02:00, until 01:15 EST.
    prefs = Preferences(time_zone="America/New_York", quiet_hours=QuietHours.parse("01:15-02:00"))
    decision = ask(prefs, at(NY, 2026, 11, 1, 1, 30, fold=0))
    assert isinstance(decision, Defer)
    assert local(NY, decision.until) == "2026-11-01T01:00:00-05:00"
    assert isinstance(ask(prefs, at(NY, 2026, 11, 1, 1, 30, fold=1)), Defer)


def test_outside_quiet_hours_quiet_window_end_is_none() -> None:
    assert quiet_window_end(QuietHours.parse("22:00-07:00"), NY, at(NY, 2026, 6, 1, 12)) is None


# ── properties ──────────────────────────────────────────────────────────────────────────

clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
windows = (
    st.tuples(clock_times, clock_times).filter(lambda w: w[0] != w[1]).map(lambda w: QuietHours(*w))
)
# 2025-01-01 .. 2028-01-01, covering several DST transitions in both hemispheres
instants = st.floats(1_735_689_600.0, 1_830_297_600.0, allow_nan=False)


def _transitions(zone_name: str, year: int = 2026) -> list[float]:
    """The instants in ``year`` when ``zone_name`` changes its UTC offset (hourly scan)."""
    zone, start = ZoneInfo(zone_name), datetime(year, 1, 1, tzinfo=UTC).timestamp()
    found, previous = [], datetime.fromtimestamp(start, zone).utcoffset()
    for hour in range(1, 366 * 24):
        offset = datetime.fromtimestamp(start + hour * 3600, zone).utcoffset()
        if offset != previous:
            found.append(start + hour * 3600)
            previous = offset
    return found


TRANSITIONS = {name: _transitions(name) for name in DST_ZONES}
# instants within 30 h of a DST change: where midnight and the jump interact
near_transitions = st.sampled_from(DST_ZONES).flatmap(
    lambda name: st.tuples(
        st.just(name),
        st.builds(
            lambda base, shift: base + shift,
            st.sampled_from(TRANSITIONS[name]),
            st.integers(-30 * 3600, 30 * 3600).map(float),
        ),
    )
)
preferences = st.builds(
    Preferences,
    channels=st.frozensets(st.sampled_from(list(Channel))),
    categories=st.frozensets(st.sampled_from(list(Category))),
    time_zone=st.sampled_from(FIXED_ZONES + DST_ZONES),
    quiet_hours=st.none() | windows,
)


@settings(max_examples=200, deadline=None)
@given(
    prefs=preferences,
    channel=st.sampled_from(list(Channel)),
    category=st.sampled_from(list(Category)),
    now=instants,
)
def test_critical_notifications_are_always_sent_now(
    prefs: Preferences, channel: Channel, category: Category, now: float
) -> None:
    assert decide(prefs, channel=channel, category=category, critical=True, now=now) is SEND


@settings(max_examples=300, deadline=None)
@given(quiet=windows, zone_name=st.sampled_from(FIXED_ZONES + DST_ZONES), now=instants)
def test_deferral_lands_outside_the_window_right_when_it_ends_and_within_a_day(
    quiet: QuietHours, zone_name: str, now: float
) -> None:
    check_deferral(quiet, zone_name, now)


@settings(max_examples=300, deadline=None)
@given(quiet=windows, zone_and_now=near_transitions)
def test_deferral_is_exact_on_nights_with_a_dst_change(
    quiet: QuietHours, zone_and_now: tuple[str, float]
) -> None:
    check_deferral(quiet, *zone_and_now)


def test_the_dst_scan_finds_two_changes_a_year_in_each_dst_zone() -> None:
    assert all(len(found) == 2 for found in TRANSITIONS.values()), TRANSITIONS


def check_deferral(quiet: QuietHours, zone_name: str, now: float) -> None:
    zone = ZoneInfo(zone_name)
    until = quiet_window_end(quiet, zone, now)
    inside_now = quiet.contains(datetime.fromtimestamp(now, zone).time())
    assert (until is not None) == inside_now
    if until is None:
        return
    assert until > now
    assert not quiet.contains(datetime.fromtimestamp(until, zone).time())  # lands outside
    # ... and not later than needed: every instant before it is still quiet
    for i in range(1, 25):
        probe = now + (until - now) * i / 25
        if probe < until - 1e-3:
            assert quiet.contains(datetime.fromtimestamp(probe, zone).time()), local(zone, probe)
    for jump in TRANSITIONS.get(zone_name, []):  # a DST jump before `until` kept it quiet
        if now < jump < until:
            assert quiet.contains(datetime.fromtimestamp(jump, zone).time()), local(zone, jump)
    if zone_name in FIXED_ZONES:
        assert until - now <= 24 * 3600
    else:
        open_s = (_seconds(quiet.start) - _seconds(quiet.end)) % 86_400
        # a fall-back adds an hour; an open slot short enough to fall into a spring-forward
        # gap does not happen that day, and the next day's slot is the first one
        assert until - now <= (25 if open_s > 3600 else 49) * 3600


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@settings(max_examples=200, deadline=None)
@given(prefs=preferences, channel=st.sampled_from(list(Channel)), now=instants)
def test_quiet_hours_defer_and_never_suppress(
    prefs: Preferences, channel: Channel, now: float
) -> None:
    opted_in = prefs.with_channel(channel, True).with_category(Category.SOCIAL, True)
    decision = decide(opted_in, channel=channel, category=Category.SOCIAL, critical=False, now=now)
    assert isinstance(decision, (Send, Defer))


# ── validation ──────────────────────────────────────────────────────────────────────────


def test_quiet_hours_with_equal_start_and_end_are_rejected() -> None:
    with pytest.raises(InvalidArgument, match="different from start=22:00"):
        QuietHours(time(22), time(22))


@pytest.mark.parametrize("text", ["22-07", "22:00", "25:00-07:00", "", "22:00-07:00-08:00"])
def test_malformed_quiet_hours_text_is_rejected(text: str) -> None:
    with pytest.raises(InvalidArgument, match="HH:MM-HH:MM"):
        QuietHours.parse(text)


def test_quiet_hours_must_be_local_times_without_a_zone() -> None:
    with pytest.raises(InvalidArgument, match="naive"):
        QuietHours(time(22, tzinfo=UTC), time(7))


def test_an_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="IANA zone"):
        Preferences(time_zone="Mars/Olympus_Mons")


@pytest.mark.parametrize(
    "kw",
    [{"channel": "sms"}, {"category": "social"}, {"critical": 1}, {"now": float("nan")}],
)
def test_decide_rejects_arguments_of_the_wrong_type(kw: dict[str, object]) -> None:
    args: dict[str, object] = {
        "channel": Channel.SMS,
        "category": Category.SOCIAL,
        "critical": False,
        "now": 0.0,
        **kw,
    }
    with pytest.raises(InvalidArgument, match=f"{next(iter(kw))}="):
        decide(Preferences(), **args)  # type: ignore[arg-type]


FAR_PAST, FAR_FUTURE = -1e12, 1e12  # years -29719 and 33658: no calendar date exists
LAST_HOUR = datetime(9999, 12, 31, 23, tzinfo=UTC).timestamp()  # no tomorrow to end in


@pytest.mark.parametrize(
    "now",
    [FAR_PAST, FAR_FUTURE, LAST_HOUR, EARLIEST_NOW - 1.0, LATEST_NOW + 1.0, 1e18, -1e300],
)
@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/New_York"])
def test_a_now_beyond_the_calendar_is_an_invalid_argument_naming_the_range(
    now: float, zone: str
) -> None:
    prefs = Preferences(time_zone=zone, quiet_hours=QuietHours(time(0), time(23, 59)))
    with pytest.raises(InvalidArgument, match=r"now=.* is invalid: expected .*0001-01-02.*9999-12"):
        ask(prefs, now)
    with pytest.raises(InvalidArgument, match="now="):  # bad input, whichever rule decides
        ask(prefs, now, critical=True)
    with pytest.raises(InvalidArgument, match="now="):
        quiet_window_end(QuietHours(time(0), time(23, 59)), ZoneInfo(zone), now)


EXTREME_ZONES = ("UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Asia/Manila", "America/Sitka")


@pytest.mark.parametrize("zone", EXTREME_ZONES)
@pytest.mark.parametrize("now", [EARLIEST_NOW, LATEST_NOW], ids=["earliest", "latest"])
@pytest.mark.parametrize("window", ["00:00-23:59", "23:59-23:58", "12:00-11:00"])
def test_quiet_hours_work_at_both_ends_of_the_accepted_range(
    now: float, zone: str, window: str
) -> None:
    assert datetime.fromtimestamp(EARLIEST_NOW, UTC) == datetime(1, 1, 2, tzinfo=UTC)
    assert datetime.fromtimestamp(LATEST_NOW, UTC) == datetime(9999, 12, 28, tzinfo=UTC)
    quiet = QuietHours.parse(window)
    decision = ask(Preferences(time_zone=zone, quiet_hours=quiet), now)
    assert isinstance(decision, (Send, Defer))
    if isinstance(decision, Defer):
        assert decision.until > now


# ── persistence ─────────────────────────────────────────────────────────────────────────


def test_a_user_who_never_changed_settings_gets_the_defaults(
    settings_store: SettingsStore,
) -> None:
    assert settings_store.get("u1") == Preferences()


def test_toggles_and_quiet_hours_are_stored_per_user(settings_store: SettingsStore) -> None:
    settings_store.set_channel("u1", Channel.SMS, opted_in=False)
    settings_store.set_category("u1", Category.MARKETING, opted_in=True)
    settings_store.set_quiet_hours("u1", QuietHours.parse("23:00-06:30"), time_zone="Asia/Seoul")
    prefs = settings_store.get("u1")
    assert prefs.channels == frozenset(Channel) - {Channel.SMS}
    assert prefs.categories == frozenset(Category)
    assert (str(prefs.quiet_hours), prefs.time_zone) == ("23:00-06:30", "Asia/Seoul")
    assert settings_store.get("u2") == Preferences()


def test_clearing_quiet_hours_keeps_the_time_zone(settings_store: SettingsStore) -> None:
    settings_store.set_quiet_hours("u1", QuietHours.parse("22:00-07:00"), time_zone="Europe/Berlin")
    settings_store.set_quiet_hours("u1", None)
    prefs = settings_store.get("u1")
    assert prefs.quiet_hours is None and prefs.time_zone == "Europe/Berlin"


@settings(max_examples=50, deadline=None)
@given(prefs=preferences)
def test_save_then_get_returns_the_same_preferences(prefs: Preferences) -> None:
    store = SettingsStore(connect("memory", clock=FakeClock()).kv)
    store.save("u1", prefs)
    assert store.get("u1") == prefs
    store.save("u1", Preferences())
    assert store.get("u1") == Preferences()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.set_channel("u1", "fax", opted_in=False), "channel='fax'"),
        (lambda s: s.set_category("u1", Category.SOCIAL, opted_in="no"), "opted_in='no'"),
        (lambda s: s.set_quiet_hours("u1", None, time_zone="Nowhere/Land"), "time_zone"),
        (lambda s: s.set_quiet_hours("u1", "22:00-07:00"), "quiet="),
        (lambda s: s.set_channel("u{1}", Channel.SMS, opted_in=False), "user_id"),
        (lambda s: s.save("u1", {"channels": []}), "prefs="),
    ],
)
def test_bad_settings_are_rejected_and_nothing_is_written(
    settings_store: SettingsStore, call: object, match: str
) -> None:
    with pytest.raises(InvalidArgument, match=match):
        call(settings_store)  # type: ignore[operator]
    assert settings_store.get("u1") == Preferences()
