"""The upload bucket on S3-compatible object storage (AWS S3, MinIO, Cloudflare R2, a local server).

What is new is decided against a map of every key seen with its ETag, kept as the sensor's cursor and
pruned to the keys still listed: a deleted key never breaks the listing (a `since_key` watermark
would: listing resumes after a key that no longer exists), a key uploaded again with new content is
seen again (its content hash then decides whether it is a new upload), and listings of any length
are read page by page (1,000 keys per page). S3 objects appear only once completely written, so
unlike the local folder nothing needs to settle. Sidecars are objects too: `<key>.json`.
"""

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

SKIPPED_SUFFIXES = (".json", ".part", ".tmp")


@dataclass(frozen=True)
class BucketUrl:
    bucket: str
    prefix: str  # "" or ending with "/"

    @classmethod
    def parse(cls, url: str) -> "BucketUrl":
        """`s3://bucket` or `s3://bucket/some/prefix`; a ValueError names what is wrong."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"{url!r} is not an s3://bucket/prefix URL")
        prefix = parsed.path.strip("/")
        return cls(parsed.netloc, f"{prefix}/" if prefix else "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class BucketObject:
    key: str
    etag: str
    size: int

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name


def is_upload_key(key: str, skip_prefix: str | None = None) -> bool:
    """An object that may be an upload: not a folder marker, a sidecar, a partial or hidden file, nor a result."""
    name = PurePosixPath(key).name
    return bool(
        name
        and not key.endswith("/")
        and not name.startswith((".", "~$"))
        and not name.endswith(SKIPPED_SUFFIXES)
        and not (skip_prefix and key.startswith(skip_prefix))
    )


class ObjectBucket:
    def __init__(self, client, url: BucketUrl, results: BucketUrl | None = None):
        """`client`: a boto3 S3 client (the Dagster layer gets it from dagster-aws's S3Resource)."""
        self.client, self.url, self.results = client, url, results

    def list_new(self, seen: dict[str, str]) -> tuple[list[BucketObject], dict[str, str]]:
        """Objects not in `seen` (key -> ETag) or changed since, and the map of every upload key listed now."""
        skip = self.results.prefix if self.results and self.results.bucket == self.url.bucket else None
        listed: dict[str, str] = {}
        new: list[BucketObject] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.url.bucket, Prefix=self.url.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                key, etag = item["Key"], item["ETag"].strip('"')
                if not is_upload_key(key, skip):
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
