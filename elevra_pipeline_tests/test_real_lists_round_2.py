"""More real public lists, each checked against an independent script (fixtures/real/expected/*.py,
pandas only, no project code) that says what a careful person sees on the ballot: contests and people.

Each list is processed with at most the election date given as an option, as an admin would: the
election type comes from the rows (one party with rivals in one contest is that party's primary).
Every row ends as a candidate, a re-upload or a dropped row with its reason (withdrawn and
unenrolled people are dropped as not on the ballot)."""

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select

from elevra_pipeline.defs.resources import DatabaseResource, GeminiResource
from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.batching import group_rows
from elevra_pipeline.intake.options import parse_options
from elevra_pipeline.intake.reader import read_upload
from elevra_pipeline.settings import Settings
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.files import file_store
from elevra_pipeline.storage.models import Candidate, Election
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.registration import register_file
from elevra_pipeline_tests.helpers import assert_every_row_accounted, materialize_upload

REAL = Path(__file__).parent / "fixtures" / "real"
# each list with what its admin would give (its expected-values script's `admin`: the date, the state,
# and the place of a one-county list that never names it), nothing else
LISTS = (
    "a_sd_2022_general_candidate_list.csv",
    "a_ky_2026_primary_ohio_county_filings.csv",
    "b_ky_hardin_county_2026_primary_filings.csv",
    "a_ma_2024_district_county_candidates.xlsx",
    "b_sf_2018_11_general_contest_candidates.tsv",
)
# Georgia's statewide export (3,880 rows, 2,731 contests) is checked at intake: the whole pipeline takes
# minutes on it (it stores 2,731 elections, and 3,831 people: two names its key folds together).
GEORGIA = "c_ga_2024_primary_qualified_candidates.xlsx"


def expected(name: str) -> dict:
    script = REAL / "expected" / f"{Path(name).stem}.py"
    spec = importlib.util.spec_from_file_location(script.stem, script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.expected()


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_real_list_becomes_the_contests_and_people_its_independent_script_counts(
    name, sqlite_url, instance, emulator
):
    repo = Repository(migrated_engine(sqlite_url))
    want = expected(name)
    admin = {k: v for k, v in want["admin"].items() if v}
    upload = register_file(repo, REAL / name, file_store(Settings.from_env()), None, False, admin).upload
    instance.add_dynamic_partitions("uploads", [upload.partition_key])
    gemini = GeminiResource(base_url=emulator.base_url, database_url=sqlite_url, backoff_base_seconds=0.01)
    materialize_upload(upload, instance, {"database": DatabaseResource(url=sqlite_url), "gemini": gemini})

    done = repo.get_upload(upload.partition_key)
    rows = assert_every_row_accounted(done)
    with repo.engine.begin() as conn:  # a person: a name in a place (the same name in two counties is two)
        people = set(conn.execute(select(Candidate.name_key, Election.jurisdiction).join(Election)).all())
    assert (done.status, rows["needs_reupload"]) == ("completed", 0)
    assert (repo.count(Election), len(people)) == (want["contests"], want["candidates"])


def test_georgias_statewide_export_groups_into_the_contests_and_people_its_script_counts():
    """Each party's primary is already its own office there (`Sheriff (R)`); a clerk's `*DO NOT USE*`
    entry is dropped; a person is a name in a county."""
    parsed = read_upload(REAL / GEORGIA, parse_options({"election_date": "2024-05-21"}))
    want = expected(GEORGIA)
    people = {(r["candidate_name"].casefold(), r["jurisdiction"].casefold()) for r in parsed.rows}
    assert (len(group_rows(parsed.rows)), len(people)) == (want["contests"], want["candidates"])
    assert any(d.reason == DropReason.MARKED_UNUSED for d in parsed.report.dropped)
