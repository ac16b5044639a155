"""The place a results report is for, from its own words: the one county its title lines and contest
headings name (`DAKOTA COUNTY, NEBRASKA`, `Summit County referred measure 1A`), else the one city its
title names, else the one title line that is a bare name among report words (`Election Summary Report`
/ `Closed Primary` / `Chaffee`).
A local contest that names no place of its own is that place's."""

import re

_REPORT_WORDS = set(
    """official unofficial results result election elections general primary closed open municipal special runoff
    report reports summary precinct precincts canvass canvassed abstract statement votes vote cast certified final
    cumulative totals total page of the for and by at in on all contests districts state county mayoral
    council municipal school""".split()
)
_COUNTY = re.compile(r"((?:[A-Z][\w.'’-]*\s+){1,3})(?:County|COUNTY|Parish|PARISH)\b")
_CITY = re.compile(r"\b(?:City|CITY|Town|TOWN|Village|VILLAGE|Borough|BOROUGH) (?:of|OF)((?:\s+[A-Z][\w.'’-]*){1,3})")
_BARE = re.compile(r"^[A-Z][A-Za-z.'’-]+(?: [A-Z][A-Za-z.'’-]+)?$")


def _county(match: re.Match) -> str:
    words = match.group(1).split()
    while words and words[0].casefold().strip(".,") in _REPORT_WORDS:
        words.pop(0)
    return f"{' '.join(words[-2:])} County" if words else ""


def _city(match: re.Match) -> str:
    words = match.group(1).split()
    while words and words[-1].casefold().strip(".,") in _REPORT_WORDS:
        words.pop()
    return f"{match.group(0).split()[0].title()} of {' '.join(words)}" if words else ""


def report_place(titles: list[str], headings: list[str]) -> str:
    """The report's own place, or '' when its words name none (or several)."""
    counties = {c.casefold(): c for text in titles + headings for m in _COUNTY.finditer(text) if (c := _county(m))}
    if not counties:  # a city's own report ('City of Springfield Mayoral Runoff')
        counties = {c.casefold(): c for text in titles for m in _CITY.finditer(text) if (c := _city(m))}
    if counties:
        return next(iter(counties.values())) if len(counties) == 1 else ""
    bare = {t for t in titles if _BARE.match(t) and not {w.casefold() for w in t.split()} & _REPORT_WORDS}
    return bare.pop() if len(bare) == 1 else ""
