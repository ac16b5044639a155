"""docs/api.md says what the API does (issue 39, item 7): its table of paths is read against the
routes the app serves, with the role each needs, and the page's address with a token and an upload is
documented."""

import re
from pathlib import Path

from elevra_pipeline_tests.api_helpers import AS_VIEWER, api_client

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
ROW = re.compile(r"^\| `(GET|POST) ([^`?]+)(?:\?[^`]*)?` \| (admin|viewer|none) \|", re.MULTILINE)


def _documented() -> dict[tuple[str, str], str]:
    return {(method, path): role for method, path, role in ROW.findall(API_DOC.read_text())}


def _served(app) -> set[tuple[str, str]]:
    schema = app.openapi()
    return {(method.upper(), path) for path, item in schema["paths"].items() for method in item}


def test_every_route_is_in_the_docs_table_and_every_row_is_a_route(monkeypatch, sqlite_url):
    client = api_client(monkeypatch, sqlite_url)
    assert set(_documented()) == _served(client.app)


def test_each_documented_role_is_the_one_the_route_asks_for(monkeypatch, sqlite_url):
    client = api_client(monkeypatch, sqlite_url)
    for (method, path), role in _documented().items():
        concrete = path.replace("{upload_id}", "1").replace("{batch_key}", "a-race")
        anonymous = client.request(method, concrete).status_code
        if role == "none":
            assert anonymous != 401, (method, path)
            continue
        assert anonymous == 401, (method, path)  # a token is needed
        as_viewer = client.request(method, concrete, headers=AS_VIEWER).status_code
        assert (as_viewer == 403) == (role == "admin"), (method, path, as_viewer)


def test_the_page_address_with_a_token_and_an_upload_is_documented():
    text = API_DOC.read_text()
    assert "/#token=" in text and "#token=…&upload=ID" in text
