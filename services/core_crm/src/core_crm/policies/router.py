"""Policy endpoints: sell, read, search, edit, activate, cancel, renew, terms, coverage, expiring."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.instants import Day
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor, encode_cursor
from core_crm.core.preconditions import IfMatch, etag, expected_version, set_etag
from core_crm.core.runtime import RuntimeDep
from core_crm.core.transitions import RETRY_SAFE, TRANSITION_RESPONSES, Guarded, Transition
from core_crm.core.types import QueryText
from core_crm.customers.access import Viewer, read_viewer, staff
from core_crm.policies import service
from core_crm.policies.models import PolicyStatus, PolicyType
from core_crm.policies.schemas import (
    CancelRequest,
    CoverageOut,
    PolicyCreate,
    PolicyOut,
    PolicyUpdate,
    RenewRequest,
    TermOut,
)

router = APIRouter(prefix="/policies", tags=["policies"])

Reader = Annotated[Viewer, Depends(read_viewer(Permission.policies_read))]
Writer = Annotated[Viewer, Depends(staff(Permission.policies_write))]
StaffReader = Annotated[Viewer, Depends(staff(Permission.policies_read))]

GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))
NOT_FOUND = (404, "No such policy", "No such policy.")
STALE = ((412, "The policy changed since you read it"),)


def _out(response: Response, policy: object) -> PolicyOut:
    out = PolicyOut.model_validate(policy)
    set_etag(response, out.version)
    return out


async def _answer(once: Transition, policy: object) -> Response:
    out = PolicyOut.model_validate(policy)
    return await once.answer(out, headers={"ETag": etag(out.version)})


@router.get(
    "",
    response_model=CursorPage[PolicyOut],
    summary="Search and list policies",
    description="Filters combine. `q` matches a policy-number prefix or a vehicle plate. "
    "`expiring_within_days` keeps active policies whose term ends within that many days. "
    "Newest first, cursor pagination. A customer gets only their own policies.",
    responses=responses(*GUARDED, (422, "Invalid filter or cursor")),
)
async def search_policies(
    who: Reader,
    db: ReadSession,
    customer_id: uuid.UUID | None = None,
    policy_type: Annotated[PolicyType | None, Query(alias="type")] = None,
    status_: Annotated[list[PolicyStatus] | None, Query(alias="status")] = None,
    carrier: QueryText | None = None,
    q: Annotated[QueryText | None, Query(description="Policy-number prefix or plate.")] = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=365)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[PolicyOut]:
    rows, next_key = await service.search_policies(
        db,
        viewer=who,
        customer_id=customer_id,
        policy_type=policy_type.value if policy_type else None,
        statuses=[s.value for s in status_] if status_ else None,
        carrier=carrier or None,
        text=q or None,
        expiring_within_days=expiring_within_days,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CursorPage(
        items=[PolicyOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(next_key) if next_key else None,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PolicyOut,
    summary="Sell a policy",
    description="Needs `policies:write`. `details` holds the type's own fields: auto (make, model, year, "
    "plate, vin, usage), home (property_address, property_type, property_value, construction_year, "
    "square_meters), life (insured_sum, beneficiaries, smoker), health (plan, insured_people, dental, "
    "copayment), business (activity, cnae, employees, annual_revenue). The number is generated "
    "(`POL-2026-0001042`) unless the carrier's is given. Records term 1; publishes `policy.created`.",
    responses=responses(
        *GUARDED, (409, "Policy number taken"), (422, "Invalid field, type details or unknown customer")
    ),
)
async def create_policy(
    body: PolicyCreate, who: Writer, db: DbSession, rt: RuntimeDep, response: Response
) -> PolicyOut:
    policy = await service.create_policy(db, rt=rt, viewer=who, data=body)
    response.headers["Location"] = f"/policies/{policy.id}"
    return _out(response, policy)


@router.get(
    "/expiring",
    response_model=list[PolicyOut],
    summary="Policies expiring soon",
    description="Needs `policies:read` (staff). Active policies whose current term ends within `days` "
    "days (default 30), soonest first.",
    responses=responses(*GUARDED),
)
async def expiring(
    who: StaffReader,
    db: ReadSession,
    days: Annotated[int, Query(ge=0, le=365)] = 30,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PolicyOut]:
    rows = await service.expiring_policies(db, viewer=who, days=days, limit=limit)
    return [PolicyOut.model_validate(r) for r in rows]


@router.get(
    "/by-number/{policy_number}",
    response_model=PolicyOut,
    summary="Find a policy by its number",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def by_number(
    policy_number: Annotated[str, Path(max_length=100, pattern=r"^[A-Za-z0-9/._-]+$")],
    who: Reader,
    db: ReadSession,
    response: Response,
) -> PolicyOut:
    return _out(response, await service.get_by_number(db, viewer=who, number=policy_number))


@router.get(
    "/{policy_id}", response_model=PolicyOut, summary="Get a policy", responses=responses(*GUARDED, NOT_FOUND)
)
async def get_policy(policy_id: uuid.UUID, who: Reader, db: ReadSession, response: Response) -> PolicyOut:
    return _out(response, await service.get_policy(db, viewer=who, policy_id=policy_id))


@router.patch(
    "/{policy_id}",
    response_model=PolicyOut,
    summary="Edit a policy",
    description="Needs `policies:write`. Descriptive fields only: the term and premium change through "
    "`renew`. `If-Match` required (stale: 412, missing: 428).",
    responses=responses(
        *GUARDED,
        NOT_FOUND,
        (409, "The policy is cancelled"),
        *STALE,
        (
            422,
            "Invalid field, or free-form details/metadata too large, too deep or with out-of-range integers",
        ),
        (428, "If-Match missing"),
    ),
)
async def update_policy(
    policy_id: uuid.UUID,
    body: PolicyUpdate,
    who: Writer,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> PolicyOut:
    policy = await service.update_policy(
        db,
        viewer=who,
        policy_id=policy_id,
        expected_version=expected_version(if_match),
        changes=body.changes(),
    )
    return _out(response, policy)


@router.post(
    "/{policy_id}/activate",
    response_model=PolicyOut,
    summary="Activate a pending policy",
    description="Needs `policies:write`. " + RETRY_SAFE,
    responses=responses(*GUARDED, NOT_FOUND, (409, "The policy is not pending"), *TRANSITION_RESPONSES),
)
async def activate_policy(policy_id: uuid.UUID, who: Writer, db: DbSession, once: Guarded) -> Response:
    if (replayed := await once.replay(str(who.principal.user_id))) is not None:
        return replayed
    policy = await service.activate_policy(
        db, viewer=who, policy_id=policy_id, expected_version=once.expected_version
    )
    return await _answer(once, policy)


@router.post(
    "/{policy_id}/cancel",
    response_model=PolicyOut,
    summary="Cancel a policy",
    description="Needs `policies:write`. Pending or active policies only; the reason is kept. "
    "Publishes `policy.cancelled`. " + RETRY_SAFE,
    responses=responses(
        *GUARDED, NOT_FOUND, (409, "The policy is already cancelled or expired"), *TRANSITION_RESPONSES
    ),
)
async def cancel_policy(
    policy_id: uuid.UUID, body: CancelRequest, who: Writer, db: DbSession, rt: RuntimeDep, once: Guarded
) -> Response:
    if (replayed := await once.replay(str(who.principal.user_id))) is not None:
        return replayed
    policy = await service.cancel_policy(
        db,
        rt=rt,
        viewer=who,
        policy_id=policy_id,
        reason=body.reason,
        expected_version=once.expected_version,
    )
    return await _answer(once, policy)


@router.post(
    "/{policy_id}/renew",
    response_model=PolicyOut,
    summary="Renew a policy for a new term",
    description="Needs `policies:write`. Active or expired policies. The new term starts where the "
    "current one ends (by default it lasts a year) at the new premium; the previous term stays in "
    "`/policies/{id}/terms`. Publishes `policy.renewed`. " + RETRY_SAFE,
    responses=responses(
        *GUARDED,
        NOT_FOUND,
        (409, "The policy is cancelled or pending"),
        *TRANSITION_RESPONSES,
        (
            422,
            "Invalid body (the new term must end after the current one), or the Idempotency-Key was "
            "used for a different request",
            "coverage_end_date: must be after the current term's end (2026-12-20)",
        ),
    ),
)
async def renew_policy(
    policy_id: uuid.UUID, body: RenewRequest, who: Writer, db: DbSession, rt: RuntimeDep, once: Guarded
) -> Response:
    if (replayed := await once.replay(str(who.principal.user_id))) is not None:
        return replayed
    policy = await service.renew_policy(
        db,
        rt=rt,
        viewer=who,
        policy_id=policy_id,
        premium_amount=body.premium_amount,
        coverage_end_date=body.coverage_end_date,
        coverage_amount=body.coverage_amount,
        expected_version=once.expected_version,
    )
    return await _answer(once, policy)


@router.get(
    "/{policy_id}/terms",
    response_model=list[TermOut],
    summary="Every term of a policy",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def policy_terms(policy_id: uuid.UUID, who: Reader, db: ReadSession) -> list[TermOut]:
    return [
        TermOut.model_validate(t) for t in await service.policy_terms(db, viewer=who, policy_id=policy_id)
    ]


@router.get(
    "/{policy_id}/coverage",
    response_model=CoverageOut,
    summary="Was the policy in force on a date?",
    description="Covered when a term of the policy includes the date (terms run from their start "
    "date up to, not including, their end date) and the policy had not been cancelled by then.",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def coverage(
    policy_id: uuid.UUID, who: Reader, db: ReadSession, on: Annotated[Day, Query(alias="date")]
) -> CoverageOut:
    policy, covered, reason, term = await service.check_coverage(db, viewer=who, policy_id=policy_id, on=on)
    return CoverageOut(
        policy_id=policy.id,
        date=on,
        covered=covered,
        reason=reason,
        term=TermOut.model_validate(term) if term else None,
        coverage_amount=policy.coverage_amount if covered else None,
    )
