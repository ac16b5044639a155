"""The Dagster pipeline: upload partitions, per-batch model stages, records and the workbook."""
