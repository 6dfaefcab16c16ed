"""The DNI/NIE and IBAN reach ai-fraud only as the CRM's keyed digests: the read model keeps and
matches digests, a ring shows the last characters, and a row kept from before the digests (the
migration drops the values) is not taken for a change of bank account."""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import anyio
from sqlalchemy import text

from aintech_contracts import identifiers
from aintech_devtools.testing import committed_database

from .conftest import CRM_DIGEST_KEY, IBAN, Api

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
CLEAR = ("12345678Z", IBAN, "21000418450200051332", "12345678")


async def _rows(api: Api, sql: str, **args: object) -> list[dict[str, object]]:
    async with api.app.state.db.transaction() as session:
        return [dict(r._mapping) for r in await session.execute(text(sql), args)]


async def test_the_read_model_keeps_digests_and_no_dni_or_iban_value(api: Api) -> None:
    customer = await api.customer(dni="12345678-Z", iban="ES91 2100 0418 4502 0005 1332")
    stored = await _rows(api, "SELECT * FROM fraud.customers WHERE id = :c", c=customer)
    ids = await _rows(api, "SELECT kind, value FROM fraud.identifiers WHERE customer_id = :c", c=customer)
    dump = json.dumps([stored, ids], default=str)
    for value in CLEAR:
        assert value not in dump, f"{value!r} is kept in clear"
    assert {(r["kind"], r["value"]) for r in ids} >= {
        ("dni", identifiers.digest("12345678Z", CRM_DIGEST_KEY)),
        ("iban", identifiers.digest(IBAN, CRM_DIGEST_KEY)),
    }
    assert (stored[0]["dni_last3"], stored[0]["iban_last4"]) == ("78Z", "1332")
    columns = await _rows(
        api,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'fraud' AND table_name = 'customers'",
    )
    assert not {r["column_name"] for r in columns} & {"dni", "iban"}


async def test_two_customers_sharing_a_dni_are_a_ring_shown_by_its_last_characters(api: Api) -> None:
    claims = []
    for written in ("X1234567L", "x-1234567-l"):
        customer = await api.customer(dni=written)
        policy = await api.policy(customer, start=date(2024, 1, 1), policy_type="auto", coverage="30000.00")
        claims.append(
            await api.claim(
                customer, policy, claim_type="collision", incident=datetime(2026, 3, 2, 12, tzinfo=UTC)
            )
        )
    scored = await api.score(claims[0], language="en")
    assert scored["ring_id"] is not None, "the same NIE, however written, links the two"
    shown = (await api.call("GET", f"/rings/{scored['ring_id']}", expect=200)).json()
    [link] = [link for link in shown["links"] if link["kind"] == "dni"]
    assert link["value"] == "••••67L"
    digest = identifiers.digest("X1234567L", CRM_DIGEST_KEY)
    assert digest is not None and digest not in json.dumps(shown) and digest not in json.dumps(scored)


async def test_a_customer_kept_from_before_the_digests_is_not_taken_for_an_iban_change(api: Api) -> None:
    customer = await api.customer(iban=IBAN)
    # As the migration leaves a row: the account's last four characters, no digest, no index row.
    async with api.app.state.db.transaction() as session:
        await session.execute(
            text("UPDATE fraud.customers SET iban_digest = NULL, dni_digest = NULL WHERE id = :c"),
            {"c": customer},
        )
        await session.execute(
            text("DELETE FROM fraud.identifiers WHERE customer_id = :c AND kind IN ('dni', 'iban')"),
            {"c": customer},
        )
    recently = datetime.now(UTC) - timedelta(days=2)
    await api.change_customer(customer, at=recently, changed=["email"], iban=IBAN)
    [row] = await _rows(
        api, "SELECT iban_changed_at, iban_digest FROM fraud.customers WHERE id = :c", c=customer
    )
    assert row["iban_changed_at"] is None, "the same account (same last four) is no change"
    assert row["iban_digest"] == identifiers.digest(IBAN, CRM_DIGEST_KEY), "the digest is back"
    await api.change_customer(customer, at=recently, changed=["email"], iban="ES7921000813610123456789")
    [row] = await _rows(api, "SELECT iban_changed_at FROM fraud.customers WHERE id = :c", c=customer)
    assert row["iban_changed_at"] == recently


async def _alembic(url: str, *args: str) -> None:
    done = await anyio.run_process(
        [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI), *args],
        env={**os.environ, "AINTECH_DATABASE_URL": url},
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


async def test_the_migration_drops_the_values_and_keeps_the_last_characters(admin_database_url: str) -> None:
    customer, claim = uuid.uuid4(), uuid.uuid4()
    async with committed_database(admin_database_url, service="ai_fraud", alembic_ini=ALEMBIC_INI) as db:
        await _alembic(db.url, "downgrade", "0005_fraud3")
        async with db.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO fraud.customers (id, dni, iban) VALUES (:c, '12345678Z', :iban)"),
                {"c": customer, "iban": "ES91 2100 0418 4502 0005 1332"},
            )
            for owner_kind, owner, kind, value in (
                ("customer", customer, "dni", "12345678Z"),
                ("customer", customer, "iban", IBAN),
                ("customer", customer, "phone", "+34600111001"),
                ("claim", claim, "workshop", "taller perez"),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO fraud.identifiers (id, owner_kind, owner_id, customer_id, kind, value) "
                        "VALUES (:i, :ok, :o, :c, :k, :v)"
                    ),
                    {"i": uuid.uuid4(), "ok": owner_kind, "o": owner, "c": customer, "k": kind, "v": value},
                )
        await _alembic(db.url, "upgrade", "head")
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT * FROM fraud.customers WHERE id = :c"), {"c": customer})
            ).one()
            kept = set(await conn.execute(text("SELECT kind, value FROM fraud.identifiers")))
        assert "dni" not in row._mapping and "iban" not in row._mapping
        assert (row.dni_last3, row.iban_last4, row.dni_digest, row.iban_digest) == ("78Z", "1332", None, None)
        assert kept == {("phone", "+34600111001"), ("workshop", "taller perez")}
