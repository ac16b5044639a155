"""Receiving an upload: the multipart body is read as it streams in, refused the moment it passes the
size limit for one upload, and the file written to a staging folder under its own name, from which
it is registered like any other upload (then the staging copy goes)."""

import shutil
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePath

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from elevra_pipeline.intake.options import UploadOptions

FORM_ALLOWANCE = 1024 * 1024  # the other parts (settings) and the multipart framing around the file
SETTINGS_FIELDS = tuple(name for name in UploadOptions.model_fields if name != "sidecar_error")
_fields = UploadOptions.model_json_schema()["properties"]
UPLOAD_BODY = {  # the multipart body, as the OpenAPI document describes it
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": ".xlsx, .csv, .tsv or .txt"},
                        **{
                            name: {"type": "string", "title": _fields[name].get("title", name)}
                            for name in SETTINGS_FIELDS
                        },
                    },
                }
            }
        },
    }
}


class ReceiveError(Exception):
    """What is wrong with the request, said to the client; nothing was registered."""

    def __init__(self, status_code: int, reason: str):
        super().__init__(reason)
        self.status_code, self.reason = status_code, reason


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"


def too_large(limit: int, name: str = "the file") -> ReceiveError:
    return ReceiveError(
        413, f"{name} is above the {_megabytes(limit)} limit for one upload: split it into several files"
    )


async def _limited(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit + FORM_ALLOWANCE:
            raise too_large(limit)
        yield chunk


@dataclass
class Received:
    path: Path  # the file, under its own name, in a folder of its own
    settings: dict  # the sidecar's fields that were given

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


MAX_NAME = 120  # characters of a file name kept (the suffix with them); the database holds 255
MAX_NAME_BYTES = 200  # and its bytes (UTF-8): a file system takes 255


def safe_name(filename: str | None) -> str:
    """The file's own name, safe to write and to show: without any folder a browser or a client put
    before it, without NUL or other control characters, at most MAX_NAME characters (its suffix kept)."""
    printable = "".join(c for c in (filename or "") if unicodedata.category(c)[0] != "C")
    name = PurePath(printable.replace("\\", "/")).name.strip()
    if len(name) > MAX_NAME or len(name.encode()) > MAX_NAME_BYTES:
        stem, dot, suffix = name.rpartition(".")
        suffix = f".{suffix}" if dot and stem and len(suffix) <= 10 else ""
        stem = name[: len(name) - len(suffix)][: MAX_NAME - len(suffix)]
        while len((stem + suffix).encode()) > MAX_NAME_BYTES:
            stem = stem[:-1]
        name = stem.rstrip() + suffix
    return name if name.strip(".") else "upload"


async def receive_upload(request: Request, staging: Path, limit: int) -> Received:
    """The part named `file` and the sidecar's fields (empty ones left out); ReceiveError otherwise."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ReceiveError(415, "send the upload as multipart/form-data, the file in a part named 'file'")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_ALLOWANCE:
        raise too_large(limit)
    parser = MultiPartParser(request.headers, _limited(request.stream(), limit), max_files=1, max_fields=40)
    try:
        form = await parser.parse()
    except MultiPartException as e:
        raise ReceiveError(400, f"the multipart body cannot be read: {e}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ReceiveError(422, "no file: send it in a multipart part named 'file'")
        unknown = sorted(set(form.keys()) - {"file", *SETTINGS_FIELDS})
        if unknown:
            raise ReceiveError(
                422, f"unknown field(s) {', '.join(unknown)}: the settings are {', '.join(SETTINGS_FIELDS)}"
            )
        name = safe_name(upload.filename)
        if upload.size is not None and upload.size > limit:
            raise too_large(limit, f"'{name}'")
        settings = {k: v.strip() for k, v in form.items() if k != "file" and isinstance(v, str) and v.strip()}
        if controlled := sorted(k for k, v in settings.items() if any(unicodedata.category(c) == "Cc" for c in v)):
            raise ReceiveError(422, f"{', '.join(controlled)}: a setting holds no NUL or other control character")
        folder = staging / uuid.uuid4().hex
        folder.mkdir(parents=True)
        received = Received(folder / name, settings)
        try:
            with received.path.open("wb") as out:
                await upload.seek(0)
                shutil.copyfileobj(upload.file, out, 1 << 20)
        except BaseException:  # nothing is left behind by a file that could not be written
            received.discard()
            raise
        return received
    finally:
        await form.close()
