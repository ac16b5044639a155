"""Benchmarks (not tests): they print ratios measured within one run."""
