"""Throughput benchmarks for the lab (``python -m benchmarks``), reported as ratios."""
