"""The three layers of the tests, one per test module: `pytest -m unit` (`make test-fast`), `-m dagster`, `-m system`.

- unit: no Dagster and no other process: the domain packages, with the in-process fakes (the Gemini
  emulator on a loopback port, the capture server) and SQLite;
- dagster: definitions, sensors and assets in this process (`materialize`, sensor ticks, `process`);
- system: a Dagster daemon or `dg`, several processes, PostgreSQL, S3, a browser or nginx.
A module's PostgreSQL cases (`db_url[postgres]` and the PostgreSQL fixtures) are system whatever its layer.
"""

import re
from functools import cache
from pathlib import Path

import pytest

SYSTEM = {
    "test_api_fuzz",  # the API served in another process, fuzzed
    "test_api_page",  # a browser
    "test_auth_proxy",  # nginx
    "test_bench_cpu",
    "test_cluster_simulation",
    "test_configuration_errors",  # the code location loaded in a subprocess, S3
    "test_crash_resume",  # a `process` killed and started again
    "test_object_bucket",  # S3
    "test_one_run_per_upload",  # `process` in several processes
    "test_production_postgres",  # the daemon on PostgreSQL
    "test_quota_multiprocess",
}
DAGSTER = {
    "test_adaptive_limits",  # one `process` run
    "test_admin_loop",
    "test_admin_transitions",
    "test_api",
    "test_api_listing",
    "test_async_calls",
    "test_batch_mode",
    "test_call_cost",  # one `process` run
    "test_change_webhook",
    "test_cleanup",
    "test_cli",  # `process` runs the Dagster job
    "test_contests_and_checks",
    "test_dates_and_column_names",  # one `process` run
    "test_definitions",
    "test_deploy_configs",
    "test_email_notifications",
    "test_email_reliability",
    "test_incumbents",
    "test_intake_bombs",
    "test_long_cells",
    "test_model_trust",
    "test_operations",
    "test_pipeline_end_to_end",
    "test_pipeline_fallback",
    "test_real_candidate_lists",
    "test_real_lists_round_2",
    "test_record_merge",
    "test_review",
    "test_shown_state",
    "test_status_counts",
    "test_sanitize",
    "test_silent_endpoint",
    "test_todays_gemini",
    "test_upload_sensor",
    "test_withdrawals",
}
POSTGRES_FIXTURES = {"postgres_url", "postgres_base_url", "dagster_postgres_url"}
USES_DAGSTER = re.compile(
    r"^\s*(?:from|import) (?:dagster|elevra_pipeline\.defs|elevra_pipeline\.definitions)\b|materialize_upload|"
    r"main\(\[\"process\"",
    re.M,
)


@cache
def module_layer(path: Path) -> str:
    """A module in neither list is unit, unless it uses Dagster: then it must be listed."""
    name = path.stem
    if name in SYSTEM:
        return "system"
    if name in DAGSTER:
        return "dagster"
    if USES_DAGSTER.search(path.read_text(encoding="utf-8")):
        raise pytest.UsageError(f"{name} uses Dagster: add it to DAGSTER or SYSTEM in elevra_pipeline_tests/layers.py")
    return "unit"


def layer_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    if (callspec and callspec.params.get("db_url") == "postgres") or POSTGRES_FIXTURES & set(item.fixturenames):
        return "system"
    return module_layer(Path(str(item.fspath)))
