"""Long cells never reach the model (issue 36): a cell longer than `ELEVRA_INTAKE_MAX_CELL_CHARS` (2,000)
refuses the file with its row and column, and a race whose rows would make a prompt above the token
budget for one call (`ELEVRA_MAX_PROMPT_TOKENS`) needs re-upload with that reason: no call is sent."""

from types import SimpleNamespace

import pytest

from elevra_pipeline.bench import bombs
from elevra_pipeline.exceptions import ElevraError, UnusableUploadError
from elevra_pipeline.intake.limits import IntakeLimits
from elevra_pipeline.intake.reader import read_upload
from elevra_pipeline.quotas.engine import Outcome
from elevra_pipeline.uploads.prompt_budget import race_problem
from elevra_pipeline.uploads.stages import column_mapper
from elevra_pipeline_tests.helpers import materialize_upload, register


def _refused(path, limits=None) -> str:
    with pytest.raises(UnusableUploadError) as caught:
        read_upload(path, limits=limits)
    return str(caught.value)


def test_a_csv_cell_longer_than_the_limit_is_refused_with_its_row_and_column(tmp_path):
    reason = _refused(bombs.long_cells(tmp_path / "names.csv"))
    assert reason.startswith("'names.csv': the cell at row 2, column B holds 120,000 characters, more than the 2,000")
    assert "shorten it or delete that column" in reason


def test_a_workbook_cell_longer_than_the_limit_is_refused_with_its_sheet_row_and_column(tmp_path):
    reason = _refused(bombs.long_cell_xlsx(tmp_path / "names.xlsx"))
    assert "the cell at row 4, column B of sheet 'S1' holds 30,000 characters" in reason


def test_a_cell_at_the_limit_is_read(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(f"Office,Candidate,Date,Notes\nMayor,Ann Lee,2026-11-03,{'x' * 2_000}\n")
    assert [r["candidate_name"] for r in read_upload(path).rows] == ["Ann Lee"]
    assert "holds 2,000 characters, more than the 1,999" in _refused(path, IntakeLimits(max_cell_chars=1_999))


def test_the_team_sets_the_cell_limit_and_the_prompt_budget_at_wiring(monkeypatch):
    from elevra_pipeline.defs.resources import AppResource
    from elevra_pipeline.settings import Settings, SettingsError

    monkeypatch.setenv("ELEVRA_INTAKE_MAX_CELL_CHARS", "500")
    monkeypatch.setenv("ELEVRA_MAX_PROMPT_TOKENS", "20000")
    app = AppResource.from_settings(Settings.from_env())
    assert (app.intake_limits().max_cell_chars, app.max_prompt_tokens) == (500, 20_000)
    monkeypatch.setenv("ELEVRA_MAX_PROMPT_TOKENS", "lots")
    with pytest.raises(SettingsError, match="ELEVRA_MAX_PROMPT_TOKENS='lots' is not a number"):
        Settings.from_env()


def test_the_long_cell_file_is_refused_before_any_model_call(repo, instance, resources, tmp_path):
    upload = register(repo, bombs.long_cells(tmp_path / "names.csv"), instance)
    materialize_upload(upload, instance, resources)

    failed = repo.get_upload_by_id(upload.id)
    assert failed.status == "failed" and "the cell at row 2, column B holds 120,000 characters" in failed.failure_reason
    assert repo.attempts(upload.id) == [] and repo.batches(upload.id) == []


def test_a_race_whose_prompt_passes_the_budget_needs_re_upload_and_is_never_sent(repo, instance, resources, tmp_path):
    path = bombs.long_race(tmp_path / "notes.csv")  # every cell under the limit, 80 rows of long notes
    upload = register(repo, path, instance)
    materialize_upload(upload, instance, resources)

    (batch,) = repo.batches(upload.id)
    assert batch.status == "needs_reupload" and batch.failure_kind == "data"
    assert batch.error_reason.startswith("prompt too large: the race's 80 row(s) would make a model prompt of about")
    assert "above the 50,000-token budget for one call; its longest cell is Notes of row" in batch.error_reason
    assert [a for a in repo.attempts(upload.id) if a.stage in ("analysis", "structure")] == []


def test_the_budget_counts_the_rows_a_race_sends():
    row = {"office": "Mayor", "candidate_name": "Ann Lee", "election_date": "2026-11-03", "source": {"row": 2}}
    assert race_problem([row] * 10, 50_000) is None
    said = race_problem([{**row, "extra": {"Notes": "n" * 1_900}}] * 80, 50_000)
    assert said and "its longest cell is Notes of row 2 (1,900 characters)" in said


class _Caller:
    def __init__(self):
        self.prompts = []

    def run(self, stage, system, prompt, schema, ids, chain):
        self.prompts.append(prompt)
        return Outcome(SimpleNamespace(columns=[]), "model", None, 1)


def test_the_column_mapping_call_sends_clipped_sample_cells_and_no_prompt_above_the_budget():
    caller = _Caller()
    gemini = SimpleNamespace(caller=caller, chain=lambda stage: ["model"])
    ask = column_mapper(gemini, 1, {}, max_prompt_tokens=5_000)
    ask("S1", ["Who", "Notes"], [["Ann Lee", "n" * 1_999]] * 8)
    (prompt,) = caller.prompts
    assert "n" * 200 + "…" in prompt and "n" * 201 not in prompt

    with pytest.raises(ElevraError, match="above the 5,000-token budget for one call: not asked"):
        ask("S2", [f"column {c}" for c in range(300)], [["x" * 300] * 300] * 8)
    assert len(caller.prompts) == 1  # never sent
