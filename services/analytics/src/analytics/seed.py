"""Demo history: two years of **synthetic** business, so the dashboards, KPIs, churn model and
forecasts show something on day one (``make seed``; ``make run`` seeds before starting the fleet).

Nothing here is real data. A seeded RNG (``SEED``) builds the domain events the services publish,
with the contracts' own models: customers in several provinces; quotes (issued, some bound) and
the policies they become, across six carriers and five lines; yearly renewals (about 80 %, with a
premium change) and lapses; cancellations mid-term (about 6 %); claims with claimed, approved and
paid amounts (some denied, some still open); agents' calls and customers' messages with replies.
New business grows about 3 % a month with a seasonal peak in spring and a trough in August.

**How it gets in.** The events go straight into the analytics store through the ingester's own
writer (``write_events``: facts, aggregates and raw rows, de-duplicated on event id) - not through
Kafka, where the other services would take them for real customers and policies. Event ids come
from the RNG, so a second run stores nothing new (idempotent; dates move with the day of the run,
ids do not: each calendar month has its own generator, so a run in a later month adds the new
month and finds the others already stored). chDB opens its directory for one process: with the
stack's analytics API running the seed refuses and says so (``make down``, then ``make seed``);
with a ClickHouse server (``ANALYTICS_CLICKHOUSE_URL``) it runs any time.
"""

from __future__ import annotations

import asyncio
import math
import random
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.base import EventData
from aintech_contracts.events.crm import (
    ClaimApproved,
    ClaimCreated,
    ClaimDenied,
    ClaimPaid,
    CustomerCreated,
    PolicyCancelled,
    PolicyCreated,
    PolicyRenewed,
    QuoteConverted,
    QuoteCreated,
)
from aintech_contracts.events.omnichannel import MessageReceived, MessageSent
from aintech_contracts.events.telephony import CallEnded
from analytics.ingest.writer import write_events
from analytics.settings import Settings
from analytics.store.port import Store, StoreError, open_store
from analytics.store.schema import create_schema

SEED = 19
MONTHS = 24
SOURCE = "analytics.seed"
CARRIERS = ["Mapfre", "AXA", "Allianz", "Generali", "Zurich", "Mutua"]
LINES = {"auto": 420, "home": 260, "life": 380, "health": 640, "business": 1500}  # typical premium
PROVINCES = ["Madrid", "Barcelona", "Valencia", "Sevilla", "Málaga", "Bizkaia", "Zaragoza", "Alicante"]
CHANNELS = ["whatsapp", "email", "sms", "chat"]
NAMES = [("Lucía", "Martín"), ("Hugo", "García"), ("Marta", "López"), ("Pablo", "Sánchez"), ("Sofía", "Ruiz")]


class Demo:
    """The synthetic history, built event by event (times never after ``today``)."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.rng = random.Random(SEED)
        self.events: list[tuple[CloudEvent, str]] = []
        self.agents = [self._uuid() for _ in range(10)]

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def add(self, payload: EventData, when: datetime, key: uuid.UUID) -> None:
        event_id = str(self._uuid())  # drawn even when the event is in the future: ids stay stable
        if when.date() > self.today:
            return
        event = CloudEvent.wrap(payload, type_=payload.event_type, source=SOURCE, subject=str(key))
        self.events.append((event.model_copy(update={"id": event_id, "time": when}), payload.topic))

    def at(self, day: date) -> datetime:
        return datetime(
            day.year, day.month, day.day, self.rng.randint(8, 19), self.rng.randint(0, 59), tzinfo=UTC
        )

    def build(self) -> list[tuple[CloudEvent, str]]:
        index = self.today.year * 12 + self.today.month - 1  # this month; the history ends before it
        for m in range(MONTHS):
            year, month0 = divmod(index - MONTHS + m, 12)
            month = date(year, month0 + 1, 1)
            # each calendar month draws from its own generator: a later run (another day, another
            # month) rebuilds the same events with the same ids for the months it shares
            self.rng = random.Random(f"{SEED}-{month.isoformat()}")
            season = (
                1 + 0.25 * math.cos(2 * math.pi * (month.month - 4) / 12) - (0.3 if month.month == 8 else 0)
            )
            for _ in range(round(28 * (1.03**m) * season)):
                self.customer(month + timedelta(days=self.rng.randrange(28)))
            for _ in range(round(40 * (1.03**m))):  # service calls not tied to a sale
                self.call(None, self.at(month + timedelta(days=self.rng.randrange(28))))
        self.events.sort(key=lambda e: e[0].time)
        return self.events

    def customer(self, day: date) -> None:
        rng = self.rng
        customer_id = self._uuid()
        first_name, last_name = rng.choice(NAMES)
        self.add(
            CustomerCreated(
                customer_id=customer_id,
                customer_type="individual",
                first_name=first_name,
                last_name=last_name,
                status="active",
                province=rng.choice(PROVINCES),
            ),
            self.at(day),
            customer_id,
        )
        for _ in range(rng.choice((1, 1, 2))):
            line = rng.choice(list(LINES))
            premium = Decimal(round(LINES[line] * rng.uniform(0.6, 1.6), 2)).quantize(Decimal("0.01"))
            quote_day = day + timedelta(days=rng.randrange(5))
            quote_id = self._uuid()
            carrier = rng.choice(CARRIERS)
            self.add(
                QuoteCreated(
                    quote_id=quote_id,
                    quote_number=f"Q-{quote_id.hex[:8]}",
                    quote_type=line,
                    customer_id=customer_id,
                    status="sent",
                    base_premium=premium,
                    total_premium=premium,
                    carriers=[],
                    best_carrier=carrier,
                ),
                self.at(quote_day),
                quote_id,
            )
            agent = rng.choice(self.agents)
            self.call(customer_id, self.at(quote_day), agent=agent)
            self.conversation(customer_id, self.at(quote_day + timedelta(days=1)))
            if rng.random() < 0.45:
                start = quote_day + timedelta(days=rng.randrange(1, 10))
                self.policy(customer_id, quote_id, line, carrier, premium, start)

    def policy(
        self,
        customer_id: uuid.UUID,
        quote_id: uuid.UUID,
        line: str,
        carrier: str,
        premium: Decimal,
        start: date,
    ) -> None:
        rng = self.rng
        policy_id = self._uuid()
        number = f"POL-{policy_id.hex[:8]}"
        fields = {
            "policy_id": policy_id,
            "policy_number": number,
            "policy_type": line,
            "carrier": carrier,
            "customer_id": customer_id,
            "status": "active",
            "premium_frequency": rng.choice(("annual", "annual", "monthly")),
        }
        end = start + timedelta(days=365)
        self.add(
            PolicyCreated(
                **fields,
                coverage_start_date=start,
                coverage_end_date=end,
                premium_amount=premium,
                quote_id=quote_id,
            ),
            self.at(start),
            policy_id,
        )
        self.add(
            QuoteConverted(
                quote_id=quote_id,
                quote_number=f"Q-{quote_id.hex[:8]}",
                customer_id=customer_id,
                policy_id=policy_id,
                policy_number=number,
                carrier=carrier,
                total_premium=premium,
                converted_at=self.at(start),
            ),
            self.at(start),
            quote_id,
        )
        term = 1
        while term <= 3:  # as many terms whatever the day of the run (future events are left out)
            cancel = rng.random() < 0.06
            if rng.random() < 0.15:
                self.claim(customer_id, policy_id, start + timedelta(days=rng.randrange(20, 340)), premium)
            if cancel:
                on = start + timedelta(days=rng.randrange(30, 330))
                self.add(
                    PolicyCancelled(
                        policy_id=policy_id,
                        policy_number=number,
                        policy_type=line,
                        carrier=carrier,
                        customer_id=customer_id,
                        reason=rng.choice(("customer request", "price", "sold the vehicle")),
                        cancelled_at=self.at(on),
                    ),
                    self.at(on),
                    policy_id,
                )
                return
            change = Decimal(str(round(rng.uniform(-0.02, 0.15), 3)))
            renews = rng.random() < (0.88 - float(change) * 2)
            if not renews:
                return
            new_premium = (premium * (1 + change)).quantize(Decimal("0.01"))
            term += 1
            self.add(
                PolicyRenewed(
                    **fields,
                    coverage_start_date=end,
                    coverage_end_date=end + timedelta(days=365),
                    premium_amount=new_premium,
                    previous_start_date=start,
                    previous_end_date=end,
                    previous_premium_amount=premium,
                    term_number=term,
                ),
                self.at(end - timedelta(days=20)),
                policy_id,
            )
            start, end, premium = end, end + timedelta(days=365), new_premium

    def claim(self, customer_id: uuid.UUID, policy_id: uuid.UUID, day: date, premium: Decimal) -> None:
        rng = self.rng
        claim_id = self._uuid()
        number = f"CLM-{claim_id.hex[:8]}"
        claimed = (premium * Decimal(str(round(rng.uniform(0.2, 2.5), 2)))).quantize(Decimal("0.01"))
        ids = {
            "claim_id": claim_id,
            "claim_number": number,
            "customer_id": customer_id,
            "policy_id": policy_id,
        }
        self.add(
            ClaimCreated(
                **ids,
                claim_type=rng.choice(("water_damage", "collision", "theft", "medical")),
                status="reported",
                policy_number="POL",
                incident_date=self.at(day),
                description="Siniestro de demostración",
                claimed_amount=claimed,
            ),
            self.at(day),
            claim_id,
        )
        later = self.at(day + timedelta(days=rng.randrange(5, 30)))
        outcome = rng.random()
        if outcome < 0.2:
            self.add(
                ClaimDenied(**ids, reason="not covered", denied_by=rng.choice(self.agents)), later, claim_id
            )
        elif outcome < 0.8:
            approved = (claimed * Decimal("0.85")).quantize(Decimal("0.01"))
            self.add(
                ClaimApproved(
                    **ids,
                    claimed_amount=claimed,
                    approved_amount=approved,
                    approved_by=rng.choice(self.agents),
                ),
                later,
                claim_id,
            )
            paid_at = later + timedelta(days=rng.randrange(3, 20))
            self.add(
                ClaimPaid(**ids, approved_amount=approved, paid_amount=approved, paid_at=paid_at),
                paid_at,
                claim_id,
            )

    def call(self, customer_id: uuid.UUID | None, when: datetime, agent: uuid.UUID | None = None) -> None:
        rng = self.rng
        call_id = self._uuid()
        answered = rng.random() < 0.9
        seconds = rng.randint(45, 900) if answered else 0
        self.add(
            CallEnded(
                call_id=call_id,
                call_sid=f"CA{call_id.hex}",
                direction=rng.choice(("inbound", "outbound")),
                customer_id=customer_id,
                customer_phone="+34600000000",
                agent_id=agent or rng.choice(self.agents),
                status="completed" if answered else "no-answer",
                outcome="answered" if answered else "missed",
                duration_seconds=seconds,
                answered_at=when - timedelta(seconds=seconds) if answered else None,
                ended_at=when,
            ),
            when,
            call_id,
        )

    def conversation(self, customer_id: uuid.UUID, when: datetime) -> None:
        rng = self.rng
        conversation_id = self._uuid()
        channel = rng.choice(CHANNELS)
        self.add(
            MessageReceived(
                message_id=self._uuid(),
                conversation_id=conversation_id,
                channel=channel,
                from_address="+34600000000",
                customer_id=customer_id,
                preview="Hola, tengo una duda",
                received_at=when,
            ),
            when,
            conversation_id,
        )
        reply = when + timedelta(minutes=rng.randint(2, 240 if channel == "email" else 45))
        self.add(
            MessageSent(
                message_id=self._uuid(),
                conversation_id=conversation_id,
                channel=channel,
                to_address="+34600000000",
                status="sent",
                provider="console",
                sent_at=reply,
            ),
            reply,
            conversation_id,
        )


async def seed_history(store: Store, *, today: date, batch: int = 5000) -> tuple[int, int]:
    """Store the demo history as of ``today``; returns (events built, events new to the store)."""
    events = Demo(today).build()
    new = 0
    for i in range(0, len(events), batch):
        new += await write_events(store, events[i : i + batch])
    return len(events), new


async def _main() -> int:
    settings = Settings()
    try:
        store = open_store(
            clickhouse_url=settings.clickhouse_url,
            chdb_path=settings.chdb_path,
            database=settings.store_database,
        )
        await create_schema(store)
    except (StoreError, RuntimeError) as exc:
        print(
            f"analytics seed: the store at {settings.chdb_path} cannot be opened ({str(exc)[:200]}). "
            "chDB lets one process open it: is the analytics API running? Stop the stack (make down) "
            "and run make seed again.",
            file=sys.stderr,
        )
        return 1
    built, new = await seed_history(store, today=datetime.now(UTC).date())
    print(f"analytics: {built} synthetic events of {MONTHS} months, {new} new in the store")
    await store.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
