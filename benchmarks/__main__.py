"""``python -m benchmarks [--only NAME] [--scale X] [--json PATH]``: print every figure as ratios.

Each figure is shown as operations per second, as a multiple of the calibration loop (plain
dict stores on this machine), and, where one applies, as a ratio to its baseline.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from benchmarks.harness import Figure, calibrate

SUITES = ("ids", "storage", "notification")


def _print(figures: list[Figure], calibration: float) -> None:
    print(f"calibration loop: {calibration:,.0f} dict stores/s (= 1.0)")
    print(f"{'figure':<48} {'ops/s':>12} {'x calib':>9}  {'vs baseline':<34} note")
    for f in figures:
        vs = f"{f.vs_baseline:.3g}x {f.baseline}" if f.vs_baseline is not None else ""
        print(f"{f.name:<48} {f.ops_per_s:>12,.0f} {f.vs_calibration:>9.3g}  {vs:<34} {f.note}")


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
    for suite in args.only or SUITES:
        module = importlib.import_module(f"benchmarks.bench_{suite}")
        print(f"running {suite} ...", file=sys.stderr, flush=True)
        figures.extend(module.run(calibration, scale=args.scale))
    _print(figures, calibration)
    if not os.environ.get("REDIS_URL"):
        print("(set REDIS_URL=redis://127.0.0.1:6379/0 to add the real-Redis figures)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {"calibration_ops_per_s": calibration, "figures": [f.as_dict() for f in figures]},
                fh,
                indent=2,
            )
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
