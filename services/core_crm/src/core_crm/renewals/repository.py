"""Queries on renewal confirmations (on the chassis' repository base)."""

from __future__ import annotations

import uuid

from aintech_shared.db import RepositoryBase
from core_crm.renewals.models import RenewalConfirmation


class RenewalConfirmationRepository(RepositoryBase[RenewalConfirmation]):
    model = RenewalConfirmation

    async def by_reminder(self, *, reminder_message_id: uuid.UUID) -> RenewalConfirmation | None:
        """The confirmation already recorded for a reminder message, if any."""
        return await self.find_one(reminder_message_id=reminder_message_id)

    async def for_policy(self, *, policy_id: uuid.UUID) -> list[RenewalConfirmation]:
        """A policy's confirmations, oldest first."""
        return await self.find(policy_id=policy_id, order_by=[RenewalConfirmation.confirmed_at])
