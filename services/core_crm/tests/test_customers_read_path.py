"""Customers' GET endpoints on the read path: the same JSON as the response model, the same
object-level checks, closed records hidden from customers, hostile search input kept literal."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from .conftest import DNIS, IBAN, Api


async def test_read_by_id_search_and_me_answer_exactly_what_the_write_path_answered(api: Api) -> None:
    created = await api.customer(
        first_name="Íñigo",
        last_name="Goikoetxea Ibáñez",
        dni=DNIS[3],
        iban=IBAN,
        birth_date="1980-02-29",
        tags=["vip", "referido"],
        metadata={"canal": "web", "puntos": [1, 2]},
    )
    read = await api.call("GET", f"/customers/{created['id']}", expect=200)
    assert read.json() == created, "the lean view renders every field as CustomerOut does"
    assert read.headers["etag"] == f'"{created["version"]}"'
    assert read.headers["content-type"] == "application/json"

    found = (await api.call("GET", "/customers", params={"q": "goikoetxea iba"}, expect=200)).json()
    assert found["items"] == [created] and found["next_cursor"] is None

    me = await api.customer_login(created["id"])
    mine = await api.call("GET", "/customers/me", headers=me, expect=200)
    linked = (await api.call("GET", f"/customers/{created['id']}", expect=200)).json()
    assert mine.json() == linked and mine.json()["user_id"] is not None
    assert mine.headers["etag"] == f'"{linked["version"]}"'


async def test_a_customer_cannot_read_another_record_or_their_own_once_closed(api: Api) -> None:
    mine = await api.customer()
    other = await api.customer(last_name="Ajeno")
    me = await api.customer_login(mine["id"])
    await api.call("GET", f"/customers/{other['id']}", headers=me, expect=404)
    by_name = (await api.call("GET", "/customers", params={"q": "ajeno"}, headers=me, expect=200)).json()
    assert by_name["items"] == [], "a customer's search never reaches another record"
    by_status = await api.call(
        "GET", "/customers", params={"status": ["active", "deleted"]}, headers=me, expect=200
    )
    assert [c["id"] for c in by_status.json()["items"]] == [mine["id"]]

    await api.conn.execute(
        text("UPDATE crm.customers SET status = 'deleted' WHERE id = :c"), {"c": mine["id"]}
    )
    await api.call("GET", f"/customers/{mine['id']}", headers=me, expect=404)
    await api.call("GET", "/customers/me", headers=me, expect=404)
    assert (await api.call("GET", "/customers", headers=me, expect=200)).json()["items"] == []

    # Staff still read the closed record by id, and find it only when they ask for its status.
    staff_view = (await api.call("GET", f"/customers/{mine['id']}", expect=200)).json()
    assert staff_view["status"] == "deleted"
    live = (await api.call("GET", "/customers", params={"email": mine["email"]}, expect=200)).json()
    assert live["items"] == []
    closed = await api.call(
        "GET", "/customers", params={"email": mine["email"], "status": ["deleted"]}, expect=200
    )
    assert [c["id"] for c in closed.json()["items"]] == [mine["id"]]


async def test_search_filters_combine_and_like_wildcards_stay_literal(api: Api) -> None:
    tag = f"t{uuid.uuid4().hex[:8]}"
    owner = str(uuid.uuid4())
    target = await api.customer(
        first_name="Nerea", last_name="Vidal", tags=[tag], postal_code="08001", owner_id=owner
    )
    await api.customer(first_name="Nerea", last_name="Vidal", postal_code="28013")
    for params in (
        {"q": "nerea vidal", "tag": tag},
        {"q": "vidal", "province": "Barcelona", "tag": tag},
        {"tag": tag, "owner_id": owner, "segment": "new"},
        {"tag": tag, "status": ["active", "prospect"], "sort": "last_name"},
    ):
        page = (await api.call("GET", "/customers", params=params, expect=200)).json()
        assert [c["id"] for c in page["items"]] == [target["id"]], params
    for wildcard in ("%", "_", "\\", "%vidal%"):
        page = (await api.call("GET", "/customers", params={"q": wildcard, "tag": tag}, expect=200)).json()
        assert page["items"] == [], f"{wildcard!r} is matched literally, not as a pattern"


async def test_every_sort_walks_every_match_once_with_its_cursor(api: Api) -> None:
    tag = f"t{uuid.uuid4().hex[:8]}"
    ids = set()
    for last_name in ("Ruiz", "Abad", "Zamora", "Ruiz"):
        ids.add((await api.customer(last_name=last_name, tags=[tag]))["id"])
    for sort in ("-created_at", "created_at", "last_name", "-last_name"):
        seen: list[str] = []
        names: list[str] = []
        cursor = None
        while True:
            params = {"tag": tag, "limit": "1", "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = (await api.call("GET", "/customers", params=params, expect=200)).json()
            seen += [c["id"] for c in page["items"]]
            names += [c["last_name"] for c in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(ids) and len(seen) == len(ids), sort
        if "last_name" in sort:
            assert names == sorted(names, reverse=sort.startswith("-")), (sort, names)


async def test_a_multi_word_name_search_finds_the_phrase_newest_first_page_by_page(api: Api) -> None:
    """Golden: which records a two-word query finds and in which order (the phrase, folded, as a
    substring of first name + last names + company; newest first), across pages."""
    tag = f"t{uuid.uuid4().hex[:8]}"
    names = [
        ("María", "López Vidal"),  # matches
        ("Lopez", "María"),  # the words in the other order: no
        ("Ana María", "López"),  # matches (the phrase inside)
        ("Mariana", "López"),  # "mariana lopez": no
        ("Rosamaría", "Lópezno"),  # matches (the phrase as a substring)
        ("María", "Pérez López"),  # both words, not as a phrase: no
        ("MARÍA", "LOPEZ"),  # matches (case and accents folded)
    ]
    created = [
        (await api.customer(first_name=first, last_name=last, tags=[tag]))["id"] for first, last in names
    ]
    expected = [created[6], created[4], created[2], created[0]]  # newest first
    seen: list[str] = []
    cursor = None
    while True:
        params = {"q": "maria lopez", "tag": tag, "limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await api.call("GET", "/customers", params=params, expect=200)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == expected
    for query in ("  MARÍA   lópez ", "maría lópez"):
        page = (await api.call("GET", "/customers", params={"q": query, "tag": tag}, expect=200)).json()
        assert [c["id"] for c in page["items"]] == expected, query


async def test_a_phrase_with_short_and_repeated_words_finds_exactly_the_phrase(api: Api) -> None:
    """The index is asked for a phrase's longest words and the phrase decides (decision 0092): a
    record with every word but not the phrase is not found; short words still count in the phrase."""
    tag = f"t{uuid.uuid4().hex[:8]}"
    names = [
        ("Ana María", "de la Cruz"),  # matches
        ("Ana", "Cruz de la María"),  # every word, not the phrase: no
        ("Ana Marías", "de la Cruzado"),  # "ana marias de la cruzado": no ("maria de")
        ("Juana María", "de la Cruz Pérez"),  # matches (inside)
        ("María", "de la Cruz"),  # "maria de la cruz": no (no "ana ")
        ("Ana María", "de  la   Cruz"),  # matches (spaces folded)
    ]
    created = [
        (await api.customer(first_name=first, last_name=last, tags=[tag]))["id"] for first, last in names
    ]
    expected = [created[5], created[3], created[0]]  # newest first
    for query in ("ana maría de la cruz", "ANA MARIA DE LA CRUZ", "na maria de la cru"):
        page = (await api.call("GET", "/customers", params={"q": query, "tag": tag}, expect=200)).json()
        assert [c["id"] for c in page["items"]] == expected, query
    page = (await api.call("GET", "/customers", params={"q": "cruz cruz", "tag": tag}, expect=200)).json()
    assert page["items"] == []  # a repeated word is asked of the index once; the phrase still decides
