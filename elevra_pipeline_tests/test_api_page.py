"""The upload page in a real browser (Debian's headless Chromium, driven by Selenium): an admin chooses
the sample, submits, and watches the upload's stages complete, then downloads its workbook; an upload in
review shows the changes waiting, is approved and reverted from the page's buttons."""

import json
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import uvicorn

from elevra_pipeline.api.app import create_app
from elevra_pipeline.api.services import ApiServices
from elevra_pipeline.defs.resources import DatabaseResource, GeminiResource
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline_tests.api_helpers import (
    ADMIN_TOKEN,
    AS_VIEWER,
    VIEWER_TOKEN,
    api_client,
    api_tick,
    bucket_tick,
    run_in_background,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="Debian's chromium and chromium-driver are not installed (`make test` installs them when run as root: "
    "apt-get install chromium chromium-driver)",
)


@pytest.fixture
def served(monkeypatch, sqlite_url):
    """The API and its page on a free loopback port, as `elevra-pipeline serve` runs them."""
    api_client(monkeypatch, sqlite_url)  # this test's environment: database, tokens
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(ApiServices.from_env()), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1000"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads")})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    yield driver
    driver.quit()


def test_an_admin_uploads_the_sample_through_the_page_and_sees_it_complete(
    served, browser, sqlite_url, instance, emulator, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 120)
    browser.get(f"{served}/#token={ADMIN_TOKEN}")
    wait.until(shown.text_to_be_present_in_element((By.ID, "who"), "admin"))
    assert "token" not in browser.current_url  # the token leaves the address bar at once

    browser.find_element(By.ID, "file").send_keys(str(SAMPLE_XLSX))
    browser.find_element(By.ID, "state").send_keys("NC")
    browser.find_element(By.ID, "send").click()
    wait.until(shown.text_to_be_present_in_element((By.ID, "upload-title"), "Upload 1: sample_elections.xlsx"))
    assert browser.find_element(By.ID, "upload-status").text == "queued"

    repo = Repository(migrated_engine(sqlite_url))
    upload = repo.get_upload_by_id(1)
    assert upload.options_json["state"] == "NC"
    bucket_tick(instance, sqlite_url)  # the daemon's part: the partition, then the run
    resources = {
        "database": DatabaseResource(url=sqlite_url),
        "gemini": GeminiResource(base_url=emulator.base_url, database_url=sqlite_url),
    }
    run = run_in_background(upload, instance, resources)
    wait.until(shown.text_to_be_present_in_element((By.ID, "upload-status"), "completed"))
    run.join(timeout=60)

    stages = [li.text.split("\n") for li in browser.find_elements(By.CSS_SELECTOR, "#stages li")]
    assert [s[:2] for s in stages] == [
        ["✓", "Reading the file"],
        ["✓", "Gemini analysis"],
        ["✓", "Gemini structured output"],
        ["✓", "Records inserted"],
        ["✓", "Result workbook"],
    ]
    assert browser.find_element(By.ID, "message").text == "22 of 22 races inserted."
    assert browser.find_element(By.ID, "emulated").text == "EMULATED"  # the emulator answered: said beside the status
    workbook = browser.find_element(By.ID, "workbook-link")
    assert workbook.is_displayed()
    browser.save_screenshot(str(tmp_path / "upload-page.png"))
    workbook.click()
    downloaded = tmp_path / "downloads" / f"{upload.partition_key}.xlsx"
    WebDriverWait(browser, 30).until(lambda _: downloaded.exists())
    assert downloaded.read_bytes()[:2] == b"PK"


def test_races_that_need_a_fix_are_shown_once_per_reason_with_what_to_do_on_the_page(
    served, browser, sqlite_url, instance, emulator, tmp_path
):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    undated = tmp_path / "undated.csv"
    undated.write_text("Candidate,Office,City\nAnn Lee,Mayor,Springfield\nBo Chan,Clerk,Springfield\n")
    wait = WebDriverWait(browser, 120)
    browser.get(f"{served}/#token={ADMIN_TOKEN}")
    wait.until(shown.text_to_be_present_in_element((By.ID, "who"), "admin"))
    browser.find_element(By.ID, "file").send_keys(str(undated))
    browser.find_element(By.ID, "send").click()
    wait.until(shown.text_to_be_present_in_element((By.ID, "upload-title"), "Upload 1: undated.csv"))
    bucket_tick(instance, sqlite_url)
    resources = {
        "database": DatabaseResource(url=sqlite_url),
        "gemini": GeminiResource(base_url=emulator.base_url, database_url=sqlite_url),
    }
    upload = Repository(migrated_engine(sqlite_url)).get_upload_by_id(1)
    run_in_background(upload, instance, resources).join(timeout=60)
    # nothing inserted: said as the e-mail says it ("Needs your fix"), not "completed with failures"
    wait.until(shown.text_to_be_present_in_element((By.ID, "upload-status"), "needs a fix"))

    def texts(selector: str):  # the live view redraws every second: read it between two redraws
        try:
            return [element.text for element in browser.find_elements(By.CSS_SELECTOR, selector)] or None
        except StaleElementReferenceException:
            return None

    (line,) = wait.until(lambda _: texts("#attention li"))
    assert line.startswith("2 races need a fix: no election date"), line  # once for both races
    assert line.endswith("Springfield Mayor; Springfield Clerk"), line  # the races as people name them, not keys
    (message,) = wait.until(lambda _: texts("#message"))
    assert "2 of 2 races need a fix" in message and "elevra-pipeline" not in message  # no command on the page
    (block,) = wait.until(lambda _: texts("#attention-block"))
    assert "Upload the same file again" in block
    browser.save_screenshot(str(tmp_path / "needs-a-fix.png"))

    browser.get("about:blank")  # a link with the token and the upload opens that upload
    browser.get(f"{served}/#token={ADMIN_TOKEN}&upload=1")
    wait.until(shown.text_to_be_present_in_element((By.ID, "upload-title"), "Upload 1: undated.csv"))
    assert "token" not in browser.current_url and browser.current_url.endswith("#upload=1")


def _document(served: str, upload_id: int) -> dict:
    """GET /uploads/{id} as the admin app reads it."""
    request = urllib.request.Request(f"{served}/uploads/{upload_id}", headers=AS_VIEWER)
    with urllib.request.urlopen(request, timeout=30) as answer:
        (upload,) = json.load(answer)["uploads"]
    return upload


def test_an_upload_in_review_is_previewed_approved_and_reverted_from_the_page(
    served, browser, sqlite_url, instance, emulator, tmp_path
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 120)
    browser.get(f"{served}/#token={ADMIN_TOKEN}")
    wait.until(shown.text_to_be_present_in_element((By.ID, "who"), "admin"))
    browser.find_element(By.ID, "file").send_keys(str(SAMPLE_XLSX))
    browser.find_element(By.ID, "state").send_keys("NC")
    browser.find_element(By.ID, "review").click()
    browser.find_element(By.ID, "send").click()
    wait.until(shown.text_to_be_present_in_element((By.ID, "upload-title"), "Upload 1: sample_elections.xlsx"))
    repo = Repository(migrated_engine(sqlite_url))
    assert repo.get_upload_by_id(1).options_json["review"] is True
    resources = {
        "database": DatabaseResource(url=sqlite_url),
        "gemini": GeminiResource(base_url=emulator.base_url, database_url=sqlite_url),
    }
    bucket_tick(instance, sqlite_url)  # the daemon's part: the partition, then the run
    run_in_background(repo.get_upload_by_id(1), instance, resources).join(timeout=120)

    # the preview: what each record would become, and no Revert before anything is published
    wait.until(shown.text_to_be_present_in_element((By.ID, "upload-status"), "awaiting approval"))
    wait.until(shown.visibility_of_element_located((By.CSS_SELECTOR, "#changes tbody tr")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#changes tbody tr")
    assert len(rows) >= 22 and "added (a new record)" in rows[0].text
    assert wait.until(lambda _: browser.find_element(By.ID, "records").text).startswith("Approval would store: ")
    buttons = {b.text for b in browser.find_elements(By.CSS_SELECTOR, "#admin-actions button")}
    assert buttons == {"Approve and publish", "Discard"}
    assert "Approve publishes them" in browser.find_element(By.ID, "message").text  # no command on the page
    assert _document(served, 1)["records"]["state"] == "staged"
    browser.save_screenshot(str(tmp_path / "awaiting-approval.png"))

    # a viewer sees the buttons, disabled, and why
    browser.get("about:blank")
    browser.get(f"{served}/#token={VIEWER_TOKEN}&upload=1")
    wait.until(shown.text_to_be_present_in_element((By.ID, "actions-note"), "it needs an admin token"))
    assert not browser.find_element(By.ID, "action-approve").is_enabled()

    browser.get("about:blank")
    browser.get(f"{served}/#token={ADMIN_TOKEN}&upload=1")
    wait.until(shown.element_to_be_clickable((By.ID, "action-approve"))).click()
    wait.until(shown.text_to_be_present_in_element((By.ID, "action-result"), "upload 1 approved"))
    (request,) = api_tick(instance, sqlite_url).run_requests  # the daemon: the run the approval asked for
    assert request.tags["elevra/api_actions"] == "approve"
    run_in_background(repo.get_upload_by_id(1), instance, resources).join(timeout=120)
    wait.until(shown.text_to_be_present_in_element((By.ID, "upload-status"), "completed"))
    wait.until(shown.text_to_be_present_in_element((By.ID, "records"), "Records stored: "))
    assert browser.find_element(By.ID, "changes-block").is_displayed() is False
    records = _document(served, 1)["records"]
    assert records["state"] == "published" and records["candidates"]["new"] == records["candidates"]["stored"] > 0
    assert f"{records['candidates']['stored']} candidates ({records['candidates']['new']} new" in (
        browser.find_element(By.ID, "records").text
    )

    # Revert asks first: dismissed, nothing happens; accepted, the upload is reverted
    wait.until(shown.element_to_be_clickable((By.ID, "action-revert"))).click()
    wait.until(shown.alert_is_present()).dismiss()
    assert repo.get_upload_by_id(1).status == "completed"
    wait.until(shown.element_to_be_clickable((By.ID, "action-revert"))).click()
    wait.until(shown.alert_is_present()).accept()
    wait.until(shown.text_to_be_present_in_element((By.ID, "action-result"), "upload 1 reverted"))
    wait.until(shown.text_to_be_present_in_element((By.ID, "upload-status"), "reverted"))
    wait.until(shown.text_to_be_present_in_element((By.ID, "records"), "Reverted: "))
    assert browser.find_elements(By.ID, "action-revert") == []  # nothing left to revert
    document = _document(served, 1)
    assert (document["state"], document["records"]["state"]) == ("reverted", "reverted")
    assert not repo.gave_records(1)
    browser.save_screenshot(str(tmp_path / "reverted.png"))
