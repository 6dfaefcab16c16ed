"""A small event history built from the contracts' own models (what the services publish)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.base import EventData
from aintech_contracts.events.crm import (
    ClaimApproved,
    ClaimCreated,
    ClaimDenied,
    ClaimPaid,
    CustomerCreated,
    PolicyCancelled,
    PolicyCreated,
    PolicyRenewed,
    QuoteConverted,
    QuoteCreated,
)
from aintech_contracts.events.omnichannel import MessageReceived, MessageSent
from aintech_contracts.events.telephony import CallEnded


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class History:
    """Events with their time, in the order a test adds them."""

    def __init__(self) -> None:
        self.events: list[tuple[CloudEvent, str]] = []

    def add(self, payload: EventData, when: datetime, *, key: str) -> CloudEvent:
        event = CloudEvent.wrap(
            payload, type_=payload.event_type, source="test", subject=key, partitionkey=key
        )
        event = event.model_copy(update={"time": when})
        self.events.append((event, payload.topic))
        return event

    def customer(self, *, province: str, when: datetime) -> uuid.UUID:
        customer_id = uuid.uuid4()
        self.add(
            CustomerCreated(
                customer_id=customer_id,
                customer_type="individual",
                first_name="Lucía",
                last_name="Martín",
                status="active",
                province=province,
            ),
            when,
            key=str(customer_id),
        )
        return customer_id

    def policy(
        self,
        customer_id: uuid.UUID,
        *,
        start: date,
        premium: str,
        carrier: str = "Mapfre",
        line: str = "home",
        days: int = 365,
        quote_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        policy_id = uuid.uuid4()
        self.add(
            PolicyCreated(
                policy_id=policy_id,
                policy_number=f"POL-{policy_id.hex[:8]}",
                policy_type=line,
                carrier=carrier,
                customer_id=customer_id,
                status="active",
                coverage_start_date=start,
                coverage_end_date=start + timedelta(days=days),
                premium_amount=Decimal(premium),
                premium_frequency="annual",
                quote_id=quote_id,
            ),
            at(start),
            key=str(policy_id),
        )
        return policy_id

    def renew(
        self,
        policy_id: uuid.UUID,
        customer_id: uuid.UUID,
        *,
        previous_start: date,
        start: date,
        premium: str,
        previous_premium: str,
        carrier: str = "Mapfre",
        line: str = "home",
        term: int = 2,
    ) -> None:
        self.add(
            PolicyRenewed(
                policy_id=policy_id,
                policy_number=f"POL-{policy_id.hex[:8]}",
                policy_type=line,
                carrier=carrier,
                customer_id=customer_id,
                status="active",
                coverage_start_date=start,
                coverage_end_date=start + timedelta(days=365),
                premium_amount=Decimal(premium),
                premium_frequency="annual",
                previous_start_date=previous_start,
                previous_end_date=start,
                previous_premium_amount=Decimal(previous_premium),
                term_number=term,
            ),
            at(start) - timedelta(days=20),
            key=str(policy_id),
        )

    def cancel(
        self, policy_id: uuid.UUID, customer_id: uuid.UUID, *, on: date, carrier: str = "Mapfre"
    ) -> None:
        self.add(
            PolicyCancelled(
                policy_id=policy_id,
                policy_number=f"POL-{policy_id.hex[:8]}",
                policy_type="home",
                carrier=carrier,
                customer_id=customer_id,
                reason="customer request",
                cancelled_at=at(on),
            ),
            at(on),
            key=str(policy_id),
        )

    def claim(
        self,
        customer_id: uuid.UUID,
        policy_id: uuid.UUID,
        *,
        on: date,
        claimed: str,
        outcome: str = "open",
        approved: str | None = None,
        paid: str | None = None,
    ) -> uuid.UUID:
        claim_id = uuid.uuid4()
        number = f"CLM-{claim_id.hex[:8]}"
        actor = uuid.uuid4()
        self.add(
            ClaimCreated(
                claim_id=claim_id,
                claim_number=number,
                claim_type="water_damage",
                status="reported",
                customer_id=customer_id,
                policy_id=policy_id,
                policy_number="POL",
                incident_date=at(on),
                description="Fuga de agua",
                claimed_amount=Decimal(claimed),
            ),
            at(on),
            key=str(claim_id),
        )
        later = at(on) + timedelta(days=5)
        if outcome == "denied":
            self.add(
                ClaimDenied(
                    claim_id=claim_id,
                    claim_number=number,
                    customer_id=customer_id,
                    policy_id=policy_id,
                    reason="not covered",
                    denied_by=actor,
                ),
                later,
                key=str(claim_id),
            )
        if approved is not None:
            self.add(
                ClaimApproved(
                    claim_id=claim_id,
                    claim_number=number,
                    customer_id=customer_id,
                    policy_id=policy_id,
                    claimed_amount=Decimal(claimed),
                    approved_amount=Decimal(approved),
                    approved_by=actor,
                ),
                later,
                key=str(claim_id),
            )
        if paid is not None:
            self.add(
                ClaimPaid(
                    claim_id=claim_id,
                    claim_number=number,
                    customer_id=customer_id,
                    policy_id=policy_id,
                    approved_amount=Decimal(approved or paid),
                    paid_amount=Decimal(paid),
                    paid_at=later + timedelta(days=3),
                ),
                later + timedelta(days=3),
                key=str(claim_id),
            )
        return claim_id

    def quote(self, customer_id: uuid.UUID, *, on: date, premium: str, line: str = "home") -> uuid.UUID:
        quote_id = uuid.uuid4()
        self.add(
            QuoteCreated(
                quote_id=quote_id,
                quote_number=f"Q-{quote_id.hex[:8]}",
                quote_type=line,
                customer_id=customer_id,
                status="sent",
                base_premium=Decimal(premium),
                total_premium=Decimal(premium),
                carriers=[],
                best_carrier="Mapfre",
            ),
            at(on),
            key=str(quote_id),
        )
        return quote_id

    def convert(self, quote_id: uuid.UUID, customer_id: uuid.UUID, policy_id: uuid.UUID, *, on: date) -> None:
        self.add(
            QuoteConverted(
                quote_id=quote_id,
                quote_number=f"Q-{quote_id.hex[:8]}",
                customer_id=customer_id,
                policy_id=policy_id,
                policy_number=f"POL-{policy_id.hex[:8]}",
                carrier="Mapfre",
                total_premium=Decimal("300.00"),
                converted_at=at(on),
            ),
            at(on),
            key=str(quote_id),
        )

    def call(
        self,
        agent_id: uuid.UUID,
        customer_id: uuid.UUID | None,
        *,
        on: datetime,
        seconds: int,
        answered: bool = True,
    ) -> None:
        call_id = uuid.uuid4()
        self.add(
            CallEnded(
                call_id=call_id,
                call_sid=f"CA{call_id.hex}",
                direction="inbound",
                customer_id=customer_id,
                customer_phone="+34600000000",
                agent_id=agent_id,
                status="completed" if answered else "no-answer",
                outcome="answered" if answered else "missed",
                duration_seconds=seconds if answered else 0,
                answered_at=on - timedelta(seconds=seconds) if answered else None,
                ended_at=on,
            ),
            on,
            key=str(call_id),
        )

    def message_in(self, conversation_id: uuid.UUID, *, channel: str, when: datetime) -> None:
        message_id = uuid.uuid4()
        self.add(
            MessageReceived(
                message_id=message_id,
                conversation_id=conversation_id,
                channel=channel,
                from_address="+34600000000",
                preview="Hola",
                received_at=when,
            ),
            when,
            key=str(conversation_id),
        )

    def message_out(self, conversation_id: uuid.UUID, *, channel: str, when: datetime) -> None:
        message_id = uuid.uuid4()
        self.add(
            MessageSent(
                message_id=message_id,
                conversation_id=conversation_id,
                channel=channel,
                to_address="+34600000000",
                status="sent",
                provider="console",
                sent_at=when,
            ),
            when,
            key=str(conversation_id),
        )
