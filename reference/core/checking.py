"""The checker base (검사기 기반): named anomalies and the report every chapter's checker returns.

Each chapter judges a recorded history with an invariant checker (불변식 검사기): it reads what
happened, never the system's own counters, and names every broken promise as an
:class:`Anomaly`. The chapters differ only in *what* they can name and *what* they count, so a
chapter describes that once, in a :class:`CheckerSpec`, and every verdict is a
:class:`CheckReport` built from that spec:

- ``spec.kinds``: the anomaly kinds the checker can name, in the order its report lists them;
- ``spec.counted``: the items it counts while checking, as ``(key, label)`` pairs in the order
  the summary says them (``("acquisitions", "rate-limit acquisitions")``).

A report refuses an anomaly of a kind its spec does not know, and a count its spec does not
list (or one it lists but was not given): a typo in a checker fails loudly the first time it
runs, instead of hiding an anomaly under a name nobody looks for.

Examples
--------
A made-up checker for bank transfers: money leaves one account and must arrive in another,
exactly once.

>>> BANK = CheckerSpec(
...     kinds=("lost_money", "double_spend"),
...     counted=(("transfers", "transfers"), ("accounts", "accounts")),
... )
>>> def check_transfers(ledger):
...     anomalies, seen = [], set()
...     for transfer_id, debited, credited in ledger:
...         if credited < debited:
...             anomalies.append(Anomaly("lost_money", transfer_id,
...                                      f"debited {debited}, credited {credited}"))
...         if transfer_id in seen:
...             anomalies.append(Anomaly("double_spend", transfer_id, "applied twice"))
...         seen.add(transfer_id)
...     return CheckReport(BANK, tuple(anomalies), {"transfers": len(ledger), "accounts": 2})
>>> print(check_transfers([("t1", 50, 50), ("t2", 20, 20)]).summary())
checked 2 transfers, 2 accounts: no anomaly
>>> report = check_transfers([("t1", 50, 50), ("t2", 20, 0), ("t1", 50, 50)])
>>> report.ok, report.counts
(False, {'lost_money': 1, 'double_spend': 1})
>>> print(report.summary())
checked 3 transfers, 2 accounts: 2 anomalies
  lost_money   1
  double_spend 1
  - lost_money t2: debited 20, credited 0
  - double_spend t1: applied twice
>>> report.of_kind("double_spend")
(Anomaly(kind='double_spend', subject='t1', detail='applied twice'),)
>>> CheckReport(BANK, (Anomaly("stolen", "t3", "?"),), {"transfers": 3, "accounts": 2})
Traceback (most recent call last):
...
reference.core.errors.InvalidArgument: anomalies[0].kind='stolen' is invalid: expected one of ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from reference.core.checks import check_int
from reference.core.errors import InvalidArgument

__all__ = ["Anomaly", "CheckReport", "CheckerSpec"]


@dataclass(frozen=True, slots=True, order=True)
class Anomaly:
    """One broken promise: its ``kind`` (one of the checker's :attr:`CheckerSpec.kinds`), the
    ``subject`` it is about (a notification id, a user, ``user|channel``, ...), and a readable
    ``detail``."""

    kind: str
    subject: str
    detail: str


def _names(name: str, value: object) -> tuple[str, ...]:
    """A non-empty tuple of distinct, non-empty strings."""
    if (not isinstance(value, tuple) or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
            or len(set(value)) != len(value)):
        raise InvalidArgument.bad_value(name, value, "a non-empty tuple of distinct names")
    return value


@dataclass(frozen=True, slots=True)
class CheckerSpec:
    """What one chapter's checker can name and what it counts.

    Parameters
    ----------
    kinds : tuple of str
        The anomaly kinds, distinct, in the order reports list them.
    counted : tuple of (str, str)
        The items the checker counts, as ``(key, label)`` pairs with distinct keys, in the
        order the summary says them: ``checked 3 <label>, 2 <label>``.

    Raises
    ------
    InvalidArgument
        If ``kinds`` or ``counted`` is empty, not a tuple, holds a blank or repeated name,
        or a ``counted`` item is not a ``(key, label)`` pair of strings.

    Examples
    --------
    >>> CheckerSpec(kinds=("lost_money",), counted=(("transfers", "bank transfers"),)).keys
    ('transfers',)
    >>> CheckerSpec(kinds=("lost", "lost"), counted=(("items", "items"),))
    Traceback (most recent call last):
    ...
    reference.core.errors.InvalidArgument: kinds=('lost', 'lost') is invalid: expected a ...
    """

    kinds: tuple[str, ...]
    counted: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        _names("kinds", self.kinds)
        if not isinstance(self.counted, tuple) or not all(
                isinstance(item, tuple) and len(item) == 2 for item in self.counted):
            raise InvalidArgument.bad_value("counted", self.counted,
                                            "a non-empty tuple of (key, label) pairs")
        _names("counted keys", self.keys)
        _names("counted labels", tuple(label for _, label in self.counted))

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of the counted items, in order."""
        return tuple(key for key, _ in self.counted)


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The verdict of one check: every anomaly found, counts per kind, and how much history
    was checked.

    Parameters
    ----------
    spec : CheckerSpec
        What the checker can name and count.
    anomalies : tuple of Anomaly
        Every anomaly found, in any order: the report keeps them sorted by kind (in
        ``spec.kinds`` order), then subject, then detail, so the same history always gives
        the same text.
    checked : dict of str to int
        How many of each counted item were checked: exactly the keys of ``spec.counted``.

    Attributes
    ----------
    counts : dict of str to int
        The number of anomalies per kind, every kind present (zeros included), in kind order.

    Raises
    ------
    InvalidArgument
        If an anomaly is not an :class:`Anomaly` or has a kind ``spec`` does not know, or if
        ``checked`` misses a counted key, has one ``spec`` does not list, or holds a count
        that is not an integer >= 0. Nothing is built.

    Notes
    -----
    Building a report is O(a log a + k) for ``a`` anomalies and ``k`` kinds. Two reports are
    equal when their specs and anomalies are (the counts follow from the anomalies).
    """

    spec: CheckerSpec = field(repr=False)
    anomalies: tuple[Anomaly, ...]
    checked: dict[str, int] = field(compare=False)
    counts: dict[str, int] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        spec = self.spec
        if not isinstance(spec, CheckerSpec):
            raise InvalidArgument.bad_value("spec", spec, "a CheckerSpec")
        order = {kind: i for i, kind in enumerate(spec.kinds)}
        if not isinstance(self.anomalies, Iterable):
            raise InvalidArgument.bad_value("anomalies", self.anomalies, "a tuple of Anomaly")
        found = tuple(self.anomalies)
        for i, anomaly in enumerate(found):
            if not isinstance(anomaly, Anomaly):
                raise InvalidArgument.bad_value(f"anomalies[{i}]", anomaly,
                                                "an Anomaly(kind, subject, detail)")
            if anomaly.kind not in order:
                raise InvalidArgument.bad_value(f"anomalies[{i}].kind", anomaly.kind,
                                                f"one of {spec.kinds}")
        counts = dict.fromkeys(spec.kinds, 0)
        for anomaly in found:
            counts[anomaly.kind] += 1
        # The dataclass is frozen: its own __post_init__ stores the normalized fields.
        object.__setattr__(self, "anomalies", tuple(sorted(
            found, key=lambda a: (order[a.kind], a.subject, a.detail))))
        object.__setattr__(self, "checked", _checked(spec, self.checked))
        object.__setattr__(self, "counts", counts)

    @property
    def ok(self) -> bool:
        """True when no anomaly was found."""
        return not self.anomalies

    def of_kind(self, kind: str) -> tuple[Anomaly, ...]:
        """The anomalies of one kind (in report order).

        Raises
        ------
        InvalidArgument
            If ``kind`` is not one of the spec's kinds (a typo would otherwise read as
            "none found").
        """
        if kind not in self.spec.kinds:
            raise InvalidArgument.bad_value("kind", kind, f"one of {self.spec.kinds}")
        return tuple(a for a in self.anomalies if a.kind == kind)

    def summary(self, limit: int = 10) -> str:
        """Deterministic text for notebooks and failure messages.

        The first line says what was checked and the verdict; when anomalies were found, a
        line per kind that occurred gives its count, then the first ``limit`` anomalies
        follow, and a last line says how many more there are.

        Raises
        ------
        InvalidArgument
            If ``limit`` is not an integer >= 0.
        """
        check_int("limit", limit, 0)
        head = "checked " + ", ".join(
            f"{self.checked[key]} {label}" for key, label in self.spec.counted)
        if self.ok:
            return f"{head}: no anomaly"
        width = max(len(kind) for kind in self.spec.kinds) + 1
        lines = [f"{head}: {len(self.anomalies)} anomalies"]
        lines += [f"  {kind:<{width}}{n}" for kind, n in self.counts.items() if n]
        lines += [f"  - {a.kind} {a.subject}: {a.detail}" for a in self.anomalies[:limit]]
        if len(self.anomalies) > limit:
            lines.append(f"  ... ({len(self.anomalies) - limit} more)")
        return "\n".join(lines)


def _checked(spec: CheckerSpec, checked: object) -> dict[str, int]:
    """``checked`` in ``spec.counted`` order, or InvalidArgument naming the key at fault."""
    if not isinstance(checked, Mapping):
        raise InvalidArgument.bad_value("checked", checked,
                                        f"a dict with a count for each of {spec.keys}")
    for key in checked:
        if key not in spec.keys:
            raise InvalidArgument.bad_value(
                "checked", dict(checked), f"a count for each of {spec.keys} and nothing else "
                f"({key!r} is not counted by this checker)")
    for key in spec.keys:
        if key not in checked:
            raise InvalidArgument.bad_value(
                "checked", dict(checked), f"a count for each of {spec.keys} ({key!r} is missing)")
    return {key: check_int(f"checked[{key!r}]", checked[key], 0) for key in spec.keys}
