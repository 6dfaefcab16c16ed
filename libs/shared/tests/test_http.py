"""The app factory over real Postgres: problem+json everywhere, one commit per request, ids."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import orjson
import pytest
from fastapi import APIRouter, Query
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    text,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from aintech_devtools.testing import ScratchSchema
from aintech_shared.app import create_service_app
from aintech_shared.db import DbSession, schema_metadata
from aintech_shared.errors import Conflict, Gone
from aintech_shared.events.tables import MessagingTables
from aintech_shared.instants import Day, Instant
from aintech_shared.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: ClassVar[str] = "demo"
    db_schema: ClassVar[str] = "demo"


class NoteIn(BaseModel):
    meta: dict[str, Any]


class JobIn(BaseModel):
    name: str = Field(min_length=3)
    every_minutes: int = Field(gt=0)


@dataclass(frozen=True)
class Catalogue:
    """Tables whose constraints (named by the shared convention) the integrity tests violate."""

    brands: Table
    products: Table
    tickets: Table


def catalogue_tables(schema: str) -> Catalogue:
    metadata = schema_metadata(schema)
    brands = Table(
        "brands", metadata, Column("id", Integer, primary_key=True), Column("name", Text, nullable=False)
    )
    products = Table(
        "products",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("sku", Text, nullable=False, unique=True),
        Column("brand_id", Integer, ForeignKey(brands.c.id)),
        Column("stock", Integer, nullable=False),
        CheckConstraint("stock >= 0", name="stock"),
    )
    # Checked at COMMIT, not at INSERT: the violation surfaces when the request session commits.
    tickets = Table(
        "tickets",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("seat", Text, nullable=False),
        UniqueConstraint("seat", deferrable=True, initially="DEFERRED"),
    )
    return Catalogue(brands=brands, products=products, tickets=tickets)


class ProductIn(BaseModel):
    sku: str | None = None
    brand_id: int | None = None
    stock: int = 0


def demo_router(tables: MessagingTables, catalogue: Catalogue) -> APIRouter:
    router = APIRouter()
    jobs = tables.scheduled_jobs

    @router.post("/jobs", status_code=201)
    async def create(body: JobIn, session: DbSession, fail_after_write: bool = False) -> dict[str, str]:
        await session.execute(jobs.insert().values(name=body.name))
        if fail_after_write:
            raise Conflict("A job with that name is being created elsewhere.")
        return {"name": body.name}

    @router.get("/jobs/{name}")
    async def read(name: str, session: DbSession) -> dict[str, str]:
        found = await session.scalar(select(jobs.c.name).where(jobs.c.name == name))
        if found is None:
            from aintech_shared.errors import NotFound

            raise NotFound(f"No job named {name!r}.")
        return {"name": found}

    @router.post("/jobs/keep", status_code=201)
    async def create_then_refuse(body: JobIn, session: DbSession) -> None:
        await session.execute(jobs.insert().values(name=body.name))
        raise Conflict("Refused, but the attempt is on record.", keep_changes=True)

    @router.post("/products", status_code=201)
    async def add_product(body: ProductIn, session: DbSession) -> dict[str, int]:
        new_id = await session.scalar(
            insert(catalogue.products).values(**body.model_dump()).returning(catalogue.products.c.id)
        )
        return {"id": int(new_id or 0)}

    @router.post("/tickets/{seat}", status_code=201)
    async def book(seat: str, session: DbSession) -> dict[str, str]:
        await session.execute(insert(catalogue.tickets).values(seat=seat))
        return {"seat": seat}

    @router.post("/notes", status_code=201)
    async def note(body: NoteIn, session: DbSession) -> dict[str, list[str]]:
        # Stored as JSONB would be: a lone surrogate breaks the encoder, a NUL the database.
        stored = await session.scalar(
            text("SELECT CAST(:doc AS jsonb)"), {"doc": orjson.dumps(body.meta).decode()}
        )
        return {"keys": sorted(stored)}

    @router.get("/silent/{kind}")
    async def silent(kind: str) -> None:
        if kind == "bare":
            raise Conflict()
        if kind == "link":
            raise Gone("https://docs.aintech.local/problems/gone")
        raise StarletteHTTPException(status_code=403)

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @router.get("/orders/{order_id}")
    async def order(order_id: uuid.UUID) -> dict[str, str]:
        return {"id": str(order_id)}

    @router.delete("/orders/{order_id}", status_code=204)
    async def cancel_order(order_id: uuid.UUID) -> None:
        return None

    @router.post("/orders/export", status_code=202)
    async def export_orders() -> dict[str, str]:
        return {"status": "queued"}

    @router.get("/window")
    async def window(since: Instant, day: Day | None = None) -> dict[str, str]:
        return {"since": since.isoformat(), "day": str(day)}

    @router.get("/items")
    async def items(limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, int]:
        return {"limit": limit}

    return router


@pytest.fixture(scope="module")
async def catalogue(scratch: ScratchSchema) -> Catalogue:
    tables = catalogue_tables(scratch.tables.schema)
    async with scratch.db.engine.begin() as conn:
        for table in (tables.brands, tables.products, tables.tickets):
            await conn.run_sync(table.create, checkfirst=True)
    return tables


@pytest.fixture
async def client(scratch: ScratchSchema, catalogue: Catalogue) -> AsyncIterator[AsyncClient]:
    db, tables = scratch.db, scratch.tables
    app = create_service_app(
        DemoSettings(), title="demo", description="demo", routers=[demo_router(tables, catalogue)]
    )
    async with app.router.lifespan_context(app):
        app.state.db = db
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://demo") as c:
            yield c


async def test_commit_once_on_success_and_rollback_on_error(client: AsyncClient) -> None:
    name = f"job-{uuid.uuid4().hex[:6]}"
    created = await client.post("/jobs", json={"name": name, "every_minutes": 5})
    assert created.status_code == 201
    assert (await client.get(f"/jobs/{name}")).status_code == 200

    other = f"job-{uuid.uuid4().hex[:6]}"
    failed = await client.post("/jobs?fail_after_write=true", json={"name": other, "every_minutes": 5})
    assert failed.status_code == 409
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json()["detail"] == "A job with that name is being created elsewhere."
    missing = await client.get(f"/jobs/{other}")
    assert missing.status_code == 404, "the write before the error must have been rolled back"
    assert missing.json()["detail"] == f"No job named {other!r}."


async def test_commit_failure_is_an_error_not_a_success(
    client: AsyncClient, scratch: ScratchSchema, catalogue: Catalogue
) -> None:
    seat = f"seat-{uuid.uuid4().hex[:6]}"
    assert (await client.post(f"/tickets/{seat}")).status_code == 201
    # The INSERT succeeds; the deferred unique check fails at COMMIT, after the endpoint returned.
    again = await client.post(f"/tickets/{seat}")
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["errors"][0]["field"] == "seat"
    async with scratch.db.engine.connect() as conn:
        booked = await conn.scalar(
            select(func.count()).select_from(catalogue.tickets).where(catalogue.tickets.c.seat == seat)
        )
    assert booked == 1


async def test_unique_violation_is_a_409_naming_the_field(client: AsyncClient) -> None:
    sku = f"sku-{uuid.uuid4().hex[:6]}"
    assert (await client.post("/products", json={"sku": sku})).status_code == 201
    duplicate = await client.post("/products", json={"sku": sku})
    assert duplicate.status_code == 409
    body = duplicate.json()
    assert body["type"].endswith("/conflict")
    assert body["errors"] == [
        {"location": "body", "field": "sku", "message": "already exists", "type": "unique_violation"}
    ]
    assert sku not in duplicate.text, "the conflicting value is not echoed back"


async def test_foreign_key_not_null_and_check_violations_are_422(client: AsyncClient) -> None:
    sku = f"sku-{uuid.uuid4().hex[:6]}"
    cases = {
        "brand_id": ({"sku": sku + "-a", "brand_id": 999_999}, "foreign_key_violation"),
        "sku": ({"sku": None}, "not_null_violation"),
        "stock": ({"sku": sku + "-b", "stock": -1}, "check_violation"),
    }
    for field, (body, kind) in cases.items():
        refused = await client.post("/products", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == field
        assert refused.json()["errors"][0]["type"] == kind


async def test_refusal_marked_keep_changes_commits_its_writes(client: AsyncClient) -> None:
    name = f"job-{uuid.uuid4().hex[:6]}"
    refused = await client.post("/jobs/keep", json={"name": name, "every_minutes": 5})
    assert refused.status_code == 409
    assert "keep_changes" not in refused.json()
    assert (await client.get(f"/jobs/{name}")).status_code == 200, "the refusal's write was committed"


async def test_validation_errors_are_field_level_problems(client: AsyncClient) -> None:
    resp = await client.post("/jobs", json={"name": "x", "every_minutes": "soon"})
    assert resp.status_code == 422
    body = resp.json()
    assert body["type"].endswith("/validation-error")
    fields = {e["field"]: e for e in body["errors"]}
    assert set(fields) == {"name", "every_minutes"}
    assert fields["every_minutes"]["location"] == "body"
    query = await client.get("/items?limit=500")
    assert query.status_code == 422
    assert query.json()["errors"][0]["location"] == "query"


HOSTILE_BODIES = {
    "lone high surrogate in a key": (b'{"meta": {"\\ud800": 1}}', "meta.\\ud800", "string_unicode"),
    "lone low surrogate in a nested key": (
        b'{"meta": {"a": [{"x\\udfffy": 1}]}}',
        "meta.a.0.x\\udfffy",
        "string_unicode",
    ),
    "lone surrogate in a value": (b'{"meta": {"a": "\\udbff"}}', "meta.a", "string_unicode"),
    "NUL in a key": (b'{"meta": {"a\\u0000b": 1}}', "meta.a\\x00b", "nul_character"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_BODIES))
async def test_unstorable_text_in_json_is_422_not_500(client: AsyncClient, case: str) -> None:
    raw, field, kind = HOSTILE_BODIES[case]
    resp = await client.post("/notes", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert resp.headers["content-type"] == "application/problem+json"
    assert [(e["location"], e["field"], e["type"]) for e in body["errors"]] == [("body", field, kind)]
    assert body["detail"].startswith(f"{field}: ") and "must not contain" in body["detail"]


async def test_a_valid_surrogate_pair_and_an_escaped_backslash_pass(client: AsyncClient) -> None:
    raw = b'{"meta": {"\\ud83d\\ude00": 1, "\\\\ud800": 2}}'
    resp = await client.post("/notes", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["keys"] == ["\\ud800", "\U0001f600"]


@pytest.mark.parametrize(
    ("kind", "status", "says"),
    [
        ("bare", 409, "conflicts with the current state"),
        ("link", 410, "gone for good"),
        ("http", 403, "not allowed"),
    ],
)
async def test_every_problem_says_what_is_wrong(
    client: AsyncClient, kind: str, status: int, says: str
) -> None:
    resp = await client.get(f"/silent/{kind}")
    body = resp.json()
    assert resp.status_code == status and body["status"] == status
    assert says in body["detail"], body
    assert body["detail"].lower() not in {body["title"].lower(), "conflict", "forbidden"}
    assert "://" not in body["detail"]


async def test_malformed_json_is_400(client: AsyncClient) -> None:
    resp = await client.post("/jobs", content=b'{"name": ', headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["title"] == "Malformed JSON"


async def test_unknown_route_wrong_method_and_crash(client: AsyncClient) -> None:
    missing = await client.get("/nowhere")
    assert (missing.status_code, missing.json()["instance"]) == (404, "/nowhere")
    wrong = await client.delete("/jobs/x")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.headers["allow"] == "GET"
    crash = await client.get("/boom")
    assert crash.status_code == 500
    assert "secret internals" not in crash.text
    assert crash.json()["status"] == 500


async def test_only_sane_request_ids_are_taken_from_the_client(client: AsyncClient) -> None:
    kept = await client.get("/healthz", headers={"x-request-id": "req-7.A_b"})
    assert kept.headers["x-request-id"] == "req-7.A_b"
    for hostile in ("x" * 65, "two words", "semi;colon", "\u00fcber"):
        minted = await client.get("/healthz", headers=[(b"x-request-id", hostile.encode())])
        assert minted.headers["x-request-id"] != hostile
        assert len(minted.headers["x-request-id"]) == 32


async def test_request_and_correlation_ids_round_trip(client: AsyncClient) -> None:
    resp = await client.get("/healthz", headers={"x-correlation-id": "corr-123"})
    assert resp.headers["x-correlation-id"] == "corr-123"
    assert len(resp.headers["x-request-id"]) == 32
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": {"ok": True}, "kafka": {"ok": True}}
    metrics = await client.get("/metrics")
    assert 'route="/healthz"' in metrics.text


async def test_a_405_names_every_method_the_path_takes(client: AsyncClient) -> None:
    # /jobs/keep is POST on its own route and GET through /jobs/{name}: both are allowed.
    keep = await client.delete("/jobs/keep")
    assert (keep.status_code, keep.headers["allow"]) == (405, "GET, POST")
    order = await client.put(f"/orders/{uuid.uuid4()}")
    assert (order.status_code, order.headers["allow"]) == (405, "GET, DELETE")
    assert "it takes GET, DELETE" in order.json()["detail"]


async def test_a_uuid_path_parameter_matches_only_a_uuid(client: AsyncClient) -> None:
    # Not GET /orders/{order_id} with a malformed id (422): the path takes POST only.
    export = await client.get("/orders/export")
    assert (export.status_code, export.headers["allow"]) == (405, "POST")
    assert (await client.post("/orders/export")).status_code == 202
    malformed = await client.get("/orders/not-a-uuid")
    assert malformed.status_code == 404
    assert malformed.headers["content-type"] == "application/problem+json"
    found = await client.get(f"/orders/{(order_id := uuid.uuid4())}")
    assert found.json() == {"id": str(order_id)}
    document = (await client.get("/openapi.json")).json()
    assert "404" in document["paths"]["/orders/{order_id}"]["get"]["responses"]  # the path as declared


async def test_date_times_and_dates_parse_only_as_their_format_says(client: AsyncClient) -> None:
    for since in ("0.5", "1700000000", "2026-01-01T00:00:00", "2026-01-01", "yesterday"):
        refused = await client.get("/window", params={"since": since})
        assert refused.status_code == 422, since
        assert refused.json()["errors"][0]["field"] == "since"
    for day in ("0", "20260101", "2026-01-01T00:00:00Z"):
        assert (
            await client.get("/window", params={"since": "2026-01-01T00:00:00Z", "day": day})
        ).status_code == 422
    ok = await client.get("/window", params={"since": "2026-01-01T10:30:00.5+01:00", "day": "2026-02-28"})
    assert ok.json() == {"since": "2026-01-01T09:30:00.500000+00:00", "day": "2026-02-28"}
