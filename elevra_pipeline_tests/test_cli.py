"""The command line: `process` prints progress and one JSON line, leaves its e-mails, and resumes."""

import json
import re

from elevra_pipeline import cli
from elevra_pipeline.samples import SAMPLE_XLSX


def test_process_prints_a_json_summary_and_leaves_the_stage_emails(emulator, local_data, monkeypatch, capsys):
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    assert cli.main(["process", str(SAMPLE_XLSX), "--uploader", "ann@example.org"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["status"] == "completed" and summary["batches"] == {
        "total": 22,
        "inserted": 22,
        "needs_reupload": 0,
        "waiting_for_model": 0,
    }
    assert (summary["elections"], summary["candidates"]) == (22, 66)
    assert summary["model_calls"] == {"gemini-3.1-pro-preview": 22, "gemini-3.8-flash": 22}
    assert [line.split(":")[0] for line in lines if line.startswith("[")] == [
        "[1/5] upload_batches",
        "[2/5] batch_analysis",
        "[3/5] structured_output",
        "[4/5] inserted_records",
        "[5/5] result_workbook",
    ]
    kinds = sorted(
        re.sub(r"final-[0-9a-f]{10}", "final", p.name.split("--upload-1-")[1])
        for p in (local_data / "outbox").glob("*.eml")
    )
    assert kinds == sorted(
        f"{k}{copy}.eml"
        for k in ("analysis_complete", "final", "queued", "structure_complete")
        for copy in ("", "-team")
    )

    assert cli.main(["process", str(SAMPLE_XLSX)]) == 0  # the same file again: resumed, nothing redone
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["upload_id"] == summary["upload_id"] and again["model_calls"] == summary["model_calls"]
    assert len(list((local_data / "outbox").glob("*.eml"))) == 8


def test_process_a_corrupt_file_exits_2_with_the_reason_and_its_email(
    emulator, local_data, monkeypatch, capsys, tmp_path
):
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 nope")
    assert cli.main(["process", str(path)]) == 2
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "failed" and "not a valid Excel workbook" in summary["reason"]
    assert [p.name.split("--")[1] for p in (local_data / "outbox").glob("*.eml")] == ["upload-1-rejected-team.eml"]


def test_status_lists_uploads_batches_and_emails(emulator, local_data, monkeypatch, capsys):
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    cli.main(["process", str(SAMPLE_XLSX)])
    capsys.readouterr()
    cli.main(["status"])
    assert "completed" in capsys.readouterr().out
    cli.main(["status", "1"])
    out = capsys.readouterr().out
    assert "e-mails (4)" in out and "inserted" in out and "gemini-3.1-pro-preview" in out


def test_process_honours_the_production_mail_settings(emulator, local_data, monkeypatch, capsys, tmp_path):
    from elevra_pipeline_tests.capture_server import CaptureServer

    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    monkeypatch.setenv("RESEND_API_KEY", "re_test_key")
    capture = CaptureServer().start()
    monkeypatch.setenv("ELEVRA_RESEND_API_URL", capture.url)
    try:
        assert cli.main(["process", str(SAMPLE_XLSX), "--uploader", "ann@example.org"]) == 0
    finally:
        capture.stop()
    assert [r["status"] for r in capture.requests] == [200] * 8
    assert {r["headers"]["Authorization"] for r in capture.requests} == {"Bearer re_test_key"}
    assert not (local_data / "outbox").exists()

    monkeypatch.delenv("RESEND_API_KEY")
    monkeypatch.setenv("ELEVRA_OUTBOX_DIR", str(tmp_path / "mail"))
    other = tmp_path / "council.csv"
    other.write_text("Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\n")
    assert cli.main(["process", str(other)]) == 0
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 4  # the team's copy of each stage e-mail


def test_process_shows_how_far_each_model_stage_is_and_no_dagster_debug_log(local_data, monkeypatch, capsys, tmp_path):
    from elevra_pipeline.gemini.emulator.server import start_in_thread

    slow = start_in_thread(latency_seconds=0.6)  # answers take a while, as Gemini's do
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", slow.base_url)
    monkeypatch.setenv("ELEVRA_PROGRESS_SECONDS", "0.2")
    path = tmp_path / "council.csv"
    path.write_text(
        "Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\nBo Chan,Clerk,Springfield,2026-11-03\n"
    )
    try:
        assert cli.main(["process", str(path)]) == 0
    finally:
        slow.shutdown()
        slow.server_close()
    out, err = capsys.readouterr()
    assert re.search(r"^\[2/5\] batch_analysis: [01]/2 batches answered", out, re.M)
    assert re.search(r"^\[3/5\] structured_output: [01]/2 batches answered", out, re.M)
    assert " - dagster - DEBUG - " not in err and " - dagster - INFO - " not in err  # `--verbose` shows them
