"""Policy proposals from parsed carrier documents: list, read, accept, reject (staff only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor, encode_cursor
from core_crm.core.preconditions import etag, set_etag
from core_crm.core.runtime import RuntimeDep
from core_crm.core.transitions import RETRY_SAFE, TRANSITION_RESPONSES, Guarded, Transition
from core_crm.customers.access import Viewer, staff
from core_crm.proposals import service
from core_crm.proposals.models import ProposalKind, ProposalStatus
from core_crm.proposals.schemas import AcceptRequest, ProposalOut, RejectRequest

router = APIRouter(prefix="/policy-proposals", tags=["policy proposals"])

Reader = Annotated[Viewer, Depends(staff(Permission.policies_read))]
Writer = Annotated[Viewer, Depends(staff(Permission.policies_write))]

GUARDED = ((401, "Missing or invalid access token"), (403, "Staff only: missing permission"))
NOT_FOUND = (404, "No such policy proposal", "No such policy proposal.")
DECIDED = (409, "The proposal was already accepted or rejected", "The proposal was already accepted.")


async def _answer(once: Transition, proposal: object) -> Response:
    out = ProposalOut.model_validate(proposal)
    return await once.answer(out, headers={"ETag": etag(out.version)})


@router.get(
    "",
    response_model=CursorPage[ProposalOut],
    summary="List policy proposals",
    description="Needs `policies:read` (staff). Newest first, cursor pagination; filter by `status` "
    "(repeatable) and `kind`.",
    responses=responses(*GUARDED, (422, "Invalid filter or cursor")),
)
async def list_proposals(
    who: Reader,
    db: ReadSession,
    status_: Annotated[list[ProposalStatus] | None, Query(alias="status")] = None,
    kind: ProposalKind | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[ProposalOut]:
    rows, next_key = await service.search(
        db,
        statuses=[s.value for s in status_] if status_ else None,
        kind=kind.value if kind else None,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CursorPage(
        items=[ProposalOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(next_key) if next_key else None,
    )


@router.get(
    "/{proposal_id}",
    response_model=ProposalOut,
    summary="Get a policy proposal",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def get_proposal(
    proposal_id: uuid.UUID, who: Reader, db: ReadSession, response: Response
) -> ProposalOut:
    out = ProposalOut.model_validate(await service.get(db, proposal_id=proposal_id))
    set_etag(response, out.version)
    return out


@router.post(
    "/{proposal_id}/accept",
    response_model=ProposalOut,
    summary="Accept a policy proposal",
    description="Needs `policies:write`. `reconcile`: the differing fields are written to the policy "
    "through the policies service (descriptive fields as an edit, dates and premium as a correction "
    "of the current term). `create`: the policy is sold (`policy.created`) to the matched holder or "
    "the `customer_id` given. A flagged or unreadable field is applied only with your value in "
    "`values`. " + RETRY_SAFE,
    responses=responses(
        *GUARDED,
        NOT_FOUND,
        DECIDED,
        *TRANSITION_RESPONSES,
        (422, "A value is invalid, or the policy cannot be created without a customer or a field"),
    ),
)
async def accept(
    proposal_id: uuid.UUID, body: AcceptRequest, who: Writer, db: DbSession, rt: RuntimeDep, once: Guarded
) -> Response:
    if (replayed := await once.replay(str(who.principal.user_id))) is not None:
        return replayed
    proposal = await service.accept(
        db,
        rt=rt,
        viewer=who,
        proposal_id=proposal_id,
        expected_version=once.expected_version,
        values=body.values,
        create=body.create_options(),
    )
    return await _answer(once, proposal)


@router.post(
    "/{proposal_id}/reject",
    response_model=ProposalOut,
    summary="Reject a policy proposal",
    description="Needs `policies:write`. Nothing is changed; the reason is kept. " + RETRY_SAFE,
    responses=responses(*GUARDED, NOT_FOUND, DECIDED, *TRANSITION_RESPONSES),
)
async def reject(
    proposal_id: uuid.UUID, body: RejectRequest, who: Writer, db: DbSession, once: Guarded
) -> Response:
    if (replayed := await once.replay(str(who.principal.user_id))) is not None:
        return replayed
    proposal = await service.reject(
        db, viewer=who, proposal_id=proposal_id, expected_version=once.expected_version, reason=body.reason
    )
    return await _answer(once, proposal)
