"""Prompts for the two model stages. Rows travel as JSON between tags the emulator also reads."""

import json

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
    "distinct candidate with their name in natural capitalisation, full party name, and campaign "
    "website. Only http(s) URLs. Never invent candidates, URLs or dates that are not in the rows."
)

TASK_ANALYZE = "TASK: analyze-election-batch"
TASK_STRUCTURE = "TASK: structure-election-batch"


def model_rows(rows: list[dict]) -> list[dict]:
    """The fields a model needs; provenance and empty cells stay out of the prompt."""
    keep = ("jurisdiction", "office", "district", "election_date", "candidate_name", "party",
            "website", "email", "election_type", "extra")
    return [{k: r[k] for k in keep if r.get(k)} for r in rows]


def analysis_prompt(rows: list[dict]) -> str:
    return f"{TASK_ANALYZE}\n<rows>\n{json.dumps(model_rows(rows), ensure_ascii=False)}\n</rows>"


def structure_prompt(rows: list[dict], analysis: dict) -> str:
    return (f"{TASK_STRUCTURE}\n<analysis>\n{json.dumps(analysis, ensure_ascii=False)}\n</analysis>\n"
            f"<rows>\n{json.dumps(model_rows(rows), ensure_ascii=False)}\n</rows>")
