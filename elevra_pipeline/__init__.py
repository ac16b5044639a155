"""Elevra spreadsheet ingestion: uploads -> Gemini analysis -> structured records -> result workbook."""
