"""The upload bucket on S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, a local server).

What is new is decided against a map of every key seen with its ETag, kept as the sensor's cursor and
pruned to the keys still listed: a deleted key never breaks the listing (a `since_key` watermark
would: listing resumes after a key that no longer exists), a key uploaded again with new content is
seen again (its content hash then decides whether it is a new upload), and listings of any length
are read page by page (1,000 keys per page). S3 objects appear only once completely written, so
unlike the local folder nothing needs to settle. Sidecars are objects too: `<key>.json`. Objects
under `<prefix>processed/` are files put away after their upload finished: never listed again.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from elevra_pipeline.settings import STORED_FILES, BucketUrl  # noqa: F401  (the s3:// URL every bucket setting takes)

SKIPPED_SUFFIXES = (".json", ".part", ".tmp")
PROCESSED = "processed/"  # where finished uploads' files go with ELEVRA_PROCESSED_FILES=move


@dataclass(frozen=True)
class BucketObject:
    key: str
    etag: str
    size: int

    @property
    def name(self) -> str:
        """The object's file name, shortened to fit a file system (`local_name`)."""
        return local_name(PurePosixPath(self.key).name, self.key)


MAX_NAME_BYTES = 200  # file systems allow 255 bytes per name; the sidecar adds ".json"


def local_name(name: str, key: str) -> str:
    """`name` when it fits; else its start and its extension with a digest of the whole key between,
    so two long keys never share a name: an S3 key may be 1,024 bytes, a file name 255."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    path = PurePosixPath(name)
    suffix = path.suffix if len(path.suffix.encode()) <= 16 else ""
    tag = f"-{hashlib.sha1(key.encode()).hexdigest()[:8]}{suffix}"
    stem = name[: len(name) - len(suffix)].encode()[: MAX_NAME_BYTES - len(tag.encode())]
    return stem.decode(errors="ignore") + tag


def is_upload_key(key: str, *skip_prefixes: str | None) -> bool:
    """An object that may be an upload: not a folder marker, a sidecar, a partial or hidden file, a result
    nor a processed file."""
    name = PurePosixPath(key).name
    return bool(
        name
        and not key.endswith("/")
        and not name.startswith((".", "~$"))
        and not name.endswith(SKIPPED_SUFFIXES)
        and not any(prefix and key.startswith(prefix) for prefix in skip_prefixes)
    )


class ObjectBucket:
    def __init__(self, client, url: BucketUrl, results: BucketUrl | None = None, stored: BucketUrl | None = None):
        """`client`: a boto3 S3 client (the Dagster layer gets it from dagster-aws's S3Resource); `results`
        and `stored` (the pipeline's own files): prefixes never listed as uploads when in this bucket."""
        self.client, self.url, self.results = client, url, results
        own = [u.prefix for u in (results, stored) if u is not None and u.bucket == url.bucket]
        self.skipped = (*own, url.prefix + PROCESSED, url.prefix + STORED_FILES)

    def list_new(self, seen: dict[str, str]) -> tuple[list[BucketObject], dict[str, str]]:
        """Objects not in `seen` (key -> ETag) or changed since, and the map of every upload key listed now."""
        listed: dict[str, str] = {}
        new: list[BucketObject] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.url.bucket, Prefix=self.url.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                key, etag = item["Key"], item["ETag"].strip('"')
                if not is_upload_key(key, *self.skipped):
                    continue
                listed[key] = etag
                if seen.get(key) != etag:
                    new.append(BucketObject(key, etag, item["Size"]))
        return new, listed

    def fetch(self, item: BucketObject, folder: Path) -> Path:
        """Download the object (and its sidecar, if any) into `folder`, under the object's own name."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / item.name
        self.client.download_file(self.url.bucket, item.key, str(path))
        try:
            sidecar = self.client.get_object(Bucket=self.url.bucket, Key=f"{item.key}.json")
        except self.client.exceptions.NoSuchKey:
            return path
        (folder / f"{item.name}.json").write_bytes(sidecar["Body"].read())
        return path

    def put_result(self, path: Path) -> str:
        """Upload a result workbook under the results prefix; its s3:// URL."""
        key = f"{self.results.prefix}{path.name}"
        self.client.upload_file(str(path), self.results.bucket, key)
        return f"s3://{self.results.bucket}/{key}"

    def version(self, key: str) -> str | None:
        """The object's ETag now (None: gone): the same ETag as when it was registered, the same bytes."""
        try:
            return self.client.head_object(Bucket=self.url.bucket, Key=key)["ETag"].strip('"')
        except self.client.exceptions.ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey"):
                return None
            raise

    def put_away(self, key: str, how: str, folder: str) -> str:
        """Delete the object and its sidecar (`how="delete"`), or move both under
        `<prefix>processed/<folder>/` (`"move"`); what became of the object."""
        bucket, moved_to = self.url.bucket, f"{self.url.prefix}{PROCESSED}{folder}/{PurePosixPath(key).name}"
        for source, target in ((key, moved_to), (f"{key}.json", f"{moved_to}.json")):
            if source != key and self.version(source) is None:
                continue  # no sidecar
            if how == "move":
                self.client.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source})
            self.client.delete_object(Bucket=bucket, Key=source)
        return f"moved to s3://{bucket}/{moved_to}" if how == "move" else "deleted"
