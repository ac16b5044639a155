"""What an upload cost: a price per model in the quotas file, kept on every attempt, shown everywhere."""

import json
import time
from datetime import datetime
from email import policy
from email.parser import BytesParser

import pytest
from openpyxl import load_workbook

from elevra_pipeline import cli
from elevra_pipeline.exceptions import ModelCallError, QuotaConfigError
from elevra_pipeline.gemini import prompts
from elevra_pipeline.gemini.client import GeminiCaller, make_client
from elevra_pipeline.gemini.emulator.server import generated
from elevra_pipeline.gemini.schemas import BatchAnalysis
from elevra_pipeline.quotas.engine import CallResult, QuotaEngine
from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import load_quotas, parse_quotas
from elevra_pipeline.quotas.prices import PACIFIC, CallMode, ModelPrice, price_day
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.models import ModelAttempt
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.workbook.summary import summarize_attempts
from elevra_pipeline_tests.capture_server import CaptureServer

ROWS = [{"office": "Mayor", "candidate_name": "Ann Lee", "election_date": "2026-11-03"}]


def published(model: str) -> ModelPrice:
    """The built-in table's price of `model` today (USD per 1M tokens)."""
    price = load_quotas().prices[model].at(price_day(time.time()))
    assert price is not None
    return price


def test_the_batch_api_costs_half_unless_the_file_says_otherwise():
    price = ModelPrice(input=1.25, output=10.0)
    assert price.cost_usd(1_000_000, 100_000) == pytest.approx(1.25 + 1.0)
    assert price.cost_usd(1_000_000, 100_000, CallMode.BATCH) == pytest.approx((1.25 + 1.0) / 2)
    assert ModelPrice(input=1, output=1, batch_input=0.9).cost_usd(1_000_000, 0, CallMode.BATCH) == 0.9


def test_a_quotas_file_without_prices_takes_the_published_ones_and_a_bad_price_is_refused(tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text("models:\n  gemini-3.1-pro-preview: {rpm: 5}\n")
    config = load_quotas(plain)
    assert config.cost_usd("gemini-3.1-pro-preview", 1_000_000, 0) == published("gemini-3.1-pro-preview").input
    priced = tmp_path / "priced.yaml"
    priced.write_text(
        "models:\n  gemini-3.1-pro-preview: {rpm: 5}\nprices:\n  gemini-3.1-pro-preview: {input: 2, output: 4}\n"
    )
    config = load_quotas(priced)
    assert config.cost_usd("gemini-3.1-pro-preview", 1_000_000, 1_000_000) == 6
    assert config.cost_usd("gemini-3.8-flash", 1_000_000, 0) is None  # no price given: unknown, not free
    with pytest.raises(QuotaConfigError, match=r"prices\.gemini-3\.1-pro-preview\.0\.input"):
        parse_quotas(
            {"models": {"gemini-3.1-pro-preview": {}}, "prices": {"gemini-3.1-pro-preview": {"input": -1, "output": 1}}}
        )


def test_an_answer_rejected_by_our_checks_is_still_charged(sqlite_url):
    config = load_quotas()
    rows = []
    engine = QuotaEngine(
        config, QuotaLedger.for_config(migrated_engine(sqlite_url), config), attempt_sink=rows.append, sleep=lambda s: 0
    )
    answers = iter(
        [
            ModelCallError("made up a candidate", error_type="invalid_output", input_tokens=800, output_tokens=200),
            None,
        ]
    )

    def invoke(model):
        error = next(answers)
        if error:
            raise error
        return CallResult("ok", 800, 150)

    engine.call("structure", 2400, invoke)
    price = published("gemini-3.8-flash")
    assert [r["status"] for r in rows] == ["invalid_output", "ok"]
    assert rows[0]["cost_usd"] == pytest.approx((800 * price.input + 200 * price.output) / 1e6)
    assert rows[1]["cost_usd"] == pytest.approx((800 * price.input + 150 * price.output) / 1e6)


def test_an_upload_s_cost_is_in_the_json_line_status_workbook_and_final_email(
    db_url, emulator, local_data, monkeypatch, capsys
):
    monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", emulator.base_url)
    monkeypatch.setenv("ELEVRA_DATABASE_URL", db_url)
    assert cli.main(["process", str(SAMPLE_XLSX), "--uploader", "ann@example.org"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    attempts = Repository(migrated_engine(db_url)).attempts(summary["upload_id"])
    expected = sum(
        (a.input_tokens * published(a.model).input + a.output_tokens * published(a.model).output) / 1e6
        for a in attempts
    )
    assert all(a.mode == "online" and a.input_tokens > 0 and a.output_tokens > 0 for a in attempts)
    assert summary["mode"] == "online"
    assert expected > 0 and summary["cost_usd"] == pytest.approx(expected, abs=1e-6)

    sheet = load_workbook(summary["workbook"])["Model Usage"]
    header = [c.value for c in sheet[1]]
    costs = [row[header.index("Cost (USD)")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(costs) == 2 and sum(costs) == pytest.approx(expected, abs=1e-5)

    (final,) = [p for p in (local_data / "outbox").rglob("*final-*.eml") if not p.stem.endswith("-team")]
    body = BytesParser(policy=policy.default).parsebytes(final.read_bytes()).get_body(("plain",)).get_content()
    assert f"Cost: ${expected:,.4f} (online calls)" in body

    assert cli.main(["status", str(summary["upload_id"])]) == 0
    assert f"cost: ${expected:,.4f} (online calls)" in capsys.readouterr().out


def routed(request):
    """Google answering a retired id with a newer model: `modelVersion` names the one that answered."""
    answer = generated("gemini-3.8-flash", request["json"], 42)
    return 200, {**answer, "modelVersion": "gemini-3.9-flash"}, {}


def test_each_attempt_records_the_model_that_answered_and_is_charged_at_its_price(db_url):
    config = parse_quotas(
        {
            "models": {"gemini-3.8-flash": {}},
            "chains": {"analysis": ["gemini-3.8-flash"]},
            "prices": {"gemini-3.8-flash": {"input": 1, "output": 1}, "gemini-3.9-flash": {"input": 2, "output": 8}},
        }
    )
    database = migrated_engine(db_url)
    engine = QuotaEngine(config, QuotaLedger.for_config(database, config), record_attempts=True)
    server = CaptureServer()
    server.decide = routed
    server.start()
    try:
        GeminiCaller(make_client(None, server.url, 5), engine).run(
            "analysis", prompts.ANALYSIS_SYSTEM, prompts.analysis_prompt(ROWS), BatchAnalysis
        )
    finally:
        server.stop()
    with Repository(database).unit_of_work() as session:
        (attempt,) = session.query(ModelAttempt).all()
        assert (attempt.model, attempt.model_version) == ("gemini-3.8-flash", "gemini-3.9-flash")
        price = config.prices["gemini-3.9-flash"]
        assert attempt.cost_usd == pytest.approx(price.cost_usd(attempt.input_tokens, attempt.output_tokens))
        assert set(summarize_attempts([attempt])) == {"gemini-3.9-flash"}  # usage under the model that answered


def test_an_answering_model_without_a_price_is_charged_at_the_asked_models():
    config = parse_quotas({"models": {"m": {}}, "prices": {"m": {"input": 1, "output": 1}}})
    assert config.cost_usd("m", 1_000_000, 0, answered_by="m-002") == 1
    assert config.cost_usd("m", 1_000_000, 0, CallMode.BATCH, answered_by=None) == 0.5


def pacific_noon(day: str) -> float:
    return datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=PACIFIC).timestamp()


@pytest.mark.parametrize(
    ("day", "per_million_in", "per_million_out"),
    [("2026-12-31", 0.75, 3.75), ("2027-01-02", 1.50, 7.50)],  # Google's published change on 2027-01-01
)
def test_a_call_is_charged_at_the_price_in_force_on_the_day_it_was_sent(
    sqlite_url, day, per_million_in, per_million_out
):
    config = load_quotas()  # the built-in table carries gemini-3.8-flash's dated prices
    rows = []
    engine = QuotaEngine(
        config,
        QuotaLedger.for_config(migrated_engine(sqlite_url), config),
        attempt_sink=rows.append,
        clock=lambda: pacific_noon(day),
        sleep=lambda s: 0,
    )
    engine.call("structure", 2400, lambda model: CallResult("ok", 1_000_000, 1_000_000))
    (row,) = rows
    assert row["model"] == "gemini-3.8-flash"
    assert row["cost_usd"] == pytest.approx(per_million_in + per_million_out)


def test_a_price_changes_on_its_from_day_and_an_undated_entry_holds_from_the_start():
    config = parse_quotas(
        {
            "models": {"m": {}},
            "prices": {"m": [{"from": "2027-01-01", "input": 2, "output": 0}, {"input": 1, "output": 0}]},
        }
    )
    cost = lambda day: config.cost_usd("m", 1_000_000, 0, at=pacific_noon(day))  # noqa: E731
    assert [cost("2001-05-05"), cost("2026-12-31"), cost("2027-01-01")] == [1, 1, 2]
    only_later = parse_quotas({"models": {"m": {}}, "prices": {"m": [{"from": "2027-01-01", "input": 2, "output": 0}]}})
    assert only_later.cost_usd("m", 1_000_000, 0, at=pacific_noon("2026-12-31")) is None  # unknown, not free


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ("[{from: 2027-02-30, input: 1, output: 1}]", r"prices\.m\.0\.from: .*'2027-02-30' is not a calendar date"),
        ("[{from: 20270101, input: 1, output: 1}]", r"prices\.m\.0\.from: .*20270101 is not a date written YYYY-MM-DD"),
        (
            "[{from: 2027-1-1, input: 1, output: 1}]",
            r"prices\.m\.0\.from: .*'2027-1-1' is not a date written YYYY-MM-DD",
        ),
        (
            "[{input: 1, output: 1}, {from: 2027-01-01, input: 2, output: 2}, {from: 2027-01-01, input: 3, output: 3}]",
            r"prices\.m: .*two entries from 2027-01-01 overlap",
        ),
        ("[{input: 1, output: 1}, {input: 2, output: 2}]", r"prices\.m: .*two entries without a `from` date overlap"),
    ],
)
def test_a_bad_price_date_or_overlapping_prices_are_refused_in_one_line(tmp_path, entries, problem):
    path = tmp_path / "quotas.yaml"
    path.write_text(f"models:\n  m: {{rpm: 5}}\nprices:\n  m: {entries}\n")
    with pytest.raises(QuotaConfigError, match=problem) as refused:
        load_quotas(path)
    assert "\n" not in str(refused.value)
