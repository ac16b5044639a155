"""Register an uploaded file exactly once (by content hash), shared by the sensor and the CLI."""

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from elevra_pipeline.intake.batching import partition_key_for
from elevra_pipeline.intake.reader import SUPPORTED_SUFFIXES
from elevra_pipeline.storage.models import Upload
from elevra_pipeline.storage.repository import Repository


@dataclass
class Registration:
    upload: Upload
    is_new: bool

    @property
    def rejected(self) -> bool:
        return self.upload.status == "rejected"


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sidecar(path: Path) -> dict:
    """`<file>.json` beside the upload: `{"uploader_email": "...", "debug": true}`, both optional."""
    side = path.with_name(path.name + ".json")
    try:
        data = json.loads(side.read_text()) if side.exists() else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def sidecar_email(side: dict) -> str | None:
    value = side.get("uploader_email")
    return str(value).strip() or None if value else None


def register_file(repo: Repository, path: Path, archive_dir: Path, uploader_email: str | None = None,
                  keep_raw_file: bool = False) -> Registration:
    content_hash = file_hash(path)
    existing = repo.find_upload_by_hash(content_hash)
    if existing is not None:
        return Registration(existing, is_new=False)
    key = partition_key_for(path.name, content_hash)
    stored = archive_dir / key / path.name
    stored.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, stored)
    status, reason = "queued", None
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        status = "rejected"
        reason = f"'{path.name}' is not a spreadsheet we can read: upload an .xlsx or .csv file."
    side = sidecar(path)
    upload = repo.add_upload(partition_key=key, content_hash=content_hash, original_filename=path.name,
                             stored_path=str(stored), uploader_email=uploader_email or sidecar_email(side),
                             status=status, failure_reason=reason,
                             keep_raw_file=keep_raw_file or bool(side.get("debug")))
    return Registration(upload, is_new=True)
