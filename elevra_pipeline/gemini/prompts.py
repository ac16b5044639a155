"""Prompts for the model stages. Spreadsheet data travels as JSON between tags, never as prompt text:
`<` and `>` inside the JSON are escaped (`\\u003c`), so a cell holding `</rows>` cannot close a tag."""

import json

from elevra_pipeline.intake.reader import ROW_FIELDS

ANALYSIS_SYSTEM = (
    "You are a meticulous election-data analyst for Elevra. You receive the rows of one election "
    "batch taken from an admin's spreadsheet. Rows may be messy: inconsistent capitalisation, "
    "abbreviations, stray whitespace, dates in any format. Work out the jurisdiction, office, "
    "district, election date (ISO YYYY-MM-DD) and election type, count the distinct candidates, "
    "list data issues, and set can_structure to false (with a reason) only when the rows cannot "
    "yield a valid election: no usable office, no election date, or no candidate names."
)

STRUCTURE_SYSTEM = (
    "You turn one analysed election batch into strict records. Output one election (a readable "
    "name such as 'Springfield City Council District 3 General Election') and one record per "
    "distinct candidate. Copy each candidate's name exactly as its row writes it: never correct, "
    "complete or re-spell a name. Take the party and the campaign website from the candidate's own "
    "row only (a party abbreviation may be written out: DEM as Democratic); never move them from one "
    "candidate to another. Only http(s) URLs. Never invent candidates, URLs or dates that are not in "
    "the rows."
)

COLUMNS_SYSTEM = (
    "You read the header row and a few data rows of one sheet of an election spreadsheet and say what "
    "each column holds. Roles: candidate_name (the full name), first_name, middle_name, last_name, "
    "name_suffix, nickname, office (the contest or position), district (seat, post, ward), jurisdiction "
    "(city, county, town), state, election_date, election_type, party, primary_party (the primary the "
    "contest belongs to), website, email, vote_for, term, status (withdrawn, qualified…), office_description "
    "(a fuller office name), seat (a second district column: group, seat, position), election_code (holds the "
    "date or type), or ignore. Give every column one role with a confidence between 0 and 1; never give two "
    "columns the same role except ignore. A <refused> list names proposals whose values failed a check, with "
    "why: never propose those again."
)

TASK_COLUMNS = "TASK: map-spreadsheet-columns"
TASK_ANALYZE = "TASK: analyze-election-batch"
TASK_STRUCTURE = "TASK: structure-election-batch"


def model_rows(rows: list[dict]) -> list[dict]:
    """The fields a model needs; provenance and empty cells stay out of the prompt."""
    keep = ROW_FIELDS + ("extra",)
    return [{k: r[k] for k in keep if r.get(k)} for r in rows]


def data_json(value) -> str:
    """JSON that cannot contain a tag: the model reads the same text, markup in a cell stays data."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def columns_prompt(sheet: str, headers: list[str], sample: list[list[str]], refused: list[dict] = ()) -> str:
    table = f"{TASK_COLUMNS}\n<table>\n{data_json({'sheet': sheet, 'headers': headers, 'rows': sample})}\n</table>"
    return table + (f"\n<refused>\n{data_json(list(refused))}\n</refused>" if refused else "")


def analysis_prompt(rows: list[dict]) -> str:
    return f"{TASK_ANALYZE}\n<rows>\n{data_json(model_rows(rows))}\n</rows>"


def structure_prompt(rows: list[dict], analysis: dict) -> str:
    return (
        f"{TASK_STRUCTURE}\n<analysis>\n{data_json(analysis)}\n</analysis>\n"
        f"<rows>\n{data_json(model_rows(rows))}\n</rows>"
    )
