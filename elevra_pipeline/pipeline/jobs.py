import dagster as dg

from elevra_pipeline.pipeline.partitions import uploads_partitions

# In-process: the multiprocess executor costs 1-2 s per step and our steps run in order anyway.
process_upload_job = dg.define_asset_job("process_upload", selection=dg.AssetSelection.groups("uploads"),
                                         partitions_def=uploads_partitions, executor_def=dg.in_process_executor)
