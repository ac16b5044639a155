"""What an upload did to the records: new, updated (field by field), unchanged and conflicting
elections and candidates, read from the history the insert step keeps (`record_changes`,
`record_sources`). Shown as the workbook's Changes sheet, a line of the final e-mail and `status`."""

from collections import defaultdict

KINDS = ("election", "candidate")
FIELD_ACTIONS = ("set", "updated", "conflict")


def _fields_by_record(changes: list) -> dict[tuple[str, int], list]:
    fields: dict[tuple[str, int], list] = defaultdict(list)
    for change in changes:
        if change.record_type in KINDS and change.action in FIELD_ACTIONS:
            fields[(change.record_type, change.record_id)].append(change)
    return fields


def _outcome(created: bool, mine: list) -> str:
    """new, conflicting (a value of the upload was refused: a newer one stands), updated or unchanged."""
    if created:
        return "new"
    if any(c.action == "conflict" for c in mine):
        return "conflicting"
    return "updated" if mine else "unchanged"


def record_outcomes(changes: list, sources: list) -> dict[tuple[str, int], str]:
    """(record type, id) -> what the upload did to that election or candidate (new, updated, ...)."""
    fields = _fields_by_record(changes)
    return {
        (s.record_type, s.record_id): _outcome(s.created, fields.get((s.record_type, s.record_id), []))
        for s in sources
        if s.record_type in KINDS
    }


def change_report(changes: list, sources: list, names: dict[tuple[str, int], str]) -> dict:
    """`names`: (record type, id) -> what a person calls the record ('Ann Lee, Springfield Mayor')."""
    fields = _fields_by_record(changes)
    counts = {kind: {"new": 0, "updated": 0, "unchanged": 0, "conflicting": 0} for kind in KINDS}
    rows = []
    for source in sources:
        key = (source.record_type, source.record_id)
        if source.record_type not in KINDS:
            continue
        mine = fields.get(key, [])
        outcome = _outcome(source.created, mine)
        counts[source.record_type][outcome] += 1
        if source.created:  # one line per new record: in review, nothing else shows what would be added
            rows.append(
                {
                    "record": names.get(key, f"{source.record_type} {source.record_id}"),
                    "type": source.record_type,
                    "field": "",
                    "old": "",
                    "new": "",
                    "action": "new",
                }
            )
        else:
            rows += [
                {
                    "record": names.get(key, f"{source.record_type} {source.record_id}"),
                    "type": source.record_type,
                    "field": c.field,
                    "old": c.old_value or "",
                    "new": c.new_value or "",
                    "action": c.action,
                }
                for c in mine
            ]
    return {"counts": counts, "rows": rows}


def change_line(report: dict) -> str:
    """'Candidates: 12 new, 3 updated, 40 unchanged, 1 conflicting; elections: 2 new, 10 unchanged'."""
    parts = []
    for kind in KINDS:
        counts = report.get("counts", {}).get(kind, {})
        said = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
        if said:
            parts.append(f"{kind}s: {said}")
    return ("; ".join(parts) or "no records").capitalize()
