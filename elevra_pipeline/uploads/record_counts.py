"""How many elections and candidates an upload stored, and what it did to each: new, updated,
unchanged, or refused (a value it gave lost to a newer upload's value, which stands), for the whole
upload and for each race. The status document carries them (`GET /uploads/{id}`, `status --json`), so
the admin app need not download the workbook to know.

The upload's counts are those its last run wrote with the workbook (the Changes sheet's); a race's are
read from the records' history, and only while its records are published."""

from enum import StrEnum

from pydantic import BaseModel

from elevra_pipeline.records.changes import record_outcomes
from elevra_pipeline.storage.batch_rules import UploadStatus
from elevra_pipeline.storage.repository import Repository

REFUSED = {"conflicting": "refused"}  # the change report's word -> the status document's


class RecordsState(StrEnum):
    PUBLISHED = "published"  # in the database
    STAGED = "staged"  # in review: what approval would do; nothing stored yet
    REVERTED = "reverted"  # what it did, undone since
    NONE = "none"  # no run has finished with records yet


class RecordCounts(BaseModel):
    stored: int = 0  # in the database now because of this upload
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0

    @classmethod
    def of(cls, counts: dict[str, int], stored: bool) -> "RecordCounts":
        said = {REFUSED.get(outcome, outcome): n for outcome, n in counts.items()}
        return cls(**said, stored=sum(said.values()) if stored else 0)

    def count(self, outcome: str) -> None:
        field = REFUSED.get(outcome, outcome)
        setattr(self, field, getattr(self, field) + 1)
        self.stored += 1


class RaceRecords(BaseModel):
    elections: RecordCounts
    candidates: RecordCounts


class UploadRecords(RaceRecords):
    state: RecordsState


def records_state(status: str, summary: dict | None) -> RecordsState:
    if status == UploadStatus.REVERTED:
        return RecordsState.REVERTED
    if status == UploadStatus.AWAITING_APPROVAL:
        return RecordsState.STAGED
    return RecordsState.PUBLISHED if (summary or {}).get("changes") else RecordsState.NONE


def upload_records(status: str, summary: dict | None) -> UploadRecords:
    """The whole upload's counts, from its stored summary (cheap: the list of uploads reads only the
    counts of it, `changes.counts` and `preview.counts`)."""
    state = records_state(status, summary)
    changes = (summary or {}).get("preview" if state == RecordsState.STAGED else "changes")
    counts = (changes or {}).get("counts") or {}
    stored = state == RecordsState.PUBLISHED
    return UploadRecords(
        state=state,
        elections=RecordCounts.of(counts.get("election", {}), stored),
        candidates=RecordCounts.of(counts.get("candidate", {}), stored),
    )


def race_records(repo: Repository, upload, batches) -> dict[int, RaceRecords]:
    """Batch id -> its race's counts, for the races whose records are published now (none in review
    or after a revert: nothing of theirs is stored)."""
    if records_state(upload.status, upload.summary_json) != RecordsState.PUBLISHED:
        return {}
    sources = repo.sources_of_upload(upload.id)
    outcomes = record_outcomes(repo.change_actions_of_upload(upload.id), sources)
    races = {}
    for batch in batches:
        if not batch.inserted_json:
            continue
        race = RaceRecords(elections=RecordCounts(), candidates=RecordCounts())
        given = [("election", batch.inserted_json["election_id"])]
        given += [("candidate", c) for c in batch.inserted_json.get("candidate_ids", [])]
        for kind, record_id in given:
            if (outcome := outcomes.get((kind, record_id))) is not None:
                getattr(race, f"{kind}s").count(outcome)
        races[batch.id] = race
    return races
