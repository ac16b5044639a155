"""A person a later list marks not on the ballot (Withdrawn, Removed, Deceased…) who is already stored:
the stored candidate gets that status, by the merge rules and with its history.

The list's row does not go to the model (intake drops it, with its reason), so the candidate is found
by the row itself: among the stored candidates of elections on the row's date, the one who is the
same person (`records.identity`); when several are, the one whose election's office shares the row's
office words. Nobody, or several still: nothing is changed.
"""

from sqlalchemy import select

from elevra_pipeline.records.identity import same_candidate
from elevra_pipeline.records.insert import RecordWriter, Source
from elevra_pipeline.records.row_truth import name_tokens
from elevra_pipeline.storage.models import Candidate, Election
from elevra_pipeline.storage.repository import Repository


def _office_words(text: str) -> set[str]:
    return {w for w in name_tokens(text or "") if len(w) > 2}


def mark_not_on_ballot(repo: Repository, marked: list[dict], source: Source, session=None) -> list[str]:
    """What was marked: 'Kurt Evans, Springfield Mayor: Withdrawn' (`session`: a caller's transaction, a preview)."""
    said = []
    with repo.within(session) as session:
        write = RecordWriter(repo, session, source)
        for entry in marked:
            if not entry.get("election_date") or not entry.get("name"):
                continue
            stored = session.execute(
                select(Candidate.id, Candidate.name, Election.office, Election.name)
                .join(Election, Candidate.election_id == Election.id)
                .where(Election.election_date == entry["election_date"])
            ).all()
            found = [row for row in stored if same_candidate(entry["name"], row[1])]
            if len(found) > 1:
                words = _office_words(entry.get("office", ""))
                found = [row for row in found if words & _office_words(row[2])]
            if len(found) != 1:
                continue
            candidate_id, name, _, election = found[0]
            write.merge("candidate", Candidate, candidate_id, False, {"status": entry["status"]})
            said.append(f"{name}, {election}: {entry['status']}")
    return said
