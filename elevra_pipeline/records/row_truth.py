"""The rows are the truth for who is stored: the model only says which row a candidate is.

A model's name stands for a row when it is that row's name written differently, nothing more: case,
accents, punctuation, word order ("LAST, FIRST"), a dropped middle name, initial or suffix, the first
name as its initial or as the row's nickname. An added word is another name. A word respelt (one
letter changed, added, dropped or two swapped; `ø`, `ł`, `ß` written `o`, `l`, `ss`) still points at
the row when it spells no other row's word: real models "correct" names, and the rows are the truth.
The stored name is the row's own (see RowName.stored). A candidate's web address stands when its host
is written in that candidate's row.
"""

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from urllib.parse import urlsplit

from elevra_pipeline.intake.names import last_first, published_name
from elevra_pipeline.intake.party_codes import one_slip
from elevra_pipeline.records.sanitize import clean_text, safe_url

SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}
SHOWN_AS_CLOSE = 0.75  # a refused name is shown next to the row it nearly spells
APOSTROPHES = r"['’ʼ`]"
# letters Unicode does not split into a base letter and an accent, as English spelling writes them
WRITTEN_APART = str.maketrans({"ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "þ": "th"})


def name_tokens(name: str) -> list[str]:
    """Lower-case words without accents or punctuation: 'SMITH, José A.' -> ['smith', 'jose', 'a'];
    an apostrophe joins ("O'Neil" -> 'oneil'), a hyphen parts ('Smithers-Jones')."""
    return list(_name_tokens(name))


@lru_cache(maxsize=4096)
def _name_tokens(name: str) -> tuple[str, ...]:
    """Checking one answer (and inserting its records) splits the same few names and parties dozens of
    times: each is split once (7,800 splits for 200 answers and their inserts, in a profile)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return tuple(re.sub(r"[^\w]+", " ", re.sub(APOSTROPHES, "", plain.casefold())).split())


def written_words(name: str) -> list[str]:
    """Lower-case words with their accents: 'SMITH, José' -> ['smith', 'josé']."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[^\w]+", " ", re.sub(APOSTROPHES, "", text)).split()


def respells(word: str, row_word: str) -> bool:
    """`word` is `row_word` respelt: one slip, or letters written apart (`soren` for `søren`)."""
    if min(len(word), len(row_word)) < 3:
        return False
    plain, row_plain = word.translate(WRITTEN_APART), row_word.translate(WRITTEN_APART)
    return plain == row_plain or one_slip(plain, row_plain)


@dataclass(frozen=True)
class RowName:
    """A row's name: as written, as stored, and its words. Stored is the name in reading order; one all
    in capitals (or lower case) has no casing of its own and is cased as intake cases a column of
    capitals (`JANE DOE` -> `Jane Doe`, nameparser)."""

    text: str
    stored: str
    words: tuple[str, ...]  # reading order, without a quoted nickname
    nicknames: tuple[str, ...]
    letters: frozenset[str] = frozenset()  # every word as written, accents kept

    @classmethod
    def of(cls, name: str, nickname: str = "") -> "RowName":
        text = clean_text(name).text
        stored = published_name(text, text.isupper() or text.islower())
        reading = " ".join(reversed(text.split(","))) if last_first(text) else text
        quoted = re.findall(r"[\"“(]([^\"”)]*)[\"”)]", reading)
        words = name_tokens(re.sub(r"[\"“(][^\"”)]*[\"”)]", " ", reading))
        nicknames = name_tokens(" ".join(quoted) + " " + clean_text(nickname).text)
        letters = frozenset(written_words(reading + " " + clean_text(nickname).text))
        return cls(text, stored, tuple(words), tuple(nicknames), letters)

    def respelt(self, given: list[str]) -> list[str] | None:
        """`given` with each word the row does not have replaced by the one word of the row it respells;
        None when a word respells none of the row's words, or several."""
        own = self.words + self.nicknames
        spelt = []
        for token in given:
            near = {token} if token in own or len(token) < 3 else {w for w in own if respells(token, w)}
            if len(near) != 1:
                return None
            spelt.append(near.pop())
        return spelt

    def changed_in(self, name: str) -> bool:
        """`name` writes a letter of this row's name otherwise: an accent or a spelling (case, order,
        punctuation, a dropped word and initials are presentation)."""
        return any(len(w) > 1 and w not in self.letters for w in written_words(name))

    def unmatched(self, given: list[str]) -> int | None:
        """How many of the row's words `given` leaves out, or None when `given` is not this name:
        every given word is a word of the row (or an initial of one), the first name is there (or the
        nickname), the last name is there in full."""
        core = len(self.words)
        while core > 1 and self.words[core - 1] in SUFFIXES:
            core -= 1
        if not core or not given:
            return None
        free = self.words + self.nicknames
        whole, initials = set(), set()
        for token in sorted(given, key=len, reverse=True):  # whole words first, then initials
            spots = [i for i in range(len(free)) if i not in whole | initials]
            if len(token) == 1:  # an initial: the first name's first, then an initial of the row, then any word's
                spots = [i for i in spots if free[i][0] == token]
                spots.sort(key=lambda i: (i != 0, free[i] != token))
            else:
                spots = [i for i in spots if free[i] == token]
            if not spots:
                return None
            (whole if free[spots[0]] == token else initials).add(spots[0])
        used = whole | initials
        lead = next((i for i, w in enumerate(self.words) if len(w) > 1), 0)  # 'J. Robert Smith' goes by Robert
        first = any(i <= lead or i >= len(self.words) for i in used)
        return len(self.words) - len(used & set(range(len(self.words)))) if first and core - 1 in whole else None


def same_person(model_name: str, row_name: str, nickname: str = "") -> bool:
    return RowName.of(row_name, nickname).unmatched(name_tokens(model_name)) is not None


def closest(name: str, rows: list[RowName]) -> RowName | None:
    """The row a refused name nearly spells, to show the difference."""
    key = " ".join(sorted(name_tokens(name)))
    scored = [(SequenceMatcher(None, key, " ".join(sorted(r.words))).ratio(), r) for r in rows]
    best = max(scored, key=lambda s: s[0], default=None)
    return best[1] if best and best[0] >= SHOWN_AS_CLOSE else None


def host(url: str | None) -> str:
    return (urlsplit(url or "").hostname or "").removeprefix("www.")


def row_text(row: dict) -> str:
    return " ".join(str(v) for k, v in row.items() if k != "source").casefold()


def mentions(text: str, url: str | None) -> bool:
    """The url's host is written in `text` as a host (`janedoe.org`, `www.`…, `jane@janedoe.org`)."""
    name = host(url)
    return bool(name) and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def row_website(row: dict) -> str:
    return safe_url(clean_text(row.get("website"), 2000).text) or ""
