"""Claim documents: uploaded files recognised by content, stored with their digest, downloaded by
range, seen only by who may see the claim, and announced as `claim.document_added`."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

from PIL import Image

from aintech_contracts.events.crm import ClaimDocumentAdded

from .conftest import Api


def _jpeg(seed: int = 1) -> bytes:
    image = Image.new("RGB", (64, 48), (seed * 40 % 255, 90, 160))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" + os.urandom(3000)


async def _claim(api: Api, *, customer: dict[str, Any] | None = None) -> dict[str, Any]:
    customer = customer or await api.customer()
    policy = await api.policy(customer["id"])
    body = {
        "policy_id": policy["id"],
        "claim_type": "water_damage",
        "incident_date": "2026-03-10T10:00:00+01:00",
        "description": "Fuga de agua en el baño.",
        "claimed_amount": "1850.00",
    }
    return dict((await api.call("POST", "/claims", json=body, expect=201)).json())


async def _upload(
    api: Api, claim_id: str, name: str, data: bytes, *, declared: str = "application/octet-stream", **kw: Any
) -> Any:
    return await api.call(
        "POST", f"/claims/{claim_id}/documents", files={"file": (name, data, declared)}, **kw
    )


async def test_a_customer_uploads_a_photo_to_their_claim_and_it_is_recorded_and_announced(api: Api) -> None:
    customer = await api.customer()
    me = await api.customer_login(customer["id"])
    claim = await _claim(api, customer=customer)
    photo = _jpeg()
    created = (
        await api.call(
            "POST",
            f"/claims/{claim['id']}/documents",
            files={"file": ("techo.jpg", photo, "image/jpeg")},
            data={"document_type": "photo"},
            headers=me,
            expect=201,
        )
    ).json()
    assert created["content_type"] == "image/jpeg"
    assert created["sha256"] == hashlib.sha256(photo).hexdigest()
    assert created["size"] == len(photo)
    assert created["name"] == "techo.jpg" and created["document_type"] == "photo"
    assert created["url"] is None

    [event] = await api.events("claim.document_added", key=claim["id"])
    data = ClaimDocumentAdded.model_validate(event["data"])
    assert str(data.document_id) == created["id"]
    assert data.sha256 == created["sha256"] and data.size == len(photo)
    assert data.content_type == "image/jpeg"
    assert data.object_key == f"claims/{claim['id']}/{created['id']}"
    assert str(data.customer_id) == customer["id"]

    # The bytes are in the object store under the announced key, whole.
    stored = await api.app.state.runtime.objects.stat(data.object_key)
    assert stored is not None and stored.sha256 == created["sha256"]

    listed = (await api.call("GET", f"/claims/{claim['id']}/documents", headers=me, expect=200)).json()
    assert [d["id"] for d in listed] == [created["id"]]


async def test_the_type_is_recognised_by_content_not_by_name_or_declared_type(api: Api) -> None:
    claim = await _claim(api)
    png = (
        await _upload(api, claim["id"], "informe.pdf", _png(), declared="application/pdf", expect=201)
    ).json()
    assert png["content_type"] == "image/png"
    pdf = (await _upload(api, claim["id"], "parte", PDF, declared="image/jpeg", expect=201)).json()
    assert pdf["content_type"] == "application/pdf"

    refused = await _upload(
        api, claim["id"], "foto.jpg", b"MZ\x90\x00 not a picture", declared="image/jpeg", expect=422
    )
    assert "JPEG, PNG and PDF" in refused.json()["detail"]
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + os.urandom(64)
    refused = await _upload(api, claim["id"], "IMG_0001.HEIC", heic, declared="image/heic", expect=422)
    assert "HEIC" in refused.json()["detail"]
    await _upload(api, claim["id"], "vacio.jpg", b"", expect=422)
    listed = (await api.call("GET", f"/claims/{claim['id']}/documents", expect=200)).json()
    assert sorted(d["content_type"] for d in listed) == ["application/pdf", "image/png"]
    assert len(await api.events("claim.document_added", key=claim["id"])) == 2


async def test_a_file_over_the_limit_is_413_and_nothing_is_recorded(api: Api) -> None:
    claim = await _claim(api)
    limit = api.app.state.runtime.settings.document_max_bytes
    too_big = b"%PDF-1.4\n" + b"0" * limit
    await _upload(api, claim["id"], "grande.pdf", too_big, expect=413)
    assert (await api.call("GET", f"/claims/{claim['id']}/documents", expect=200)).json() == []
    assert await api.events("claim.document_added", key=claim["id"]) == []


async def test_download_whole_and_by_range(api: Api) -> None:
    claim = await _claim(api)
    doc = (await _upload(api, claim["id"], "parte amistoso.pdf", PDF, expect=201)).json()
    url = f"/claims/{claim['id']}/documents/{doc['id']}/content"

    whole = await api.call("GET", url, expect=200)
    assert whole.content == PDF
    assert whole.headers["content-type"] == "application/pdf"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["etag"] == f'"{hashlib.sha256(PDF).hexdigest()}"'
    assert "parte%20amistoso.pdf" in whole.headers["content-disposition"]

    part = await api.call("GET", url, headers={**api.agent, "Range": "bytes=100-199"}, expect=206)
    assert part.content == PDF[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(PDF)}"

    past = await api.call("GET", url, headers={**api.agent, "Range": f"bytes={len(PDF)}-"}, expect=416)
    assert past.headers["content-range"] == f"bytes */{len(PDF)}"


async def test_a_customer_cannot_list_upload_or_download_another_customers_claim_files(api: Api) -> None:
    mine, theirs = await api.customer(), await api.customer()
    me = await api.customer_login(mine["id"])
    my_claim = await _claim(api, customer=mine)
    their_claim = await _claim(api, customer=theirs)
    their_doc = (await _upload(api, their_claim["id"], "suya.jpg", _jpeg(2), expect=201)).json()

    await api.call("GET", f"/claims/{their_claim['id']}/documents", headers=me, expect=404)
    await api.call(
        "GET", f"/claims/{their_claim['id']}/documents/{their_doc['id']}/content", headers=me, expect=404
    )
    # Their document's id under my own claim's path finds nothing either.
    await api.call(
        "GET", f"/claims/{my_claim['id']}/documents/{their_doc['id']}/content", headers=me, expect=404
    )
    await _upload(api, their_claim["id"], "intruso.jpg", _jpeg(3), headers=me, expect=404)
    assert len(await api.events("claim.document_added", key=their_claim["id"])) == 1
    # Staff with claims:read see every claim's files.
    await api.call("GET", f"/claims/{their_claim['id']}/documents/{their_doc['id']}/content", expect=200)


async def test_a_path_in_the_file_name_never_reaches_the_storage_key(api: Api) -> None:
    claim = await _claim(api)
    doc = (await _upload(api, claim["id"], "../../../etc/cron.d/x.jpg", _jpeg(), expect=201)).json()
    assert doc["name"] == "x.jpg"
    [event] = await api.events("claim.document_added", key=claim["id"])
    assert event["data"]["object_key"] == f"claims/{claim['id']}/{doc['id']}"


async def test_a_closed_claim_takes_no_more_documents(api: Api) -> None:
    claim = await _claim(api)
    url = f"/claims/{claim['id']}"
    await api.call("POST", f"{url}/investigate", expect=200)
    await api.call(
        "POST", f"{url}/deny", json={"reason": "Sin cobertura"}, headers=api.supervisor, expect=200
    )
    await _upload(api, claim["id"], "tarde.jpg", _jpeg(), expect=409)
