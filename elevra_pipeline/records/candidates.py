"""Each candidate of the model's answer held against its own row: the model only says which row.

The stored name, party and website are that row's (records.row_truth, records.parties). A link must
have its host in the candidate's own row (an election's, in any row). What contradicts the row is a
problem: the answer is refused with the difference shown. A link written in no candidate's row is
only dropped with a note, as a markup or a repeated candidate is: nobody's data was moved. A name
whose accents or spelling the model changed is counted in one note: the list's spelling is kept.
"""

from dataclasses import dataclass

from elevra_pipeline.records import parties
from elevra_pipeline.records import row_truth as truth
from elevra_pipeline.records.row_truth import RowName, name_tokens
from elevra_pipeline.records.sanitize import clean_text, name_key, safe_url

MAX_SHOWN = 5


def noted_text(value, field_name: str, notes: list[str], max_length: int = 255) -> str:
    cleaned = clean_text(value, max_length)
    if cleaned.removed:
        notes.append(f"removed markup from {field_name}: " + " ".join(cleaned.removed)[:200])
    return cleaned.text


def shown(items: list[str]) -> str:
    more = len(items) - MAX_SHOWN
    return ", ".join(items[:MAX_SHOWN]) + (f" and {more} more" if more > 0 else "")


def kept_spelling_note(respelt: list[str]) -> str:
    """The one note for the names the model wrote with other letters ('the model changed 3 names…')."""
    count = f"{len(respelt)} name" + ("s" if len(respelt) != 1 else "")
    return f"the model changed {count}; the list's spelling was kept: {shown(respelt)}"


@dataclass
class Row:
    """A named row of the batch: the name the model must give back and the text its links come from."""

    row: dict
    name: RowName
    text: str

    def says(self, field_name: str) -> str:
        return clean_text(self.row.get(field_name), 120).text


class Candidates:
    """The batch's named rows; `check` keeps the candidates that are rows, `reasons` says why not."""

    def __init__(self, rows: list[dict], notes: list[str]):
        self.named = [
            Row(r, RowName.of(r["candidate_name"], r.get("nickname") or ""), truth.row_text(r))
            for r in rows
            if r.get("candidate_name")
        ]
        self.batch = " ".join(truth.row_text(r) for r in rows)
        self.notes, self.invented, self.unclear, self.problems = notes, [], [], []
        self.respelt: list[str] = []  # "'Jose Pena' for 'José Peña'"

    def election_link(self, value) -> str | None:
        url = safe_url(clean_text(value, 2000).text)
        if url and truth.mentions(self.batch, url):
            return url
        if value:
            self.notes.append(f"dropped an election link not found in the rows: {str(value)[:120]}")
        return None

    def check(self, candidates) -> list[dict]:
        kept, seen = [], set()
        for c in candidates:
            given = noted_text(c.name, f"candidate name '{c.name[:60]}'", self.notes)
            if not name_tokens(given):
                self.notes.append(f"dropped a candidate whose name was only markup: {c.name[:120]}")
            elif (own := self._pick(given, clean_text(c.party, 120).text)) is None:
                continue
            elif name_key(own.name.stored) in seen:
                self.notes.append(f"dropped a repeated candidate: {given}")
            else:
                seen.add(name_key(own.name.stored))
                kept.append(self._record(c, own))
                if own.name.changed_in(given):
                    self.respelt.append(f"'{given}' for '{own.name.text}'")
        if self.respelt:
            self.notes.append(kept_spelling_note(self.respelt))
        return kept

    def reasons(self) -> list[str]:
        said = [
            (self.invented, "candidate(s) not in the batch's rows"),
            (self.unclear, "candidate name(s) fit more than one row"),
            (self.problems, "detail(s) not from the candidate's own row"),
        ]
        return [f"{len(items)} {what}: {shown(items)}" for items, what in said if items]

    def _others(self, own: Row) -> list[Row]:
        """The other candidates' rows (a second row of the same name may be the same person)."""
        return [o for o in self.named if name_key(o.name.stored) != name_key(own.name.stored)]

    def _pick(self, given: str, party: str) -> Row | None:
        """The row the model's name is (the fullest fit; among rows of one name, the one of its party)."""
        tokens = name_tokens(given)
        fits = [(left, r) for r in self.named if (left := r.name.unmatched(tokens)) is not None]
        if not fits:  # a respelt name: the row whose words it respells
            spelt = [(r, r.name.respelt(tokens)) for r in self.named]
            fits = [(left, r) for r, words in spelt if words and (left := r.name.unmatched(words)) is not None]
        if not fits:
            close = truth.closest(given, [r.name for r in self.named])
            self.invented.append(f"'{given}' is not the row's '{close.text}'" if close else given)
            return None
        top = [r for left, r in fits if left == min(left for left, _ in fits)]
        if len({name_key(r.name.stored) for r in top}) > 1:
            self.unclear.append(f"'{given}' could be " + " or ".join(f"'{r.name.text}'" for r in top[:MAX_SHOWN]))
            return None
        return next((r for r in top if parties.party_says(party, r.says("party"))), top[0])

    def _party(self, model: str, own: Row) -> str:
        """The row's party (for a row without one, its primary's when the model names that)."""
        row, primary = own.says("party"), own.says("primary_party")
        if parties.party_says(model, row):
            return parties.stored_party(model, row) if row else ""
        if not row and primary and parties.party_says(model, primary):
            return parties.stored_party(model, primary)
        owner = next((o.name.stored for o in self._others(own) if parties.party_says(model, o.says("party"))), "")
        self.problems.append(
            f"{own.name.stored}'s party '{model}' is not "
            + (f"the row's '{row}'" if row else "in the row")
            + (f" (it is {owner}'s)" if owner else "")
        )
        return ""

    def _link(self, value, own: Row, what: str) -> str | None:
        url = safe_url(clean_text(value, 2000).text)
        if url and truth.mentions(own.text, url):
            return url
        others = [o.name.stored for o in self._others(own) if url and truth.mentions(o.text, url)]
        if others:
            self.problems.append(f"{own.name.stored}'s {what} '{url}' is not in the row but in {others[0]}'s")
        elif value:
            self.notes.append(f"dropped {own.name.stored}'s link not found in the rows: {str(value)[:120]}")
        return None

    def _record(self, c, own: Row) -> dict:
        name = own.name.stored
        website = self._link(c.website, own, "website") if c.website else None
        return {
            "name": name,
            "party": self._party(noted_text(c.party, f"party of {name}", self.notes, 120), own),
            "website": truth.row_website(own.row) or website or "",
            "incumbent": bool(own.row.get("incumbent")),  # the list's mark, never the model's
            "links": [
                {"url": url, "kind": noted_text(link.kind, "link kind", self.notes, 32) or "website"}
                for link in c.links
                if (url := self._link(link.url, own, "link"))
            ],
        }
