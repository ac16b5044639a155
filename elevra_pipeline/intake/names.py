"""Candidate names as published: a name keeps the casing the list gives it, unless its whole column is
in capitals; then it is cased by `nameparser` (McPeek, MacDonald, O'Brien, de la Cruz, III, Jr.,
quoted nicknames), never by `str.title` ("Mcpeek", "Iii"). "LAST, FIRST" in one cell reads as
"FIRST LAST"."""

import re

from nameparser import HumanName

FORMAT = '{first} "{nickname}" {middle} {last} {suffix}'
_SUFFIX_ONLY = re.compile(r",\s*(jr|sr|ii|iii|iv|v|md|phd|esq)\.?\s*$", re.I)


def all_capitals(names: list[str]) -> bool:
    """Most names of the column are written in capitals (a county clerk's extract)."""
    lettered = [n for n in names if any(c.isalpha() for c in n)]
    return bool(lettered) and sum(n.isupper() for n in lettered) >= 0.9 * len(lettered)


def last_first(name: str) -> bool:
    """'SMITH, JOHN A' (but not 'John Smith, Jr.')."""
    return name.count(",") == 1 and not _SUFFIX_ONLY.search(name)


def published_name(name: str, capitals: bool) -> str:
    """The name in reading order; cased only when its column is all capitals."""
    if not (capitals or last_first(name)):
        return name
    human = HumanName(name, string_format=FORMAT)
    if capitals:
        human.capitalize(force=True)
    text = " ".join(str(human).replace('""', "").split())
    return text or name
