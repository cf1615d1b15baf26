"""The chapter-11 notebook's experiments: seeded, honest about what they count, and their
results say what the chapter claims."""

from __future__ import annotations

import pytest

from reference.core.clock import FakeClock
from reference.core.errors import InvalidArgument
from reference.feed.experiments import (
    START_S,
    TIER_TABLE,
    RoundTripMeter,
    fanout_experiment,
    feed_shape_experiment,
    lost_node_experiment,
    offset_pages,
    pagination_experiment,
    percentile,
    threshold_sweep,
    tier_experiment,
)
from reference.feed.system import NewsFeedSystem
from reference.storage import connect

SMALL = {"users": 300, "posts": 40, "readers": 40}


def _fill(system: NewsFeedSystem) -> None:
    for name in ("ada", "bob", "cyd"):
        system.register_user(name, name=name.title())
    system.follow("ada", "bob")
    system.follow("ada", "cyd")
    for n in range(5):
        system.publish("bob", f"bob {n}")
        system.publish("cyd", f"cyd {n}")
    system.run_until_idle()


@pytest.mark.parametrize("mode", ["push", "pull"])
def test_the_meter_counts_exactly_the_round_trips_fakeredis_records(mode: str) -> None:
    """The notebook reports metered calls as Redis round trips: on fakeredis they agree."""
    meter = RoundTripMeter(connect("fakeredis", clock=FakeClock(start=START_S)))
    system = NewsFeedSystem.create(meter.store, seed=1, mode=mode)  # type: ignore[arg-type]
    _fill(system)
    for _ in range(2):  # a rebuild, then a cached read
        meter.reset()
        with meter.store.record_commands() as recorded:
            system.feed("ada")
        assert meter.total() == recorded.round_trips > 0


def test_the_meter_counts_every_key_of_a_multi_key_call() -> None:
    meter = RoundTripMeter(connect("memory", clock=FakeClock(start=START_S)))
    meter.store.id_timeline.newest_many(["posts:{a}", "posts:{b}", "posts:{c}"], limit=5)
    assert meter.total() == 1
    assert meter.keys["posts"] == 3
    assert meter.by_kind() == {"posts": 1}


def test_a_fanout_experiment_is_reproducible_from_its_seed() -> None:
    assert fanout_experiment("hybrid", threshold=50, seed=3, **SMALL) == fanout_experiment(
        "hybrid", threshold=50, seed=3, **SMALL)


def test_push_pays_at_write_time_and_pull_at_read_time() -> None:
    push = fanout_experiment("push", **SMALL)
    pull = fanout_experiment("pull", **SMALL)
    hybrid = fanout_experiment("hybrid", threshold=50, **SMALL)
    assert push.writes_per_post > hybrid.writes_per_post > pull.writes_per_post == 0.0
    assert pull.post_lists_per_load > hybrid.post_lists_per_load > push.post_lists_per_load
    assert pull.round_trips_per_load > push.round_trips_per_load
    assert push.pulled_authors == ()
    assert hybrid.pulled_authors and all(
        d.seconds == 0.0 for d in hybrid.deliveries if d.author in hybrid.pulled_authors)


def test_a_celebritys_post_delays_the_posts_queued_behind_it_under_push_only() -> None:
    push = fanout_experiment("push", celebrity_posts=2, **SMALL)
    hybrid = fanout_experiment("hybrid", threshold=50, celebrity_posts=2, **SMALL)
    celebrity = max(push.deliveries, key=lambda d: d.followers)
    assert celebrity.seconds > 0
    behind = [d for d in push.deliveries
              if celebrity.published_s < d.published_s < celebrity.published_s + 1.0]
    assert behind and all(d.seconds > 0 for d in behind)
    assert hybrid.visible_after_s(100) < push.visible_after_s(100)


def test_pull_and_push_deliver_the_same_posts_and_only_the_feed_cache_differs() -> None:
    push = fanout_experiment("push", **SMALL)
    pull = fanout_experiment("pull", **SMALL)
    assert {d.post_id for d in push.deliveries} == {d.post_id for d in pull.deliveries}
    assert push.feed_entries > pull.feed_entries  # pull adds nothing after the rebuilds


def test_raising_the_threshold_trades_reads_for_writes() -> None:
    sweep = threshold_sweep([0, 25, 100, None], **SMALL)
    writes = [r.writes_per_post for r in sweep.results]
    lists = [r.post_lists_per_load for r in sweep.results]
    assert writes == sorted(writes)
    assert lists == sorted(lists, reverse=True)
    assert [r.mode for r in sweep.results] == ["pull", "hybrid", "hybrid", "push"]
    assert sweep.at(None) is sweep.results[-1]
    with pytest.raises(InvalidArgument):
        sweep.at(7)


@pytest.mark.parametrize("bad", [{"users": 3}, {"posts": 0}, {"posts_per_s": 0},
                                 {"active_share": 1.5}, {"chunk": 0},
                                 {"celebrity_posts": 50}])
def test_a_fanout_experiment_refuses_bad_options(bad: dict[str, float]) -> None:
    with pytest.raises(InvalidArgument):
        fanout_experiment("push", **{**SMALL, **bad})  # type: ignore[arg-type]


def test_the_hot_part_saves_database_reads_when_the_normal_part_churns() -> None:
    on = tier_experiment(users=150, reads=400)
    off = tier_experiment(hot_after_reads=10**9, users=150, reads=400)
    assert on.content_hit_rate > off.content_hit_rate
    assert on.post_db_reads < off.post_db_reads
    assert off.hit_rate("content.hot") == 0.0
    for part in ("feed", "graph.following", "counter.like", "action.like", "users.profiles"):
        assert on.hit_rate(part) == off.hit_rate(part)  # the other tiers see the same load


def test_with_room_for_every_post_the_hot_part_changes_little() -> None:
    on = tier_experiment(content_capacity=5_000, users=150, reads=400)
    off = tier_experiment(content_capacity=5_000, hot_after_reads=10**9, users=150, reads=400)
    assert abs(on.content_hit_rate - off.content_hit_rate) < 0.01


def test_the_tier_report_follows_the_notes_cache_table() -> None:
    result = tier_experiment(users=60, reads=100)
    rows = result.rows()
    assert [tier for tier, _, _ in TIER_TABLE] == [
        "news feed", "content", "social graph", "action", "counters", "users"]
    assert {korean for _, korean, *_ in rows} >= {"뉴스 피드", "콘텐츠", "소셜 그래프", "행동",
                                                  "횟수"}
    assert [row[3] for row in rows][:3] == ["뉴스 피드", "인기 콘텐츠", "일반 콘텐츠"]
    assert all(rate is None or 0.0 <= rate <= 1.0 for *_, rate, _ in rows)
    assert len(rows) == sum(len(members) for _, _, members in TIER_TABLE)


def test_the_sorted_timeline_writes_one_command_a_feed_and_keeps_no_duplicate() -> None:
    sorted_ = feed_shape_experiment("sorted", users=40, posts=10)
    capped = feed_shape_experiment("list", users=40, posts=10)
    assert (sorted_.commands_per_write, capped.commands_per_write) == (1.0, 2.0)
    assert dict(sorted_.write_commands) == {"EVALSHA": sorted_.feed_writes}
    assert dict(capped.write_commands) == {"LPUSHX": capped.feed_writes,
                                           "LTRIM": capped.feed_writes}
    for shape in (sorted_, capped):  # a rebuild is a few calls, not one per entry
        assert shape.rebuild_round_trips - shape.read_round_trips < 5
    assert sorted_.read_round_trips == capped.read_round_trips
    assert sorted_.duplicate_entries == 0 < capped.duplicate_entries


def test_pages_by_cursor_never_skip_or_repeat_but_pages_by_offset_do() -> None:
    result = pagination_experiment()
    assert result.repeated["cursor"] == result.skipped["cursor"] == ()
    assert len(result.repeated["offset"]) == 3  # Bob's three new posts pushed them down
    assert len(result.skipped["offset"]) == 2  # two deleted posts pulled them up
    cursor = [p for page in result.pages["cursor"] for p in page]
    assert cursor == sorted(cursor, reverse=True)
    assert result.named("cursor")[0][0] == "Dee #5"


def test_an_offset_page_is_a_slice_of_the_whole_feed() -> None:
    system = NewsFeedSystem.create(connect("memory", clock=FakeClock(start=START_S)), seed=2,
                                   mode="push")
    _fill(system)
    whole = system.feed("ada", limit=200).post_ids
    assert offset_pages(system, "ada", page=1, limit=3) == whole[3:6]


def test_a_lost_node_wipes_about_a_quarter_of_the_feeds_and_only_those_are_rebuilt() -> None:
    lost = lost_node_experiment(users=300)
    assert lost.nodes == 4
    assert 0.1 < lost.share_wiped < 0.45
    assert lost.rebuilds_after - lost.rebuilds_before == lost.feeds_wiped
    assert lost.post_lists_after > lost.post_lists_before


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert percentile([5.0, 1.0, 3.0], 100) == 5.0
    assert percentile([], 50) == 0.0
    with pytest.raises(InvalidArgument):
        percentile([1.0], 101)
