"""Where things live and which services to talk to, read from the environment at call time."""

import os
import re
from dataclasses import dataclass
from pathlib import Path


def data_dir() -> Path:
    """The local data folder (git-ignored): `ELEVRA_DATA_DIR`, default `data/` in the current directory.
    Never inside the installed package: a pip-installed copy must not write into site-packages."""
    return Path(os.environ.get("ELEVRA_DATA_DIR") or Path.cwd() / "data").resolve()


def database_label(url: str) -> str:
    """A folder name for one database (host, port, database, schema): one local outbox each."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", url.split("://", 1)[-1].split("@")[-1]).strip("-")[:80] or "database"


@dataclass(frozen=True)
class Settings:
    database_url: str
    upload_dir: Path
    workbook_dir: Path
    archive_dir: Path
    outbox_dir: Path
    elevra_base_url: str
    team_email: str

    @classmethod
    def from_env(cls) -> "Settings":
        base = data_dir()
        default_db = f"sqlite:///{base / 'elevra.db'}"
        database_url = os.environ.get("ELEVRA_DATABASE_URL") or default_db
        outbox = base / "outbox" if database_url == default_db else base / "outbox" / database_label(database_url)
        return cls(
            database_url=database_url,
            upload_dir=Path(os.environ.get("ELEVRA_UPLOAD_DIR") or base / "uploads"),
            workbook_dir=Path(os.environ.get("ELEVRA_WORKBOOK_DIR") or base / "workbooks"),
            archive_dir=Path(os.environ.get("ELEVRA_ARCHIVE_DIR") or base / "archive"),
            outbox_dir=Path(os.environ.get("ELEVRA_OUTBOX_DIR") or outbox),
            elevra_base_url=os.environ.get("ELEVRA_BASE_URL", "https://www.elevracommunity.com").rstrip("/"),
            team_email=os.environ.get("ELEVRA_TEAM_EMAIL", "team@elevracommunity.com"),
        )


def intake_limits():
    """File, cell and row limits for uploads (`ELEVRA_INTAKE_MAX_FILE_MB`, `..._MAX_ROWS`, `..._MAX_CELLS`)."""
    from elevra_pipeline.intake.limits import IntakeLimits
    defaults = IntakeLimits()
    mb = os.environ.get("ELEVRA_INTAKE_MAX_FILE_MB")
    return IntakeLimits(
        max_file_bytes=int(float(mb) * 1024 * 1024) if mb else defaults.max_file_bytes,
        max_uncompressed_bytes=defaults.max_uncompressed_bytes,
        max_rows=int(os.environ.get("ELEVRA_INTAKE_MAX_ROWS") or defaults.max_rows),
        max_columns=defaults.max_columns,
        max_cells=int(os.environ.get("ELEVRA_INTAKE_MAX_CELLS") or defaults.max_cells))
