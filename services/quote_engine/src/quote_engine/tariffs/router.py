"""Tariff management: products and versions, import (JSON, CSV, XLSX), export, activation."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, UploadFile, status

from aintech_contracts.rbac import Permission
from aintech_shared.auth import Principal, require_permissions
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from quote_engine.core.runtime import RuntimeDep
from quote_engine.rating.tariff import Line, TariffDefinition
from quote_engine.tariffs import files, service
from quote_engine.tariffs.models import CarrierProduct, TariffVersion
from quote_engine.tariffs.schemas import ProductOut, RollbackOut, TaxOut, VersionDetail, VersionOut

router = APIRouter(prefix="/tariffs", tags=["tariffs"])

Reader = Annotated[Principal, Depends(require_permissions(Permission.quotes_create))]
Manager = Annotated[Principal, Depends(require_permissions(Permission.rates_manage))]

GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))
NO_VERSION = (404, "No such tariff version", "No such tariff version.")


def _out(version: TariffVersion, product: CarrierProduct) -> VersionOut:
    return VersionOut(
        id=version.id,
        product_code=product.code,
        carrier=product.carrier,
        line=product.line,
        version=version.version,
        status=version.status,
        effective_from=version.effective_from,
        effective_to=version.effective_to,
        digest=version.digest,
        source=version.source,
        created_at=version.created_at,
        activated_at=version.activated_at,
        retired_at=version.retired_at,
    )


def _actor(who: Principal) -> uuid.UUID | None:
    try:
        return uuid.UUID(who.user_id)
    except ValueError:
        return None


@router.get(
    "/products",
    response_model=list[ProductOut],
    summary="Carrier products and their tariff versions",
    responses=responses(*GUARDED),
)
async def list_products(who: Reader, db: ReadSession, line: Line | None = None) -> list[ProductOut]:
    return [
        ProductOut(
            code=p.code, carrier=p.carrier, line=p.line, name=p.name, versions=[_out(v, p) for v in versions]
        )
        for p, versions in await service.products(db, line=line)
    ]


@router.get(
    "/taxes",
    response_model=list[TaxOut],
    summary="The receipt taxes (IPS, Consorcio, CLEA) with validity and legal reference",
    responses=responses(*GUARDED),
)
async def list_taxes(who: Reader, db: ReadSession) -> list[TaxOut]:
    return [TaxOut(**t.model_dump()) for t in await service.receipt_taxes(db)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
    summary="Import a tariff (JSON) as the product's next draft version",
    description="Needs `rates:manage`. Bands must be contiguous (a gap or an overlap is refused naming "
    "the rows); a tariff reading the insured's sex is refused (CJEU Test-Achats, C-236/09). The "
    "product is created on its first tariff. Activate the draft to use it.",
    responses=responses(*GUARDED, (422, "Invalid tariff (field named)")),
)
async def import_json(body: TariffDefinition, who: Manager, db: DbSession) -> VersionOut:
    version, product = await service.import_tariff(db, definition=body, source="json", actor=_actor(who))
    return _out(version, product)


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
    summary="Import a tariff file (CSV or XLSX) as the product's next draft version",
    description="Needs `rates:manage`. The layout is the one `GET /tariffs/versions/{id}/export` "
    "writes (docs/quote-engine.md): one row per setting, table row, adjustment or rule. Problems "
    "name the file's row.",
    responses=responses(
        *GUARDED,
        (413, "File over the size limit"),
        (415, "Neither CSV nor XLSX"),
        (422, "Invalid tariff (row named)"),
    ),
)
async def import_file(file: UploadFile, who: Manager, db: DbSession, rt: RuntimeDep) -> VersionOut:
    content = await files.read_upload(file, limit=rt.settings.max_upload_bytes)
    kind, document = files.parse(file.filename or "", file.content_type or "", content)
    definition = service.parse_definition(document, where="file")
    version, product = await service.import_tariff(db, definition=definition, source=kind, actor=_actor(who))
    return _out(version, product)


@router.get(
    "/versions/{version_id}",
    response_model=VersionDetail,
    summary="A tariff version with its whole document",
    responses=responses(*GUARDED, NO_VERSION),
)
async def get_version(version_id: uuid.UUID, who: Reader, db: ReadSession) -> VersionDetail:
    version, product = await service.get_version(db, version_id)
    return VersionDetail(**_out(version, product).model_dump(), definition=version.definition)


@router.get(
    "/versions/{version_id}/export",
    summary="Export a tariff version as CSV or XLSX (the import layout)",
    responses={
        200: {"content": {"text/csv": {}, files.XLSX_TYPE: {}}, "description": "The tariff file"},
        **responses(*GUARDED, NO_VERSION),
    },
)
async def export_version(
    version_id: uuid.UUID,
    who: Reader,
    db: ReadSession,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    version, product = await service.get_version(db, version_id)
    body, media_type = files.export(service.definition_of(version), format)
    name = f"{product.code}-v{version.version}.{format}"
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post(
    "/versions/{version_id}/activate",
    response_model=VersionOut,
    summary="Activate a draft version",
    description="Needs `rates:manage`. Quotes dated inside its validity use it (the highest active "
    "version of a product valid on the date wins). Stored quotes keep their pinned version.",
    responses=responses(*GUARDED, NO_VERSION, (409, "Not a draft")),
)
async def activate(version_id: uuid.UUID, who: Manager, db: DbSession, rt: RuntimeDep) -> VersionOut:
    return _out(*await service.activate(db, rt=rt, version_id=version_id))


@router.post(
    "/versions/{version_id}/retire",
    response_model=VersionOut,
    summary="Retire an active version",
    responses=responses(*GUARDED, NO_VERSION, (409, "Not active")),
)
async def retire(version_id: uuid.UUID, who: Manager, db: DbSession, rt: RuntimeDep) -> VersionOut:
    return _out(*await service.retire(db, rt=rt, version_id=version_id))


@router.post(
    "/versions/{version_id}/rollback",
    response_model=RollbackOut,
    summary="Roll back to this version",
    description="Needs `rates:manage`. This version becomes active again and every later active "
    "version of the product is retired.",
    responses=responses(*GUARDED, NO_VERSION, (409, "A draft cannot be rolled back to")),
)
async def rollback(version_id: uuid.UUID, who: Manager, db: DbSession, rt: RuntimeDep) -> RollbackOut:
    version, product, retired = await service.roll_back(db, rt=rt, version_id=version_id)
    return RollbackOut(version=_out(version, product), retired_versions=retired)
