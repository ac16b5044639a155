"""Alembic environment: migrates the URL handed in by `database.migrate` (or `sqlalchemy.url`)."""

from alembic import context
from sqlalchemy import create_engine, pool, text

from elevra_pipeline.storage.models import Base

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several run processes may start at once: one migrates, the others wait.
        connection.execute(text("SELECT pg_advisory_xact_lock(734215)"))
    context.configure(
        connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite"
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
