"""Where the pipeline keeps the files a later step needs: an upload's stored copy, its result workbooks,
the archive of expired uploads. A local folder by default; object storage when `ELEVRA_STORAGE_URL` is
`s3://bucket/prefix`, so that each process of a cluster (the sensor, a run's pod, the e-mail sensor) can do
its part with an empty disk.

A file is known by its *ref*, the text the database keeps: a local path, or `s3://bucket/key`. Reading
goes by the ref, whatever the store writes to now, so files written before object storage was set stay
readable where they are."""

import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from elevra_pipeline.settings import BucketUrl, Settings

S3 = "s3://"


def is_object_ref(ref: str) -> bool:
    return ref.startswith(S3)


def ref_name(ref: str) -> str:
    """The file's own name (an e-mail attachment's), whatever the store."""
    return PurePosixPath(ref.removeprefix(S3)).name if is_object_ref(ref) else Path(ref).name


def _split(ref: str) -> tuple[str, str]:
    bucket, _, key = ref.removeprefix(S3).partition("/")
    return bucket, key


ARCHIVE = "archive"  # each upload's stored copy: archive/<partition>/<file name>
WORKBOOKS = "workbooks"  # result workbooks: workbooks/<partition>.xlsx
EXPIRED = "archive/expired"  # what retention removed, one JSON-lines file per run


class FileStore:
    """`folders`: the local folder of each area (ARCHIVE, WORKBOOKS), the embedded default; `url` and
    `client` (a boto3 S3 client, or a function that makes one when first needed): object storage, which
    then receives every new file, under `<prefix><area>/`."""

    def __init__(self, folders: Mapping[str, Path | str], url: BucketUrl | None = None, client: Any = None):
        self.folders = {area: Path(folder) for area, folder in folders.items()}
        self.url = url
        self._client = client

    @property
    def shared(self) -> bool:
        """True when files live in object storage, seen alike by every process."""
        return self.url is not None

    @property
    def client(self):
        if isinstance(self._client, Callable):
            self._client = self._client()
        if self._client is None:
            raise RuntimeError("object storage is not configured here (set ELEVRA_STORAGE_URL)")
        return self._client

    def where(self, area: str, name: str) -> str:
        """The ref of the file `name` (a relative POSIX path) of `area`."""
        if self.url is not None:
            return f"{S3}{self.url.bucket}/{self.url.prefix}{area}/{name}"
        if area == EXPIRED:
            return str(self.folders[ARCHIVE] / "expired" / name)
        return str(self.folders[area] / name)

    @contextmanager
    def writing_folder(self, area: str) -> Iterator[Path]:
        """Where to write a file before `put`ting it in `area`: the area's own folder when files stay
        local (the put is then no copy), else a scratch folder removed afterwards."""
        if self.url is None:
            folder = Path(self.where(area, "-")).parent
            folder.mkdir(parents=True, exist_ok=True)
            yield folder
            return
        with tempfile.TemporaryDirectory(prefix="elevra-") as scratch:
            yield Path(scratch)

    def put(self, area: str, name: str, source: Path) -> str:
        """Store the file `source` as `name` in `area`; its ref."""
        ref = self.where(area, name)
        if is_object_ref(ref):
            self.client.upload_file(str(source), *_split(ref))
        elif Path(ref) != Path(source):
            Path(ref).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, ref)
        return ref

    def put_bytes(self, area: str, name: str, data: bytes) -> str:
        ref = self.where(area, name)
        if is_object_ref(ref):
            bucket, object_key = _split(ref)
            self.client.put_object(Bucket=bucket, Key=object_key, Body=data)
        else:
            Path(ref).parent.mkdir(parents=True, exist_ok=True)
            Path(ref).write_bytes(data)
        return ref

    def exists(self, ref: str | None) -> bool:
        if not ref:
            return False
        if not is_object_ref(ref):
            return Path(ref).is_file()
        bucket, key = _split(ref)
        try:
            self.client.head_object(Bucket=bucket, Key=key)
        except self.client.exceptions.ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def size(self, ref: str) -> int:
        if not is_object_ref(ref):
            return Path(ref).stat().st_size
        bucket, key = _split(ref)
        return int(self.client.head_object(Bucket=bucket, Key=key)["ContentLength"])

    def read_bytes(self, ref: str) -> bytes:
        """The file's bytes; FileNotFoundError when it is gone."""
        if not is_object_ref(ref):
            return Path(ref).read_bytes()
        bucket, key = _split(ref)
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(ref) from None

    @contextmanager
    def local_path(self, ref: str) -> Iterator[Path]:
        """A path to read the file from: the file itself when local, else a scratch download (under the
        system's temporary folder, under the file's own name) removed afterwards."""
        if not is_object_ref(ref):
            yield Path(ref)
            return
        with tempfile.TemporaryDirectory(prefix="elevra-") as folder:
            path = Path(folder) / ref_name(ref)
            bucket, key = _split(ref)
            try:
                self.client.download_file(bucket, key, str(path))
            except self.client.exceptions.ClientError as e:
                if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                    raise FileNotFoundError(ref) from None
                raise
            yield path

    def delete(self, ref: str | None) -> bool:
        """Remove the file; False when there was none."""
        if not ref or not self.exists(ref):
            return False
        if is_object_ref(ref):
            bucket, key = _split(ref)
            self.client.delete_object(Bucket=bucket, Key=key)
        else:
            Path(ref).unlink(missing_ok=True)
        return True


def open_file_store(
    archive_dir: Path | str,
    workbook_dir: Path | str,
    storage_url: str | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> FileStore:
    """The store the settings describe; its S3 client (boto3's, credentials from the environment or the
    instance role) is made when first needed."""
    folders = {ARCHIVE: Path(archive_dir), WORKBOOKS: Path(workbook_dir)}
    if not storage_url:
        return FileStore(folders)

    def client():
        import boto3

        return boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)

    return FileStore(folders, BucketUrl.parse(storage_url), client)


def file_store(settings: Settings) -> FileStore:
    """Where stored uploads, workbooks and the retention archive go, as the settings say."""
    return open_file_store(
        settings.archive_dir, settings.workbook_dir, settings.storage_url, settings.s3_endpoint_url, settings.s3_region
    )
