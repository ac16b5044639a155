"""Records an election-data team can trust (issue 27): a blank never erases, an older upload never
overwrites a newer one, and every value set or changed is kept with the upload that gave it."""

from elevra_pipeline.records.insert import Source, insert_structured
from elevra_pipeline.storage.models import Candidate, CandidateLink, Election, RecordChange

BASE = "https://www.elevracommunity.com"


def _upload(repo, name: str):
    return repo.add_upload(partition_key=name, content_hash=name, original_filename=f"{name}.csv")


def _batch(candidates: list[dict], election_type: str = "general") -> dict:
    election = {
        "name": "Springfield Mayor",
        "jurisdiction": "Springfield",
        "office": "Mayor",
        "district": "",
        "election_date": "2026-11-03",
        "election_type": election_type,
        "links": [],
    }
    return {"election": election, "candidates": candidates}


def _candidates(repo) -> dict[str, tuple]:
    with repo.unit_of_work() as s:
        return {c.name: (c.party, c.website) for c in s.query(Candidate)}


STATE_LIST = [
    {"name": "Ann Lee", "party": "Democratic", "website": "https://annlee.org", "links": []},
    {"name": "Bo Chan", "party": "Republican", "website": "https://bochan.com", "links": []},
]
COUNTY_LIST = [  # later: no websites, one party changed, one party left blank
    {"name": "Ann Lee", "party": "Working Families", "website": None, "links": []},
    {"name": "Bo Chan", "party": "", "website": None, "links": []},
]


def test_a_later_upload_with_blanks_and_a_new_party_keeps_every_website_and_the_history(repo):
    state, county = _upload(repo, "state"), _upload(repo, "county")
    insert_structured(repo, _batch(STATE_LIST), BASE, source=Source.of(state))
    insert_structured(repo, _batch(COUNTY_LIST), BASE, source=Source.of(county))

    assert _candidates(repo) == {
        "Ann Lee": ("Working Families", "https://annlee.org"),  # the newer party; the website kept
        "Bo Chan": ("Republican", "https://bochan.com"),  # a blank erased nothing
    }
    assert repo.count(CandidateLink) == 2
    (updated,) = [c for c in repo.changes_of_upload(county.id) if c.action == "updated"]
    assert (updated.field, updated.old_value, updated.new_value) == ("party", "Democratic", "Working Families")
    assert updated.upload_label == "upload 2 (county.csv)"


def test_an_older_upload_processed_later_never_overwrites_a_newer_value_and_says_so(repo):
    older, newer = _upload(repo, "older"), _upload(repo, "newer")
    insert_structured(repo, _batch(COUNTY_LIST), BASE, source=Source.of(newer))
    insert_structured(repo, _batch(STATE_LIST), BASE, source=Source.of(older))  # a re-run of an older file

    assert _candidates(repo)["Ann Lee"] == ("Working Families", "https://annlee.org")  # its blank website filled
    assert _candidates(repo)["Bo Chan"] == ("Republican", "https://bochan.com")
    (conflict,) = [c for c in repo.changes_of_upload(older.id) if c.action == "conflict"]
    assert (conflict.field, conflict.old_value, conflict.new_value) == ("party", "Working Families", "Democratic")


def test_two_batches_of_one_upload_that_disagree_are_reported_not_flipped(repo):
    upload = _upload(repo, "one")
    insert_structured(repo, _batch(STATE_LIST[:1]), BASE, source=Source.of(upload))
    insert_structured(repo, _batch(COUNTY_LIST[:1]), BASE, source=Source.of(upload))
    assert _candidates(repo)["Ann Lee"][0] == "Democratic"
    assert [c.action for c in repo.changes_of_upload(upload.id)].count("conflict") == 1
    insert_structured(repo, _batch(COUNTY_LIST[:1]), BASE, source=Source.of(upload))  # a re-run inserts it again
    assert [c.action for c in repo.changes_of_upload(upload.id)].count("conflict") == 1  # said once, not twice


def test_the_same_candidate_under_a_nickname_from_another_upload_is_one_record(repo):
    first, second = _upload(repo, "first"), _upload(repo, "second")
    insert_structured(
        repo, _batch([{"name": "Robert Smith", "party": "", "website": None}]), BASE, source=Source.of(first)
    )
    insert_structured(
        repo, _batch([{"name": "Bob Smith", "party": "Green", "website": None}]), BASE, source=Source.of(second)
    )
    assert repo.count(Candidate) == 1 and repo.count(Election) == 1
    assert _candidates(repo) == {"Robert Smith": ("Green", None)}  # the stored form of the name stays
    assert {c.field for c in repo.changes_of_upload(second.id)} == {"party"}


def test_a_missing_election_type_never_turns_a_primary_into_a_general(repo):
    first, second = _upload(repo, "first"), _upload(repo, "second")
    insert_structured(repo, _batch(STATE_LIST, "primary"), BASE, source=Source.of(first))
    insert_structured(repo, _batch(STATE_LIST, ""), BASE, source=Source.of(second))
    with repo.unit_of_work() as s:
        assert s.query(Election).one().election_type == "primary"
    assert repo.count(RecordChange) > 0


def test_the_second_upload_of_an_overlapping_list_reports_what_it_changed_in_its_workbook(
    repo, instance, resources, tmp_path
):
    from openpyxl import load_workbook

    from elevra_pipeline_tests.helpers import materialize_upload, register

    header = "Candidate,Office,City,Date,Party,Website\n"
    first = tmp_path / "state.csv"
    first.write_text(
        header + "Ann Lee,Mayor,Springfield,2026-11-03,Democratic,https://annlee.org\n"
        "Bo Chan,Mayor,Springfield,2026-11-03,Republican,https://bochan.com\n"
    )
    second = tmp_path / "county.csv"
    second.write_text(
        header + "Ann Lee,Mayor,Springfield,2026-11-03,Green,\n"
        "Bo Chan,Mayor,Springfield,2026-11-03,Republican,\n"
        "Cy Park,Mayor,Springfield,2026-11-03,,\n"
    )
    materialize_upload(register(repo, first, instance), instance, resources)
    upload = register(repo, second, instance)
    materialize_upload(upload, instance, resources)

    changes = repo.get_upload_by_id(upload.id).summary_json["changes"]
    assert changes["counts"]["candidate"] == {"new": 1, "updated": 1, "unchanged": 1, "conflicting": 0}
    assert changes["counts"]["election"] == {"new": 0, "updated": 0, "unchanged": 1, "conflicting": 0}
    assert _candidates(repo)["Ann Lee"] == ("Green", "https://annlee.org")
    sheet = load_workbook(repo.get_upload_by_id(upload.id).workbook_path)["Changes"]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert ("party", "Democratic", "Green") in [r[2:5] for r in rows]
    assert rows[-1][0] == "Elections: 1 unchanged; candidates: 1 new, 1 updated, 1 unchanged"


def _tables(repo) -> dict:
    """Every record table's rows, without `updated_at` (a revert is itself a write)."""
    from elevra_pipeline.storage.models import ElectionLink

    tables = {}
    with repo.unit_of_work() as s:
        for model in (Election, Candidate, CandidateLink, ElectionLink):
            columns = [c.name for c in model.__table__.columns if c.name != "updated_at"]
            tables[model.__tablename__] = sorted(
                tuple(getattr(row, c) for c in columns) for row in s.query(model).order_by(model.id)
            )
    return tables


def test_revert_restores_the_records_exactly_as_they_were_before_the_upload(repo, capsys):
    from elevra_pipeline.uploads.admin import revert

    state, county = _upload(repo, "state"), _upload(repo, "county")
    insert_structured(repo, _batch(STATE_LIST), BASE, source=Source.of(state))
    before = _tables(repo)
    newcomer = {"name": "Cy Park", "party": "Green", "website": "https://cypark.net", "links": []}
    filling = {"name": "Bo Chan", "party": "", "website": None, "links": [{"url": "https://bochan.com/x"}]}
    county_list = [COUNTY_LIST[0], filling, newcomer]
    insert_structured(repo, _batch(county_list), BASE, source=Source.of(county))
    assert _tables(repo) != before

    message = revert(repo, county.id, "wrong county")

    assert _tables(repo) == before
    assert "1 value(s) restored, 3 record(s) only it gave removed" in message  # Cy Park, his link, Bo's new link
    assert repo.get_upload_by_id(county.id).status == "reverted"
    from elevra_pipeline.uploads.status import print_status

    print_status(repo, county.id)
    assert "records: REVERTED: 1 value(s) restored, 3 record(s) removed" in capsys.readouterr().out
    actions = [c.action for c in repo.changes_of_upload(state.id)]
    assert "reverted" in actions  # the restored party is the state list's again: a later upload may change it


def test_revert_keeps_a_value_a_later_upload_changed_and_a_record_another_upload_also_gave(repo):
    from elevra_pipeline.uploads.admin import revert

    first, second, third = _upload(repo, "first"), _upload(repo, "second"), _upload(repo, "third")
    insert_structured(repo, _batch(STATE_LIST[:1]), BASE, source=Source.of(first))
    insert_structured(repo, _batch(COUNTY_LIST[:1] + STATE_LIST[1:]), BASE, source=Source.of(second))  # Bo Chan: new
    later = [{"name": "Ann Lee", "party": "Independent", "website": None}, STATE_LIST[1]]
    insert_structured(repo, _batch(later), BASE, source=Source.of(third))  # gives Bo Chan too

    revert(repo, second.id)

    assert _candidates(repo) == {
        "Ann Lee": ("Independent", "https://annlee.org"),  # the third upload's party stays
        "Bo Chan": ("Republican", "https://bochan.com"),  # the third upload gave him too
    }


def test_a_later_list_marking_a_stored_candidate_withdrawn_updates_their_status(repo, instance, resources, tmp_path):
    from elevra_pipeline_tests.helpers import materialize_upload, register

    first = tmp_path / "filings.csv"
    first.write_text(
        "Candidate,Office,City,Date\nKurt Evans,Mayor,Springfield,2026-11-03\nAnn Lee,Mayor,Springfield,2026-11-03\n"
    )
    later = tmp_path / "update.csv"
    later.write_text(
        "Candidate,Office,City,Date,Status\n"
        "Kurt Evans,Mayor,Springfield,2026-11-03,Withdrawn\n"
        "Ann Lee,Mayor,Springfield,2026-11-03,Qualified\n"
    )
    materialize_upload(register(repo, first, instance), instance, resources)
    upload = register(repo, later, instance)
    materialize_upload(upload, instance, resources)

    with repo.unit_of_work() as s:
        assert {c.name: c.status for c in s.query(Candidate)} == {"Kurt Evans": "Withdrawn", "Ann Lee": None}
    (change,) = [c for c in repo.changes_of_upload(upload.id) if c.field == "status"]
    assert (change.old_value, change.new_value, change.action) == (None, "Withdrawn", "set")


def test_where_an_uploads_rows_ended_does_not_change_with_later_uploads_or_a_revert(
    repo, instance, resources, tmp_path
):
    from elevra_pipeline.uploads.admin import revert
    from elevra_pipeline.workbook.row_accounting import account_rows
    from elevra_pipeline_tests.helpers import materialize_upload, register

    header = "Candidate,Office,City,Date\n"
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(header + "Robert Chen,Mayor,Springfield,2026-11-03\nAnn Lee,Mayor,Springfield,2026-11-03\n")
    second.write_text(header + "Bob Chen,Mayor,Springfield,2026-11-03\nCy Park,Mayor,Springfield,2026-11-03\n")
    a, b = register(repo, first, instance), register(repo, second, instance)
    materialize_upload(a, instance, resources)
    materialize_upload(b, instance, resources)

    def rows(upload):
        counts, _ = account_rows(repo, repo.get_upload_by_id(upload.id), repo.batches(upload.id))
        return counts["candidates"], counts["dropped"]

    assert rows(a) == (2, 0) and rows(b) == (2, 0)
    revert(repo, b.id)
    assert rows(a) == (2, 0) and rows(b) == (2, 0)  # where the rows ended at the time, not today's records
