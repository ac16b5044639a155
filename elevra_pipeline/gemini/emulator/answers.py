"""Deterministic answers computed from the rows in the prompt, shaped like Gemini's would be."""

import json
import re
from collections import Counter

import pandas as pd

from elevra_pipeline.gemini.prompts import TASK_ANALYZE, TASK_COLUMNS, TASK_STRUCTURE

PARTIES = {
    "d": "Democratic",
    "dem": "Democratic",
    "democrat": "Democratic",
    "democratic": "Democratic",
    "r": "Republican",
    "rep": "Republican",
    "gop": "Republican",
    "republican": "Republican",
    "i": "Independent",
    "ind": "Independent",
    "independent": "Independent",
    "g": "Green",
    "green": "Green",
    "l": "Libertarian",
    "lib": "Libertarian",
    "libertarian": "Libertarian",
    "np": "Nonpartisan",
    "nonpartisan": "Nonpartisan",
    "non-partisan": "Nonpartisan",
}


def _tagged(text: str, tag: str):
    match = re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", text, re.S)
    return json.loads(match.group(1)) if match else None


def nice_case(text: str) -> str:
    """Capitals cased as a careful reader would (a two-letter state code stays `IL`)."""
    if text and (text.islower() or text.isupper()):
        if re.fullmatch(r"[A-Z]{2}", text.strip()):
            return text.strip()
        return " ".join(w[:1].upper() + w[1:].lower() for w in text.split(" "))
    return text


def iso_date(text: str) -> str:
    if not text:
        return ""
    parsed = pd.to_datetime(text, errors="coerce")
    return "" if pd.isna(parsed) else parsed.date().isoformat()


def _most_common(rows: list[dict], field: str) -> str:
    values = [r.get(field, "") for r in rows if r.get(field)]
    return Counter(values).most_common(1)[0][0] if values else ""


_PLACE = re.compile(r"^(city|town|village|county|borough|township) of (.+)$", re.I)
_TITLE_START = (
    "city council",
    "town council",
    "village council",
    "board of",
    "council",
    "mayor",
    "alderman",
    "aldermen",
    "commissioner",
    "commissioners",
    "trustee",
    "trustees",
    "clerk",
    "school",
    "sheriff",
    "member",
    "councilman",
    "councilmember",
    "selectman",
    "selectmen",
)
_DISTRICT = re.compile(r"^(.*?)[ ,-]+((?:district|ward|seat|post)\s+[\w-]+)$", re.I)


_PLACE_FIRST = re.compile(
    r"^(?P<place>.+?) (?P<title>(?:city|town|village) (?:council|commission|board.*)|mayor)$", re.I
)
_TITLE_OF = re.compile(r"^(?P<title>mayor|city council|town council|village board) of (?P<place>.+)$", re.I)


def place_and_title(office: str) -> tuple[str, str] | None:
    """'CITY OF BURLINGTON COUNCIL MEMBER' -> ('City of Burlington', 'Council Member'); 'RADCLIFF CITY
    COUNCIL' -> ('Radcliff', 'City Council'); 'MAYOR OF VINE GROVE' -> ('Vine Grove', 'Mayor')."""
    named = _TITLE_OF.match(office) or _PLACE_FIRST.match(office)
    if named and not _PLACE.match(office):
        return nice_case(named.group("place")), nice_case(named.group("title"))
    match = _PLACE.match(office)
    if not match:
        return None
    words = match.group(2).split()
    for i in range(1, len(words)):
        rest = " ".join(words[i:]).casefold()
        if any(rest == t or rest.startswith(t + " ") for t in _TITLE_START):
            return f"{match.group(1).title()} of {nice_case(' '.join(words[:i]))}", nice_case(" ".join(words[i:]))
    return None


def analyze(rows: list[dict]) -> dict:
    raw_date = _most_common(rows, "election_date")
    date = iso_date(raw_date)
    names = {r["candidate_name"].casefold() for r in rows if r.get("candidate_name")}
    district = _most_common(rows, "district")
    issues = []
    if raw_date and not date:
        issues.append(f"unreadable election date '{raw_date}'")
    if any(r.get("website") and "://" not in r["website"] for r in rows):
        issues.append("website without http(s) scheme")
    reason = (
        "no election date"
        if not date
        else "no office"
        if not _most_common(rows, "office")
        else "no candidate names"
        if not names
        else ""
    )
    month = int(date[5:7]) if date else 0
    kind = _most_common(rows, "election_type").lower() or (
        "general" if month == 11 else "primary" if month in (3, 6) else "municipal" if month else "unknown"
    )
    jurisdiction, office = nice_case(_most_common(rows, "jurisdiction")), nice_case(_most_common(rows, "office"))
    if inferred := place_and_title(_most_common(rows, "office")):
        jurisdiction, office = inferred  # the contest names its place: that is the election's jurisdiction
    if not district and (split := _DISTRICT.match(office)):
        office, district = split.group(1), nice_case(split.group(2))
    return {
        "jurisdiction": jurisdiction,
        "office": office,
        "district": f"District {district}" if district.isdigit() else nice_case(district),
        "election_date": date,
        "election_type": kind if kind in ("general", "primary", "special", "runoff", "municipal") else "unknown",
        "candidate_count": len(names),
        "data_issues": issues,
        "can_structure": not reason,
        "reason": reason,
    }


def structure(rows: list[dict], analysis: dict) -> dict:
    parts = [str(analysis.get(k) or "") for k in ("jurisdiction", "office", "district")]
    kind = str(analysis.get("election_type") or "")
    kind = "" if kind == "unknown" else kind
    name = " ".join(p for p in parts + [kind.title(), "Election"] if p)
    candidates, seen = [], set()
    for row in rows:
        key = row.get("candidate_name", "").casefold()
        if not key or key in seen:
            continue
        seen.add(key)
        website = row.get("website", "")
        if website and "://" not in website and ":" not in website:
            website = "https://" + website
        party = row.get("party", "")
        candidates.append(
            {
                "name": nice_case(row["candidate_name"]),
                "party": PARTIES.get(party.casefold().strip("."), nice_case(party)),
                "website": website,
                "links": [{"url": website, "kind": "website"}] if website else [],
            }
        )
    return {
        "election": {
            "name": name,
            "jurisdiction": analysis["jurisdiction"],
            "office": analysis["office"],
            "district": analysis["district"],
            "election_date": analysis["election_date"],
            "election_type": analysis["election_type"] if analysis["election_type"] != "unknown" else "general",
            "links": [],
        },
        "candidates": candidates,
    }


def answer(prompt: str) -> dict:
    rows = _tagged(prompt, "rows") or []
    if TASK_STRUCTURE in prompt:
        return structure(rows, _tagged(prompt, "analysis") or analyze(rows))
    if TASK_ANALYZE in prompt:
        return analyze(rows)
    if TASK_COLUMNS in prompt:
        from elevra_pipeline.gemini.emulator.columns import map_columns

        return map_columns(_tagged(prompt, "table") or {}, _tagged(prompt, "refused") or [])
    return {"text": "emulated answer"}
