"""`elevra-pipeline`: process a file, show status, run the Gemini emulator, inspect quotas, benchmark."""

import argparse
import getpass
import json
import os
import sys
import time
from pathlib import Path


def _settings():
    from elevra_pipeline.settings import Settings

    return Settings.from_env()


def _repo():
    from elevra_pipeline.storage.database import migrated_engine
    from elevra_pipeline.storage.repository import Repository

    return Repository(migrated_engine(_settings().database_url))


def _upload_options(args) -> dict:
    options = {
        "election_date": args.election_date,
        "jurisdiction": args.jurisdiction,
        "state": args.state,
        "columns": args.columns,
        "mode": args.mode,
        "deadline": args.deadline,
        "election_type": args.election_type,
        "open_primary": args.open_primary or None,
        "include_not_on_ballot": args.include_not_on_ballot or None,
        "date_order": args.date_order,
        "review": args.review or None,
    }
    return {k: v for k, v in options.items() if v}


def cmd_process(args, path: Path | None = None, stored: bool = False) -> int:
    """`stored`: `path` is an upload's stored copy (`retry`, `approve`), not a file sent again."""
    from elevra_pipeline.defs.processing import process_file
    from elevra_pipeline.storage.batch_rules import COMPLETE, UploadStatus

    summary = process_file(
        path or Path(args.path),
        getattr(args, "uploader", None),
        stored_copy=stored,
        progress=lambda line: print(line, flush=True),
        keep_raw_file=getattr(args, "keep_raw", False),
        options=_upload_options(args),
        verbose=args.verbose,
    )
    print(json.dumps(summary, ensure_ascii=False))
    done = (*COMPLETE, UploadStatus.AWAITING_APPROVAL)  # in review: staged as asked
    if summary["status"] not in done and summary.get("reason"):
        print(f"error: {summary['reason']}", file=sys.stderr)
    if summary["status"] == UploadStatus.AWAITING_APPROVAL:
        print(f"awaiting approval: `elevra-pipeline approve {summary['upload_id']}` publishes, `discard` drops")
    return 0 if summary["status"] in done else 2


def cmd_retry(args) -> int:
    """The stored copy of an upload, read again (with new settings when given): a rejected or failed
    upload whose cause is fixed, or one whose batches need re-upload for a setting the admin now gives."""
    from elevra_pipeline.exceptions import ElevraError
    from elevra_pipeline.storage.files import file_store
    from elevra_pipeline.uploads.admin import allowed_upload
    from elevra_pipeline.uploads.transitions import AdminAction

    try:
        upload = allowed_upload(_repo(), args.upload_id, AdminAction.RETRY)
    except ElevraError as e:
        print(f"error: {e} (see `elevra-pipeline status`)", file=sys.stderr)
        return 1
    files = file_store(_settings())
    if not files.exists(upload.stored_path):
        print(
            f"error: the file of upload {upload.id} was removed when it completed; send '{upload.original_filename}' "
            "again with the new settings (the same file re-opens the upload)",
            file=sys.stderr,
        )
        return 1
    with files.local_path(upload.stored_path) as stored:
        return cmd_process(args, stored, stored=True)


def cmd_approve(args) -> int:
    """Approve an upload in review, then run it: the run inserts what was staged."""
    from elevra_pipeline.exceptions import ElevraError
    from elevra_pipeline.storage.files import file_store
    from elevra_pipeline.uploads import review

    repo = _repo()
    try:
        print(review.approve(repo, args.upload_id, args.reason or ""))
    except ElevraError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    upload = repo.get_upload_by_id(args.upload_id)
    files = file_store(_settings())
    if not files.exists(upload.stored_path):
        print(f"error: the file of upload {upload.id} is no longer stored; send it again", file=sys.stderr)
        return 1
    with files.local_path(upload.stored_path) as stored:
        return cmd_process(_no_options(args), stored, stored=True)


def _no_options(args) -> argparse.Namespace:
    """`process`'s arguments with no new setting: the upload runs as it is."""
    names = ("election_date", "jurisdiction", "state", "columns", "mode", "deadline", "election_type", "date_order")
    flags = ("open_primary", "include_not_on_ballot", "review")
    return argparse.Namespace(**vars(args), **{n: None for n in names}, **{f: False for f in flags})


def cmd_status(args) -> int:
    from elevra_pipeline.uploads.status import print_status

    if args.json:
        from elevra_pipeline.uploads.status import status_document

        document = status_document(_repo(), args.upload_id)
        print(json.dumps(document, ensure_ascii=False))
        return 1 if args.upload_id is not None and not document["uploads"] else 0
    return print_status(_repo(), args.upload_id)


def cmd_emulator(args) -> int:
    from elevra_pipeline.gemini.emulator.latency import LatencyProfile
    from elevra_pipeline.gemini.emulator.server import EmulatorServer, Faults
    from elevra_pipeline.quotas.limits import load_quotas

    quotas = None if args.no_quotas else load_quotas(args.quotas)
    try:
        latency = LatencyProfile.parse(args.latency) if args.latency else LatencyProfile.fixed(args.latency_ms / 1000)
    except ValueError as e:
        print(f"error: --latency: {e}", file=sys.stderr)
        return 1
    server = EmulatorServer(
        (args.host, args.port),
        quotas,
        Faults.parse(args.faults),
        latency=latency,
        batch_delay_seconds=args.batch_delay,
        retired=None if args.retired is None else frozenset(filter(None, args.retired.split(","))) - {"none"},
        thoughts_ratio=args.thoughts_ratio,
    )
    print(
        f"Gemini EMULATOR listening on {server.base_url} (quotas {'off' if quotas is None else 'on'}, "
        f"faults: {args.faults or 'none'}, retired: {', '.join(sorted(server.retired)) or 'none'}). "
        f"Point the pipeline at it with ELEVRA_GEMINI_BASE_URL={server.base_url}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_models(args) -> int:
    """The chain models against what the key can use (`models.list`), and the ledger's marks."""
    import os

    from elevra_pipeline.gemini.client import make_client
    from elevra_pipeline.gemini.model_check import check_models
    from elevra_pipeline.quotas.ledger import QuotaLedger
    from elevra_pipeline.quotas.limits import load_quotas
    from elevra_pipeline.quotas.report import iso
    from elevra_pipeline.settings import gemini_key_setting

    config = load_quotas(args.quotas)
    ledger = QuotaLedger.for_config(_repo().engine, config)
    for model in args.reset or []:
        print(f"{model}: {'mark cleared' if ledger.mark_available(model) else 'was not marked unavailable'}")
    key = os.environ.get(gemini_key_setting(os.environ) or "GEMINI_API_KEY")
    base_url = os.environ.get("ELEVRA_GEMINI_BASE_URL")
    chains = {m for chain in config.chains.values() for m in chain}
    if key or base_url:
        check = check_models(make_client(key, base_url, 30), ledger, sorted(chains), batch=args.batch, now=time.time())
        print(f"{'Emulator' if check.emulated else 'Gemini'} ({base_url or 'Google'}): {check.summary()}")
    else:
        print("GEMINI_API_KEY is not set: the models were not listed (runs use the offline emulator).")
    marks = ledger.unavailable_models()
    for stage, chain in config.chains.items():
        for model in chain:
            mark = marks.get(model)
            state = "available" if mark is None else f"UNAVAILABLE since {iso(mark[0])}: {mark[1]}"
            print(f"  {stage:10} {model:26} {state}")
    return 0


def cmd_quota(args) -> int:
    from elevra_pipeline.quotas.ledger import QuotaLedger
    from elevra_pipeline.quotas.limits import load_quotas
    from elevra_pipeline.quotas.report import quota_report

    config = load_quotas(args.quotas)
    report = quota_report(config, QuotaLedger.for_config(_repo().engine, config), time.time())
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    print(
        f"{'model':24} {'share':>5} {'requests/window':>16} {'tokens/window':>20} {'requests today':>16} "
        f"{'in flight':>12} {'batch jobs (tokens)':>20}  cool-down"
    )
    for model, m in report["models"].items():
        eff, used = m["effective"], m["used"]
        cool = f"{m['cooldown']['seconds']:.0f}s ({m['cooldown']['reason']})" if m["cooldown"]["seconds"] else "-"
        if m["unavailable"]:
            cool = f"UNAVAILABLE since {m['unavailable']['since']}: {m['unavailable']['reason'][:160]}"
        print(
            f"{model:24} {m['share']:>5.2f} {used['requests_in_window']:>7}/{eff['rpm'] or '∞':<8} "
            f"{used['tokens_in_window']:>9}/{eff['tpm'] or '∞':<10} "
            f"{used['requests_today']:>7}/{eff['rpd'] or '∞':<8} {used['tokens_in_flight']:>12} "
            f"{used['batch_enqueued_tokens']:>9}/{eff['batch_enqueued_tokens'] or '∞':<10}  {cool}"
        )
    changes = [(model, c) for model, m in report["models"].items() for c in m["limit_changes"]]
    print(
        "\nLimits in force: declared x share, lowered when Google's 429s show others use the quota"
        f" (adaptive: {'on' if report['adaptive'] else 'off'})."
    )
    for model, m in report["models"].items():
        lowered = [k for k in ("rpm", "tpm", "rpd") if m["effective"][k] != m["allowed"][k]]
        for k in lowered:
            print(f"  {model}: {k} {m['effective'][k]} of {m['allowed'][k]} allowed ({m['declared'][k]} declared)")
    if changes:
        print("\nRecent changes:")
        for model, c in sorted(changes, key=lambda mc: mc[1]["at"])[-20:]:
            print(f"  {c['at']}  {model} {c['limit']} {c['old']} -> {c['new']}: {c['reason']}")
    return 0


def cmd_bench(args) -> int:
    if args.what == "intake" and args.hostile:
        from elevra_pipeline.bench.hostile_intake import held
        from elevra_pipeline.bench.hostile_intake import run as run_hostile

        results = run_hostile(say=lambda line: print(line, flush=True), cap_mb=args.memory_cap_mb)
        return 0 if all(map(held, results.values())) else 1
    if args.what == "intake" and args.corpus:
        from elevra_pipeline.bench.corpus import scoreboard

        scores = scoreboard(Path(args.corpus), say=lambda line: print(line, flush=True))
        print(
            json.dumps(
                {
                    "files": len(scores),
                    "right": sum(s.right for s in scores),
                    "wrong": [s.file for s in scores if not s.right],
                }
            )
        )
        return 0
    if args.what == "intake":
        from elevra_pipeline.bench.intake_bench import run as run_intake

        run_intake(say=lambda line: print(line, flush=True))
        return 0
    if args.what == "drop":
        from elevra_pipeline.bench.drop_bench import run as run_drop

        run_drop(args.drops, args.gap, say=lambda line: print(line, flush=True))
        return 0
    if args.what == "api":
        from elevra_pipeline.bench.api_bench import run as run_api

        run_api(
            args.requests,
            args.uploads,
            kind=args.ledger,
            postgres_url=args.postgres_url,
            compare=args.compare,
            say=lambda line: print(line, flush=True),
        )
        return 0
    if args.what == "pipeline":
        from elevra_pipeline.bench.pipeline_bench import DEFAULT_LATENCY
        from elevra_pipeline.bench.pipeline_bench import run as run_pipeline

        run_pipeline(
            [int(n) for n in args.batches.split(",") if n.strip()],
            args.time_scale,
            args.latency or DEFAULT_LATENCY,
            args.ledger,
            args.postgres_url,
            args.concurrent,
            say=lambda line: print(line, flush=True),
            through=args.through,
            profile=Path(args.profile) if args.profile else None,
        )
        return 0
    if args.invisible_consumer:
        from elevra_pipeline.bench.shared_quota_bench import run as run_shared

        run_shared(
            args.seconds,
            args.invisible_consumer,
            args.threads,
            args.latency_ms,
            say=lambda line: print(line, flush=True),
        )
        return 0
    if args.ledger_only:
        from elevra_pipeline.bench.ledger_bench import run as run_ledger

        say = lambda line: print(line, flush=True)  # noqa: E731
        result = run_ledger(
            args.ledger,
            args.processes,
            tuple(int(n) for n in args.callers.split(",") if n.strip()),
            args.seconds or 5.0,
            args.postgres_url,
            say=say,
        )
        say(json.dumps(result))
        return 0
    from elevra_pipeline.bench.quota_bench import run

    run(
        args.processes,
        args.seconds or 42.0,
        args.quotas,
        args.ledger,
        threads=args.threads,
        latency_ms=args.latency_ms,
        say=lambda line: print(line, flush=True),
    )
    return 0


def cmd_admin(args) -> int:
    from elevra_pipeline.exceptions import ElevraError
    from elevra_pipeline.uploads import admin

    repo = _repo()
    try:
        if args.command == "batch":
            if args.action == "redo":
                print(admin.redo_batch(repo, args.upload_id, args.batch_key, args.reason or ""))
            else:
                by = os.environ.get("ELEVRA_ADMIN_NAME") or getpass.getuser()
                print(admin.skip_batch(repo, args.upload_id, args.batch_key, args.reason or "", by))
        elif args.command == "revert":
            from elevra_pipeline.defs.wiring import build_resources

            resources = build_resources()
            app = resources["app"]
            notifier = app.notifier(repo, resources["email"].process_config_and_initialize())
            print(admin.revert(repo, args.upload_id, args.reason or "", app.webhook_url, notifier))
        elif args.command == "discard":
            from elevra_pipeline.uploads import review

            print(review.discard(repo, args.upload_id, args.reason or ""))
        elif args.command in ("pause", "resume"):
            if args.upload_id is None and not args.all:
                raise ElevraError(f"name an upload id, or --all to {args.command} every upload")
            print(admin.set_paused(repo, None if args.all else args.upload_id, args.command == "pause"))
        else:
            from elevra_pipeline.defs.processing import dagster_instance_or_none
            from elevra_pipeline.defs.runs import stop_upload_runs
            from elevra_pipeline.defs.wiring import build_resources

            resources = build_resources()
            notifier = resources["app"].notifier(repo, resources["email"].process_config_and_initialize())
            batches = resources["gemini_batches"].process_config_and_initialize().client()
            print(
                admin.cancel_upload(
                    repo,
                    args.upload_id,
                    notifier,
                    stop_upload_runs(dagster_instance_or_none()),
                    args.reason or "",
                    batches,
                )
            )
    except ElevraError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def cmd_serve(args) -> int:
    from elevra_pipeline.api.server import serve

    return serve(args.host, args.port)


def cmd_api_token(args) -> int:
    from elevra_pipeline.api.server import api_token

    return api_token(args.action, args.name, args.role)


def _add_upload_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verbose", action="store_true", help="show Dagster's own DEBUG log of the run")
    p.add_argument("--election-date", help="YYYY-MM-DD for rows without an election date (wins over the sidecar)")
    p.add_argument("--jurisdiction", help="jurisdiction for rows without one, e.g. 'City of Philadelphia'")
    p.add_argument("--state", help="state for every row without one, e.g. PA")
    p.add_argument("--columns", help='header -> role, as JSON: \'{"Running for": "office", "Who": "candidate_name"}\'')
    p.add_argument(
        "--mode",
        choices=["online", "batch", "auto"],
        help="model calls online, through the Batch API (half price, up to 24 h) or chosen by size and deadline "
        "(default: the sidecar's, else auto)",
    )
    p.add_argument("--deadline", help="when the results are needed, YYYY-MM-DD or YYYY-MM-DDTHH:MM (Pacific)")
    p.add_argument("--election-type", help="general, primary, special, runoff, municipal… for rows that do not say")
    p.add_argument(
        "--date-order",
        choices=["mdy", "dmy"],
        help="how to read numeric dates such as 03/11/2026: mdy = March 11, dmy = 3 November (default: what "
        "each date column shows, else mdy, said in the result workbook)",
    )
    p.add_argument(
        "--open-primary", action="store_true", help="a primary whose parties share one contest (top-two, jungle)"
    )
    p.add_argument(
        "--review",
        action="store_true",
        help="stage the records until `approve ID` (the e-mail and the workbook say what would change)",
    )
    p.add_argument(
        "--include-not-on-ballot",
        action="store_true",
        help="keep withdrawn, removed, disqualified or deceased people as candidates (dropped by default)",
    )


def build_parser() -> argparse.ArgumentParser:
    from elevra_pipeline.bench import DEFAULT_POSTGRES

    parser = argparse.ArgumentParser(prog="elevra-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "process",
        help="register a spreadsheet and run its whole pipeline in-process (a file already known, with new "
        "settings, is re-opened)",
    )
    p.add_argument("path")
    p.add_argument("--uploader", help="uploader e-mail (else the <file>.json sidecar)")
    p.add_argument("--keep-raw", action="store_true", help="keep the raw file after completion (debugging)")
    _add_upload_options(p)
    p.set_defaults(func=cmd_process)
    p = sub.add_parser(
        "retry", help="read an upload's stored file again, with new settings when given (e.g. --election-date)"
    )
    p.add_argument("upload_id", type=int)
    _add_upload_options(p)
    p.set_defaults(func=cmd_retry)
    p = sub.add_parser("status", help="uploads, or one upload's batches, attempts and e-mails")
    p.add_argument("upload_id", nargs="?", type=int)
    p.add_argument("--json", action="store_true", help="one JSON document for the admin app (see the README)")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("emulator", help="run the offline Gemini emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787)
    p.add_argument("--quotas", help="quotas file to enforce (default: ELEVRA_QUOTAS_FILE or built-in)")
    p.add_argument("--no-quotas", action="store_true", help="do not enforce any quota")
    p.add_argument(
        "--faults",
        help="e.g. 503=0.1,slow=0.05:3,malformed=0.02,schema=0.02,429=0.01,batch_error=0.1,expire_jobs=1,"
        "max_tokens=3,safety=0.01,seed=7",
    )
    p.add_argument(
        "--retired",
        help="models that answer 404 as shut down, comma-separated, or 'none' (default: the source document's "
        "four models and the early Gemini 3 previews, as today's Gemini)",
    )
    p.add_argument("--thoughts-ratio", type=float, default=1.0, help="thinking models' thought tokens per answer token")
    p.add_argument(
        "--batch-delay", type=float, default=2.0, help="seconds until a Batch API job ends (Google: up to 24 h)"
    )
    p.add_argument("--latency-ms", type=float, default=0.0, help="the same simulated thinking time for every model")
    p.add_argument(
        "--latency",
        help="per-model thinking time, e.g. 'gemini-3.1-pro-preview=lognormal:15s:0.5,gemini-3.8-flash=3s,*=1s' "
        "(wins over --latency-ms)",
    )
    p.set_defaults(func=cmd_emulator)
    p = sub.add_parser("quota", help="current usage against each model's limits, from the shared ledger")
    p.add_argument("--quotas")
    p.add_argument("--json", action="store_true", help="one JSON document (see the README's fields)")
    p.set_defaults(func=cmd_quota)
    p = sub.add_parser("models", help="check the chain models against what the Gemini key can use")
    p.add_argument("--quotas")
    p.add_argument("--batch", action="store_true", help="also require batchGenerateContent (batch mode)")
    p.add_argument("--reset", nargs="+", metavar="MODEL", help="clear a model's unavailable mark first")
    p.set_defaults(func=cmd_models)
    p = sub.add_parser("batch", help="redo or skip one batch of an upload")
    p.add_argument("action", choices=["redo", "skip"])
    p.add_argument("upload_id", type=int)
    p.add_argument("batch_key")
    p.add_argument("--reason", help="why (required for skip); recorded on the batch")
    p.set_defaults(func=cmd_admin)
    for name, text in (("pause", "pause model work"), ("resume", "resume model work")):
        p = sub.add_parser(name, help=f"{text} for one upload or --all")
        p.add_argument("upload_id", nargs="?", type=int)
        p.add_argument("--all", action="store_true")
        p.set_defaults(func=cmd_admin)
    p = sub.add_parser("approve", help="publish the staged records of an upload in review (runs it)")
    p.add_argument("upload_id", type=int)
    p.add_argument("--reason", help="recorded in the upload's history")
    p.add_argument("--verbose", action="store_true", help="show Dagster's own DEBUG log of the run")
    p.set_defaults(func=cmd_approve)
    p = sub.add_parser("discard", help="drop the staged records of an upload in review: nothing is published")
    p.add_argument("upload_id", type=int)
    p.add_argument("--reason", help="recorded in the upload's history")
    p.set_defaults(func=cmd_admin)
    p = sub.add_parser(
        "revert",
        help="undo an upload's changes to the records: restore the values it changed, remove what only it added",
    )
    p.add_argument("upload_id", type=int)
    p.add_argument("--reason", help="why; recorded in the upload's history")
    p.set_defaults(func=cmd_admin)
    p = sub.add_parser(
        "cancel", help="cancel an upload: stop its runs, cancel its unfinished batches, tell the uploader"
    )
    p.add_argument("upload_id", type=int)
    p.add_argument("--reason")
    p.set_defaults(func=cmd_admin)
    p = sub.add_parser("serve", help="the HTTP API and the upload page for Elevra's admin app (docs/api.md)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("api-token", help="the API's stored bearer tokens: add NAME --role admin|viewer, revoke, list")
    p.add_argument("action", choices=["add", "revoke", "list"])
    p.add_argument("name", nargs="?")
    p.add_argument("--role", choices=["admin", "viewer"], default="viewer")
    p.set_defaults(func=cmd_api_token)
    p = sub.add_parser(
        "bench",
        help="benchmarks: `bench quota` (the quota engine), `bench intake` (reading uploads), `bench pipeline`, "
        "`bench api` (concurrent GET /uploads at a served instance), `bench drop` (a dropped file to its run)",
    )
    p.add_argument("what", choices=["quota", "intake", "pipeline", "api", "drop"])
    p.add_argument("--drops", type=int, default=5, help="drop: files dropped into a running daemon's folder")
    p.add_argument("--gap", type=float, default=17.0, help="drop: seconds between two drops")
    p.add_argument("--processes", type=int, default=4)
    p.add_argument(
        "--seconds", type=float, help="quota: load phase length (default 42 s, 7 windows); --ledger-only: 5 s per run"
    )
    p.add_argument("--ledger-only", action="store_true", help="quota: reservations per second, no model calls")
    p.add_argument(
        "--invisible-consumer",
        type=float,
        metavar="SHARE",
        help="quota: another consumer takes this share of the quota behind our back (adaptive limits)",
    )
    p.add_argument("--callers", default="1,8,32", help="--ledger-only: callers per process, one run each")
    p.add_argument("--threads", type=int, default=4, help="callers per process")
    p.add_argument("--quotas", help="quotas file (default: the scaled-minute bench file)")
    p.add_argument(
        "--ledger", choices=["sqlite", "postgres"], default="sqlite", help="the database (the ledger's, or api's)"
    )
    p.add_argument("--requests", type=int, default=200, help="api: requests sent at once")
    p.add_argument("--uploads", type=int, default=120, help="api: uploads in the database")
    p.add_argument("--compare", metavar="FILE", help="api: the output of an earlier run, for the ratio to it")
    p.add_argument("--latency-ms", type=float, default=50.0, help="the emulator's simulated model latency")
    p.add_argument("--batches", default="200,1000", help="pipeline: upload sizes in election batches, one run each")
    p.add_argument(
        "--concurrent",
        default="2x200",
        help="pipeline: also uploads at once, COUNTxSIZE (e.g. 4x250; a bare SIZE is two of them; 0: no)",
    )
    p.add_argument(
        "--through",
        choices=["process", "daemon"],
        default="process",
        help="pipeline: each upload by its own `process`, or all dropped in the upload folder of a dagster-daemon "
        "on PostgreSQL (implies --ledger postgres)",
    )
    p.add_argument("--time-scale", type=float, default=1.0, help="pipeline: window and answer times divided by this")
    p.add_argument(
        "--profile",
        metavar="DIR",
        help="pipeline (--through process): run each upload's process under cProfile, statistics in DIR/<upload>.prof",
    )
    p.add_argument("--latency", help="pipeline: per-model answer times (default: Pro 10-30 s, Flash 2-5 s)")
    p.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    p.add_argument(
        "--hostile", action="store_true", help="intake: small files built to take gigabytes, each in its own process"
    )
    p.add_argument(
        "--corpus",
        metavar="DIR",
        help="intake: score every real list of DIR against its expected-values script (fixtures/real/CORPUS.md)",
    )
    p.add_argument(
        "--memory-cap-mb", type=int, default=3072, help="--hostile: address space each reading process may take"
    )
    p.set_defaults(func=cmd_bench)
    for command in sub.choices.values():  # every command: a configuration problem is one line without it
        try:
            command.add_argument("--verbose", action="store_true", help="show the traceback of an error")
        except argparse.ArgumentError:
            pass  # the command has its own --verbose (it also shows Dagster's DEBUG log)
    return parser


def _quiet_pipe() -> None:
    """`status | head` ends quietly: the default SIGPIPE action, not a BrokenPipeError traceback."""
    import signal

    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    """A setting that cannot be used, an unreachable database or a missing bucket ends the command with
    one line naming the setting to check (config_problems); `--verbose` shows the traceback instead."""
    from elevra_pipeline.config_problems import configuration_problem
    from elevra_pipeline.exceptions import QuotaConfigError
    from elevra_pipeline.settings import SettingsError

    args = build_parser().parse_args(argv)
    if argv is None:  # the command itself, not a test calling main()
        _quiet_pipe()
    try:
        return args.func(args)
    except (SettingsError, QuotaConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception as e:
        line = configuration_problem(e)
        if line is None or args.verbose:
            raise
        print(f"error: {line} (--verbose shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
