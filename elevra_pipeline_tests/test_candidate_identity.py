"""One candidate across uploads of one election: pairs that must and must not match (issue 27, item 5)."""

import pytest

from elevra_pipeline.records.identity import same_candidate

SAME = [
    ("Bob Smith", "Robert Smith"),
    ("Ann M. Lee", "Ann Lee"),
    ("Ann Marie Lee", "Ann M. Lee"),
    ("SMITH, Robert", "Robert Smith"),
    ("José Álvarez", "Jose Alvarez"),
    ("Bill O'Neil", "William O'Neil"),
    ("Robert Smith Jr.", "Bob Smith Jr"),
    ("J. Smith", "John Smith"),
]
DIFFERENT = [
    ("John Smith", "Jane Smith"),
    ("Ann Lee", "Ann Leeds"),
    ("Robert Smith", "Robert Smith Jr."),
    ("Ann Marie Lee", "Ann Beth Lee"),
    ("Mary Smith", "Robert Smith"),
    ("Smith", "Robert Smith"),
    ("Robert Smith III", "Robert Smith II"),
]


@pytest.mark.parametrize("a, b", SAME)
def test_these_names_are_one_candidate(a, b):
    assert same_candidate(a, b) and same_candidate(b, a)


@pytest.mark.parametrize("a, b", DIFFERENT)
def test_these_names_are_two_candidates(a, b):
    assert not same_candidate(a, b) and not same_candidate(b, a)
