"""Policy proposals: a parsed carrier document becomes a proposal an agent accepts or rejects.

A document that matches a policy (same number, same carrier) proposes to reconcile the fields
that differ; one that matches none proposes to create the policy (its holder matched to a
customer by DNI/NIE). A carrier's portfolio sync does the same per listed policy (only when
something differs, and not again while the same proposal is pending or was rejected), and
proposes `missing` for each live policy the CRM has with that carrier and the portal no longer
lists (accepting it acknowledges it; the policy is not changed). Nothing changes a policy until
an agent accepts, and then only through the policies service, so its rules apply. A field read
with low confidence (or a DNI/NIE whose check letter is wrong) is flagged: shown, never applied
unless the agent supplies the value.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.scraper import PolicyDocumentParsed, PortfolioPolicyListed, PortfolioSynced
from aintech_shared.errors import Conflict, NotFound, UnprocessableEntity
from core_crm.core.base import utcnow
from core_crm.core.preconditions import check_version
from core_crm.core.runtime import Runtime
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.policies import service as policies
from core_crm.policies.models import PAYMENTS_PER_YEAR, Policy
from core_crm.policies.schemas import PolicyCreate
from core_crm.proposals import repository
from core_crm.proposals.models import PolicyProposal, ProposalKind, ProposalSource, ProposalStatus

# Below this confidence a read field is flagged (the scraper gives 0.85-0.99 to a clean read).
MIN_CONFIDENCE = 0.8
TERM_FIELDS = ("start_date", "end_date", "premium_total")
DETAIL_FIELDS = {"vehicle_plate": ("auto", "plate"), "property_address": ("home", "property_address")}
CREATE_FIELDS = ("holder", "holder_id", *TERM_FIELDS, *DETAIL_FIELDS)


def _field_error(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}],
    )


def _flag(read: dict[str, Any]) -> str | None:
    """Why a read field may not be applied as read (None: it may)."""
    if read.get("check_letter_valid") is False:
        return "the DNI/NIE check letter is wrong"
    if float(read.get("confidence", 0)) < MIN_CONFIDENCE:
        return f"read with low confidence ({read.get('confidence')})"
    return None


def _entry(
    name: str, old: Any, read: dict[str, Any], *, applicable: bool = True, note: str | None = None
) -> dict[str, Any]:
    flag = _flag(read)
    return {
        "field": name,
        "old": old,
        "new": read.get("value"),
        "confidence": read.get("confidence"),
        "flagged": flag is not None,
        "reason": flag or note,
        "applicable": applicable,
    }


def _same(name: str, old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is new
    if name == "premium_total":
        try:
            return Decimal(str(old)) == Decimal(str(new))
        except InvalidOperation:
            return False
    if name == "vehicle_plate":
        return (
            "".join(c for c in str(old) if c.isalnum()).upper()
            == "".join(c for c in str(new) if c.isalnum()).upper()
        )
    return " ".join(str(old).split()).lower() == " ".join(str(new).split()).lower()


def _current(policy: Policy, name: str, holder_dni: str | None) -> Any:
    if name == "start_date":
        return policy.coverage_start_date.isoformat()
    if name == "end_date":
        return policy.coverage_end_date.isoformat()
    if name == "premium_total":
        return str(policy.annual_premium)
    if name == "holder_id":
        return holder_dni
    policy_type, key = DETAIL_FIELDS[name]
    return policy.details.get(key) if policy.policy_type == policy_type else None


@dataclass(frozen=True)
class _Read:
    """What a carrier says about one policy: a parsed document or a portfolio row."""

    event_id: str
    job_id: uuid.UUID
    carrier: str
    carrier_name: str
    policy_number: str
    fields: dict[str, dict[str, Any]]
    unreadable: list[str]
    parsed_at: datetime
    source: ProposalSource


def _read(
    event_id: str,
    data: PolicyDocumentParsed | PortfolioPolicyListed,
    read_at: datetime,
    source: ProposalSource,
) -> _Read:
    """What a parsed document or a listed portfolio row says about one policy."""
    return _Read(
        event_id=event_id,
        job_id=data.job_id,
        carrier=data.carrier,
        carrier_name=data.carrier_name,
        policy_number=data.policy_number,
        fields={name: f.model_dump() for name, f in data.fields.items()},
        unreadable=list(data.unreadable),
        parsed_at=read_at,
        source=source,
    )


async def record(session: AsyncSession, *, event_id: str, data: PolicyDocumentParsed) -> None:
    """The proposal for one `policy.document_parsed` event (once per event id)."""
    await _propose(session, _read(event_id, data, data.parsed_at, ProposalSource.document))


async def record_listed(session: AsyncSession, *, event_id: str, data: PortfolioPolicyListed) -> None:
    """The proposal for one policy a carrier's portfolio lists: reconcile when the CRM's policy
    differs, create when the CRM has none; nothing when they agree, or when the same proposal is
    already pending or was rejected (a second sync with nothing changed proposes nothing)."""
    await _propose(session, _read(event_id, data, data.listed_at, ProposalSource.portfolio))


async def record_missing(session: AsyncSession, *, event_id: str, data: PortfolioSynced) -> int:
    """One `missing` proposal per active or pending policy the CRM has with the carrier that its
    portfolio no longer lists (unless one is already pending or was rejected); how many were made."""
    listed = set(data.policy_numbers)
    made = 0
    for policy in await policies.live_with_carrier(
        session, carrier=data.carrier, carrier_name=data.carrier_name
    ):
        if policy.policy_number in listed:
            continue
        if await _already_proposed(session, data.carrier, policy.policy_number, ProposalKind.missing, []):
            continue
        made += await repository.add_once(
            session,
            {
                "id": uuid.uuid4(),
                "event_id": f"{event_id}:{policy.id}",
                "job_id": data.job_id,
                "kind": ProposalKind.missing.value,
                "source": ProposalSource.portfolio.value,
                "carrier": data.carrier,
                "carrier_name": data.carrier_name,
                "policy_number": policy.policy_number,
                "policy_id": policy.id,
                "customer_id": policy.customer_id,
                "document": {
                    "listed": False,
                    "pages": data.pages,
                    "policies_listed": len(listed),
                    "unnumbered_rows": data.unnumbered,
                    "note": (
                        f"{data.unnumbered} row(s) of the portal had no readable policy number: "
                        "this policy may be one of them"
                        if data.unnumbered
                        else None
                    ),
                },
                "unreadable": [],
                "fields": [],
                "parsed_at": data.synced_at,
            },
        )
    return made


async def _already_proposed(
    session: AsyncSession, carrier: str, policy_number: str, kind: ProposalKind, entries: list[dict[str, Any]]
) -> bool:
    """Whether the newest portfolio proposal about this policy says the same thing and is still
    pending or was rejected (an accepted one was applied: if it differs again, it is news)."""
    latest = await repository.latest_for(
        session, carrier=carrier, policy_number=policy_number, source=ProposalSource.portfolio.value
    )
    return (
        latest is not None
        and latest.status in (ProposalStatus.pending, ProposalStatus.rejected)
        and latest.kind == kind
        and latest.fields == entries
    )


async def _propose(session: AsyncSession, data: _Read) -> None:
    read = data.fields
    policy = await policies.find_for_document(
        session, policy_number=data.policy_number, carrier=data.carrier, carrier_name=data.carrier_name
    )
    entries: list[dict[str, Any]] = []
    if policy is not None:
        kind, customer_id = ProposalKind.reconcile, policy.customer_id
        holder = await customers.internal_get(session, customer_id=policy.customer_id)
        holder_dni = holder.dni if holder is not None else None
        for name in ("holder_id", *TERM_FIELDS, *DETAIL_FIELDS):
            if name not in read:
                continue
            if name in DETAIL_FIELDS and DETAIL_FIELDS[name][0] != policy.policy_type:
                continue
            old = _current(policy, name, holder_dni)
            if _same(name, old, read[name].get("value")):
                continue
            if name == "holder_id":
                entries.append(
                    _entry(
                        name,
                        old,
                        read[name],
                        applicable=False,
                        note="the holder is the customer's record: change it there",
                    )
                )
            else:
                entries.append(_entry(name, old, read[name]))
    else:
        kind, customer_id = ProposalKind.create, None
        holder_id = read.get("holder_id")
        if holder_id is not None and _flag(holder_id) is None:
            customer_id = await customers.identified_by_dni(session, str(holder_id.get("value")))
        entries = [_entry(name, None, read[name]) for name in CREATE_FIELDS if name in read]
        for entry in entries:
            if entry["field"] in ("holder", "holder_id"):
                entry["applicable"] = False
                entry["reason"] = entry["reason"] or "used to find the customer, not stored on the policy"
    if data.source == ProposalSource.portfolio:
        if kind == ProposalKind.reconcile and not entries:
            return  # the portal and the CRM agree
        if await _already_proposed(session, data.carrier, data.policy_number, kind, entries):
            return
    await repository.add_once(
        session,
        {
            "id": uuid.uuid4(),
            "event_id": data.event_id,
            "job_id": data.job_id,
            "kind": kind.value,
            "source": data.source.value,
            "carrier": data.carrier,
            "carrier_name": data.carrier_name,
            "policy_number": data.policy_number,
            "policy_id": policy.id if policy is not None else None,
            "customer_id": customer_id,
            "document": read,
            "unreadable": data.unreadable,
            "fields": entries,
            "parsed_at": data.parsed_at,
        },
    )


async def search(
    session: AsyncSession,
    *,
    statuses: Sequence[str] | None,
    kind: str | None,
    after: list[Any] | None,
    limit: int,
) -> tuple[Sequence[PolicyProposal], list[Any] | None]:
    """One page of proposals, newest first."""
    return await repository.search(session, statuses=statuses, kind=kind, after=after, limit=limit)


async def get(session: AsyncSession, *, proposal_id: uuid.UUID) -> PolicyProposal:
    """One proposal (staff only: the router checks)."""
    proposal = await repository.get(session, proposal_id)
    if proposal is None:
        raise NotFound("No such policy proposal.")
    return proposal


async def _pending(
    session: AsyncSession, proposal_id: uuid.UUID, expected_version: int | None
) -> PolicyProposal:
    proposal = await repository.get(session, proposal_id, for_update=True)
    if proposal is None:
        raise NotFound("No such policy proposal.")
    check_version(proposal.version, expected_version)
    if proposal.status != ProposalStatus.pending:
        raise Conflict(f"The proposal was already {proposal.status}.")
    return proposal


def _decide(proposal: PolicyProposal, viewer: Viewer, status: ProposalStatus) -> None:
    proposal.status = status.value
    proposal.decided_at = utcnow()
    proposal.decided_by = viewer.actor_id
    proposal.version += 1
    proposal.updated_at = utcnow()


def _parse(name: str, value: Any) -> Any:
    """A field's value as the policy holds it; 422 naming the field otherwise."""
    try:
        if name in ("start_date", "end_date"):
            return date.fromisoformat(str(value))
        if name == "premium_total":
            amount = Decimal(str(value))
            if not amount.is_finite() or amount <= 0 or amount >= Decimal("100000000"):
                raise ValueError
            return amount
    except (ValueError, InvalidOperation):
        raise _field_error(f"values.{name}", f"not a valid value: {str(value)[:60]!r}") from None
    text = str(value).strip()
    if not text or len(text) > 255:
        raise _field_error(f"values.{name}", "must be 1-255 characters")
    return text


def _chosen(proposal: PolicyProposal, values: dict[str, Any]) -> dict[str, Any]:
    """Field -> value to apply: the agent's value, else the read value unless flagged."""
    known = {e["field"] for e in proposal.fields if e["applicable"]}
    unknown = sorted(set(values) - known)
    if unknown:
        raise _field_error("values", f"not a field this proposal can apply: {', '.join(unknown)}")
    chosen: dict[str, Any] = {}
    for entry in proposal.fields:
        name = entry["field"]
        if not entry["applicable"]:
            continue
        if name in values:
            chosen[name] = _parse(name, values[name])
        elif not entry["flagged"] and entry["new"] is not None:
            chosen[name] = _parse(name, entry["new"])
    return chosen


async def accept(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    proposal_id: uuid.UUID,
    expected_version: int | None,
    values: dict[str, Any],
    create: dict[str, Any],
) -> PolicyProposal:
    """Apply the proposal through the policies service: create the policy, or update the fields
    that differ. Flagged fields are applied only with a value the agent supplies."""
    proposal = await _pending(session, proposal_id, expected_version)
    chosen = _chosen(proposal, values)
    if proposal.kind == ProposalKind.missing:
        chosen = {}  # acknowledged: the agent decides what the policy's absence means (nothing is changed)
    elif proposal.kind == ProposalKind.reconcile:
        if proposal.policy_id is None:
            raise Conflict("The policy this proposal reconciles no longer exists.")
        await _reconcile(session, rt=rt, viewer=viewer, proposal=proposal, chosen=chosen)
    else:
        policy = await _create(session, rt=rt, viewer=viewer, proposal=proposal, chosen=chosen, extra=create)
        proposal.policy_id = policy.id
        proposal.customer_id = policy.customer_id
    proposal.applied = sorted(chosen)
    _decide(proposal, viewer, ProposalStatus.accepted)
    await repository.flush(session)
    return proposal


def _per_payment(annual: Decimal, frequency: str) -> Decimal:
    return (annual / PAYMENTS_PER_YEAR[frequency]).quantize(Decimal("0.01"))


async def _reconcile(
    session: AsyncSession, *, rt: Runtime, viewer: Viewer, proposal: PolicyProposal, chosen: dict[str, Any]
) -> None:
    assert proposal.policy_id is not None
    policy = await policies.lock_policy(session, viewer=viewer, policy_id=proposal.policy_id)
    details = {DETAIL_FIELDS[n][1]: v for n, v in chosen.items() if n in DETAIL_FIELDS}
    if details:
        await policies.update_policy(
            session,
            viewer=viewer,
            policy_id=policy.id,
            expected_version=None,
            changes={"details": {**policy.details, **details}},
        )
    start = chosen.get("start_date")
    if start is not None and start == policy.coverage_end_date:
        # The document is the next term's: a renewal (new term kept in the history, `policy.renewed`).
        if "end_date" not in chosen:
            raise _field_error("values", "the document starts the next term: its end_date is needed")
        await policies.renew_policy(
            session,
            rt=rt,
            viewer=viewer,
            policy_id=policy.id,
            premium_amount=_per_payment(
                chosen.get("premium_total", policy.annual_premium), policy.premium_frequency
            ),
            coverage_end_date=chosen["end_date"],
            coverage_amount=None,
            expected_version=None,
        )
    elif any(n in chosen for n in TERM_FIELDS):
        await policies.correct_term(
            session,
            viewer=viewer,
            policy_id=policy.id,
            start=chosen.get("start_date"),
            end=chosen.get("end_date"),
            annual_premium=chosen.get("premium_total"),
        )


async def _create(
    session: AsyncSession,
    *,
    rt: Runtime,
    viewer: Viewer,
    proposal: PolicyProposal,
    chosen: dict[str, Any],
    extra: dict[str, Any],
) -> Policy:
    customer_id = extra.get("customer_id") or proposal.customer_id
    if customer_id is None:
        raise _field_error("customer_id", "the holder's DNI/NIE matches no customer: name the customer")
    missing = [n for n in TERM_FIELDS if n not in chosen]
    if missing:
        raise _field_error(
            "values", f"flagged or unreadable, supply them to create the policy: {', '.join(missing)}"
        )
    policy_type = extra.get("policy_type") or ("auto" if "vehicle_plate" in chosen else "home")
    frequency = extra.get("premium_frequency") or "annual"
    details = dict(extra.get("details") or {})
    for name, (kind, key) in DETAIL_FIELDS.items():
        if name in chosen and kind == policy_type:
            details[key] = chosen[name]
    try:
        body = PolicyCreate(
            customer_id=customer_id,
            policy_type=policy_type,
            carrier=proposal.carrier_name,
            policy_number=proposal.policy_number,
            coverage_start_date=chosen["start_date"],
            coverage_end_date=chosen["end_date"],
            premium_amount=(chosen["premium_total"] / PAYMENTS_PER_YEAR[str(frequency)]).quantize(
                Decimal("0.01")
            ),
            premium_frequency=frequency,
            status=extra.get("status") or "active",
            details=details,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise UnprocessableEntity(f"The policy cannot be created from this proposal: {problems}") from None
    return await policies.create_policy(session, rt=rt, viewer=viewer, data=body)


async def reject(
    session: AsyncSession,
    *,
    viewer: Viewer,
    proposal_id: uuid.UUID,
    expected_version: int | None,
    reason: str,
) -> PolicyProposal:
    """Reject the proposal with a reason; nothing is changed."""
    proposal = await _pending(session, proposal_id, expected_version)
    proposal.rejection_reason = reason
    _decide(proposal, viewer, ProposalStatus.rejected)
    await repository.flush(session)
    return proposal
