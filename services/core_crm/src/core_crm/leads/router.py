"""Leads: `POST /webhooks/leads/{source}` (signed inbound leads from web forms and Zapier; public,
the HMAC signature of the source is the credential), `GET /leads` best first, a customer's score."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, status
from pydantic import ValidationError

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import UnprocessableEntity, responses
from aintech_shared.pagination import Cursor, CursorPage, Kind, Limit, decode_cursor
from aintech_shared.webhooks import read_body
from core_crm.core.actor import acting_as_system
from core_crm.core.runtime import RuntimeDep
from core_crm.customers.access import Viewer, staff
from core_crm.leads import service
from core_crm.leads.schemas import LEAD_EXAMPLE, LeadIn, LeadOut, LeadScoreOut, RankedLead

router = APIRouter(tags=["leads"])

MAX_BYTES = 32 * 1024


def _lead_schema() -> dict[str, Any]:
    """The lead body's schema (the body is read raw, for its signature, so FastAPI does not see
    it): its references point at the document's components, where the free-form metadata's
    ``JsonValue`` already is (every other free-form object of the service refers to it)."""
    schema = LeadIn.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


@router.post(
    "/webhooks/leads/{source}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=LeadOut,
    summary="Receive a lead (web form, Zapier)",
    description="Public, signed: `X-Lead-Timestamp` (Unix seconds, within "
    "`CORE_CRM_LEAD_SIGNATURE_TOLERANCE_SECONDS` of now) and `X-Lead-Signature: sha256=<hex "
    'HMAC-SHA256(source secret, timestamp + "." + raw body)>`, with the source\'s secret from '
    "`CORE_CRM_LEAD_SOURCES`. The lead is matched to a live customer by e-mail, then phone, then "
    "DNI/NIE, or becomes a new prospect (`lead_source` = the source, tagged `lead:<source>`); its "
    "source and campaign are kept, and `lead.received` starts the lead workflows. The same signed "
    "delivery again is 409; a bad, missing or stale signature 403; an unknown source 404; nothing "
    "is stored on any refusal.",
    responses=responses(
        (403, "Missing, stale or invalid signature"),
        (404, "Unknown lead source"),
        (409, "Replayed delivery"),
        (413, "Body too large"),
        (422, "Invalid lead"),
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _lead_schema(), "example": LEAD_EXAMPLE}},
        }
    },
)
async def receive_lead(
    source: Annotated[str, Path(max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$")],
    request: Request,
    db: DbSession,
    rt: RuntimeDep,
    x_lead_timestamp: Annotated[str | None, Header(max_length=20)] = None,
    x_lead_signature: Annotated[str | None, Header(max_length=200)] = None,
) -> LeadOut:
    acting_as_system()
    body = await read_body(request, MAX_BYTES)
    digest = service.verify(
        rt=rt, source=source, timestamp=x_lead_timestamp, signature=x_lead_signature, body=body
    )
    try:
        lead = LeadIn.model_validate_json(body)
    except ValidationError as exc:
        raise UnprocessableEntity(
            "The lead is not valid.",
            errors=[
                {
                    "location": "body",
                    "field": ".".join(str(p) for p in e["loc"]) or "body",
                    "message": e["msg"],
                    "type": e["type"],
                }
                for e in exc.errors()
            ],
        ) from exc
    row = await service.receive(db, rt=rt, source=source, digest=digest, lead=lead)
    return LeadOut(
        lead_id=row.id, customer_id=row.customer_id, matched=row.matched, matched_by=row.matched_by
    )


StaffReader = Annotated[Viewer, Depends(staff(Permission.customers_read))]
RANK_KINDS: tuple[Kind, ...] = ("int", "uuid")
STAFF = ((401, "Missing or invalid access token"), (403, "Staff with customers:read only"))


@router.get(
    "/leads",
    response_model=CursorPage[RankedLead],
    summary="Leads, best first",
    description="Scored customers (prospects by default) sorted by lead score, highest first, with "
    "the reasons of each score (source, completeness, replies, quotes requested, calls). Scores are "
    "recomputed when a lead arrives and on every interaction, quote or customer change. Cursor "
    "pagination.",
    responses=responses(*STAFF, (422, "Invalid filter or cursor")),
)
async def ranked_leads(
    _: StaffReader,
    db: ReadSession,
    status_: Annotated[list[Literal["prospect", "active", "inactive"]] | None, Query(alias="status")] = None,
    min_score: Annotated[int, Query(ge=0, le=100)] = 0,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[RankedLead]:
    rows, next_key = await service.ranked(
        db,
        statuses=list(status_ or ["prospect"]),
        min_score=min_score,
        after=decode_cursor(cursor, kinds=RANK_KINDS),
        limit=limit,
    )
    return CursorPage[RankedLead].build(rows, next_key, item=RankedLead.model_validate)


@router.get(
    "/customers/{customer_id}/lead-score",
    response_model=LeadScoreOut,
    summary="A customer's lead score and why",
    responses=responses(*STAFF, (404, "No lead score", "This customer has no lead score.")),
)
async def lead_score(customer_id: uuid.UUID, _: StaffReader, db: ReadSession) -> LeadScoreOut:
    return LeadScoreOut.model_validate(await service.score_of(db, customer_id=customer_id))
