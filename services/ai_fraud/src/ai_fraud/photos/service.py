"""Claim photos: hashed, matched against every other claim's photos, EXIF checked.

The near-duplicate index is a NumPy array of the pHashes of ``fraud.photos`` (``HashIndex``: one
vectorised Hamming-distance pass per lookup), kept per process and
topped up from the table before each lookup (rows committed by other replicas included; a window
of recent sequence numbers is re-read so a row committed late is not missed). A match is a
**duplicate** when pHash differs by at most 8 bits and the dHash cross-check by at most 16, and
**review** when pHash differs by 9 to 12 bits. Findings are stored with the photo and become the
photo part of the claim's next score.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.core.runtime import Runtime
from ai_fraud.photos.hashing import HashIndex, PhotoRefused, exif_findings, fingerprint, hamming, unsigned
from ai_fraud.photos.models import Photo
from ai_fraud.readmodel import service as readmodel
from aintech_shared.errors import NotFound, UnprocessableEntity

DUPLICATE, REVIEW, DHASH_CHECK = 8, 12, 16
LATE_COMMIT_WINDOW = 1000
MAX_BYTES = 15 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png"})


class StoredBytesMismatch(RuntimeError):
    """The object store holds other bytes than the upload announced (a handler failure: dead-lettered)."""


@dataclass
class PhotoIndex:
    tree: HashIndex = field(default_factory=HashIndex)
    known: set[uuid.UUID] = field(default_factory=set)
    last_seq: int = 0


def _index(rt: Runtime) -> PhotoIndex:
    index = rt.caches.get("photos")
    if index is None:
        index = rt.caches["photos"] = PhotoIndex()
    assert isinstance(index, PhotoIndex)
    return index


async def refresh(session: AsyncSession, rt: Runtime) -> PhotoIndex:
    """Add the photos committed since the last look to this process's index."""
    index = _index(rt)
    query = select(Photo.id, Photo.seq, Photo.claim_id, Photo.customer_id, Photo.phash, Photo.dhash).where(
        Photo.seq > index.last_seq - LATE_COMMIT_WINDOW
    )
    for photo_id, seq, claim_id, customer_id, phash, dhash in (await session.execute(query)).all():
        if photo_id in index.known:
            continue
        index.known.add(photo_id)
        index.tree.add(unsigned(phash), (photo_id, claim_id, customer_id, unsigned(dhash)))
        index.last_seq = max(index.last_seq, seq)
    return index


async def add_photo(session: AsyncSession, *, rt: Runtime, claim_id: uuid.UUID, data: bytes) -> Photo:
    """Hash a claim's photo, look for near-duplicates among other claims, check its EXIF."""
    facts = await readmodel.facts_of(session, claim_id=claim_id)
    if facts is None:
        raise NotFound(f"Claim {claim_id} is not known to fraud scoring (yet).")
    try:
        printed = fingerprint(data)
    except PhotoRefused as exc:
        raise UnprocessableEntity(str(exc)) from None
    existing = await session.scalar(
        select(Photo).where(Photo.claim_id == claim_id, Photo.sha256 == printed.sha256)
    )
    if existing is not None:
        return existing
    index = await refresh(session, rt)
    findings: list[dict[str, Any]] = []
    for distance, (photo_id, other_claim, other_customer, other_dhash) in sorted(
        index.tree.search(unsigned(printed.phash), REVIEW), key=lambda m: m[0]
    ):
        if other_claim == claim_id:
            continue
        d_distance = hamming(unsigned(printed.dhash), other_dhash)
        kind = "duplicate" if distance <= DUPLICATE and d_distance <= DHASH_CHECK else "review"
        findings.append(
            {
                "kind": kind,
                "photo_id": str(photo_id),
                "claim_id": str(other_claim),
                "same_customer": other_customer == facts.customer_id,
                "phash_distance": distance,
                "dhash_distance": d_distance,
            }
        )
    for code in exif_findings(printed.exif, incident=facts.incident_date, reported=facts.reported_at):
        findings.append({"kind": "exif", "code": code})
    values = {
        "id": uuid.uuid4(),
        "claim_id": claim_id,
        "customer_id": facts.customer_id,
        "sha256": printed.sha256,
        "content_type": printed.content_type,
        "width": printed.width,
        "height": printed.height,
        "phash": printed.phash,
        "dhash": printed.dhash,
        "exif": printed.exif,
        "findings": findings[:50],
    }
    await session.execute(
        insert(Photo).values(**values).on_conflict_do_nothing(constraint="uq_photos_claim_sha")
    )
    photo = await session.scalar(
        select(Photo).where(Photo.claim_id == claim_id, Photo.sha256 == printed.sha256)
    )
    assert photo is not None
    return photo


async def fetch_stored(rt: Runtime, *, key: str, sha256: str, size: int) -> bytes | None:
    """A claim photo's bytes from the platform's object store, checked against the announced digest.

    None when the file is larger than a photo may be (it is not checked, as an upload would be refused).
    """
    if size > MAX_BYTES:
        return None
    data = bytearray()
    async for chunk in rt.objects.read(key):
        data.extend(chunk)
        if len(data) > MAX_BYTES:
            return None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise StoredBytesMismatch(f"object {key!r} does not match the digest announced at upload")
    return bytes(data)


async def photos_of(session: AsyncSession, *, claim_id: uuid.UUID) -> Sequence[Photo]:
    return (await session.scalars(select(Photo).where(Photo.claim_id == claim_id).order_by(Photo.seq))).all()


def score_parts(photos: Sequence[Photo]) -> list[dict[str, Any]]:
    """The photo part of a score: the strongest finding of the claim's photos."""
    return parts_of_findings([photo.findings for photo in photos])


def parts_of_findings(findings: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """``score_parts`` from the findings of each of the claim's photos (in upload order)."""
    best: dict[str, Any] | None = None
    exif_codes: set[str] = set()
    for photo_findings in findings:
        for f in photo_findings:
            if f["kind"] in ("duplicate", "review") and not f.get("same_customer"):
                points = 50.0 if f["kind"] == "duplicate" else 20.0
                if best is None or points > best["points"]:
                    best = {"points": points, **f}
            elif f["kind"] == "exif":
                exif_codes.add(f["code"])
    parts = []
    if best is not None:
        duplicate = best["kind"] == "duplicate"
        parts.append(
            {
                "kind": "photo",
                "code": "photo_duplicate" if duplicate else "photo_similar",
                "points": best["points"],
                "reason_es": ("Foto casi idéntica" if duplicate else "Foto parecida")
                + " a la de otro siniestro",
                "reason_en": ("Photo nearly identical" if duplicate else "Photo similar")
                + " to another claim's",
                "evidence": {k: v for k, v in best.items() if k != "points"},
            }
        )
    weights = {
        "edited": 15.0,
        "taken_after_report": 15.0,
        "taken_long_before_incident": 15.0,
        "exif_missing": 3.0,
    }
    texts = {
        "edited": ("Foto editada con software de retoque", "Photo edited with retouching software"),
        "taken_after_report": (
            "Foto tomada después de comunicar el siniestro",
            "Photo taken after the claim was reported",
        ),
        "taken_long_before_incident": (
            "Foto tomada mucho antes del siniestro",
            "Photo taken long before the incident",
        ),
        "exif_missing": (
            "Foto sin metadatos EXIF (indicio débil)",
            "Photo without EXIF metadata (weak evidence)",
        ),
    }
    for code in sorted(exif_codes):
        es, en = texts[code]
        parts.append(
            {
                "kind": "photo",
                "code": f"exif_{code}",
                "points": weights[code],
                "reason_es": es,
                "reason_en": en,
                "evidence": {},
            }
        )
    return parts
