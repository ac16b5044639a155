"""The quota engine: declared per-model limits, a shared ledger, routing with fallback, 429 reading.

Plain Python on purpose (no Dagster imports) so the benchmark and any process can use it.
"""
