"""Insert one structured batch as elections, candidates and their links, in one transaction."""

from slugify import slugify

from elevra_pipeline.exceptions import BatchFailedError
from elevra_pipeline.records.sanitize import iso_date, name_key, plain_text, safe_url
from elevra_pipeline.storage.models import Candidate, CandidateLink, Election, ElectionLink
from elevra_pipeline.storage.repository import Repository


def election_url(base_url: str, slug: str) -> str:
    return f"{base_url}/elections/{slug}"


def candidate_url(base_url: str, slug: str) -> str:
    return f"{base_url}/candidates/{slug}"


def primary_name(name: str, party: str) -> str:
    """A party's primary says whose it is: 'Springfield Mayor Primary Election (Democratic)'."""
    return name if not party or party.casefold() in name.casefold() else f"{name} ({party})"[:400]


def insert_structured(repo: Repository, structured: dict, base_url: str, primary_party: str = "") -> dict:
    """Upserts on natural keys, so inserting the same batch twice changes nothing. A party's primary
    (`primary_party`, from the rows, not the model) is an election of its own."""
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
        slug=slug,
        name=primary_name(plain_text(e.get("name"), 400) or f"{jurisdiction} {office}", party),
        jurisdiction=jurisdiction,
        office=office,
        district=district,
        election_date=date,
        election_type=plain_text(e.get("election_type"), 32) or "general",
    )
    with repo.unit_of_work() as session:
        election_id = repo.upsert_returning_id(session, Election, {"natural_key": natural_key}, values)
        repo.insert_link(session, ElectionLink, "election_id", election_id, election_url(base_url, slug), "elevra")
        for link in e.get("links") or []:
            if url := safe_url(link.get("url")):
                repo.insert_link(
                    session, ElectionLink, "election_id", election_id, url, plain_text(link.get("kind"), 32)
                )
        candidate_ids = []
        for c in structured.get("candidates") or []:
            name = plain_text(c.get("name"))
            if not name:
                continue
            website = safe_url(c.get("website"))
            candidate_slug = slugify(f"{name} {slug}", max_length=300)
            candidate_id = repo.upsert_returning_id(
                session,
                Candidate,
                {"election_id": election_id, "name_key": name_key(name)},
                dict(slug=candidate_slug, name=name, party=plain_text(c.get("party"), 120) or None, website=website),
            )
            candidate_ids.append(candidate_id)
            links = [(website, "website")] + [
                (safe_url(link.get("url")), plain_text(link.get("kind"), 32) or "website")
                for link in c.get("links") or []
            ]
            for url, kind in links:
                if url:
                    repo.insert_link(session, CandidateLink, "candidate_id", candidate_id, url, kind)
    return {"election_id": election_id, "candidate_ids": candidate_ids}
