"""Helpers for tests that run the pipeline: register a file and materialize its partition."""

from pathlib import Path

import dagster as dg

from elevra_pipeline.pipeline.assets import upload_assets
from elevra_pipeline.pipeline.registration import register_file
from elevra_pipeline.pipeline.resources import AppResource
from elevra_pipeline.settings import Settings


def register(repo, path: Path, instance, uploader: str | None = None):
    upload = register_file(repo, path, Settings.from_env().archive_dir, uploader).upload
    instance.add_dynamic_partitions("uploads", [upload.partition_key])
    return upload


def local_outbox() -> str:
    """This test's outbox folder, as the wiring would choose it."""
    return str(Settings.from_env().outbox_dir)


def app_resource() -> AppResource:
    """The pipeline's settings as the wiring would fill them, from this test's environment."""
    return AppResource.from_settings(Settings.from_env())


def materialize_upload(upload, instance, resources, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        upload_assets,
        instance=instance,
        partition_key=upload.partition_key,
        resources={"app": app_resource(), **resources},
        raise_on_error=raise_on_error,
    )


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")
