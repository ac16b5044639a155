"""A withdrawal, a status or an update is a filing's, and a filing is one race's (issue 36): a row for a
race we do not have never changes another race's candidacy, in whichever order the lists come; it is
inserted when on the ballot, else reported as "withdrawn from a race we do not have"."""

import pytest

from elevra_pipeline.notifications.templates import render
from elevra_pipeline.records.withdrawn import NOT_STORED, same_race
from elevra_pipeline.storage.models import Candidate, Election, RecordChange
from elevra_pipeline_tests.helpers import materialize_upload, register

HEADER = "Candidate,Office,City,Date,Party,Status\n"
TOWN_A_MAYOR = "Bob Baker,Mayor,Town A,2026-11-03,Democratic,Qualified\nAnn Lee,Mayor,Town A,2026-11-03,Republican,\n"
# a list of one race, in which Bob Baker withdrew (a list of withdrawals alone has no candidate row to read)
TOWN_B_SHERIFF_WITHDRAWN = (
    "Cy Park,Sheriff,Town B,2026-11-03,Democratic,\nBob Baker,Sheriff,Town B,2026-11-03,Republican,Withdrawn\n"
)


def _process(repo, instance, resources, path, text: str):
    path.write_text(HEADER + text)
    upload = register(repo, path, instance)
    materialize_upload(upload, instance, resources)
    return repo.get_upload_by_id(upload.id)


def _candidacies(repo) -> dict[tuple[str, str], tuple]:
    with repo.unit_of_work() as s:
        rows = s.query(Candidate, Election).join(Election, Candidate.election_id == Election.id).all()
        return {(c.name, f"{e.jurisdiction} {e.office}"): (c.party, c.status) for c, e in rows}


def _final_email(upload) -> str:
    """The final e-mail as the e-mail sensor will send it after the run."""
    _, text, _ = render("final", upload, upload.summary_json, {})
    return text


def test_a_withdrawal_from_a_race_we_do_not_have_leaves_the_candidacy_of_another_race_on_the_ballot(
    repo, instance, resources, tmp_path
):
    _process(repo, instance, resources, tmp_path / "filings.csv", TOWN_A_MAYOR)
    later = _process(repo, instance, resources, tmp_path / "update.csv", TOWN_B_SHERIFF_WITHDRAWN)

    assert _candidacies(repo) == {
        ("Bob Baker", "Town A Mayor"): ("Democratic", None),  # still on the mayor's ballot
        ("Ann Lee", "Town A Mayor"): ("Republican", None),
        ("Cy Park", "Town B Sheriff"): ("Democratic", None),
    }
    with repo.unit_of_work() as s:
        assert s.query(RecordChange).filter_by(upload_id=later.id, field="status").count() == 0
    report = later.summary_json["not_on_ballot"]
    assert report["marked"] == [] and report["not_stored"] == ["Bob Baker, Town B Sheriff (2026-11-03): Withdrawn"]
    email = _final_email(later)
    assert f"1 row {NOT_STORED}; no stored candidacy was changed" in email
    assert "Bob Baker, Town B Sheriff (2026-11-03): Withdrawn" in email


def test_the_same_two_lists_the_other_way_round_store_the_candidacy_on_the_ballot(repo, instance, resources, tmp_path):
    first = _process(repo, instance, resources, tmp_path / "update.csv", TOWN_B_SHERIFF_WITHDRAWN)
    _process(repo, instance, resources, tmp_path / "filings.csv", TOWN_A_MAYOR)

    assert first.summary_json["not_on_ballot"]["not_stored"] == ["Bob Baker, Town B Sheriff (2026-11-03): Withdrawn"]
    assert _candidacies(repo) == {
        ("Bob Baker", "Town A Mayor"): ("Democratic", None),
        ("Ann Lee", "Town A Mayor"): ("Republican", None),
        ("Cy Park", "Town B Sheriff"): ("Democratic", None),
    }


def test_one_list_with_both_races_marks_neither_candidacy_withdrawn_from_the_other(repo, instance, resources, tmp_path):
    later = _process(repo, instance, resources, tmp_path / "both.csv", TOWN_B_SHERIFF_WITHDRAWN + TOWN_A_MAYOR)

    assert _candidacies(repo)[("Bob Baker", "Town A Mayor")] == ("Democratic", None)
    assert later.summary_json["not_on_ballot"]["not_stored"] == ["Bob Baker, Town B Sheriff (2026-11-03): Withdrawn"]


def test_a_withdrawal_from_the_stored_race_marks_that_candidacy_only(repo, instance, resources, tmp_path):
    _process(repo, instance, resources, tmp_path / "filings.csv", TOWN_A_MAYOR)
    _process(repo, instance, resources, tmp_path / "sheriff.csv", "Bob Baker,Sheriff,Town B,2026-11-03,Republican,\n")
    later = _process(
        repo,
        instance,
        resources,
        tmp_path / "update.csv",
        "Bob Baker,Mayor,Town A,2026-11-03,Democratic,Withdrawn\nAnn Lee,Mayor,Town A,2026-11-03,Republican,\n",
    )

    assert _candidacies(repo) == {
        ("Bob Baker", "Town A Mayor"): ("Democratic", "Withdrawn"),
        ("Bob Baker", "Town B Sheriff"): ("Republican", None),  # his other filing stands
        ("Ann Lee", "Town A Mayor"): ("Republican", None),
    }
    assert later.summary_json["not_on_ballot"]["not_stored"] == []


def test_an_update_on_the_ballot_for_another_race_is_a_candidacy_of_its_own(repo, instance, resources, tmp_path):
    _process(repo, instance, resources, tmp_path / "filings.csv", TOWN_A_MAYOR)
    _process(repo, instance, resources, tmp_path / "sheriff.csv", "Bob Baker,Sheriff,Town B,2026-11-03,Libertarian,\n")

    assert _candidacies(repo) == {
        ("Bob Baker", "Town A Mayor"): ("Democratic", None),  # his party there is not the sheriff filing's
        ("Bob Baker", "Town B Sheriff"): ("Libertarian", None),
        ("Ann Lee", "Town A Mayor"): ("Republican", None),
    }


class _Election:
    def __init__(self, jurisdiction: str, office: str, district: str = ""):
        self.jurisdiction, self.office, self.district = jurisdiction, office, district


@pytest.mark.parametrize(
    "row, stored, same",
    [
        (("Town A", "Mayor", ""), ("Town A", "Mayor", ""), True),
        (("Town B", "Sheriff", ""), ("Town A", "Mayor", ""), False),
        (("Town B", "Mayor", ""), ("Town A", "Mayor", ""), False),  # another place
        (("", "Springfield Mayor", ""), ("Springfield", "Mayor", ""), True),  # the model moved the place
        (("City of Springfield", "Mayor", ""), ("Springfield", "Mayor", ""), True),
        (("", "Mayor", ""), ("Town A", "Mayor", ""), True),  # the row names no place: the person decides
        (("", "Sheriff", ""), ("Town A", "Mayor", ""), False),
        (("Wake", "Commissioner", "3"), ("Wake", "Commissioner", "District 3"), True),
        (("Wake", "Commissioner", "3"), ("Wake", "Commissioner", "District 4"), False),
        (("Town A", "", ""), ("Town A", "Mayor", ""), False),  # no office: no race
    ],
)
def test_a_rows_race_is_a_stored_election_when_their_words_agree(row, stored, same):
    entry = dict(zip(("jurisdiction", "office", "district"), row))
    assert same_race(entry, _Election(*stored)) is same
