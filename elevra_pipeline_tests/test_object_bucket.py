"""The upload bucket on S3-compatible object storage, against a real local S3 server (moto's, started
here on 127.0.0.1): long listings, deleted keys, sidecar objects, one download per object, an upload
processed end to end with its e-mails and its workbook written back, and its objects put away after."""

import json
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from elevra_pipeline.definitions import defs
from elevra_pipeline.defs.email_sensors import upload_email_sensor
from elevra_pipeline.defs.resources import AppResource, DatabaseResource, EmailResource
from elevra_pipeline.defs.sensors import upload_bucket_sensor
from elevra_pipeline.intake.object_bucket import BucketUrl, ObjectBucket
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.settings import Settings
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.files import file_store
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline_tests.helpers import local_outbox, materialize_upload


def test_bucket_urls_are_checked():
    assert BucketUrl.parse("s3://elevra/uploads/") == BucketUrl("elevra", "uploads/")
    assert str(BucketUrl.parse("s3://elevra")) == "s3://elevra/"
    with pytest.raises(ValueError, match="not an s3://bucket/prefix URL"):
        BucketUrl.parse("/data/uploads")


def test_listing_reads_every_page_survives_deleted_keys_and_sees_new_content(s3):
    for i in range(1205):  # more than one page of 1,000 keys
        s3.put_object(Bucket="elevra", Key=f"uploads/list-{i:04d}.csv", Body=f"name\nAnn {i}\n".encode())
    s3.put_object(Bucket="elevra", Key="uploads/list-0000.csv.json", Body=b"{}")  # a sidecar, not an upload
    s3.put_object(Bucket="elevra", Key="uploads/.hidden.csv", Body=b"x")
    s3.put_object(Bucket="elevra", Key="elsewhere/other.csv", Body=b"x")
    bucket = ObjectBucket(s3, BucketUrl.parse("s3://elevra/uploads"))
    new, cursor = bucket.list_new({})
    assert len(new) == len(cursor) == 1205

    for i in range(5):  # deleted, including the last key listed: the next look is not thrown off
        s3.delete_object(Bucket="elevra", Key=f"uploads/list-{1204 - i:04d}.csv")
    s3.put_object(Bucket="elevra", Key="uploads/list-0003.csv", Body=b"name\nNew content\n")
    s3.put_object(Bucket="elevra", Key="uploads/later.csv", Body=b"name\nBo\n")
    new, cursor = bucket.list_new(cursor)
    assert sorted(o.key for o in new) == ["uploads/later.csv", "uploads/list-0003.csv"]
    assert len(cursor) == 1201 and bucket.list_new(cursor)[0] == []


def _sensor_resources(s3_endpoint: str, db_url: str) -> dict:
    """What the bucket and e-mail sensors get, wired from this test's environment."""
    return {
        "app": AppResource.from_settings(Settings.from_env()),
        "database": DatabaseResource(url=db_url),
        "email": EmailResource(outbox_dir=local_outbox()),
        "s3": S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"),
    }


def _tick(sensor, instance, resources, cursor=None):
    with dg.build_sensor_context(
        instance_ref=instance.get_ref(), cursor=cursor, definitions=defs, resources=resources
    ) as context:
        return sensor.evaluate_tick(context)


def test_an_object_dropped_in_the_bucket_is_processed_end_to_end_with_its_emails(
    s3, s3_endpoint, instance, resources, db_url, outbox, monkeypatch
):
    monkeypatch.setenv("ELEVRA_UPLOAD_BUCKET", "s3://elevra/incoming")
    monkeypatch.setenv("ELEVRA_RESULTS_BUCKET", "s3://elevra/results")
    sensor_resources = _sensor_resources(s3_endpoint, db_url)
    app = sensor_resources["app"]
    s3.upload_file(str(SAMPLE_XLSX), "elevra", "incoming/county.xlsx")
    s3.put_object(
        Bucket="elevra", Key="incoming/county.xlsx.json", Body=json.dumps({"uploader_email": "ann@example.org"})
    )
    s3.upload_file(str(SAMPLE_XLSX), "elevra", "incoming/county_again.xlsx")  # the same bytes again

    first = _tick(upload_bucket_sensor, instance, sensor_resources)
    (request,) = first.run_requests
    repo = DatabaseResource(url=db_url).repository()
    (upload,) = repo.list_uploads()
    assert upload.partition_key == request.partition_key and upload.uploader_email == "ann@example.org"
    assert file_store(Settings.from_env()).exists(upload.stored_path)  # stored: the download was scratch

    instance.add_dynamic_partitions("uploads", [upload.partition_key])
    materialize_upload(upload, instance, {**resources, "app": app})
    emails = _tick(upload_email_sensor, instance, sensor_resources)
    assert "Delivery: 8 sent" in emails.skip_message  # queued, two stages and the final one, to both
    again = _tick(upload_bucket_sensor, instance, sensor_resources, first.cursor)
    assert again.run_requests == []  # nothing new; the finished workbook went back to the bucket

    upload = repo.get_upload_by_id(upload.id)
    key = f"results/{upload.partition_key}.xlsx"
    assert upload.status == "completed" and upload.summary_json["results_url"] == f"s3://elevra/{key}"
    stored = f"incoming/elevra-files/workbooks/{upload.partition_key}.xlsx"  # the pipeline's own files' folder
    assert upload.workbook_path == f"s3://elevra/{stored}"
    assert (
        s3.get_object(Bucket="elevra", Key=key)["Body"].read()
        == s3.get_object(Bucket="elevra", Key=stored)["Body"].read()
    )
    subjects = [n.subject for n in repo.notifications(upload.id)]
    assert len(list(outbox.rglob("*.eml"))) == len(subjects) == 10  # and the duplicate's notice, to both
    assert sum("county_again.xlsx" in s for s in subjects) == 2
    # the finished upload's objects (both copies of its bytes, and the sidecar) left the bucket; its
    # stored copy went when it completed, its workbook stays
    assert _keys(s3, "incoming/") == [stored]


def _keys(s3, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket="elevra", Prefix=prefix).get("Contents", []))


def test_with_move_a_finished_object_goes_under_processed_and_is_never_listed_again(
    s3, s3_endpoint, instance, resources, db_url, monkeypatch
):
    monkeypatch.setenv("ELEVRA_UPLOAD_BUCKET", "s3://elevra/incoming")
    monkeypatch.setenv("ELEVRA_PROCESSED_FILES", "move")
    sensor_resources = _sensor_resources(s3_endpoint, db_url)
    app = sensor_resources["app"]
    body = b"Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n"
    s3.put_object(Bucket="elevra", Key="incoming/nc/one.csv", Body=body)
    s3.put_object(Bucket="elevra", Key="incoming/nc/one.csv.json", Body=b'{"uploader_email": "ann@example.org"}')
    first = _tick(upload_bucket_sensor, instance, sensor_resources)
    (request,) = first.run_requests
    repo = DatabaseResource(url=db_url).repository()
    upload = repo.get_upload(request.partition_key)
    instance.add_dynamic_partitions("uploads", [upload.partition_key])
    materialize_upload(upload, instance, {**resources, "app": app})

    second = _tick(upload_bucket_sensor, instance, sensor_resources, first.cursor)
    moved = f"incoming/processed/{upload.partition_key}/one.csv"
    assert _keys(s3, "incoming/processed/") == [moved, f"{moved}.json"] and _keys(s3, "incoming/nc/") == []
    assert s3.get_object(Bucket="elevra", Key=moved)["Body"].read() == body
    third = _tick(upload_bucket_sensor, instance, sensor_resources, second.cursor)
    assert third.run_requests == [] and "no new objects" in third.skip_message  # processed/ is not listed

    s3.put_object(Bucket="elevra", Key="incoming/nc/one.csv", Body=body)  # dropped again, later
    fourth = _tick(upload_bucket_sensor, instance, sensor_resources, third.cursor)
    assert fourth.run_requests == [] and len(repo.list_uploads()) == 1
    assert "same content and settings as upload" in fourth.skip_message
    assert _keys(s3, "incoming/nc/") == []  # the duplicate is put away like the first


def test_a_key_longer_than_a_file_name_may_be_is_registered_under_a_shortened_name(
    s3, s3_endpoint, instance, sqlite_url, monkeypatch
):
    """Issue 26: a 300-byte key ("File name too long" on download) between two good objects."""
    monkeypatch.setenv("ELEVRA_UPLOAD_BUCKET", "s3://elevra/incoming")
    resources = _sensor_resources(s3_endpoint, sqlite_url)
    good = b"Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n"
    long_name = "springfield-" + "candidates-" * 26 + ".csv"
    assert len(long_name.encode()) > 290
    for key, body in (
        ("incoming/a.csv", good),
        (f"incoming/{long_name}", good.replace(b"Ann Lee", b"Bo Chan")),
        ("incoming/z.csv", good.replace(b"Ann Lee", b"Cy Park")),
    ):
        s3.put_object(Bucket="elevra", Key=key, Body=body)
    s3.put_object(Bucket="elevra", Key=f"incoming/{long_name}.json", Body=b'{"uploader_email": "ann@example.org"}')

    result = _tick(upload_bucket_sensor, instance, resources)

    uploads = DatabaseResource(url=sqlite_url).repository().list_uploads()
    assert len(uploads) == len(result.run_requests) == 3 and {u.status for u in uploads} == {"queued"}
    (long,) = [u for u in uploads if u.original_filename.startswith("springfield-candidates-")]
    assert len(long.original_filename.encode()) <= 200 and long.original_filename.endswith(".csv")
    assert long.uploader_email == "ann@example.org"  # its sidecar came with it


def test_process_and_retry_keep_the_upload_in_object_storage_and_nothing_on_the_local_disk(
    s3, emulator, local_data, tmp_path, monkeypatch, capsys
):
    """Issue 28: with ELEVRA_STORAGE_URL the stored copy and the workbook are objects; `retry` on another
    machine (nothing local) reads the stored copy from there."""
    from elevra_pipeline import cli

    monkeypatch.setenv("ELEVRA_STORAGE_URL", "s3://elevra/files")
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    path = tmp_path / "council.csv"
    path.write_text("Candidate,Office,City\nAnn Lee,Mayor,Springfield\nBo Chan,Mayor,Springfield\n")
    cli.main(["process", str(path), "--uploader", "ann@example.org"])  # no election date: needs a fix
    repo = Repository(migrated_engine(Settings.from_env().database_url))
    (upload,) = repo.list_uploads()
    assert upload.status == "completed_with_failures"
    assert upload.stored_path == f"s3://elevra/files/archive/{upload.partition_key}/council.csv"
    assert upload.workbook_path == f"s3://elevra/files/workbooks/{upload.partition_key}.xlsx"
    path.unlink()
    capsys.readouterr()

    assert cli.main(["retry", str(upload.id), "--election-date", "2026-11-03"]) == 0

    upload = repo.get_upload_by_id(upload.id)
    assert upload.status == "completed" and '"duplicate_of"' not in capsys.readouterr().out
    assert upload.stored_path is None  # completed: the stored copy is removed, from the bucket too
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="elevra", Prefix="files/")["Contents"]] == [
        f"files/workbooks/{upload.partition_key}.xlsx"
    ]
    assert not (local_data / "archive").exists() and not (local_data / "workbooks").exists()


def test_retention_removes_an_expired_uploads_objects_and_stores_its_archive_in_the_bucket(
    s3, emulator, local_data, tmp_path, instance, monkeypatch
):
    from elevra_pipeline import cli
    from elevra_pipeline.defs.cleanup import retention_cleanup

    monkeypatch.setenv("ELEVRA_STORAGE_URL", "s3://elevra/files")
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    path = tmp_path / "council.csv"
    path.write_text("Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n")
    cli.main(["process", str(path), "--uploader", "ann@example.org", "--keep-raw"])  # its stored copy stays
    settings = Settings.from_env()
    repo = Repository(migrated_engine(settings.database_url))
    (upload,) = repo.list_uploads()
    assert upload.status == "completed" and _keys(s3, "files/") == sorted(
        [f"files/archive/{upload.partition_key}/council.csv", f"files/workbooks/{upload.partition_key}.xlsx"]
    )
    repo.update_upload(upload.id, updated_at=datetime.now(timezone.utc) - timedelta(days=365))

    resources = {
        "app": AppResource.from_settings(settings),
        "database": DatabaseResource(url=settings.database_url),
        "email": EmailResource(outbox_dir=local_outbox()),
    }
    assert retention_cleanup.execute_in_process(instance=instance, resources=resources).success

    (archive,) = _keys(s3, "files/")  # the upload's copy and workbook are gone; what was deleted is archived
    assert archive.startswith("files/archive/expired/expired-") and archive.endswith(".jsonl")
    body = s3.get_object(Bucket="elevra", Key=archive)["Body"].read().decode()
    assert '"table": "uploads"' in body and repo.list_uploads() == []
    assert not (local_data / "archive").exists()
