"""Parties as the rows give them: a known party by its full name, any other as the row writes it.

The model may write a row's party differently (its case, without "Party", a known abbreviation
written out: `DEM` -> `Democratic`, a misspelt `Demcorat` too; an initialism spelt out: `AIP` ->
`American Independent Party`, stored as the row's `AIP`), but never as another party.
"""

import re

from elevra_pipeline.intake.party_codes import KNOWN_PARTIES
from elevra_pipeline.records.row_truth import name_tokens, one_slip

_PARTY_ALIASES = {alias: name for name, aliases in KNOWN_PARTIES.items() for alias in aliases}


def party_key(value: str) -> str:
    """'Democratic Party' -> 'democratic', 'Non-Partisan' -> 'nonpartisan'."""
    tokens = name_tokens(value)
    return "".join(tokens[:-1] if len(tokens) > 1 and tokens[-1] == "party" else tokens)


def known_party(value: str) -> str | None:
    """The full name of a known party (`DEM`, `Democratic Party`, a misspelt `Demcorat`), else None."""
    key = party_key(value)
    if key in _PARTY_ALIASES:
        return _PARTY_ALIASES[key]
    slips = [name for alias, name in _PARTY_ALIASES.items() if len(alias) >= 5 and one_slip(key, alias)]
    return slips[0] if len(set(slips)) == 1 else None


def party_says(model: str, row: str) -> bool:
    """The model's party is the row's, written out or in another case."""
    if not model or not row:
        return not model
    if party_key(model) == party_key(row) or (known_party(row) or "?") == known_party(model):
        return True
    initials = "".join(t[0] for t in name_tokens(model))
    return re.fullmatch(r"[a-z]{2,5}", party_key(row)) is not None and party_key(row) in (initials, initials[:-1])


def stored_party(model: str, row: str) -> str:
    """A known party by its full name; any other as the row writes it, or cased as the model cases it
    when the row is all capitals or all lower case (the same letters: `NATURAL LAW` -> `Natural Law`)."""
    uncased = row.isupper() or row.islower()
    return known_party(row) or (model if uncased and model.casefold() == row.casefold() else row)
