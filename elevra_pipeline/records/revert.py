"""Undo an upload's changes to the records, from their history, in one transaction.

- A value the upload set or changed goes back to what it was, unless a later upload has changed it
  since (then the later value stays).
- A record only this upload gave (it created it and no other upload gave it too) is removed, with
  its links; a record it created that another upload also gave stays as it is.
- The revert is history too: each restored value is a `reverted` change, each removed record a
  `removed` one, labelled "revert of upload N (file)". The restored value's setter is the upload
  that had set it before, so the merge rules treat it as that upload's again.
"""

from collections import defaultdict

from elevra_pipeline.records.merge import Action, FieldChange, same_value
from elevra_pipeline.storage.models import Candidate, CandidateLink, Election, ElectionLink, RecordChange, RecordSource
from elevra_pipeline.storage.repository import Repository

MODELS = {
    "election": Election,
    "candidate": Candidate,
    "election_link": ElectionLink,
    "candidate_link": CandidateLink,
}
CHILD_LINKS = {"election": (ElectionLink, "election_id"), "candidate": (CandidateLink, "candidate_id")}
REMOVAL_ORDER = ("candidate_link", "election_link", "candidate", "election")  # children before parents


def revert_upload(repo: Repository, upload) -> dict:
    """Counts: values restored, values left (changed later by another upload), records removed."""
    label = revert_label(upload)
    counts = {"restored": 0, "kept_later_value": 0, "removed": 0}
    with repo.unit_of_work() as s:
        sources = s.query(RecordSource).filter(RecordSource.upload_id == upload.id).all()
        given_by_others = {
            (r.record_type, r.record_id)
            for r in s.query(RecordSource).filter(
                RecordSource.upload_id.is_distinct_from(upload.id),
                RecordSource.record_id.in_([x.record_id for x in sources] or [0]),
            )
        }
        removed = {(x.record_type, x.record_id) for x in sources if x.created} - given_by_others
        changes = s.query(RecordChange).filter(RecordChange.upload_id == upload.id).order_by(RecordChange.id).all()
        last_by_field = {(c.record_type, c.record_id, c.field): c for c in changes if c.action in ("set", "updated")}
        created = {(x.record_type, x.record_id) for x in sources if x.created}
        for (kind, record_id, field), change in last_by_field.items():
            if (kind, record_id) in created:  # removed, or kept because another upload gave it too
                continue
            row = repo.locked(s, MODELS[kind], record_id)
            current = getattr(row, field)
            if current is None or not same_value(current, change.new_value):
                counts["kept_later_value"] += 1
                continue
            setattr(row, field, change.old_value)
            repo.record_changes(
                s,
                kind,
                record_id,
                [FieldChange(field, current, change.old_value, Action.REVERTED)],
                _setter_before(s, change),
                label,
            )
            counts["restored"] += 1
        by_kind = defaultdict(list)
        for kind, record_id in removed:
            by_kind[kind].append(record_id)
        for kind in REMOVAL_ORDER:
            ids = by_kind.get(kind, [])
            if not ids:
                continue
            if kind in CHILD_LINKS:
                link, owner = CHILD_LINKS[kind]
                s.query(link).filter(getattr(link, owner).in_(ids)).delete(synchronize_session=False)
            s.query(MODELS[kind]).filter(MODELS[kind].id.in_(ids)).delete(synchronize_session=False)
            for record_id in ids:
                repo.record_changes(s, kind, record_id, [FieldChange("*", None, None, Action.REMOVED)], None, label)
            counts["removed"] += len(ids)
        s.query(RecordSource).filter(RecordSource.upload_id == upload.id).delete(synchronize_session=False)
    return counts


def revert_label(upload) -> str:
    return f"revert of upload {upload.id} ({upload.original_filename})"


def _setter_before(session, change: RecordChange) -> int | None:
    """The upload that had set the field before `change` (None: before the history, or nobody)."""
    earlier = (
        session.query(RecordChange.upload_id)
        .filter(
            RecordChange.record_type == change.record_type,
            RecordChange.record_id == change.record_id,
            RecordChange.field == change.field,
            RecordChange.action.in_(("set", "updated", "reverted")),
            RecordChange.id < change.id,
        )
        .order_by(RecordChange.id.desc())
        .first()
    )
    return earlier[0] if earlier else None
