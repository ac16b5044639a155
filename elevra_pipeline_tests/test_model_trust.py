"""Trust nothing the model says, and blame no uploader for an outage.

A proxy in front of the emulator plays a hostile model (inventing people, breaking dates, answering
with markup) or a model that goes down mid-run; the real google-genai client talks to it over HTTP.
"""

import unicodedata

import pytest
import yaml

from elevra_pipeline.defs.resources import DatabaseResource, EmailResource, GeminiResource
from elevra_pipeline.gemini import prompts
from elevra_pipeline.notifications.mailer import Mailer
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.quotas.limits import DEFAULT_QUOTAS_FILE
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.models import Candidate, Election
from elevra_pipeline_tests.helpers import attention, local_outbox, materialize_upload, register
from elevra_pipeline_tests.model_proxy import ModelProxy
from elevra_pipeline_tests.ticks import failure_tick, read_outbox, recovery_tick, tick

THREE_ROWS = """Election Date,Jurisdiction,Office,Candidate,Party,Website
2026-11-03,Springfield,City Council,JANE DOE,DEM,janedoe.org
2026-11-03,Springfield,City Council,"SMITH, JOHN",REP,
2026-11-03,Springfield,City Council,Ann Lee,,
"""


def structure_only(change):
    def rewrite(task, answer, number):
        return change(answer, number) if task == prompts.TASK_STRUCTURE else answer

    return rewrite


def run_through(proxy_rewrite, repo, instance, db_url, emulator, tmp_path, text=THREE_ROWS):
    path = tmp_path / "council.csv"
    path.write_text(text)
    with ModelProxy(emulator.base_url, proxy_rewrite) as proxy:
        resources = {
            "database": DatabaseResource(url=db_url),
            "gemini": GeminiResource(base_url=proxy.url, database_url=db_url, backoff_base_seconds=0.01),
        }
        upload = register(repo, path, instance, "ann@example.org")
        materialize_upload(upload, instance, resources)
    return repo.get_upload_by_id(upload.id)


def stored_text(repo) -> str:
    with repo.unit_of_work() as s:
        return repr(
            [(e.name, e.election_date) for e in s.query(Election)]
            + [(c.name, c.party, c.website) for c in s.query(Candidate)]
        )


def invent(answer, number):
    answer["candidates"] += [{"name": "Mallory Invented"}] + [{"name": f"Bulk {i}"} for i in range(500)]
    return answer


def swap_one(answer, number):
    answer["candidates"][0] = {"name": "Mallory Invented", "party": "Independent"}
    return answer


def add_a_word(answer, number):
    answer["candidates"][0]["name"] = "Jane Ann Doe"  # a word the row's JANE DOE does not have
    return answer


def swap_party_and_website(answer, number):
    jane, john = answer["candidates"][:2]
    jane["party"], john["party"], john["website"] = john["party"], jane["party"], jane["website"]
    return answer


def break_date(answer, number):
    answer["election"]["election_date"] = "2026-02-30"
    return answer


@pytest.mark.parametrize(
    "change, reason",
    [
        (invent, "504 candidates for 3 named row(s)"),
        (swap_one, "1 candidate(s) not in the batch's rows: Mallory Invented"),
        (break_date, "election date '2026-02-30' is not a real calendar date"),
        (add_a_word, "1 candidate(s) not in the batch's rows: 'Jane Ann Doe' is not the row's 'JANE DOE'"),
        (swap_party_and_website, "John Smith's party 'Democratic' is not the row's 'Republican' (it is Jane Doe's)"),
    ],
)
def test_a_hostile_answer_is_retried_on_every_model_then_the_batch_waits_and_the_team_is_told(
    change, reason, repo, instance, db_url, emulator, tmp_path, outbox
):
    """Issue 38, item 7: answers that keep failing the checks on every model of the chain are the model's
    fault, not the uploader's (this test said `needs_reupload` before): the race waits, the team is told."""
    upload = run_through(structure_only(change), repo, instance, db_url, emulator, tmp_path)

    (batch,) = repo.batches(upload.id)
    assert (batch.status, batch.failure_kind) == ("waiting_for_model", "model") and reason in batch.error_reason
    assert repo.count(Candidate) == 0 and repo.count(Election) == 0
    rejected = [a for a in repo.attempts(upload.id) if a.stage == "structure"]
    assert len(rejected) == 5 and {a.status for a in rejected} == {"invalid_output"}
    assert {a.model for a in rejected} == {"gemini-3.8-flash", "gemini-3.5-flash-lite"}  # the chain's every model
    assert all(reason in a.error_message and a.response_excerpt for a in rejected)  # what was rejected, and why
    assert upload.status == "waiting_for_model"

    Notifier(repo, Mailer(str(outbox)), "team@example.org").after_assets(upload, ["structured_output"])
    (told,) = [n for n in repo.notifications(upload.id) if n.kind == "model_answers_rejected"]
    assert told.recipients == ["team@example.org"] and reason in told.text_body
    assert told.subject.startswith("Gemini's answers kept failing our checks: 1 race(s) of council.csv wait")
    assert not [n for n in repo.notifications(upload.id) if n.kind == "batch_failed"]  # nobody asked to re-upload


def test_a_model_that_lies_once_is_retried_and_its_honest_answer_kept(repo, instance, db_url, emulator, tmp_path):
    upload = run_through(
        structure_only(lambda answer, n: invent(answer, n) if n == 2 else answer),
        repo,
        instance,
        db_url,
        emulator,
        tmp_path,
    )
    assert [b.status for b in repo.batches(upload.id)] == ["inserted"]
    assert [a.status for a in repo.attempts(upload.id) if a.stage == "structure"] == ["invalid_output", "ok"]
    assert repo.count(Candidate) == 3 and "Mallory" not in stored_text(repo)


def markup(answer, number):
    answer["election"]["name"] = "&lt;script&gt;alert('e')&lt;/script&gt; Election"
    answer["candidates"][0]["party"] = "<img src=x onerror=alert(1)>"
    answer["candidates"][1]["name"] = "&lt;b&gt;" + answer["candidates"][1]["name"] + "&lt;/b&gt;"
    return answer


def test_markup_in_an_answer_is_removed_and_reported_never_stored(repo, instance, db_url, emulator, tmp_path):
    upload = run_through(structure_only(markup), repo, instance, db_url, emulator, tmp_path)

    assert [b.status for b in repo.batches(upload.id)] == ["inserted"]
    stored = stored_text(repo)
    assert "alert" not in stored and "<" not in stored and "&lt;" not in stored
    assert repo.count(Candidate) == 3
    notes = upload.summary_json["output_notes"]
    assert any("<script>alert('e')</script>" in n["note"] and "election name" in n["note"] for n in notes)
    assert any("onerror=alert(1)" in n["note"] for n in notes)


def test_entity_encoded_markup_in_cells_is_decoded_then_stripped(repo, instance, db_url, emulator, tmp_path):
    cells = THREE_ROWS + (
        "2026-11-03,Springfield,City Council,&lt;script&gt;alert(2)&lt;/script&gt;,,\n"
        "2026-11-03,Springfield,City Council,Bo Park,&lt;b&gt;Green&lt;/b&gt;,\n"
    )
    upload = run_through(None, repo, instance, db_url, emulator, tmp_path, cells)

    assert [b.status for b in repo.batches(upload.id)] == ["inserted"]
    with repo.unit_of_work() as s:
        people = sorted((c.name, c.party) for c in s.query(Candidate))
    assert people == [
        ("Ann Lee", None),
        ("Bo Park", "Green"),
        ("Jane Doe", "Democratic"),
        ("John Smith", "Republican"),  # the list's "Smith, John", in reading order
    ]
    assert "alert" not in stored_text(repo)
    notes = " ".join(n["note"] for n in upload.summary_json["output_notes"])
    assert "<script>alert(2)</script>" in notes and "<b>" in notes
    assert upload.summary_json["rows"]["candidates"] == 4 and upload.summary_json["rows"]["dropped"] == 1


ACCENTED_ROWS = """Election Date,Jurisdiction,Office,Candidate,Party,Website
2026-11-03,Springfield,City Council,Marisol Peña,DEM,
2026-11-03,Springfield,City Council,"ÁLVAREZ, JOSÉ",REP,
2026-11-03,Springfield,City Council,Søren Łukasz,,
2026-11-03,Springfield,City Council,Zoë Brontë,,
"""


def plain_letters(name: str) -> str:
    """What a model that 'normalises' names writes: no accents, ø and ł as o and l."""
    text = unicodedata.normalize("NFKD", name).translate(str.maketrans("øØłŁ", "oOlL"))
    return "".join(c for c in text if not unicodedata.combining(c))


def drop_accents(answer, number):
    for candidate in answer["candidates"]:
        candidate["name"] = plain_letters(candidate["name"])
    return answer


def test_a_model_that_drops_every_accent_still_completes_the_upload_with_the_lists_names(
    repo, instance, db_url, emulator, tmp_path
):
    upload = run_through(structure_only(drop_accents), repo, instance, db_url, emulator, tmp_path, ACCENTED_ROWS)

    assert upload.status == "completed"
    assert [b.status for b in repo.batches(upload.id)] == ["inserted"]
    assert [a.status for a in repo.attempts(upload.id) if a.stage == "structure"] == ["ok"]
    with repo.unit_of_work() as s:
        names = sorted(c.name for c in s.query(Candidate))
    assert names == ["José Álvarez", "Marisol Peña", "Søren Łukasz", "Zoë Brontë"]
    (note,) = [n["note"] for n in upload.summary_json["output_notes"]]
    assert note.startswith("the model changed 4 names; the list's spelling was kept: ")


def outage_quotas(tmp_path) -> str:
    quotas = yaml.safe_load(DEFAULT_QUOTAS_FILE.read_text())
    quotas.update(max_wait_seconds=3)
    path = tmp_path / "quotas.yaml"
    path.write_text(yaml.safe_dump(quotas))
    return str(path)


@pytest.mark.parametrize("failure", ["503", "refuse"])
def test_an_outage_mid_run_waits_for_the_model_and_finishes_without_an_admin(
    failure, repo, instance, db_url, emulator, tmp_path, monkeypatch, outbox
):
    monkeypatch.setenv("ELEVRA_QUOTAS_FILE", outage_quotas(tmp_path))

    with ModelProxy(emulator.base_url) as proxy:
        proxy.go_down_after(30, failure)  # 22 analysis calls, then 8 of the 22 structure calls
        resources = {
            "database": DatabaseResource(url=db_url),
            "gemini": GeminiResource(
                base_url=proxy.url, database_url=db_url, backoff_base_seconds=0.01, quotas_file=outage_quotas(tmp_path)
            ),
        }
        upload = register(repo, SAMPLE_XLSX, instance, "ann@example.org")
        result = materialize_upload(upload, instance, resources)

        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert not checks["no_batch_failed_a_model_stage"].passed  # a WARN next to the partition
        assert checks["every_row_accounted_for"].passed and checks["workbook_matches_database"].passed
        batches = repo.batches(upload.id)
        waiting = [b for b in batches if b.status == "waiting_for_model"]
        assert waiting and not [b for b in batches if b.status == "needs_reupload"]
        assert all("waiting for the model" in b.error_reason for b in waiting)
        assert repo.get_upload_by_id(upload.id).status == "waiting_for_model"
        failed = [a for a in repo.attempts(upload.id) if a.status != "ok"]
        assert {a.model for a in failed} == {"gemini-3.8-flash", "gemini-3.5-flash-lite"}  # the fallback was tried
        assert attention(result).endswith(f"{len(waiting)} races wait for Gemini; they resume by themselves")
        tick(instance, db_url, EmailResource(outbox_dir=local_outbox()))
        failure_tick(instance, db_url, result)  # the run ends red: the upload is not done
        subjects = [m["Subject"] for m in read_outbox(outbox)]
        assert any(
            s.startswith(f"Waiting for Gemini: {len(waiting)} races of sample_elections.xlsx will") for s in subjects
        )
        assert not any(s.startswith("Done") for s in subjects)

        proxy.down = None  # the model is back: the sensor, not an admin, asks for the re-run
        first = recovery_tick(instance, db_url)
        assert [r.partition_key for r in first.run_requests] == [upload.partition_key]
        assert recovery_tick(instance, db_url, first.cursor).run_requests == []  # backoff: not again at once
        materialize_upload(upload, instance, resources)

    assert {b.status for b in repo.batches(upload.id)} == {"inserted"}
    assert repo.get_upload_by_id(upload.id).status == "completed"
    assert repo.count(Candidate) == 66
    tick(instance, db_url, EmailResource(outbox_dir=local_outbox()))
    finals = [m["Subject"] for m in read_outbox(outbox) if m["Subject"].startswith("Done")]
    assert finals == ["Done: 22 elections and 66 candidates from sample_elections.xlsx"] * 2  # uploader and team
