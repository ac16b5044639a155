"""Insert one structured batch as elections, candidates and their links, in one transaction.

Every value meets the stored record by the merge rules (`records.merge`): a blank never erases, an
older upload never overwrites a newer one, and each value set or changed is kept in `record_changes`
with the upload that gave it; `record_sources` names every upload that gave each record (what
`revert` reads). A candidate already stored in the election under another form of the name (Bob /
Robert, a middle initial) is the same candidate (`records.identity`), and keeps the name it has.
"""

from dataclasses import dataclass

from slugify import slugify

from elevra_pipeline.exceptions import BatchFailedError
from elevra_pipeline.records.identity import matching_candidate
from elevra_pipeline.records.merge import Action, FieldChange, blank, merged_fields
from elevra_pipeline.records.sanitize import iso_date, name_key, plain_text, safe_url
from elevra_pipeline.storage.models import Candidate, CandidateLink, Election, ElectionLink
from elevra_pipeline.storage.repository import Repository


@dataclass(frozen=True)
class Source:
    """The upload a batch comes from (0: none, e.g. a test inserting by hand)."""

    upload_id: int = 0
    label: str = ""

    @classmethod
    def of(cls, upload) -> "Source":
        return cls(upload.id, f"upload {upload.id} ({upload.original_filename})")


def election_url(base_url: str, slug: str) -> str:
    return f"{base_url}/elections/{slug}"


def candidate_url(base_url: str, slug: str) -> str:
    return f"{base_url}/candidates/{slug}"


def primary_name(name: str, party: str) -> str:
    """A party's primary says whose it is: 'Springfield Mayor Primary Election (Democratic)'."""
    return name if not party or party.casefold() in name.casefold() else f"{name} ({party})"[:400]


class RecordWriter:
    """One batch's writes in one session, each recorded with its source."""

    def __init__(self, repo: Repository, session, source: Source):
        self.repo, self.session, self.source = repo, session, source

    def record(self, record_type: str, model, key: dict, identity: dict, values: dict, defaults: dict) -> int:
        """The record for `key`, created with `values` (blanks filled from `defaults`) or merged with them."""
        record_id, created = self.repo.ensure_record(
            self.session,
            model,
            key,
            {**identity, **{k: v if not blank(v) else defaults.get(k, v) for k, v in values.items()}},
        )
        self.merge(record_type, model, record_id, created, values)
        return record_id

    def merge(self, record_type: str, model, record_id: int, created: bool, values: dict) -> None:
        repo, source = self.repo, self.source
        if created:
            changes = [FieldChange("*", None, None, Action.CREATED)]
            changes += [FieldChange(f, None, v, Action.SET) for f, v in values.items() if not blank(v)]
        else:
            row = repo.locked(self.session, model, record_id)
            setters = repo.setters(self.session, record_type, record_id)
            changes = merged_fields({f: getattr(row, f) for f in values}, values, setters, source.upload_id)
            for change in changes:
                if change.applies:
                    setattr(row, change.field, change.new)
        if source.upload_id:
            repo.record_changes(self.session, record_type, record_id, changes, source.upload_id, source.label)
            repo.add_source(self.session, record_type, record_id, source.upload_id, created)

    def link(self, record_type: str, model, owner_column: str, owner_id: int, url: str, kind: str) -> None:
        link_id, created = self.repo.insert_link_returning(self.session, model, owner_column, owner_id, url, kind)
        if self.source.upload_id:
            if created:
                change = FieldChange("*", None, url, Action.CREATED)
                self.repo.record_changes(
                    self.session, record_type, link_id, [change], self.source.upload_id, self.source.label
                )
            self.repo.add_source(self.session, record_type, link_id, self.source.upload_id, created)


def insert_structured(
    repo: Repository,
    structured: dict,
    base_url: str,
    primary_party: str = "",
    source: Source = Source(),
    session=None,
) -> dict:
    """Upserts on natural keys, so inserting the same batch twice changes nothing. A party's primary
    (`primary_party`, from the rows, not the model) is an election of its own. `session`: a caller's
    transaction (a preview), else one of its own."""
    e = structured["election"]
    date = iso_date(e.get("election_date"))
    jurisdiction, office = plain_text(e.get("jurisdiction")), plain_text(e.get("office"))
    district = plain_text(e.get("district"))
    if not date or not office:
        raise BatchFailedError("insert: structured output lacks a valid election date (YYYY-MM-DD) or office")
    party = plain_text(primary_party, 120)
    natural_key = "|".join(slugify(p) for p in (jurisdiction, office, district)) + f"|{date}"
    natural_key += f"|{slugify(party)}" if party else ""  # earlier keys unchanged: no duplicates on re-runs
    slug = slugify(f"{jurisdiction} {office} {district} {party} {date}", max_length=200)
    values = dict(
        name=primary_name(plain_text(e.get("name"), 400) or f"{jurisdiction} {office}", party),
        jurisdiction=jurisdiction,
        office=office,
        district=district,
        election_date=date,
        election_type=plain_text(e.get("election_type"), 32),
    )
    with repo.within(session) as session:
        write = RecordWriter(repo, session, source)
        election_id = write.record(
            "election", Election, {"natural_key": natural_key}, {"slug": slug}, values, {"election_type": "general"}
        )
        write.link("election_link", ElectionLink, "election_id", election_id, election_url(base_url, slug), "elevra")
        for link in e.get("links") or []:
            if url := safe_url(link.get("url")):
                write.link(
                    "election_link", ElectionLink, "election_id", election_id, url, plain_text(link.get("kind"), 32)
                )
        stored = repo.candidates_of(session, election_id)
        candidate_ids = []
        for c in structured.get("candidates") or []:
            name = plain_text(c.get("name"))
            if not name:
                continue
            website = safe_url(c.get("website"))
            fields: dict[str, str | bool | None] = dict(
                name=name, party=plain_text(c.get("party"), 120) or None, website=website
            )
            fields["incumbent"] = True if c.get("incumbent") is True else None  # unmarked: unknown, never erases
            known = next((i for i, n in stored if name_key(n) == name_key(name)), None) or matching_candidate(
                name, stored
            )
            if known is None:
                candidate_id = write.record(
                    "candidate",
                    Candidate,
                    {"election_id": election_id, "name_key": name_key(name)},
                    {"slug": slugify(f"{name} {slug}", max_length=300)},
                    fields,
                    {},
                )
                stored.append((candidate_id, name))
            else:  # the same person: another form of the name (Bob / Robert) never replaces the stored one
                candidate_id = known
                write.merge(
                    "candidate", Candidate, candidate_id, False, {k: v for k, v in fields.items() if k != "name"}
                )
            candidate_ids.append(candidate_id)
            links = [(website, "website")] + [
                (safe_url(link.get("url")), plain_text(link.get("kind"), 32) or "website")
                for link in c.get("links") or []
            ]
            for url, kind in links:
                if url:
                    write.link("candidate_link", CandidateLink, "candidate_id", candidate_id, url, kind)
    return {"election_id": election_id, "candidate_ids": candidate_ids}
