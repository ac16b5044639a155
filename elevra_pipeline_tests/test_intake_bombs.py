"""Small files built to take gigabytes are refused with a reason the uploader can act on.

Each bomb of the hostile-intake benchmark (`bench.bombs`), scaled down, with limits tightened to match
so each test takes well under a second: what counts is what the file would make the reader hold
(blank rows skipped, blanks padding a row to its last value, merged ranges, shared strings, sheets),
not the cells it lists. A normal list, and one with a stray value far down, still read the same.
"""

from pathlib import Path

import pytest

from elevra_pipeline.bench import bombs
from elevra_pipeline.bench.hostile_intake import read_in_child
from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.limits import IntakeLimits
from elevra_pipeline.intake.reader import read_upload


def refused(path: Path, limits: IntakeLimits) -> str:
    with pytest.raises(UnusableUploadError) as caught:
        read_upload(path, limits=limits)
    return str(caught.value)


def test_more_sheets_than_the_limit_are_refused_before_any_is_read(tmp_path):
    reason = refused(bombs.many_sheets(tmp_path / "b.xlsx", sheets=6, row=10), IntakeLimits(max_sheets=5))
    assert "has more than 5 sheets" in reason and "keep only the sheets with candidates" in reason


def test_the_team_sets_the_sheet_shared_string_and_text_limits_at_wiring(tmp_path, monkeypatch):
    from elevra_pipeline.defs.resources import AppResource
    from elevra_pipeline.settings import Settings

    for name, value in (("SHEETS", "5"), ("SHARED_STRINGS", "70000"), ("TEXT_CHARS", "9000000")):
        monkeypatch.setenv(f"ELEVRA_INTAKE_MAX_{name}", value)
    limits = AppResource.from_settings(Settings.from_env()).intake_limits()
    assert (limits.max_sheets, limits.max_shared_strings, limits.max_text_chars) == (5, 70_000, 9_000_000)
    assert limits.max_rows == IntakeLimits().max_rows  # the others keep intake's defaults
    assert "has more than 5 sheets" in refused(bombs.many_sheets(tmp_path / "b.xlsx", sheets=6, row=10), limits)


def test_rows_skipped_before_a_far_value_count_as_cells(tmp_path):
    reason = refused(bombs.many_sheets(tmp_path / "b.xlsx", sheets=3, row=2_000), IntakeLimits(max_cells=5_000))
    assert "spans more than 5,000 cells" in reason and "the empty rows between values" in reason
    assert "of sheet 'S3'" in reason  # two sheets of 2,000 rows fit, the third does not


def test_a_row_counts_as_wide_as_its_last_value(tmp_path):
    path = bombs.far_column(tmp_path / "b.xlsx", sheets=1, rows=100, column=999)
    reason = refused(path, IntakeLimits(max_cells=50_000))
    assert "spans more than 50,000 cells" in reason and "a row reaching column ALK" in reason
    assert "Delete the unused rows and columns" in reason


def test_a_false_small_dimension_does_not_hide_the_rows(tmp_path):
    path = bombs.false_dimension(tmp_path / "b.xlsx", rows=2_000, column=5, dimension="A1:D3")
    reason = refused(path, IntakeLimits(max_rows=1_000))
    assert "sheet 'S1' spans at least" in reason and "above the limit of 1,000 rows" in reason


def test_a_merged_range_counts_every_cell_it_covers(tmp_path):
    reason = refused(bombs.merged_range(tmp_path / "b.xlsx", row=2_000, columns=50), IntakeLimits(max_cells=50_000))
    assert "the merged range A1:AX2000" in reason


@pytest.mark.parametrize(
    "strings, limits, message",
    [
        (["<si><t>x</t></si>"] * 1_001, IntakeLimits(max_shared_strings=1_000), "more than 1,000 texts"),
        (["<x/>"] * 1_001, IntakeLimits(max_shared_strings=1_000), "more than 1,000 texts"),
        ([f"<si><t>{'y' * 600}</t></si>"] * 2, IntakeLimits(max_text_chars=1_000), "more than 1,000 characters"),
        ([f"<si>{'<r><t>z</t></r>' * 6_000}</si>"], IntakeLimits(), "one text made of more than"),
    ],
    ids=["strings", "other elements", "characters", "pieces"],
)
def test_the_shared_string_table_is_measured_before_it_is_loaded(tmp_path, strings, limits, message):
    path = bombs.write_workbook(tmp_path / "b.xlsx", [bombs._sheet([])], strings=strings)
    reason = refused(path, limits)
    assert message in reason and "shared strings" in reason and "save it as a new workbook" in reason


def test_a_text_repeated_in_many_cells_counts_each_time(tmp_path):
    cells = (f'<row r="{r}"><c r="C{r}" t="s"><v>0</v></c></row>' for r in range(4, 200))
    path = bombs.write_workbook(tmp_path / "b.xlsx", [bombs._sheet(cells)], strings=[f"<si><t>{'a b ' * 500}</t></si>"])
    assert "characters of cell text" in refused(path, IntakeLimits(max_text_chars=100_000))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda p: bombs.styles(p, count=300_000), "has a part 'xl/styles.xml' far larger"),
        (lambda p: bombs.wide_row(p, cells=150_000), "a row or block of more than 100,000 XML elements"),
        (lambda p: bombs.long_text(p, chars=3 << 20), "a text of more than"),
    ],
    ids=["styles", "one wide row", "one long text"],
)
def test_parts_that_no_spreadsheet_program_writes_are_refused_unread(tmp_path, build, message):
    reason = refused(build(tmp_path / "b.xlsx"), IntakeLimits())
    assert message in reason and "save it as a new workbook" in reason


def test_a_csv_is_held_to_the_same_cell_limit(tmp_path):
    reason = refused(bombs.csv_cells(tmp_path / "b.csv", rows=2_000, columns=10), IntakeLimits(max_cells=10_000))
    assert "spans more than 10,000 cells" in reason and "every field of every line" in reason
    assert "sheet" not in reason


def test_a_csv_line_longer_than_any_record_is_refused_before_it_is_read_whole(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("Office,Candidate\nMayor,Ann Lee\n" + "," * 1_100_000 + "\n")
    assert "a line of more than 1,000,000 characters" in refused(path, IntakeLimits())


def test_a_stray_value_far_down_still_reads_the_list_and_counts_the_blank_rows(tmp_path):
    parsed = read_upload(bombs.many_sheets(tmp_path / "list.xlsx", sheets=1, row=5_000))
    assert [r["candidate_name"] for r in parsed.rows] == ["Ann Lee", "Bo Chan"]
    assert parsed.report.rows_read == 5_000
    blank = next(d for d in parsed.report.dropped if d.reason == DropReason.BLANK)
    assert (blank.row, blank.last_row) == (4, 4_999)  # one range, and row 5,000 is a row without a name


def test_the_hostile_bench_reads_a_bomb_in_a_child_and_measures_its_memory(tmp_path):
    too_many = IntakeLimits().max_sheets + 1  # a results workbook has a sheet per contest: ~400 in a state primary
    result = read_in_child(bombs.many_sheets(tmp_path / "b.xlsx", sheets=too_many, row=10), cap_mb=2_048, timeout=120)
    assert result["outcome"] == "refused" and f"more than {too_many - 1} sheets" in result["reason"]
    assert 10 < result["peak_mb"] < 500
