"""The model's answer is held against the batch's rows: it may tidy names, never add people, dates or links."""

import pytest

from elevra_pipeline.exceptions import InvalidModelOutput
from elevra_pipeline.gemini.schemas import BatchAnalysis, StructuredBatch
from elevra_pipeline.records.validate import check_analysis, check_structured, name_tokens, same_person

ROWS = [
    {"candidate_name": "SMITH, JOHN A", "party": "DEM", "website": "smithforcouncil.org"},
    {"candidate_name": "José Álvarez", "nickname": "Pepe"},
    {"candidate_name": "Lee, Dana"},
]
DATE = "2026-11-03"


def answer(*names, date=DATE, **candidate):
    return StructuredBatch.model_validate(
        {
            "election": {
                "name": "Springfield City Council General Election",
                "jurisdiction": "Springfield",
                "office": "City Council",
                "election_date": date,
            },
            "candidates": [{"name": n, **candidate} for n in names],
        }
    )


@pytest.mark.parametrize(
    "model_name, row_name",
    [
        ("John A. Smith", "SMITH, JOHN A"),
        ("John Smith", "SMITH, JOHN A"),
        ("Jose Alvarez", "José Álvarez"),
        ("Pepe Alvarez", "José Álvarez Pepe"),
        ("Dana Lee", "Lee, Dana"),
        ("Michael Johnson", "Micheal Johnson"),
        ("J. Smith", "John Smith"),
    ],
)
def test_the_model_may_fix_case_order_accents_and_spelling(model_name, row_name):
    assert same_person(name_tokens(model_name), name_tokens(row_name))


@pytest.mark.parametrize("model_name", ["Mallory Invented", "Bulk 7", "Dana Smithers-Jones"])
def test_a_name_not_in_the_rows_is_not_the_same_person(model_name):
    assert not any(same_person(name_tokens(model_name), name_tokens(r["candidate_name"])) for r in ROWS)


def test_invented_candidates_make_the_answer_invalid_and_are_named():
    with pytest.raises(InvalidModelOutput, match="1 candidate.*not in the batch's rows: Mallory Invented"):
        check_structured(answer("John Smith", "Mallory Invented"), ROWS, DATE)


def test_more_candidates_than_named_rows_is_invalid():
    names = ["John Smith", "Dana Lee", "Jose Alvarez"] + [f"Bulk {i}" for i in range(500)]
    with pytest.raises(InvalidModelOutput, match="503 candidates for 3 named row"):
        check_structured(answer(*names), ROWS, DATE)


@pytest.mark.parametrize(
    "date, reason",
    [
        ("2026-02-30", "not a real calendar date"),
        ("soon", "not a real calendar"),
        ("2026-11-04", "not the rows' date 2026-11-03"),
    ],
)
def test_dates_must_be_real_and_the_rows_own(date, reason):
    with pytest.raises(InvalidModelOutput, match=reason):
        check_structured(answer("John Smith", date=date), ROWS, DATE)


def test_markup_is_removed_from_every_text_field_and_reported():
    hostile = StructuredBatch.model_validate(
        {
            "election": {
                "name": "<script>alert('e')</script> Election",
                "jurisdiction": "Springfield",
                "office": "City Council",
                "election_date": DATE,
            },
            "candidates": [
                {"name": "John Smith", "party": "<img src=x onerror=alert(1)>"},
                {"name": "&lt;b&gt;Dana&lt;/b&gt; Lee"},
            ],
        }
    )
    checked = check_structured(hostile, ROWS, DATE)
    assert checked.value["election"]["name"] == "Election"
    assert [(c["name"], c["party"]) for c in checked.value["candidates"]] == [("John Smith", ""), ("Dana Lee", "")]
    assert any("<script>alert('e')</script>" in n for n in checked.notes)
    assert any("onerror=alert(1)" in n and "party of John Smith" in n for n in checked.notes)
    assert "alert" not in repr(checked.value)


def test_links_must_come_from_the_rows_and_repeats_are_dropped_with_a_note():
    checked = check_structured(answer("John Smith", "Smith, John", website="https://smithforcouncil.org"), ROWS, DATE)
    assert [c["website"] for c in checked.value["candidates"]] == ["https://smithforcouncil.org"]
    assert "dropped a repeated candidate: Smith, John" in checked.notes
    invented = check_structured(answer("Dana Lee", website="https://evil.example"), ROWS, DATE)
    assert invented.value["candidates"][0]["website"] == ""
    assert any("evil.example" in n for n in invented.notes)


def test_an_analysis_that_counts_more_candidates_than_rows_or_breaks_the_date_is_invalid():
    fields = dict(jurisdiction="Springfield", office="City Council", can_structure=True)
    assert check_analysis(BatchAnalysis(election_date=DATE, candidate_count=3, **fields), ROWS, DATE)
    with pytest.raises(InvalidModelOutput, match="counts 500 candidates in 3"):
        check_analysis(BatchAnalysis(election_date=DATE, candidate_count=500, **fields), ROWS, DATE)
    with pytest.raises(InvalidModelOutput, match="2026-02-30"):
        check_analysis(BatchAnalysis(election_date="2026-02-30", candidate_count=1, **fields), ROWS, DATE)
