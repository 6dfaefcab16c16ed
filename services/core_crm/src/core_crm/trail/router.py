"""Change-history endpoints: `GET /{customers|policies|quotes|tasks|workflows}/{id}/history` and
`GET /claims/{id}/changes` (a claim's `/history` is its transitions, decision 0030)."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from aintech_contracts.rbac import Permission
from aintech_shared.db import ReadSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Kind, Limit, decode_cursor
from core_crm.customers.access import Viewer, read_viewer, staff
from core_crm.trail import service
from core_crm.trail.schemas import ChangeOut

router = APIRouter(tags=["history"])

KINDS: tuple[Kind, ...] = ("datetime", "uuid")
DESCRIPTION = (
    "Every change of the record, newest first, cursor pagination: who made it (a user with their "
    "role, or the system — `event_id` names the event an automation acted on), when, through which "
    "request (`request_id`) or event, and each changed field's old and new value (on creation, the "
    "fields set). Written by the database in the same transaction as the change, so nothing changes "
    "unrecorded and a change that failed left no row. {who}"
)
SELF = "The record's own access rules apply: a customer reads only their own records (another's is 404)."
STAFF = "Staff only."


def _route(
    path: str,
    entity: str,
    reader: Callable[..., Awaitable[Viewer]],
    who: str,
    label: str,
    leaf: str = "history",
) -> None:
    reader_dep = Annotated[Viewer, Depends(reader)]

    @router.get(
        f"/{path}/{{record_id}}/{leaf}",
        response_model=CursorPage[ChangeOut],
        summary=f"Change history of a {label}",
        description=DESCRIPTION.format(who=who),
        responses=responses(
            (401, "Missing or invalid access token"),
            (403, "Missing permission"),
            (404, f"No such {label}", f"No such {label}."),
            (422, "Invalid cursor"),
        ),
        operation_id=f"{entity}_history",
    )
    async def history(
        record_id: uuid.UUID, viewer: reader_dep, db: ReadSession, cursor: Cursor = None, limit: Limit = 50
    ) -> CursorPage[Any]:
        rows, next_key = await service.history(
            db,
            viewer=viewer,
            entity=entity,
            entity_id=record_id,
            after=decode_cursor(cursor, kinds=KINDS),
            limit=limit,
        )
        return CursorPage[ChangeOut].build(rows, next_key, item=ChangeOut.model_validate)


_route("customers", "customer", read_viewer(Permission.customers_read), SELF, "customer")
_route("policies", "policy", read_viewer(Permission.policies_read), SELF, "policy")
# `/claims/{id}/history` already lists a claim's transitions and assignments (claims/router.py);
# its field-by-field change history is `/claims/{id}/changes` (decision 0030).
_route("claims", "claim", read_viewer(Permission.claims_read), SELF, "claim", leaf="changes")
_route("quotes", "quote", read_viewer(Permission.quotes_create), SELF, "quote")
_route("tasks", "task", staff(Permission.tasks_read), STAFF, "task")
_route("workflows", "workflow", staff(Permission.workflows_read), STAFF, "workflow")
