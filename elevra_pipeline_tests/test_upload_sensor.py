"""The upload bucket sensor registers each new file once, adds its partition and requests its run."""

import json
import os
import shutil
import time

import pytest
from dagster_aws.s3 import S3Resource

from elevra_pipeline.defs import sensors
from elevra_pipeline.defs.resources import DatabaseResource, GeminiResource
from elevra_pipeline.defs.sensors import upload_bucket_sensor
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline_tests.helpers import materialize_upload, sensor_context


@pytest.fixture
def bucket(local_data):
    folder = local_data / "uploads"
    folder.mkdir(parents=True)
    return folder


def _drop(bucket, name, content=None):
    path = bucket / name
    if content is None:
        shutil.copy(SAMPLE_XLSX, path)
    else:
        path.write_bytes(content)
    old = time.time() - 60  # settled: not still being copied in
    os.utime(path, (old, old))
    return path


def _tick(instance, sqlite_url, cursor=None):
    with sensor_context(instance, sqlite_url, cursor, s3=S3Resource()) as context:
        return upload_bucket_sensor.evaluate_tick(context)


def test_new_file_becomes_one_partition_and_one_run(instance, sqlite_url, bucket):
    _drop(bucket, "county.xlsx")
    (bucket / "county.xlsx.json").write_text(json.dumps({"uploader_email": "ann@example.org"}))
    result = _tick(instance, sqlite_url)
    assert len(result.run_requests) == 1
    key = result.run_requests[0].partition_key
    assert result.dynamic_partitions_requests[0].partition_keys == [key]
    assert result.run_requests[0].run_key == key
    repo = DatabaseResource(url=sqlite_url).repository()
    assert repo.get_upload(key).uploader_email == "ann@example.org"


def test_same_file_dropped_again_is_not_registered_twice(instance, sqlite_url, bucket):
    _drop(bucket, "county.xlsx")
    first = _tick(instance, sqlite_url)
    instance.add_dynamic_partitions("uploads", [first.run_requests[0].partition_key])
    again = _tick(instance, sqlite_url, first.cursor)
    _drop(bucket, "county copy.xlsx")  # same bytes, new name
    third = _tick(instance, sqlite_url, again.cursor)
    without_cursor = _tick(instance, sqlite_url)  # even a lost cursor never re-registers
    assert [len(r.run_requests) for r in (again, third, without_cursor)] == [0, 0, 0]
    assert len(DatabaseResource(url=sqlite_url).repository().list_uploads()) == 1


def test_unsupported_file_is_rejected_with_a_reason_not_dropped(instance, sqlite_url, bucket):
    _drop(bucket, "candidates.pdf", b"%PDF-1.4")
    result = _tick(instance, sqlite_url)
    (upload,) = DatabaseResource(url=sqlite_url).repository().list_uploads()
    assert upload.status == "rejected" and "upload an .xlsx file, or a .csv" in upload.failure_reason
    # it has its partition, and a run that fails with the reason: the Dagster UI shows every upload
    assert [r.partition_key for r in result.run_requests] == [upload.partition_key]
    assert result.dynamic_partitions_requests[0].partition_keys == [upload.partition_key]


def test_sidecar_json_files_and_files_still_being_written_are_not_uploads(instance, sqlite_url, bucket):
    (bucket / "x.xlsx.json").write_text("{}")
    shutil.copy(SAMPLE_XLSX, bucket / "fresh.xlsx")  # modified just now
    assert _tick(instance, sqlite_url).run_requests == []


def test_a_poison_object_between_good_ones_is_rejected_with_its_reason_and_the_pass_goes_on(
    instance, sqlite_url, bucket, monkeypatch, emulator
):
    """Issue 26: a sidecar whose address is a list, an empty file and a file that vanishes while the
    pass looks at it, between good files: the good ones get their partition and run."""
    good = b"Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n"
    _drop(bucket, "a.csv", good)
    _drop(bucket, "b.csv", good.replace(b"Ann Lee", b"Bo Chan"))
    (bucket / "b.csv.json").write_text('{"uploader_email": ["clerk@example.org"]}')
    _drop(bucket, "c.csv", b"")
    _drop(bucket, "d.csv", good.replace(b"Ann Lee", b"Cy Park"))
    _drop(bucket, "e.csv", good.replace(b"Ann Lee", b"Di Rose"))
    real_register = sensors.register_file

    def vanishing(repo, path, *args, **kwargs):
        if path.name == "d.csv":
            raise FileNotFoundError(f"[Errno 2] No such file or directory: '{path}'")  # deleted meanwhile
        return real_register(repo, path, *args, **kwargs)

    monkeypatch.setattr(sensors, "register_file", vanishing)
    result = _tick(instance, sqlite_url)

    uploads = {u.original_filename: u for u in DatabaseResource(url=sqlite_url).repository().list_uploads()}
    assert (uploads["a.csv"].status, uploads["e.csv"].status) == ("queued", "queued")
    assert uploads["b.csv"].status == "rejected" and "uploader_email" in uploads["b.csv"].failure_reason
    assert uploads["c.csv"].status == "rejected" and "is empty (0 bytes)" in uploads["c.csv"].failure_reason
    assert "d.csv" not in uploads
    requested = {r.partition_key for r in result.run_requests}
    assert requested == {uploads[name].partition_key for name in ("a.csv", "b.csv", "c.csv", "e.csv")}

    resources = {  # the runs the sensor asked for: the good files end completed
        "database": DatabaseResource(url=sqlite_url),
        "gemini": GeminiResource(base_url=emulator.base_url, database_url=sqlite_url),
    }
    instance.add_dynamic_partitions("uploads", sorted(requested))
    repo = DatabaseResource(url=sqlite_url).repository()
    for name in ("a.csv", "e.csv"):
        materialize_upload(uploads[name], instance, resources)
        assert repo.get_upload_by_id(uploads[name].id).status == "completed"


def test_an_upload_registered_without_its_partition_gets_it_and_its_run_on_the_next_pass(
    instance, sqlite_url, bucket, local_data
):
    from elevra_pipeline.settings import Settings
    from elevra_pipeline.storage.files import file_store
    from elevra_pipeline.uploads.registration import register_file

    repo = DatabaseResource(url=sqlite_url).repository()
    path = local_data / "lost.csv"
    path.write_text("Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n")
    lost = register_file(repo, path, file_store(Settings.from_env())).upload  # a pass that broke after this
    result = _tick(instance, sqlite_url)
    assert [(r.partition_key, r.tags["elevra/kind"]) for r in result.run_requests] == [(lost.partition_key, "repaired")]
    assert result.dynamic_partitions_requests[0].partition_keys == [lost.partition_key]


def test_an_object_that_cannot_be_read_is_tried_on_three_ticks_then_rejected_with_its_reason(
    instance, sqlite_url, bucket, monkeypatch
):
    good = b"Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n"
    _drop(bucket, "locked.csv", good)
    real_register = sensors.register_file
    failing = {"locked.csv": 3}  # fails on three ticks in a row, then would read

    def unreadable(repo, path, *args, **kwargs):
        if failing.get(path.name):
            failing[path.name] -= 1
            raise PermissionError(f"[Errno 13] Permission denied: '{path}'")
        return real_register(repo, path, *args, **kwargs)

    monkeypatch.setattr(sensors, "register_file", unreadable)
    repo = DatabaseResource(url=sqlite_url).repository()

    def tick(cursor=None):  # as the daemon does: the partitions a tick asks for are added
        result = _tick(instance, sqlite_url, cursor)
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions("uploads", list(request.partition_keys))
        return result

    first = tick()
    assert repo.list_uploads() == [] and "try 1 of 3" in first.skip_message  # a passing fault: tried again
    _drop(bucket, "later.csv", good.replace(b"Ann Lee", b"Bo Chan"))
    second = tick(first.cursor)
    assert [u.original_filename for u in repo.list_uploads()] == ["later.csv"]  # the others go on meanwhile
    third = tick(second.cursor)

    (locked,) = [u for u in repo.list_uploads() if u.original_filename == "locked.csv"]
    assert locked.status == "rejected" and "could not be read from the upload bucket" in locked.failure_reason
    assert "Permission denied" in locked.failure_reason
    assert [r.partition_key for r in third.run_requests] == [locked.partition_key]
    assert [n.kind for n in repo.notifications(locked.id)] == ["rejected"]  # to the team: no address is known
    assert tick(third.cursor).run_requests == []  # once, not on every tick
