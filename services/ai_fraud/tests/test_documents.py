"""`claim.document_added`: a photo uploaded through the CRM is fetched from the shared object store,
checked like any claim photo, and the claim is rescored — a photo reused from another customer's
claim raises the score."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from ai_fraud.consumers import scoring
from ai_fraud.photos.service import StoredBytesMismatch
from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.crm import ClaimDocumentAdded

from .conftest import Api
from .test_photos import _bomb_png, _claim, _jpeg, _photo


async def _store(api: Api, claim: str, data: bytes, content_type: str) -> ClaimDocumentAdded:
    """Put a file in the object store as the CRM's upload does, and the event it would publish."""
    document_id = uuid.uuid4()
    stored = await api.rt.objects.put(f"claims/{claim}/{document_id}", data, content_type=content_type)
    facts = await api.conn.execute(
        text("SELECT customer_id, policy_id FROM fraud.claims WHERE id = :c"),
        {"c": uuid.UUID(claim)},
    )
    customer_id, policy_id = facts.one()
    return ClaimDocumentAdded(
        claim_id=uuid.UUID(claim),
        claim_number=f"CLM-{claim[:8]}",
        customer_id=customer_id,
        policy_id=policy_id,
        document_id=document_id,
        object_key=stored.key,
        sha256=stored.sha256,
        content_type=content_type,
        size=stored.size,
        name="foto.jpg",
    )


async def _deliver(api: Api, data: ClaimDocumentAdded) -> None:
    """Hand the event to the ai-fraud.scoring consumer's handler in a transaction, as the consumer does."""
    handler = scoring(api.rt).handlers["claim.document_added"]
    event = CloudEvent.wrap(
        data,
        type_=data.event_type,
        source="core-crm",
        subject=str(data.claim_id),
        partitionkey=str(data.claim_id),
    )
    async with api.app.state.db.transaction() as session:
        await handler(session, event)


async def _scores(api: Api, claim: str) -> list[dict[str, Any]]:
    return [e for e in await api.outbox("fraud.scored") if e["data"]["claim_id"] == claim]


async def test_a_reused_photo_uploaded_through_the_crm_raises_the_claims_score(api: Api) -> None:
    original = _photo(11)
    first, second = await _claim(api), await _claim(api)
    await _deliver(api, await _store(api, first, _jpeg(original, 95), "image/jpeg"))
    before = await api.score(uuid.UUID(second))

    reused = _jpeg(original.resize((512, 384)), 60)
    await _deliver(api, await _store(api, second, reused, "image/jpeg"))

    [scored] = (await _scores(api, second))[-1:]
    assert scored["data"]["trigger"] == "claim.document_added"
    assert "photo_duplicate" in {p["code"] for p in scored["data"]["parts"]}
    assert scored["data"]["score"] > before["score"]
    photos = (await api.call("GET", f"/claims/{second}/photos", expect=200)).json()
    assert photos[0]["sha256"] == hashlib.sha256(reused).hexdigest()
    assert [f["claim_id"] for f in photos[0]["findings"] if f["kind"] == "duplicate"] == [first]


async def test_a_pdf_rescores_the_claim_without_photo_checks(api: Api) -> None:
    claim = await _claim(api)
    await _deliver(api, await _store(api, claim, b"%PDF-1.7\n%%EOF\n", "application/pdf"))
    [scored] = await _scores(api, claim)
    assert scored["data"]["trigger"] == "claim.document_added"
    assert (await api.call("GET", f"/claims/{claim}/photos", expect=200)).json() == []


async def test_an_image_that_cannot_be_decoded_is_no_finding_but_the_claim_is_rescored(api: Api) -> None:
    claim = await _claim(api)
    await _deliver(api, await _store(api, claim, _bomb_png(60_000, 60_000), "image/png"))
    assert len(await _scores(api, claim)) == 1
    assert (await api.call("GET", f"/claims/{claim}/photos", expect=200)).json() == []


async def test_bytes_that_do_not_match_the_announced_digest_fail_the_handler(api: Api) -> None:
    claim = await _claim(api)
    announced = await _store(api, claim, _jpeg(_photo(12), 90), "image/jpeg")
    # Someone replaced the object after the upload: the digest no longer matches.
    await api.rt.objects.put(announced.object_key, _jpeg(_photo(13), 90), content_type="image/jpeg")
    with pytest.raises(StoredBytesMismatch):
        await _deliver(api, announced)
    assert await _scores(api, claim) == []


async def test_a_document_of_a_claim_fraud_scoring_does_not_know_is_left_alone(api: Api) -> None:
    claim = await _claim(api)
    data = (await _store(api, claim, _jpeg(_photo(14), 90), "image/jpeg")).model_copy(
        update={"claim_id": uuid.uuid4()}
    )
    await _deliver(api, data)
    assert await _scores(api, str(data.claim_id)) == []
