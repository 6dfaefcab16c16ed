"""WhatsApp's rule for business-initiated messages: inside the customer's 24-hour service window
(24 hours since they last wrote) free text goes; outside it only a template Meta approved does
(Twilio Content API: a content SID and its numbered variables). Templates are registered per purpose
(the platform template a message is rendered from) and language; a refusal names its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import Conflict, NotFound, UnprocessableEntity
from omnichannel.core import live
from omnichannel.core.base import utcnow
from omnichannel.templating.service import STATUS_VARIABLES, TEMPLATES, status_text
from omnichannel.whatsapp import repository
from omnichannel.whatsapp.models import TEMPLATE_STATUSES, WhatsAppTemplate

log = structlog.get_logger("omnichannel.whatsapp")

SERVICE_WINDOW = timedelta(hours=24)
CONTENT_SID = re.compile(r"^HX[0-9a-f]{32}$")
# Platform templates a business-initiated WhatsApp is rendered from: the purposes a WhatsApp
# template can be registered for, and the variables each offers to the template's placeholders.
PURPOSES: dict[str, tuple[str, ...]] = {
    name: TEMPLATES[name]
    for name in (
        "welcome",
        "quote",
        "policy_renewal_reminder",
        "policy_renewed",
        "claim_update",
        "announcement",
        "notification",
    )
}
# Twilio/WhatsApp errors that mean "this needed an (approved) template" or "Meta would not deliver it".
WHATSAPP_ERRORS: dict[str, str] = {
    "63016": "Free text outside the customer's 24-hour WhatsApp window: only an approved template goes.",
    "63024": "WhatsApp refused the recipient (not a valid WhatsApp user or blocked the business).",
    "63027": "WhatsApp did not deliver the template message (template paused, disabled or misused).",
    "63028": "The template's variables do not match its placeholders.",
    "63032": "WhatsApp would not deliver this template to the user (user's marketing choice).",
    "63049": "Meta chose not to deliver this marketing template.",
    "63112": "The WhatsApp business account was disabled by Meta.",
}

PROBLEMS = Counter(
    "omnichannel_whatsapp_problems_total",
    "WhatsApp messages refused or failed for template reasons, and templates rejected",
    ["reason"],
)


class TemplateRequired(Conflict):
    """Outside the 24-hour window with no approved template for the purpose."""

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail, reason=reason)  # ``reason`` is a member of the problem document
        self.reason = reason


@dataclass(frozen=True)
class Content:
    """What Twilio gets instead of a body: the content SID and ``{"1": value, ...}``."""

    sid: str
    variables: dict[str, str]

    def as_context(self) -> dict[str, Any]:
        return {"content_sid": self.sid, "content_variables": self.variables}


# -- registry -----------------------------------------------------------------------------------


def _invalid(field: str, message: str, detail: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        detail, errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}]
    )


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise UnprocessableEntity(
            f"No WhatsApp purpose {purpose!r}; one of {', '.join(PURPOSES)}.",
            errors=[
                {
                    "location": "path",
                    "field": "purpose",
                    "message": f"one of {', '.join(PURPOSES)}",
                    "type": "value_error",
                }
            ],
        )


async def listed(session: AsyncSession) -> list[WhatsAppTemplate]:
    """Every registered template, by purpose and language."""
    return list(await repository.listed(session))


async def register(
    session: AsyncSession,
    *,
    purpose: str,
    language: str,
    content_sid: str,
    variables: list[str],
    status: str,
) -> WhatsAppTemplate:
    """Register (or replace) the template of ``purpose`` in ``language``; 422 when a variable is not
    one the purpose offers, repeated, or the SID is not a Content SID."""
    _check_purpose(purpose)
    if not CONTENT_SID.match(content_sid):
        raise _invalid("content_sid", "HX followed by 32 hex digits", "Not a Twilio Content SID.")
    offered = PURPOSES[purpose]
    for index, name in enumerate(variables):
        if name not in offered:
            raise _invalid(
                f"variables.{index}",
                f"one of {', '.join(offered)}",
                f"Purpose {purpose!r} has no variable {name!r} (it offers {', '.join(offered)}).",
            )
    if len(set(variables)) != len(variables):
        raise _invalid("variables", "each variable once", "A variable is listed twice.")
    if status not in TEMPLATE_STATUSES:
        raise _invalid("status", f"one of {', '.join(TEMPLATE_STATUSES)}", "Unknown template status.")
    template = await repository.find(session, purpose=purpose, language=language)
    if template is None:
        template = WhatsAppTemplate(purpose=purpose, language=language)
        session.add(template)
    template.content_sid = content_sid
    template.variables = list(variables)
    template.status = status
    template.rejection_reason = None
    await session.flush()
    log.info("whatsapp_template_registered", purpose=purpose, language=language, content_sid=content_sid)
    return template


async def remove(session: AsyncSession, *, purpose: str, language: str) -> None:
    """Unregister a template (404 when there is none)."""
    _check_purpose(purpose)
    template = await repository.find(session, purpose=purpose, language=language)
    if template is None:
        raise NotFound(f"No WhatsApp template for {purpose!r} in {language!r}.")
    await session.delete(template)
    await session.flush()


async def apply_approval(session: AsyncSession, *, content_sid: str, status: str, reason: str | None) -> int:
    """Twilio's word on a content template's WhatsApp approval; a rejection (or pause, disabling)
    is pushed to the staff inbox and logged, never dropped. Returns how many registrations it touched."""
    if status not in TEMPLATE_STATUSES:
        raise UnprocessableEntity(f"Unknown approval status {status!r}.")
    touched = 0
    for template in await repository.by_content_sid(session, content_sid=content_sid):
        if template.status == status and template.rejection_reason == reason:
            continue
        template.status = status
        template.rejection_reason = reason[:500] if reason else None
        touched += 1
        if status in ("rejected", "paused", "disabled"):
            PROBLEMS.labels(f"template_{status}").inc()
            log.warning(
                "whatsapp_template_not_usable",
                purpose=template.purpose,
                language=template.language,
                content_sid=content_sid,
                status=status,
                reason=reason,
            )
            await surface(
                session,
                reason=f"template_{status}",
                detail=f"The WhatsApp template for {template.purpose!r} ({template.language}) was {status}"
                + (f": {reason}" if reason else "."),
                purpose=template.purpose,
                language=template.language,
            )
    await session.flush()
    return touched


# -- the window -----------------------------------------------------------------------------------


async def window_open(session: AsyncSession, *, address: str, now: datetime | None = None) -> bool:
    """Whether the customer at ``address`` wrote to us on WhatsApp within the last 24 hours."""
    last = await repository.last_inbound_at(session, address=address)
    return last is not None and last > (now or utcnow()) - SERVICE_WINDOW


async def require_window(session: AsyncSession, *, address: str) -> None:
    """Free text (an agent's message) goes only inside the window; 409 naming why otherwise."""
    if await window_open(session, address=address):
        return
    last = await repository.last_inbound_at(session, address=address)
    since = "has never written to us on WhatsApp" if last is None else f"last wrote at {last.isoformat()}"
    PROBLEMS.labels("window_closed").inc()
    raise TemplateRequired(
        f"The customer's 24-hour WhatsApp window is closed (the customer {since}): free text is "
        "refused; send an approved template instead (POST /messages/template).",
        reason="window_closed",
    )


def _value(purpose: str, name: str, values: dict[str, Any], language: str) -> str | None:
    raw = values.get(name)
    if raw is None or str(raw).strip() == "":
        return None
    vocabulary = STATUS_VARIABLES.get(purpose, {}).get(name)
    if vocabulary is not None:
        return status_text(vocabulary(str(raw)), language=language)
    return str(raw)[:1000]


async def content_for(
    session: AsyncSession, *, purpose: str, language: str, address: str, values: dict[str, Any]
) -> Content | None:
    """The approved template's content for a message of ``purpose`` (used whenever one exists, so
    customers always get the approved wording); None when there is none but the window is open (free
    text goes); ``TemplateRequired`` (409) when neither. A variable with no value is a 422."""
    template = await repository.find(session, purpose=purpose, language=language)
    if template is not None and template.status == "approved":
        filled: dict[str, str] = {}
        for index, name in enumerate(template.variables, start=1):
            value = _value(purpose, name, values, language)
            if value is None:
                raise _invalid(
                    f"variables.{name}",
                    "required by the WhatsApp template",
                    f"The WhatsApp template for {purpose!r} needs {name!r}.",
                )
            filled[str(index)] = value
        return Content(sid=template.content_sid, variables=filled)
    if await window_open(session, address=address):
        return None
    if template is None:
        reason, why = (
            "template_missing",
            f"no WhatsApp template is registered for {purpose!r} in {language!r}",
        )
    else:
        reason, why = (
            f"template_{template.status}",
            f"the WhatsApp template for {purpose!r} in {language!r} is {template.status}"
            + (f" ({template.rejection_reason})" if template.rejection_reason else ""),
        )
    PROBLEMS.labels(reason).inc()
    raise TemplateRequired(
        f"The customer's 24-hour WhatsApp window is closed and {why}: nothing was sent.", reason=reason
    )


async def surface(session: AsyncSession, **event: Any) -> None:
    """Tell the staff inbox (agents and supervisors, every replica) about a WhatsApp problem."""
    await live.notify(session, live.INBOX_TOPIC, {"type": "whatsapp.problem", **event})


def explain(code: str | None) -> str | None:
    """Our words for a WhatsApp error code Twilio reported (None: not a WhatsApp template error)."""
    return WHATSAPP_ERRORS.get(code or "")


class Language(StrEnum):
    es = "es"
    en = "en"
