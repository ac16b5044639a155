"""An office's level follows from its words, and a contest's place from its level: a state's contest is
the state's, whatever column says where its candidates live; a local one needs a place of its own."""

import pytest

from elevra_pipeline.intake.invariants import state_office
from elevra_pipeline.intake.offices import Level, names_a_place, office_level


@pytest.mark.parametrize(
    "office, level",
    [
        ("U.S. Senator", Level.FEDERAL),
        ("President of the United States", Level.FEDERAL),
        ("President of the Village Board", Level.LOCAL),
        ("Governor", Level.STATEWIDE),
        ("State Board of Education", Level.STATEWIDE),
        ("State Representative District 44", Level.STATE_DISTRICT),
        ("Sheriff", Level.LOCAL),
        ("Register of Wills", Level.LOCAL),  # a county's (Philadelphia's list): it needs a place
        ("County Commissioner District 1", Level.LOCAL),
        # a prosecutor of a numbered district is the state's; a county's has no number
        ("DISTRICT ATTORNEY DISTRICT 25", Level.STATE_DISTRICT),
        ("District Attorney, 24th Judicial District", Level.STATE_DISTRICT),
        ("District Attorney", Level.LOCAL),
        ("County District Attorney District 3", Level.LOCAL),
        ("House of Delegates District 5", Level.STATE_DISTRICT),
        ("EH PRECINCT DELEGATE", Level.LOCAL),  # a party's delegate of one precinct, not the House of Delegates
    ],
)
def test_an_offices_level_follows_from_its_words(office, level):
    assert office_level(office) == level


def test_an_office_and_its_district_column_together_can_name_a_state_district():
    row = {"office": "DISTRICT ATTORNEY", "district": "District 25", "jurisdiction": "CABARRUS", "state": "NC"}
    assert state_office(row)
    assert not state_office({**row, "office": "County Commissioner", "district": "District 2"})


@pytest.mark.parametrize(
    "office, says_a_place",
    [
        ("HARTFORD MAYOR", True),
        ("County Commissioner Aurora-1", True),  # Aurora's district 1
        ("USD 416 Board Member", True),
        ("MAGISTERIAL DISTRICT JUDGE 31-1-02", False),  # a seat's code
        ("JUDGE OF ELECTION - A11-5", False),  # a precinct's code
        ("County Commissioner District 1", False),
    ],
)
def test_an_office_names_a_place_by_a_word_not_by_a_code(office, says_a_place):
    assert names_a_place(office) is says_a_place


def test_a_court_that_is_one_states_whole_is_that_states_contest():
    row = {"office": "JUDGE OF THE SUPERIOR COURT", "district": "", "jurisdiction": "LEHIGH", "state": "PA"}
    assert state_office(row)  # Pennsylvania's Superior Court sits for the whole state
    assert not state_office({**row, "state": "CA", "jurisdiction": "Los Angeles"})  # California's: a county's
