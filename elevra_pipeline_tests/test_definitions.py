"""The code location loads: assets, the upload job and the sensors are all there."""

import re

import pytest

from elevra_pipeline.definitions import defs


def test_definitions_load_with_every_asset_job_and_sensor():
    repository = defs.get_repository_def()
    assert {k.to_user_string() for k in repository.asset_graph.get_all_asset_keys()} == {
        "upload_batches",
        "batch_analysis",
        "structured_output",
        "inserted_records",
        "result_workbook",
    }
    assert repository.get_job("process_upload") is not None
    assert {s.name for s in repository.sensor_defs} == {
        "api_request_sensor",
        "batch_jobs_sensor",
        "upload_bucket_sensor",
        "upload_email_sensor",
        "upload_failure_email_sensor",
        "model_recovery_sensor",
        "team_digest_sensor",
    }


def test_the_data_folder_defaults_to_the_current_directory_never_the_installed_package(monkeypatch, tmp_path):
    from pathlib import Path

    import elevra_pipeline
    from elevra_pipeline.settings import data_dir

    monkeypatch.delenv("ELEVRA_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert data_dir() == tmp_path.resolve() / "data"
    assert not data_dir().is_relative_to(Path(elevra_pipeline.__file__).resolve().parent)


def test_the_domain_packages_never_import_dagster():
    import subprocess
    import sys

    domain = [
        "intake",
        "quotas",
        "gemini",
        "gemini.service",
        "gemini.emulator.server",
        "records",
        "records.validate",
        "storage",
        "storage.repository",
        "notifications",
        "notifications.notifier",
        "notifications.mailer",
        "workbook",
        "workbook.builder",
        "workbook.summary",
        "settings",
        "uploads",
        "uploads.registration",
        "uploads.revision",
        "uploads.status",
        "uploads.attention",
        "uploads.admin",
        "uploads.batch_stage",
        "uploads.transitions",
        "uploads.listing",
        "uploads.prompt_budget",
        "config_problems",
        "api.app",  # the HTTP API: its runs are requested by the Dagster layer's api_request_sensor
        "api.server",
    ]
    code = (
        f"import sys; import {', '.join('elevra_pipeline.' + m for m in domain)}; "
        "print(sorted(m for m in sys.modules if m == 'dagster' or m.startswith('dagster.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_wiring_snapshot_a_change_to_it_shows_in_review():
    """Asset keys, deps, partitions, pools and checks; jobs, sensors and schedules. Update on purpose."""
    from elevra_pipeline.definitions import defs
    from elevra_pipeline.defs.assets import upload_assets

    assets = {
        a.key.to_user_string(): (
            sorted(d.to_user_string() for d in a.asset_deps[a.key]),
            a.partitions_def.name,
            a.op.pool,
            sorted(k.name for k in a.check_keys),
        )
        for a in upload_assets
    }
    assert assets == {
        "upload_batches": ([], "uploads", None, []),
        "batch_analysis": (["upload_batches"], "uploads", "gemini", []),
        "structured_output": (["batch_analysis"], "uploads", "gemini", []),
        "inserted_records": (["structured_output"], "uploads", None, []),
        "result_workbook": (
            ["inserted_records"],
            "uploads",
            None,
            ["every_row_accounted_for", "no_batch_failed_a_model_stage", "workbook_matches_database"],
        ),
    }
    repository = defs.get_repository_def()
    assert sorted(j.name for j in repository.get_all_jobs() if not j.name.startswith("__")) == [
        "process_upload",
        "retention_cleanup",
        "upload_admin",
    ]
    assert repository.get_job("process_upload").tags["dagster/max_runtime"] == "21600"
    assert sorted(s.name for s in repository.schedule_defs) == [
        "retention_cleanup_schedule",
        "upload_backfill_schedule",
    ]
    assert sorted(s.name for s in repository.sensor_defs) == [
        "api_request_sensor",
        "batch_jobs_sensor",
        "model_recovery_sensor",
        "team_digest_sensor",
        "upload_bucket_sensor",
        "upload_email_sensor",
        "upload_failure_email_sensor",
    ]


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("ELEVRA_BATCH_LEASE_SECONDS", "soon", "ELEVRA_BATCH_LEASE_SECONDS='soon' is not a number"),
        ("ELEVRA_INTAKE_MAX_ROWS", "-5", "ELEVRA_INTAKE_MAX_ROWS='-5' must be greater than 0"),
        ("ELEVRA_INTAKE_MAX_SHEETS", "many", "ELEVRA_INTAKE_MAX_SHEETS='many' is not a number"),
        ("ELEVRA_QUOTAS_FILE", "/no/such/quotas.yaml", "ELEVRA_QUOTAS_FILE='/no/such/quotas.yaml' is not a file"),
    ],
)
def test_an_unusable_setting_is_refused_at_start_up_naming_it(name, value, message, monkeypatch, capsys):
    from elevra_pipeline import cli
    from elevra_pipeline.definitions import build_resources
    from elevra_pipeline.settings import SettingsError

    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=re.escape(message)):
        build_resources()
    assert cli.main(["status"]) == 1 and message in capsys.readouterr().err


def test_an_invalid_quotas_file_is_refused_when_the_code_location_loads(monkeypatch, tmp_path):
    from elevra_pipeline.definitions import build_resources
    from elevra_pipeline.exceptions import QuotaConfigError

    path = tmp_path / "quotas.yaml"
    path.write_text("models:\n  gemini-3.1-pro-preview: {rpm: -1}\n")
    monkeypatch.setenv("ELEVRA_QUOTAS_FILE", str(path))
    with pytest.raises(QuotaConfigError, match="models.gemini-3.1-pro-preview.rpm"):
        build_resources()


def test_dg_finds_the_project_and_loads_its_definitions():
    """The `dg` project conventions: `dg check defs` (what `make run`'s `dg dev` loads) passes."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    venv = Path(sys.executable).parent
    checked = subprocess.run(
        [str(venv / "dg"), "check", "defs"],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "VIRTUAL_ENV": str(venv.parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
