"""``python -m benchmarks [--only NAME] [--scale X] [--json PATH]``: print every figure as ratios.

Each figure is shown as operations per second, as a multiple of the calibration loop (plain
dict stores on this machine), and, where one applies, as a ratio to its baseline. Quantities
that are not rates (commands or bytes per item, wall seconds of a burst) follow in a second
table, each in its unit and, where one applies, as a ratio to its baseline.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from benchmarks.harness import Figure, Quantity, calibrate

SUITES = ("ids", "storage", "notification", "feed")


def _print(figures: list[Figure], calibration: float) -> None:
    print(f"calibration loop: {calibration:,.0f} dict stores/s (= 1.0)")
    width = max([48, *(len(f.name) for f in figures)])
    print(f"{'figure':<{width}} {'ops/s':>12} {'x calib':>9}  {'vs baseline':<34} note")
    for f in figures:
        vs = f"{f.vs_baseline:.3g}x {f.baseline}" if f.vs_baseline is not None else ""
        print(f"{f.name:<{width}} {f.ops_per_s:>12,.0f} {f.vs_calibration:>9.3g}  {vs:<34} "
              f"{f.note}")


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _print_quantities(quantities: list[Quantity]) -> None:
    if not quantities:
        return
    print()
    width = max([54, *(len(q.name) for q in quantities)])
    print(f"{'quantity':<{width}} {'value':>8} {'unit':<13} {'vs baseline':<32} note")
    for q in quantities:
        vs = f"{q.vs_baseline:.3g}x {q.baseline}" if q.vs_baseline is not None else ""
        print(f"{q.name:<{width}} {_amount(q.value):>8} {q.unit:<13} {vs:<32} {q.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", choices=SUITES, action="append", help="run only these suites")
    parser.add_argument("--scale", type=float, default=1.0, help="workload size multiplier")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be > 0")
    calibration = calibrate()
    figures: list[Figure] = []
    quantities: list[Quantity] = []
    for suite in args.only or SUITES:
        module = importlib.import_module(f"benchmarks.bench_{suite}")
        print(f"running {suite} ...", file=sys.stderr, flush=True)
        for result in module.run(calibration, scale=args.scale):
            (quantities if isinstance(result, Quantity) else figures).append(result)
    _print(figures, calibration)
    _print_quantities(quantities)
    if not os.environ.get("REDIS_URL"):
        print("(set REDIS_URL=redis://127.0.0.1:6379/0 to add the real-Redis figures)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {"calibration_ops_per_s": calibration,
                 "figures": [f.as_dict() for f in figures],
                 "quantities": [q.as_dict() for q in quantities]},
                fh,
                indent=2,
            )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
