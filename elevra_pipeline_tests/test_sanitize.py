"""Model output is sanitized before storage, and workbook cells never start a formula."""

import pytest

from elevra_pipeline.records.sanitize import clean_text, iso_date, plain_text, safe_url
from elevra_pipeline.workbook.builder import safe_cell


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("<b>Jane</b> <script>x</script>Doe", "Jane Doe"),
        ("  a\n\tb  ", "a b"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("x" * 300, "x" * 255),
        (None, ""),
        ("bell\x07", "bell"),
        ('Bob "<script>alert(1)</script>"', "Bob"),  # the quotes only quoted the markup
        ('Ann "Annie" Lee', 'Ann "Annie" Lee'),
    ],
)
def test_plain_text(raw, clean):
    assert plain_text(raw) == clean


@pytest.mark.parametrize(
    "raw, url",
    [
        ("https://jane.org", "https://jane.org"),
        ("www.jane.org", "https://www.jane.org"),
        ("jane.vote/about", "https://jane.vote/about"),
        ("javascript:alert(1)", None),
        ("ftp://x.org", None),
        ("http://a b.org", None),
        ("", None),
        ('https://x.org/"><script>', None),
        ("https://" + "a" * 2100, None),
    ],
)
def test_safe_url_allows_only_http_and_https(raw, url):
    assert safe_url(raw) == url


@pytest.mark.parametrize("raw, date", [("2026-11-03", "2026-11-03"), ("11/3/2026", None), ("", None)])
def test_iso_date(raw, date):
    assert iso_date(raw) == date


@pytest.mark.parametrize(
    "value, shown",
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Jane", "Jane"),
        (3, 3),
        (None, None),
    ],
)
def test_formula_looking_cells_are_escaped(value, shown):
    assert safe_cell(value) == shown


@pytest.mark.parametrize("raw", ["https://javascript:alert(1)", "https://user@evil.org", "https://nodot", "http://"])
def test_safe_url_rejects_disguised_or_hostless_urls(raw):
    assert safe_url(raw) is None


@pytest.mark.parametrize(
    "raw, text, removed",
    [
        ("&lt;script&gt;alert(2)&lt;/script&gt;", "", ["<script>alert(2)</script>"]),
        ("<img src=x onerror=alert(1)>", "", ["<img src=x onerror=alert(1)>"]),
        ("<script>alert('e')</script> Election", "Election", ["<script>alert('e')</script>"]),
        ("&amp;lt;b&amp;gt;Jane", "Jane", ["<b>"]),
        ("Tom &amp; Jerry", "Tom & Jerry", []),
        ("a < b and c > d", "a < b and c > d", []),
    ],
)
def test_entities_are_decoded_before_markup_is_stripped_and_what_was_removed_is_kept(raw, text, removed):
    cleaned = clean_text(raw)
    assert (cleaned.text, cleaned.removed) == (text, removed)


def test_a_row_whose_name_carried_markup_is_accounted_as_the_candidate_it_became(emulator, local_data, monkeypatch):
    """Written from a hostile list: the stored name is the cleaned one, and the row is not 'dropped'."""
    from elevra_pipeline.defs.processing import process_file

    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    hostile = local_data / "hostile.csv"
    hostile.parent.mkdir(parents=True, exist_ok=True)
    hostile.write_text(
        "Candidate,Office,City,Election Date\n"
        "Ann Lee,Mayor,Springfield,2026-11-03\n"
        '"Bob ""<script>alert(1)</script>""",Mayor,Springfield,2026-11-03\n'
    )
    outcome = process_file(hostile, progress=lambda line: None)
    assert outcome["status"] == "completed" and outcome["candidates"] == 2
    assert outcome["rows"] == {
        "read": 3,
        "header": 1,
        "candidates": 2,
        "needs_reupload": 0,
        "dropped": 0,
        "in_progress": 0,
    }
