"""Claim endpoints: report, read, search, edit, the state machine, assignment, notes, documents."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile, status

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession, ReadSession
from aintech_shared.errors import responses
from aintech_shared.objectstore import range_response
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor, encode_cursor
from core_crm.claims import files, service
from core_crm.claims.models import Claim, ClaimStatus
from core_crm.claims.schemas import (
    ApproveRequest,
    AssignRequest,
    ClaimCreate,
    ClaimOut,
    ClaimUpdate,
    DenyRequest,
    DocumentOut,
    HistoryOut,
    NoteCreate,
    NoteOut,
    PayRequest,
    TransitionNote,
)
from core_crm.core.preconditions import IfMatch, etag, expected_version, set_etag
from core_crm.core.runtime import RuntimeDep
from core_crm.core.transitions import RETRY_SAFE, TRANSITION_RESPONSES, Guarded, Transition
from core_crm.core.types import QueryText
from core_crm.customers.access import Viewer, read_viewer, staff, viewer

router = APIRouter(prefix="/claims", tags=["claims"])

Reader = Annotated[Viewer, Depends(read_viewer(Permission.claims_read))]
Reporter = Annotated[Viewer, Depends(viewer(Permission.claims_write))]
Handler = Annotated[Viewer, Depends(staff(Permission.claims_write))]
Approver = Annotated[Viewer, Depends(staff(Permission.claims_approve))]

GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))
NOT_FOUND = (404, "No such claim", "No such claim.")
ILLEGAL = (
    409,
    "Illegal transition",
    "A claim that is reported cannot become approved (allowed next: investigating).",
)
STALE = (412, "The claim changed since you read it")


def _out(response: Response, claim: Claim) -> ClaimOut:
    set_etag(response, claim.version)
    return ClaimOut.model_validate(claim)


async def _answer(once: Transition, claim: Claim) -> Response:
    return await once.answer(ClaimOut.model_validate(claim), headers={"ETag": etag(claim.version)})


@router.get(
    "",
    response_model=CursorPage[ClaimOut],
    summary="Search and list claims",
    description="Filters combine; newest first; cursor pagination. A customer gets only their own claims.",
    responses=responses(*GUARDED, (422, "Invalid filter or cursor")),
)
async def search_claims(
    who: Reader,
    db: ReadSession,
    customer_id: uuid.UUID | None = None,
    policy_id: uuid.UUID | None = None,
    status_: Annotated[list[ClaimStatus] | None, Query(alias="status")] = None,
    adjuster_id: uuid.UUID | None = None,
    number: Annotated[QueryText | None, Query(description="Exact claim number.")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[ClaimOut]:
    rows, next_key = await service.search_claims(
        db,
        viewer=who,
        customer_id=customer_id,
        policy_id=policy_id,
        statuses=[s.value for s in status_] if status_ else None,
        adjuster_id=adjuster_id,
        number=number or None,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CursorPage(
        items=[ClaimOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(next_key) if next_key else None,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ClaimOut,
    summary="Report a claim",
    description="Staff with `claims:write`, or a customer on their own policy. The policy must be "
    "active and have covered the incident's date (local time in Spain). The claim starts `reported`; "
    "an adjuster is assigned automatically (the one with the fewest open claims). Publishes `claim.created`.",
    responses=responses(
        *GUARDED, (404, "No such policy"), (422, "Not covered on that date, or invalid field")
    ),
)
async def report_claim(
    body: ClaimCreate, who: Reporter, db: DbSession, rt: RuntimeDep, response: Response
) -> ClaimOut:
    claim = await service.report_claim(db, rt=rt, viewer=who, data=body)
    response.headers["Location"] = f"/claims/{claim.id}"
    return _out(response, claim)


@router.get(
    "/{claim_id}", response_model=ClaimOut, summary="Get a claim", responses=responses(*GUARDED, NOT_FOUND)
)
async def get_claim(claim_id: uuid.UUID, who: Reader, db: ReadSession, response: Response) -> ClaimOut:
    return _out(response, await service.get_claim(db, viewer=who, claim_id=claim_id))


@router.patch(
    "/{claim_id}",
    response_model=ClaimOut,
    summary="Edit an open claim",
    description="Needs `claims:write`. Only while `reported` or `investigating`. `If-Match` required.",
    responses=responses(*GUARDED, NOT_FOUND, (409, "The claim is decided"), STALE, (428, "If-Match missing")),
)
async def update_claim(
    claim_id: uuid.UUID,
    body: ClaimUpdate,
    who: Handler,
    db: DbSession,
    rt: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimOut:
    claim = await service.update_claim(
        db,
        rt=rt,
        viewer=who,
        claim_id=claim_id,
        expected_version=expected_version(if_match),
        changes=body.changes(),
    )
    return _out(response, claim)


@router.post(
    "/{claim_id}/investigate",
    response_model=ClaimOut,
    summary="Start investigating (reported -> investigating)",
    description="Needs `claims:write`. Publishes `claim.updated`.",
    responses=responses(*GUARDED, NOT_FOUND, ILLEGAL, STALE),
)
async def investigate(
    claim_id: uuid.UUID,
    who: Handler,
    db: DbSession,
    rt: RuntimeDep,
    response: Response,
    body: TransitionNote | None = None,
    if_match: IfMatch = None,
) -> ClaimOut:
    claim = await service.start_investigation(
        db,
        rt=rt,
        viewer=who,
        claim_id=claim_id,
        note=body.note if body else None,
        expected_version=expected_version(if_match, required=False),
    )
    return _out(response, claim)


@router.post(
    "/{claim_id}/approve",
    response_model=ClaimOut,
    summary="Approve (investigating -> approved)",
    description="Needs `claims:approve`. The amount may not exceed the policy's coverage nor the "
    "claimed amount. Publishes `claim.approved`. " + RETRY_SAFE,
    responses=responses(
        *GUARDED, NOT_FOUND, ILLEGAL, *TRANSITION_RESPONSES, (422, "Amount above coverage or claim")
    ),
)
async def approve(
    claim_id: uuid.UUID, body: ApproveRequest, who: Approver, db: DbSession, rt: RuntimeDep, once: Guarded
) -> Response:
    if (replayed := await once.replay(str(who.principal.user_id))) is not None:
        return replayed
    claim = await service.approve_claim(
        db,
        rt=rt,
        viewer=who,
        claim_id=claim_id,
        amount=body.amount,
        note=body.note,
        expected_version=once.expected_version,
    )
    return await _answer(once, claim)


@router.post(
    "/{claim_id}/deny",
    response_model=ClaimOut,
    summary="Deny (investigating -> denied)",
    description="Needs `claims:approve`. The reason is shown to the customer. Publishes `claim.denied`.",
    responses=responses(*GUARDED, NOT_FOUND, ILLEGAL, STALE),
)
async def deny(
    claim_id: uuid.UUID,
    body: DenyRequest,
    who: Approver,
    db: DbSession,
    rt: RuntimeDep,
    response: Response,
    if_match: IfMatch = None,
) -> ClaimOut:
    claim = await service.deny_claim(
        db,
        rt=rt,
        viewer=who,
        claim_id=claim_id,
        reason=body.reason,
        expected_version=expected_version(if_match, required=False),
    )
    return _out(response, claim)


@router.post(
    "/{claim_id}/pay",
    response_model=ClaimOut,
    summary="Record the payment (approved -> paid)",
    description="Needs `claims:approve`. Pays the approved amount unless a smaller one is given. "
    "Publishes `claim.paid`. " + RETRY_SAFE,
    responses=responses(
        *GUARDED, NOT_FOUND, ILLEGAL, *TRANSITION_RESPONSES, (422, "Amount above the approved amount")
    ),
)
async def pay(
    claim_id: uuid.UUID,
    who: Approver,
    db: DbSession,
    rt: RuntimeDep,
    once: Guarded,
    body: PayRequest | None = None,
) -> Response:
    if (replayed := await once.replay(str(who.principal.user_id))) is not None:
        return replayed
    claim = await service.pay_claim(
        db,
        rt=rt,
        viewer=who,
        claim_id=claim_id,
        amount=body.amount if body else None,
        payment_reference=body.payment_reference if body else None,
        expected_version=once.expected_version,
    )
    return await _answer(once, claim)


@router.post(
    "/{claim_id}/assign",
    response_model=ClaimOut,
    summary="Assign an adjuster",
    description="Needs `claims:write`. Open claims only. Publishes `claim.updated`. " + RETRY_SAFE,
    responses=responses(*GUARDED, NOT_FOUND, (409, "The claim is decided"), *TRANSITION_RESPONSES),
)
async def assign(
    claim_id: uuid.UUID, body: AssignRequest, who: Handler, db: DbSession, rt: RuntimeDep, once: Guarded
) -> Response:
    if (replayed := await once.replay(str(who.principal.user_id))) is not None:
        return replayed
    claim = await service.assign(
        db,
        rt=rt,
        viewer=who,
        claim_id=claim_id,
        adjuster_id=body.adjuster_id,
        expected_version=once.expected_version,
    )
    return await _answer(once, claim)


@router.get(
    "/{claim_id}/history",
    response_model=list[HistoryOut],
    summary="Every transition of a claim",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def history(claim_id: uuid.UUID, who: Reader, db: ReadSession) -> list[HistoryOut]:
    return [
        HistoryOut.model_validate(h) for h in await service.claim_history(db, viewer=who, claim_id=claim_id)
    ]


@router.get(
    "/{claim_id}/notes",
    response_model=list[NoteOut],
    summary="Notes on a claim",
    description="Customers see only notes not marked internal.",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def notes(claim_id: uuid.UUID, who: Reader, db: ReadSession) -> list[NoteOut]:
    return [NoteOut.model_validate(n) for n in await service.claim_notes(db, viewer=who, claim_id=claim_id)]


@router.post(
    "/{claim_id}/notes",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
    summary="Add a note",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def add_note(claim_id: uuid.UUID, body: NoteCreate, who: Reporter, db: DbSession) -> NoteOut:
    note = await service.add_note(db, viewer=who, claim_id=claim_id, body=body.body, internal=body.internal)
    return NoteOut.model_validate(note)


@router.get(
    "/{claim_id}/documents",
    response_model=list[DocumentOut],
    summary="Documents of a claim",
    responses=responses(*GUARDED, NOT_FOUND),
)
async def documents(claim_id: uuid.UUID, who: Reader, db: ReadSession) -> list[DocumentOut]:
    return [
        DocumentOut.model_validate(d)
        for d in await service.claim_documents(db, viewer=who, claim_id=claim_id)
    ]


DOCUMENT_TYPE = r"^[a-z][a-z0-9_]{0,49}$"
FILE_CHUNK = 64 * 1024


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    await upload.seek(0)
    while chunk := await upload.read(FILE_CHUNK):
        yield chunk


@router.post(
    "/{claim_id}/documents",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentOut,
    summary="Upload a document (photo or PDF)",
    description="`multipart/form-data` with the file in `file` (and optionally `document_type`, e.g. "
    "`photo`, `invoice`, `police_report`). The type is recognised from the content: JPEG, PNG or PDF "
    "(HEIC is refused: the photo checks cannot read it). At most `CORE_CRM_DOCUMENT_MAX_BYTES` (8 MB "
    "by default). The SHA-256 and size are recorded. Staff with `claims:write`, or the customer on "
    "their own claim; not once the claim is denied or paid. Publishes `claim.document_added`.",
    responses=responses(
        *GUARDED,
        NOT_FOUND,
        (409, "The claim is closed"),
        (413, "Larger than the document limit"),
        (422, "Not a JPEG, PNG or PDF, or no file"),
    ),
)
async def add_document(
    claim_id: uuid.UUID,
    who: Reporter,
    db: DbSession,
    rt: RuntimeDep,
    file: Annotated[UploadFile, File(description="The photo or PDF itself.")],
    document_type: Annotated[
        str | None, Form(pattern=DOCUMENT_TYPE, description="What the document is (lower-case word).")
    ] = None,
) -> DocumentOut:
    head = await file.read(files.SNIFF_BYTES)
    document = await service.add_document(
        db,
        rt=rt,
        viewer=who,
        claim_id=claim_id,
        filename=file.filename,
        head=head,
        size=file.size if file.size is not None else 0,
        content=_chunks(file),
        document_type=document_type,
    )
    return DocumentOut.model_validate(document)


@router.get(
    "/{claim_id}/documents/{document_id}/content",
    response_class=Response,
    summary="Download an uploaded document (byte ranges supported)",
    description="The file as uploaded, with its content type and an `ETag` of its SHA-256. A `Range: "
    "bytes=a-b` header (one range) answers 206 with that part; a range past the end answers 416. "
    "A customer reaches only their own claims' files.",
    responses={
        200: {
            "description": "The whole file",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in files.ACCEPTED},
        },
        206: {
            "description": "The requested byte range",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in files.ACCEPTED},
        },
        **responses(
            *GUARDED,
            (404, "No such claim or document, or it has no stored file"),
            (416, "The range lies outside the file"),
        ),
    },
)
async def download_document(
    claim_id: uuid.UUID,
    document_id: uuid.UUID,
    who: Reader,
    db: ReadSession,
    rt: RuntimeDep,
    range_: Annotated[str | None, Header(alias="Range", description="`bytes=start-end` (one range).")] = None,
) -> Response:
    document, stored = await service.document_file(
        db, rt=rt, viewer=who, claim_id=claim_id, document_id=document_id
    )
    return range_response(rt.objects, stored, range_, filename=document.name)
