"""Queries on the local read model of accounts (on the chassis' repository base)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from aintech_shared.db import RepositoryBase
from core_crm.accounts.models import Account

STAFF_ROLES = ("agent", "supervisor")


class AccountRepository(RepositoryBase[Account]):
    model = Account

    async def upsert(self, *, user_id: uuid.UUID, values: dict[str, Any]) -> Account:
        """Insert or update an account row with the non-null ``values``; returns the row."""
        values = {k: v for k, v in values.items() if v is not None}
        statement = (
            insert(Account)
            .values(user_id=user_id, **values)
            .on_conflict_do_update(
                index_elements=[Account.user_id], set_={**values, "updated_at": func.now()}
            )
            .returning(Account)
        )
        account: Account = (
            await self.session.scalars(statement, execution_options={"populate_existing": True})
        ).one()
        return account

    async def verified_customer_by_email(self, *, email: str) -> Account | None:
        """The verified, active customer account using ``email``, if any."""
        return (
            await self.session.scalars(
                select(Account).where(
                    func.lower(Account.email) == email.lower(),
                    Account.email_verified.is_(True),
                    Account.active.is_(True),
                    Account.role == "customer",
                )
            )
        ).first()

    async def active_staff_ids(self) -> Sequence[uuid.UUID]:
        """Active agents and supervisors known from the authenticator's events."""
        rows = await self.session.scalars(
            select(Account.user_id).where(Account.role.in_(STAFF_ROLES), Account.active.is_(True))
        )
        return rows.all()
