"""Turning an uploaded spreadsheet into clean rows grouped into election batches."""
