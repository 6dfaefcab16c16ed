"""The proxy pool over HTTP (admin only; credentials are write-only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from scraper.core.access import Admin
from scraper.core.runtime import RuntimeDep
from scraper.proxies import service
from scraper.proxies.schemas import ProxyIn, ProxyOut

router = APIRouter(prefix="/proxies", tags=["proxies"])

GUARDED = (401, "Missing or invalid access token")
ADMIN_ONLY = (403, "Administrators only")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProxyOut,
    summary="Add a proxy to the pool (credentials encrypted at rest, never returned)",
    responses=responses(
        GUARDED, ADMIN_ONLY, (409, "Host and port already in the pool"), (422, "Invalid proxy")
    ),
)
async def add_proxy(body: ProxyIn, _: Admin, db: DbSession, rt: RuntimeDep) -> ProxyOut:
    return service.out(await service.add_proxy(db, settings=rt.settings, body=body))


@router.get(
    "",
    response_model=list[ProxyOut],
    summary="The pool: health, cooldown, last use, bans",
    responses=responses(GUARDED, ADMIN_ONLY),
)
async def list_proxies(_: Admin, db: ReadSession) -> list[ProxyOut]:
    return [service.out(p) for p in await service.list_proxies(db)]


@router.post(
    "/{proxy_id}/check",
    response_model=ProxyOut,
    summary="Check a proxy's health now (a TCP connection)",
    responses=responses(GUARDED, ADMIN_ONLY, (404, "Unknown proxy")),
)
async def check(proxy_id: uuid.UUID, _: Admin, db: DbSession, rt: RuntimeDep) -> ProxyOut:
    return service.out(await service.check_one(db, settings=rt.settings, proxy_id=proxy_id))


@router.delete(
    "/{proxy_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a proxy from the pool",
    responses=responses(GUARDED, ADMIN_ONLY, (404, "Unknown proxy")),
)
async def remove(proxy_id: uuid.UUID, _: Admin, db: DbSession) -> Response:
    await service.remove_proxy(db, proxy_id=proxy_id)
    return Response(status_code=204)
