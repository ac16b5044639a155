"""`elevra-pipeline bench intake`: rows per second and peak memory of reading and batching an upload.

Synthetic state-board-shaped lists (3 candidates per contest, 12 columns) of 5,000 and 50,000 rows,
as CSV and as .xlsx, each read by the same `read_upload` + `group_rows` the pipeline runs. Growth is
linear when the 50k / 5k ratios of time and of peak memory are both about 10.
"""

import csv
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from openpyxl import Workbook

from elevra_pipeline.intake.batching import group_rows
from elevra_pipeline.intake.reader import read_upload

HEADER = [
    "election_dt",
    "county_name",
    "contest_name",
    "name_on_ballot",
    "first_name",
    "last_name",
    "party_candidate",
    "vote_for",
    "term",
    "candidacy_dt",
    "is_partisan",
    "has_primary",
]
COUNTIES = ["ALAMANCE", "BUNCOMBE", "CUMBERLAND", "DURHAM", "FORSYTH", "GUILFORD", "MECKLENBURG", "WAKE"]


def synthetic_rows(count: int):
    for i in range(count):
        contest = i // 3
        first, last = f"First{i}", f"Last{i % 997}"
        yield [
            "11/04/2025",
            COUNTIES[contest % len(COUNTIES)],
            f"TOWN OF PLACE{contest} COUNCIL MEMBER",
            f"{first} {last}",
            first.upper(),
            last.upper(),
            ["DEM", "REP", "UNA", ""][i % 4],
            "3",
            "4",
            "07/11/2025",
            "FALSE",
            "FALSE",
        ]


def write_file(folder: Path, count: int, kind: str) -> Path:
    path = folder / f"list_{count}.{kind}"
    if kind == "csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
            writer.writerow(HEADER)
            writer.writerows(synthetic_rows(count))
    else:
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Candidates")
        sheet.append(HEADER)
        for row in synthetic_rows(count):
            sheet.append(row)
        book.save(path)
    return path


def measure(path: Path) -> dict:
    """Time on a plain run; peak memory on a second run under tracemalloc (which slows Python down)."""
    started = time.perf_counter()
    parsed = read_upload(path)
    batches = group_rows(parsed.rows)
    seconds = time.perf_counter() - started
    rows = len(parsed.rows)
    del parsed
    tracemalloc.start()
    group_rows(read_upload(path).rows)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "rows": rows,
        "batches": len(batches),
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds),
        "peak_mb": round(peak / 1024 / 1024, 1),
    }


def run(sizes=(5_000, 50_000), kinds=("csv", "xlsx"), say=print) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for kind in kinds:
            for size in sizes:
                result = measure(write_file(Path(folder), size, kind))
                results[f"{kind}_{size}"] = result
                say(
                    f"{kind:5} {size:>7,} rows: {result['seconds']:7.2f} s  {result['rows_per_second']:>8,} rows/s  "
                    f"peak {result['peak_mb']:7.1f} MB  ({result['batches']:,} batches)"
                )
            small, large = results[f"{kind}_{sizes[0]}"], results[f"{kind}_{sizes[-1]}"]
            results[f"{kind}_ratio"] = {
                "rows": sizes[-1] / sizes[0],
                "time": round(large["seconds"] / small["seconds"], 2),
                "peak_memory": round(large["peak_mb"] / max(small["peak_mb"], 0.1), 2),
            }
            r = results[f"{kind}_ratio"]
            say(
                f"{kind:5} {sizes[-1] // sizes[0]}x the rows: {r['time']}x the time, "
                f"{r['peak_memory']}x the peak memory "
                "(linear growth: both near the row ratio)"
            )
    say(json.dumps(results))
    return results
