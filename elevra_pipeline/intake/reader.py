"""Read an upload into candidate rows, accounting for every row of every sheet.

Per sheet: find the header row under any title lines, map columns to roles (aliases, then the
model for what they leave open, then the admin's `columns`, which win), fill what the admin gave
for the whole upload, and keep each row or drop it with a reason.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.accounting import DropReason, IntakeReport, SheetReport
from elevra_pipeline.intake.ballot_lines import incumbent_mark, measure_lines, not_a_candidate
from elevra_pipeline.intake.batching import normalize_date
from elevra_pipeline.intake.column_checks import check_mapping, results_columns
from elevra_pipeline.intake.contests import (
    YES,
    apply_contest_rules,
    declared_write_in,
    election_kind,
    inferred_election_type,
    marked_unused,
    not_on_ballot,
    office_party,
    office_word_spellings,
    party_spellings,
    primary_contest,
    respelt,
    status_flag,
    status_in_name,
    write_in_flag,
)
from elevra_pipeline.intake.csv_source import read_csv
from elevra_pipeline.intake.dates import DateOrder, read_numeric_date, survey
from elevra_pipeline.intake.invariants import (
    Finding,
    contest_key,
    filing_dates,
    reporting_units,
    state_contest_places,
)
from elevra_pipeline.intake.limits import IntakeLimits, check_file_size
from elevra_pipeline.intake.names import all_capitals, published_name
from elevra_pipeline.intake.offices import missing_place
from elevra_pipeline.intake.options import UploadOptions, plausible_date
from elevra_pipeline.intake.party_codes import published_party
from elevra_pipeline.intake.roles import (
    REQUIRED_HINT,
    ColumnMapping,
    Decision,
    Role,
    map_by_alias,
    map_by_words,
    normalize_header,
)
from elevra_pipeline.intake.section_results import read_results_layout, section_table
from elevra_pipeline.intake.sheets import RawSheet, find_header_row
from elevra_pipeline.intake.value_roles import district_column, level_column, level_of
from elevra_pipeline.intake.wide_results import read_results_layout as read_wide_results
from elevra_pipeline.intake.xlsx_source import read_xlsx

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")  # delimited text: the delimiter is sniffed (comma, tab, ;, |)
SUPPORTED_SUFFIXES = (".xlsx", *TEXT_SUFFIXES)
ROW_FIELDS = (
    "jurisdiction",
    "office",
    "district",
    "election_date",
    "candidate_name",
    "party",
    "primary_party",
    "website",
    "email",
    "election_type",
    "state",
    "nickname",
    "vote_for",
    "term",
)
# read from the columns, then folded into the fields above by the contest rules (intake.contests)
RULE_FIELDS = ("status", "office_description", "seat", "election_code", "incumbent")
FIELD_ROLES = tuple((f, Role(f)) for f in ROW_FIELDS + RULE_FIELDS)
NAME_PARTS = (Role.FIRST_NAME, Role.MIDDLE_NAME, Role.LAST_NAME, Role.NAME_SUFFIX)
MODEL_SAMPLE_ROWS = 8
MIN_MODEL_CONFIDENCE = 0.5
_TITLE_DATE = re.compile(
    r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}|"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4})\b",
    re.I,
)

# (sheet name, headers, sample rows, refused proposals) -> [(header, role, confidence)]; raises when the
# model cannot answer. A refused proposal: {"column", "role", "why"} (a check of its values failed).
AskModel = Callable[[str, list[str], list[list[str]], list[dict]], list[tuple[str, str, float]]]


@dataclass
class ParsedUpload:
    rows: list[dict] = field(default_factory=list)
    report: IntakeReport = field(default_factory=IntakeReport)

    @property
    def sheets(self) -> list[str]:
        return [s.name for s in self.report.sheets if s.status == "imported"]


def unsupported_reason(name: str) -> str:
    return f"'{name}' is not a spreadsheet we can read: upload an .xlsx file, or a .csv, .tsv or .txt file."


def _read_sheets(path: Path, limits: IntakeLimits) -> tuple[list[RawSheet], dict]:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnusableUploadError(unsupported_reason(path.name))
    check_file_size(path, limits)
    if suffix in TEXT_SUFFIXES:
        sheet, source = read_csv(path, limits)
        return [sheet], source
    return read_xlsx(path, limits), {}


_ELECTION_WORDS = re.compile(r"\belection\b|\bprimary\b|\bgeneral\b|\brunoff\b|\bcaucus\b", re.I)
_NOT_ELECTION_DATE = re.compile(
    r"\b(run|report|printed|print|generated|as of|updated|created|prepared|filing|filed|through|deadline|date of "
    r"pick|pick-?up|certified on|page)\b",
    re.I,
)


def election_line(cell: str) -> bool:
    """A title line that dates the election ('General Election, Nov 3, 2026'), not the report ('Run date:
    12/01/2026', 'Printed 3/4/2026', 'Filing deadline …')."""
    return bool(_ELECTION_WORDS.search(cell)) and not _NOT_ELECTION_DATE.search(cell)


def title_date(lines: list[list[str]]) -> str | None:
    """The one date written in the title lines above the header that say election."""
    texts = [" ".join(c for c in line if c) for line in lines]
    found = {normalize_date(m.group(0)) for text in texts if election_line(text) for m in _TITLE_DATE.finditer(text)}
    found = {d for d in found if plausible_date(d)}
    return found.pop() if len(found) == 1 else None


_PLACE_KINDS = r"(?i:city and county|city|town|village|township|borough|county|parish)"
_NAME = r"[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}"
_TITLE_PLACE = re.compile(rf"\b({_PLACE_KINDS}\s+(?i:of)\s+{_NAME}|{_NAME}\s+(?i:county|parish|borough|township))\b")
_NOT_PLACE_WORDS = set(
    "official unofficial results result election elections general primary municipal candidate candidates report "
    "summary special runoff list ballot certified final statement votes vote canvass abstract precinct precincts "
    "cumulative qualified filing filed the for and november december january february march april may june july "
    "august september october".split()
)


def _place_words(text: str) -> str:
    """A place's own words: the title's other words ('Official Results', 'Municipal Election') cut away."""
    words = text.split()
    kinds = {"county", "parish", "borough", "township"}
    if words[-1].casefold() in kinds:  # 'Official Results Lehigh County': the words before the kind
        start = len(words) - 1
        while start > 0 and words[start - 1].casefold() not in _NOT_PLACE_WORDS and start > len(words) - 4:
            start -= 1
        return " ".join(words[start:])
    end = len(words)
    while end > 2 and words[end - 1].casefold() in _NOT_PLACE_WORDS:
        end -= 1
    return " ".join(words[:end])


def title_place(lines: list[list[str]]) -> str | None:
    """The one place the title lines name ('City of Springfield - Candidates …', 'Dakota County General
    Election'): the place of the sheet's local contests that name none themselves."""
    texts = [" ".join(c for c in line if c) for line in lines]
    found = {_place_words(m.group(1)) for text in texts for m in _TITLE_PLACE.finditer(text)}
    found = {f for f in found if f.split()[-1].casefold() not in _NOT_PLACE_WORDS and len(f.split()) > 1}
    return found.pop() if len(found) == 1 else None


def _ask(ask_model: AskModel, sheet: RawSheet, headers, data, report: SheetReport, refused=()) -> list:
    try:
        return ask_model(sheet.name, headers, [r for r in data if any(r)][:MODEL_SAMPLE_ROWS], list(refused))
    except Exception as e:  # the mapping is a help: without it the sheet is reported, not lost
        report.mapping_note = f"the model could not map the columns ({type(e).__name__}: {e})"[:300]
        return []


def _take_answer(mapping: ColumnMapping, headers: list[str], answer: list, refused=()) -> None:
    """The model's roles for the columns the names left open (never a pair refused by a check)."""
    by_header = {h: c for c, h in enumerate(headers) if h}
    skip = {(r["column"], r["role"]) for r in refused}
    retry = {r["column"] for r in refused}
    for header, role, confidence in sorted(answer, key=lambda a: -a[2]):
        column = by_header.get(header)
        if column is None or role not in Role.__members__.values() or confidence < MIN_MODEL_CONFIDENCE:
            continue
        if (header, role) in skip:
            continue
        decided = mapping.decided_by.get(column)
        open_column = decided is None or (header in retry and mapping.roles[column] == Role.IGNORE)
        if open_column or (decided == Decision.ALIAS and mapping.roles[column] in mapping.ambiguous):
            if Role(role) == Role.IGNORE or not mapping.has(Role(role)) or Role(role) in mapping.ambiguous:
                mapping.assign(column, Role(role), Decision.MODEL)
                mapping.notes.pop(column, None)


def _map_columns(
    sheet: RawSheet,
    headers: list[str],
    data: list[list[str]],
    options: UploadOptions,
    ask_model: AskModel | None,
    report: SheetReport,
) -> ColumnMapping:
    mapping = map_by_alias(headers)
    map_by_words(headers, mapping)
    overrides = {c: role for c, h in enumerate(headers) if h and (role := options.override_for(h))}
    open_roles = mapping.missing_required() + [str(r) for r in mapping.ambiguous]
    asked = bool(open_roles and ask_model and not set(overrides.values()) >= {Role.OFFICE, Role.CANDIDATE_NAME})
    if asked:
        answer = _ask(ask_model, sheet, headers, data, report)
        _take_answer(mapping, headers, answer)
        if answer and not report.mapping_note:
            report.mapping_note = f"the model mapped what the known header names left open ({', '.join(open_roles)})"
    for column, role in overrides.items():
        mapping.assign(column, role, Decision.OVERRIDE)
    refused = check_mapping(headers, data, mapping)
    if asked and mapping.missing_required() and any(r["how"] == Decision.MODEL for r in refused):
        # asked again, told why: a model that guessed wrong often knows the right column once told
        _take_answer(mapping, headers, _ask(ask_model, sheet, headers, data, report, refused), refused)
        refused += check_mapping(headers, data, mapping)
        report.mapping_note = "; ".join(filter(None, [report.mapping_note, "the model was asked again, told why"]))
    report.warnings.extend(f"column {r['text']}" for r in refused)
    return mapping


def status_flag_columns(headers: list[str], mapping: ColumnMapping) -> list[int]:
    """Unmapped columns named for a status (`Withdrawn`, `Deceased`: YES when it applies)."""
    flags = [
        c for c, h in enumerate(headers) if h and c not in mapping.roles and (not_on_ballot(h) or write_in_flag(h))
    ]
    for column in flags:
        mapping.assign(column, Role.IGNORE, Decision.ALIAS)
        mapping.notes[column] = "a status flag: a row marked here is not on the ballot"
    return flags


def _candidate_name(cells: dict[Role, str]) -> str:
    if cells.get(Role.CANDIDATE_NAME):
        return cells[Role.CANDIDATE_NAME]
    return " ".join(cells[p] for p in NAME_PARTS if cells.get(p))


def _row_record(row: list[str], headers: list[str], mapping: ColumnMapping) -> dict:
    cells: dict[Role, str] = {}
    extra: dict[str, str] = {}
    for column, value in enumerate(row):
        if not value:
            continue
        role = mapping.roles.get(column)
        if role is None:
            extra[headers[column] if column < len(headers) and headers[column] else f"column {column + 1}"] = value
        elif role != Role.IGNORE:
            cells[role] = value
    record = {f: cells.get(role, "") for f, role in FIELD_ROLES}
    record["candidate_name"] = _candidate_name(cells)
    record["extra"] = extra
    return record


ADMIN_ROLES = {  # option -> the role whose column it overrides
    "election_date": Role.ELECTION_DATE,
    "jurisdiction": Role.JURISDICTION,
    "state": Role.STATE,
    "election_type": Role.ELECTION_TYPE,
}


def admin_wins(headers: list[str], mapping: ColumnMapping, options: UploadOptions) -> set[str]:
    """What the admin says for the whole upload wins over a column they did not name in `columns`
    (a `Date of Pick-up` column is not the election date the admin gave): those columns are not used.
    The options that win, for `_apply_defaults`."""
    winning = set()
    for option, role in ADMIN_ROLES.items():
        column = mapping.column_of(role)
        if not getattr(options, option) or (column is not None and mapping.decided_by[column] == Decision.OVERRIDE):
            continue
        winning.add(option)
        if column is not None:
            mapping.assign(column, Role.IGNORE, mapping.decided_by[column])
            mapping.notes[column] = (
                f"not used: the upload's {option} ({getattr(options, option)}) wins over it; name the column in "
                "`columns` to use it instead"
            )
    if "election_date" in winning and (code := mapping.column_of(Role.ELECTION_CODE)) is not None:
        mapping.notes.setdefault(code, "its dates are not used: the upload's election_date wins")
    return winning


def _apply_defaults(
    record: dict, options: UploadOptions, sheet_date: str | None, used: dict[str, int], winning: set[str]
) -> None:
    """The upload's options set what the admin gave for every row (`admin_wins`), and fill what a row
    leaves empty; a title line's election date fills a date the row lacks or gives unreadably."""

    def fill(name: str, value: str | None, unusable=lambda v: not v) -> None:
        if value and (name in winning or unusable(record[name])) and record[name] != value:
            record[name] = value
            used[name] = used.get(name, 0) + 1

    fill("election_date", options.election_date or sheet_date, lambda v: not plausible_date(normalize_date(v)))
    fill("election_type", election_kind(options.election_type or "") or options.election_type)
    fill("state", options.state)
    fill("jurisdiction", options.jurisdiction or record["state"])


def _type_untyped(read: list[tuple[int, dict]]) -> list[str]:
    """Rows whose list, code and options give no election type: typed by date where a rule says
    (`inferred_election_type`), each answer noted; the rest are left to the model."""
    by_date: dict[str, list[dict]] = {}
    for _, record in read:
        if not record["election_type"] and plausible_date(normalize_date(record["election_date"])):
            by_date.setdefault(normalize_date(record["election_date"]), []).append(record)
    notes = []
    for day, records in sorted(by_date.items()):
        kind, why = inferred_election_type(records)
        for record in records if kind else ():
            record["election_type"] = kind
        if kind:
            notes.append(f"the {day} election is a {kind}: {why}")
    return notes


def _marked(record: dict, status: str, options: UploadOptions, sheet_date: str | None, order: DateOrder) -> dict:
    """A person the list marks not on the ballot, with the race they are marked in: the stored candidacy
    of that race is found again (records.withdrawn)."""
    day = record["election_date"] or options.election_date or sheet_date or ""
    return {
        "name": record["candidate_name"],
        "status": status[:120],
        "jurisdiction": record["jurisdiction"] or options.jurisdiction or "",
        "office": record["office"],
        "district": record["district"],
        "election_date": normalize_date(read_numeric_date(day, order) or day),
    }


def _without_measures(read: list[tuple[int, dict]], sheet: str, report: IntakeReport) -> list[tuple[int, dict]]:
    """The rows of ballot measures (every line a choice: Yes/No, For/Against…) are dropped and the
    measure reported: a measure is not an election with candidates."""
    contests: dict[tuple, list[tuple[int, dict]]] = {}
    for number, record in read:
        key = tuple(record[f].casefold() for f in ("jurisdiction", "office", "district", "election_date"))
        contests.setdefault(key, []).append((number, record))
    measures = set()
    for key, members in contests.items():
        if measure_lines([r["candidate_name"] for _, r in members]):
            measures.add(key)
            first = members[0][1]
            choices = list(dict.fromkeys(r["candidate_name"] for _, r in members))
            place = first["jurisdiction"] if first.get("place_read") == first["jurisdiction"] else ""
            contest = " ".join(filter(None, (place, first["office"], first["district"])))
            said = {(m["title"], m["date"]) for m in report.measures}
            title = " ".join(filter(None, (first["office"], first["district"]))).casefold()
            if (title, first["election_date"]) not in said:  # one measure however many places list it
                report.measures.append(
                    {"sheet": sheet, "contest": contest[:300], "choices": choices[:10], "title": title,
                     "date": first["election_date"]}
                )  # fmt: skip
            for number, record in members:
                report.drop(sheet, number, DropReason.MEASURE_CHOICE, f"{contest}: {record['candidate_name']}"[:200])
    if not measures:
        return read
    return [
        (n, r)
        for n, r in read
        if tuple(r[f].casefold() for f in ("jurisdiction", "office", "district", "election_date")) not in measures
    ]


FIELD_COLUMNS = {"jurisdiction": Role.JURISDICTION, "election_date": Role.ELECTION_DATE, "district": Role.DISTRICT}


def _filing_dates(read, mapping: ColumnMapping, options: UploadOptions, winning, sheet_date) -> list[Finding]:
    """Before the upload's defaults: a date column whose dates vary within contests is no election date."""
    column = mapping.column_of(Role.ELECTION_DATE)
    if "election_date" in winning or column is None or mapping.decided_by[column] == Decision.OVERRIDE:
        return []
    finding = filing_dates(read)
    for _, record in read if finding else ():
        record["election_date"] = ""
    return [finding] if finding else []


def _place_in_cells(row: list[str], mapping: ColumnMapping) -> str:
    """The one place the row's other cells name (a column no role uses: `… CITY OF LULA SPECIAL ELECTION`)."""
    said = {
        p for c, v in enumerate(row) if v and mapping.roles.get(c) in (None, Role.IGNORE) and (p := title_place([[v]]))
    }
    return said.pop() if len(said) == 1 else ""


def _places_said_elsewhere(read, title: str | None, sheet_report: SheetReport) -> None:
    """A local contest whose columns and office name no place takes the one place its row's other
    cells name ('… CITY OF LULA SPECIAL ELECTION'), else the title line's."""
    placed = 0
    for _, record in read:
        if not missing_place(
            f"{record['office']} {record['district']}", record["jurisdiction"], record["state"], record["level"]
        ):
            continue
        if place := record.get("place_said") or title:
            record["jurisdiction"] = place
            placed += 1
    for _, record in read:
        record.pop("place_said", None)
    if placed:
        note = f"the place of {placed} local row(s) read from the title line or another cell of the row"
        sheet_report.mapping_note = "; ".join(filter(None, [sheet_report.mapping_note, note]))


def _places(read, winning) -> list[Finding]:
    """After the upload's defaults: a state's contests are the state's; a contest listed under several
    places or districts with the same candidates is one."""
    found = [state_contest_places(read)]
    found += [reporting_units(read, f) for f in ("district", "jurisdiction") if f not in winning]
    return [f for f in found if f]


def _show_findings(found: list[Finding], headers, mapping: ColumnMapping, sheet_report: SheetReport) -> None:
    """Each finding next to its column (the Columns sheet) and among the sheet's warnings (the e-mail)."""
    for finding in found:
        column = mapping.column_of(FIELD_COLUMNS[finding.field])
        if column is None or mapping.decided_by[column] == Decision.OVERRIDE:
            continue
        label = finding.field.replace("_", " ")
        if finding.column_refused:
            mapping.assign(column, Role.IGNORE, mapping.decided_by[column])
            mapping.notes[column] = f"not the {label}: {finding.text()}"
            sheet_report.warnings.append(
                f"column '{headers[column]}' is not the {label}: {finding.text()}; name it in `columns` if it is"
            )
        else:
            sheet_report.warnings.append(f"column '{headers[column]}': {finding.text()}")


def _date_order(headers, data, mapping: ColumnMapping, options: UploadOptions, report: SheetReport) -> DateOrder:
    """The order of the date column's numeric dates: the admin's, else what the column shows, else
    month-first, said on the sheet when its dates could be read either way (`intake.dates`)."""
    column = mapping.column_of(Role.ELECTION_DATE)
    if column is None:
        return DateOrder(options.date_order or DateOrder.MDY)
    found = survey([row[column] for row in data if column < len(row)])
    order = DateOrder(options.date_order or found.order or DateOrder.MDY)
    if (note := found.note(f"'{headers[column]}'", order)) and (found.conflicting or not options.date_order):
        report.warnings.append(note)
    return order


def _read_table(
    sheet: RawSheet, options: UploadOptions, ask_model: AskModel | None, report: IntakeReport, seen: dict[tuple, str]
) -> list[dict]:
    sheet_report = SheetReport(sheet.name, rows_read=len(sheet.rows))
    report.sheets.append(sheet_report)
    if sheet.hidden and not options.include_hidden_sheets:
        sheet_report.status, sheet_report.reason = "ignored", f"{sheet.state} sheet (include_hidden_sheets imports it)"
        for number in range(1, len(sheet.rows) + 1):
            report.drop(sheet.name, number, DropReason.HIDDEN_SHEET)
        return []
    header_index = find_header_row(sheet.rows)
    if header_index is None:
        sheet_report.status, sheet_report.reason = "ignored", "no header row in the first rows"
        for number, row in enumerate(sheet.rows, start=1):
            report.drop(sheet.name, number, DropReason.BLANK if not any(row) else DropReason.NO_TABLE)
        return []
    sheet_report.header_row = header_index + 1
    headers = sheet.rows[header_index]
    data = sheet.rows[header_index + 1 :]
    for number, row in enumerate(sheet.rows[:header_index], start=1):
        report.drop(
            sheet.name,
            number,
            DropReason.ABOVE_HEADER if any(row) else DropReason.BLANK,
            " | ".join(c for c in row if c)[:200],
        )
    mapping = _map_columns(sheet, headers, data, options, ask_model, sheet_report)
    flag_columns = status_flag_columns(headers, mapping)
    level_at = level_column(headers, data, mapping)
    district_column(headers, data, mapping)
    winning = admin_wins(headers, mapping, options)
    missing = mapping.missing_required()
    if missing:
        sheet_report.mapping = mapping.describe(headers)
        sheet_report.status = "ignored"
        people = results_columns(headers, data)
        sheet_report.reason = (
            f"this sheet looks like election results, not a candidate list: one column per candidate with "
            f"vote counts beneath ({', '.join(people[:4])}); upload the list of candidates (one row per "
            "candidate with an office column) instead"
            if people
            else f"no {' or '.join(missing)} column (headers: {', '.join(h for h in headers if h)[:300]}); "
            f"expected {REQUIRED_HINT}, or name them with `columns`"
            + "".join(f"; {w}" for w in sheet_report.warnings if w.startswith("column "))
        )
        for number, row in enumerate(sheet.rows[header_index:], start=header_index + 1):  # its header too
            report.drop(sheet.name, number, DropReason.UNMAPPED_SHEET if any(row) else DropReason.BLANK)
        return []
    sheet_date = title_date(sheet.rows[:header_index])
    if sheet_date:
        sheet_report.mapping_note = "; ".join(
            filter(None, [sheet_report.mapping_note, f"election date {sheet_date} read from the title line"])
        )
    name_columns = {mapping.column_of(r) for r in (Role.CANDIDATE_NAME, *NAME_PARTS)} - {None}
    capitals = all_capitals([row[c] for row in data for c in name_columns if c < len(row) and row[c]][:500])
    seat_column = mapping.column_of(Role.SEAT)
    seat_label = headers[seat_column] if seat_column is not None else ""
    header_key = [h.casefold() for h in headers]
    date_order = _date_order(headers, data, mapping, options, sheet_report)
    read: list[tuple[int, dict]] = []
    cells: dict[int, tuple] = {}  # row number -> its values as written, for exact duplicates
    for number, row in enumerate(data, start=header_index + 2):
        if not any(row):
            report.drop(sheet.name, number, DropReason.BLANK)
            continue
        if [c.casefold() for c in row] == header_key:
            report.drop(sheet.name, number, DropReason.REPEATED_HEADER)
            continue
        if any(marked_unused(c) for c in row):
            report.drop(sheet.name, number, DropReason.MARKED_UNUSED, " | ".join(c for c in row if c)[:200])
            continue
        record = _row_record(row, headers, mapping)
        cells[number] = tuple(record[f].casefold() for f in ROW_FIELDS) + tuple(
            sorted((k, v.casefold()) for k, v in record["extra"].items())
        )
        if not record["candidate_name"]:
            unvalued = [c for c in name_columns if (number - 1, c) in sheet.unvalued_formulas]
            report.drop(
                sheet.name,
                number,
                DropReason.NO_CANDIDATE,
                "the name is a formula with no saved value" if unvalued else " | ".join(c for c in row if c)[:200],
            )
            continue
        if not_a_candidate(record["candidate_name"]):
            report.drop(sheet.name, number, DropReason.NOT_A_CANDIDATE, record["candidate_name"][:200])
            continue
        record["election_date"] = read_numeric_date(record["election_date"], date_order) or record["election_date"]
        record["candidate_name"], noted = status_in_name(record["candidate_name"])
        record["candidate_name"], marked = incumbent_mark(record["candidate_name"])
        record["incumbent"] = marked or record["incumbent"].strip().casefold() in YES
        record["candidate_name"] = published_name(record["candidate_name"], capitals)
        flagged = [status_flag(headers[c], row[c]) for c in flag_columns if c < len(row)]
        status = record.pop("status") or noted or ", ".join(filter(None, flagged))
        status = status or declared_write_in(record["candidate_name"], record["party"])
        if not_on_ballot(status) and not options.include_not_on_ballot:
            report.drop(sheet.name, number, DropReason.NOT_ON_BALLOT, f"{record['candidate_name']}: '{status}'"[:200])
            report.not_on_ballot.append(_marked(record, status, options, sheet_date, date_order))
            continue
        apply_contest_rules(record, seat_label)
        record["party"] = office_party(record["office"]) or record["party"]
        record["level"] = str(level_of(row[level_at]) or "") if level_at is not None and level_at < len(row) else ""
        record["place_said"] = _place_in_cells(row, mapping)
        read.append((number, record))
    fixes = party_spellings([r["party"] for _, r in read])
    for _, record in read:  # a misspelt party is the party; a code is written out (`intake.party_codes`)
        record["party"] = published_party(fixes.get(record["party"], record["party"]))
    found = _filing_dates(read, mapping, options, winning, sheet_date)
    for _, record in read:
        record["place_read"] = record["jurisdiction"]  # a measure is named by the places its rows name
        _apply_defaults(record, options, sheet_date, sheet_report.defaults_used, winning)
    _places_said_elsewhere(read, title_place(sheet.rows[:header_index]), sheet_report)
    found += _places(read, winning)  # a measure listed under each precinct is then one measure
    read = _without_measures(read, sheet.name, report)
    for _, record in read:
        record.pop("place_read", None)
    _show_findings(found, headers, mapping, sheet_report)
    sheet_report.mapping_note = "; ".join(filter(None, [sheet_report.mapping_note, *_type_untyped(read)]))
    office_fixes = office_word_spellings([r["office"] for _, r in read])
    rows = []
    for number, record in read:
        if (outside := primary_contest(record, options.open_primary)) and not options.include_not_on_ballot:
            report.drop(sheet.name, number, DropReason.NOT_ON_BALLOT, f"{record['candidate_name']}: {outside}"[:200])
            continue
        record["primary_party"] = published_party(record["primary_party"])
        record["office"] = respelt(record["office"], office_fixes)
        key = cells[number] + (record["election_date"],)  # the row as written (and its date)
        if key in seen:
            report.drop(sheet.name, number, DropReason.DUPLICATE, f"same as {seen[key]}")
            continue
        seen[key] = f"{sheet.name}!{number}"
        line = ("candidacy", *contest_key(record), record["candidate_name"].casefold())
        if line in seen:  # one candidacy per person per contest, however many lines (precincts, sheets)
            report.drop(sheet.name, number, DropReason.REPEATED_LINE, f"the same candidate and contest as {seen[line]}")
            continue
        seen[line] = f"{sheet.name}!{number}"
        record["source"] = {"sheet": sheet.name, "row": number}
        rows.append(record)
    sheet_report.candidate_rows = len(rows)
    sheet_report.mapping = mapping.describe(headers)
    if sheet.unvalued_formulas:
        cells = sorted(sheet.unvalued_formulas)
        sheet_report.warnings.append(
            f"{len(cells)} formula cell(s) have no saved value and read as empty (e.g. row {cells[0][0] + 1}, "
            f"column {cells[0][1] + 1}): open the file in Excel, let it recalculate, save and upload again"
        )
    return rows


RESULT_SHEETS = {"Summary", "Elections", "Candidates", "Needs Re-upload", "Dropped Rows", "Columns"}
RETURNED_SHEET = "Needs Re-upload"


def returned_result_workbook(sheets: list[RawSheet]) -> bool:
    """Our own result workbook sent back with its Needs Re-upload sheet filled in (the date, the office
    …): a way back as good as the original file; its other sheets are what was already done."""
    return RESULT_SHEETS <= {s.name for s in sheets}


def returned_from(sheets: list[RawSheet]) -> dict | None:
    """What the Summary sheet of a returned workbook says it was: {'upload_id', 'file'} (a claim)."""
    summary = next(s for s in sheets if s.name == "Summary")
    items = {row[0]: row[1] for row in summary.rows if len(row) > 1 and row[0]}
    upload_id = items.get("Upload id", "")
    return {"upload_id": int(upload_id), "file": items.get("Upload", "")} if upload_id.isdigit() else None


def _skip_result_sheet(sheet: RawSheet, report: IntakeReport) -> None:
    sheet_report = SheetReport(sheet.name, rows_read=len(sheet.rows))
    sheet_report.status, sheet_report.reason = "ignored", DropReason.RESULT_SHEET.value
    report.sheets.append(sheet_report)
    for number, row in enumerate(sheet.rows, start=1):
        report.drop(sheet.name, number, DropReason.RESULT_SHEET if any(row) else DropReason.BLANK)


def check_column_names(path: Path, options: UploadOptions, sheets: list[RawSheet], report: IntakeReport) -> None:
    """Every header the admin named in `columns` is a header of the file: a misspelt one would
    otherwise change nothing, without a word."""
    headers = [
        h
        for sheet, found in zip(sheets, report.sheets)
        if found.header_row
        for h in sheet.rows[found.header_row - 1]
        if h
    ]
    known = {normalize_header(h) for h in headers}
    unknown = [name for name in options.columns if normalize_header(name) not in known]
    if unknown:
        shown = ", ".join(f"'{h}'" for h in dict.fromkeys(headers)) or "none found"
        raise UnusableUploadError(
            f"columns names {', '.join(repr(n) for n in unknown)}, which "
            f"{'is not a column' if len(unknown) == 1 else 'are not columns'} of '{path.name}'; its columns are: "
            f"{shown[:600]}. Send it again with the header written as in the file (--columns or the sidecar)."
        )


def _read_sheet(sheet: RawSheet, options: UploadOptions, ask_model, report: IntakeReport, seen: dict) -> list:
    """A report with contest headings (`intake.section_results`), else a wide results grid
    (`intake.wide_results`), else an ordinary list, a long results export or a refused results sheet."""
    rows = None
    if not (options.columns or sheet.hidden) and section_table(sheet.rows, sheet.name):
        rows = read_results_layout(sheet, options, ask_model, report, seen, _read_table)
    if rows is None:
        rows = read_wide_results(sheet, options, ask_model, report, seen, _read_table)
    if rows is None:
        rows = read_results_layout(sheet, options, ask_model, report, seen, _read_table)
    return rows


def read_upload(
    path: Path,
    options: UploadOptions | None = None,
    limits: IntakeLimits | None = None,
    ask_model: AskModel | None = None,
) -> ParsedUpload:
    options, limits = options or UploadOptions(), limits or IntakeLimits()
    sheets, source = _read_sheets(path, limits)
    parsed = ParsedUpload(report=IntakeReport(source=source))
    seen: dict[tuple, str] = {}
    returned = returned_result_workbook(sheets)
    if returned:
        parsed.report.returned_from = returned_from(sheets)
    for sheet in sheets:
        if returned and sheet.name != RETURNED_SHEET:
            _skip_result_sheet(sheet, parsed.report)
            continue
        parsed.rows.extend(_read_sheet(sheet, options, ask_model, parsed.report, seen))
    check_column_names(path, options, sheets, parsed.report)
    imported = [s for s in parsed.report.sheets if s.status == "imported"]
    if not imported:
        detail = (
            "; ".join(f"sheet '{s.name}': {s.reason}" for s in parsed.report.sheets if s.rows_read) or "it has no rows"
        )
        raise UnusableUploadError(f"'{path.name}' has no sheet with candidates we can read ({detail}).")
    if not parsed.rows:
        raise UnusableUploadError(f"'{path.name}' has headers but no candidate rows.")
    return parsed
