"""The change history: reading a record's changes (with the record's own access rules), the
customer's whole history for the GDPR export, and its redaction on erasure."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core_crm.claims import service as claims
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.policies import service as policies
from core_crm.quotes import service as quotes
from core_crm.tasks import service as tasks
from core_crm.trail import repository
from core_crm.trail.models import ChangeRecord
from core_crm.workflows import service as workflows

REDACTED = "[redacted]"

# Columns whose API name differs.
RENAMED = {"attributes": "metadata"}

# What a customer reading their own records' history does not see: the brokerage's internal fields.
STAFF_ONLY_FIELDS = frozenset(
    {"owner_id", "created_by", "assigned_to", "adjuster_id", "attributes", "segment", "dedupe_key"}
)

# Personal values an erasure removes (gdpr/service.py), redacted in the history as well; per entity.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "customer": frozenset(
        {
            "first_name",
            "last_name",
            "company_name",
            "email",
            "phone",
            "mobile",
            "dni",
            "tax_id",
            "birth_date",
            "address_line1",
            "address_line2",
            "city",
            "postal_code",
            "iban",
            "notes",
            "lead_source",
            "preferred_channel",
            "user_id",
            "tags",
            "attributes",
        }
    ),
    "task": frozenset({"title", "description", "attributes"}),
}


async def ensure_readable(
    session: AsyncSession, *, viewer: Viewer, entity: str, entity_id: uuid.UUID
) -> None:
    """The record's own read rule: 404 when the viewer may not see it (a customer, another's record)."""
    if entity == "customer":
        await customers.get_customer(session, viewer=viewer, customer_id=entity_id)
    elif entity == "policy":
        await policies.get_policy(session, viewer=viewer, policy_id=entity_id)
    elif entity == "claim":
        await claims.get_claim(session, viewer=viewer, claim_id=entity_id)
    elif entity == "quote":
        await quotes.get_quote(session, viewer=viewer, quote_id=entity_id)
    elif entity == "task":
        await tasks.get_task(session, task_id=entity_id)
    else:
        await workflows.get_workflow(session, workflow_id=entity_id)


def view(record: ChangeRecord, *, staff: bool = True) -> dict[str, Any]:
    """A history row as the API shows it (internal fields left out for a customer)."""
    changes = {
        RENAMED.get(name, name): change
        for name, change in record.changes.items()
        if staff or name not in STAFF_ONLY_FIELDS
    }
    actor: dict[str, Any] = {"type": record.actor_type}
    if record.actor_type == "user":
        actor.update(id=str(record.actor_id) if record.actor_id else None, role=record.actor_role)
    return {
        "id": record.id,
        "entity": record.entity,
        "entity_id": record.entity_id,
        "operation": record.operation,
        "changes": changes,
        "actor": actor,
        "request_id": record.request_id,
        "event_id": record.event_id,
        "event_type": record.event_type,
        "changed_at": record.changed_at,
        "redacted": record.redacted_at is not None,
    }


async def history(
    session: AsyncSession,
    *,
    viewer: Viewer,
    entity: str,
    entity_id: uuid.UUID,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """One page of a record's changes, newest first, if the viewer may read the record."""
    await ensure_readable(session, viewer=viewer, entity=entity, entity_id=entity_id)
    rows, next_key = await repository.page(
        session, entity=entity, entity_id=entity_id, after=after, limit=limit
    )
    return [view(r, staff=viewer.is_staff) for r in rows], next_key


async def customer_history(
    session: AsyncSession, *, viewer: Viewer, customer_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Every change of the customer and their records, for the GDPR export (tasks for staff only)."""
    rows = await repository.of_customer(session, customer_id)
    return [
        view(r, staff=viewer.is_staff)
        for r in rows
        if viewer.is_staff or r.entity in {"customer", "policy", "claim", "quote"}
    ]


def _redacted(entity: str, changes: dict[str, Any]) -> dict[str, Any] | None:
    personal = PERSONAL_FIELDS.get(entity, frozenset())
    out: dict[str, Any] = {}
    touched = False
    for name, change in changes.items():
        if name in personal:
            masked = {
                side: (REDACTED if change.get(side) not in (None, [], {}, REDACTED) else change.get(side))
                for side in ("old", "new")
            }
            touched = touched or masked != change
            out[name] = masked
        else:
            out[name] = change
    return out if touched else None


async def redact_customer(session: AsyncSession, *, customer_id: uuid.UUID) -> int:
    """Replace the personal values in the customer's history by ``[redacted]`` (the changes stay:
    who changed which field, when). Run after the erasure itself is written, so it covers it too."""
    count = 0
    for record in await repository.of_customer(session, customer_id):
        changes = _redacted(record.entity, record.changes)
        if changes is not None:
            await repository.rewrite(session, record.id, changes)
            count += 1
    return count
