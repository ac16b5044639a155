"""Parties by the codes lists use for them: a code is written out, an unknown code is kept as published.

State exports give a party as a code (`DEM`, `REP`, `NPA`, `NOP`, `WRI`…), sometimes beside a column
that describes it (that column wins: `intake.value_roles`). A known code, or a known party written
another way (`Democrat`, `Republican Party`, `G.O.P.`), is stored by its full name; a code no
vocabulary knows stays as the list writes it, in capitals (`DAR`, never `Dar`).
"""

import re

# full name -> the ways lists write it (lower case, without punctuation, without a trailing "party")
KNOWN_PARTIES: dict[str, tuple[str, ...]] = {
    "Democratic": ("d", "dem", "dems", "democrat", "democratic", "demo"),
    "Republican": ("r", "rep", "repub", "gop", "republican", "rpb"),
    "Independent": ("i", "ind", "independent"),
    "Green": ("g", "grn", "gre", "green"),
    "Libertarian": ("l", "lib", "lbt", "lpf", "libertarian"),
    "Nonpartisan": ("np", "non", "nonpartisan", "nonpart", "nopartisan"),
    "Unaffiliated": ("u", "una", "unaf", "unaffiliated"),
    "Unenrolled": ("unenrolled",),
    "No Party Preference": ("npp", "nopartypreference", "statesnopartypreference"),
    "No Party Affiliation": ("npa", "nopartyaffiliation"),
    "No Party": ("nop", "noparty"),
    "Working Families": ("wf", "wfp", "workingfamilies"),
    "American Independent": ("ai", "aip", "americanindependent"),
    "Peace and Freedom": ("pf", "p&f", "paf", "peaceandfreedom"),
    "Constitution": ("con", "cst", "constitution"),
    "Reform": ("ref", "rfm", "reform"),
    "Conservative": ("cnv", "cons", "conservative"),
    "Natural Law": ("nl", "nlp", "naturallaw"),
    "Socialist": ("soc", "socialist"),
    "Write-in": ("wri", "wi", "writein"),
}
_ALIASES = {alias: name for name, aliases in KNOWN_PARTIES.items() for alias in aliases}
_PREFERS = re.compile(r"^\(?\s*prefers\s+(.*?)\s*(?:party)?\s*\)?$", re.I)  # Washington: '(Prefers Republican Party)'


def party_key(value: str) -> str:
    """'Democratic Party' -> 'democratic', 'Non-Partisan' -> 'nonpartisan', 'P&F' -> 'p&f'."""
    text = (value or "").casefold().replace(".", "")
    if (prefers := _PREFERS.match(text)) is not None:
        text = prefers.group(1)
    words = re.findall(r"[\w&]+", text)
    while len(words) > 1 and words[-1] in ("party", "nominee", "nominees", "candidate", "candidates"):
        words = words[:-1]  # 'Libertarian Party Nominees'
    return "".join(words)


def known_party(value: str) -> str | None:
    """The full name of a party the vocabulary knows, else None."""
    return _ALIASES.get(party_key(value))


def published_party(value: str) -> str:
    """A known party by its full name; a code no vocabulary knows kept in capitals; else as written."""
    text = " ".join((value or "").split())
    if (prefers := _PREFERS.match(text)) is not None:  # '(Prefers Independent Dem. Party)'
        text = prefers.group(1).strip()
    if not text:
        return ""
    if name := known_party(text):
        return name
    return text.upper() if re.fullmatch(r"[A-Za-z&]{1,4}", text) else text


def one_slip(a: str, b: str) -> bool:
    """`b` is `a` with one letter changed, added or dropped, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    swapped = a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :]
    return a[i + 1 :] == b[i + 1 :] or a[i + 1 :] == b[i:] or a[i:] == b[i + 1 :] or swapped
