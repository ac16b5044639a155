"""Lines that name no person are never candidates; a contest of choices is a ballot measure; an
incumbent's mark and a title line's report date are not data; a name keeps every part."""

import pytest

from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.ballot_lines import incumbent_mark, measure_lines, not_a_candidate
from elevra_pipeline.intake.names import published_name
from elevra_pipeline.intake.options import parse_options
from elevra_pipeline.intake.reader import read_upload, title_date


@pytest.mark.parametrize(
    "line",
    ["Write-in", "WRITE-INS", "Write In Votes", "Scattering", "Over Votes", "UNDERVOTES", "Total", "Total Votes Cast",
     "NO PREFERENCE", "Uncommitted", "Uncommitted Delegates", "None of these candidates", "Blank Votes",
     "Qualified Write-Ins"],
)  # fmt: skip
def test_a_line_that_names_no_person_is_not_a_candidate(line):
    assert not_a_candidate(line)


@pytest.mark.parametrize("name", ["Jon Tester", "Noah Write", "Ford Total", "Blanca Over", "Uncle Sam Jones"])
def test_a_person_is_a_candidate_whatever_their_name_contains(name):
    assert not not_a_candidate(name)


@pytest.mark.parametrize(
    "lines",
    [["Yes", "No"], ["For", "Against"], ["APPROVED", "REJECTED"], ["Retain", "Do Not Retain"],
     ["Bonds Yes", "Bonds No", "Over Votes"], ["For the Levy", "Against the Levy"]],
)  # fmt: skip
def test_a_contest_of_choices_is_a_ballot_measure(lines):
    assert measure_lines(lines)


@pytest.mark.parametrize("lines", [["Ann Lee", "Bo Chan"], ["Yes", "Ann Lee"], ["Over Votes", "Under Votes"], []])
def test_a_contest_with_a_person_or_without_a_choice_is_no_measure(lines):
    assert not measure_lines(lines)


@pytest.mark.parametrize(
    "marked, name",
    [("*Jon Tester", "Jon Tester"), ("Jon Tester*", "Jon Tester"), ("Jon Tester (I)", "Jon Tester"),
     ("JON TESTER (INC.)", "JON TESTER"), ("Jon Tester, Incumbent", "Jon Tester")],
)  # fmt: skip
def test_an_incumbents_mark_sets_the_flag_and_leaves_the_name(marked, name):
    assert incumbent_mark(marked) == (name, True)


def test_a_name_without_a_mark_is_not_an_incumbent():
    assert incumbent_mark("Ann (Annie) Lee") == ("Ann (Annie) Lee", False)


@pytest.mark.parametrize(
    "published, stored",
    [("MARQUIS L LAUDE", "Marquis L Laude"), ("JOHN ST CLAIR", "John St Clair"),
     ("JAMES MAC DONALD", "James Mac Donald"), ("MARY DE LA CRUZ", "Mary de la Cruz"),
     ("DR JOHN SMITH", "Dr John Smith"), ("SMITH, JOHN A", "John A Smith"),
     ("FRANCIS T. CRIMMINS, JR.", "Francis T. Crimmins Jr."), ("MCPEEK, JOHN", "John McPeek")],
)  # fmt: skip
def test_a_name_in_capitals_keeps_every_part_when_it_is_cased(published, stored):
    assert published_name(published, capitals=True) == stored


@pytest.mark.parametrize(
    "title, date",
    [("General Election - November 3, 2026", "2026-11-03"), ("Run date: 12/01/2026", None),
     ("Primary Election 2026 candidates, printed 3/4/2026", None), ("Candidate list as of 11/01/2026", None)],
)  # fmt: skip
def test_a_title_lines_date_is_the_election_date_only_when_it_says_election(title, date):
    assert title_date([[title]]) == date


def test_write_ins_and_a_measure_are_dropped_with_their_reasons_and_the_measure_reported(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text(
        "Contest,Candidate,Votes\n"
        "Sheriff,*Ann Lee,100\nSheriff,Bo Chan,90\nSheriff,Write-in,3\nSheriff,Over Votes,1\n"
        "Proposition 1,Yes,120\nProposition 1,No,70\n"
    )
    parsed = read_upload(path, parse_options({"election_date": "2026-11-03"}))
    assert [(r["candidate_name"], r["incumbent"]) for r in parsed.rows] == [("Ann Lee", True), ("Bo Chan", False)]
    assert parsed.report.dropped_by_reason() == {DropReason.NOT_A_CANDIDATE: 2, DropReason.MEASURE_CHOICE: 2}
    assert [m["contest"] for m in parsed.report.measures] == ["Proposition 1"]


def test_a_measure_listed_under_every_precinct_is_one_measure(tmp_path):
    path = tmp_path / "precincts.csv"
    lines = ["Precinct,Contest Name,Candidate Name,Votes"]
    for precinct in ("Toledo 1A", "Toledo 1B", "Toledo 1C"):
        lines += [f"{precinct},Sheriff,Ann Lee,10", f"{precinct},Sheriff,Bo Chan,9"]
        lines += [f"{precinct},Issue 3 Library Levy,FOR THE TAX LEVY,5", f"{precinct},Issue 3 Library Levy,AGAINST,4"]
    path.write_text("\n".join(lines) + "\n")
    parsed = read_upload(path, parse_options({"election_date": "2018-11-06", "state": "OH", "jurisdiction": "Lucas"}))
    assert [m["contest"] for m in parsed.report.measures] == ["Issue 3 Library Levy"]
    assert parsed.report.dropped_by_reason()[DropReason.MEASURE_CHOICE] == 6
    assert {(r["candidate_name"], r["district"]) for r in parsed.rows} == {("Ann Lee", ""), ("Bo Chan", "")}
