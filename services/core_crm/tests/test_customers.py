"""Customers: CRUD, Spanish validation, search, optimistic locking, object-level access."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from aintech_contracts.rbac import Role

from .conftest import DNIS, IBAN, Api


async def test_create_validates_spanish_data_and_publishes(api: Api) -> None:
    created = await api.customer(
        first_name="José",
        last_name="Muñoz",
        dni="12345678-z",
        mobile="612 345 678",
        iban="ES91 2100 0418 4502 0005 1332",
    )
    assert created["dni"] == "12345678Z"
    assert created["mobile"] == "+34612345678"
    assert created["province"] == "Madrid", "the postal code's province is filled in"
    assert created["iban"] == IBAN
    assert created["segment"] == "new"
    events = await api.events("customer.created", key=created["id"])
    assert len(events) == 1 and events[0]["data"]["mobile"] == "+34612345678"


async def test_invalid_spanish_identifiers_are_field_errors(api: Api) -> None:
    bad = {
        "first_name": "Ana",
        "last_name": "Ruiz",
        "dni": "12345678A",
        "iban": "ES0021000418450200051332",
        "mobile": "12",
        "postal_code": "99001",
    }
    response = await api.call("POST", "/customers", json=bad, expect=422)
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"dni", "iban", "mobile", "postal_code"} <= fields
    mismatch = await api.call(
        "POST",
        "/customers",
        json={"first_name": "A", "last_name": "B", "postal_code": "08001", "province": "Madrid"},
        expect=422,
    )
    assert "Barcelona" in mismatch.text


async def test_nul_bytes_and_overlong_values_are_refused(api: Api) -> None:
    await api.call("POST", "/customers", json={"first_name": "A\x00", "last_name": "B"}, expect=422)
    await api.call("POST", "/customers", json={"first_name": "A" * 101, "last_name": "B"}, expect=422)
    await api.call("GET", "/customers", params={"q": "a\x00b"}, expect=422)


async def test_duplicate_email_and_dni_are_conflicts(api: Api) -> None:
    first = await api.customer(dni=DNIS[1])
    dup_email = await api.call(
        "POST",
        "/customers",
        json={"first_name": "X", "last_name": "Y", "email": first["email"].upper()},
        expect=409,
    )
    assert dup_email.json()["existing_id"] == first["id"]
    await api.call(
        "POST", "/customers", json={"first_name": "X", "last_name": "Y", "dni": DNIS[1]}, expect=409
    )


async def test_update_needs_the_current_etag(api: Api) -> None:
    created = await api.customer()
    url = f"/customers/{created['id']}"
    got = await api.call("GET", url, expect=200)
    etag = got.headers["etag"]
    await api.call("PATCH", url, json={"city": "Madrid"}, expect=428)
    updated = await api.call(
        "PATCH",
        url,
        json={"city": "Madrid", "tags": ["VIP"]},
        headers={**api.agent, "If-Match": etag},
        expect=200,
    )
    assert updated.json()["tags"] == ["vip"] and updated.headers["etag"] != etag
    stale = await api.call(
        "PATCH", url, json={"city": "Toledo"}, headers={**api.agent, "If-Match": etag}, expect=412
    )
    assert stale.headers["content-type"] == "application/problem+json"
    assert (await api.events("customer.updated", key=created["id"]))[0]["data"]["changed_fields"] == [
        "city",
        "tags",
    ]


async def test_search_by_name_ignores_accents_and_case(api: Api) -> None:
    target = await api.customer(first_name="Íñigo", last_name="Muñoz Pérez")
    await api.customer(first_name="Pedro", last_name="García")
    for query in ("munoz", "MUÑOZ", "iñigo mu", "perez"):
        page = (await api.call("GET", "/customers", params={"q": query}, expect=200)).json()
        assert target["id"] in [c["id"] for c in page["items"]], query


async def test_search_by_email_phone_and_dni(api: Api) -> None:
    target = await api.customer(mobile="699111222", dni=DNIS[2])
    for query in (target["email"], "+34 699 11 12 22", "11111111-h"):
        page = (await api.call("GET", "/customers", params={"q": query}, expect=200)).json()
        assert [c["id"] for c in page["items"]] == [target["id"]], query


async def test_cursor_pagination_walks_every_row_once(api: Api) -> None:
    tag = f"t{uuid.uuid4().hex[:8]}"
    ids = {(await api.customer(tags=[tag]))["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"tag": tag, "limit": "2", "sort": "last_name"}
        if cursor:
            params["cursor"] = cursor
        page = (await api.call("GET", "/customers", params=params, expect=200)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    await api.call("GET", "/customers", params={"cursor": "bm90LWEtY3Vyc29y"}, expect=422)


async def test_a_customer_sees_only_their_own_record(api: Api) -> None:
    mine = await api.customer()
    other = await api.customer()
    me = await api.customer_login(mine["id"])
    assert (await api.call("GET", f"/customers/{mine['id']}", headers=me, expect=200)).json()["id"] == mine[
        "id"
    ]
    await api.call("GET", f"/customers/{other['id']}", headers=me, expect=404)
    await api.call("GET", f"/customers/{uuid.uuid4()}", headers=me, expect=404)
    listed = (await api.call("GET", "/customers", headers=me, expect=200)).json()
    assert [c["id"] for c in listed["items"]] == [mine["id"]]
    assert (await api.call("GET", "/customers/me", headers=me, expect=200)).json()["id"] == mine["id"]
    await api.call("POST", "/customers", json={"first_name": "A", "last_name": "B"}, headers=me, expect=403)
    etag = (await api.call("GET", f"/customers/{mine['id']}", headers=me, expect=200)).headers["etag"]
    await api.call(
        "PATCH",
        f"/customers/{mine['id']}",
        json={"segment": "vip"},
        headers={**me, "If-Match": etag},
        expect=403,
    )
    await api.call(
        "PATCH",
        f"/customers/{mine['id']}",
        json={"city": "Alcalá de Henares"},
        headers={**me, "If-Match": etag},
        expect=200,
    )
    await api.call(
        "PATCH",
        f"/customers/{other['id']}",
        json={"city": "Alcalá de Henares"},
        headers={**me, "If-Match": '"1"'},
        expect=404,
    )
    unlinked = api.auth(Role.customer, sub=str(uuid.uuid4()))
    assert (await api.call("GET", "/customers", headers=unlinked, expect=200)).json()["items"] == []


async def test_permissions_and_authentication(api: Api) -> None:
    await api.call("GET", "/customers", headers={}, expect=401)
    await api.call("GET", "/customers", headers={"Authorization": "Bearer nope"}, expect=401)


async def test_forged_cursors_and_out_of_range_values_are_422(api: Api) -> None:
    import base64
    import json

    for values in (["García", "x"], [1, 2], ["2026-01-01T00:00:00", str(uuid.uuid4())], ["a"]):
        forged = base64.urlsafe_b64encode(json.dumps(values).encode()).decode()
        for url in ("/customers", "/policies", "/claims", "/quotes", "/interactions", "/tasks", "/workflows"):
            response = await api.call(
                "GET", url, params={"cursor": forged}, headers=api.supervisor, expect=422
            )
            assert response.headers["content-type"] == "application/problem+json"
    customer = await api.customer()
    await api.call("POST", "/tasks", json={"title": "x", "due_date": "0001-01-01T00:00:00+05:00"}, expect=422)
    await api.call(
        "POST",
        "/interactions",
        json={"customer_id": customer["id"], "type": "call", "occurred_at": "9999-12-31T23:59:59-05:00"},
        expect=422,
    )
    await api.call(
        "PATCH",
        f"/customers/{customer['id']}",
        json={"metadata": {"n": 2**70}},
        headers={**api.agent, "If-Match": '"1"'},
        expect=422,
    )


async def test_concurrent_updates_with_the_same_etag_one_wins(committed: Api) -> None:
    import asyncio

    api = committed
    created = await api.customer()
    url = f"/customers/{created['id']}"
    etag = (await api.call("GET", url, expect=200)).headers["etag"]
    results = await asyncio.gather(
        *(
            api.client.patch(url, json={"city": city}, headers={**api.agent, "If-Match": etag})
            for city in ("Madrid", "Toledo", "Segovia")
        )
    )
    assert sorted(r.status_code for r in results) == [200, 412, 412], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 200).json()
    assert (await api.call("GET", url, expect=200)).json()["city"] == winner["city"]


async def test_a_customer_changes_their_phone_only_by_proving_the_new_number(api: Api) -> None:
    """Typing in someone else's number must not make their calls and messages ours: the number
    changes once the code texted to it comes back."""
    mine = await api.customer(mobile="611000222")
    me = await api.customer_login(mine["id"])
    etag = (await api.call("GET", "/customers/me", headers=me, expect=200)).headers["etag"]
    direct = await api.call(
        "PATCH",
        f"/customers/{mine['id']}",
        json={"mobile": "677000111"},
        headers={**me, "If-Match": etag},
        expect=403,
    )
    assert "/customers/me/contact-changes" in direct.json()["detail"]

    asked = await api.call(
        "POST",
        "/customers/me/contact-changes",
        json={"field": "mobile", "value": "677 000 111"},
        headers=me,
        expect=202,
    )
    change = asked.json()
    assert change["value"] == "+34677000111" and "code" not in change
    [sent] = await api.events("crm.contact_code_requested", key=mine["id"])
    assert sent["data"]["to"] == "+34677000111" and sent["data"]["change_id"] == change["id"]
    code = sent["data"]["code"]
    assert (await api.call("GET", "/customers/me", headers=me, expect=200)).json()["mobile"] == "+34611000222"

    wrong = "000000" if code != "000000" else "111111"
    refused = await api.call(
        "POST",
        f"/customers/me/contact-changes/{change['id']}/confirm",
        json={"code": wrong},
        headers=me,
        expect=422,
    )
    assert refused.json()["errors"][0]["field"] == "code"
    attempts = await api.conn.scalar(
        text("SELECT attempts FROM crm.contact_changes WHERE id = :i"), {"i": change["id"]}
    )
    assert attempts == 1, "a wrong code counts even though the request failed"
    stranger = api.auth(Role.customer, sub=str(uuid.uuid4()))
    await api.call(
        "POST",
        f"/customers/me/contact-changes/{change['id']}/confirm",
        json={"code": code},
        headers=stranger,
        expect=404,
    )
    confirmed = await api.call(
        "POST",
        f"/customers/me/contact-changes/{change['id']}/confirm",
        json={"code": code},
        headers=me,
        expect=200,
    )
    assert confirmed.json()["mobile"] == "+34677000111"
    [updated] = [
        e
        for e in await api.events("customer.updated", key=mine["id"])
        if "mobile" in e["data"]["changed_fields"]
    ]
    assert updated["data"]["mobile"] == "+34677000111"
    await api.call(
        "POST",
        f"/customers/me/contact-changes/{change['id']}/confirm",
        json={"code": code},
        headers=me,
        expect=409,
    )


async def test_a_customer_changes_their_email_only_by_proving_the_new_address(api: Api) -> None:
    mine = await api.customer()
    taken = await api.customer()
    me = await api.customer_login(mine["id"])
    etag = (await api.call("GET", "/customers/me", headers=me, expect=200)).headers["etag"]
    new = f"Nueva-{uuid.uuid4().hex[:8]}@Example.com"
    await api.call(
        "PATCH", f"/customers/{mine['id']}", json={"email": new}, headers={**me, "If-Match": etag}, expect=403
    )
    bad = await api.call(
        "POST",
        "/customers/me/contact-changes",
        json={"field": "email", "value": "+34677000111"},
        headers=me,
        expect=422,
    )
    assert bad.json()["errors"][0]["field"] == "value"

    async def proven(address: str) -> tuple[str, str]:
        change = (
            await api.call(
                "POST",
                "/customers/me/contact-changes",
                json={"field": "email", "value": address},
                headers=me,
                expect=202,
            )
        ).json()
        [sent] = [
            e
            for e in await api.events("crm.contact_code_requested", key=mine["id"])
            if e["data"]["change_id"] == change["id"]
        ]
        assert (sent["data"]["channel"], sent["data"]["to"]) == ("email", address.lower())
        return change["id"], sent["data"]["code"]

    change_id, code = await proven(taken["email"])
    refused = await api.call(
        "POST",
        f"/customers/me/contact-changes/{change_id}/confirm",
        json={"code": code},
        headers=me,
        expect=409,
    )
    assert taken["id"] not in refused.text, "another customer's id is not disclosed"
    change_id, code = await proven(new)
    confirmed = await api.call(
        "POST",
        f"/customers/me/contact-changes/{change_id}/confirm",
        json={"code": code},
        headers=me,
        expect=200,
    )
    assert confirmed.json()["email"] == new.lower()
