"""A deployment that is set up wrong gets one line from every command (issue 36): an unreachable
database, a URL that is no database, a missing bucket. The line names the setting to check, never a
password, and no traceback is shown unless `--verbose` asks for it."""

import subprocess
import sys

import pytest
from sqlalchemy.exc import OperationalError

from elevra_pipeline.cli import main

UNREACHABLE = "postgresql+psycopg2://elevra:s3cret-pass@127.0.0.1:1/elevra"  # nothing listens on port 1
COMMANDS = [
    ["status"],
    ["status", "1", "--json"],
    ["process", "{csv}"],
    ["retry", "1"],
    ["approve", "1"],
    ["discard", "1"],
    ["revert", "1"],
    ["cancel", "1"],
    ["batch", "redo", "1", "springfield-mayor"],
    ["pause", "--all"],
    ["resume", "1"],
    ["quota"],
    ["models"],
    ["api-token", "list"],
    ["serve", "--port", "0"],
]


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "springfield.csv"
    path.write_text("Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n")
    return str(path)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_an_unreachable_database_is_one_line_naming_the_setting(command, csv_file, monkeypatch, capsys):
    monkeypatch.setenv("ELEVRA_DATABASE_URL", UNREACHABLE)

    assert main([part.format(csv=csv_file) for part in command]) == 1

    line = _one_line(capsys)
    assert line.startswith("error: the database postgresql+psycopg2://elevra:***@127.0.0.1:1/elevra cannot be used")
    assert "check ELEVRA_DATABASE_URL" in line and "s3cret-pass" not in line


@pytest.mark.parametrize(
    "url, said",
    [
        ("not a url", "ELEVRA_DATABASE_URL is not a database URL: write it as postgresql+psycopg2://"),
        ("mysql://ann:s3cret-pass@db/elevra", "ELEVRA_DATABASE_URL='mysql://ann:***@db/elevra' is not a database"),
        (
            "postgres://ann:s3cret-pass@db/elevra",
            "ELEVRA_DATABASE_URL='postgres://ann:***@db/elevra' is not a database",
        ),
    ],
)
def test_a_database_url_we_cannot_use_is_one_line_without_its_password(url, said, csv_file, monkeypatch, capsys):
    monkeypatch.setenv("ELEVRA_DATABASE_URL", url)
    for command in (["status"], ["process", csv_file], ["revert", "1"]):
        assert main(command) == 1
        line = _one_line(capsys)
        assert line.startswith(f"error: {said}") and "s3cret-pass" not in line


def test_a_missing_bucket_is_one_line_naming_the_bucket_settings(s3_endpoint, csv_file, monkeypatch, capsys):
    monkeypatch.setenv("ELEVRA_UPLOAD_BUCKET", "s3://no-such-bucket/uploads/")  # never created

    assert main(["process", csv_file]) == 1

    line = _one_line(capsys)
    assert line.startswith("error: the bucket 'no-such-bucket' cannot be used (NoSuchBucket:")
    assert "check ELEVRA_UPLOAD_BUCKET, ELEVRA_STORAGE_URL and ELEVRA_RESULTS_BUCKET" in line


def test_verbose_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("ELEVRA_DATABASE_URL", UNREACHABLE)
    with pytest.raises(OperationalError):
        main(["status", "--verbose"])


def test_the_installed_command_prints_the_one_line_and_nothing_else(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "elevra_pipeline.cli", "status"],
        env={"PATH": "/usr/bin:/bin", "ELEVRA_DATA_DIR": str(tmp_path), "ELEVRA_DATABASE_URL": UNREACHABLE},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: the database ")
