"""Which way a results grid runs, decided band by band from its values, and its layout.

Wide: the choices are the header over the count columns and the rows are reporting units.
Sideways: the units are the header and the rows are the choices, under contest headings. Whichever
side reads more like people holds the choices (`Clinton, Hillary` against `Tape Tally`,
`JOSEPH R BIDEN AND KAMALA D HARRIS` against `PRECINCT 001`); headings between the runs of a band
tip a close call to sideways.
"""

import re
from collections import Counter
from collections.abc import Sequence

from elevra_pipeline.intake.ballot_lines import measure_choice
from elevra_pipeline.intake.offices import names_a_place
from elevra_pipeline.intake.wide_results import sideways, wide
from elevra_pipeline.intake.wide_results.cells import (
    is_text,
    names_party,
    not_a_person,
    party_code,
    party_name,
    person_like,
    statistic,
    unit_like,
)
from elevra_pipeline.intake.wide_results.grid import BandView, Run, band_runs, bands, cells
from elevra_pipeline.intake.wide_results.lines import SIDEWAYS, WIDE, Layout, Line

MARGIN = 0.25


def _share(texts: list[str], units: set[str] = frozenset()) -> tuple[float, int]:
    """The share of texts that read as choices, people or Yes/No (a unit the workbook showed as a row
    elsewhere is none),
    and how many texts it is taken over."""
    texts = [t for t in texts if measure_choice(t) or not (not_a_person(t) or statistic(t))]
    people = sum(1 for t in texts if (person_like(t) or measure_choice(t)) and t.casefold() not in units)
    return (people / len(texts) if texts else 0.0), len(texts)


def _label_texts(rows: Sequence[Sequence[str]], view: BandView, only: Run | None = None) -> list[str]:
    found = []
    for run in [only] if only else view.runs:
        for r in range(run.first, run.last + 1):
            texts = [v for _, v in cells(rows[r], view.labels) if is_text(v)]
            if texts and view.kinds[r] == "count":
                found.append(texts[-1])
    return found


def _header_texts(rows: Sequence[Sequence[str]], view: BandView) -> tuple[list[str], bool]:
    """The texts over the count columns above each run, and whether a heading (a label-only row) sits
    right above a run's counts."""
    found, headed = [], False
    for run in view.runs:
        columns = view.count_columns(rows, run)
        for h in run.header:
            values = [v for _, v in cells(rows[h], columns) if is_text(v)]
            if len(set(values)) > 1:
                found += values
        before = run.first - 1
        headed |= before >= 0 and view.kinds[before] == "label"
        for r in range(run.first, run.last):
            headed |= view.kinds[r] == "label" and view.kinds[r + 1] == "count"
    return found, headed


def long_export(rows: Sequence[Sequence[str]], view: BandView) -> bool:
    """One line per precinct and choice (a results export), not a grid: the labels beside the counts
    repeat down a run (the contest, the county once per candidate), where a grid names each unit or
    choice once (a few times at most: a precinct's counting groups)."""
    for run in view.runs:
        tuples = []
        for r in range(run.first, run.last + 1):
            texts = tuple(v for _, v in cells(rows[r], view.labels) if is_text(v))
            if texts and view.kinds[r] == "count":
                if not (not_a_person(texts[-1]) or measure_choice(texts[-1])):
                    tuples.append(texts)
        most = max(Counter(tuples).values(), default=0)
        several = max((len(set(t)) for t in tuples), default=0) >= 3
        if (most >= 3 and most >= 0.1 * len(tuples)) or (several and most >= 2):
            return True
    return False


def orientation(rows: Sequence[Sequence[str]], view: BandView, units: set[str] = frozenset()) -> str:
    """SIDEWAYS when the row labels read more like people than the headers over the counts do (two
    labels at least); WIDE otherwise. `units`: row labels of the workbook's wide sheets read before."""
    labels, counted = _share(_label_texts(rows, view), units)
    texts, headed = _header_texts(rows, view)
    header, _ = _share(texts)
    if counted >= 2 and (labels > header + MARGIN or (headed and labels >= header and labels > 0.3)):
        return SIDEWAYS
    return WIDE


def sheet_party(name: str) -> str:
    return party_name(name) if names_party(name) else ""


def find_layout(rows: Sequence[Sequence[str]], sheet_name: str, units: set[str] = frozenset()) -> Layout | None:
    """The sheet's results layout (maybe with no candidate among its choices), or None when no band has
    counts under or beside text."""
    width = max((len(r) for r in rows), default=0)
    views = [v for v in (band_runs(rows, columns, labels) for columns, labels in bands(rows, width)) if v.runs]
    if not views or any(long_export(rows, v) for v in views):
        return None
    party = sheet_party(sheet_name)
    kinds = [orientation(rows, v, units) for v in views]
    layout = Layout(SIDEWAYS if kinds.count(SIDEWAYS) > kinds.count(WIDE) else WIDE)
    for view, kind in zip(views, kinds):
        if kind == SIDEWAYS:
            found, info = sideways.read_band(rows, view, party)
            if not any(line.office for line in found):
                continue  # choices down the rows under no heading at all: a list or an export, not this layout
            for r, role in info["roles"].items():
                layout.fate(r, role)
            layout.lines += found
            for r in range(info["footer_from"], len(rows)):
                if any(is_text(v) for _, v in cells(rows[r], view.columns)):
                    layout.fate(r, "footer", " | ".join(v for v in rows[r] if v)[:200])
        else:
            layout.units |= {t.casefold() for t in _label_texts(rows, view)}
            for run in view.runs:
                found, info = wide.read_run(rows, view, run, party)
                table = wide.statistics_table(found)
                for line in found:
                    _party_of(line, info)
                    wide.classify(line)
                    if table and not line.drop:
                        line.drop, line.detail = "statistic", line.name
                for r, role in info.get("roles", {}).items():
                    layout.fate(r, role)
                layout.lines += found
    return layout if layout.lines else None


def _party_of(line: Line, info: dict) -> None:
    """A party the layout gives beside the name: the party row's code, the ballot line the names row
    is labelled with (`Democratic`), the sheet (`Republican`)."""
    if line.party:
        code = party_code(line.party)
        line.party = code if code is not None else party_name(line.party) if names_party(line.party) else line.party
        line.party_from = "row"
    elif info.get("label_party") is not None:
        line.party, line.party_from = info["label_party"], "row"
    elif info.get("sheet_party"):
        line.party, line.party_from = info["sheet_party"], "sheet"


def is_place_name(name: str, titles: list[str]) -> bool:
    """A sheet named for a place (a parish, a county): letters only, a few words, no unit, party or office
    word alone, and none of its words in the sheet's contest titles (`Trustee A` names its contest)."""
    text = " ".join(name.split())
    title_words = {w for t in titles for w in re.findall(r"[a-z]+", t.casefold())}
    return (
        bool(re.fullmatch(r"[A-Z][A-Za-z .'-]{1,40}", text))
        and len(text.split()) <= 4
        and not unit_like(text)
        and not names_party(text)
        and not not_a_person(text)
        and names_a_place(text)
        and not all(w in title_words for w in re.findall(r"[a-z]{3,}", text.casefold()))
    )
