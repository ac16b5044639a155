"""The HTTP API and upload page for Elevra's admin app (`elevra-pipeline serve`): upload a file and get
its id at once, follow it live (Server-Sent Events), fetch its workbook, and take the admin actions the
CLI and the `upload_admin` job take. Plain FastAPI over the domain packages: no Dagster here; the runs
it needs are requested by the Dagster layer's sensors (`defs/api_requests.py`)."""
