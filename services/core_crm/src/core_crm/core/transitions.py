"""State-changing transitions that are safe to race and to retry (renew, cancel, convert, approve,
pay, merge, assign).

Each takes ``If-Match`` (the ETag read: of racing requests one wins, the others get 412) or an
``Idempotency-Key`` (a repeat answers with the first result, header ``Idempotent-Replayed``), and
refuses with 428 when it has neither. The remembered answer is written in the request's own
transaction (``aintech_shared.idempotency``).

The precondition is judged after the request itself (RFC 9110 §13.2.1): a body that fails
validation is a 422 whatever the headers say; a missing (428) or malformed (412) precondition is
raised when the handler first asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.db import DbSession
from aintech_shared.errors import AppError
from aintech_shared.idempotency import Claim, IdempotencyKey, IdempotencyStore, require_precondition
from core_crm.core.base import IDEMPOTENCY_KEYS
from core_crm.core.preconditions import IfMatch, expected_version

STORE = IdempotencyStore(IDEMPOTENCY_KEYS)

RETRY_SAFE = (
    "Send `If-Match` (the ETag you read; stale: 412) or an `Idempotency-Key` (a repeat answers "
    "with the first result); neither: 428."
)
# OpenAPI entries every guarded transition documents.
TRANSITION_RESPONSES = (
    (412, "If-Match names a version the record no longer has"),
    (422, "Invalid body, or the Idempotency-Key was used for a different request"),
    (428, "Neither If-Match nor Idempotency-Key was sent"),
)


@dataclass
class Transition:
    """The precondition a transition request named, and its claimed idempotency key if any."""

    request: Request
    session: AsyncSession
    _expected_version: int | None
    key: str | None
    refusal: AppError | None = None  # 428 or 412, raised once the request itself is valid
    _claim: Claim | None = field(default=None, init=False)

    @property
    def expected_version(self) -> int | None:
        """The version ``If-Match`` named (None: any); raises the precondition's refusal if any."""
        if self.refusal is not None:
            raise self.refusal
        return self._expected_version

    async def replay(self, principal: str) -> Response | None:
        """The remembered answer when this key was already used by ``principal`` here."""
        if self.refusal is not None:
            raise self.refusal
        if self.key is None:
            return None
        claimed = await STORE.claim(self.session, request=self.request, key=self.key, principal=principal)
        if isinstance(claimed, Response):
            return claimed
        self._claim = claimed
        return None

    async def answer(
        self, body: BaseModel, *, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        """The JSON answer, remembered under the key (same transaction as the change)."""
        response = Response(
            body.model_dump_json().encode(),
            status_code=status_code,
            headers=headers,
            media_type="application/json",
        )
        if self._claim is not None:
            await STORE.remember(self.session, self._claim, response)
        return response


async def _transition(
    request: Request, session: DbSession, if_match: IfMatch = None, idempotency_key: IdempotencyKey = None
) -> Transition:
    try:
        require_precondition(if_match=if_match, idempotency_key=idempotency_key)
        version = expected_version(if_match, required=False)
    except AppError as refusal:  # the body is validated after the dependencies: judge it first
        return Transition(request, session, None, idempotency_key, refusal)
    return Transition(request, session, version, idempotency_key)


Guarded = Annotated[Transition, Depends(_transition)]


async def forget_old_keys(session: AsyncSession) -> int:
    """Forget idempotency keys past their retention (a daily job)."""
    return await STORE.purge(session)
