"""`elevra-pipeline bench intake --corpus DIR`: how many real lists come out right.

Each file of DIR that has an expected-values script (`expected/<stem>.py`, written without the
pipeline: fixtures/real/CORPUS.md) is read by the pipeline's deterministic layer (`read_upload` and
`group_rows`, no model) with only the settings an admin would give, and what would be stored is held
against the script: which people run against each other (contests), who is on the ballot, names,
districts, parties, jurisdictions, dates, rows that are no candidate, and ballot measures. A file is
right when every measure is. The comparisons are this module's own (no pipeline rule is reused to
judge the pipeline).
"""

import importlib.util
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.batching import group_rows
from elevra_pipeline.intake.options import parse_options
from elevra_pipeline.intake.reader import read_upload
from elevra_pipeline.intake.states import STATES
from elevra_pipeline.records.parties import stored_party
from elevra_pipeline.records.row_truth import RowName

MEASURES = ("contests", "candidates", "names", "districts", "parties", "jurisdictions", "dates", "not_candidates")
MEASURES += ("measures",)
SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
_PARTIES = {
    "democratic": ("d", "dem", "democrat", "democratic", "democratic party", "democrat party"),
    "republican": ("r", "rep", "gop", "g o p", "republican", "republican party"),
    "libertarian": ("l", "lib", "lbt", "libertarian", "libertarian party"),
    "green": ("g", "grn", "green", "green party"),
    "independent": ("i", "ind", "independent"),
    "": ("np", "non", "nop", "nonpartisan", "non partisan", "nonpartisan party", "none", "no party", "una",
         "unaffiliated", "no party preference", "no party affiliation", "npa", "npp"),  # no party
}  # fmt: skip
_PARTY = {alias: name for name, aliases in _PARTIES.items() for alias in aliases}
_PLACE_WORDS = {"county", "city", "of", "town", "township", "village", "borough", "parish", "the", "and", "district"}
_DISTRICT_WORDS = {"district", "dist", "seat", "ward", "no", "number", "position", "pos", "place", "post", "group"}
_DISTRICT_WORDS |= {"zone", "subdistrict", "division", "area", "precinct", "the", "of", "at", "large"}
_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6", "seventh": "7"}
_ORDINALS |= {"eighth": "8", "ninth": "9", "tenth": "10", "eleventh": "11", "twelfth": "12"}


def words(text: str) -> list[str]:
    """Lower-case words, punctuation gone, accents kept (a dropped accent is a changed name)."""
    text = unicodedata.normalize("NFC", text or "").casefold()
    return re.sub(r"[^\w]+", " ", re.sub(r"['’`]", "", text)).split()


def name_key(name: str) -> tuple[str, ...]:
    """A name as its sorted words (order, case and punctuation aside; a quoted nickname left out)."""
    return tuple(sorted(words(re.sub(r"[\"“(][^\"”)]*[\"”)]", " ", name or ""))))


def party_key(party: str) -> str:
    text = re.sub(r"( (party|nominees?|candidates?))+$", "", " ".join(words(party)))
    return _PARTY.get(text, _PARTY.get(text.removesuffix(" party"), text.removesuffix(" party")))


def number(word: str) -> str:
    word = _ORDINALS.get(word, word)
    word = re.sub(r"^(\d+)(st|nd|rd|th)$", r"\1", word)
    return word.lstrip("0") or word if word.isdigit() else word


def same_party(got: str | None, want: str) -> bool:
    """The same party, or the list's misspelling of it corrected (`Democractic`, `Republicans`): at
    most two letters apart (edit distance) in a name of six or more."""
    if got is None or got == want:
        return got == want
    if min(len(got), len(want)) < 6:
        return False
    row = list(range(len(want) + 1))
    for i, a in enumerate(got, 1):
        row, previous = [i], row
        for j, b in enumerate(want, 1):
            row.append(min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a != b)))
    return row[-1] <= 2


def district_core(text: str) -> set[str]:
    return {number(w) for w in words(text) if w not in _DISTRICT_WORDS}


def place_core(text: str) -> set[str]:
    return {w for w in words(text) if w not in _PLACE_WORDS}


@dataclass
class Contest:
    people: frozenset
    office: str = ""
    district: str = ""
    jurisdiction: str | None = ""  # None: a local contest whose place the list never says
    date: str = ""
    parties: dict = field(default_factory=dict)  # name key -> party key
    needs_fix: str = ""  # the pipeline's: why it is not stored (a place or a date to give)

    def text(self) -> set[str]:
        return set(words(f"{self.office} {self.district} {self.jurisdiction or ''}"))


@dataclass
class Score:
    file: str
    checks: dict = field(default_factory=dict)  # measure -> (right, what was found, what was wanted)
    error: str = ""
    seconds: float = 0.0

    @property
    def right(self) -> bool:
        return not self.error and all(ok for ok, _, _ in self.checks.values())

    def wrong(self) -> list[str]:
        return [f"{m}: got {got}, want {want}" for m, (ok, got, want) in self.checks.items() if not ok]


def load_expected(script: Path) -> dict:
    spec = importlib.util.spec_from_file_location(f"corpus_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.expected()


def corpus_files(folder: Path) -> list[tuple[Path, Path]]:
    """(file, its expected-values script) for every file of the folder that has one."""
    pairs = []
    for path in sorted(folder.iterdir()):
        script = folder / "expected" / f"{path.stem}.py"
        if path.suffix.lower() in SUFFIXES and script.exists():
            pairs.append((path, script))
    return pairs


def expected_contests(want: dict) -> list[Contest]:
    by_key: dict[str, list[dict]] = {}
    for c in want["candidacies"]:
        by_key.setdefault(str(c["contest"]), []).append(c)
    contests = []
    for members in by_key.values():
        first = members[0]
        contests.append(
            Contest(
                frozenset(name_key(m["name"]) for m in members),
                first.get("office") or "",
                first.get("district") or "",
                first.get("jurisdiction", ""),
                first.get("date") or "",
                {name_key(m["name"]): party_key(m.get("party") or "") for m in members},
            )
        )
    return contests


def pipeline_contests(path: Path, admin: dict) -> tuple[list[Contest], dict]:
    """What would be stored: the batches that need no fix, each candidate as records store it."""
    parsed = read_upload(path, parse_options({k: v for k, v in admin.items() if v}))
    contests = []
    for batch in group_rows(parsed.rows):
        people, parties = set(), {}
        for row in batch.rows:
            name = RowName.of(row["candidate_name"], row.get("nickname") or "").stored
            party = row.get("party") or row.get("primary_party") or ""
            people.add(name_key(name))
            parties[name_key(name)] = party_key(stored_party(party, party) if party else "")
        contests.append(
            Contest(
                frozenset(people),
                batch.office,
                batch.district,
                batch.jurisdiction,
                batch.election_date,
                parties,
                batch.problem or "",
            )
        )
    dropped = parsed.report.dropped_by_reason()
    found = {
        "not_candidates": sum(dropped.get(r, 0) for r in NOT_CANDIDATE_REASONS),
        "measures": len(parsed.report.measures),
    }
    return contests, found


NOT_CANDIDATE_REASONS = (DropReason.NOT_A_CANDIDATE.value, DropReason.MEASURE_CHOICE.value, DropReason.STATISTIC.value)


def statewide_place(jurisdiction: str, state: str) -> bool:
    """A statewide contest is stored with no place or with the state itself."""
    allowed = {"state", "of"} | set(words(STATES.get(state.upper(), ""))) | {state.casefold()}
    return set(words(jurisdiction)) <= allowed


def district_shown(want: str, contest: Contest) -> bool:
    """The district's words (numbers without leading zeros, ordinals as numbers) in the contest's
    office, district or place; a code that mixes letters and digits (`1A01`) in its own case."""
    text = f"{contest.office} {contest.district} {contest.jurisdiction or ''}"
    shown = {number(w) for w in words(text)}
    codes = [w for w in re.findall(r"[\w/]+", want) if re.search(r"\d", w) and re.search(r"[A-Za-z]", w)]
    return district_core(want) <= shown and all(code in text for code in codes)  # a code keeps its case


def pair_contests(want: list[Contest], got: list[Contest]) -> tuple[list[tuple[Contest, Contest]], int]:
    """Each wanted contest with the pipeline's contest of the same people (among several, the one
    whose words it shares most); (pairs, how many found none)."""
    by_people: dict[frozenset, list[Contest]] = {}
    for c in got:
        by_people.setdefault(c.people, []).append(c)
    pairs = []
    for w in sorted(want, key=lambda c: len(by_people.get(c.people, []))):
        options = by_people.get(w.people, [])
        if options:
            best = max(options, key=lambda g: len(w.text() & g.text()))
            options.remove(best)
            pairs.append((w, best))
    return pairs, len(want) - len(pairs)


def place_right(w: Contest, g: Contest, state: str) -> bool:
    """A local contest is stored with its place's words; a statewide one with no place or the state;
    one whose place the list never says is not stored but waits for the uploader's fix."""
    if w.jurisdiction is None:
        return bool(g.needs_fix)
    if w.jurisdiction:
        return place_core(w.jurisdiction) <= set(words(f"{g.jurisdiction} {g.office} {g.district}"))
    return statewide_place(g.jurisdiction, state)


def score_contests(want: list[Contest], got: list[Contest], state: str) -> dict:
    checks = {}
    checks["contests"] = (Counter(c.people for c in got) == Counter(c.people for c in want), len(got), len(want))
    pairs, unmatched = pair_contests(want, got)
    stored = [(w, g) for w, g in pairs if not g.needs_fix]
    wrongly_held = [g for w, g in pairs if g.needs_fix and w.jurisdiction is not None]

    def per_contest(test, among=stored) -> tuple[bool, str, str]:
        bad = [f"{g.office} {g.district} ({g.jurisdiction})".strip() for w, g in among if not test(w, g)]
        ok = not bad and not unmatched and not wrongly_held
        found = f"{len(among) - len(bad)} right" + (f", e.g. {bad[0]!r}" if bad else "")
        if wrongly_held:
            held = wrongly_held[0]
            found += f"; {len(wrongly_held)} held for a fix, e.g. {held.office!r}: {held.needs_fix[:60]}"
        return ok, found, f"{len(want)}"

    checks["districts"] = per_contest(lambda w, g: district_shown(w.district, g))
    checks["jurisdictions"] = per_contest(lambda w, g: place_right(w, g, state), among=pairs)
    checks["dates"] = per_contest(lambda w, g: g.date == w.date)
    checks["parties"] = per_contest(lambda w, g: all(same_party(g.parties.get(p), q) for p, q in w.parties.items()))
    return checks


def about(got: int, want: int) -> bool:
    """Lines that are no candidate dropped as such, within 2 or 5 %: a statistics line above a report's
    header is dropped as a title line instead. That none is stored is the `names` measure's to say."""
    return (got > 0) == (want > 0) and abs(got - want) <= max(2, 0.05 * want)


def score_file(path: Path, script: Path) -> Score:
    score = Score(path.name)
    start = time.perf_counter()
    try:
        want = load_expected(script)
        if "candidacies" not in want:
            raise ValueError(f"{script.name} is not in the corpus format (no 'candidacies': see CORPUS.md)")
        admin = want.get("admin") or {}
        start = time.perf_counter()  # the pipeline's time: an expected script may take longer (openpyxl's full load)
        got, found = pipeline_contests(path, admin)
    except Exception as e:  # a refused or crashing file is a wrong file, with its reason
        score.error = f"{type(e).__name__}: {e}"[:300]
        score.seconds = time.perf_counter() - start
        return score
    wanted = expected_contests(want)
    got_people = Counter(p for c in got for p in c.people)
    want_people = Counter(p for c in wanted for p in c.people)
    score.checks = score_contests(wanted, got, admin.get("state") or "")
    score.checks["candidates"] = (sum(got_people.values()) == len(want["candidacies"]), sum(got_people.values()),
                                  len(want["candidacies"]))  # fmt: skip
    missing, extra = want_people - got_people, got_people - want_people
    example = next(iter(missing or extra), ())
    score.checks["names"] = (not missing and not extra, f"{len(missing)} missing, {len(extra)} extra"
                             + (f", e.g. {' '.join(example)!r}" if example else ""), "0 and 0")  # fmt: skip
    score.checks["not_candidates"] = (about(found["not_candidates"], want.get("not_candidates", 0)),
                                      found["not_candidates"], want.get("not_candidates", 0))  # fmt: skip
    score.checks["measures"] = (found["measures"] == want.get("measures", 0), found["measures"],
                                want.get("measures", 0))  # fmt: skip
    score.seconds = time.perf_counter() - start
    return score


def scoreboard(folder: Path, say=print) -> list[Score]:
    scores = []
    say(f"{'file':58} " + " ".join(f"{m[:6]:>6}" for m in MEASURES) + "  result")
    for path, script in corpus_files(folder):
        score = score_file(path, script)
        scores.append(score)
        marks = " ".join(f"{'ok' if score.checks.get(m, (False,))[0] else 'WRONG':>6}" for m in MEASURES)
        say(f"{path.name[:58]:58} {marks}  {'right' if score.right else 'wrong'} ({score.seconds:.1f} s)")
        for line in [score.error] if score.error else score.wrong():
            say(f"    {line[:200]}")
    right = sum(s.right for s in scores)
    say(f"{right} of {len(scores)} files right ({right / max(len(scores), 1):.0%})")
    return scores
