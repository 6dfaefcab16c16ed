"""The demo data: the seed plan's counts and mix, valid Spanish data, idempotent."""

from __future__ import annotations

from sqlalchemy import text
from stdnum import iban
from stdnum.es import cif, dni, nie

from core_crm.core import spain
from core_crm.seed import DEMO_CUSTOMER_EMAIL, SEED_ACTOR, seed

from .conftest import Api, crm_settings


async def test_seed_loads_the_plan_once_with_valid_spanish_data(committed: Api) -> None:
    conn = committed.conn
    await seed(crm_settings())
    assert await seed(crm_settings()) == "nothing to do (demo data present)"
    who = {"s": str(SEED_ACTOR)}
    customers = (
        await conn.execute(
            text(
                "SELECT email, mobile, dni, tax_id, iban, postal_code, province, customer_type"
                " FROM crm.customers"
                " WHERE created_by = :s"
            ),
            who,
        )
    ).all()
    assert len(customers) == 50
    assert DEMO_CUSTOMER_EMAIL in {c.email for c in customers}
    assert {c.customer_type for c in customers} == {"individual", "business"}
    for c in customers:
        assert dni.is_valid(c.dni) or nie.is_valid(c.dni), c.dni
        assert c.tax_id is None or cif.is_valid(c.tax_id), c.tax_id
        assert iban.is_valid(c.iban) and c.iban.startswith("ES"), c.iban
        assert spain.phone(c.mobile) == c.mobile
        assert spain.province_of_postal_code(c.postal_code) == c.province
    direct: dict[str, int] = dict(
        (
            await conn.execute(
                text(
                    "SELECT policy_type, count(*) FROM crm.policies p WHERE created_by = :s"
                    " AND NOT EXISTS (SELECT 1 FROM crm.quotes q WHERE q.policy_id = p.id) GROUP BY 1"
                ),
                who,
            )
        ).all()
    )
    assert direct == {"auto": 40, "home": 30, "life": 20, "health": 10}
    carriers = set(
        (
            await conn.scalars(text("SELECT DISTINCT carrier FROM crm.policies WHERE created_by = :s"), who)
        ).all()
    )
    assert carriers == {"Mapfre", "AXA", "Allianz", "Generali", "Zurich", "Mutua Madrileña"}
    claims: dict[str, int] = dict(
        (
            await conn.execute(
                text("SELECT status, count(*) FROM crm.claims WHERE created_by = :s GROUP BY 1"), who
            )
        ).all()
    )
    assert sum(claims.values()) == 30 and set(claims) == {
        "reported",
        "investigating",
        "approved",
        "denied",
        "paid",
    }
    quotes: dict[str, int] = dict(
        (
            await conn.execute(
                text("SELECT status, count(*) FROM crm.quotes WHERE created_by = :s GROUP BY 1"), who
            )
        ).all()
    )
    assert sum(quotes.values()) == 40 and quotes["converted"] >= 5 and quotes["expired"] >= 5
    statuses = set(
        (
            await conn.scalars(text("SELECT DISTINCT status FROM crm.policies WHERE created_by = :s"), who)
        ).all()
    )
    assert statuses == {"active", "expired", "cancelled", "pending"}
