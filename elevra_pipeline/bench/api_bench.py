"""`elevra-pipeline bench api`: 200 concurrent `GET /uploads` at a served instance.

A database of uploads like a busy month's (each with its batches, model attempts and e-mails, a few
still open), `elevra-pipeline serve` on it in a process of its own, as deployed, then every request
sent at once from one client. It prints each request's time (median, 90th percentile, max), the
whole burst's, the same burst's at `/me` (no database: what the machine, the server and the client
cost alone, now), and, given the JSON line an earlier run printed (`--compare`), the ratio to it.
"""

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.models import ElectionBatch, ModelAttempt, Notification, Upload
from elevra_pipeline.storage.repository import Repository

TOKEN = "bench-viewer-token-000000000001"
OPEN = ("queued", "processing", "waiting_for_model")
ENDED = ("completed", "completed", "completed", "completed_with_failures", "failed", "cancelled")


def seed(url: str, uploads: int, batches: int) -> None:
    """`uploads` uploads of `batches` races each: two attempts per race, four e-mails, a summary and an
    intake report of the size real ones have; one in ten still open."""
    repo = Repository(migrated_engine(url))
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with repo.unit_of_work() as s:
        for n in range(uploads):
            status = OPEN[n % 3] if n % 10 == 9 else ENDED[n % len(ENDED)]
            upload = Upload(
                partition_key=f"county-{n:04d}-{n:010x}",
                content_hash=f"{n:064x}",
                original_filename=f"county-{n}.xlsx",
                uploader_email=f"admin{n % 7}@example.org",
                status=status,
                workbook_path=f"/srv/elevra/data/workbooks/county-{n:04d}.xlsx",
                summary_json={
                    "plan": {"mode": "online", "reason": "online: small enough"},
                    "revisions": [],
                    "changes": {"rows": [{"record": f"Candidate {i}", "action": "new"} for i in range(3 * batches)]},
                },
                intake_json={"dropped": [{"sheet": "S", "row": i, "reason": "blank row"} for i in range(200)]},
                created_at=start + timedelta(minutes=n),
            )
            s.add(upload)
            s.flush()
            races = [
                ElectionBatch(
                    upload_id=upload.id,
                    batch_key=f"race-{b}",
                    rows_json=[{"candidate_name": f"Candidate {b}-{r}", "office": "Mayor"} for r in range(3)],
                    row_count=3,
                    status="inserted" if status in ENDED else "pending",
                )
                for b in range(batches)
            ]
            s.add_all(races)
            s.flush()
            s.add_all(
                ModelAttempt(
                    upload_id=upload.id,
                    batch_id=race.id,
                    stage=stage,
                    model="gemini-3.8-flash",
                    attempt_no=1,
                    status="ok",
                    input_tokens=900,
                    output_tokens=300,
                    cost_usd=0.0012,
                )
                for race in races
                for stage in ("analysis", "structure")
            )
            s.add_all(
                Notification(
                    upload_id=upload.id,
                    kind=kind,
                    idempotency_key=f"upload-{upload.id}-{kind}",
                    recipients=["admin@example.org"],
                    subject=kind,
                    text_body="…",
                    html_body="…",
                    status="sent",
                )
                for kind in ("queued", "analysis", "structure", "final")
            )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, data: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "ELEVRA_DATABASE_URL": url,
        "ELEVRA_DATA_DIR": str(data),
        "ELEVRA_API_TOKENS": json.dumps({TOKEN: "viewer"}),
    }
    command = [sys.executable, "-m", "elevra_pipeline.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the served instance did not answer /healthz within 120 s")


async def burst(
    base: str, requests: int, timeout: float, path: str = "/uploads"
) -> tuple[list[float], list[int], float]:
    """Every request sent at once; each one's time from the burst's start to its answer."""
    limits = httpx.Limits(max_connections=requests, max_keepalive_connections=requests)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        await client.get(path, headers=headers)  # one to warm the server (its first query, imports)
        started = time.perf_counter()

        async def one() -> tuple[float, int]:
            answer = await client.get(path, headers=headers)
            return time.perf_counter() - started, answer.status_code

        done = await asyncio.gather(*(one() for _ in range(requests)))
        return [t for t, _ in done], [code for _, code in done], time.perf_counter() - started


@contextmanager
def database(kind: str, folder: Path, postgres_url: str):
    """A fresh app database: a SQLite file, or a schema of its own on the PostgreSQL server (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'elevra.db'}"
        return
    schema = f"elevra_api_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def run(
    requests: int = 200,
    uploads: int = 120,
    batches: int = 20,
    kind: str = "sqlite",
    postgres_url: str = "",
    compare: str | None = None,
    say=print,
) -> dict:
    with (
        tempfile.TemporaryDirectory(prefix="elevra-api-bench-") as folder,
        database(kind, Path(folder), postgres_url) as url,
    ):
        say(f"seeding {uploads} uploads of {batches} races each ({kind})…")
        seed(url, uploads, batches)
        port = _free_port()
        server = serve(url, Path(folder), port)
        try:
            times, codes, wall = asyncio.run(burst(f"http://127.0.0.1:{port}", requests, timeout=300))
            floor, _, _ = asyncio.run(burst(f"http://127.0.0.1:{port}", requests, timeout=300, path="/me"))
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "requests": requests,
        "uploads": uploads,
        "ok": sum(code == 200 for code in codes),
        "median_s": round(statistics.median(times), 3),
        "p90_s": round(sorted(times)[int(0.9 * len(times)) - 1], 3),
        "max_s": round(max(times), 3),
        "wall_s": round(wall, 3),
        "floor_median_s": round(statistics.median(floor), 3),  # the same burst at /me: no database, no page
        "database": kind,
        "cpus": os.cpu_count(),
    }
    say(
        f"{requests} concurrent GET /uploads (page of 20 of {uploads} uploads): {result['ok']} answered 200; "
        f"median {result['median_s']:.3f} s, p90 {result['p90_s']:.3f} s, max {result['max_s']:.3f} s, "
        f"all in {result['wall_s']:.3f} s; the same burst at /me (no database): median {result['floor_median_s']:.3f} s"
    )
    if compare:
        before = json.loads(Path(compare).read_text().strip().splitlines()[-1])
        ratio = {k: round(result[k] / before[k], 3) for k in ("median_s", "max_s") if before[k]}
        result["ratio_to_before"] = ratio
        say(
            f"before ({compare}): median {before['median_s']:.3f} s, max {before['max_s']:.3f} s; now "
            f"{ratio.get('median_s')}x the median, {ratio.get('max_s')}x the max"
        )
    say(json.dumps(result))
    return result
