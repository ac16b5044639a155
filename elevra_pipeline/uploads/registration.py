"""Register an uploaded file exactly once (by content hash), shared by the sensor and the CLI."""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.batching import partition_key_for
from elevra_pipeline.intake.options import parse_options
from elevra_pipeline.intake.reader import SUPPORTED_SUFFIXES, unsupported_reason
from elevra_pipeline.storage.batch_rules import UploadStatus
from elevra_pipeline.storage.files import ARCHIVE, FileStore
from elevra_pipeline.storage.models import Upload
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.revision import revision_entry, settings_changes


@dataclass
class Registration:
    upload: Upload
    is_new: bool
    changes: dict = field(default_factory=dict)  # a revision: the settings the same file came back with

    @property
    def rejected(self) -> bool:
        return self.upload.status == UploadStatus.REJECTED

    @property
    def revised(self) -> bool:
        return bool(self.changes)

    @property
    def duplicate(self) -> bool:
        """The same file with nothing new: ignored."""
        return not self.is_new and not self.changes


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sidecar(path: Path) -> tuple[dict, str | None]:
    """`<file>.json` beside the upload (uploader_email, election_date, jurisdiction, state, columns, debug...),
    and what was wrong with it when it could not be read: an unreadable sidecar is reported, not ignored."""
    side = path.with_name(path.name + ".json")
    if not side.exists():
        return {}, None
    try:
        data = json.loads(side.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as e:
        return {}, f"the sidecar '{side.name}' is not valid JSON ({e}); its settings were not applied"
    if not isinstance(data, dict):
        return {}, f'the sidecar \'{side.name}\' must hold a JSON object like {{"uploader_email": "..."}}'
    return data, None


def sidecar_email(side: dict) -> str | None:
    """The sidecar's uploader address when it is text at all (a list or a number is not one)."""
    value = side.get("uploader_email")
    return " ".join(value.split()) or None if isinstance(value, str) else None


def register_file(
    repo: Repository,
    path: Path,
    files: FileStore,
    uploader_email: str | None = None,
    keep_raw_file: bool = False,
    options: dict | None = None,
    given_by: str = "command line",
) -> Registration:
    """`options` (from the command line, or `given_by` another way in: the API) win over the sidecar's;
    both are stored on the upload.

    Options given on the command line are checked before anything is stored: a mistyped one raises
    `UnusableUploadError` and registers nothing. A file already known comes back as a revision when
    its settings changed (see `revision`), else as a duplicate."""
    options = {k: v for k, v in (options or {}).items() if v is not None}
    parse_options(options)  # raises on a typo: nothing is registered
    content_hash = file_hash(path)
    side, side_error = sidecar(path)
    existing = repo.find_upload_by_hash(content_hash)
    if existing is not None:
        return _revise(repo, existing, path, side, options, side_error, files, given_by)
    key = partition_key_for(path.name, content_hash)
    stored = files.put(ARCHIVE, f"{key}/{path.name}", path)
    status, reason = UploadStatus.QUEUED, None
    try:
        parsed = parse_options(side, {"uploader_email": uploader_email, "debug": keep_raw_file or None}, options)
    except UnusableUploadError as e:
        parsed, status, reason = (
            parse_options({"uploader_email": uploader_email or sidecar_email(side)}),
            UploadStatus.REJECTED,
            str(e),
        )
    parsed.sidecar_error = "; ".join(p for p in (side_error, parsed.sidecar_error) if p) or None
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        status = UploadStatus.REJECTED
        reason = unsupported_reason(path.name)
    elif path.stat().st_size == 0:
        status, reason = UploadStatus.REJECTED, f"'{path.name}' is empty (0 bytes): there is nothing to read"
    upload = repo.add_upload(
        partition_key=key,
        content_hash=content_hash,
        original_filename=path.name,
        stored_path=stored,
        uploader_email=parsed.uploader_email,
        status=status,
        failure_reason=reason,
        keep_raw_file=parsed.debug,
        options_json=parsed.model_dump(mode="json"),
    )
    return Registration(upload, is_new=True)


def _revise(
    repo: Repository,
    upload: Upload,
    path: Path,
    side: dict,
    options: dict,
    side_error: str | None,
    files: FileStore,
    given_by: str = "command line",
) -> Registration:
    """The same file again: a revision when it brings settings that differ (or a corrected sidecar for
    an upload its sidecar got rejected), else a duplicate. A revision stores the file again (it was
    purged when the upload completed) and queues the upload; its history lists what changed."""
    if upload.status == UploadStatus.CANCELLED or path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return Registration(upload, is_new=False)
    earlier = {k: v for k, v in (upload.options_json or {}).items() if k != "sidecar_error"}
    try:
        parsed = parse_options(earlier, side, options)
    except UnusableUploadError:
        return Registration(upload, is_new=False)  # the sidecar still has the same mistake
    parsed.sidecar_error = "; ".join(p for p in (side_error, parsed.sidecar_error) if p) or None
    rejected = upload.status == UploadStatus.REJECTED  # for its settings: its file type is supported
    changes = settings_changes({} if rejected else earlier, {*side, *options}, parsed)
    if rejected and not changes and not side_error:
        changes = {"settings": "corrected"}
    if not changes:
        return Registration(upload, is_new=False)
    stored = upload.stored_path
    if not files.exists(stored):
        stored = files.put(ARCHIVE, f"{upload.partition_key}/{path.name}", path)
    history = list((upload.summary_json or {}).get("revisions", []))
    history.append(revision_entry(len(history) + 2, changes, given_by if options else "sidecar"))
    repo.update_upload(
        upload.id,
        status=UploadStatus.QUEUED,
        failure_reason=None,
        stored_path=stored,
        uploader_email=upload.uploader_email or parsed.uploader_email,
        options_json={
            **parsed.model_dump(mode="json"),
            "uploader_email": upload.uploader_email or parsed.uploader_email,
        },
    )
    repo.merge_summary(upload.id, revisions=history)
    return Registration(repo.get_upload_by_id(upload.id), is_new=False, changes=changes)


def register_unreadable(repo: Repository, name: str, where: str, version: str, reason: str) -> Registration:
    """An object the bucket lists but that could not be read, even after retries: an upload rejected with
    the reason, so it has a status, a partition and an e-mail like any other (once per object version)."""
    content_hash = hashlib.sha256(f"unreadable\0{where}\0{version}".encode()).hexdigest()
    if (existing := repo.find_upload_by_hash(content_hash)) is not None:
        return Registration(existing, is_new=False)
    upload = repo.add_upload(
        partition_key=partition_key_for(name, content_hash),
        content_hash=content_hash,
        original_filename=name[:255],
        stored_path=None,
        status=UploadStatus.REJECTED,
        failure_reason=f"'{where}' could not be read from the upload bucket: {reason}"[:2000]
        + ". Upload the file again (under a new name if this repeats); the team has been told.",
        options_json=parse_options().model_dump(mode="json"),
    )
    return Registration(upload, is_new=True)
