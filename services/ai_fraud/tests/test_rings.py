"""Rings: four customers sharing an IBAN and a workshop form one ring with a stable id that feeds
the score; an identifier shared by very many (a big workshop) links nobody."""

from __future__ import annotations

from datetime import UTC, date, datetime

from ai_fraud.readmodel import repository as readmodel

from .conftest import IBAN, Api

BIG_WORKSHOP = "Talleres Grandes S.A."


async def test_four_customers_sharing_an_iban_and_a_workshop_are_a_ring(api: Api) -> None:
    claims = []
    people = []
    for i in range(4):
        customer = await api.customer(iban=IBAN if i % 2 == 0 else "ES91 2100 0418 4502 0005 1332", dni=None)
        people.append(customer)
        policy = await api.policy(customer, start=date(2024, 1, 1), policy_type="auto", coverage="30000.00")
        claims.append(
            await api.claim(
                customer,
                policy,
                claim_type="collision",
                incident=datetime(2026, 2, i + 1, 12, tzinfo=UTC),
                attributes={"workshop": "Taller  Hermanos Pérez", "police_report": True, "witnesses": 1},
            )
        )
    loner = await api.customer()
    loner_claim = await api.claim(
        loner, await api.policy(loner, start=date(2024, 1, 1)), incident=datetime(2026, 2, 1, 12, tzinfo=UTC)
    )

    scored = await api.score(claims[0], language="en")
    ring = [p for p in scored["parts"] if p["kind"] == "ring"]
    assert ring and ring[0]["evidence"]["customers"] == 4.0 and ring[0]["evidence"]["claims"] == 4.0
    assert "iban" in ring[0]["reason_en"] and "workshop" in ring[0]["reason_en"]
    assert scored["features"]["ring_customers"] == 4.0
    ring_id = scored["ring_id"]
    assert (await api.score(claims[3]))["ring_id"] == ring_id, "the same ring whichever claim is scored"

    shown = (await api.call("GET", f"/rings/{ring_id}", expect=200)).json()
    assert sorted(shown["customer_ids"]) == sorted(str(p) for p in people)
    kinds = {link["kind"]: link for link in shown["links"]}
    assert set(kinds) == {"iban", "workshop"}
    assert kinds["iban"]["value"].endswith("1332") and "2100" not in kinds["iban"]["value"]
    assert (await api.score(loner_claim))["ring_id"] is None


async def test_an_identifier_shared_by_very_many_links_nobody(api: Api) -> None:
    limit = api.rt.settings.ring_max_identifier_share
    first = None
    for _ in range(limit + 1):
        customer = await api.customer()
        policy = await api.policy(customer, start=date(2024, 1, 1), policy_type="auto")
        claim = await api.claim(
            customer,
            policy,
            claim_type="glass",
            incident=datetime(2026, 3, 1, tzinfo=UTC),
            attributes={"workshop": BIG_WORKSHOP, "police_report": True},
        )
        first = first or claim
    assert first is not None
    scored = await api.score(first)
    assert scored["ring_id"] is None and all(p["kind"] != "ring" for p in scored["parts"])


async def test_a_later_hop_in_one_statement_reads_what_the_two_statements_read(api: Api) -> None:
    """``next_hop`` (a ring search past its first hop) = the customers' identifier rows, then the
    sharing of their values not seen yet, as ``identifiers_of_customers`` and ``sharing`` read
    them: rows, holder counts, and a value held by more than ``max_share`` counted without rows."""
    other_iban = "ES7921000813610123456789"
    a = await api.customer(iban=IBAN, phone="+34600111001", dni=None)
    b = await api.customer(iban=IBAN, phone="+34600111002", dni=None)
    c = await api.customer(iban=other_iban, phone="+34600111002", dni=None)
    d = await api.customer(iban=other_iban, phone="+34600111003", dni=None)
    crowd = [await api.customer(phone="+34600111003", dni=None) for _ in range(2)]  # 3 hold it
    max_share = 2
    async with api.app.state.db.transaction() as session:
        a_values = {(k, v) for _, _, _, k, v in await readmodel.identifiers_of_customers(session, [a])}
        for frontier, seen in (([b], a_values), ([b, c], a_values), ([d], set()), ([a, *crowd], set())):
            own, shared, counts = await readmodel.next_hop(session, frontier, seen, max_share=max_share)
            own_before = await readmodel.identifiers_of_customers(session, frontier)
            fresh = {(k, v) for _, _, _, k, v in own_before} - seen
            was_shared, was_counts = await readmodel.sharing(session, sorted(fresh), max_share=max_share)
            assert sorted(map(tuple, own)) == sorted(map(tuple, own_before))
            assert sorted(map(tuple, shared)) == sorted(map(tuple, was_shared))
            assert counts == was_counts
        _, shared, counts = await readmodel.next_hop(session, [d], set(), max_share=max_share)
    assert counts[("phone", next(v for (k, v) in counts if k == "phone"))] == 3
    assert {row[0] for row in shared} == {c, d}, "the crowded phone links nobody; the IBAN links c"
