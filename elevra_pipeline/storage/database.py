"""Engines for the app database, tuned for several processes sharing SQLite or PostgreSQL."""

import sqlite3
import time
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Connections per process to PostgreSQL: 20 worker processes take 80 of its default max_connections
# (100), leaving room for Dagster's own storage. Hundreds of model-call threads share them: each holds
# one only for a short transaction, never across a model call.
POSTGRES_POOL = 4
POOL_TIMEOUT_SECONDS = 300


def dialect_insert(engine: Engine):
    """`insert` with `on_conflict_do_*` for the engine's dialect (PostgreSQL or SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if engine.dialect.name == "postgresql" else sqlite).insert


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _tune_sqlite(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see _begin_sqlite
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _use_wal(cursor, seconds: float = 30.0) -> None:
    """Switch the file to WAL (kept by the file once set). The switch needs the database to itself and
    does not wait in the busy handler: while another process migrates a new file it fails at once with
    "database is locked", so it is tried again for up to `seconds`."""
    deadline = time.monotonic() + seconds
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")  # an in-memory database stays in memory mode
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


READ_ONLY = "elevra_read_only"  # a connection's execution option: its transactions only read


def _begin_sqlite(conn) -> None:
    """`BEGIN IMMEDIATE`: a deferred transaction that reads then writes fails with "database is
    locked" when another process wrote in between; taking the write lock up front makes it wait. A
    transaction that only reads (`READ_ONLY`) needs no lock: it reads beside the others (WAL)."""
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def create_db_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)

        # every transaction takes SQLite's one write lock: more connections would only wait in its busy
        # handler (which sleeps up to 100 ms at a time) instead of in the pool's fair queue
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=1,
            max_overflow=1,
            pool_timeout=POOL_TIMEOUT_SECONDS,
        )
        event.listen(engine, "connect", _tune_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=POSTGRES_POOL, max_overflow=0, pool_timeout=POOL_TIMEOUT_SECONDS
    )


@lru_cache(maxsize=16)
def migrated_engine(url: str) -> Engine:
    """One engine per URL per process, migrated to head the first time it is asked for."""
    engine = create_db_engine(url)
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return engine
