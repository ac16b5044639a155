"""Shared fixtures: the emulator on a real loopback port, and app databases on SQLite and PostgreSQL.

PostgreSQL: `ELEVRA_TEST_POSTGRES_URL` (default 127.0.0.1:5432, database `test`, trust auth). Each test
gets its own schema. Without a server the PostgreSQL cases skip with the reason, except under CI,
where they fail: CI must run them.
"""

import gc
import os
import socket
import urllib.request
import uuid

import boto3
import dagster as dg
import pytest
from dagster._core.storage.defs_state.base import DefsStateStorage, set_defs_state_storage
from moto.server import ThreadedMotoServer
from sqlalchemy import create_engine, text

from elevra_pipeline.defs.resources import DatabaseResource, GeminiResource
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline_tests.layers import layer_of

POSTGRES_URL = os.environ.get("ELEVRA_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
# The tests of the stage e-mails (Queued, Analysis done, Structured output done) use uploads that take
# seconds, which by default hear once, at the end: here every upload gets them (and every process the
# tests start inherits it); test_email_notifications.py checks the default on its own.
os.environ.setdefault("ELEVRA_STAGE_EMAILS_AFTER_MINUTES", "0")


def postgres_unavailable_reason() -> str | None:
    try:
        with create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3}).connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as e:  # any connection failure means: no server here
        return f"PostgreSQL not reachable at {POSTGRES_URL} ({type(e).__name__}); set ELEVRA_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    reason = postgres_unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_base_url):
    schema = f"elevra_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_base_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{postgres_base_url}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'elevra.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'elevra.db'}"


@pytest.fixture
def repo(db_url) -> Repository:
    return Repository(migrated_engine(db_url))


def pytest_collection_modifyitems(config, items):
    """Each test gets its layer's marker: unit, dagster or system (layers.py)."""
    for item in items:
        item.add_marker(layer_of(item))


def pytest_collection_finish(session):
    """What importing the project and the tests left on the heap (some 340,000 objects: Dagster,
    pandas…) is moved out of the collector's sight: the collection after each test (below) then looks
    at that test's objects only, 0.25 s less per test (about two minutes of `make test`)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def no_inherited_dagster_state_storage():
    """An entered Dagster instance sets its state storage in a context variable until it is exited.

    An instance entered and never exited (e.g. by a schedule or sensor context used without `with`)
    resets that variable whenever the garbage collector finalizes it, which may be in the middle of a
    later test, restoring a storage whose instance is gone (Dagster then fails on a dead weakref).
    So each test starts from no storage, its leftovers are finalized before it ends, and a test that
    leaves an instance entered fails here, deterministically, instead of a later test failing at random."""
    with set_defs_state_storage(None):
        yield
        gc.collect()
        assert DefsStateStorage.get() is None, "a Dagster instance or context was entered and never exited"


@pytest.fixture(autouse=True)
def throwaway_instance_for_process(request, monkeypatch):
    """`process` records its runs in the project's Dagster instance (`data/dagster_home`), whose SQLite
    storage costs a second or more to open and a database file per run; a test that does not look at
    that instance runs `process` in an ephemeral one. A test marked `project_instance` keeps the real
    one (and commands run in a subprocess always have it)."""
    if "project_instance" not in request.keywords:
        from elevra_pipeline.defs import processing

        monkeypatch.setattr(processing, "_instance", dg.DagsterInstance.ephemeral)


@pytest.fixture(autouse=True)
def local_data(tmp_path, monkeypatch):
    """Every test writes its uploads, workbooks and outbox under its own temporary folder."""
    monkeypatch.setenv("ELEVRA_DATA_DIR", str(tmp_path / "data"))
    for name in (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "ELEVRA_GEMINI_BASE_URL",
        "GOOGLE_GEMINI_BASE_URL",
        "ELEVRA_GEMINI_PROXY_URL",
        "ELEVRA_DATABASE_URL",
        "RESEND_API_KEY",
        "ELEVRA_QUOTAS_FILE",
        "ELEVRA_UPLOAD_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


@pytest.fixture
def outbox(local_data):
    return local_data / "outbox"


@pytest.fixture(scope="session")
def emulator():
    server = start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def resources(db_url, emulator) -> dict:
    return {
        "database": DatabaseResource(url=db_url),
        "gemini": GeminiResource(base_url=emulator.base_url, database_url=db_url, backoff_base_seconds=0.01),
    }


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def dagster_postgres_url(postgres_base_url):
    """A database of its own for a Dagster instance on PostgreSQL (Dagster keeps its tables in `public`)."""
    name = f"elevra_dagster_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield postgres_base_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)  # the wiring's S3 clients use it
    # moto keeps its buckets per process, not per server: each test starts from an empty store
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
    yield endpoint
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="elevra")
    return client
