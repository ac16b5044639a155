"""Issue 26, item 5: day/month order decided per date column (never per cell, never silently), and
`columns` names that are not headers of the file refused with the file's real headers."""

import pytest

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.batching import group_rows
from elevra_pipeline.intake.options import parse_options
from elevra_pipeline.intake.reader import read_upload


def _csv(tmp_path, dates: list[str], name="list.csv"):
    path = tmp_path / name
    lines = ["Candidate,Office,City,Election Date"]
    lines += [f"Person {i},Mayor {i},Springfield,{d}" for i, d in enumerate(dates)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _dates(parsed) -> list[str]:
    return [r["election_date"] for r in parsed.rows]


def test_a_column_with_a_day_above_12_first_is_read_day_first_for_every_row(tmp_path):
    parsed = read_upload(_csv(tmp_path, ["13/03/2026", "03/11/2026"]))
    assert _dates(parsed) == ["2026-03-13", "2026-11-03"]  # 03/11 is 3 November here, not March 11
    assert not any("could be day-first" in w for w in parsed.report.sheets[0].warnings)


def test_a_column_with_a_day_above_12_second_is_read_month_first(tmp_path):
    parsed = read_upload(_csv(tmp_path, ["03/13/2026", "03/11/2026"]))
    assert _dates(parsed) == ["2026-03-13", "2026-03-11"]


def test_ambiguous_dates_are_read_month_first_and_the_sheet_says_so_with_the_way_out(tmp_path):
    parsed = read_upload(_csv(tmp_path, ["03/11/2026", "04/11/2026"]))
    assert _dates(parsed) == ["2026-03-11", "2026-04-11"]
    (warning,) = [w for w in parsed.report.sheets[0].warnings if "could be day-first" in w]
    assert "'Election Date'" in warning and "03/11/2026" in warning and "--date-order dmy" in warning


def test_the_admins_date_order_wins_and_silences_the_warning(tmp_path):
    parsed = read_upload(_csv(tmp_path, ["03/11/2026", "04/11/2026"]), parse_options({"date_order": "dmy"}))
    assert _dates(parsed) == ["2026-11-03", "2026-11-04"]
    assert not any("could be day-first" in w for w in parsed.report.sheets[0].warnings)


def test_a_date_that_does_not_fit_the_columns_order_needs_reupload_instead_of_a_guess(tmp_path):
    parsed = read_upload(_csv(tmp_path, ["13/03/2026", "03/14/2026"]))
    assert any("mixes day-first and month-first" in w for w in parsed.report.sheets[0].warnings)
    problems = {b.election_date: b.problem for b in group_rows(parsed.rows)}
    assert problems["2026-03-14"] is None  # month-first, the default
    assert "not a date we can read" in problems["13/03/2026"]


def test_an_unknown_column_name_is_refused_with_the_files_real_headers(tmp_path):
    path = _csv(tmp_path, ["2026-11-03"])
    with pytest.raises(UnusableUploadError) as refused:
        read_upload(path, parse_options({"columns": {"Canidate": "candidate_name", "city": "jurisdiction"}}))
    message = str(refused.value)
    assert "'Canidate'" in message and "'city'" not in message.split("which")[0]  # 'City' is a header
    assert "'Candidate', 'Office', 'City', 'Election Date'" in message


def test_the_process_command_refuses_an_unknown_column_name_with_exit_2(tmp_path, capsys):
    from elevra_pipeline.cli import main

    path = _csv(tmp_path, ["2026-11-03"])
    code = main(["process", str(path), "--columns", '{"Runing for": "office"}'])
    out = capsys.readouterr().out
    assert code == 2 and "'Runing for'" in out and "its columns are: 'Candidate'" in out
