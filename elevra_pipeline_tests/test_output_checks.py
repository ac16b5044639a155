"""The model's answer is held against the batch's rows: it picks rows, never changes who or what is stored."""

import pytest

from elevra_pipeline.exceptions import InvalidModelOutput
from elevra_pipeline.gemini.schemas import BatchAnalysis, StructuredBatch
from elevra_pipeline.records.parties import party_says, stored_party
from elevra_pipeline.records.row_truth import same_person
from elevra_pipeline.records.validate import check_analysis, check_structured

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
    "model_name, row_name, nickname",
    [
        ("John A. Smith", "SMITH, JOHN A", ""),
        ("John Smith", "SMITH, JOHN A", ""),  # a dropped middle initial
        ("Jose Alvarez", "José Álvarez", ""),
        ("Pepe Alvarez", "José Álvarez", "Pepe"),
        ("Bob Smith", 'Robert "Bob" Smith', ""),
        ("Dana Lee", "Lee, Dana", ""),
        ("LEE DANA", "Dana Lee", ""),
        ("J. Smith", "John Smith", ""),
        ("Robert Smith", "J. Robert Smith", ""),
        ("John Smith", "John Smith, Jr.", ""),
    ],
)
def test_the_model_may_present_a_rows_name_differently(model_name, row_name, nickname):
    assert same_person(model_name, row_name, nickname)


@pytest.mark.parametrize(
    "model_name, row_name",
    [
        ("Mallory Invented", "Jane Doe"),
        ("Michael Johnson", "Micheal Johnson"),  # a corrected spelling: a respelling at most (see below)
        ("Marisol Peea", "Marisol Pena"),
        ("Keisha Brewn", "Keisha Brown"),
        ("Marisol Ana Pena", "Marisol Pena"),  # an added word
        ("John Smith", "J. Smith"),  # an initial written out
        ("Dana Smithers-Jones", "Lee, Dana"),
        ("Smith", "John Smith"),
    ],
)
def test_a_changed_letter_or_an_added_word_is_another_name(model_name, row_name):
    assert not same_person(model_name, row_name)


@pytest.mark.parametrize(
    "model, row, stored",
    [
        ("Democratic", "DEM", "Democratic"),
        ("", "D", "Democratic"),  # said by the row, not the model
        ("Democratic Party", "Demcorat", "Democratic"),
        ("Republican", "REPUBLICAN PARTY", "Republican"),
        ("Nonpartisan", "NON", "Nonpartisan"),
        ("American Independent Party", "AIP", "American Independent"),  # the row's code, written out
        ("", "XPX", "XPX"),  # a code we do not know: as the row publishes it
        ("Natural Law", "NATURAL LAW", "Natural Law"),
    ],
)
def test_a_party_is_the_rows_written_out_at_most(model, row, stored):
    assert party_says(model, row) and stored_party(model, row) == stored


@pytest.mark.parametrize("model, row", [("Republican", "DEM"), ("Libertarian", "Librarian"), ("Green", "")])
def test_another_party_is_not_the_rows(model, row):
    assert not party_says(model, row)


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
    stored = [(c["name"], c["party"]) for c in checked.value["candidates"]]
    assert stored == [("John A Smith", "Democratic"), ("Dana Lee", "")]  # the rows' names (in reading order), party
    assert any("<script>alert('e')</script>" in n for n in checked.notes)
    assert any("onerror=alert(1)" in n and "party of John A Smith" in n for n in checked.notes)
    assert "alert" not in repr(checked.value)


def test_links_must_come_from_the_rows_and_repeats_are_dropped_with_a_note():
    checked = check_structured(answer("John Smith", "Smith, John", website="https://smithforcouncil.org"), ROWS, DATE)
    assert [c["website"] for c in checked.value["candidates"]] == ["https://smithforcouncil.org"]
    assert "dropped a repeated candidate: Smith, John" in checked.notes
    invented = check_structured(answer("Dana Lee", website="https://evil.example"), ROWS, DATE)
    assert invented.value["candidates"][0]["website"] == ""
    assert any("evil.example" in n for n in invented.notes)


RACE = [
    {"candidate_name": "Marisol Pena", "party": "DEM", "website": "marisolpena.org"},
    {"candidate_name": "Keisha Brown", "party": "REP", "website": "https://keishabrown.com/"},
    {"candidate_name": "Tom O'Neil", "party": "Natural Law", "extra": {"Facebook": "facebook.com/tomoneil"}},
]


def race_answer(*candidates: dict):
    return StructuredBatch.model_validate(
        {
            "election": {"name": "Springfield Mayor", "jurisdiction": "Springfield", "office": "Mayor"}
            | {"election_date": DATE},
            "candidates": list(candidates),
        }
    )


@pytest.mark.parametrize(
    "given, difference",
    [
        ("Keisha Ann Brown", "'Keisha Ann Brown' is not the row's 'Keisha Brown'"),
        ("Keisha Browning", "'Keisha Browning' is not the row's 'Keisha Brown'"),
    ],
)
def test_a_name_with_a_word_added_or_rewritten_is_refused_with_the_difference(given, difference):
    with pytest.raises(InvalidModelOutput, match="1 candidate\\(s\\) not in the batch's rows: ") as refused:
        check_structured(race_answer({"name": "Marisol Pena"}, {"name": given}), RACE, DATE)
    assert difference in str(refused.value)


ACCENTED = [
    {"candidate_name": "Marisol Peña"},
    {"candidate_name": "SØREN ŁUKASZ"},
    {"candidate_name": "Strauß, Jürgen"},
    {"candidate_name": "Micheal Johnson"},
]


@pytest.mark.parametrize(
    "given, row, stored",
    [
        ("Marisol Pena", "Marisol Peña", "Marisol Peña"),  # an accent dropped
        ("Marisol Peńa", "Marisol Peña", "Marisol Peña"),  # another accent
        ("Soren Lukasz", "SØREN ŁUKASZ", "Søren Łukasz"),  # letters Unicode does not decompose
        ("Jurgen Strauss", "Strauß, Jürgen", "Jürgen Strauß"),
        ("Marisol Peea", "Marisol Peña", "Marisol Peña"),  # one letter changed
        ("Michael Johnson", "Micheal Johnson", "Micheal Johnson"),  # a spelling "corrected"
        ("Micheal Jonhson", "Micheal Johnson", "Micheal Johnson"),  # two letters swapped
    ],
)
def test_a_name_whose_accents_or_spelling_the_model_changed_is_stored_as_the_list_spells_it(given, row, stored):
    checked = check_structured(race_answer({"name": given}), ACCENTED, DATE)
    assert [c["name"] for c in checked.value["candidates"]] == [stored]
    assert checked.notes == [f"the model changed 1 name; the list's spelling was kept: '{given}' for '{row}'"]


def test_every_name_changed_is_counted_in_one_note_and_the_race_is_kept():
    given = ["Marisol Pena", "Soren Lukasz", "JURGEN STRAUSS", "Micheal Johnson"]
    checked = check_structured(race_answer(*({"name": n} for n in given)), ACCENTED, DATE)
    assert [c["name"] for c in checked.value["candidates"]] == [
        "Marisol Peña",
        "Søren Łukasz",
        "Jürgen Strauß",
        "Micheal Johnson",
    ]
    (note,) = checked.notes
    assert note.startswith("the model changed 3 names; the list's spelling was kept: 'Marisol Pena' for 'Marisol Peña'")


def test_a_respelt_name_that_could_be_two_rows_is_refused():
    rows = [{"candidate_name": "Jane Doe"}, {"candidate_name": "Jane Dow"}]
    with pytest.raises(InvalidModelOutput, match="'Jane Dou' could be 'Jane Doe' or 'Jane Dow'"):
        check_structured(race_answer({"name": "Jane Dou"}), rows, DATE)


def test_a_party_and_website_swapped_between_two_candidates_of_a_race_are_refused():
    swapped = race_answer(
        {"name": "Marisol Pena", "party": "Republican", "website": "https://keishabrown.com"},
        {"name": "Keisha Brown", "party": "Democratic", "website": "https://marisolpena.org"},
    )
    with pytest.raises(InvalidModelOutput, match="detail\\(s\\) not from the candidate's own row") as refused:
        check_structured(swapped, RACE, DATE)
    reason = str(refused.value)
    assert "Marisol Pena's party 'Republican' is not the row's 'DEM' (it is Keisha Brown's)" in reason
    assert "Marisol Pena's website 'https://keishabrown.com' is not in the row but in Keisha Brown's" in reason
    assert "Keisha Brown's party 'Democratic' is not the row's 'REP' (it is Marisol Pena's)" in reason


def test_a_party_the_row_does_not_give_is_refused():
    with pytest.raises(InvalidModelOutput, match="Dana Lee's party 'Green' is not in the row"):
        check_structured(answer("Dana Lee", party="Green"), ROWS, DATE)


def test_a_faithful_answer_in_another_order_and_case_stores_the_rows_own_names_party_and_website():
    checked = check_structured(
        race_answer(
            {"name": "PENA, MARISOL", "party": "Democratic Party", "website": "http://www.marisolpena.org/"},
            {"name": "brown keisha"},  # no party, no website: the row's are stored
            {"name": "Tom ONeil", "party": "NATURAL LAW", "links": [{"url": "https://facebook.com/tomoneil"}]},
        ),
        RACE,
        DATE,
    )
    assert checked.value["candidates"] == [
        {
            "name": "Marisol Pena",
            "party": "Democratic",
            "website": "https://marisolpena.org",
            "incumbent": False,
            "links": [],
        },
        {
            "name": "Keisha Brown",
            "party": "Republican",
            "website": "https://keishabrown.com/",
            "incumbent": False,
            "links": [],
        },
        {
            "name": "Tom O'Neil",
            "party": "Natural Law",
            "website": "",
            "incumbent": False,
            "links": [{"url": "https://facebook.com/tomoneil", "kind": "website"}],
        },
    ]
    assert checked.notes == []


def test_a_name_that_fits_two_rows_is_refused():
    rows = [{"candidate_name": "John Smith"}, {"candidate_name": "Jane Smith"}]
    with pytest.raises(InvalidModelOutput, match="'J. Smith' could be 'John Smith' or 'Jane Smith'"):
        check_structured(race_answer({"name": "J. Smith"}), rows, DATE)


def test_an_analysis_that_counts_more_candidates_than_rows_or_breaks_the_date_is_invalid():
    fields = dict(jurisdiction="Springfield", office="City Council", can_structure=True)
    assert check_analysis(BatchAnalysis(election_date=DATE, candidate_count=3, **fields), ROWS, DATE)
    with pytest.raises(InvalidModelOutput, match="counts 500 candidates in 3"):
        check_analysis(BatchAnalysis(election_date=DATE, candidate_count=500, **fields), ROWS, DATE)
    with pytest.raises(InvalidModelOutput, match="2026-02-30"):
        check_analysis(BatchAnalysis(election_date="2026-02-30", candidate_count=1, **fields), ROWS, DATE)
