"""One status rule for every view (issue 39, item 2): `shown_state` decides where an upload stands from
its stored status and its batches, and the page's live view, the API's document and list, `status` and
the e-mails all show what it decides. A reverted upload is never completed; a race an admin skipped is
"skipped by NAME", not a race that needs re-upload; 0 of N races inserted needs a fix."""

from types import SimpleNamespace

import pytest

from elevra_pipeline.api.progress import snapshot
from elevra_pipeline.storage.models import Election
from elevra_pipeline.storage.shown_state import ShownState, Tone, shown_state, state_of, upload_state
from elevra_pipeline.uploads import admin
from elevra_pipeline.uploads.listing import uploads_page
from elevra_pipeline.uploads.status import digest_lines, status_document
from elevra_pipeline_tests.helpers import materialize_upload, register

LIST = (
    "Candidate,Office,City,Date\n"
    "Ann Lee,Mayor,Springfield,2026-11-03\n"
    "Bo Chan,Clerk,Springfield,\n"  # no date: that race needs a fix
)


@pytest.mark.parametrize(
    ("status", "batches", "shown"),
    [
        ("queued", {}, ShownState.QUEUED),
        ("processing", {}, ShownState.PROCESSING),  # the file is being read
        ("processing", {"inserted": 3, "pending": 2}, ShownState.PROCESSING),
        ("processing", {"inserted": 3, "waiting_for_model": 1}, ShownState.WAITING_FOR_MODEL),
        ("blocked_configuration", {"waiting_for_model": 4}, ShownState.WAITING_FOR_MODEL),
        ("completed", {"inserted": 5}, ShownState.COMPLETED),
        ("completed_with_failures", {"needs_reupload": 7}, ShownState.NEEDS_FIX),  # 0 of 7 inserted
        ("completed_with_failures", {"inserted": 5, "needs_reupload": 2}, ShownState.NEEDS_FIX),
        ("completed_with_failures", {"inserted": 4, "skipped": 1}, ShownState.COMPLETED_WITH_SKIPPED),
        ("completed_with_failures", {"inserted": 3, "skipped": 1, "needs_reupload": 1}, ShownState.NEEDS_FIX),
        ("reverted", {"inserted": 5}, ShownState.REVERTED),  # never "completed"
        ("awaiting_approval", {"structured": 5}, ShownState.AWAITING_APPROVAL),
        ("rejected", {}, ShownState.REJECTED),
        ("failed", {}, ShownState.REJECTED),  # its file cannot be used
        ("cancelled", {"inserted": 2, "cancelled": 3}, ShownState.CANCELLED),
    ],
)
def test_the_rule_decides_the_state_from_the_status_and_the_batches(status, batches, shown):
    assert shown_state(status, batches) == shown


def test_a_reverted_upload_is_not_green_and_a_paused_one_says_so():
    assert state_of("reverted", {"inserted": 5}).tone == Tone.ENDED
    assert state_of("completed", {"inserted": 5}).tone == Tone.DONE
    assert state_of("processing", {"pending": 1}, paused=True).label == "processing (paused)"


def _views(repo, upload_id: int) -> dict:
    """The state each view shows for the upload."""
    document = status_document(repo, upload_id)["uploads"][0]
    listed = next(u for u in uploads_page(repo, None, None, None, 1, 20).uploads if u["id"] == upload_id)
    live = snapshot(repo, upload_id)
    return {"document": document["state"], "list": listed["state"], "live": live["state"]}


def test_every_view_says_what_the_rule_says_through_a_skip_and_a_revert(repo, instance, resources, tmp_path, capsys):
    from elevra_pipeline.uploads.status import print_status

    path = tmp_path / "springfield.csv"
    path.write_text(LIST)
    upload = register(repo, path, instance)
    materialize_upload(upload, instance, resources)
    assert set(_views(repo, upload.id).values()) == {"needs_fix"}

    to_fix = next(b for b in repo.batches(upload.id) if b.status == "needs_reupload")
    admin.skip_batch(repo, upload.id, to_fix.batch_key, "the clerk race is not on our ballot", by="ann")
    materialize_upload(upload, instance, resources)
    assert set(_views(repo, upload.id).values()) == {"completed_with_skipped_races"}
    live = snapshot(repo, upload.id)
    assert live["batches"]["needing_attention"] == []  # a skipped race does not need re-upload
    [skipped] = live["batches"]["skipped"]
    assert skipped["by"] == "skipped by ann: the clerk race is not on our ballot"
    assert skipped["race"] == "Springfield Clerk"  # as people name it, not its key
    assert [s["state"] for s in live["stages"]][-2] == "done"  # records inserted: nothing to fix
    batch = next(b for b in status_document(repo, upload.id)["uploads"][0]["batches"] if b["key"] == to_fix.batch_key)
    assert batch["skipped_by"] == "skipped by ann: the clerk race is not on our ballot"

    admin.revert(repo, upload.id, "wrong county")
    assert repo.count(Election) == 0
    views = _views(repo, upload.id)
    assert set(views.values()) == {"reverted"}
    assert status_document(repo, upload.id)["uploads"][0]["state_tone"] == "ended"  # not green
    print_status(repo, upload.id)
    assert f"Upload {upload.id}: springfield.csv [reverted]" in capsys.readouterr().out
    [digest] = digest_lines(repo, [repo.get_upload_by_id(upload.id)])
    assert digest.startswith(f"upload {upload.id} springfield.csv [reverted]")


def test_the_state_of_an_upload_ignores_batches_a_revision_superseded():
    upload = SimpleNamespace(status="completed_with_failures", paused=False)
    batches = [SimpleNamespace(status="inserted"), SimpleNamespace(status="superseded")]
    assert upload_state(upload, batches).state == ShownState.COMPLETED


def test_a_stage_still_to_come_is_never_shown_as_not_needed():
    from elevra_pipeline.api.progress import _stages

    upload = SimpleNamespace(status="processing", workbook_path=None)
    pending = dict(analysis_json=None, structured_json=None, failure_kind=None, status="pending")
    batches = [SimpleNamespace(**pending) for _ in range(3)]  # read, none analysed yet
    states = {s["name"]: s["state"] for s in _stages(upload, batches, running=True, final=False)}
    assert states["batch_analysis"] == "todo" and states["structured_output"] == "todo"

    answered = [SimpleNamespace(**{**pending, "analysis_json": {"can_structure": False}}) for _ in range(3)]
    states = {s["name"]: s["state"] for s in _stages(upload, answered, running=True, final=False)}
    assert states["structured_output"] == "skipped"  # every race ended in analysis: nothing to structure
