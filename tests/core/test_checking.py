"""The checker base: a spec names a chapter's anomaly kinds and counted items, and a report
refuses what its spec does not know, orders what it holds, and prints the same text every time."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from reference.core.checking import Anomaly, CheckerSpec, CheckReport
from reference.core.errors import InvalidArgument

BANK = CheckerSpec(
    kinds=("lost_money", "double_spend", "overdraft"),
    counted=(("transfers", "transfers"), ("accounts", "bank accounts")),
)
CHECKED = {"transfers": 5, "accounts": 2}
LOST = Anomaly("lost_money", "t2", "debited 20, credited 0")
TWICE = Anomaly("double_spend", "t1", "applied twice")


def report(*anomalies: Anomaly) -> CheckReport:
    return CheckReport(BANK, anomalies, CHECKED)


# ── the verdict ─────────────────────────────────────────────────────────────────────────


def test_a_report_without_anomalies_is_ok_and_counts_zero_for_every_kind() -> None:
    clean = report()
    assert clean.ok
    assert clean.anomalies == ()
    assert clean.counts == {"lost_money": 0, "double_spend": 0, "overdraft": 0}


def test_a_report_with_an_anomaly_is_not_ok() -> None:
    assert not report(LOST).ok


def test_counts_hold_every_kind_in_spec_order_whatever_order_anomalies_come_in() -> None:
    counts = report(TWICE, LOST, Anomaly("double_spend", "t4", "applied twice")).counts
    assert list(counts) == ["lost_money", "double_spend", "overdraft"]
    assert counts == {"lost_money": 1, "double_spend": 2, "overdraft": 0}


def test_anomalies_are_kept_in_kind_order_then_subject_then_detail() -> None:
    late = Anomaly("lost_money", "t9", "a")
    early = Anomaly("lost_money", "t1", "b")
    same_subject = Anomaly("lost_money", "t1", "a")
    found = report(TWICE, late, early, same_subject).anomalies
    assert found == (same_subject, early, late, TWICE)


def test_a_report_accepts_anomalies_from_any_iterable() -> None:
    assert CheckReport(BANK, [LOST], CHECKED).anomalies == (LOST,)  # type: ignore[arg-type]


def test_checked_holds_the_counted_items_in_spec_order() -> None:
    made = CheckReport(BANK, (), {"accounts": 2, "transfers": 5})
    assert list(made.checked.items()) == [("transfers", 5), ("accounts", 2)]


def test_reports_are_equal_when_their_specs_and_anomalies_are() -> None:
    assert report(LOST, TWICE) == report(TWICE, LOST)
    assert report(LOST) != report(TWICE)
    assert hash(report(LOST, TWICE)) == hash(report(TWICE, LOST))


def test_a_report_and_its_anomalies_are_frozen() -> None:
    made = report(LOST)
    with pytest.raises(FrozenInstanceError):
        made.anomalies = ()  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        LOST.kind = "overdraft"  # type: ignore[misc]


def test_anomalies_order_by_kind_then_subject_then_detail() -> None:
    assert sorted([TWICE, LOST]) == [TWICE, LOST]  # "double_spend" < "lost_money"


# ── of_kind ─────────────────────────────────────────────────────────────────────────────


def test_of_kind_gives_the_anomalies_of_that_kind_only() -> None:
    other = Anomaly("lost_money", "t3", "debited 5, credited 4")
    made = report(LOST, TWICE, other)
    assert made.of_kind("lost_money") == (LOST, other)
    assert made.of_kind("double_spend") == (TWICE,)
    assert made.of_kind("overdraft") == ()


def test_of_kind_refuses_an_unknown_kind_and_names_the_valid_ones() -> None:
    with pytest.raises(InvalidArgument, match=r"kind='lost_mony'.*'lost_money', 'double_spend'"):
        report(LOST).of_kind("lost_mony")


# ── summary ─────────────────────────────────────────────────────────────────────────────


def test_a_clean_summary_is_one_line_listing_every_counted_item_by_its_label() -> None:
    assert report().summary() == "checked 5 transfers, 2 bank accounts: no anomaly"


def test_a_summary_lists_the_counts_that_occurred_then_the_anomalies() -> None:
    assert report(TWICE, LOST).summary() == "\n".join([
        "checked 5 transfers, 2 bank accounts: 2 anomalies",
        "  lost_money   1",
        "  double_spend 1",
        "  - lost_money t2: debited 20, credited 0",
        "  - double_spend t1: applied twice",
    ])


def test_a_summary_aligns_counts_one_space_past_the_longest_kind_name() -> None:
    wide = CheckerSpec(kinds=("a", "a_much_longer_kind"), counted=(("items", "items"),))
    text = CheckReport(wide, (Anomaly("a", "x", "y"),), {"items": 1}).summary()
    assert text.splitlines()[1] == "  a" + " " * 18 + "1"


def test_a_summary_shows_at_most_limit_anomalies_and_says_how_many_more() -> None:
    many = [Anomaly("overdraft", f"acct-{i}", "balance below zero") for i in range(5)]
    lines = report(*many).summary(limit=2).splitlines()
    assert lines[0] == "checked 5 transfers, 2 bank accounts: 5 anomalies"
    assert lines[1] == "  overdraft    5"
    assert lines[2:] == [
        "  - overdraft acct-0: balance below zero",
        "  - overdraft acct-1: balance below zero",
        "  ... (3 more)",
    ]


def test_a_summary_with_limit_zero_keeps_the_counts_and_lists_no_anomaly() -> None:
    assert report(LOST).summary(limit=0).splitlines()[-1] == "  ... (1 more)"
    assert report(LOST).summary(limit=1) == report(LOST).summary()


def test_a_summary_refuses_a_negative_or_non_integer_limit() -> None:
    for bad in (-1, 2.5, True):
        with pytest.raises(InvalidArgument, match="limit="):
            report(LOST).summary(limit=bad)  # type: ignore[arg-type]


def test_the_summary_is_the_same_text_for_the_same_anomalies_in_any_order() -> None:
    assert report(LOST, TWICE).summary() == report(TWICE, LOST).summary()


# ── refusals: nothing is built ──────────────────────────────────────────────────────────


def test_a_report_refuses_an_anomaly_of_an_unknown_kind() -> None:
    with pytest.raises(InvalidArgument, match=r"anomalies\[1\].kind='stolen'.*'overdraft'"):
        report(LOST, Anomaly("stolen", "t3", "?"))


def test_a_report_refuses_something_that_is_not_an_anomaly() -> None:
    with pytest.raises(InvalidArgument, match=r"anomalies\[0\]=.*expected an Anomaly"):
        CheckReport(BANK, (("lost_money", "t1", "x"),), CHECKED)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="anomalies=None"):
        CheckReport(BANK, None, CHECKED)  # type: ignore[arg-type]


def test_a_report_refuses_a_checked_count_key_it_does_not_know() -> None:
    with pytest.raises(InvalidArgument, match="'branches' is not counted by this checker"):
        CheckReport(BANK, (), {**CHECKED, "branches": 1})


def test_a_report_refuses_checked_counts_missing_a_counted_item() -> None:
    with pytest.raises(InvalidArgument, match="'accounts' is missing"):
        CheckReport(BANK, (), {"transfers": 5})


def test_a_report_refuses_a_checked_count_that_is_not_a_whole_number_at_least_zero() -> None:
    for bad in (-1, 1.5, True, "5"):
        with pytest.raises(InvalidArgument, match=r"checked\['transfers'\]="):
            CheckReport(BANK, (), {"transfers": bad, "accounts": 2})  # type: ignore[dict-item]


def test_a_report_refuses_checked_that_is_not_a_mapping() -> None:
    with pytest.raises(InvalidArgument, match="checked="):
        CheckReport(BANK, (), [("transfers", 5), ("accounts", 2)])  # type: ignore[arg-type]


def test_a_report_refuses_a_spec_that_is_not_a_checker_spec() -> None:
    with pytest.raises(InvalidArgument, match="spec="):
        CheckReport(("lost_money",), (), CHECKED)  # type: ignore[arg-type]


# ── the spec ────────────────────────────────────────────────────────────────────────────


def test_a_spec_lists_its_counted_keys_in_order() -> None:
    assert BANK.keys == ("transfers", "accounts")


@pytest.mark.parametrize("kinds", [(), ("lost", "lost"), ("lost", " "), ["lost"], ("lost", 3)])
def test_a_spec_refuses_kinds_that_are_not_distinct_non_empty_names(kinds: object) -> None:
    with pytest.raises(InvalidArgument, match="kinds="):
        CheckerSpec(kinds=kinds, counted=(("items", "items"),))  # type: ignore[arg-type]


@pytest.mark.parametrize("counted", [
    (), (("items",),), ("items",), [("items", "items")], (("items", "a"), ("items", "b")),
    (("items", ""),), (("items", 3),),
])
def test_a_spec_refuses_counted_items_that_are_not_distinct_key_label_pairs(
    counted: object,
) -> None:
    with pytest.raises(InvalidArgument, match="counted"):
        CheckerSpec(kinds=("lost",), counted=counted)  # type: ignore[arg-type]
