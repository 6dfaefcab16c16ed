"""Portal accounts over HTTP (admin only; credentials are write-only)."""

from __future__ import annotations

from fastapi import APIRouter

from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from scraper.carriers import service
from scraper.carriers.schemas import AccountIn, AccountOut
from scraper.core.access import Admin
from scraper.core.runtime import RuntimeDep
from scraper.core.text import CarrierPath

router = APIRouter(prefix="/carriers", tags=["carriers"])

ADMIN_ONLY = (403, "Administrators only")


@router.put(
    "/{carrier}/account",
    response_model=AccountOut,
    summary="Set the broker's portal account for a carrier (credentials encrypted at rest, never returned)",
    responses=responses(
        (401, "Missing or invalid access token"),
        ADMIN_ONLY,
        (404, "Unknown carrier"),
        (422, "Host not allowed"),
    ),
)
async def set_account(
    carrier: CarrierPath, body: AccountIn, _: Admin, db: DbSession, rt: RuntimeDep
) -> AccountOut:
    row = await service.set_account(
        db,
        settings=rt.settings,
        carrier=carrier,
        base_url=body.base_url,
        username=body.username,
        password=body.password,
    )
    return AccountOut(
        carrier=row.carrier, base_url=row.base_url, credentials_set=True, updated_at=row.updated_at
    )


@router.get(
    "/{carrier}/account",
    response_model=AccountOut,
    summary="Where the carrier's portal account points (never its credentials)",
    responses=responses((401, "Missing or invalid access token"), ADMIN_ONLY, (404, "No account set")),
)
async def get_account(carrier: CarrierPath, _: Admin, db: ReadSession) -> AccountOut:
    row = await service.get_account_row(db, carrier=carrier)
    return AccountOut(
        carrier=row.carrier, base_url=row.base_url, credentials_set=True, updated_at=row.updated_at
    )
