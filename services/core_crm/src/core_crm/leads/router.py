"""`POST /webhooks/leads/{source}`: signed inbound leads (web forms, Zapier). Public (no token):
the HMAC signature of the source is the credential."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, status
from pydantic import ValidationError

from aintech_shared.db import DbSession
from aintech_shared.errors import UnprocessableEntity, responses
from aintech_shared.webhooks import read_body
from core_crm.core.actor import acting_as_system
from core_crm.core.runtime import RuntimeDep
from core_crm.leads import service
from core_crm.leads.schemas import LEAD_EXAMPLE, LeadIn, LeadOut

router = APIRouter(prefix="/webhooks/leads", tags=["leads"])

MAX_BYTES = 32 * 1024


@router.post(
    "/{source}",
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
            "content": {"application/json": {"schema": LeadIn.model_json_schema(), "example": LEAD_EXAMPLE}},
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
