"""The object storage port: the same behaviour from the local directory and from S3.

The S3 backend talks to moto's S3-compatible server started on 127.0.0.1 for the session; every
behaviour test runs against both backends.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Header
from moto.server import ThreadedMotoServer

from aintech_shared.errors import install_error_handlers
from aintech_shared.objectstore import (
    InvalidObjectKey,
    LocalObjectStore,
    ObjectNotFound,
    ObjectStore,
    ObjectStoreSettings,
    close_store,
    object_store,
    parse_range,
    range_response,
)
from aintech_shared.settings import ServiceSettings


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


_bucket_counter = iter(range(1_000_000))


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    if request.param == "local":
        settings = ObjectStoreSettings(backend="local", root=tmp_path / "objects")
        yield object_store(settings)
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    settings = ObjectStoreSettings(
        backend="s3",
        bucket=f"test-{next(_bucket_counter)}",
        endpoint_url=endpoint,
        region="eu-west-1",
        access_key="test",
        secret_key="test",  # pydantic makes it a SecretStr
    )
    s3_store = object_store(settings)
    client = await s3_store._s3()  # type: ignore[attr-defined]
    await client.create_bucket(
        Bucket=settings.bucket, CreateBucketConfiguration={"LocationConstraint": settings.region}
    )
    try:
        yield s3_store
    finally:
        await close_store(s3_store)


async def _collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def _stream(data: bytes, size: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


PAYLOAD = os.urandom(200_000)


async def test_put_records_size_digest_and_type_and_stat_reads_them_back(store: ObjectStore) -> None:
    stored = await store.put("claims/c1/photo.jpg", PAYLOAD, content_type="image/jpeg")
    assert stored.size == len(PAYLOAD)
    assert stored.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert stored.content_type == "image/jpeg"
    assert await store.stat("claims/c1/photo.jpg") == stored
    assert await _collect(store.read("claims/c1/photo.jpg")) == PAYLOAD


async def test_a_streamed_put_digests_while_streaming_and_equals_a_bytes_put(store: ObjectStore) -> None:
    stored = await store.put("s/streamed.bin", _stream(PAYLOAD, 7_777), content_type="application/pdf")
    assert stored.size == len(PAYLOAD)
    assert stored.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert await _collect(store.read("s/streamed.bin")) == PAYLOAD


async def test_a_stream_larger_than_one_upload_part_is_stored_whole(store: ObjectStore) -> None:
    big = os.urandom(9 * 1024 * 1024 + 123)  # past the S3 backend's 8 MiB part: a multipart upload
    stored = await store.put("big/object.bin", _stream(big, 1024 * 1024), content_type="video/mp4")
    assert stored.sha256 == hashlib.sha256(big).hexdigest()
    assert await store.stat("big/object.bin") == stored
    assert await _collect(store.read("big/object.bin", 9 * 1024 * 1024)) == big[9 * 1024 * 1024 :]


async def test_read_of_a_byte_range_is_end_inclusive(store: ObjectStore) -> None:
    await store.put("r/x.bin", PAYLOAD, content_type="application/octet-stream")
    assert await _collect(store.read("r/x.bin", 10, 19)) == PAYLOAD[10:20]
    assert await _collect(store.read("r/x.bin", 199_990)) == PAYLOAD[199_990:]
    assert await _collect(store.read("r/x.bin", 0, 0)) == PAYLOAD[:1]
    assert await _collect(store.read("r/x.bin", 199_000, 10_000_000)) == PAYLOAD[199_000:]


async def test_an_empty_object_is_stored_and_read(store: ObjectStore) -> None:
    stored = await store.put("e/empty", b"", content_type="text/plain")
    assert stored.size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert await store.stat("e/empty") == stored
    assert await _collect(store.read("e/empty")) == b""


async def test_put_replaces_an_object_whole(store: ObjectStore) -> None:
    await store.put("k/doc", b"first version", content_type="text/plain")
    second = await store.put("k/doc", b"second", content_type="application/pdf")
    assert await store.stat("k/doc") == second
    assert await _collect(store.read("k/doc")) == b"second"


async def test_a_missing_key_has_no_stat_and_reading_it_is_not_found(store: ObjectStore) -> None:
    assert await store.stat("nothing/here") is None
    with pytest.raises(ObjectNotFound):
        await _collect(store.read("nothing/here"))


async def test_delete_removes_and_is_idempotent(store: ObjectStore) -> None:
    await store.put("d/gone", b"bytes", content_type="text/plain")
    await store.delete("d/gone")
    assert await store.stat("d/gone") is None
    await store.delete("d/gone")  # a second delete is not an error
    await store.delete("d/never-existed")


@pytest.mark.parametrize(
    "key",
    [
        "../escape",
        "a/../../etc/passwd",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "trailing/",
        "",
        "back\\slash",
        "nul\x00byte",
        "spaces are not allowed",
        "ünïcode",
        "a/..hidden/b",
        "x" * 1025,
    ],
)
async def test_unsafe_keys_are_refused_before_any_io(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        await store.put(key, b"x", content_type="text/plain")
    with pytest.raises(InvalidObjectKey):
        await store.stat(key)
    with pytest.raises(InvalidObjectKey):
        await _collect(store.read(key))
    with pytest.raises(InvalidObjectKey):
        await store.delete(key)


async def test_a_put_that_fails_midway_leaves_no_object(store: ObjectStore, tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"half of the "
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put("f/half", broken(), content_type="text/plain")
    assert await store.stat("f/half") is None
    if isinstance(store, LocalObjectStore):
        assert [p.name for p in (tmp_path / "objects" / "f").iterdir()] == []  # no temporary left


async def test_a_crash_before_the_rename_leaves_no_visible_object(tmp_path: Path) -> None:
    """A temporary file left by a killed writer (written, never renamed) is not an object."""
    store = LocalObjectStore(tmp_path)
    await store.put("c/keep", b"kept", content_type="text/plain")
    # What a writer killed between write and rename leaves: a hidden temporary beside the key.
    (tmp_path / "c" / ".doc.deadbeef.part").write_bytes(b"half written")
    assert await store.stat("c/doc") is None
    # And a file cut short (no complete footer) is not mistaken for an object either.
    (tmp_path / "c" / "torn").write_bytes(b"torn without its footer")
    assert await store.stat("c/torn") is None
    assert (await store.stat("c/keep")) is not None


async def test_local_keys_cannot_escape_the_root_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    store = LocalObjectStore(root)
    with pytest.raises(InvalidObjectKey):
        await store.put("link/planted", b"x", content_type="text/plain")
    assert list(outside.iterdir()) == []


def test_service_settings_describe_the_shared_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINTECH_OBJECT_STORE_BACKEND", "s3")
    monkeypatch.setenv("AINTECH_OBJECT_STORE_BUCKET", "claims-prod")
    monkeypatch.setenv("AINTECH_OBJECT_STORE_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("AINTECH_OBJECT_STORE_SECRET_KEY", "s3cr3t")
    settings = ServiceSettings().object_store
    assert settings.backend == "s3"
    assert settings.bucket == "claims-prod"
    assert settings.endpoint_url == "http://127.0.0.1:9000"
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(settings)


# -- range parsing and the download response ---------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=90-", 100, (90, 99)),
        ("bytes=-10", 100, (90, 99)),
        ("bytes=-500", 100, (0, 99)),
        ("bytes=50-5000", 100, (50, 99)),
        ("bytes=100-", 100, "unsatisfiable"),
        ("bytes=-0", 100, "unsatisfiable"),
        ("bytes=0-", 0, "unsatisfiable"),
        ("bytes=9-3", 100, None),  # invalid: ignored
        ("bytes=0-1,5-6", 100, None),  # several ranges: served whole
        ("items=0-9", 100, None),
        ("bytes=-", 100, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: object) -> None:
    assert parse_range(header, size) == expected


@pytest.fixture
async def download_client(store: ObjectStore) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/files/{name}")
    async def download(name: str, range: str | None = Header(default=None)) -> object:
        obj = await store.stat(f"dl/{name}")
        assert obj is not None
        return range_response(store, obj, range, filename="informe pericial €.pdf")

    await store.put("dl/doc", PAYLOAD, content_type="application/pdf")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client


async def test_range_response_serves_the_whole_object(download_client: httpx.AsyncClient) -> None:
    response = await download_client.get("/files/doc")
    assert response.status_code == 200
    assert response.content == PAYLOAD
    assert response.headers["content-length"] == str(len(PAYLOAD))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["etag"] == f'"{hashlib.sha256(PAYLOAD).hexdigest()}"'
    assert "filename*=UTF-8''informe%20pericial%20%E2%82%AC.pdf" in response.headers["content-disposition"]
    assert response.headers["content-disposition"].startswith("attachment;")


async def test_range_response_serves_one_byte_range_as_206(download_client: httpx.AsyncClient) -> None:
    response = await download_client.get("/files/doc", headers={"Range": "bytes=1000-1999"})
    assert response.status_code == 206
    assert response.content == PAYLOAD[1000:2000]
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(PAYLOAD)}"
    assert response.headers["content-length"] == "1000"

    tail = await download_client.get("/files/doc", headers={"Range": "bytes=-16"})
    assert tail.status_code == 206
    assert tail.content == PAYLOAD[-16:]


async def test_an_unsatisfiable_range_is_416_problem(download_client: httpx.AsyncClient) -> None:
    response = await download_client.get("/files/doc", headers={"Range": f"bytes={len(PAYLOAD)}-"})
    assert response.status_code == 416
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-range"] == f"bytes */{len(PAYLOAD)}"
    assert str(len(PAYLOAD)) in response.json()["detail"]
