"""The upload bucket sensor registers each new file once, adds its partition and requests its run."""

import json
import os
import shutil
import time

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from elevra_pipeline.definitions import defs
from elevra_pipeline.defs.resources import DatabaseResource, EmailResource
from elevra_pipeline.defs.sensors import upload_bucket_sensor
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline_tests.helpers import app_resource, local_outbox


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
    with dg.build_sensor_context(
        instance_ref=instance.get_ref(),
        cursor=cursor,
        definitions=defs,
        resources={
            "app": app_resource(),
            "database": DatabaseResource(url=sqlite_url),
            "email": EmailResource(outbox_dir=local_outbox()),
            "s3": S3Resource(),
        },
    ) as context:
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
