"""Counts in the status document (issue 39, item 4): `GET /uploads/{id}` says how many elections and
candidates an upload stored, with new / updated / unchanged / refused, for the upload and for each race,
so the admin app need not download the workbook to know."""

from elevra_pipeline.uploads import review
from elevra_pipeline.uploads.status import status_document
from elevra_pipeline_tests.api_helpers import AS_VIEWER, api_client
from elevra_pipeline_tests.helpers import materialize_upload, register

HEADER = "Candidate,Office,City,Date,Party\n"
FIRST = HEADER + "Ann Lee,Mayor,Springfield,2026-11-03,Democratic\nBo Chan,Mayor,Springfield,2026-11-03,Green\n"


def _counts(kind: dict) -> tuple[int, int, int, int, int]:
    return kind["stored"], kind["new"], kind["updated"], kind["unchanged"], kind["refused"]


def _document(repo, upload) -> dict:
    return status_document(repo, upload.id)["uploads"][0]


def _registered(repo, instance, tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return register(repo, path, instance)


def test_a_first_upload_stores_new_records_and_says_so_per_upload_and_per_race(
    monkeypatch, db_url, repo, instance, resources, tmp_path
):
    upload = _registered(repo, instance, tmp_path, "first.csv", FIRST)
    materialize_upload(upload, instance, resources)

    document = api_client(monkeypatch, db_url).get(f"/uploads/{upload.id}", headers=AS_VIEWER).json()["uploads"][0]
    records = document["records"]
    assert records["state"] == "published"
    assert _counts(records["elections"]) == (1, 1, 0, 0, 0)  # stored, new, updated, unchanged, refused
    assert _counts(records["candidates"]) == (2, 2, 0, 0, 0)
    [race] = document["batches"]
    assert race["race"] == "Springfield Mayor, 2026-11-03"  # as people name it, beside its key
    assert _counts(race["records"]["candidates"]) == (2, 2, 0, 0, 0)


def test_later_uploads_count_what_they_updated_confirmed_and_what_was_refused(repo, instance, resources, tmp_path):
    first = _registered(repo, instance, tmp_path, "first.csv", FIRST)
    materialize_upload(first, instance, resources)
    older = _registered(
        repo,
        instance,
        tmp_path,
        "older.csv",
        HEADER + "Ann Lee,Mayor,Springfield,2026-11-03,Republican\nBo Chan,Mayor,Springfield,2026-11-03,Green\n"
        "Cy Dee,Mayor,Springfield,2026-11-03,Libertarian\n",
    )
    newer = _registered(
        repo, instance, tmp_path, "newer.csv", HEADER + "Ann Lee,Mayor,Springfield,2026-11-03,Independent\n"
    )
    materialize_upload(newer, instance, resources)  # the newer upload runs first: its value for Ann stands
    materialize_upload(older, instance, resources)

    newer_records = _document(repo, newer)["records"]
    assert _counts(newer_records["candidates"]) == (1, 0, 1, 0, 0)  # Ann's party updated
    assert _counts(newer_records["elections"]) == (1, 0, 0, 1, 0)
    older_document = _document(repo, older)
    # Ann's party from an older upload is refused; Bo is confirmed as he was; Cy is new
    assert _counts(older_document["records"]["candidates"]) == (3, 1, 0, 1, 1)
    [race] = older_document["batches"]
    assert _counts(race["records"]["candidates"]) == (3, 1, 0, 1, 1)


def test_an_upload_in_review_counts_what_approval_would_store_and_stores_nothing(repo, instance, resources, tmp_path):
    path = tmp_path / "review.csv"
    path.write_text(FIRST)
    (tmp_path / "review.csv.json").write_text('{"review": true}')
    upload = register(repo, path, instance)
    materialize_upload(upload, instance, resources)

    records = _document(repo, upload)["records"]
    assert records["state"] == "staged"
    assert _counts(records["candidates"]) == (0, 2, 0, 0, 0)  # two would be new; none stored yet
    assert _document(repo, upload)["batches"][0]["records"] is None

    review.approve(repo, upload.id)
    materialize_upload(upload, instance, resources)
    records = _document(repo, upload)["records"]
    assert (records["state"], _counts(records["candidates"])) == ("published", (2, 2, 0, 0, 0))
