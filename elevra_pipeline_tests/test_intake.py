"""Intake: varied headers map to our fields, messy rows are cleaned, unusable files get a reason."""

import pytest
from openpyxl import Workbook

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.batching import group_rows, normalize_date, partition_key_for
from elevra_pipeline.intake.options import parse_options
from elevra_pipeline.intake.reader import read_upload
from elevra_pipeline.intake.roles import map_by_alias
from elevra_pipeline.samples import SAMPLE_XLSX


@pytest.mark.parametrize(
    "header, field",
    [
        ("Office", "office"),
        ("Position", "office"),
        ("Seat", "office"),
        ("contest_name", "office"),
        ("name_on_ballot", "candidate_name"),
        ("election_dt", "election_date"),
        ("county_name", "jurisdiction"),
        ("party_candidate", "party"),
        ("party_contest", "primary_party"),
        ("FIRST NAME", "first_name"),
        ("Jurisdiction", "jurisdiction"),
        ("Location", "jurisdiction"),
        ("City", "jurisdiction"),
        ("County", "jurisdiction"),
        ("Candidate", "candidate_name"),
        ("Candidate Name", "candidate_name"),
        ("Name", "candidate_name"),
        ("Party", "party"),
        ("Party Affiliation", "party"),
        ("Website", "website"),
        ("Campaign Website", "website"),
        ("URL", "website"),
        ("Election Date", "election_date"),
        ("Date", "election_date"),
        ("District", "district"),
        ("  candidate_NAME ", "candidate_name"),
        ("Dist.", "district"),
    ],
)
def test_common_header_variants_map_to_canonical_fields(header, field):
    assert map_by_alias([header]).roles == {0: field}


@pytest.mark.parametrize(
    "raw, iso",
    [
        ("2026-11-03 00:00:00", "2026-11-03"),
        ("11/3/2026", "2026-11-03"),
        ("Nov 3, 2026", "2026-11-03"),
        ("", ""),
        ("sometime", "sometime"),
    ],
)
def test_dates_are_normalized_for_grouping(raw, iso):
    assert normalize_date(raw) == iso


def _write_xlsx(path, rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_sample_spreadsheet_has_the_mess_of_real_uploads_and_parses_cleanly():
    parsed = read_upload(SAMPLE_XLSX)
    batches = group_rows(parsed.rows)
    assert parsed.sheets == ["County races", "City races"]
    dropped = parsed.report.dropped_by_reason()
    assert (len(parsed.rows), dropped[DropReason.DUPLICATE], len(batches)) == (66, 1, 22)
    assert dropped[DropReason.BLANK] > 0
    assert all(r["candidate_name"] == r["candidate_name"].strip() for r in parsed.rows)
    assert any(not r["candidate_name"].isascii() for r in parsed.rows)


def test_rows_are_grouped_by_jurisdiction_office_district_and_date_whatever_the_case(tmp_path):
    path = _write_xlsx(
        tmp_path / "u.xlsx",
        [
            ["City", "Seat", "District", "Date", "Name"],
            ["Springfield", "City Council", "3", "11/3/2026", "Ann Lee"],
            ["SPRINGFIELD", "city council", "3", "2026-11-03", "Bo Chan"],
            ["Springfield", "Mayor", "", "2026-11-03", "Cy Park"],
            [None, None, None, None, None],
            ["Springfield", "Mayor", "", "2026-11-03", "  Cy   Park "],
        ],
    )
    parsed = read_upload(path)
    batches = sorted(group_rows(parsed.rows), key=lambda b: b.office)
    assert [len(b.rows) for b in batches] == [2, 1]
    assert parsed.report.dropped_by_reason() == {DropReason.BLANK: 1, DropReason.DUPLICATE: 1}


def test_latin1_csv_is_read(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("Candidate,Office,Location,Date\nJosé Muñoz,Mayor,Peñasco,2026-11-03\n".encode("latin-1"))
    assert read_upload(path).rows[0]["candidate_name"] == "José Muñoz"


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("corrupt.xlsx", b"PK\x03\x04 this is not really a workbook", "not a valid Excel workbook"),
        ("empty.csv", b"", "is empty"),
        ("headers.csv", b"Candidate,Office\n", "no candidate rows"),
        ("nocols.csv", b"Foo,Bar\n1,2\n", "no candidate name or office column"),
        ("notes.pdf", b"%PDF-1.4", "upload an .xlsx file, or a .csv, .tsv or .txt file"),
        ("notes.txt", b"hello", "no header row"),  # read as delimited text, and found wanting
    ],
)
def test_unusable_files_fail_with_a_reason_a_person_understands(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnusableUploadError, match=expected):
        read_upload(path)


def test_partition_keys_are_safe_slugs():
    key = partition_key_for("Élections, 2026/Nov... FINAL.xlsx", "ab" * 32)
    assert key == "elections-2026-nov-final-ababababab"


def test_a_web_exports_escaped_characters_are_read_as_the_page_showed_them(tmp_path):
    path = tmp_path / "wa.csv"
    path.write_text(
        "Race,Candidate,Party,Date\n"
        "State Representative Pos. 2,Sherae Lascelles,(Prefers Seattle People&#39;s Party),2020-11-03\n"
        "State Representative Pos. 2,Tom O&apos;Neil,(Prefers AT&T Party),2020-11-03\n"
    )
    rows = read_upload(path, parse_options({"state": "WA"})).rows
    assert [(r["candidate_name"], r["party"]) for r in rows] == [
        ("Sherae Lascelles", "Seattle People's"),
        ("Tom O'Neil", "AT&T"),
    ]
