"""The object storage port: claim documents, call recordings, reports.

One interface, two backends: a local directory (the default, what ``make run`` uses) and S3 (or
any S3-compatible server) in production. Services build a store with :func:`object_store` from
:class:`ObjectStoreSettings` (``ServiceSettings.object_store``) and serve downloads with
:func:`range_response` (whole object, one byte range, or 416).

Guarantees, whichever the backend:

* keys are validated (a safe charset, no ``..``, no absolute path, no empty segment) before any
  I/O — :class:`InvalidObjectKey` otherwise;
* ``put`` streams: size and SHA-256 are computed while the bytes pass, never by reading the whole
  object into memory (the S3 backend switches to a multipart upload past one part);
* an object is there whole or not at all: the local backend writes a temporary file in the same
  directory, fsyncs it and renames it over the key (a crash leaves no half object; a stray
  temporary file is never visible as an object); S3 gives the same by its own semantics;
* ``read(key, start, end)`` is a byte range with ``end`` inclusive, as HTTP's ``Range``;
* ``delete`` is idempotent.

The local layout keeps an object's metadata (size, SHA-256, content type) in a small footer of
the same file, so the one rename publishes data and metadata together.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import struct
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import quote

from fastapi import Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, SecretStr

from aintech_shared.errors import NotFound, problem

CHUNK = 64 * 1024
MAX_KEY_LENGTH = 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]*$")


class InvalidObjectKey(ValueError):
    """A key outside the safe form: ``segment/segment/...`` of ``[A-Za-z0-9._=-]``, no ``..``."""


class ObjectNotFound(NotFound):
    """``read`` of a key that holds no object (answered 404 by the shared handler)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str  # hex digest of the whole object
    content_type: str


class ObjectStore(Protocol):
    async def put(
        self, key: str, data: bytes | AsyncIterator[bytes], *, content_type: str
    ) -> StoredObject: ...

    async def stat(self, key: str) -> StoredObject | None: ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The object's bytes ``start..end`` (``end`` inclusive; None: to the end)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing one is not an error."""
        ...


class ObjectStoreSettings(BaseModel):
    """Where objects live. ``local``: files under ``root``; ``s3``: ``bucket`` at ``endpoint_url``."""

    backend: Literal["local", "s3"] = "local"
    root: Path = Field(default=Path(".local/objects"), description="Directory of the local backend.")
    bucket: str = "aintech"
    endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (None: AWS's own for the region)."
    )
    region: str = "eu-west-1"
    access_key: str | None = None
    secret_key: SecretStr | None = None


def validate_key(key: str) -> str:
    """``key`` when it is a safe relative object key; :class:`InvalidObjectKey` otherwise."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidObjectKey(f"object key must be 1-{MAX_KEY_LENGTH} characters")
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidObjectKey("object key must be a relative path")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or ".." in segment or not _SEGMENT.match(segment):
            raise InvalidObjectKey(
                f"object key segment {segment!r} is not allowed (letters, digits, . _ = -; no '..')"
            )
    return key


def _check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range {start}-{end}")


async def _chunks(data: bytes | AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for offset in range(0, len(view), CHUNK):
            yield bytes(view[offset : offset + CHUNK])
        return
    async for chunk in data:
        if chunk:
            yield bytes(chunk)


# --------------------------------------------------------------------------------------------
# Local directory
# --------------------------------------------------------------------------------------------

# Footer: <metadata JSON><4-byte big-endian JSON length><magic>.
_MAGIC = b"AOBJ1\n"
_TRAILER = struct.Struct(">I")
_TRAILER_SIZE = _TRAILER.size + len(_MAGIC)
_TMP_SUFFIX = ".part"


class LocalObjectStore:
    """Objects as files under ``root`` (key = relative path); metadata in each file's footer."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidObjectKey("object key leaves the store's root")
        return path

    async def put(self, key: str, data: bytes | AsyncIterator[bytes], *, content_type: str) -> StoredObject:
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{_TMP_SUFFIX}")
        digest, size = hashlib.sha256(), 0
        handle: Any = await asyncio.to_thread(open, tmp, "xb")
        try:
            async for chunk in _chunks(data):
                digest.update(chunk)
                size += len(chunk)
                await asyncio.to_thread(handle.write, chunk)
            obj = StoredObject(key=key, size=size, sha256=digest.hexdigest(), content_type=content_type)
            meta = json.dumps(
                {"size": obj.size, "sha256": obj.sha256, "content_type": obj.content_type}
            ).encode()
            await asyncio.to_thread(_finish, handle, meta + _TRAILER.pack(len(meta)) + _MAGIC)
            handle = None
            await asyncio.to_thread(_publish, tmp, path)
        except BaseException:
            if handle is not None:
                await asyncio.to_thread(handle.close)
            await asyncio.to_thread(tmp.unlink, missing_ok=True)
            raise
        return obj

    async def stat(self, key: str) -> StoredObject | None:
        return await asyncio.to_thread(self._stat, key, self._path(key))

    @staticmethod
    def _stat(key: str, path: Path) -> StoredObject | None:
        try:
            with open(path, "rb") as handle:
                return _footer(key, handle)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        _check_range(start, end)
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no object {key!r}") from None
        try:
            obj = await asyncio.to_thread(_footer, key, handle)
            if obj is None:
                raise ObjectNotFound(f"no object {key!r}")
            last = obj.size - 1 if end is None else min(end, obj.size - 1)
            await asyncio.to_thread(handle.seek, start)
            remaining = last - start + 1
            while remaining > 0:
                chunk = await asyncio.to_thread(handle.read, min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(IsADirectoryError):
            await asyncio.to_thread(path.unlink, missing_ok=True)


def _finish(handle: Any, footer: bytes) -> None:
    with handle:
        handle.write(footer)
        handle.flush()
        os.fsync(handle.fileno())


def _publish(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


def _footer(key: str, handle: Any) -> StoredObject | None:
    total = os.fstat(handle.fileno()).st_size
    if total < _TRAILER_SIZE:
        return None
    handle.seek(total - _TRAILER_SIZE)
    trailer = handle.read(_TRAILER_SIZE)
    if trailer[_TRAILER.size :] != _MAGIC:
        return None
    (meta_len,) = _TRAILER.unpack(trailer[: _TRAILER.size])
    if meta_len > total - _TRAILER_SIZE:
        return None
    handle.seek(total - _TRAILER_SIZE - meta_len)
    meta = json.loads(handle.read(meta_len))
    if meta["size"] != total - _TRAILER_SIZE - meta_len:
        return None
    return StoredObject(
        key=key, size=int(meta["size"]), sha256=str(meta["sha256"]), content_type=str(meta["content_type"])
    )


# --------------------------------------------------------------------------------------------
# S3 (aiobotocore)
# --------------------------------------------------------------------------------------------

_PART = 8 * 1024 * 1024  # S3 parts are at least 5 MiB (but the last)
_SHA_META = "sha256"


class S3ObjectStore:
    """Objects in one bucket; the SHA-256 travels as the object's ``x-amz-meta-sha256``.

    One client per store, opened on first use; ``aclose`` closes it (the app's lifespan).
    """

    def __init__(self, settings: ObjectStoreSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._stack = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    from aiobotocore.config import AioConfig
                    from aiobotocore.session import get_session

                    s = self.settings
                    self._client = await self._stack.enter_async_context(
                        get_session().create_client(
                            "s3",
                            region_name=s.region,
                            endpoint_url=s.endpoint_url,
                            aws_access_key_id=s.access_key,
                            aws_secret_access_key=s.secret_key.get_secret_value() if s.secret_key else None,
                            config=AioConfig(
                                s3={"addressing_style": "path"},
                                retries={"max_attempts": 3, "mode": "standard"},
                            ),
                        )
                    )
        return self._client

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._client = None

    async def put(self, key: str, data: bytes | AsyncIterator[bytes], *, content_type: str) -> StoredObject:
        validate_key(key)
        s3, bucket = await self._s3(), self.settings.bucket
        digest, size = hashlib.sha256(), 0
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []

        async def flush_part() -> None:
            nonlocal upload_id
            if upload_id is None:
                created = await s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)
                upload_id = created["UploadId"]
            number = len(parts) + 1
            sent = await s3.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=bytes(buffer)
            )
            parts.append({"ETag": sent["ETag"], "PartNumber": number})
            buffer.clear()

        try:
            async for chunk in _chunks(data):
                digest.update(chunk)
                size += len(chunk)
                buffer += chunk
                if len(buffer) >= _PART:
                    await flush_part()
            sha = digest.hexdigest()
            if upload_id is None:
                await s3.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=bytes(buffer),
                    ContentType=content_type,
                    Metadata={_SHA_META: sha},
                )
            else:
                if buffer:
                    await flush_part()
                await s3.complete_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
                # The digest is known only now: stamp it on the object (a server-side copy).
                await s3.copy_object(
                    Bucket=bucket,
                    Key=key,
                    CopySource={"Bucket": bucket, "Key": key},
                    ContentType=content_type,
                    Metadata={_SHA_META: sha},
                    MetadataDirective="REPLACE",
                )
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    await s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise
        return StoredObject(key=key, size=size, sha256=sha, content_type=content_type)

    async def stat(self, key: str) -> StoredObject | None:
        validate_key(key)
        s3 = await self._s3()
        try:
            head = await s3.head_object(Bucket=self.settings.bucket, Key=key)
        except s3.exceptions.ClientError as exc:
            if _missing(exc):
                return None
            raise
        return StoredObject(
            key=key,
            size=int(head["ContentLength"]),
            sha256=str(head.get("Metadata", {}).get(_SHA_META, "")),
            content_type=str(head.get("ContentType", "application/octet-stream")),
        )

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        _check_range(start, end)
        validate_key(key)
        s3 = await self._s3()
        extra = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
        try:
            got = await s3.get_object(Bucket=self.settings.bucket, Key=key, **extra)
        except s3.exceptions.ClientError as exc:
            if _missing(exc):
                raise ObjectNotFound(f"no object {key!r}") from None
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return  # a start past the end: nothing to read (as the local backend)
            raise
        async with got["Body"] as body:
            while chunk := await body.read(CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        validate_key(key)
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.settings.bucket, Key=key)


def _missing(exc: Any) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") in ("404", "NoSuchKey", "NotFound") or status == 404


def object_store(settings: ObjectStoreSettings) -> ObjectStore:
    """The store ``settings`` describe."""
    if settings.backend == "s3":
        return S3ObjectStore(settings)
    return LocalObjectStore(settings.root)


async def close_store(store: ObjectStore) -> None:
    """Release what the store holds (the S3 client); a no-op for the local backend."""
    close: Callable[[], Awaitable[None]] | None = getattr(store, "aclose", None)
    if close is not None:
        await close()


# --------------------------------------------------------------------------------------------
# HTTP downloads
# --------------------------------------------------------------------------------------------

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def parse_range(range_header: str | None, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """The one inclusive byte range ``range_header`` asks of an object of ``size`` bytes.

    None: serve the whole object (no header, a malformed one, or several ranges, which RFC 9110
    lets a server ignore); ``"unsatisfiable"``: answer 416.
    """
    if not range_header:
        return None
    match = _RANGE.match(range_header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid: ignored, as RFC 9110 says
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266 header: an ASCII fallback plus the UTF-8 ``filename*``."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def range_response(
    store: ObjectStore, obj: StoredObject, range_header: str | None, *, filename: str
) -> Response:
    """200 with the whole object, 206 with one byte range, or 416; the body is streamed."""
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{obj.sha256}"',
    }
    wanted = parse_range(range_header, obj.size)
    if wanted == "unsatisfiable":
        return problem(
            416,
            detail=f"The range {range_header!r} lies outside the object's {obj.size} bytes.",
            title="Range not satisfiable",
            headers={"Content-Range": f"bytes */{obj.size}", "Accept-Ranges": "bytes"},
        )
    if wanted is None:
        headers["Content-Length"] = str(obj.size)
        return StreamingResponse(
            store.read(obj.key), status_code=200, media_type=obj.content_type, headers=headers
        )
    start, end = wanted
    headers["Content-Length"] = str(end - start + 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{obj.size}"
    return StreamingResponse(
        store.read(obj.key, start, end), status_code=206, media_type=obj.content_type, headers=headers
    )
