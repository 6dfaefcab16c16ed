"""WhatsApp templates: administrators register them per purpose and language; staff read them;
Twilio (signed) tells us when Meta approved, rejected, paused or disabled one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from aintech_shared.auth import Principal
from aintech_shared.db import DbSession
from aintech_shared.errors import BadRequest, responses
from aintech_shared.webhooks import FormParams, twilio_form
from omnichannel.core.deps import Admin, Caller, ensure_staff
from omnichannel.whatsapp import service
from omnichannel.whatsapp.schemas import Language, TemplateIn, TemplateList, TemplateOut

router = APIRouter(tags=["whatsapp"])

PurposePath = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[a-z_]+$", examples=["quote"])]
LanguagePath = Annotated[Language, Path(examples=["es"])]
ADMIN_ERRORS = responses(
    (401, "Missing or invalid access token"),
    (403, "Administrators only"),
    (422, "Unknown purpose, a variable the purpose does not offer, or not a Content SID"),
)


@router.get(
    "/whatsapp/templates",
    response_model=TemplateList,
    summary="WhatsApp templates by purpose and language (with their approval status)",
    description="Staff see which business-initiated WhatsApp messages can go out of the 24-hour window, "
    "and any template Meta rejected (with the reason).",
    responses=responses((401, "Missing or invalid access token"), (403, "Staff only")),
)
async def list_templates(principal: Caller, db: DbSession) -> TemplateList:
    ensure_staff(principal)
    items = await service.listed(db)
    return TemplateList(
        items=[TemplateOut.model_validate(t) for t in items],
        purposes={k: list(v) for k, v in service.PURPOSES.items()},
    )


@router.put(
    "/whatsapp/templates/{purpose}/{language}",
    response_model=TemplateOut,
    summary="Register (or replace) the WhatsApp template of a purpose and language",
    description="`variables` name, in placeholder order, the platform variables that fill `{{1}}`, "
    "`{{2}}`, ...; each must be one the purpose offers (see `GET /whatsapp/templates`).",
    responses=ADMIN_ERRORS,
)
async def put_template(
    purpose: PurposePath, language: LanguagePath, body: TemplateIn, principal: Admin, db: DbSession
) -> TemplateOut:
    template = await service.register(
        db,
        purpose=purpose,
        language=language,
        content_sid=body.content_sid,
        variables=body.variables,
        status=body.status,
    )
    return TemplateOut.model_validate(template)


@router.delete(
    "/whatsapp/templates/{purpose}/{language}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Unregister a WhatsApp template",
    responses={**ADMIN_ERRORS, **responses((404, "No template for that purpose and language"))},
)
async def delete_template(
    purpose: PurposePath, language: LanguagePath, principal: Admin, db: DbSession
) -> None:
    await service.remove(db, purpose=purpose, language=language)


TwilioForm = Annotated[FormParams, Depends(twilio_form(check_account=False))]


@router.post(
    "/webhooks/twilio/content/status",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["webhooks"],
    summary="Twilio: a content template's WhatsApp approval status",
    description="Signed with `X-Twilio-Signature`. Form fields `ContentSid`, `ApprovalStatus` (`pending`, "
    "`approved`, `rejected`, `paused`, `disabled`) and `RejectionReason`. A rejected, paused or "
    "disabled template is pushed to the staff inbox (`whatsapp.problem`) and logged.",
    responses=responses(
        (400, "Malformed callback"),
        (403, "Missing or invalid provider signature", "Invalid Twilio signature."),
        (413, "Body larger than the webhook limit"),
        (422, "Unknown approval status"),
    ),
)
async def content_status(form: TwilioForm, db: DbSession) -> None:
    sid = str(form.get("ContentSid") or "")
    approval = str(form.get("ApprovalStatus") or "").lower()
    if not service.CONTENT_SID.match(sid) or not approval:
        raise BadRequest("ContentSid (HX…) and ApprovalStatus are required.")
    reason = form.get("RejectionReason")
    await service.apply_approval(
        db, content_sid=sid, status=approval, reason=str(reason)[:500] if reason else None
    )


__all__ = ["Principal", "router"]
