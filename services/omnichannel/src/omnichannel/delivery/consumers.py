"""What omnichannel does with other contexts' events (the handlers; ``omnichannel.consumers`` routes them).

* ``auth.security``: verification, password reset, password changed, suspicious-login, e-mail change
  and "you already have an account" e-mails; ``auth.user``: the read model of platform users and the
  "your e-mail address changed" notice to the old address.
* ``crm.customer``: the read model of customers (matching senders, preferred channel, language).
* ``crm.quote``, ``crm.policy``, ``crm.claim``: the customer's template on their preferred channel
  (a renewal reminder asks for CONFIRMAR; a quote only on WhatsApp or SMS, since the CRM e-mails
  its carrier comparison), plus in-app notifications; an event about a customer not
  known here yet is parked until ``customer.created`` arrives (``parking``); ``crm.task``: the assignee
  is notified; ``crm.notification``: e-mails the CRM asks for, and the code that proves a customer's
  new phone number (texted to it, stored redacted).
* ``fraud.score``: `fraud.alert` -> a ``fraud_alert`` notification to every supervisor.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import auth, crm, fraud
from aintech_contracts.statuses import ClaimStatus
from aintech_shared.events.consumer import Handler
from omnichannel.contacts import service as contacts
from omnichannel.contacts.service import Recipient
from omnichannel.delivery import parking
from omnichannel.delivery import repository as delivery_repository
from omnichannel.messaging import outbound as outbound_queue
from omnichannel.messaging import templated
from omnichannel.notifications import service as notifications
from omnichannel.templating.service import render, render_inapp

log = structlog.get_logger("omnichannel.consumers")

# The status a claim event stands for when its payload carries none.
CLAIM_OUTCOMES: dict[str, ClaimStatus] = {
    crm.ClaimApproved.event_type: ClaimStatus.approved,
    crm.ClaimDenied.event_type: ClaimStatus.denied,
    crm.ClaimPaid.event_type: ClaimStatus.paid,
}


def _when(value: datetime) -> str:
    return value.strftime("%d/%m/%Y %H:%M UTC")


def _account_recipient(*, user_id: uuid.UUID, email: str, first_name: str, language: str = "es") -> Recipient:
    return Recipient(
        customer_id=None,
        user_id=user_id,
        first_name=first_name,
        display_name=first_name,
        language=language,
        email=email.lower(),
        mobile=None,
        preferred_channel="email",
    )


async def _account_mail(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    email: str,
    first_name: str | None,
    template: str,
    variables: dict[str, Any],
) -> None:
    """An account e-mail (transactional: consent does not apply), in the person's language."""
    contact = await contacts.for_user(session, user_id=user_id)
    account = await contacts.user(session, user_id=user_id)
    name = first_name or (account.first_name if account else "") or email.split("@", 1)[0]
    recipient = _account_recipient(
        user_id=user_id,
        email=email,
        first_name=name,
        language=contact.preferred_language if contact else "es",
    )
    await templated.send_template(
        session,
        recipient=recipient,
        template=template,
        variables=variables,
        channel="email",
        purpose="transactional",
        context={"user_id": str(user_id)},
    )


# --- authenticator -------------------------------------------------------------------------------


async def on_email_verification(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(auth.EmailVerificationRequested)
    await _account_mail(
        session,
        user_id=data.user_id,
        email=str(data.email),
        first_name=data.first_name,
        template="email_verification",
        variables={"verification_url": data.verification_url, "expires_at": _when(data.expires_at)},
    )


async def on_password_reset(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(auth.PasswordResetRequested)
    await _account_mail(
        session,
        user_id=data.user_id,
        email=str(data.email),
        first_name=data.first_name,
        template="password_reset",
        variables={"reset_url": data.reset_url, "expires_at": _when(data.expires_at)},
    )


async def on_password_changed(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(auth.PasswordChanged)
    await _account_mail(
        session,
        user_id=data.user_id,
        email=str(data.email),
        first_name=data.first_name,
        template="password_changed",
        variables={"changed_at": _when(data.changed_at)},
    )


async def on_suspicious_login(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(auth.SuspiciousLogin)
    await _account_mail(
        session,
        user_id=data.user_id,
        email=str(data.email),
        first_name=None,
        template="new_login_alert",
        variables={"reason": data.reason, "ip": data.ip or "?", "occurred_at": _when(data.occurred_at)},
    )


async def on_account_exists(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(auth.AccountExistsNotice)
    await _account_mail(
        session,
        user_id=data.user_id,
        email=str(data.email),
        first_name=data.first_name,
        template="account_exists",
        variables={"sign_in_url": data.sign_in_url, "reset_password_url": data.reset_password_url},
    )


async def on_email_change_requested(session: AsyncSession, event: CloudEvent) -> None:
    """The link that proves the new address goes to the new address (never the current one)."""
    data = event.data_as(auth.EmailChangeRequested)
    await _account_mail(
        session,
        user_id=data.user_id,
        email=str(data.new_email),
        first_name=data.first_name,
        template="email_change",
        variables={
            "new_email": str(data.new_email).lower(),
            "verification_url": data.verification_url,
            "expires_at": _when(data.expires_at),
        },
    )


async def on_email_changed(session: AsyncSession, event: CloudEvent) -> None:
    """The old address is told (a takeover must not go unnoticed); the account read model follows."""
    data = event.data_as(auth.UserEmailChanged)
    await _account_mail(
        session,
        user_id=data.user_id,
        email=str(data.old_email),
        first_name=data.first_name,
        template="email_changed",
        variables={
            "old_email": str(data.old_email).lower(),
            "new_email": str(data.new_email).lower(),
            "changed_at": _when(data.changed_at),
        },
    )
    await contacts.apply_user_email(session, user_id=data.user_id, email=str(data.new_email))


async def on_user_registered(session: AsyncSession, event: CloudEvent) -> None:
    await contacts.apply_user(session, event=event.data_as(auth.UserRegistered))


async def on_user_role_changed(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(auth.UserRoleChanged)
    await contacts.apply_user_role(session, user_id=data.user_id, role=data.new_role)


# --- CRM -----------------------------------------------------------------------------------------


async def on_customer(session: AsyncSession, event: CloudEvent) -> None:
    data: crm.CustomerCreated | crm.CustomerUpdated = (
        event.data_as(crm.CustomerCreated)
        if event.type == crm.CustomerCreated.event_type
        else event.data_as(crm.CustomerUpdated)
    )
    await contacts.apply_customer(session, event=data)
    await parking.release(session, customer_id=data.customer_id, handlers=waiting_handlers())


async def on_customer_deleted(session: AsyncSession, event: CloudEvent) -> None:
    await contacts.apply_customer_deleted(session, event=event.data_as(crm.CustomerDeleted))


async def _customer(session: AsyncSession, customer_id: uuid.UUID, event: CloudEvent) -> Recipient | None:
    """The customer to write to. Not known here yet (their ``customer.created`` is on another topic
    and may come later): the event is parked and handled again when they are. Erased: nobody."""
    contact = await contacts.get(session, customer_id=customer_id)
    if contact is None:
        await parking.park(session, event=event, customer_id=customer_id)
        return None
    if contact.deleted_at is not None:
        log.info("customer_erased", customer_id=str(customer_id), event_type=event.type)
        return None
    return contacts.recipient_of(contact)


async def on_quote_created(session: AsyncSession, event: CloudEvent) -> None:
    """A new quote, on the customer's WhatsApp or SMS. When their channel is e-mail the CRM's own
    e-mail with the carrier comparison (`crm.email_requested`) is the one message they get."""
    data = event.data_as(crm.QuoteCreated)
    recipient = await _customer(session, data.customer_id, event)
    if recipient is None:
        return
    if templated.choose_channel(recipient) == "email":
        log.info("quote_left_to_the_crm_email", quote_id=str(data.quote_id))
        return
    best = data.best_carrier or (data.carriers[0].carrier if data.carriers else "-")
    await templated.send_template(
        session,
        recipient=recipient,
        template="quote",
        variables={
            "quote_number": data.quote_number,
            "total_premium": str(data.total_premium),
            "best_carrier": best,
        },
        context={"quote_id": str(data.quote_id)},
    )


async def on_quote_converted(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(crm.QuoteConverted)
    recipient = await _customer(session, data.customer_id, event)
    if recipient is None or recipient.user_id is None:
        return
    notice = render_inapp(
        "quote_accepted",
        language=recipient.language,
        variables={
            "quote_number": data.quote_number,
            "policy_number": data.policy_number,
            "carrier": data.carrier,
        },
    )
    await notifications.notify(
        session,
        user_id=recipient.user_id,
        kind=notice.kind,
        title=notice.title,
        body=notice.body,
        data={"quote_id": str(data.quote_id), "policy_id": str(data.policy_id)},
        source_event_id=event.id,
    )


async def on_policy_expiring(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(crm.PolicyExpiringSoon)
    recipient = await _customer(session, data.customer_id, event)
    if recipient is None:
        return
    await templated.send_template(
        session,
        recipient=recipient,
        template="policy_renewal_reminder",
        variables={
            "policy_number": data.policy_number,
            "carrier": data.carrier,
            "coverage_end_date": data.coverage_end_date.strftime("%d/%m/%Y"),
            "days_left": str(data.days_left),
        },
        context={"policy_id": str(data.policy_id)},
    )
    if recipient.user_id is not None:
        notice = render_inapp(
            "policy_expiring",
            language=recipient.language,
            variables={
                "policy_number": data.policy_number,
                "carrier": data.carrier,
                "coverage_end_date": data.coverage_end_date.strftime("%d/%m/%Y"),
                "days_left": str(data.days_left),
            },
        )
        await notifications.notify(
            session,
            user_id=recipient.user_id,
            kind=notice.kind,
            title=notice.title,
            body=notice.body,
            data={"policy_id": str(data.policy_id)},
            source_event_id=event.id,
        )


async def on_claim(session: AsyncSession, event: CloudEvent) -> None:
    """A claim's new status, in the customer's language, on their channel and in the app (the
    adjuster is told in the app too)."""
    models: dict[str, type[Any]] = {
        crm.ClaimCreated.event_type: crm.ClaimCreated,
        crm.ClaimUpdated.event_type: crm.ClaimUpdated,
        crm.ClaimApproved.event_type: crm.ClaimApproved,
        crm.ClaimDenied.event_type: crm.ClaimDenied,
        crm.ClaimPaid.event_type: crm.ClaimPaid,
    }
    data: Any = event.data_as(models[event.type])
    status: ClaimStatus = CLAIM_OUTCOMES.get(event.type) or data.status
    if isinstance(data, crm.ClaimUpdated) and data.previous_status in (None, data.status):
        return  # no status change (an adjuster assigned, a field edited): nothing to tell the customer
    variables: dict[str, str] = {"claim_number": data.claim_number, "status": status.value}
    if isinstance(data, crm.ClaimApproved):
        variables["approved_amount"] = str(data.approved_amount)
    elif isinstance(data, crm.ClaimDenied):
        variables["denial_reason"] = data.reason
    elif isinstance(data, crm.ClaimPaid):
        variables["paid_amount"] = str(data.paid_amount)
    recipient = await _customer(session, data.customer_id, event)
    if recipient is not None:
        await templated.send_template(
            session,
            recipient=recipient,
            template="claim_update",
            variables=variables,
            context={"claim_id": str(data.claim_id)},
        )
    readers: dict[uuid.UUID, str | None] = {}
    if recipient is not None and recipient.user_id is not None:
        readers[recipient.user_id] = recipient.language
    adjuster = getattr(data, "adjuster_id", None)
    if adjuster is not None and adjuster not in readers:
        readers[adjuster] = await _language_of_user(session, adjuster)
    for user_id, language in readers.items():
        notice = render_inapp("claim_status_changed", language=language, variables=variables)
        await notifications.notify(
            session,
            user_id=user_id,
            kind=notice.kind,
            title=notice.title,
            body=notice.body,
            data={"claim_id": str(data.claim_id), "status": status.value},
            source_event_id=f"{event.id}:{user_id}",
        )


async def _language_of_user(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    """The preferred language of a platform user (staff included) when omnichannel knows it."""
    contact = await contacts.for_user(session, user_id=user_id)
    return contact.preferred_language if contact else None


async def on_task_created(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data_as(crm.TaskCreated)
    if data.assigned_to is None:
        return
    variables = {"title": data.title, "priority": data.priority.value}
    if data.due_date:
        variables["due_date"] = data.due_date.strftime("%d/%m/%Y")
    notice = render_inapp(
        "task_assigned",
        language=await _language_of_user(session, data.assigned_to),
        variables=variables,
    )
    await notifications.notify(
        session,
        user_id=data.assigned_to,
        kind=notice.kind,
        title=notice.title[:200],
        body=notice.body,
        data={"task_id": str(data.task_id)},
        source_event_id=event.id,
    )


# --- ai-fraud ------------------------------------------------------------------------------------


async def on_fraud_alert(session: AsyncSession, event: CloudEvent) -> None:
    """A claim entered the high fraud band: every supervisor gets a ``fraud_alert`` notification
    (once per alert and supervisor). Staff only: no customer ever hears of it."""
    data = event.data_as(fraud.FraudAlert)
    for user_id in await contacts.supervisors(session):
        language = await _language_of_user(session, user_id)
        notice = render_inapp(
            "fraud_alert",
            language=language,
            variables={
                "claim_number": data.claim_number or str(data.claim_id),
                "score": data.score,
                "summary": data.summary_en if (language or "es").startswith("en") else data.summary_es,
            },
        )
        await notifications.notify(
            session,
            user_id=user_id,
            kind=notice.kind,
            title=notice.title,
            body=notice.body,
            data={"claim_id": str(data.claim_id), "score": data.score},
            source_event_id=f"{event.id}:{user_id}",
        )


async def on_email_requested(session: AsyncSession, event: CloudEvent) -> None:
    """The CRM's own e-mail: its subject and text as written, in the ``crm_message`` template (the
    platform's layout in the requested language), with the CRM's template name kept on the message;
    once per ``request_id``."""
    data = event.data_as(crm.EmailRequested)
    if not await delivery_repository.first_email_request(session, data.request_id):
        log.info("crm_email_request_repeated", request_id=str(data.request_id))
        return
    rendered = render(
        "crm_message",
        language=data.language,
        variables={"subject": data.subject, "body": data.body_text},
    )
    await outbound_queue.queue(
        session,
        outbound=outbound_queue.Outbound(
            channel="email",
            to_address=data.to.strip().lower()[:320],
            subject=rendered.subject,
            body=rendered.text,
            html=rendered.html,
            template=data.template[:50],
            language=rendered.language,
            context={
                "request_id": str(data.request_id),
                **({"related_type": data.related_type[:50]} if data.related_type else {}),
                **({"related_id": str(data.related_id)} if data.related_id else {}),
            },
            customer_id=data.customer_id,
            display_name=data.to_name,
            purpose="transactional",
        ),
    )


async def on_contact_code_requested(session: AsyncSession, event: CloudEvent) -> None:
    """The code that proves a customer holds their new number or address, sent there (SMS or e-mail;
    the customer's record still has the old one). Stored redacted, in the address's account thread."""
    data = event.data_as(crm.ContactCodeRequested)
    by_email = data.channel == "email"
    recipient = Recipient(
        customer_id=None,
        user_id=None,
        first_name=data.first_name,
        display_name=data.first_name,
        language=data.language,
        email=data.to.strip().lower()[:320] if by_email else None,
        mobile=None if by_email else data.to,
        preferred_channel=data.channel,
    )
    await templated.send_template(
        session,
        recipient=recipient,
        template="contact_change_code",
        variables={"code": data.code, "expires_at": _when(data.expires_at)},
        channel=data.channel,
        purpose="transactional",
        context={"change_id": str(data.change_id), "customer_id": str(data.customer_id)},
    )


def waiting_handlers() -> dict[str, Handler]:
    """The handlers of events that may wait for their customer (see ``parking``)."""
    return {
        crm.QuoteCreated.event_type: on_quote_created,
        crm.QuoteConverted.event_type: on_quote_converted,
        crm.PolicyExpiringSoon.event_type: on_policy_expiring,
        crm.ClaimCreated.event_type: on_claim,
        crm.ClaimUpdated.event_type: on_claim,
        crm.ClaimApproved.event_type: on_claim,
        crm.ClaimDenied.event_type: on_claim,
        crm.ClaimPaid.event_type: on_claim,
    }
