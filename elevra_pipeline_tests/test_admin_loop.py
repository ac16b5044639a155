"""The admin's loop, walked as the admin walks it: a file the e-mail says to fix is fixed as told,
without changing a byte of it, and the Dagster UI shows the upload as it stands at each step
(read the way the UI reads it: the partition status of the result workbook)."""

import hashlib
import json
import os
import time

import dagster as dg
import openpyxl
import pytest
from dagster_aws.s3 import S3Resource

from elevra_pipeline import cli
from elevra_pipeline.definitions import defs
from elevra_pipeline.defs.partitions import uploads_partitions
from elevra_pipeline.defs.resources import DatabaseResource, EmailResource
from elevra_pipeline.defs.sensors import upload_bucket_sensor
from elevra_pipeline.notifications.mailer import Mailer
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.models import Election
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.attention import attention_line
from elevra_pipeline_tests.helpers import (
    app_resource,
    assert_every_row_accounted,
    attention,
    local_outbox,
    materialize_upload,
    register,
)
from elevra_pipeline_tests.ticks import failure_tick, read_outbox, tick

UNDATED = (
    "Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,\nBo Chan,Sheriff,Springfield,\n"
    "Cy Park,Clerk,Springfield,2026-11-03\n"
)
FAILED, MATERIALIZED = dg.AssetPartitionStatus.FAILED, dg.AssetPartitionStatus.MATERIALIZED


def in_the_ui(instance, key: str):
    """What the asset catalog shows for the upload's partition (and what "failed partitions" selects)."""
    return instance.get_status_by_partition(dg.AssetKey("result_workbook"), [key], uploads_partitions)[key]


def settled(path):
    old = time.time() - 60  # not still being copied in
    os.utime(path, (old, old))
    return path


def bucket_tick(instance, db_url, cursor=None):
    resources = {
        "app": app_resource(),
        "database": DatabaseResource(url=db_url),
        "email": EmailResource(outbox_dir=local_outbox()),
        "s3": S3Resource(),
    }
    with dg.build_sensor_context(
        instance_ref=instance.get_ref(), cursor=cursor, definitions=defs, resources=resources
    ) as context:
        result = upload_bucket_sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(uploads_partitions.name, list(request.partition_keys))
    return result


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_without_its_date_then_its_late_sidecar_with_the_date_completes_every_election(
    db_url, instance, resources, local_data, outbox
):
    bucket = local_data / "uploads"
    bucket.mkdir(parents=True)
    path = bucket / "undated.csv"
    path.write_text(UNDATED)
    settled(path)
    first = bucket_tick(instance, db_url)
    (request,) = first.run_requests
    repo = Repository(migrated_engine(db_url))
    upload = repo.get_upload(request.partition_key)
    result = materialize_upload(upload, instance, resources)

    assert repo.get_upload_by_id(upload.id).status == "completed_with_failures" and repo.count(Election) == 1
    assert attention(result).startswith("'undated.csv': 2 of 3 races need a fix from the uploader (2 races: no")
    assert f"`elevra-pipeline retry {upload.id} …`" in attention(result)
    on_the_page = attention_line(repo.get_upload_by_id(upload.id), repo.batches(upload.id), commands=False)
    assert on_the_page.endswith("send the file again with the fix (see the e-mail)")  # the page has its own way
    assert in_the_ui(instance, upload.partition_key) == FAILED  # red, and picked by a failed-partitions backfill
    notifier = Notifier(repo, Mailer(local_outbox()))
    assert notifier.notify_stage(repo.get_upload_by_id(upload.id), "final")  # to the team only: no uploader yet

    before = digest(path)
    side = path.with_name("undated.csv.json")  # the fix the e-mail asks for, arriving after the file
    side.write_text(json.dumps({"election_date": "2026-11-03", "uploader_email": "ann@example.org"}))
    second = bucket_tick(instance, db_url, first.cursor)
    (again,) = second.run_requests
    assert (again.partition_key, again.run_key, again.tags["elevra/kind"]) == (
        upload.partition_key,
        f"{upload.partition_key}-r2",
        "revision",
    )
    result = materialize_upload(upload, instance, resources)

    done = repo.get_upload_by_id(upload.id)
    rows = assert_every_row_accounted(done)
    assert (done.status, repo.count(Election), rows["candidates"], rows["needs_reupload"]) == ("completed", 3, 3, 0)
    assert attention(result) is None and in_the_ui(instance, upload.partition_key) == MATERIALIZED
    assert digest(path) == before  # not a byte changed
    (revision,) = done.summary_json["revisions"]
    assert (revision["revision"], revision["by"], revision["election_date"]) == (2, "sidecar", "2026-11-03")
    superseded = [b for b in repo.batches(upload.id, superseded=True) if b.status == "superseded"]
    assert [b.error_reason for b in superseded] == ["revision 2 of the upload put these rows in other batches"] * 2
    assert bucket_tick(instance, db_url, second.cursor).run_requests == []  # nothing new: nothing to do
    assert notifier.notify_stage(done, "final")
    finals = [(n.recipients, n.subject.split(":")[0]) for n in repo.notifications(upload.id) if n.kind == "final"]
    # the team had the first result e-mail, so theirs is "Updated"; Ann's first one is not
    assert finals == [(["team@elevracommunity.com"], "Done"), (["ann@example.org"], "Done")] + [
        (["team@elevracommunity.com"], "Updated")
    ]


@pytest.mark.project_instance
def test_process_with_the_missing_date_reopens_the_known_file_and_the_ui_turns_green(
    db_url, emulator, local_data, monkeypatch, capsys, tmp_path
):
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    monkeypatch.setenv("ELEVRA_DATABASE_URL", db_url)
    path = tmp_path / "undated.csv"
    path.write_text(UNDATED)
    cli.main(["process", str(path)])
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (first["status"], first["elections"], first["batches"]["needs_reupload"]) == (
        "completed_with_failures",
        1,
        2,
    )

    assert cli.main(["process", str(path), "--election-date", "2026-11-03"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    second = json.loads(lines[-1])
    assert second["revised"] == {"election_date": "2026-11-03"} and "duplicate_of" not in second
    assert (second["upload_id"], second["status"], second["elections"]) == (first["upload_id"], "completed", 3)
    assert any("re-opened" in line for line in lines)
    # `process` without DAGSTER_HOME runs in the project's own instance, the one `make run` serves
    instance = dg.DagsterInstance.from_config(str(local_data / "dagster_home"))
    try:
        assert instance.get_dynamic_partitions(uploads_partitions.name) == [first["partition_key"]]
        assert in_the_ui(instance, first["partition_key"]) == MATERIALIZED
    finally:
        instance.dispose()


def test_a_mistyped_option_on_a_new_file_registers_nothing(db_url, emulator, local_data, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    monkeypatch.setenv("ELEVRA_DATABASE_URL", db_url)
    path = tmp_path / "undated.csv"
    path.write_text(UNDATED)
    assert cli.main(["process", str(path), "--election-date", "11/03/2026"]) == 2
    out, err = capsys.readouterr()
    assert "election_date: '11/03/2026' is not a date" in err and "nothing was registered" in err
    assert Repository(migrated_engine(db_url)).list_uploads() == []

    assert cli.main(["process", str(path), "--election-date", "2026-11-03"]) == 0  # corrected: a new upload
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["status"], summary["elections"]) == ("completed", 3) and "duplicate_of" not in summary


def test_a_file_that_cannot_be_used_sends_its_uploader_one_email_and_reads_as_a_data_error(
    db_url, instance, resources, local_data, outbox
):
    bucket = local_data / "uploads"
    bucket.mkdir(parents=True)
    path = bucket / "people.csv"
    path.write_text("Name,Town\nAnn Lee,Springfield\n")
    path.with_name("people.csv.json").write_text(json.dumps({"uploader_email": "clerk@example.org"}))
    settled(path)
    (request,) = bucket_tick(instance, db_url).run_requests
    repo = Repository(migrated_engine(db_url))
    upload = repo.get_upload(request.partition_key)
    result = materialize_upload(upload, instance, resources)
    tick(instance, db_url, EmailResource(outbox_dir=local_outbox()))
    failure_tick(instance, db_url, result)
    failure_tick(instance, db_url, result)

    assert attention(result).startswith("'people.csv' cannot be used: ")  # the run's failure, first line
    assert "no office column" in attention(result)
    assert in_the_ui(instance, upload.partition_key) == FAILED
    # a data error is not a failed check: the workbook's checks ran and passed
    assert [(c.check_name, c.passed) for c in result.get_asset_check_evaluations()] == [
        ("no_batch_failed_a_model_stage", True),
        ("every_row_accounted_for", True),
        ("workbook_matches_database", True),
    ]
    mine = [m["Subject"] for m in read_outbox(outbox) if m["To"] == "clerk@example.org"]
    assert mine == ["Rejected: people.csv could not be processed"]


def test_the_result_workbook_sent_back_with_its_needs_reupload_sheet_filled_in_finishes_the_races(
    db_url, instance, resources, tmp_path
):
    path = tmp_path / "undated.csv"
    path.write_text(UNDATED)
    repo = Repository(migrated_engine(db_url))
    upload = register(repo, path, instance, "ann@example.org")
    materialize_upload(upload, instance, resources)
    book = openpyxl.load_workbook(repo.get_upload_by_id(upload.id).workbook_path)
    sheet = book["Needs Re-upload"]
    column = [c.value for c in sheet[1]].index("Election date") + 1
    for row in range(2, sheet.max_row + 1):  # what the uploader does in Excel
        sheet.cell(row, column, "2026-11-03")
    back = tmp_path / "undated-fixed.xlsx"
    book.save(back)

    returned = register(repo, back, instance, "ann@example.org")
    result = materialize_upload(returned, instance, resources)
    rows = assert_every_row_accounted(repo.get_upload_by_id(returned.id))
    assert attention(result) is None and (rows["candidates"], repo.count(Election)) == (2, 3)  # none twice
    assert repo.get_upload_by_id(upload.id).status == "completed"

    again = materialize_upload(upload, instance, resources)  # the earlier upload, materialized again: green
    rows = assert_every_row_accounted(repo.get_upload_by_id(upload.id))
    assert attention(again) is None and (rows["candidates"], rows["sent_again"], rows["needs_reupload"]) == (1, 2, 0)
    assert repo.count(Election) == 3


def test_a_changed_file_of_the_same_name_replaces_the_earlier_upload_and_both_say_so(
    db_url, instance, resources, tmp_path
):
    from elevra_pipeline.uploads.status import status_document

    repo = Repository(migrated_engine(db_url))
    first_path = tmp_path / "first" / "undated.csv"
    first_path.parent.mkdir()
    first_path.write_text(UNDATED)
    first = register(repo, first_path, instance, "ann@example.org")
    materialize_upload(first, instance, resources)
    fixed = tmp_path / "undated.csv"  # the uploader fixed the file itself: a new file, the same name
    fixed.write_text(UNDATED.replace("Springfield,\n", "Springfield,2026-11-03\n"))
    second = register(repo, fixed, instance, "ann@example.org")
    result = materialize_upload(second, instance, resources)

    assert attention(result) is None and repo.count(Election) == 3  # the race done before is not doubled
    assert repo.get_upload_by_id(first.id).status == "completed"
    uploads = {u["id"]: u for u in status_document(repo)["uploads"]}
    assert uploads[second.id]["replaces"] == {"upload_id": first.id, "file": "undated.csv", "how": "replaced"}
    assert uploads[first.id]["replaced_by"] == {"upload_id": second.id, "file": "undated.csv", "how": "replaced"}
    summary = dict(
        openpyxl.load_workbook(repo.get_upload_by_id(second.id).workbook_path)["Summary"].iter_rows(values_only=True)
    )
    assert summary["Replaces upload"] == f"{first.id} (undated.csv, replaced)"


def test_the_upload_admin_job_reads_a_failed_upload_again_once_its_cause_is_fixed(
    db_url, instance, resources, tmp_path, monkeypatch
):
    from elevra_pipeline.defs.admin_job import upload_admin
    from elevra_pipeline.defs.resources import GeminiBatchesResource

    monkeypatch.setenv("ELEVRA_INTAKE_MAX_ROWS", "2")  # a limit set too low for this list
    path = tmp_path / "dated.csv"
    path.write_text(UNDATED.replace("Springfield,\n", "Springfield,2026-11-03\n"))
    repo = Repository(migrated_engine(db_url))
    upload = register(repo, path, instance, "ann@example.org")
    first = materialize_upload(upload, instance, resources)
    assert repo.get_upload_by_id(upload.id).status == "failed" and "cannot be used" in attention(first)

    monkeypatch.delenv("ELEVRA_INTAKE_MAX_ROWS")  # the team raised the limit: read the file again
    job = dg.Definitions(
        jobs=[upload_admin],
        resources={
            "database": DatabaseResource(url=db_url),
            "email": EmailResource(outbox_dir=local_outbox()),
            "app": app_resource(),
            "gemini_batches": GeminiBatchesResource(),
        },
    ).resolve_job_def("upload_admin")
    config = {"action": "retry", "upload_id": upload.id, "reason": "intake limit raised"}
    assert job.execute_in_process(
        run_config={"ops": {"apply_upload_admin_action": {"config": config}}}, instance=instance
    ).success
    again = materialize_upload(upload, instance, resources)
    assert attention(again) is None and repo.get_upload_by_id(upload.id).status == "completed"
    assert repo.get_upload_by_id(upload.id).summary_json["revisions"][-1]["retry"] == "intake limit raised"
