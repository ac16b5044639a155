"""The whole pipeline on an ephemeral instance against the emulator, on SQLite and PostgreSQL."""

import dagster as dg
from openpyxl import load_workbook

from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.models import Candidate, CandidateLink, Election, ElectionLink, ModelAttempt
from elevra_pipeline.workbook.builder import SHEETS
from elevra_pipeline_tests.helpers import attention, materialize_upload, metadata, register


def test_sample_upload_becomes_records_and_a_workbook(repo, instance, resources):
    upload = register(repo, SAMPLE_XLSX, instance, "ann@example.org")
    result = materialize_upload(upload, instance, resources)

    assert metadata(result, "upload_batches")["batches"] == 22
    assert (repo.count(Election), repo.count(Candidate)) == (22, 66)
    assert repo.count(ElectionLink) >= 22 and repo.count(CandidateLink) >= 40
    attempts = repo.attempts(upload.id)
    assert len(attempts) == 44 and all(a.status == "ok" and a.input_tokens > 0 for a in attempts)
    assert {a.model for a in attempts} == {"gemini-3.1-pro-preview", "gemini-3.8-flash"}
    done = repo.get_upload(upload.partition_key)
    assert done.status == "completed"
    book = load_workbook(done.workbook_path)
    assert book.sheetnames == list(SHEETS)
    assert book["Elections"].max_row == 23 and book["Candidates"].max_row == 67
    names = {row[0] for row in book["Candidates"].iter_rows(min_row=2, values_only=True)}
    assert "José Álvarez" in names
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "no_batch_failed_a_model_stage": True,
        "every_row_accounted_for": True,
        "workbook_matches_database": True,
    }


def test_rematerializing_makes_no_model_call_and_duplicates_nothing(repo, instance, resources):
    upload = register(repo, SAMPLE_XLSX, instance)
    materialize_upload(upload, instance, resources)
    counts = (repo.count(Election), repo.count(Candidate), repo.count(CandidateLink), repo.count(ElectionLink))

    again = materialize_upload(upload, instance, resources)

    assert repo.count(ModelAttempt) == 44
    assert metadata(again, "batch_analysis")["already_done_skipped"] == 22
    assert (repo.count(Election), repo.count(Candidate), repo.count(CandidateLink), repo.count(ElectionLink)) == counts
    # a run with nothing left to do still describes the whole upload (its stage e-mails read this)
    stages = repo.get_upload_by_id(upload.id).summary_json["stages"]
    assert [
        (stages[s]["processed"], stages[s]["succeeded"], stages[s]["failed"]) for s in ("analysis", "structure")
    ] == [(22, 22, 0), (22, 22, 0)]


def test_two_spreadsheets_naming_the_same_election_share_its_records(repo, instance, resources, tmp_path):
    first = tmp_path / "first.csv"
    first.write_text("Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n")
    second = tmp_path / "second.csv"
    second.write_text(
        "Name,Position,Location,Election Date\nann lee,mayor,springfield,11/3/2026\nBo "
        "Chan,Mayor,Springfield,11/3/2026\n"
    )
    for path in (first, second):
        materialize_upload(register(repo, path, instance), instance, resources)
    assert (repo.count(Election), repo.count(Candidate)) == (1, 2)


def test_html_and_formula_cells_are_neutralized_end_to_end(repo, instance, resources, tmp_path):
    path = tmp_path / "nasty.csv"
    path.write_text(
        'Candidate,Office,City,Date,Website\n"=HYPERLINK(""http://evil"")",Mayor,Springfield,2026-11-03,javascript:alert(1)\n'
        "<b>Bo</b> Chan,Mayor,Springfield,2026-11-03,bochan.org\n"
    )
    upload = register(repo, path, instance)
    materialize_upload(upload, instance, resources)
    book = load_workbook(repo.get_upload(upload.partition_key).workbook_path)
    rows = list(book["Candidates"].iter_rows(min_row=2, values_only=True))
    assert {r[0] for r in rows} == {'\'=HYPERLINK("http://evil")', "Bo Chan"}
    assert {r[3] for r in rows} == {None, "https://bochan.org"}
    assert all(not str(c).startswith("=") for r in rows for c in r if c)


def test_corrupt_upload_fails_with_reason_and_no_crash(repo, instance, resources, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04garbage")
    upload = register(repo, path, instance)
    result = materialize_upload(upload, instance, resources, raise_on_error=False)
    assert not result.success
    failed = repo.get_upload(upload.partition_key)
    assert failed.status == "failed" and "not a valid Excel workbook" in failed.failure_reason
    assert repo.count(ModelAttempt) == 0


def test_a_partition_that_needs_a_fix_says_why_and_names_its_races_on_its_page(repo, instance, resources, tmp_path):
    path = tmp_path / "mixed.csv"  # the sheriff's race names no place: it needs the uploader's fix
    path.write_text(
        "Office,Jurisdiction,Candidate,Date\n"
        "Mayor,Springfield,Ann Lee,2026-11-03\nMayor,Springfield,Bo Chan,2026-11-03\n"
        "Sheriff,,Cy Doe,2026-11-03\n"
    )
    upload = register(repo, path, instance)
    result = materialize_upload(upload, instance, resources)

    (record,) = instance.fetch_observations(dg.AssetKey("result_workbook"), limit=5).records
    observation = record.asset_observation
    assert observation.partition == upload.partition_key
    assert observation.metadata["needs attention"].value == attention(result)
    races = observation.metadata["races to fix"].value
    assert "| Sheriff, 2026-11-03 | no place for this local race" in races and "Mayor" not in races
