"""An incumbent's mark (`*`, `(I)`, `Inc.`, an incumbent column) is a fact about the candidacy: it is
stored as the candidate's incumbent flag and leaves the name as published (issue 35, item 4)."""

from openpyxl import load_workbook

from elevra_pipeline.storage.models import Candidate
from elevra_pipeline_tests.helpers import materialize_upload, register


def _stored(repo) -> dict[str, bool | None]:
    with repo.unit_of_work() as s:
        return {c.name: c.incumbent for c in s.query(Candidate).all()}


def test_a_marked_incumbent_is_stored_with_the_flag_and_the_name_without_the_mark(repo, instance, resources, tmp_path):
    path = tmp_path / "results.csv"
    path.write_text(
        "Contest,Jurisdiction,Candidate,Party,Date\n"
        "Mayor,Springfield,*Ann Lee,Democratic,2026-11-03\n"
        "Mayor,Springfield,Bo Chan,Republican,2026-11-03\n"
        "Sheriff,Shelby County,Cy Doe (I),Republican,2026-11-03\n"
        "Sheriff,Shelby County,Di Eve,Democratic,2026-11-03\n"
    )
    upload = register(repo, path, instance)
    materialize_upload(upload, instance, resources)

    assert repo.get_upload_by_id(upload.id).status == "completed"
    assert _stored(repo) == {"Ann Lee": True, "Bo Chan": None, "Cy Doe": True, "Di Eve": None}
    book = load_workbook(repo.get_upload_by_id(upload.id).workbook_path)
    rows = list(book["Candidates"].iter_rows(values_only=True))
    assert rows[0][-1] == "Incumbent" and {r[0]: r[-1] for r in rows[1:]} == {
        "Ann Lee": "yes",
        "Bo Chan": None,
        "Cy Doe": "yes",
        "Di Eve": None,
    }
