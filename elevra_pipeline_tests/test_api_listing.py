"""`GET /uploads` pages from the database with one query (issue 36): the page's uploads and their counts
in one statement, however many uploads there are, with the status document's figures."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import event

from elevra_pipeline.bench.api_bench import seed
from elevra_pipeline.quotas.limits import load_quotas
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.listing import uploads_page
from elevra_pipeline.uploads.queue import QueuePace
from elevra_pipeline.uploads.status import upload_document
from elevra_pipeline_tests.api_helpers import AS_ADMIN, AS_VIEWER, api_client, bucket_tick
from elevra_pipeline_tests.helpers import materialize_upload

ONE_RACE = b"Candidate,Office,City,Date\nAnn Lee,Mayor,Springfield,2026-11-03\nBo Chan,Mayor,Springfield,2026-11-03\n"
UNDATED = b"Candidate,Office,City\nAnn Lee,Mayor,Springfield\nBo Chan,Clerk,Springfield\n"


def _queries(engine):
    """The SELECT statements run on `engine` while the block runs."""
    seen = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("uploads", [12, 60])
def test_a_page_is_one_query_however_many_uploads_there_are(db_url, uploads):
    seed(db_url, uploads, batches=5)  # one in ten still open: their ETA needs the quotas' pace, read once a page
    engine, quotas = migrated_engine(db_url), load_quotas()
    seen, stop = _queries(engine)
    try:
        page = uploads_page(Repository(engine), quotas, page=1, per_page=20)
        statements_with_open_uploads = len(seen)
        seen.clear()
        ended = uploads_page(Repository(engine), quotas, status="completed", page=1, per_page=20)
        statements_for_ended_uploads = len(seen)
        seen.clear()
        QueuePace.read(Repository(engine), quotas, datetime.now(timezone.utc))
        reading_the_pace = len(seen)
    finally:
        stop()
    assert page.total == uploads and len(page.uploads) == min(uploads, 20)
    assert any(u["eta"].startswith("about ") for u in page.uploads)
    assert ended.uploads and statements_for_ended_uploads == 1  # the page, its counts and its total
    assert statements_with_open_uploads == 1 + reading_the_pace  # and the quotas' pace, once a page


def test_the_listing_says_what_the_status_document_says(monkeypatch, db_url, instance, resources):
    client = api_client(monkeypatch, db_url)
    done = client.post("/uploads", headers=AS_ADMIN, files={"file": ("springfield.csv", ONE_RACE)}).json()
    fix = client.post("/uploads", headers=AS_ADMIN, files={"file": ("undated.csv", UNDATED)}).json()
    client.post("/uploads", headers=AS_ADMIN, files={"file": ("notes.pdf", b"%PDF-1.4")})  # rejected
    bucket_tick(instance, db_url)
    repo = Repository(migrated_engine(db_url))
    for answer in (done, fix):
        materialize_upload(repo.get_upload_by_id(answer["upload_id"]), instance, resources)

    listed = client.get("/uploads", headers=AS_VIEWER).json()["uploads"]

    assert [u["file"] for u in listed] == ["notes.pdf", "undated.csv", "springfield.csv"]
    for item in listed:
        document = upload_document(repo, repo.get_upload_by_id(item["id"]), load_quotas())
        for field in set(document) - {"workbook", "models", "needs_attention"}:
            assert item[field] == document[field], field
    assert listed[2]["workbook"] == "/uploads/1/workbook" and listed[0]["workbook"] is None  # a URL, not a path
    assert listed[2]["needs_attention"] is None and listed[0]["needs_attention"].startswith("'notes.pdf' cannot be")
    assert listed[1]["needs_attention"] == (
        "'undated.csv': 2 of 2 races need a fix from the uploader; send the file again with the fix "
        "(`elevra-pipeline retry 2 …`, see the e-mail)"
    )  # the status document groups the reasons too: (2 races: no election date)


def test_identical_reads_that_arrive_together_share_the_next_one_and_none_sees_older_data():
    import asyncio
    import threading

    from elevra_pipeline.api.shared_reads import SharedReads

    first_may_end, calls = threading.Event(), []

    def read():  # the database as it is when the read starts: the number of reads so far
        number = len(calls) + 1
        calls.append(number)
        if number == 1:
            first_may_end.wait(timeout=30)
        return number

    async def scenario():
        shared = SharedReads()
        first = asyncio.create_task(shared.read("page 1", read))
        while not calls:  # the first read has started
            await asyncio.sleep(0.01)
        later = [asyncio.create_task(shared.read("page 1", read)) for _ in range(50)]  # arrive while it runs
        other = asyncio.create_task(shared.read("page 2", read))
        await asyncio.sleep(0.05)
        first_may_end.set()
        return await first, await asyncio.gather(*later), await other

    first, later, other = asyncio.run(scenario())
    assert first == 1  # the read that was running when the others came
    assert set(later) == {2} or set(later) == {3}  # one read for all 50, begun after they came
    assert other in (2, 3) and len(calls) == 3  # another page is another read
