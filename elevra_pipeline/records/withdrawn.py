"""A person a later list marks not on the ballot (Withdrawn, Removed, Deceased…) who is already stored
in that race: the stored candidacy gets that status, by the merge rules and with its history.

A status belongs to a filing, and a filing to one race: someone who withdrew from the sheriff's race
may still be on the mayor's ballot. So the row's race must be a stored election (`same_race`: the
row's date, and its place, office and district words against the election's), and the person a
stored candidate of that election (`records.identity`). A row for a race we do not have changes
nothing and is reported ("withdrawn from a race we do not have"), as is one that fits several.

The list's row does not go to the model (intake drops it, with its reason): the race is read from
the row itself (`intake.reader`'s not-on-the-ballot entries).
"""

from pydantic import BaseModel, Field
from sqlalchemy import select

from elevra_pipeline.records.candidates import shown
from elevra_pipeline.records.identity import same_candidate
from elevra_pipeline.records.insert import RecordWriter, Source
from elevra_pipeline.records.row_truth import name_tokens
from elevra_pipeline.storage.models import Candidate, Election
from elevra_pipeline.storage.repository import Repository

FILLER = frozenset({"of", "the", "for", "and", "at", "district", "dist"})  # words that tell no race apart
NOT_STORED = "withdrawn from a race we do not have"


class NotOnBallotReport(BaseModel):
    """What an upload's not-on-the-ballot rows did: 'Kurt Evans, Springfield Mayor: Withdrawn'."""

    marked: list[str] = Field(default_factory=list)  # a stored candidacy of the same race got the status
    not_stored: list[str] = Field(default_factory=list)  # no such candidacy: nothing changed
    unclear: list[str] = Field(default_factory=list)  # several stored candidates fit: nothing changed


def race_words(*parts: str | None) -> frozenset[str]:
    return frozenset(w for part in parts for w in name_tokens(part or "") if w not in FILLER)


def same_race(entry: dict, election) -> bool:
    """The row's race is the stored election (same date, asked of the database): the row names an
    office, and the words of its place, office and district are all the election's, or the other way
    round (a model may move 'Springfield' from the office to the jurisdiction, or leave out a place the
    row gives). Any word only one side has tells two races apart: Town A / Town B, District 3 / 4."""
    if not race_words(entry.get("office")):
        return False
    row = race_words(entry.get("jurisdiction"), entry.get("office"), entry.get("district"))
    stored = race_words(election.jurisdiction, election.office, election.district)
    return row <= stored or stored <= row


def entry_label(entry: dict) -> str:
    race = " ".join(filter(None, (entry.get(k) for k in ("jurisdiction", "office", "district")))) or "no office"
    return f"{entry.get('name')}, {race} ({entry.get('election_date') or 'no election date'}): {entry.get('status')}"


def mark_not_on_ballot(repo: Repository, marked: list[dict], source: Source, session=None) -> NotOnBallotReport:
    """Each entry ({name, status, office, jurisdiction, district, election_date}) marks the stored
    candidacy of its own race, or is reported (`session`: a caller's transaction, a preview)."""
    report = NotOnBallotReport()
    with repo.within(session) as session:
        write = RecordWriter(repo, session, source)
        on_date: dict[str, list] = {}
        for entry in marked:
            day = entry.get("election_date")
            if not day or not entry.get("name"):
                report.not_stored.append(entry_label(entry))
                continue
            if day not in on_date:
                on_date[day] = session.execute(
                    select(Candidate.id, Candidate.name, Election.jurisdiction, Election.office, Election.district)
                    .add_columns(Election.name.label("election"))
                    .join(Election, Candidate.election_id == Election.id)
                    .where(Election.election_date == day)
                ).all()
            found = [c for c in on_date[day] if same_race(entry, c) and same_candidate(entry["name"], c.name)]
            if len(found) != 1:
                (report.unclear if found else report.not_stored).append(entry_label(entry))
                continue
            write.merge("candidate", Candidate, found[0].id, False, {"status": entry["status"]})
            report.marked.append(f"{found[0].name}, {found[0].election}: {entry['status']}")
    return report


def report_lines(report: dict) -> list[str]:
    """The report (as stored in the upload's summary) in sentences for the e-mail and `status`."""
    said = NotOnBallotReport.model_validate(report or {})
    lines = []
    if said.marked:
        lines.append(f"Marked not on the ballot ({len(said.marked)}): {shown(said.marked)}.")
    if said.not_stored:
        lines.append(
            f"{len(said.not_stored)} {'row' if len(said.not_stored) == 1 else 'rows'} {NOT_STORED}; no stored "
            f"candidacy was changed (a status applies to its own race only): {shown(said.not_stored)}."
        )
    if said.unclear:
        lines.append(
            f"{len(said.unclear)} not-on-the-ballot row(s) fit several stored candidates of the race; nothing "
            f"was changed: {shown(said.unclear)}."
        )
    return lines
