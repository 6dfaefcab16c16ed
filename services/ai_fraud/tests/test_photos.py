"""Photos: a photo reused from another customer's claim with a changed size and JPEG quality is
found as a duplicate and counts in the score; an unrelated photo is not; EXIF editing software is
flagged; a non-image and a decompression bomb are refused."""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from PIL import Image

from ai_fraud.photos.hashing import BKTree, HashIndex, hamming

from .conftest import Api


def _photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like picture: smooth random shapes (perceptual hashes need structure, not noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    canvas = np.zeros((size[1], size[0], 3))
    for _ in range(12):
        cx, cy, r = rng.uniform(0, size[0]), rng.uniform(0, size[1]), rng.uniform(30, 200)
        colour = rng.uniform(0, 255, 3)
        canvas += np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None] * colour
    return Image.fromarray(np.clip(canvas, 0, 255).astype("uint8"))


def _jpeg(image: Image.Image, quality: int, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif or Image.Exif())
    return out.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header announces a huge image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


async def _claim(api: Api) -> str:
    customer = await api.customer()
    policy = await api.policy(customer, start=date(2024, 1, 1), policy_type="auto")
    return str(
        await api.claim(
            customer, policy, claim_type="collision", incident=datetime(2026, 4, 1, 12, tzinfo=UTC)
        )
    )


async def _upload(api: Api, claim: str, body: bytes, expect: int = 201) -> dict[str, Any]:
    response = await api.call(
        "POST",
        f"/claims/{claim}/photos",
        content=body,
        headers={**api.auth(), "Content-Type": "image/jpeg"},
        expect=expect,
    )
    return dict(response.json())


async def test_a_photo_reused_with_another_size_and_quality_is_a_duplicate(api: Api) -> None:
    original, unrelated = _photo(1), _photo(2)
    first, second, third = await _claim(api), await _claim(api), await _claim(api)
    await _upload(api, first, _jpeg(original, 95))
    reused = _jpeg(original.resize((512, 384)), 55)
    found = await _upload(api, second, reused)
    duplicates = [f for f in found["findings"] if f["kind"] == "duplicate"]
    assert [d["claim_id"] for d in duplicates] == [first]
    assert duplicates[0]["phash_distance"] <= 8 and duplicates[0]["same_customer"] is False
    other = await _upload(api, third, _jpeg(unrelated, 90))
    assert [f for f in other["findings"] if f["kind"] in ("duplicate", "review")] == []

    scored = await api.score(uuid.UUID(second), language="en")
    photo = [p for p in scored["parts"] if p["code"] == "photo_duplicate"]
    assert photo and photo[0]["points"] == 50.0 and "another claim" in photo[0]["reason"]


async def test_editing_software_in_the_exif_is_flagged(api: Api) -> None:
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 25.0"
    exif[0x0132] = "2026:04:01 10:00:00"
    found = await _upload(api, await _claim(api), _jpeg(_photo(3), 90, exif))
    assert {"kind": "exif", "code": "edited"} in found["findings"]


async def test_not_an_image_and_a_decompression_bomb_are_refused(api: Api) -> None:
    claim = await _claim(api)
    text = await api.call(
        "POST",
        f"/claims/{claim}/photos",
        content=b"%PDF-1.7 not a photo",
        headers={**api.auth(), "Content-Type": "image/jpeg"},
        expect=422,
    )
    assert text.headers["content-type"] == "application/problem+json" and "not a JPEG or PNG" in text.text
    bomb = await api.call(
        "POST",
        f"/claims/{claim}/photos",
        content=_bomb_png(60_000, 60_000),
        headers={**api.auth(), "Content-Type": "image/png"},
        expect=422,
    )
    assert "pixels" in bomb.text or "bomb" in bomb.text
    assert (await api.call("GET", f"/claims/{claim}/photos", expect=200)).json() == []


def test_the_bk_tree_finds_every_hash_within_the_radius() -> None:
    rng = np.random.default_rng(4)
    values = [int(v) for v in rng.integers(0, 2**63, 2000, dtype=np.int64)]
    tree = BKTree()
    for i, v in enumerate(values):
        tree.add(v, i)
    probe = values[7] ^ 0b1011  # 3 bits away from one stored hash
    found = {i for _, i in tree.search(probe, 12)}
    assert found == {i for i, v in enumerate(values) if hamming(v, probe) <= 12}
    assert 7 in found


def test_the_hash_index_finds_exactly_the_hashes_within_the_radius() -> None:
    rng = np.random.default_rng(5)
    values = [int(v) for v in rng.integers(0, 2**63, 3000, dtype=np.int64)] + [2**64 - 1, 0]
    index = HashIndex()
    for i, v in enumerate(values):
        index.add(v, i)
    for probe in (values[11] ^ 0b1011, 2**64 - 2, int(rng.integers(0, 2**63))):
        found = sorted(index.search(probe, 12))
        assert found == sorted(
            (hamming(v, probe), i) for i, v in enumerate(values) if hamming(v, probe) <= 12
        )
    assert (3, 11) in index.search(values[11] ^ 0b1011, 12)
