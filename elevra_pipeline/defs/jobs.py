import dagster as dg

from elevra_pipeline.defs.partitions import uploads_partitions

# A run that outlives this is failed by the daemon's run monitoring (dagster.yaml), and the failure
# sensor tells the team; a run may be long (quota-bound), never endless.
MAX_RUNTIME_SECONDS = 6 * 3600

# In-process: the multiprocess executor costs 1-2 s per step and our steps run in order anyway.
process_upload_job = dg.define_asset_job(
    "process_upload",
    selection=dg.AssetSelection.groups("uploads"),
    partitions_def=uploads_partitions,
    executor_def=dg.in_process_executor,
    tags={"dagster/max_runtime": str(MAX_RUNTIME_SECONDS)},
)
