"""Intake on the shapes real candidate lists come in: every row ends in exactly one outcome, with a reason.

Synthetic sheets, one per case the real files showed (a title above the header, merged Office cells,
hidden sheets, split names, Seat next to Position, encodings and delimiters, formulas without a
saved value), plus hostile files that must be refused quickly instead of parsed.
"""

import time
import zipfile

import pytest
from openpyxl import Workbook

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.batching import MISSING_DATE, group_rows
from elevra_pipeline.intake.limits import IntakeLimits
from elevra_pipeline.intake.options import UploadOptions, parse_options
from elevra_pipeline.intake.reader import read_upload


def write_xlsx(path, sheets: dict, merged: dict | None = None, hidden: dict | None = None):
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for ref in (merged or {}).get(name, []):
            sheet.merge_cells(ref)
        if name in (hidden or {}):
            sheet.sheet_state = hidden[name]
    book.save(path)
    return path


def accounted(parsed) -> int:
    """Header rows + kept rows + dropped rows: must equal the rows read."""
    report = parsed.report
    return report.header_rows + len(parsed.rows) + sum(report.dropped_by_reason().values())


def test_a_title_line_and_a_blank_row_above_the_header_lose_nothing(tmp_path):
    path = write_xlsx(
        tmp_path / "titled.xlsx",
        {
            "Candidates": [
                ["Springfield General Election - November 3, 2026"],
                [None],
                ["Office", "Candidate", "Party"],
                ["Mayor", "Ann Lee", "Dem"],
                ["Mayor", "Bo Chan", "Rep"],
                ["Clerk", "Cy Park", ""],
            ]
        },
    )
    parsed = read_upload(path)
    assert [r["candidate_name"] for r in parsed.rows] == ["Ann Lee", "Bo Chan", "Cy Park"]
    assert {r["election_date"] for r in parsed.rows} == {"2026-11-03"}  # read from the title line
    assert parsed.report.sheets[0].header_row == 3
    assert parsed.report.dropped_by_reason() == {DropReason.ABOVE_HEADER: 1, DropReason.BLANK: 1}
    assert accounted(parsed) == parsed.report.rows_read == 6


def test_a_merged_office_or_date_cell_belongs_to_every_row_it_covers(tmp_path):
    path = write_xlsx(
        tmp_path / "merged.xlsx",
        {
            "Races": [
                ["Office", "Election Date", "Candidate"],
                ["City Council", "2026-11-03", "Ann Lee"],
                [None, None, "Bo Chan"],
                [None, None, "Cy Park"],
                ["Mayor", "2026-11-03", "Di Ross"],
            ]
        },
        merged={"Races": ["A2:A4", "B2:B4"]},
    )
    batches = group_rows(read_upload(path).rows)
    assert sorted((b.office, len(b.rows)) for b in batches) == [("City Council", 3), ("Mayor", 1)]


def test_hidden_sheets_are_reported_as_ignored_unless_asked_for(tmp_path):
    path = write_xlsx(
        tmp_path / "hidden.xlsx",
        {
            "2026": [["Office", "Candidate", "Date"], ["Mayor", "Ann Lee", "2026-11-03"]],
            "Old 2019 race": [["Office", "Candidate", "Date"], ["Mayor", "Stale Name", "2019-11-05"]],
            "Lookup": [["Office", "Candidate"], ["Clerk", "Helper Row"]],
        },
        hidden={"Old 2019 race": "hidden", "Lookup": "veryHidden"},
    )
    parsed = read_upload(path)
    assert [r["candidate_name"] for r in parsed.rows] == ["Ann Lee"]
    ignored = {s.name: s.reason for s in parsed.report.sheets if s.status == "ignored"}
    assert set(ignored) == {"Old 2019 race", "Lookup"} and "veryHidden" in ignored["Lookup"]
    assert parsed.report.dropped_by_reason() == {DropReason.HIDDEN_SHEET: 4}
    assert accounted(parsed) == parsed.report.rows_read == 6
    assert len(read_upload(path, UploadOptions(include_hidden_sheets=True)).rows) == 3


def test_first_middle_last_and_suffix_compose_the_name_and_the_nickname_is_kept(tmp_path):
    path = tmp_path / "split.csv"
    path.write_text(
        "FIRST NAME,MIDDLE,LAST NAME,SUFFIX,NICK NAME,OFFICE\nJohn,Q,Public,Jr.,Johnny,Mayor\nAnn,,Lee,,,Mayor\n"
    )
    rows = read_upload(path).rows
    assert [(r["candidate_name"], r["nickname"]) for r in rows] == [("John Q Public Jr.", "Johnny"), ("Ann Lee", "")]


def test_seat_next_to_position_is_the_district_so_two_seats_are_two_batches(tmp_path):
    path = tmp_path / "seats.csv"
    path.write_text(
        "Position,Seat,Candidate,Election Date\nCity Council,1,Ann Lee,2026-11-03\n"
        "City Council,2,Bo Chan,2026-11-03\nCity Council,2,Cy Park,2026-11-03\n"
    )
    batches = group_rows(read_upload(path).rows)
    assert sorted((b.office, b.district, len(b.rows)) for b in batches) == [
        ("City Council", "1", 1),
        ("City Council", "2", 2),
    ]


@pytest.mark.parametrize(
    "encoding, text",
    [
        ("utf-8-sig", "Candidate,Office,Date\nJosé Muñoz,Mayor,2026-11-03\n"),
        ("utf-8", "Candidate,Office,Date\nJosé Muñoz,Mayor,2026-11-03\n"),
        ("utf-16", "Candidate\tOffice\tDate\r\nJosé Muñoz\tMayor\t2026-11-03\r\n"),
        ("cp1252", "Candidate;Office;Date\nJosé Muñoz;Mayor;2026-11-03\n"),
        ("latin-1", "Candidate|Office|Date\nJosé Muñoz|Mayor|2026-11-03\n"),
    ],
)
def test_csv_encodings_and_delimiters_are_detected(tmp_path, encoding, text):
    path = tmp_path / "list.csv"
    path.write_bytes(text.encode(encoding))
    (row,) = read_upload(path).rows
    assert (row["candidate_name"], row["office"], row["election_date"]) == ("José Muñoz", "Mayor", "2026-11-03")


def test_a_csv_that_is_binary_says_it_cannot_be_decoded(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(UnusableUploadError, match="could not be decoded as text"):
        read_upload(path)


def test_a_list_without_dates_becomes_batches_needing_reupload_with_a_plain_reason(tmp_path):
    path = tmp_path / "city.csv"
    path.write_text("FIRST NAME,LAST NAME,OFFICE,PARTY\nAnn,Lee,Mayor,Democrat\nBo,Chan,Mayor,Republican\n")
    (batch,) = group_rows(read_upload(path).rows)
    assert batch.problem == MISSING_DATE and "--election-date" in batch.problem


def test_what_the_admin_gives_wins_over_a_column_they_did_not_name(tmp_path):
    """A `Date` column may be a filing date: the election date the admin gives is every row's."""
    path = tmp_path / "city.csv"
    path.write_text("FIRST NAME,LAST NAME,OFFICE,Date\nAnn,Lee,Mayor,\nBo,Chan,Mayor,2026-06-02\n")
    options = parse_options({"election_date": "2026-11-03", "state": "PA"}, {"jurisdiction": "City of Philadelphia"})
    parsed = read_upload(path, options)
    assert [(r["election_date"], r["jurisdiction"], r["state"]) for r in parsed.rows] == [
        ("2026-11-03", "City of Philadelphia", "PA"),
        ("2026-11-03", "City of Philadelphia", "PA"),
    ]
    assert parsed.report.sheets[0].defaults_used == {"election_date": 2, "state": 2, "jurisdiction": 2}
    (date_column,) = [m for m in parsed.report.sheets[0].mapping if m["column"] == "Date"]
    assert date_column["role"] == "unused" and "election_date (2026-11-03) wins" in date_column["why"]


def test_a_column_the_admin_names_wins_over_their_upload_wide_date(tmp_path):
    path = tmp_path / "city.csv"
    path.write_text("FIRST NAME,LAST NAME,OFFICE,Date\nAnn,Lee,Mayor,\nBo,Chan,Mayor,2026-06-02\n")
    options = parse_options({"election_date": "2026-11-03", "columns": {"Date": "election_date"}})
    parsed = read_upload(path, options)
    assert [r["election_date"] for r in parsed.rows] == ["2026-11-03", "2026-06-02"]  # the option fills the blank


@pytest.mark.parametrize(
    "layer, message",
    [
        ({"election_date": "2026-02-30"}, "election_date"),
        ({"election_date": "1066-10-14"}, "election_date"),
        ({"columns": {"Who": "mayor_of"}}, "columns.Who"),
        ({"columns": "{not json"}, "columns: not valid JSON"),
    ],
)
def test_bad_upload_settings_are_refused_naming_the_setting(layer, message):
    with pytest.raises(UnusableUploadError, match=message):
        parse_options(layer)


def test_the_admins_column_override_wins_over_aliases_and_the_model(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("Who,Running for,Date,Poll day\nAnn Lee,Mayor,2026-01-05,2026-11-03\n")
    calls = []

    def model(sheet, headers, sample, refused=()):
        calls.append(headers)
        return [("Who", "candidate_name", 0.9), ("Running for", "office", 0.9), ("Poll day", "district", 0.8)]

    options = parse_options({"columns": {"Date": "ignore", "poll day": "election_date"}})
    parsed = read_upload(path, options, ask_model=model)
    (row,) = parsed.rows
    assert (row["candidate_name"], row["office"], row["election_date"], row["district"]) == (
        "Ann Lee",
        "Mayor",
        "2026-11-03",
        "",
    )
    assert calls == [["Who", "Running for", "Date", "Poll day"]]  # asked once, for this sheet
    decided = {m["column"]: (m["role"], m["decided_by"]) for m in parsed.report.sheets[0].mapping}
    assert decided == {
        "Who": ("candidate_name", "model"),
        "Running for": ("office", "model"),
        "Date": ("unused", "unused"),  # every column is listed, the ignored one with why
        "Poll day": ("election_date", "override"),
    }


def test_the_model_is_not_asked_when_the_known_header_names_suffice(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("Candidate,Office\nAnn Lee,Mayor\n")
    read_upload(path, ask_model=lambda *a: pytest.fail("the model was asked"))


def test_a_sheet_the_model_cannot_map_is_reported_and_its_rows_counted(tmp_path):
    path = write_xlsx(
        tmp_path / "two.xlsx",
        {
            "Good": [["Office", "Candidate"], ["Mayor", "Ann Lee"]],
            "Notes": [["Reminder", "Owner"], ["call the clerk", "Bo"], ["print ballots", "Cy"]],
        },
    )

    def failing_model(*_):
        raise RuntimeError("model unreachable")

    parsed = read_upload(path, ask_model=failing_model)
    notes = parsed.report.sheets[1]
    assert notes.status == "ignored" and "no candidate name or office column" in notes.reason
    assert "model unreachable" in notes.mapping_note
    assert parsed.report.dropped_by_reason() == {DropReason.UNMAPPED_SHEET: 3}
    assert accounted(parsed) == parsed.report.rows_read == 5


def test_formulas_without_a_saved_value_are_reported_not_dropped_quietly(tmp_path):
    path = write_xlsx(
        tmp_path / "formulas.xlsx",
        {
            "S": [  # openpyxl saves formulas without cached values
                ["Office", "First", "Last", "Candidate"],
                ["Mayor", "Ann", "Lee", '=B2&" "&C2'],
                ["Mayor", "Bo", "Chan", "Bo Chan"],
            ]
        },
    )
    parsed = read_upload(path)
    warning = parsed.report.sheets[0].warnings[0]
    assert "1 formula cell(s) have no saved value" in warning and "row 2" in warning
    # the name parts are still there, so the row is composed from them rather than lost
    assert [r["candidate_name"] for r in parsed.rows] == ["Ann Lee", "Bo Chan"]


def test_repeated_headers_duplicates_and_nameless_rows_are_dropped_with_reasons(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text("Office,Candidate\nMayor,Ann Lee\nOffice,Candidate\nMayor,Ann Lee\nMayor,\n,\n")
    parsed = read_upload(path)
    assert parsed.report.dropped_by_reason() == {
        DropReason.REPEATED_HEADER: 1,
        DropReason.DUPLICATE: 1,
        DropReason.NO_CANDIDATE: 1,
        DropReason.BLANK: 1,
    }
    duplicate = next(d for d in parsed.report.dropped if d.reason == DropReason.DUPLICATE)
    assert (duplicate.row, duplicate.detail) == (4, "same as csv!2")
    assert accounted(parsed) == parsed.report.rows_read == 6


def _bomb(path, rows: int, declare: bool):
    """A tiny .xlsx whose one sheet holds a value in column XFD on `rows` rows."""
    cells = "".join(f'<row r="{r}"><c r="XFD{r}" t="inlineStr"><is><t>x</t></is></c></row>' for r in range(1, rows + 1))
    dimension = f'<dimension ref="A1:XFD{rows}"/>' if declare else ""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dimension}<sheetData>{cells}</sheetData></worksheet>"
    )
    template = tmp = path.with_suffix(".template.xlsx")
    Workbook().save(tmp)
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            target.writestr(item, data)
    return path


@pytest.mark.parametrize("declare", [True, False])
def test_a_sheet_that_expands_to_hundreds_of_thousands_of_rows_is_refused_in_seconds(tmp_path, declare):
    path = _bomb(tmp_path / "bomb.xlsx", 300_000, declare)
    assert path.stat().st_size < 2_000_000
    started = time.monotonic()
    with pytest.raises(UnusableUploadError, match="above the limit of 250,000 rows"):
        read_upload(path)
    assert time.monotonic() - started < 60  # a generous bound: the point is refusing, not minutes of parsing


@pytest.mark.parametrize(
    "limits, message",
    [
        (IntakeLimits(max_file_bytes=100), "above the 0.0 MB limit"),
        (IntakeLimits(max_uncompressed_bytes=1000), "expands to"),
        (IntakeLimits(max_cells=5), "more than 5 cells"),
    ],
)
def test_size_limits_are_checked_before_and_while_parsing(tmp_path, limits, message):
    path = write_xlsx(
        tmp_path / "small.xlsx", {"S": [["Office", "Candidate"], ["Mayor", "Ann Lee"], ["Mayor", "Bo Chan"]]}
    )
    with pytest.raises(UnusableUploadError, match=message):
        read_upload(path, limits=limits)
