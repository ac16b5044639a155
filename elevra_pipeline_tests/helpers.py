"""Helpers for tests that run the pipeline: register a file and materialize its partition."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from elevra_pipeline.defs.assets import upload_assets
from elevra_pipeline.defs.resources import AppResource, DatabaseResource, EmailResource
from elevra_pipeline.settings import Settings
from elevra_pipeline.storage.files import file_store
from elevra_pipeline.uploads.registration import register_file


def register(repo, path: Path, instance, uploader: str | None = None):
    upload = register_file(repo, path, file_store(Settings.from_env()), uploader).upload
    instance.add_dynamic_partitions("uploads", [upload.partition_key])
    return upload


def local_outbox() -> str:
    """This test's outbox folder, as the wiring would choose it."""
    return str(Settings.from_env().outbox_dir)


def app_resource() -> AppResource:
    """The pipeline's settings as the wiring would fill them, from this test's environment."""
    return AppResource.from_settings(Settings.from_env())


def materialize_upload(upload, instance, resources, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    """One run of the upload's assets. An upload that needs attention ends its run with a `Failure`
    on the result workbook, after writing it: that is an outcome, not an error of the test; any other
    failed step is raised (unless `raise_on_error=False`)."""
    result = dg.materialize(
        upload_assets,
        instance=instance,
        partition_key=upload.partition_key,
        resources={"app": app_resource(), **resources},
        raise_on_error=False,
    )
    unexpected = [e for e in result.get_step_failure_events() if attention_failure(e) is None]
    if raise_on_error and unexpected:
        error = unexpected[0].step_failure_data.error
        raise AssertionError(f"step {unexpected[0].step_key} failed: {error.message if error else unexpected[0]}")
    return result


def attention_failure(event):
    """The `Failure` a result workbook raises for an upload that needs attention, else None."""
    data = event.step_failure_data
    return data.user_failure_data if event.step_key == "result_workbook" and data.user_failure_data else None


def attention(result: dg.ExecuteInProcessResult) -> str | None:
    """The one line the run's failure gives for an upload that needs attention (None: a clean run)."""
    found = [f for e in result.get_step_failure_events() if (f := attention_failure(e))]
    return found[0].description if found else None


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    for event in result.get_step_failure_events():  # an upload that needs attention: on its failure
        if event.step_key == asset and (failure := attention_failure(event)):
            return {k: v.value for k, v in failure.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def process_command(env: dict, path: Path, uploader: str = "ann@example.org") -> subprocess.Popen:
    """`elevra-pipeline process PATH` in its own process (its JSON line on stdout), as an admin runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "elevra_pipeline.cli", "process", str(path), "--uploader", uploader],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def assert_every_row_accounted(upload):
    rows = upload.summary_json["rows"]
    outcomes = ("header", "candidates", "needs_reupload", "sent_again", "dropped", "in_progress")
    assert rows["read"] == sum(rows.get(k, 0) for k in outcomes)
    assert rows.get("in_progress", 0) == 0
    return rows


def sensor_context(instance, db_url: str, cursor: str | None = None, **resources) -> dg.SensorEvaluationContext:
    """A sensor's context as the daemon builds it: the code location's definitions, the app, the database
    and the local outbox (and whatever else a sensor needs, e.g. `s3=S3Resource()`)."""
    from elevra_pipeline.definitions import defs  # the whole code location, only for the tests that tick

    return dg.build_sensor_context(
        instance_ref=instance.get_ref(),
        cursor=cursor,
        definitions=defs,
        resources={
            "app": app_resource(),
            "database": DatabaseResource(url=db_url),
            "email": EmailResource(outbox_dir=local_outbox()),
            **resources,
        },
    )
