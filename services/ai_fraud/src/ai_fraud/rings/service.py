"""Rings: customers and claims linked by shared identifiers, found around one claim.

The graph (networkx, in process) has a node per customer, per claim and per identifier value
(DNI/NIE, phone, e-mail, IBAN, normalised address, plate, workshop, lawyer, clinic; a DNI/NIE or
IBAN is the CRM's keyed digest of it, shown masked as its last characters). It is grown
breadth-first from the claim through the identifier index, a few hops deep: an identifier held by
more than ``ring_max_identifier_share`` customers (a placeholder phone, a big workshop) links
nobody, and every other link weighs 1/log2(1 + holders), so a value shared by two people counts
more than one shared by twenty. The claim's connected component is its ring when it holds at
least two customers. The ring id is a UUID derived from the smallest customer id in it: stable
while that member stays, whichever claim is scored.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ai_fraud.core.base import utcnow
from ai_fraud.readmodel import repository as readmodel
from ai_fraud.rings.models import Ring
from aintech_shared.errors import NotFound

# The bands of those of the given claims that are flagged (review or high), by claim id.
Flagged = Callable[[AsyncSession, list[uuid.UUID]], Awaitable[dict[str, str]]]

RING_NAMESPACE = uuid.UUID("5b0f6a6e-2f0c-4d8e-9a55-0c1c7f0d2a11")
MAX_HOPS = 3


@dataclass
class RingView:
    ring_id: uuid.UUID | None
    customers: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.customers)


def ring_id_for(customer_ids: list[str]) -> uuid.UUID:
    return uuid.uuid5(RING_NAMESPACE, min(customer_ids))


@dataclass(frozen=True)
class FirstHop:
    """The first hop of a ring search, read ahead (in scoring's one statement): the customer's
    identifier rows (``identifiers_of_customers``), and ``sharing`` of their values."""

    customer_rows: Sequence[Any]
    shared_rows: Sequence[Any]
    counts: dict[tuple[str, str], int]

    @property
    def values(self) -> set[tuple[str, str]]:
        return {(kind, value) for _, _, _, kind, value in self.customer_rows}


async def ring_around(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID | None,
    claim_identifiers: list[tuple[str, str]],
    max_share: int,
    max_nodes: int,
    flagged: Flagged | None = None,
    first_hop: FirstHop | None = None,
) -> RingView:
    """The ring of a claim by ``customer_id`` with ``claim_identifiers`` (plate, workshop, ...).

    ``first_hop``: the first hop's rows, already read for ``customer_id`` (used when the claim's
    identifiers are among the customer's, as a saved claim's are; otherwise read here)."""
    if first_hop is not None and (customer_id is None or not set(claim_identifiers) <= first_hop.values):
        first_hop = None
    graph = nx.Graph()
    start = f"customer:{customer_id}" if customer_id else "claim:new"
    graph.add_node(start)
    for kind, value in claim_identifiers:
        graph.add_edge(start, f"id:{kind}:{value}", kind=kind, value=value)
    frontier_customers = {customer_id} if customer_id else set()
    seen_customers: set[uuid.UUID] = set(frontier_customers)
    seen_values: set[tuple[str, str]] = set(claim_identifiers)
    frontier_values: set[tuple[str, str]] = set(claim_identifiers)
    holders: dict[tuple[str, str], int] = {}
    for hop in range(MAX_HOPS):
        ahead = first_hop if hop == 0 else None
        # Past the first hop, the customers' rows and the sharing of their new values come in one
        # statement (the values it calls fresh are those the loop below adds to the frontier).
        combined = (
            await readmodel.next_hop(session, sorted(frontier_customers), seen_values, max_share=max_share)
            if hop > 0
            else None
        )
        if frontier_customers:
            if combined is not None:
                customer_rows = combined[0]
            elif ahead is not None:
                customer_rows = ahead.customer_rows
            else:
                customer_rows = await readmodel.identifiers_of_customers(session, list(frontier_customers))
            for cust, owner_kind, owner_id, kind, value in customer_rows:
                if owner_kind == "claim":
                    graph.add_edge(f"customer:{cust}", f"{owner_kind}:{owner_id}")
                owner = f"{owner_kind}:{owner_id}"
                graph.add_edge(owner, f"id:{kind}:{value}", kind=kind, value=value)
                if (kind, value) not in seen_values:
                    seen_values.add((kind, value))
                    frontier_values.add((kind, value))
        if combined is not None:
            _, rows, counts = combined
        elif ahead is not None and frontier_values == ahead.values:
            rows, counts = ahead.shared_rows, ahead.counts
        else:
            rows, counts = await readmodel.sharing(session, sorted(frontier_values), max_share=max_share)
        holders.update(counts)
        frontier_values = set()
        new_customers: set[uuid.UUID] = set()
        for cust, owner_kind, owner_id, kind, value in rows:
            owner = f"{owner_kind}:{owner_id}"
            graph.add_edge(owner, f"id:{kind}:{value}", kind=kind, value=value)
            if owner_kind == "claim":
                graph.add_edge(f"customer:{cust}", owner)
            if cust not in seen_customers:
                seen_customers.add(cust)
                new_customers.add(cust)
        frontier_customers = new_customers
        if not frontier_customers or graph.number_of_nodes() > max_nodes:
            break
    # Identifiers too common to link anybody are cut out of the graph.
    for (kind, value), n in holders.items():
        if n > max_share and graph.has_node(f"id:{kind}:{value}"):
            graph.remove_node(f"id:{kind}:{value}")
            graph.add_node(start)
    component = nx.node_connected_component(graph, start)
    customers = sorted(n.split(":", 1)[1] for n in component if n.startswith("customer:"))
    if len(customers) < 2:
        return RingView(ring_id=None, customers=customers)
    claim_ids = sorted(n.split(":", 1)[1] for n in component if n.startswith("claim:") and n != "claim:new")
    links = []
    hints = await _hints(session, component)
    for node in sorted(n for n in component if n.startswith("id:")):
        people = {c for nb in graph.neighbors(node) if (c := _owner_customer(graph, nb)) is not None}
        if len(people) < 2:
            continue
        _, kind, value = node.split(":", 2)
        n = holders.get((kind, value), len(people))
        links.append(
            {
                "kind": kind,
                "value": _mask(kind, value, hints.get((kind, value))),
                "customers": sorted(people),
                "weight": round(1 / math.log2(1 + n), 3),
            }
        )
    view = RingView(ring_id=ring_id_for(customers), customers=customers, claims=claim_ids, links=links)
    view.features = await _features(session, view, flagged)
    return view


def _owner_customer(graph: nx.Graph, node: str) -> str | None:
    if node.startswith("customer:"):
        return node.split(":", 1)[1]
    if node.startswith("claim:"):
        for nb in graph.neighbors(node):
            if nb.startswith("customer:"):
                return str(nb.split(":", 1)[1])
    return None


async def _hints(session: AsyncSession, component: set[str]) -> dict[tuple[str, str], str]:
    """The last characters of the DNI and IBAN digests in the ring (its customers' rows say them)."""
    if not any(n.startswith(("id:dni:", "id:iban:")) for n in component):
        return {}
    members = [uuid.UUID(n.split(":", 1)[1]) for n in component if n.startswith("customer:")]
    return await readmodel.identifier_hints(session, members)


def _mask(kind: str, value: str, hint: str | None = None) -> str:
    """Enough of an identifier for an investigator to recognise it, not the whole of it. A DNI or
    IBAN is a digest here: it shows as its last characters (``hint``), from the CRM's event."""
    if kind in ("iban", "dni"):
        return "••••" + (hint or "")
    if kind == "phone" and len(value) > 4:
        return "•" * (len(value) - 4) + value[-4:]
    if kind == "email" and "@" in value:
        name, domain = value.split("@", 1)
        return name[:1] + "•••@" + domain
    return value


async def _features(session: AsyncSession, view: RingView, flagged: Flagged | None) -> dict[str, float]:
    claims = await readmodel.claims_of_customers(session, [uuid.UUID(c) for c in view.customers])
    dates = [c.incident_date for c in claims]
    total = sum(float(c.claimed_amount or 0) for c in claims)
    span = (max(dates) - min(dates)).days if dates else 0
    bands = await flagged(session, [c.id for c in claims]) if flagged is not None and claims else {}
    flagged_n = sum(1 for c in claims if bands.get(str(c.id)) in ("review", "high"))
    strength = sum(link["weight"] for link in view.links)
    return {
        "customers": float(len(view.customers)),
        "claims": float(len(claims)),
        "span_days": float(span),
        "total_claimed": round(total, 2),
        "flagged_share": round(flagged_n / len(claims), 3) if claims else 0.0,
        "link_strength": round(strength, 3),
    }


async def remember(session: AsyncSession, view: RingView) -> None:
    """Store (or refresh) the ring so `GET /rings/{id}` shows it."""
    if view.ring_id is None:
        return
    values = {
        "id": view.ring_id,
        "customer_ids": view.customers,
        "claim_ids": view.claims,
        "links": view.links,
        "features": view.features,
        "updated_at": utcnow(),
    }
    statement = insert(Ring).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={k: statement.excluded[k] for k in values if k != "id"}
        )
    )


async def get_ring(session: AsyncSession, *, ring_id: uuid.UUID) -> Ring:
    ring = await session.get(Ring, ring_id)
    if ring is None:
        raise NotFound(f"Ring {ring_id} does not exist.")
    return ring
