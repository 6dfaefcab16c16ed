"""The queries of the GDPR erasure."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core_crm.interactions.models import Interaction
from core_crm.tasks.models import Task


async def anonymise_activity(session: AsyncSession, customer_id: uuid.UUID) -> dict[str, int]:
    """Remove the content of a customer's interactions and tasks (the fact they happened stays)."""
    interactions = await session.execute(
        update(Interaction)
        .where(Interaction.customer_id == customer_id)
        .values(subject=None, description=None, recording_url=None, attributes={}, tags=[])
    )
    tasks = await session.execute(
        update(Task).where(Task.customer_id == customer_id).values(description=None, attributes={})
    )
    return {
        "interactions": int(getattr(interactions, "rowcount", 0) or 0),
        "tasks": int(getattr(tasks, "rowcount", 0) or 0),
    }
