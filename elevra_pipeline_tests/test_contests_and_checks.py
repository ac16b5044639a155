"""Real filing lists, round 2: every mapping is checked against its values, and every column that
carries meaning is used (status, office description, a second district column, election codes, names)."""

import pytest
from sqlalchemy import select

from elevra_pipeline.defs.resources import DatabaseResource, GeminiResource
from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.contests import (
    combined_district,
    contest_office,
    date_in_code,
    district_in,
    election_kind,
    inferred_election_type,
    not_on_ballot,
    office_party,
    party_spellings,
)
from elevra_pipeline.intake.names import published_name
from elevra_pipeline.intake.options import parse_options
from elevra_pipeline.intake.reader import read_upload
from elevra_pipeline.settings import Settings
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.files import file_store
from elevra_pipeline.storage.models import Candidate
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.registration import register_file
from elevra_pipeline_tests.helpers import materialize_upload


def read(tmp_path, text: str, model=None, **options):
    path = tmp_path / "list.csv"
    path.write_text(text)
    return read_upload(path, parse_options(options), ask_model=model)


@pytest.mark.parametrize(
    "status,off",
    [("Withdrawn", True), ("REMOVED", True), ("Did Not Qualify", True), ("Deceased", True), ("Qualified", False)],
)
def test_a_status_says_who_is_not_on_the_ballot(status, off):
    assert not_on_ballot(status) is off


@pytest.mark.parametrize(
    "office,description,contest",
    [
        ("CITY LEGISLATIVE BODY", "LONDON CITY COUNCIL", "LONDON CITY COUNCIL"),  # the description says more
        ("STR", "STATE REPRESENTATIVE", "STATE REPRESENTATIVE"),  # a code
        ("Mayor of Springfield", "Mayor", "Mayor of Springfield"),  # the office already says it
        ("County Commissioner", "District 3", "County Commissioner"),  # only a district
    ],
)
def test_the_office_description_wins_when_it_says_more(office, description, contest):
    assert contest_office(office, description) == contest


def test_districts_inside_descriptions_and_second_district_columns():
    assert district_in("MAGISTRATE DISTRICT 4") == ("MAGISTRATE", "District 4")
    assert district_in("Judge, Division II") == ("Judge", "Division II")
    assert district_in("DISTRICT COURT JUDGE") == ("DISTRICT COURT JUDGE", "")
    assert combined_district("12", "3", "Group") == "District 12, Group 3"
    assert combined_district("5", "", "Seat") == "5"


def test_an_election_code_holds_the_date_and_the_type():
    assert date_in_code("20261103-GEN") == "2026-11-03" and election_kind("20261103-GEN") == "general"
    assert date_in_code("GEN-2026") is None and election_kind("2026 Primary Election") == "primary"


def row(office, party, day="2026-05-19", district=""):
    return {"jurisdiction": "Hardin", "office": office, "district": district, "party": party, "election_date": day}


def test_the_election_type_comes_from_the_rows_when_nobody_gives_it():
    rivals = [row("Sheriff", "Republican Party"), row("Sheriff", "Republican Party"), row("Judge", "Nonpartisan")]
    assert inferred_election_type(rivals)[0] == "primary"  # one party, two candidates, one office
    tagged = [row("PRESIDENT OF THE UNITED STATES-DEM", ""), row("PRESIDENT OF THE UNITED STATES-DEM", "")]
    assert inferred_election_type(tagged)[0] == "primary"  # an office on one party's ballot
    assert inferred_election_type([row("Sheriff", "R"), row("Sheriff", "D")]) == ("", "")  # the model decides
    # the federal general election day: even a multi-seat contest's two Republicans are a general
    assert inferred_election_type([row("House", "REP", "11/8/2022"), row("House", "REP", "2022-11-08")])[0] == "general"
    # odd-year November: a municipal or a state general, the rows cannot say which
    assert inferred_election_type([row("Council", "DEM", "2025-11-04"), row("Council", "DEM", "2025-11-04")]) == (
        "",
        "",
    )


def test_a_party_misspelt_once_is_the_party_many_rows_give():
    assert party_spellings(["Democrat"] * 50 + ["Demcorat"] * 2 + ["Republican"] * 14 + ["Green"]) == {
        "Demcorat": "Democrat"
    }


def test_a_primary_list_without_a_type_splits_its_parties_and_says_why(tmp_path):
    parsed = read(
        tmp_path,
        "Office,Name,Party\nSheriff,Ann Lee,Republican\nSheriff,Bo Diaz,Republican\nSheriff,Cy Ng,Democrat\n",
        election_date="2026-05-19",
    )
    assert {(r["candidate_name"], r["election_type"], r["primary_party"]) for r in parsed.rows} == {
        ("Ann Lee", "primary", "Republican"),
        ("Bo Diaz", "primary", "Republican"),
        ("Cy Ng", "primary", "Democratic"),  # a known party by its full name (intake.party_codes)
    }
    assert "the 2026-05-19 election is a primary: in 1 contest(s)" in parsed.report.sheets[0].mapping_note


@pytest.mark.parametrize(
    "name,capitals,published",
    [
        ("JOHN MCPEEK", True, "John McPeek"),
        ("ROBERT JONES III", True, "Robert Jones III"),
        ('JOE "TONY" BROWN', True, 'Joe "Tony" Brown'),
        ("O'BRIEN, PAT", True, "Pat O'Brien"),
        ("Smith, John A", False, "John A Smith"),
        ("Anne-Marie deBois", False, "Anne-Marie deBois"),  # the list's own casing is kept
    ],
)
def test_names_as_published(name, capitals, published):
    assert published_name(name, capitals) == published


def test_people_not_on_the_ballot_are_dropped_with_their_status(tmp_path):
    text = (
        "Office,Candidate,Status,Election Date\n"
        "Mayor,ANN LEE,Qualified,2026-11-03\nMayor,BO DIAZ,Withdrawn,2026-11-03\nMayor,CY MCPEEK,Active,2026-11-03\n"
    )
    parsed = read(tmp_path, text)
    assert [r["candidate_name"] for r in parsed.rows] == ["Ann Lee", "Cy McPeek"]
    (dropped,) = parsed.report.dropped
    assert dropped.row == 3 and "not on the ballot" in dropped.reason and "Withdrawn" in dropped.detail
    kept = read(tmp_path, text, include_not_on_ballot=True)
    assert len(kept.rows) == 3


def test_a_status_may_be_flag_columns_or_a_note_in_the_name(tmp_path):
    flags = (
        "Office,Last Name,First Name,Withdrawn,Deceased,Election Date\n"
        "CLERK,LEE,ANN,,,2026-05-19\nCLERK,DIAZ,BO,YES,,2026-05-19\nCLERK,MOSS,CY,,Y,2026-05-19\n"
    )
    parsed = read(tmp_path, flags)
    assert [r["candidate_name"] for r in parsed.rows] == ["Ann Lee"]
    assert [d.detail for d in parsed.report.dropped] == ["Bo Diaz: 'Withdrawn'", "Cy Moss: 'Deceased'"]
    noted = (
        "Race,Name,Election Date\n"
        "Mayor,Kurt Evans (Withdrawn 7/27/2022 12:00:00 AM),2022-11-08\nMayor,Ann Lee,2022-11-08\n"
    )
    assert [r["candidate_name"] for r in read(tmp_path, noted).rows] == ["Ann Lee"]


def test_every_column_that_carries_meaning_makes_the_contest(tmp_path):
    text = (
        "Election Code,Office,Office Description,District,Group,Candidate Name,Party\n"
        "20260519-PRI,CITY LEGISLATIVE BODY,LONDON CITY COUNCIL,,,Ann Lee,Democratic\n"
        "20260519-PRI,MAGISTRATE,MAGISTRATE DISTRICT 4,,,Bo Diaz,Republican\n"
        "20260519-PRI,CIRCUIT JUDGE,,12,1,Cy Moss,Democratic\n"
        "20260519-PRI,CIRCUIT JUDGE,,12,2,Di Wu,Democratic\n"
        "20260519-PRI,MAGISTRATE,MAGISTRATE DISTRICT 4,,,Ed Fox,Democratic\n"
        "20260519-PRI,MAGISTRATE,MAGISTRATE DISTRICT 5,5,,Fay Ng,Republican\n"
        "20260519-PRI,MAYOR,MAYOR OF RADCLIFF,,,Gil Ho,NONPARTISAN\n"
    )
    rows = read(tmp_path, text).rows
    contests = [(r["office"], r["district"], r["election_date"], r["election_type"], r["primary_party"]) for r in rows]
    assert contests == [
        ("LONDON CITY COUNCIL", "", "2026-05-19", "primary", "Democratic"),
        ("MAGISTRATE", "District 4", "2026-05-19", "primary", "Republican"),
        ("CIRCUIT JUDGE", "District 12, Group 1", "2026-05-19", "primary", "Democratic"),
        ("CIRCUIT JUDGE", "District 12, Group 2", "2026-05-19", "primary", "Democratic"),
        ("MAGISTRATE", "District 4", "2026-05-19", "primary", "Democratic"),  # another party's primary
        ("MAGISTRATE", "District 5", "2026-05-19", "primary", "Republican"),  # the district said once
        ("MAYOR OF RADCLIFF", "", "2026-05-19", "primary", ""),  # nonpartisan: one contest for all
    ]
    headed = (
        "Heading,Office,District,Candidate Name\n"
        "REPUBLICAN PARTY,County Committee,AD 17,Leo Lacayo\nDEMOCRATIC PARTY,County Committee,AD 17,Ann Lee\n"
    )
    parties = [r["primary_party"] for r in read(tmp_path, headed, election_type="primary").rows]
    assert parties == ["Republican", "Democratic"]  # the ballot heading names the primary
    open_primary = read(tmp_path, text, open_primary=True).rows
    assert {r["primary_party"] for r in open_primary} == {""}


def test_a_county_of_residence_proposed_as_the_date_is_refused_and_the_option_fills_it(tmp_path):
    text = "Who,Office,Polling Place\nAnn Lee,Mayor,Prince George's County\nBo Diaz,Mayor,Prince George's County\n"

    def model(sheet, headers, sample, refused=()):  # right about the name, wrong about the date
        return [("Who", "candidate_name", 0.9), ("Polling Place", "election_date", 0.9)]

    parsed = read(tmp_path, text, model=model, election_date="2026-11-03")
    assert {r["election_date"] for r in parsed.rows} == {"2026-11-03"}
    sheet = parsed.report.sheets[0]
    assert any("'Polling Place' is not the election date (model)" in w for w in sheet.warnings)
    unused = {m["column"]: m.get("why", "") for m in sheet.mapping if m["role"] == "unused"}
    assert "read as dates" in unused["Polling Place"]


def test_a_committee_column_is_not_the_candidate_and_a_surname_column_is_the_last_name(tmp_path):
    text = (
        "Committee,Office,Election Date\n"
        "Biden For President,President,2024-11-05\nFriends of Ann Lee,Mayor,2024-11-05\n"
    )

    def model(sheet, headers, sample, refused=()):
        return [("Committee", "candidate_name", 0.9)]

    with pytest.raises(UnusableUploadError, match="look like committees"):
        read(tmp_path, text, model=model)

    split = "Candidate,First Name,Office,Election Date\nMCPEEK,JOHN,Mayor,2026-11-03\nLEE,ANN,Mayor,2026-11-03\n"
    assert [r["candidate_name"] for r in read(tmp_path, split).rows] == ["John McPeek", "Ann Lee"]


def test_an_office_code_gives_way_to_its_description(tmp_path):
    text = (
        "Office,Office Name Description,Candidate Name,Election Date\n"
        "STR,STATE REPRESENTATIVE,Ann Lee,2026-11-03\nSEN,STATE SENATOR,Bo Diaz,2026-11-03\n"
    )
    rows = read(tmp_path, text).rows
    assert [r["office"] for r in rows] == ["STATE REPRESENTATIVE", "STATE SENATOR"]


def test_a_results_sheet_is_refused_for_what_it_is(tmp_path):
    text = "Precinct,Ann Lee,Bo Diaz,Cy Moss\nWard 1,120,98,4\nWard 2,310,250,12\n"
    with pytest.raises(
        UnusableUploadError, match=r"election results with the choices across the columns \(Ann Lee, Bo Diaz"
    ):
        read(tmp_path, text)


def test_a_wrong_mapping_from_the_model_is_caught_through_the_pipeline(sqlite_url, instance, emulator, tmp_path):
    """The emulator reads 'Polling Place' as the election date (a `poll` header), as a model may."""
    path = tmp_path / "md_filings.csv"
    path.write_text(
        "Who,Running For,Polling Place\n"
        "Ann Lee,Prince George's County Council,Prince George's County\n"
        "Bo Diaz,Prince George's County Council,Prince George's County\n"
    )
    repo = Repository(migrated_engine(sqlite_url))
    options = {"election_date": "2026-06-23"}
    upload = register_file(repo, path, file_store(Settings.from_env()), None, False, options).upload
    instance.add_dynamic_partitions("uploads", [upload.partition_key])
    gemini = GeminiResource(base_url=emulator.base_url, database_url=sqlite_url, backoff_base_seconds=0.01)
    materialize_upload(upload, instance, {"database": DatabaseResource(url=sqlite_url), "gemini": gemini})

    done = repo.get_upload(upload.partition_key)
    mapping = {m["column"]: m for m in done.intake_json["sheets"][0]["mapping"]}
    assert mapping["Polling Place"]["role"] == "unused"
    assert "proposed as election_date by the model layer" in mapping["Polling Place"]["why"]
    assert done.status == "completed" and {b.election_date for b in repo.batches(upload.id)} == {"2026-06-23"}


def test_a_refused_proposal_goes_back_to_the_model_with_the_reason(sqlite_url, instance, emulator, tmp_path):
    """The emulator first takes 'Committee Name' for the candidate (a `name` header); told that its
    values are committees, it finds the people in 'Filer'."""
    path = tmp_path / "fec_style.csv"
    path.write_text(
        "Committee Name,Filer,Office,Election Date\n"
        "Friends of Ann Lee,Ann Lee,Mayor of Springfield,2026-11-03\n"
        "Bo Diaz for Mayor,Bo Diaz,Mayor of Springfield,2026-11-03\n"
    )
    repo = Repository(migrated_engine(sqlite_url))
    upload = register_file(repo, path, file_store(Settings.from_env()), None, False, {}).upload
    instance.add_dynamic_partitions("uploads", [upload.partition_key])
    gemini = GeminiResource(base_url=emulator.base_url, database_url=sqlite_url, backoff_base_seconds=0.01)
    materialize_upload(upload, instance, {"database": DatabaseResource(url=sqlite_url), "gemini": gemini})

    done = repo.get_upload(upload.partition_key)
    sheet = done.intake_json["sheets"][0]
    roles = {m["column"]: m["role"] for m in sheet["mapping"]}
    assert (roles["Filer"], roles["Committee Name"]) == ("candidate_name", "unused")
    assert "asked again" in sheet["mapping_note"]
    assert sum(a.stage == "columns" for a in repo.attempts(upload.id)) == 2
    with repo.engine.begin() as conn:
        assert sorted(conn.execute(select(Candidate.name)).scalars()) == ["Ann Lee", "Bo Diaz"]


def test_an_office_names_its_party_primary_only_with_a_party_word():
    assert office_party("United States President Republican Party") == "Republican Party"
    assert office_party("Sheriff (R)") == "R" and office_party("PRESIDENT OF THE UNITED STATES-DEM") == "DEM"
    assert office_party("State Senator Green Party") == "Green Party"
    assert office_party("DEM-President of the United States") == "DEM" and office_party("Re-Elect Board") == ""
    # a seat named for the judge it was (Georgia's qualifying list): no Green Party primary
    assert office_party("Judge of Superior Court, Dublin Judicial Circuit (Green)") == ""
    assert office_party("Court of Appeals (Reform)") == ""
