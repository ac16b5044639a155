"""No model call larger than a budget is ever sent: its prompt's tokens are estimated first, as the quota
engine estimates them (`quotas.engine.TokenEstimator`), and a race whose rows would make a larger prompt
needs re-upload with the reason and its longest cell, before any call (`ELEVRA_MAX_PROMPT_TOKENS`).

The column-mapping call sees only a header and a few rows: their cells are clipped to what shows a
column's role, and a sheet so wide that even then its prompt passes the budget is not asked about."""

from elevra_pipeline.exceptions import ElevraError
from elevra_pipeline.gemini import prompts
from elevra_pipeline.intake.batching import BatchDraft
from elevra_pipeline.quotas.engine import TokenEstimator

DEFAULT_MAX_PROMPT_TOKENS = 50_000  # ~140,000 characters of rows: a race of ~190 rows with many columns
ANALYSIS_ALLOWANCE = 4_000  # characters the analysis adds to the structure prompt (its answer is small)
SAMPLE_CELL_CHARS = 200  # enough of a cell to see what a column holds


def estimated_tokens(*texts: str) -> int:
    return TokenEstimator().estimate(sum(map(len, texts)))


def race_prompt_tokens(rows: list[dict]) -> int:
    """The larger of the race's two prompts: the structure one, which holds the rows and the analysis."""
    return estimated_tokens(prompts.STRUCTURE_SYSTEM, prompts.structure_prompt(rows, {})) + estimated_tokens(
        "x" * ANALYSIS_ALLOWANCE
    )


def longest_cell(rows: list[dict]) -> str:
    """'candidate_name of row 4 (120,000 characters)': where to look first."""
    found = max(
        ((len(str(value)), field, row.get("source", {}).get("row")) for row in rows for field, value in _cells(row)),
        default=(0, "", None),
    )
    return f"{found[1]} of row {found[2]} ({found[0]:,} characters)" if found[0] else "none"


def _cells(row: dict):
    for field in (*prompts.ROW_FIELDS, "extra"):
        value = row.get(field)
        if isinstance(value, dict):
            yield from value.items()
        elif value:
            yield field, value


def race_problem(rows: list[dict], budget: int) -> str | None:
    """Why the race cannot go to the model in one call, or None."""
    tokens = race_prompt_tokens(rows)
    if tokens <= budget:
        return None
    return (
        f"prompt too large: the race's {len(rows)} row(s) would make a model prompt of about {tokens:,} tokens, "
        f"above the {budget:,}-token budget for one call; its longest cell is {longest_cell(rows)}: shorten the "
        "long cells (or split the race into smaller files) and upload it again"
    )


def refuse_oversized(drafts: list[BatchDraft], budget: int = DEFAULT_MAX_PROMPT_TOKENS) -> list[BatchDraft]:
    """The drafts, each race too large for one call marked as needing re-upload (no call is made for it)."""
    for draft in drafts:
        if draft.problem is None:
            draft.problem = race_problem(draft.rows, budget)
    return drafts


def clipped_sample(sample: list[list[str]]) -> list[list[str]]:
    """The sample rows' cells cut to what shows a column's role (the headers stay whole: the answer names them)."""
    return [[c if len(c) <= SAMPLE_CELL_CHARS else c[:SAMPLE_CELL_CHARS] + "…" for c in row] for row in sample]


def check_columns_prompt(sheet: str, prompt: str, budget: int) -> None:
    """Raises (the reader notes it; the sheet's columns stay as their names map them) instead of sending."""
    tokens = estimated_tokens(prompts.COLUMNS_SYSTEM, prompt)
    if tokens > budget:
        raise ElevraError(
            f"the columns of sheet '{sheet[:60]}' would make a prompt of about {tokens:,} tokens, above the "
            f"{budget:,}-token budget for one call: not asked"
        )
