"""Results layouts read as candidate lists (intake.wide_results), each shape as a small hand-made sheet.

Wide: the choices across the columns, vote counts beneath, the contest over them (a merged title, a
title over each contest's first column, a title line, the names row's first cell), the party in a
row under the title or inside the name. Sideways: the units across the columns, one choice per row
under contest headings, a party letter beside the name. Whatever the shape, every row of the sheet
is accounted for (a candidate, a dropped row with its reason), write-in, blank and total lines are
no candidates, a Yes/No block is a ballot measure, and a list with an office and a candidate column
is still read as a list.
"""

import pytest
from openpyxl import Workbook

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.options import UploadOptions
from elevra_pipeline.intake.reader import read_upload

GENERAL = UploadOptions(election_date="2026-11-03", state="OH", jurisdiction="Summit County")


def write_xlsx(path, sheets: dict, merged: dict | None = None):
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for ref in (merged or {}).get(name, []):
            sheet.merge_cells(ref)
    book.save(path)
    return path


def write_csv(path, rows: list[list]):
    path.write_text("\n".join(",".join(f'"{c}"' if "," in str(c) else str(c) for c in row) for row in rows) + "\n")
    return path


def accounted(parsed) -> int:
    report = parsed.report
    return report.header_rows + len(parsed.rows) + sum(report.dropped_by_reason().values())


def contests(parsed) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for row in parsed.rows:
        key = " ".join(filter(None, (row["office"], row["district"], row["primary_party"])))
        found.setdefault(key, []).append((row["candidate_name"], row["party"]))
    return found


def test_contests_across_the_columns_with_a_party_row_and_counts_beneath(tmp_path):
    path = write_xlsx(
        tmp_path / "wide.xlsx",
        {
            "Results": [
                ["", "Governor", None, None, "County Sheriff", None],
                ["", "DEM", "REP", "", "DEM", "REP"],
                ["Precinct", "Ann Lee", "Bo Chan", "Write-in", "Cy Park", "Di Ross"],
                ["Precinct 1", 10, 12, 1, 8, 9],
                ["Precinct 2", 20, 22, 0, 18, 19],
                ["Total", 30, 34, 1, 26, 28],
            ]
        },
        merged={"Results": ["B1:D1", "E1:F1"]},
    )
    parsed = read_upload(path, GENERAL)
    assert contests(parsed) == {
        "Governor": [("Ann Lee", "Democratic"), ("Bo Chan", "Republican")],
        "County Sheriff": [("Cy Park", "Democratic"), ("Di Ross", "Republican")],
    }
    dropped = parsed.report.dropped_by_reason()
    assert dropped[DropReason.NOT_A_CANDIDATE] == 1  # the write-in column, once
    assert dropped[DropReason.VOTE_COUNTS] == 3  # the precinct lines and the total line
    assert accounted(parsed) == parsed.report.rows_read == 6 - 1 + 5  # the names row read as its five choices
    assert parsed.rows[0]["source"] == {"sheet": "Results", "row": 3, "column": "B"}


def test_a_title_over_each_contest_s_first_column_stands_for_the_columns_up_to_the_next(tmp_path):
    path = write_csv(
        tmp_path / "canvass.csv",
        [
            ["PRECINCT", "Mayor", "", "Council Ward 2", ""],
            ["PRECINCT", "Alma Ruiz", "Ben Ito", "Carla Diaz", "Dov Green"],
            ["01 NORTH", 5, 6, 7, 8],
            ["02 SOUTH", 1, 2, 3, 4],
        ],
    )
    parsed = read_upload(path, GENERAL)
    assert {office: [n for n, _ in names] for office, names in contests(parsed).items()} == {
        "Mayor": ["Alma Ruiz", "Ben Ito"],
        "Council Ward 2": ["Carla Diaz", "Dov Green"],
    }


def test_a_sheet_per_contest_with_names_merged_over_vote_type_columns_is_read_once(tmp_path):
    sheet = [
        ["State Senator District 4 - REP ( 1)"] * 6,
        [None, None, "Rod Blum", "Rod Blum", "Write-in", "Write-in"],
        [None, "Registered Voters", "Polling", "Total Votes", "Polling", "Total Votes"],
        ["Adair", 0, 369, 369, 2, 2],
        ["Benton", 0, 607, 607, 6, 6],
        ["Total:", 0, 976, 976, 8, 8],
    ]
    path = write_xlsx(tmp_path / "clarity.xlsx", {"2": sheet, "3": sheet})  # the same contest twice
    parsed = read_upload(path, UploadOptions(election_date="2026-06-02", state="IA"))
    assert contests(parsed) == {"State Senator District 4 Republican": [("Rod Blum", "Republican")]}
    assert [r["source"]["sheet"] for r in parsed.rows] == ["2"]
    dropped = parsed.report.dropped_by_reason()
    assert dropped[DropReason.NOT_A_CANDIDATE] == 1  # Write-in, once for the contest
    assert dropped[DropReason.REPEATED_LINE] == 2  # sheet 3 shows the same two choices again
    assert accounted(parsed) == parsed.report.rows_read


def test_the_party_inside_the_name_cell_before_or_after_it(tmp_path):
    path = write_csv(
        tmp_path / "names.csv",
        [
            ["PRESIDENT AND VICE PRESIDENT (Vote for 1) **** - Insufficient Turnout to Protect Voter Privacy"],
            ["Precinct", "Registered Voters", "BIDEN, JOSEPH R. (DEM)", "TRUMP, DONALD J. (REP)", "Total Votes"],
            ["RENO 1000", 648, 396, 160, 556],
            ["RENO 1002", 1058, 501, 308, 809],
        ],
    )
    parsed = read_upload(path, UploadOptions(election_date="2026-11-03", state="NV"))
    assert [(r["candidate_name"], r["party"]) for r in parsed.rows] == [
        ("Joseph R. Biden", "Democratic"),
        ("Donald J. Trump", "Republican"),
    ]
    assert {(r["office"], r["vote_for"]) for r in parsed.rows} == {("PRESIDENT AND VICE PRESIDENT", "1")}
    dropped = parsed.report.dropped_by_reason()
    assert dropped[DropReason.STATISTIC] == 1  # registered voters: no choice
    assert dropped[DropReason.NOT_A_CANDIDATE] == 1  # Total Votes sums the choices


def test_a_code_before_the_name_is_its_party_when_the_file_puts_codes_before_names(tmp_path):
    path = write_csv(
        tmp_path / "codes.csv",
        [
            ["PRECINCT NAME", "U.S. Senator", "U.S. Senator", "U.S. Senator", "Judge Div. 1"],
            ["", "REP Masters, Blake", "DEM Kelly, Mark", "LBT Victor, Marc J.", "Haight, Raymond"],
            ["01 BENSON", 240, 34, 6, 200],
            ["02 J-SIX", 357, 35, 4, 300],
        ],
    )
    parsed = read_upload(path, UploadOptions(election_date="2026-11-03", state="AZ", jurisdiction="Cochise County"))
    assert [(r["candidate_name"], r["party"]) for r in parsed.rows] == [
        ("Blake Masters", "Republican"),
        ("Mark Kelly", "Democratic"),
        ("Marc J. Victor", "Libertarian"),
        ("Raymond Haight", ""),
    ]


def test_a_party_code_before_an_office_is_an_office_word_unless_the_file_says_otherwise(tmp_path):
    path = write_xlsx(
        tmp_path / "primary.xlsx",
        {
            "Sheet1": [
                ["", "REP IN CONGRESS 1ST DISTRICT", None, "REP For Sheriff", "DEM For Sheriff"],
                ["", "D", "R", "REP", "DEM"],
                ["TOWNSHIPS", "Callie Barr", "Jack Bergman", "Al Ames", "Bea Burt"],
                ["ALLOUEZ", 61, 151, 10, 11],
                ["GRANT", 42, 26, 12, 13],
            ]
        },
        merged={"Sheet1": ["B1:C1"]},
    )
    parsed = read_upload(path, UploadOptions(election_date="2026-08-04", state="MI", jurisdiction="Keweenaw County"))
    offices = {(r["office"], r["primary_party"]) for r in parsed.rows if r["candidate_name"] != "Callie Barr"}
    assert ("For Sheriff", "Republican") in offices and ("For Sheriff", "Democratic") in offices
    assert {r["office"] for r in parsed.rows if r["candidate_name"] in ("Callie Barr", "Jack Bergman")} == {
        "REP IN CONGRESS 1ST DISTRICT"
    }


def test_a_ballot_measure_across_the_columns_is_a_measure_shown_once_however_many_sheets(tmp_path):
    measure = [
        ["CONSTITUTIONAL AMENDMENT 1", "Precinct", "Yes", "No"],
        [None, "PRECINCT 001", 103, 41],
        [None, "PRECINCT 002", 159, 62],
    ]
    race = [
        ["County Clerk", "Precinct", "ANN LEE", "BO CHAN"],
        [None, "PRECINCT 001", 50, 40],
        [None, "PRECINCT 002", 60, 30],
    ]
    path = write_xlsx(tmp_path / "m.xlsx", {"Total1": measure, "Early1": measure, "Total2": race})
    parsed = read_upload(path, GENERAL)
    assert [m["contest"] for m in parsed.report.measures] == ["CONSTITUTIONAL AMENDMENT 1"]
    assert parsed.report.dropped_by_reason()[DropReason.MEASURE_CHOICE] == 2
    assert [r["candidate_name"] for r in parsed.rows] == ["Ann Lee", "Bo Chan"]


def test_a_declared_write_in_is_not_on_the_ballot(tmp_path):
    path = write_csv(
        tmp_path / "wi.csv",
        [
            ["County Name", "Governor and Lieutenant Governor", "", ""],
            ["County Name", "Mike Dewine and Jon Husted (R)", "Rebecca Ayres and Anthony Durgans (WI)*", "Amy Ro (D)"],
            ["Adams", 6216, 0, 2150],
            ["Allen", 23759, 0, 10510],
        ],
    )
    parsed = read_upload(path, UploadOptions(election_date="2026-11-03", state="OH"))
    assert [r["candidate_name"] for r in parsed.rows] == ["Mike Dewine and Jon Husted", "Amy Ro"]
    assert parsed.report.dropped_by_reason()[DropReason.NOT_ON_BALLOT] == 1


def test_sideways_units_across_contest_headings_down_and_a_party_letter_beside_each_name(tmp_path):
    path = write_csv(
        tmp_path / "tally.csv",
        [
            ["Carter County", "", "", ""],
            ["August 4, 2026 Primary Election", "", "", ""],
            ["", "", "Eastwood", "Fremont"],
            ["U. S. Senator", "", "", ""],
            ["R", "Eric Schmitt", 21, 23],
            ["R", "Billy Long", 0, 1],
            ["D", "Lucas Kunce", 0, 6],
            ["Treasurer", "", "", ""],
            ["R", "Velvet Ricker", 46, 40],
            ["Number of Ballots Cast", "", 58, 57],
            ["", "", "", ""],
            ["", "Mary Doe, County Clerk", "", ""],
        ],
    )
    parsed = read_upload(path, UploadOptions(election_date="2026-08-04", state="MO"))
    assert contests(parsed) == {
        "U. S. Senator Republican": [("Eric Schmitt", "Republican"), ("Billy Long", "Republican")],
        "U. S. Senator Democratic": [("Lucas Kunce", "Democratic")],
        "Treasurer Republican": [("Velvet Ricker", "Republican")],
    }
    assert {r["jurisdiction"] for r in parsed.rows if r["office"] == "Treasurer"} == {"Carter County"}  # the title
    dropped = parsed.report.dropped_by_reason()
    assert dropped[DropReason.NOT_A_CANDIDATE] == 2  # the statistics line and the clerk's signature line
    assert accounted(parsed) == parsed.report.rows_read == 12


def test_sideways_blocks_under_a_repeated_units_header_on_a_sheet_per_party(tmp_path):
    block = [
        [None, "TOTAL", "Nemaha I", "Sterling"],
        ["Registered Republican Voters", 1511, 216, 506],
        [None],
        ["PRESIDENTIAL TICKET"],
        ["Presidential", "TOTAL", "Nemaha I", "Sterling"],
        ["Ben Carson", 35, 4, 9],
        ["Ted Cruz", 82, 5, 19],
        ["Write-in's", 7, 1, 2],
        ["Over Votes", 0, 0, 0],
    ]
    path = write_xlsx(tmp_path / "party.xlsx", {"Republican": block})
    parsed = read_upload(path, UploadOptions(election_date="2026-05-12", state="NE", jurisdiction="Johnson County"))
    assert contests(parsed) == {"Presidential Republican": [("Ben Carson", "Republican"), ("Ted Cruz", "Republican")]}
    assert parsed.report.dropped_by_reason()[DropReason.NOT_A_CANDIDATE] == 3  # voters, write-ins, over votes


def test_parties_written_only_inside_the_names_of_one_block_make_one_contest_on_one_ballot(tmp_path):
    path = write_xlsx(
        tmp_path / "general.xlsx",
        {
            "Caddo": [
                ["Louisiana Secretary of State"],
                [None],
                ["Mayor -- City of Shreveport"],
                [None, '"Tom" Arceneaux (REP)', "Gregory Tarver (DEM)"],
                ["Total Votes", 30269, 25376],
                ["01 01", 100, 200],
                [None],
                ["Member of School Board -- District 12"],
                [None, "Dottie H. Bell (REP)", "Joy Sims (REP)"],
                ["Total Votes", 300, 200],
                ["01 01", 100, 200],
            ]
        },
    )
    parsed = read_upload(path, UploadOptions(election_date="2026-12-12", state="LA"))
    found = contests(parsed)
    assert found["Mayor -- City of Shreveport"] == [('"Tom" Arceneaux', "Republican"), ("Gregory Tarver", "Democratic")]
    assert {r["election_type"] for r in parsed.rows} == {"general"}  # two Republicans for one seat: no primary
    assert {r["jurisdiction"] for r in parsed.rows if r["office"] == "Member of School Board"} == {"Caddo"}


def test_a_list_with_an_office_and_a_candidate_column_and_a_votes_column_is_read_as_a_list(tmp_path):
    path = write_csv(
        tmp_path / "long.csv",
        [
            ["County", "Race", "Candidate", "Party", "Votes"],
            ["Adams", "Mayor", "Ann Lee", "DEM", 10],
            ["Adams", "Mayor", "Bo Chan", "REP", 12],
            ["Baker", "Mayor", "Ann Lee", "DEM", 3],
        ],
    )
    parsed = read_upload(path, GENERAL)
    assert "read as election results" not in (parsed.report.sheets[0].mapping_note or "")
    assert sorted({r["candidate_name"] for r in parsed.rows}) == ["Ann Lee", "Bo Chan"]


def test_a_sheet_of_statistics_only_is_not_taken_for_choices(tmp_path):
    path = write_xlsx(
        tmp_path / "turnout.xlsx",
        {
            "Turnout": [
                ["Precinct", "Registered Voters", "Ballots Cast", "Voter Turnout"],
                ["Adair", 5236, 346, "6.61 %"],
                ["Adams", 2892, 572, "19.78 %"],
            ],
            "2": [
                ["County Recorder (Vote For 1)"] * 3,
                [None, "Ann Lee", "Bo Chan"],
                ["Adair", 10, 20],
                ["Adams", 30, 40],
            ],
        },
    )
    parsed = read_upload(path, GENERAL)
    assert [r["candidate_name"] for r in parsed.rows] == ["Ann Lee", "Bo Chan"]
    assert {r["vote_for"] for r in parsed.rows} == {"1"}
    assert parsed.report.sheets[0].status == "ignored"


def test_choices_with_counts_and_no_contest_named_anywhere_are_refused_with_what_to_send(tmp_path):
    path = write_csv(
        tmp_path / "untitled.csv",
        [
            ["Precinct", "Ann Lee", "Bo Chan"],
            ["North 1", 10, 12],
            ["South 2", 20, 22],
        ],
    )
    with pytest.raises(UnusableUploadError) as refused:
        read_upload(path, GENERAL)
    assert "election results with the choices across the columns (Ann Lee, Bo Chan)" in str(refused.value)
    assert "write the contest's title above its candidates" in str(refused.value)
    assert "`columns`" not in str(refused.value)  # no advice about columns that do not exist


def test_side_by_side_lists_of_choices_under_their_headings_are_read_band_by_band(tmp_path):
    path = write_xlsx(
        tmp_path / "totals.xlsx",
        {
            "Totals": [
                ["General Election", "Total", None, "Referendum", "Total", None, "Municipal", "Total"],
                ["Sheriff", None, None, "Question 1 - Bond", None, None, "City Council Ward 3", None],
                ["Mason, L. Kenneth III", 2187, None, "Yes", 3947, None, "Lessing, Lauren", 768],
                ["Reardon, Ryan", 4617, None, "No", 3282, None, "Smith, Christopher", 192],
                ["Blanks", 629, None, "Blanks", 204, None, "Blanks", 155],
            ]
        },
    )
    parsed = read_upload(path, UploadOptions(election_date="2026-11-03", state="ME", jurisdiction="Waterville"))
    assert {office: [n for n, _ in names] for office, names in contests(parsed).items()} == {
        "Sheriff": ["L. Kenneth Mason III", "Ryan Reardon"],
        "City Council Ward 3": ["Lauren Lessing", "Christopher Smith"],
    }
    assert [m["contest"] for m in parsed.report.measures] == ["Question 1 - Bond"]
    dropped = parsed.report.dropped_by_reason()
    assert (dropped[DropReason.NOT_A_CANDIDATE], dropped[DropReason.MEASURE_CHOICE]) == (3, 2)  # blanks; yes, no
    assert accounted(parsed) == parsed.report.rows_read


def test_a_place_one_sheet_s_title_misspells_is_the_place_the_other_sheets_name(tmp_path):
    def tally(place: str, party: str, name: str) -> list[list]:
        return [
            [f"TOWN OF {place}, CONNECTICUT"],
            [None],
            [None, "OFFICES", "Town Council"],
            [None, party, name],
            [None, "District 1", 171],
            [None, "District 2", 416],
        ]

    sheets = {"Democratic": tally("ALOOMFIELD", "Democratic", "Joan A. Gamble")}
    sheets |= {"Republican": tally("BLOOMFIELD", "Republican", "Joseph P. Merritt")}
    sheets |= {"Petitioning": tally("BLOOMFIELD", "Petitioning Candidates", "Mark L. Jacobs")}
    parsed = read_upload(
        write_xlsx(tmp_path / "town.xlsx", sheets), UploadOptions(election_date="2026-11-03", state="CT")
    )
    assert {r["jurisdiction"] for r in parsed.rows} == {"TOWN OF BLOOMFIELD"}
    assert [(r["candidate_name"], r["party"]) for r in parsed.rows] == [
        ("Joan A. Gamble", "Democratic"),
        ("Joseph P. Merritt", "Republican"),
        ("Mark L. Jacobs", "Petitioning"),
    ]


def test_the_admin_may_keep_declared_write_ins(tmp_path):
    path = write_csv(
        tmp_path / "wi.csv",
        [
            ["County", "US Senator (REP)", ""],
            ["County", "Bill Schuette", "Evan Space (WI)"],
            ["Adams", 61, 1],
            ["Allen", 42, 0],
        ],
    )
    options = UploadOptions(election_date="2026-08-04", state="MI", include_not_on_ballot=True)
    assert [r["candidate_name"] for r in read_upload(path, options).rows] == ["Bill Schuette", "Evan Space"]
