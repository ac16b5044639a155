"""Admin actions follow the upload's state (issue 36): revert only what was published, approve and
discard only an upload in review, retry nothing cancelled… Everything else is refused with one sentence,
the same in the command line, the `upload_admin` job and the HTTP API.

The table below is the specification, written out by hand: `y` allowed, `-` refused, `p` allowed only
when the upload published records (a discarded upload published none)."""

import dagster as dg
import pytest

from elevra_pipeline.storage.batch_rules import UploadStatus
from elevra_pipeline.storage.models import Candidate
from elevra_pipeline.uploads.transitions import AdminAction, choices, refusal

TABLE = """
                          redo skip pause resume cancel retry revert approve discard
queued                     y    y    y     y      y      y     p      -       -
processing                 y    y    y     y      y      -     -      -       -
waiting_for_model          y    y    y     y      y      y     p      -       -
blocked_configuration      y    y    y     y      y      y     p      -       -
completed                  y    -    -     -      -      y     p      -       -
completed_with_failures    y    y    -     -      y      y     p      -       -
failed                     -    -    -     -      y      y     p      -       -
rejected                   -    -    -     -      y      y     p      -       -
cancelled                  -    -    -     -      -      -     p      -       -
reverted                   -    -    -     -      -      -     -      -       -
awaiting_approval          y    y    -     -      -      -     -      y       y
"""


def _cells():
    lines = TABLE.strip().splitlines()
    actions = lines[0].split()
    for line in lines[1:]:
        status, *marks = line.split()
        for action, mark in zip(actions, marks, strict=True):
            yield status, action, mark


def test_the_table_names_every_state_and_every_action():
    cells = list(_cells())
    assert {s for s, _, _ in cells} == set(UploadStatus) and {a for _, a, _ in cells} == set(AdminAction)


@pytest.mark.parametrize("status, action, mark", list(_cells()))
def test_each_state_allows_exactly_the_actions_of_the_table(status, action, mark):
    published, unpublished = (
        refusal(7, status, AdminAction(action), True),
        refusal(7, status, AdminAction(action), False),
    )
    assert (published is None, unpublished is None) == {"y": (True, True), "p": (True, False), "-": (False, False)}[
        mark
    ]
    for sentence in filter(None, (published, unpublished)):
        assert sentence.startswith(f"{action} refused: upload 7 ")


@pytest.mark.parametrize("status", list(UploadStatus))
def test_the_pages_buttons_are_the_tables_row(status):
    """`choices` (the page's buttons, in the live events) says for each action what the table says."""
    row = {action: mark for s, action, mark in _cells() if s == status}
    shown = choices(7, status, published=True)
    assert {action for action, why in shown.items() if why is None} == {a for a, m in row.items() if m in "yp"}
    assert all(why.startswith(f"{action} refused") for action, why in shown.items() if why)


@pytest.mark.parametrize(
    "status, action, published, sentence",
    [
        ("cancelled", "revert", False, "revert refused: upload 7 was cancelled and published no records; revert undoes "
         "the records an upload published"),
        ("completed", "approve", True, "approve refused: upload 7 has completed; only an upload in review (awaiting "
         "approval) can be approved"),
        ("cancelled", "retry", True, "retry refused: upload 7 was cancelled; send the file again instead"),
        ("completed", "cancel", True, "cancel refused: upload 7 has completed; revert undoes its records"),
    ],
)  # fmt: skip
def test_a_refusal_says_why_and_what_to_do_instead(status, action, published, sentence):
    assert refusal(7, status, AdminAction(action), published) == sentence


def _discarded(repo):
    """An upload in review whose staged records were dropped: cancelled, nothing published."""
    return repo.add_upload(
        partition_key="review-0123456789",
        content_hash="0123456789",
        original_filename="review.csv",
        status=UploadStatus.CANCELLED,
        uploader_email="ann@example.org",
    )


REFUSED = "revert refused: upload 1 was cancelled and published no records"


def test_revert_after_discard_is_refused_alike_by_the_cli_the_job_and_the_api(
    db_url, repo, instance, monkeypatch, capsys
):
    from elevra_pipeline.cli import main
    from elevra_pipeline.defs.admin_job import upload_admin
    from elevra_pipeline.defs.resources import DatabaseResource, EmailResource, GeminiBatchesResource
    from elevra_pipeline_tests.api_helpers import AS_ADMIN, api_client
    from elevra_pipeline_tests.helpers import app_resource, local_outbox

    upload = _discarded(repo)
    monkeypatch.setenv("ELEVRA_DATABASE_URL", db_url)

    assert main(["revert", str(upload.id)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {REFUSED}")

    job = dg.Definitions(
        jobs=[upload_admin],
        resources={
            "database": DatabaseResource(url=db_url),
            "email": EmailResource(outbox_dir=local_outbox()),
            "app": app_resource(),
            "gemini_batches": GeminiBatchesResource(),
        },
    ).resolve_job_def("upload_admin")
    run = job.execute_in_process(
        run_config={"ops": {"apply_upload_admin_action": {"config": {"action": "revert", "upload_id": upload.id}}}},
        instance=instance,
        raise_on_error=False,
    )
    (failure,) = run.get_step_failure_events()
    assert not run.success and failure.step_failure_data.user_failure_data.description.startswith(REFUSED)

    answer = api_client(monkeypatch, db_url).post(f"/uploads/{upload.id}/revert", headers=AS_ADMIN)
    assert answer.status_code == 409 and answer.json()["detail"].startswith(REFUSED)

    after = repo.get_upload_by_id(upload.id)
    assert after.status == "cancelled" and repo.notifications(upload.id) == []  # no "Reverted" e-mail
    assert repo.count(Candidate) == 0
