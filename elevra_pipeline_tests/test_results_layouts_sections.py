"""Results layouts in sections and long exports are read as candidate lists: a report's contest headings
with their choice lines beneath, a printed report saved as text, a tally writing each choice's counts on
the next line, a long export whose columns say what they are only by their values, a file with no header
at all. Every row of the file ends as a candidate or a dropped row with its reason; what cannot be read is
refused with a reason that names the layout and says what to send instead."""

import pytest
from openpyxl import Workbook

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.accounting import DropReason, IntakeReport
from elevra_pipeline.intake.batching import group_rows
from elevra_pipeline.intake.options import parse_options
from elevra_pipeline.intake.reader import read_upload
from elevra_pipeline.intake.section_results import read_results_layout, results_table
from elevra_pipeline.intake.section_results.choices import named_write_in, split_choice, ticket
from elevra_pipeline.intake.sheets import RawSheet

ADMIN = {"election_date": "2026-11-03", "state": "UT"}


def _read(path, **admin):
    return read_upload(path, parse_options({**ADMIN, **admin}))


def _contests(parsed) -> dict[str, set[str]]:
    """Each stored contest (office, district, party primary) and its people, as the batches group them."""
    found = {}
    for batch in group_rows(parsed.rows):
        key = " ".join(filter(None, [batch.office, batch.district, batch.rows[0].get("primary_party", "")]))
        found[key] = {r["candidate_name"] for r in batch.rows}
    return found


def _every_row_once(parsed, rows: int, sheet: str = "csv") -> None:
    """Each row of the sheet is a candidate or a dropped row, exactly once."""
    seen = [r["source"]["row"] for r in parsed.rows if r["source"]["sheet"] == sheet]
    for dropped in parsed.report.dropped:
        if dropped.sheet == sheet:
            seen += range(dropped.row, (dropped.last_row or dropped.row) + 1)
    header = next(s.header_row for s in parsed.report.sheets if s.name == sheet)
    seen += [header] if header else []
    assert sorted(seen) == list(range(1, rows + 1))


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


REPORT = """Summary Results Report,,,,OFFICIAL RESULTS,
Springfield County 11/03/2026 General,,,,,
,U.S. Representative Dist. 1,,,,
,Vote For 1,,,,
,,,TOTAL,,
DEM ANN LEE,,26,,,
REP BO CHAN,,220,,,
Write-In Totals,,1,,,
"Write-In: Cy Doe",,1,,,
Page 1 of 2,,,,1, of 2
Summary Results Report,,,,OFFICIAL RESULTS,
Springfield County 11/03/2026 General,,,,,
,County Commissioner C,,,,
,Vote For 1,,,,
,,,TOTAL,,
DEM DEE ROE,,128,,,
REP EVE FOX,,112,,,
,Proposition 1,,,,
,Vote For 1,,,,
YES,,120,,,
NO,,70,,,
"""


def test_a_report_of_contest_headings_is_read_contest_by_contest(tmp_path):
    parsed = _read(_write(tmp_path, "report.csv", REPORT))
    assert _contests(parsed) == {
        "U.S. Representative Dist. 1": {"Ann Lee", "Bo Chan"},
        "County Commissioner C": {"Dee Roe", "Eve Fox"},
    }
    assert {r["candidate_name"]: r["party"] for r in parsed.rows} == {
        "Ann Lee": "Democratic",
        "Bo Chan": "Republican",
        "Dee Roe": "Democratic",
        "Eve Fox": "Republican",
    }
    assert parsed.report.sheets[0].mapping_note.startswith("read as a results report")
    _every_row_once(parsed, 21)


def test_a_reports_write_in_lines_page_furniture_and_measure_are_no_candidates(tmp_path):
    parsed = _read(_write(tmp_path, "report.csv", REPORT))
    dropped = {d.detail: d.reason for d in parsed.report.dropped if d.detail}
    assert dropped["Write-In Totals"] == DropReason.NOT_A_CANDIDATE
    assert dropped["a declared write-in, not printed on the ballot: Cy Doe"] == DropReason.NOT_ON_BALLOT
    assert "Page 1 of 2 of 2" not in {r["candidate_name"] for r in parsed.rows}
    assert [m["contest"] for m in parsed.report.measures] == ["Proposition 1"]


def test_a_local_contest_takes_the_place_the_reports_title_names(tmp_path):
    parsed = _read(_write(tmp_path, "report.csv", REPORT))
    places = {r["office"]: r["jurisdiction"] for r in parsed.rows}
    assert places["County Commissioner C"] == "Springfield County"
    assert places["U.S. Representative Dist. 1"] == "UT"  # a federal contest is the state's


TEXT_REPORT = """PRECINCT REPORT       SPRINGFIELD COUNTY, UTOPIA     OFFICIAL RESULTS

RUN DATE:11/05/26     PRIMARY ELECTION

                      STATISTICS
0001 NORTH WARD
           REGISTERED VOTERS - TOTAL .  .  .  .  .     33
           BALLOTS CAST - TOTAL.  .  .  .  .  .  .     15

                          ********** (DEMOCRATIC) **********

          GOVERNOR
          VOTE FOR NOT MORE THAN  1
           TOM WOLF.  .  .  .  .  .  .  .  .  .      9   90.00
           KATE RIDGE .  .  .  .  .  .  .  .  .      1   10.00
           WRITE-IN.  .  .  .  .  .  .  .  .  .      0

                          ********** (REPUBLICAN) **********

          GOVERNOR
          VOTE FOR NOT MORE THAN  1
           SCOTT WAGNER .  .  .  .  .  .  .  .      8   80.00
           WRITE-IN.  .  .  .  .  .  .  .  .  .      2   20.00
"""


def test_a_printed_report_saved_as_text_is_read_line_by_line_with_its_party_sections(tmp_path):
    parsed = _read(_write(tmp_path, "report.txt", TEXT_REPORT), state="PA")
    assert parsed.report.source["delimiter"] == "none"  # the comma in the title is no column
    assert _contests(parsed) == {
        "GOVERNOR Democratic": {"Tom Wolf", "Kate Ridge"},
        "GOVERNOR Republican": {"Scott Wagner"},
    }
    assert parsed.report.dropped_by_reason()[DropReason.NOT_A_CANDIDATE] == 4  # 2 statistics, 2 write-in lines
    _every_row_once(parsed, len(TEXT_REPORT.splitlines()))


def test_a_tally_with_each_choices_counts_on_the_next_line_reads_name_and_party(tmp_path):
    wb = Workbook()
    ws = wb.active
    rows = [
        ["November 3, 2026 General Election"],
        ["Governor", None, None, None, "Governor"],
        [1, 2, 3, "Prov", "Total"],
        ["Mark Udall - Democratic"],
        [420, 472, 262, 5, 1159],
        ["Cory Gardner – Republican"],
        [218, 237, 149, 2, 606],
        ["Bill Hammons –Unity"],
        [1, 2, 1, 0, 4],
        ["Write In - Willoughby"],
        [None, None, None, None, 1],
        [],
        ["Sheriff", None, None, None, "Sheriff"],
        [1, 2, 3, "Prov", "Total"],
        ["John Minor - Republican"],
        [457, 514, 287, 9, 1267],
    ]
    for row in rows:
        ws.append(row)
    path = tmp_path / "tally.xlsx"
    wb.save(path)
    parsed = _read(path, jurisdiction="Summit County")
    assert {r["candidate_name"]: r["party"] for r in parsed.rows} == {
        "Mark Udall": "Democratic",
        "Cory Gardner": "Republican",
        "Bill Hammons": "Unity",
        "John Minor": "Republican",
    }
    assert _contests(parsed) == {"Governor": {"Mark Udall", "Cory Gardner", "Bill Hammons"}, "Sheriff": {"John Minor"}}
    _every_row_once(parsed, len(rows), sheet=ws.title)


@pytest.mark.parametrize(
    "label, party_cell, read",
    [
        ("REP Masters, Blake", "", ("Masters, Blake", "Republican")),
        ("DEM Brandon Neuman", "DEM", ("Brandon Neuman", "Democratic")),
        ("DAR Antonio Pineda", "DAR", ("Antonio Pineda", "DAR")),  # a county's own code, kept as published
        ("DEM - HILLARY CLINTON", "", ("HILLARY CLINTON", "Democratic")),
        ("NON - JOHN A. UNGERSMA", "", ("JOHN A. UNGERSMA", "")),
        ("(R) Trump \\ Pence", "", ("Trump \\ Pence", "Republican")),
        ("(Rep) David A Etienne", "", ("David A Etienne", "Republican")),
        ("DEM JOSEPH R. BIDEN, KAMALA D. HARRIS", "", ("JOSEPH R. BIDEN, KAMALA D. HARRIS", "Democratic")),
        ("JOE MCHUGH, ELIZABETH STORM", "", ("JOE MCHUGH, ELIZABETH STORM", None)),  # a name, not a code
        ("Ted Japp - by Petition", "", ("Ted Japp", None)),
    ],
)
def test_a_party_code_before_a_name_is_the_party_and_the_rest_the_name(label, party_cell, read):
    assert split_choice(label, party_cell) == read


@pytest.mark.parametrize(
    "line, person",
    [("Write-in: Jade Simmons, Claudeliah J. Roze", "Jade Simmons, Claudeliah J. Roze"),
     ("Write-In Robert Corkin", "Robert Corkin"), ("Write-In Totals", None), ("Write-in: Not Assigned", None),
     ("WRITE-IN 124", None), ("Write In Provision", None), ("Jo Write", None)],
)  # fmt: skip
def test_a_declared_write_in_names_a_person_and_a_write_in_line_none(line, person):
    assert named_write_in(line) == person


HEADERLESS = """MN;02;0030;State Representative District 31B;31B;0302;Tom Hackbarth;;R;79;35.11;225
MN;02;0030;State Representative District 31B;31B;0301;Calvin K. Bahr;;R;146;64.89;225
MN;02;0030;State Representative District 31B;31B;0401;Sue Larson;;DFL;131;100.00;131
MN;02;0805;State Representative District 41B;41B;0402;Mary Kunesh-Podein;;DFL;335;81.31;412
MN;02;0805;State Representative District 41B;41B;0401;Jeffrey Alan Wagner;;DFL;77;18.69;412
MN;02;0810;State Representative District 41B;41B;0401;Jeffrey Alan Wagner;;DFL;57;17.87;319
MN;02;0810;State Representative District 41B;41B;0402;Mary Kunesh-Podein;;DFL;262;82.13;319
"""


def test_a_file_without_a_header_row_is_read_from_its_values(tmp_path):
    parsed = _read(_write(tmp_path, "results.txt", HEADERLESS), state="MN", election_type="primary")
    assert _contests(parsed) == {
        "State Representative District 31B Republican": {"Tom Hackbarth", "Calvin K. Bahr"},
        "State Representative District 31B Democratic-Farmer-Labor": {"Sue Larson"},
        "State Representative District 41B Democratic-Farmer-Labor": {"Mary Kunesh-Podein", "Jeffrey Alan Wagner"},
    }
    assert parsed.report.sheets[0].header_row is None  # the first line is a candidate, not a header
    assert parsed.report.dropped_by_reason() == {DropReason.REPEATED_LINE: 2}  # the next precinct's lines
    _every_row_once(parsed, 7)


LONG = """Jurisdiction,PctName,Reportname,CandidateName,TotalVotes
"Perry County, Indiana",CANNELTON 1,President and VP of the US,(R) Trump \\ Pence,87
"Perry County, Indiana",CANNELTON 2,President and VP of the US,(R) Trump \\ Pence,237
"Perry County, Indiana",CANNELTON 1,President and VP of the US,(D) Biden \\ Harris,50
"Perry County, Indiana",CANNELTON 2,President and VP of the US,(D) Biden \\ Harris,61
"Perry County, Indiana",CANNELTON 1,President and VP of the US,Write-In,1
"Perry County, Indiana",CANNELTON 1,County Recorder,(R) Ann Lee,99
"Perry County, Indiana",CANNELTON 1,County Recorder,(D) No Candidate Filed,0
"Perry County, Indiana",CANNELTON 2,County Recorder,(R) Ann Lee,120
"""


def test_a_long_export_names_its_contest_and_choice_columns_by_their_values(tmp_path):
    parsed = _read(_write(tmp_path, "precincts.csv", LONG), state="IN")
    assert _contests(parsed) == {
        "President and VP of the US": {"Trump \\ Pence", "Biden \\ Harris"},
        "County Recorder": {"Ann Lee"},
    }
    assert {r["candidate_name"]: r["party"] for r in parsed.rows}["Ann Lee"] == "Republican"
    mapping = {m["column"]: m["role"] for m in parsed.report.sheets[0].mapping}
    assert mapping["Office (Reportname)"] == "office"
    assert parsed.report.dropped_by_reason() == {DropReason.NOT_A_CANDIDATE: 2, DropReason.REPEATED_LINE: 3}
    _every_row_once(parsed, 9)


def test_a_candidate_list_with_numbers_in_it_is_read_as_a_list(tmp_path):
    text = "Office,Candidate,Party,Vote For,Term\nMayor,Ann Lee,DEM,1,4\nMayor,Bo Chan,REP,1,4\nClerk,Cy Doe,REP,1,2\n"
    parsed = _read(_write(tmp_path, "list.csv", text), jurisdiction="Springfield")
    assert not parsed.report.sheets[0].mapping_note.startswith("read as")
    assert [r["party"] for r in parsed.rows] == ["Democratic", "Republican", "Republican"]  # codes written out


def test_a_sheet_of_precincts_by_candidate_is_read_by_its_candidates_not_its_precincts(tmp_path):
    text = (
        "Governor,,\n,Ann Lee (DEM),Bo Chan (REP)\nPrecinct 1,10,20\nPrecinct 2,30,40\nPrecinct 3,5,6\n"
        "Sheriff,,\n,Cy Doe (DEM),Di Eve (REP)\nPrecinct 1,11,21\nPrecinct 2,31,41\nPrecinct 3,7,8\n"
    )
    parsed = _read(_write(tmp_path, "wide.csv", text))
    assert _contests(parsed) == {"Governor": {"Ann Lee", "Bo Chan"}, "Sheriff": {"Cy Doe", "Di Eve"}}
    assert [r["party"] for r in parsed.rows] == ["Democratic", "Republican"] * 2


def test_a_results_report_without_contest_headings_is_refused_with_what_to_send(tmp_path):
    text = "Ann Lee,120,55%\nBo Chan,90,41%\nWrite-in,3,1%\nOver Votes,1,0%\nUnder Votes,4,2%\n"
    with pytest.raises(UnusableUploadError) as refused:
        _read(_write(tmp_path, "results.csv", text))
    reason = str(refused.value)
    assert "looks like a results report" in reason and "one line per candidate and its contest" in reason
    assert "columns" not in reason


def test_a_one_contest_report_is_read_when_its_lines_are_results(tmp_path):
    text = "City of Springfield Mayoral Runoff,,\nMayor,,\nAnn Lee,120,55%\nBo Chan,90,41%\nWrite-in,3,1%\n"
    text += "Over Votes,1,0%\n"
    parsed = _read(_write(tmp_path, "runoff.csv", text))
    assert _contests(parsed) == {"Mayor": {"Ann Lee", "Bo Chan"}}
    assert {r["jurisdiction"] for r in parsed.rows} == {"City of Springfield"}  # the title's place
    _every_row_once(parsed, 6)


SUMMARY = """Unofficial Election Results
SPRINGFIELD
Contest Name,Candidate Name,Party,Total Votes,Vote For
"Total Precincts Reported","161"
"COUNTY EXECUTIVE","DEM Joshua Siegel","DEM","57008","1"
"COUNTY EXECUTIVE","REP Roger MacLean","REP","36932","1"
"JUDGE OF ELECTION - A11-5","LBR Dan Moss","LBR","17","1"
"JUDGE OF ELECTION - A11-5","DAR Ann Pineda","DAR","412","1"
"HANOVER QUESTION 1","Yes","NON","900","1"
"HANOVER QUESTION 1","No","NON","700","1"
,,"REP-FED","44",
"""


def test_a_summary_export_reads_the_party_code_repeated_before_each_name(tmp_path):
    parsed = _read(_write(tmp_path, "summary.csv", SUMMARY), state="PA")
    assert {r["candidate_name"]: r["party"] for r in parsed.rows} == {
        "Joshua Siegel": "Democratic",
        "Roger MacLean": "Republican",
        "Dan Moss": "Libertarian",
        "Ann Pineda": "DAR",  # the county's own code, as published
    }
    counted = parsed.report.dropped_by_reason()
    assert counted[DropReason.NOT_A_CANDIDATE] == 2  # the precincts-reported line, the line with no choice
    assert counted[DropReason.MEASURE_CHOICE] == 2
    _every_row_once(parsed, 11)


def test_a_refused_results_sheet_still_accounts_for_every_row(tmp_path):
    text = "Ann Lee,120\nBo Chan,90\nWrite-in,3\n\nUnder Votes,4\n"
    with pytest.raises(UnusableUploadError):
        _read(_write(tmp_path, "results.csv", text))
    assert isinstance(results_table(_sheet(text)), str)
    report = IntakeReport()
    assert read_results_layout(_sheet(text), parse_options(ADMIN), None, report, {}, None) == []
    assert report.dropped_by_reason() == {DropReason.RESULTS_UNREAD: 4, DropReason.BLANK: 1}
    assert report.sheets[0].status == "ignored" and "looks like a results report" in report.sheets[0].reason


def _sheet(text: str) -> RawSheet:
    return RawSheet("csv", [line.split(",") if line else [] for line in text.splitlines()])


@pytest.mark.parametrize(
    "name, office, read",
    [("JOSEPH R. BIDEN, KAMALA D. HARRIS", "U.S. President and Vice President", "JOSEPH R. BIDEN / KAMALA D. HARRIS"),
     ("SPENCER J. COX, DEIDRE M. HENDERSON", "Governor and Lt. Governor", "SPENCER J. COX / DEIDRE M. HENDERSON"),
     ("MASTERS, BLAKE", "U.S. President and Vice President", "MASTERS, BLAKE"),  # one person, last name first
     ("SMITH JONES, MARY ANN", "County Clerk", "SMITH JONES, MARY ANN")],
)  # fmt: skip
def test_a_ticket_cell_under_a_ticket_office_is_two_people_not_last_first(name, office, read):
    assert ticket(name, office) == read
