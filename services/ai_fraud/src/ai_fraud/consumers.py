"""What ai-fraud does with events: one table, topic -> event type -> handler.

* ``ai-fraud.readmodel`` (crm.customer, crm.policy): the read model of customers (identifiers,
  bank account and address change times) and policies. A policy that arrives after its claims (or
  whose type, dates or coverage change) rescores its open claims in the same transaction.
* ``ai-fraud.scoring`` (crm.claim): `claim.created` / `claim.updated` update the claim's copy and
  score it (`fraud.scored`, `fraud.alert` on entering the high band, a review case opened);
  `claim.document_added` checks an uploaded photo (bytes from the object store) and rescores.

Handlers run in the consumer's transaction with the processed-event row: a redelivered event has
no second effect.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud import flows
from ai_fraud.core.runtime import Runtime
from ai_fraud.readmodel import service as readmodel
from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.crm import (
    CLAIM_TOPIC,
    CUSTOMER_TOPIC,
    POLICY_TOPIC,
    ClaimCreated,
    ClaimDocumentAdded,
    ClaimUpdated,
    CustomerCreated,
    CustomerDeleted,
    CustomerUpdated,
    PolicyCancelled,
    PolicyCreated,
    PolicyRenewed,
)
from aintech_shared.events.consumer import ConsumerSpec, Handler


def read_model(rt: Runtime) -> ConsumerSpec:
    async def customer(session: AsyncSession, event: CloudEvent) -> None:
        created = event.type == "customer.created"
        data: CustomerCreated | CustomerUpdated = (
            event.data_as(CustomerCreated) if created else event.data_as(CustomerUpdated)
        )
        await readmodel.apply_customer(session, data=data, at=event.time)

    async def customer_gone(session: AsyncSession, event: CloudEvent) -> None:
        await readmodel.forget_customer(session, data=event.data_as(CustomerDeleted))

    async def policy(session: AsyncSession, event: CloudEvent) -> None:
        data: PolicyCreated | PolicyRenewed = (
            event.data_as(PolicyCreated) if event.type == "policy.created" else event.data_as(PolicyRenewed)
        )
        await flows.policy_arrived(session, rt=rt, data=data, trigger=event.type)

    async def cancelled(session: AsyncSession, event: CloudEvent) -> None:
        await readmodel.cancel_policy(session, data=event.data_as(PolicyCancelled))

    handlers: dict[str, Handler] = {
        "customer.created": customer,
        "customer.updated": customer,
        "customer.deleted": customer_gone,
        "policy.created": policy,
        "policy.renewed": policy,
        "policy.cancelled": cancelled,
    }
    return ConsumerSpec("ai-fraud.readmodel", [CUSTOMER_TOPIC, POLICY_TOPIC], handlers)


def scoring(rt: Runtime) -> ConsumerSpec:
    async def claim(session: AsyncSession, event: CloudEvent) -> None:
        data: ClaimCreated | ClaimUpdated = (
            event.data_as(ClaimCreated) if event.type == "claim.created" else event.data_as(ClaimUpdated)
        )
        row = await readmodel.apply_claim(session, data=data, at=event.time)
        await flows.score_and_queue(session, rt=rt, claim_id=row.id, trigger=event.type)

    async def document(session: AsyncSession, event: CloudEvent) -> None:
        await flows.document_added(session, rt=rt, data=event.data_as(ClaimDocumentAdded))

    return ConsumerSpec(
        "ai-fraud.scoring",
        [CLAIM_TOPIC],
        {"claim.created": claim, "claim.updated": claim, "claim.document_added": document},
    )


def consumer_specs(rt: Runtime) -> list[ConsumerSpec]:
    return [read_model(rt), scoring(rt)]
