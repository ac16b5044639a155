"""Candidate names as published: a name keeps the casing the list gives it, unless its whole column is
in capitals; then it is cased by `nameparser` (McPeek, MacDonald, O'Brien, de la Cruz, III, Jr.,
quoted nicknames), never by `str.title` ("Mcpeek", "Iii"). "LAST, FIRST" in one cell reads as
"FIRST LAST"."""

import re

from nameparser import HumanName

from elevra_pipeline.intake.ballot_lines import not_a_candidate

FORMAT = '{title} {first} "{nickname}" {middle} {last} {suffix}'  # a title is part of the name as published
_CAPITALISED_PARTICLES = {"st": "St", "st.": "St.", "ste": "Ste", "mac": "Mac", "mc": "Mc"}  # St Clair, Mac Donald
_SUFFIX_ONLY = re.compile(r",\s*(jr|sr|ii|iii|iv|v|md|phd|esq)\.?\s*$", re.I)


def all_capitals(names: list[str]) -> bool:
    """Most names of the column are written in capitals (a county clerk's extract); its lines that name
    nobody (`Write-In Totals`, `Over Votes`) say nothing of how it writes names."""
    lettered = [n for n in names if any(c.isalpha() for c in n) and not not_a_candidate(n)]
    return bool(lettered) and sum(n.isupper() for n in lettered) >= 0.9 * len(lettered)


def last_first(name: str) -> bool:
    """'SMITH, JOHN A' (but not 'John Smith, Jr.')."""
    return name.count(",") == 1 and not _SUFFIX_ONLY.search(name)


_QUOTED = re.compile(r"(?:(?<=\s)|^)(''|\"|“|')([^\"“”']+)(?:\1|”)(?=\s|,|$)")


def published_name(name: str, capitals: bool) -> str:
    """The name in reading order; cased only when its column is all capitals. A quoted nickname keeps
    its place after the first name and its own quotes ('JOHN 'FRUGAL' DOUGALL', 'C.D.' in quotes)."""
    if not (capitals or last_first(name)):
        return name
    quoted = _QUOTED.search(name)
    if quoted:
        rest = published_name(f"{name[: quoted.start()]} {name[quoted.end() :]}".strip(), capitals).split(" ", 1)
        nickname = " ".join(_cap(w) for w in quoted.group(2).split()) if capitals else quoted.group(2)
        close = "”" if quoted.group(1) == "“" else quoted.group(1)
        return " ".join([rest[0], f"{quoted.group(1)}{nickname}{close}", *rest[1:]])
    human = HumanName(name, string_format=FORMAT)
    if capitals:
        human.capitalize(force=True)
    parts = str(human).replace('""', "").split()
    text = " ".join(_CAPITALISED_PARTICLES.get(p, p) if i else p for i, p in enumerate(parts))
    return text if _words(text) == _words(name) else _cased_words(name, capitals)


def _words(name: str) -> list[str]:
    return sorted(re.sub(r"[^\w]+", " ", name.casefold()).split())


def _cased_words(name: str, capitals: bool) -> str:
    """Every word kept, in reading order, when the parser would lose one: each word cased on its own."""
    if last_first(name):
        last, first = name.split(",", 1)
        name = f"{first} {last}"
    words = name.split()
    if capitals:
        words = [_cap(w) for w in words]
    return " ".join(words)


def _cap(word: str) -> str:
    human = HumanName(word)
    human.capitalize(force=True)
    return str(human) or word.capitalize()
