"""A realistic sample upload (`sample_elections.xlsx`) and the script that makes it."""

from pathlib import Path

SAMPLE_XLSX = Path(__file__).parent / "sample_elections.xlsx"
