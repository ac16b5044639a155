"""Whether two names in one election are one candidate: 'Bob Smith' and 'Robert Smith', 'Ann M. Lee'
and 'Ann Lee' are; 'John Smith' and 'Jane Smith', 'Ann Lee' and 'Ann Leeds', 'Robert Smith' and
'Robert Smith Jr.' are not.

The words are those the answer check reads (`records.row_truth.name_tokens`: case, accents and
punctuation aside). The last names must be equal, and so must the suffixes (Jr., III); first names
match when equal, when one is the other's initial, or when one is a nickname of the other (the
`nicknames` package's table); a middle name may be missing on one side, and where both have one
they must agree (an initial agrees with its name).
"""

from functools import lru_cache

from nicknames import NickNamer

from elevra_pipeline.records.row_truth import name_tokens

SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v"})


@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=4096)
def _known_as(name: str) -> frozenset[str]:
    namer = _nicknamer()
    return frozenset({name} | namer.nicknames_of(name) | namer.canonicals_of(name))


def _agree(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) == 1 or len(b) == 1:
        return a[0] == b[0]
    return b in _known_as(a) or a in _known_as(b)


def _parts(name: str) -> tuple[list[str], frozenset[str]]:
    last, comma, rest = name.partition(",")
    if comma and rest.strip() and not set(name_tokens(rest)) <= SUFFIXES:
        name = f"{rest} {last}"  # 'SMITH, Robert' is Robert Smith
    words = name_tokens(name)
    return [w for w in words if w not in SUFFIXES], frozenset(w for w in words if w in SUFFIXES)


def same_candidate(a: str, b: str) -> bool:
    (words_a, suffix_a), (words_b, suffix_b) = _parts(a), _parts(b)
    if not words_a or not words_b or suffix_a != suffix_b:
        return False
    if words_a == words_b:
        return True
    if len(words_a) < 2 or len(words_b) < 2 or words_a[-1] != words_b[-1] or not _agree(words_a[0], words_b[0]):
        return False
    middle_a, middle_b = words_a[1:-1], words_b[1:-1]
    shorter, longer = sorted((middle_a, middle_b), key=len)
    return all(any(_agree(m, n) for n in longer) for m in shorter)


def matching_candidate(name: str, stored: list[tuple[int, str]]) -> int | None:
    """The id of the stored candidate (id, name) of the election that `name` is, if any."""
    return next((candidate_id for candidate_id, known in stored if same_candidate(name, known)), None)
