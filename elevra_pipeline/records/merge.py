"""How an upload's values meet the stored records: the merge rules, written once.

| the record has | the upload gives | result | kept in `record_changes` |
| --- | --- | --- | --- |
| anything | nothing (blank) | unchanged: a blank never erases | – |
| nothing | a value | set | `set` (old: empty) |
| a value | the same value | unchanged (the upload confirms it) | – |
| a value from an older upload | another value | replaced | `updated` (old and new) |
| a value from this or a newer upload | another value | unchanged, reported | `conflict` (stored, refused) |

"Older" is by upload number: uploads are registered in the order they arrive. A value stored before
the history existed counts as older than every upload.
"""

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    CREATED = "created"  # the record itself (field "*")
    SET = "set"
    UPDATED = "updated"
    CONFLICT = "conflict"
    REVERTED = "reverted"  # a value restored by `revert`
    REMOVED = "removed"  # a record only the reverted upload gave (field "*")


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str | None
    new: str | None
    action: Action

    @property
    def applies(self) -> bool:
        return self.action in (Action.SET, Action.UPDATED)


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def same_value(a, b) -> bool:
    return str(a).strip().casefold() == str(b).strip().casefold()


def merged_fields(current: dict, incoming: dict, setters: dict[str, int], upload_id: int) -> list[FieldChange]:
    """What `incoming` (from upload `upload_id`) does to a stored record's `current` values; `setters`
    names the upload that last set each field (absent: set before the history, i.e. oldest)."""
    changes = []
    for name, new in incoming.items():
        old = current.get(name)
        if blank(new) or (not blank(old) and same_value(old, new)):
            continue
        if blank(old):
            changes.append(FieldChange(name, None, new, Action.SET))
        elif setters.get(name, 0) < upload_id:
            changes.append(FieldChange(name, old, new, Action.UPDATED))
        else:
            changes.append(FieldChange(name, old, new, Action.CONFLICT))
    return changes
