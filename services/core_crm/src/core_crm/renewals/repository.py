"""Queries on renewal confirmations (on the chassis' repository base)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from aintech_contracts.statuses import PolicyStatus
from aintech_shared.db import RepositoryBase
from core_crm.policies.models import Policy
from core_crm.renewals.models import AutoRenewal, AutoRenewalStatus, RenewalConfirmation


class RenewalConfirmationRepository(RepositoryBase[RenewalConfirmation]):
    model = RenewalConfirmation

    async def by_reminder(self, *, reminder_message_id: uuid.UUID) -> RenewalConfirmation | None:
        """The confirmation already recorded for a reminder message, if any."""
        return await self.find_one(reminder_message_id=reminder_message_id)

    async def for_policy(self, *, policy_id: uuid.UUID) -> list[RenewalConfirmation]:
        """A policy's confirmations, oldest first."""
        return await self.find(policy_id=policy_id, order_by=[RenewalConfirmation.confirmed_at])


class AutoRenewalRepository(RepositoryBase[AutoRenewal]):
    model = AutoRenewal

    async def by_request(self, *, request_id: uuid.UUID, for_update: bool = False) -> AutoRenewal | None:
        """The automatic renewal a pricing request was sent for, if any."""
        query = select(AutoRenewal).where(AutoRenewal.request_id == request_id)
        if for_update:
            query = query.with_for_update()
        return await self.one_or_none(query)

    async def for_policy(self, *, policy_id: uuid.UUID) -> list[AutoRenewal]:
        """A policy's automatic renewals, oldest term first."""
        return await self.find(policy_id=policy_id, order_by=[AutoRenewal.term_number])

    async def policies_to_price(self, *, today: date, until: date, limit: int) -> list[Policy]:
        """Active auto-renewing policies due by ``until`` whose current term was not priced yet (locked)."""
        asked = select(AutoRenewal.id).where(
            AutoRenewal.policy_id == Policy.id, AutoRenewal.term_number == Policy.term_number
        )
        query = (
            select(Policy)
            .where(
                Policy.auto_renew.is_(True),
                Policy.status == PolicyStatus.active,
                Policy.coverage_end_date >= today,
                Policy.coverage_end_date <= until,
                ~asked.exists(),
            )
            .order_by(Policy.coverage_end_date, Policy.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(query)).all())

    async def due(self, *, today: date, limit: int) -> list[AutoRenewal]:
        """Priced renewals whose due date has come (locked, skipping rows another run holds)."""
        query = (
            select(AutoRenewal)
            .where(AutoRenewal.status == AutoRenewalStatus.priced, AutoRenewal.due_date <= today)
            .order_by(AutoRenewal.due_date, AutoRenewal.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return await self.all(query)
