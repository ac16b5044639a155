"""Review before publishing (issue 27, item 3): an upload in review changes nothing visible until it
is approved; its e-mail and workbook say what would change; discard drops it."""

import json

from openpyxl import load_workbook

from elevra_pipeline.storage.models import Candidate, Election, RecordChange
from elevra_pipeline.uploads import review
from elevra_pipeline_tests.helpers import attention, materialize_upload, register

LIST = (
    "Candidate,Office,City,Date,Party\n"
    "Ann Lee,Mayor,Springfield,2026-11-03,Democratic\n"
    "Bo Chan,Mayor,Springfield,2026-11-03,Green\n"
)


def _in_review(tmp_path, name="review.csv"):
    path = tmp_path / name
    path.write_text(LIST)
    (tmp_path / f"{name}.json").write_text(json.dumps({"review": True, "uploader_email": "ann@example.org"}))
    return path


def test_an_upload_in_review_publishes_nothing_until_approved(repo, instance, resources, tmp_path):
    upload = register(repo, _in_review(tmp_path), instance)
    result = materialize_upload(upload, instance, resources)

    assert (repo.count(Election), repo.count(Candidate), repo.count(RecordChange)) == (0, 0, 0)
    staged = repo.get_upload_by_id(upload.id)
    assert staged.status == "awaiting_approval"
    assert "awaits approval: 1 races staged" in attention(result)  # the partition is red in the UI, with the way on
    assert staged.summary_json["changes"]["counts"]["candidate"]["new"] == 2
    sheet = load_workbook(staged.workbook_path)["Changes"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        "Springfield Mayor General Election",  # what would be added, a line each
        "Ann Lee, Springfield Mayor General Election",
        "Bo Chan, Springfield Mayor General Election",
        "Elections: 1 new; candidates: 2 new",
    ]

    shown = review.changes_shown(staged)  # GET /uploads/{id}/changes: the page's preview
    assert shown["staged"] and [(r["record"], r["action"]) for r in shown["rows"]] == [
        ("Springfield Mayor General Election", "new"),
        ("Ann Lee, Springfield Mayor General Election", "new"),
        ("Bo Chan, Springfield Mayor General Election", "new"),
    ]

    review.approve(repo, upload.id)
    result = materialize_upload(upload, instance, resources)

    assert attention(result) is None and repo.get_upload_by_id(upload.id).status == "completed"
    assert (repo.count(Election), repo.count(Candidate)) == (1, 2)
    done = review.changes_shown(repo.get_upload_by_id(upload.id))
    assert not done["staged"] and done["counts"]["candidate"]["new"] == 2


def test_discard_drops_the_staged_races_and_publishes_nothing(repo, instance, resources, tmp_path):
    upload = register(repo, _in_review(tmp_path), instance)
    materialize_upload(upload, instance, resources)
    print(review.discard(repo, upload.id, "wrong county"))
    materialize_upload(upload, instance, resources)
    assert repo.get_upload_by_id(upload.id).status == "cancelled"
    assert (repo.count(Election), repo.count(Candidate)) == (0, 0)


def test_process_with_review_then_approve_from_the_command_line(tmp_path, capsys):
    from elevra_pipeline.cli import main

    path = tmp_path / "cli.csv"
    path.write_text(LIST)
    assert main(["process", str(path), "--review"]) == 0
    staged = json.loads([line for line in capsys.readouterr().out.splitlines() if line.startswith("{")][-1])
    assert staged["status"] == "awaiting_approval" and staged["candidates"] == 0
    assert main(["approve", str(staged["upload_id"])]) == 0
    done = json.loads([line for line in capsys.readouterr().out.splitlines() if line.startswith("{")][-1])
    assert (done["status"], done["candidates"]) == ("completed", 2)
    from elevra_pipeline.settings import Settings
    from elevra_pipeline.storage.database import migrated_engine
    from elevra_pipeline.storage.repository import Repository

    repo = Repository(migrated_engine(Settings.from_env().database_url))
    emails = [(n.kind, n.subject) for n in repo.notifications(staged["upload_id"])]
    assert [kind for kind, _ in emails] == [
        "queued",
        "analysis_complete",
        "structure_complete",
        "awaiting_approval",
        "final",
    ]
    assert emails[3][1].startswith("For review: what cli.csv would change")

    assert main(["revert", str(staged["upload_id"]), "--reason", "wrong county"]) == 0
    reverted = [n for n in repo.notifications(staged["upload_id"]) if n.kind == "reverted"]
    assert len(reverted) == 1 and reverted[0].subject.startswith(
        "Reverted: what cli.csv did to the records is undone"
    )  # the team
    assert "(wrong county): 0 value(s) it had set or changed are back" in reverted[0].text_body
    assert (repo.count(Election), repo.count(Candidate)) == (0, 0)  # only it had given them


def test_a_withdrawal_in_an_upload_in_review_shows_in_its_preview_and_waits_for_approval(
    repo, instance, resources, tmp_path
):
    first = tmp_path / "filings.csv"
    first.write_text("Candidate,Office,City,Date\nKurt Evans,Mayor,Springfield,2026-11-03\n")
    materialize_upload(register(repo, first, instance), instance, resources)
    later = tmp_path / "update.csv"
    later.write_text(
        "Candidate,Office,City,Date,Status\n"
        "Kurt Evans,Mayor,Springfield,2026-11-03,Withdrawn\n"
        "Ann Lee,Mayor,Springfield,2026-11-03,Qualified\n"
    )
    (tmp_path / "update.csv.json").write_text(json.dumps({"review": True}))
    upload = register(repo, later, instance)
    materialize_upload(upload, instance, resources)

    rows = repo.get_upload_by_id(upload.id).summary_json["changes"]["rows"]
    assert {"field": "status", "old": "", "new": "Withdrawn", "action": "set"}.items() <= next(
        r for r in rows if r["field"] == "status"
    ).items()
    with repo.unit_of_work() as s:
        assert s.query(Candidate).filter_by(name="Kurt Evans").one().status is None  # not yet
    review.approve(repo, upload.id)
    materialize_upload(upload, instance, resources)
    with repo.unit_of_work() as s:
        assert s.query(Candidate).filter_by(name="Kurt Evans").one().status == "Withdrawn"
