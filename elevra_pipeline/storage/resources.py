"""The app database as a Dagster resource: SQLite file by default, PostgreSQL by URL."""

import dagster as dg

from elevra_pipeline.settings import Settings
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.repository import Repository


class DatabaseResource(dg.ConfigurableResource):
    """`url` empty means `ELEVRA_DATABASE_URL`, else `sqlite:///<data>/elevra.db`."""
    url: str | None = None

    def resolved_url(self) -> str:
        return self.url or Settings.from_env().database_url

    def repository(self) -> Repository:
        return Repository(migrated_engine(self.resolved_url()))
