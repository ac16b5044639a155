"""Benchmarks (not tests): they print ratios measured within one run."""

DEFAULT_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"  # the local PostgreSQL of our machines
