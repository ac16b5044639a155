"""The code location loads: assets, the upload job and the sensors are all there."""

from elevra_pipeline.definitions import defs


def test_definitions_load_with_every_asset_job_and_sensor():
    repository = defs.get_repository_def()
    assert {k.to_user_string() for k in repository.asset_graph.get_all_asset_keys()} == {
        "upload_batches", "batch_analysis", "structured_output", "inserted_records", "result_workbook"}
    assert repository.get_job("process_upload") is not None
    assert {s.name for s in repository.sensor_defs} == {
        "upload_bucket_sensor", "upload_email_sensor", "upload_failure_email_sensor", "model_recovery_sensor"}
