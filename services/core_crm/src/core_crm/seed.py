"""Demo data for the CRM: python -m core_crm.seed (idempotent; run by `make seed` and `make run`).

50 customers (people and companies, valid DNI/NIE/CIF, IBANs, E.164 phones, postal codes that
match their province), 100 policies (auto 40, home 30, life 20, health 10; Mapfre, AXA, Allianz,
Generali, Zurich, Mutua Madrileña) in every status, 30 claims across the claim workflow, 40 quotes
(some converted, some expired or rejected), tasks and interactions. Everything goes through the
services, so the same events are published as in real use. `customer1@aintech.com` (the
authenticator's demo customer) is one of the customers and is linked as soon as its verified
account is known.
"""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from stdnum import iban as iban_numbers
from stdnum.es import ccc as ccc_numbers

from aintech_contracts.rbac import Permission, Role
from aintech_shared.auth import Principal
from aintech_shared.db import Database
from core_crm.claims import service as claims
from core_crm.claims.schemas import ClaimCreate
from core_crm.core import spain
from core_crm.core.runtime import build_runtime
from core_crm.customers import repository as customer_rows
from core_crm.customers import service as customers
from core_crm.customers.access import Viewer
from core_crm.customers.schemas import CustomerCreate
from core_crm.interactions import service as interactions
from core_crm.interactions.schemas import InteractionCreate
from core_crm.policies import service as policies
from core_crm.policies.schemas import PolicyCreate
from core_crm.profile import service as profile
from core_crm.quotes import service as quotes
from core_crm.quotes.models import QuoteStatus
from core_crm.quotes.schemas import ConvertRequest, QuoteCreate
from core_crm.settings import Settings
from core_crm.tasks import service as tasks

DEMO_CUSTOMER_EMAIL = "customer1@aintech.com"
SEED_ACTOR = uuid.UUID("00000000-0000-4000-8000-00000000seed".replace("seed", "5eed"))
CARRIERS = ("Mapfre", "AXA", "Allianz", "Generali", "Zurich", "Mutua Madrileña")
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
CIF_LETTERS = "JABCDEFGHI"

FIRST_NAMES = (
    "Lucía",
    "Hugo",
    "Martina",
    "Mateo",
    "Sofía",
    "Leo",
    "Julia",
    "Daniel",
    "Paula",
    "Álvaro",
    "Valeria",
    "Pablo",
    "Carmen",
    "Manuel",
    "Elena",
    "Javier",
    "Laura",
    "Sergio",
    "Marta",
    "Íñigo",
    "Nerea",
    "Jordi",
    "Montserrat",
    "Xabier",
    "Ainhoa",
    "Andrés",
    "Rocío",
    "Tomás",
    "Beatriz",
    "Raúl",
)
LAST_NAMES = (
    "García",
    "Rodríguez",
    "González",
    "Fernández",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Ramos",
    "Gil",
    "Serrano",
    "Blanco",
    "Molina",
    "Castro",
    "Ortiz",
    "Rubio",
)
COMPANIES = (
    ("Transportes", "S.L."),
    ("Construcciones", "S.A."),
    ("Clínica Dental", "S.L.P."),
    ("Panadería", "S.L."),
    ("Talleres", "S.L."),
    ("Asesoría", "S.L."),
)
# (postal code prefix, city, streets) — the prefix gives the province.
PLACES = (
    ("280", "Madrid", ("Calle de Alcalá", "Calle Mayor", "Paseo de la Castellana", "Calle de Serrano")),
    ("080", "Barcelona", ("Carrer de Balmes", "Passeig de Gràcia", "Carrer de Mallorca")),
    ("460", "Valencia", ("Carrer de Colón", "Avinguda del Port", "Carrer de la Pau")),
    ("410", "Sevilla", ("Calle Sierpes", "Avenida de la Constitución", "Calle Feria")),
    ("500", "Zaragoza", ("Paseo de la Independencia", "Calle Alfonso I")),
    ("290", "Málaga", ("Calle Larios", "Paseo del Parque")),
    ("480", "Bilbao", ("Gran Vía de Don Diego López de Haro", "Calle Ercilla")),
    ("030", "Alicante", ("Avenida de Maisonnave", "Calle San Fernando")),
    ("300", "Murcia", ("Gran Vía Escultor Salzillo", "Calle Trapería")),
    ("470", "Valladolid", ("Calle Santiago", "Paseo de Zorrilla")),
)
CARS = (
    ("SEAT", "León"),
    ("SEAT", "Ibiza"),
    ("Toyota", "Corolla"),
    ("Renault", "Clio"),
    ("Volkswagen", "Golf"),
    ("Peugeot", "208"),
    ("Dacia", "Sandero"),
    ("Kia", "Sportage"),
    ("Hyundai", "Tucson"),
    ("Tesla", "Model 3"),
)
PLATE_LETTERS = "BCDFGHJKLMNPRSTVWXYZ"
CLAIM_TYPES = {
    "auto": ("collision", "glass", "theft"),
    "home": ("water_damage", "fire", "theft"),
    "life": ("death", "disability"),
    "health": ("hospitalisation", "surgery"),
    "business": ("liability", "property_damage"),
}


def _dni(rng: random.Random) -> str:
    number = rng.randrange(10_000_000, 99_999_999)
    return f"{number}{DNI_LETTERS[number % 23]}"


def _nie(rng: random.Random) -> str:
    prefix = rng.choice("XYZ")
    number = rng.randrange(1_000_000, 9_999_999)
    return f"{prefix}{number}{DNI_LETTERS[int(str('XYZ'.index(prefix)) + str(number)) % 23]}"


def _cif(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(7)]
    odd = sum(sum(divmod(2 * d, 10)) for d in digits[0::2])
    even = sum(digits[1::2])
    control = (10 - (odd + even) % 10) % 10
    return "B" + "".join(map(str, digits)) + str(control)


def _iban(rng: random.Random) -> str:
    bank = rng.choice(("2100", "0049", "0182", "2038", "0081", "0128"))  # CaixaBank, Santander, BBVA, …
    digits = (
        bank
        + "".join(str(rng.randrange(10)) for _ in range(4))
        + "00"
        + "".join(str(rng.randrange(10)) for _ in range(10))
    )
    bban = digits[:8] + ccc_numbers.calc_check_digits(digits) + digits[10:]
    return "ES" + iban_numbers.calc_check_digits("ESXX" + bban) + bban


def _mobile(rng: random.Random) -> str:
    return "6" + "".join(str(rng.randrange(10)) for _ in range(8))


def _plate(rng: random.Random) -> str:
    return f"{rng.randrange(10000):04d}{''.join(rng.choice(PLATE_LETTERS) for _ in range(3))}"


def _system_viewer() -> Viewer:
    principal = Principal(
        user_id=str(SEED_ACTOR),
        email="seed@aintech.com",
        role=Role.admin,
        permissions=frozenset(p.value for p in Permission),
        session_id="seed",
        claims={},
    )
    return Viewer(principal=principal, customer_id=None)


def _customer(rng: random.Random, index: int) -> CustomerCreate:
    prefix, city, streets = PLACES[index % len(PLACES)]
    postal = f"{prefix}{rng.randrange(1, 40):02d}"
    first = "Carmen" if index == 0 else rng.choice(FIRST_NAMES)
    last = "Cliente López" if index == 0 else f"{rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"
    business = index % 8 == 7
    folded = "".join(c for c in spain.fold(f"{first}.{last.split()[0]}") if c.isalnum() or c == ".")
    email = DEMO_CUSTOMER_EMAIL if index == 0 else f"{folded}{index}@example.com"
    company = None
    if business:
        kind, form = rng.choice(COMPANIES)
        company = f"{kind} {last.split()[0]} {form}"
    return CustomerCreate(
        customer_type="business" if business else "individual",
        first_name=first,
        last_name=last,
        email=email,
        mobile=_mobile(rng),
        phone=None,
        dni=_nie(rng) if index % 10 == 3 else _dni(rng),
        birth_date=date(rng.randrange(1950, 2002), rng.randrange(1, 13), rng.randrange(1, 29)),
        address_line1=f"{rng.choice(streets)}, {rng.randrange(1, 200)}",
        address_line2=f"{rng.randrange(1, 9)}º {rng.choice('ABCD')}" if rng.random() < 0.6 else None,
        city=city,
        postal_code=postal,
        company_name=company,
        tax_id=_cif(rng) if business else None,
        iban=_iban(rng),
        status="prospect" if index % 17 == 5 else "active",
        lead_source=rng.choice(("web", "referido", "teléfono", "oficina", "comparador")),
        preferred_channel=rng.choice(("call", "email", "whatsapp", "sms")),
        tags=rng.sample(
            ["familia", "autónomo", "referido", "digital", "senior", "joven"], k=rng.randrange(0, 3)
        ),
    )


def _details(rng: random.Random, kind: str, customer: CustomerCreate) -> dict[str, Any]:
    if kind == "auto":
        make, model = rng.choice(CARS)
        return {"make": make, "model": model, "year": rng.randrange(2008, 2026), "plate": _plate(rng)}
    if kind == "home":
        return {
            "property_address": customer.address_line1 or "Calle Mayor, 1",
            "property_type": rng.choice(("apartment", "house", "chalet")),
            "property_value": str(rng.randrange(90, 650) * 1000),
            "square_meters": rng.randrange(45, 250),
        }
    if kind == "life":
        return {
            "insured_sum": str(rng.choice((60, 100, 150, 300)) * 1000),
            "beneficiaries": ["Cónyuge", "Hijos"],
            "smoker": rng.random() < 0.2,
        }
    return {
        "plan": rng.choice(("Básico", "Completo", "Premium")),
        "insured_people": rng.randrange(1, 5),
        "dental": rng.random() < 0.5,
    }


PREMIUMS = {"auto": (280, 900), "home": (150, 600), "life": (120, 700), "health": (500, 2400)}
COVERAGE = {
    "auto": (50_000, 50_000),
    "home": (60_000, 400_000),
    "life": (60_000, 300_000),
    "health": (20_000, 100_000),
}


async def seed(settings: Settings) -> str:
    """Create the demo data unless it is already there; returns what happened."""
    rt = build_runtime(settings)
    viewer = _system_viewer()
    rng = random.Random(2026)
    db = Database(settings.service_database_url, schema=settings.db_schema, pool_size=2)
    today = date.today()
    try:
        async with db.transaction() as session:
            if await customer_rows.count_created_by(session, SEED_ACTOR) > 0:
                return "nothing to do (demo data present)"
            people = []
            for index in range(50):
                data = _customer(rng, index)
                row = await customers.create_customer(session, rt=rt, viewer=viewer, data=data)
                people.append((row, data))
            kinds = ["auto"] * 40 + ["home"] * 30 + ["life"] * 20 + ["health"] * 10
            rng.shuffle(kinds)
            active = []
            for index, kind in enumerate(kinds):
                owner, data = people[index % 50] if index < 50 else rng.choice(people[1:])
                age_days = rng.randrange(0, 1000)
                start = today - timedelta(days=age_days)
                if index % 9 == 0:  # expiring within the warning window
                    start = today - timedelta(days=365 - rng.randrange(3, 28))
                low, high = PREMIUMS[kind]
                frequency = rng.choice(("annual", "annual", "monthly", "quarterly"))
                yearly = Decimal(rng.randrange(low, high))
                per_payment = (yearly / {"annual": 1, "monthly": 12, "quarterly": 4}[frequency]).quantize(
                    Decimal("0.01")
                )
                cov_low, cov_high = COVERAGE[kind]
                policy = await policies.create_policy(
                    session,
                    rt=rt,
                    viewer=viewer,
                    data=PolicyCreate(
                        customer_id=owner.id,
                        policy_type=kind,
                        carrier=rng.choice(CARRIERS),
                        coverage_start_date=start,
                        coverage_end_date=start + timedelta(days=365),
                        premium_amount=per_payment,
                        premium_frequency=frequency,
                        coverage_amount=Decimal(
                            rng.randrange(cov_low, cov_high + 1, 10_000) if cov_high > cov_low else cov_low
                        ),
                        status="pending" if index % 25 == 24 else "active",
                        details=_details(rng, kind, data),
                        backdating_reason="Cartera existente cargada con los datos de demostración",
                    ),
                )
                while policy.status == "active" and policy.coverage_end_date <= today and rng.random() < 0.85:
                    await policies.renew_policy(
                        session,
                        rt=rt,
                        viewer=viewer,
                        policy_id=policy.id,
                        premium_amount=(policy.premium_amount * Decimal("1.03")).quantize(Decimal("0.01")),
                        coverage_end_date=None,
                        coverage_amount=None,
                        expected_version=None,
                    )
                if index % 13 == 6 and policy.status == "active":
                    await policies.cancel_policy(
                        session,
                        rt=rt,
                        viewer=viewer,
                        policy_id=policy.id,
                        reason=rng.choice(("Venta del vehículo", "Cambio de compañía", "Impago")),
                        expected_version=None,
                    )
                elif policy.status == "active" and policy.coverage_end_date > today:
                    active.append(policy)
            await policies.expire_ended(session)
            plan = ["reported"] * 8 + ["investigating"] * 8 + ["approved"] * 5 + ["denied"] * 4 + ["paid"] * 5
            for index, target in enumerate(plan):
                policy = active[(index * 3) % len(active)]
                earliest = max(policy.coverage_start_date, today - timedelta(days=200))
                incident_day = earliest + timedelta(days=rng.randrange(0, max(1, (today - earliest).days)))
                claim = await claims.report_claim(
                    session,
                    rt=rt,
                    viewer=viewer,
                    data=ClaimCreate(
                        policy_id=policy.id,
                        claim_type=rng.choice(CLAIM_TYPES[policy.policy_type]),
                        incident_date=datetime(
                            incident_day.year, incident_day.month, incident_day.day, 10, tzinfo=UTC
                        ),
                        description=rng.choice(
                            (
                                "Golpe por alcance en un semáforo.",
                                "Fuga de agua en la cocina.",
                                "Rotura de la luna delantera.",
                                "Robo con fuerza en el domicilio.",
                                "Ingreso hospitalario programado.",
                                "Incendio en la campana.",
                            )
                        ),
                        location=f"{rng.choice(PLACES)[1]}",
                        claimed_amount=Decimal(rng.randrange(300, 9000)),
                    ),
                )
                if target == "reported":
                    continue
                await claims.start_investigation(
                    session, rt=rt, viewer=viewer, claim_id=claim.id, note=None, expected_version=None
                )
                if target in ("approved", "paid"):
                    cap = min(claim.claimed_amount or Decimal(0), policy.coverage_amount or Decimal(10**9))
                    await claims.approve_claim(
                        session,
                        rt=rt,
                        viewer=viewer,
                        claim_id=claim.id,
                        amount=(cap * Decimal("0.9")).quantize(Decimal("0.01")),
                        note=None,
                        expected_version=None,
                    )
                if target == "paid":
                    await claims.pay_claim(
                        session,
                        rt=rt,
                        viewer=viewer,
                        claim_id=claim.id,
                        amount=None,
                        payment_reference=f"TRF-{today:%Y%m}-{index:05d}",
                        expected_version=None,
                    )
                if target == "denied":
                    await claims.deny_claim(
                        session,
                        rt=rt,
                        viewer=viewer,
                        claim_id=claim.id,
                        reason="Daño excluido en las condiciones generales.",
                        expected_version=None,
                    )
            for index in range(40):
                owner, data = people[(index * 7) % 50]
                kind = ("auto", "home", "life", "health")[index % 4]
                base = Decimal(rng.randrange(*PREMIUMS[kind]))
                offers = rng.sample(CARRIERS, k=3)
                quote = await quotes.create_quote(
                    session,
                    rt=rt,
                    viewer=viewer,
                    data=QuoteCreate(
                        customer_id=owner.id,
                        quote_type=kind,
                        coverage_details=_details(rng, kind, data),
                        base_premium=base,
                        discounts=[{"type": "multi_policy", "percent": "5"}] if index % 3 == 0 else [],
                        surcharges=[],
                        carrier_quotes=[
                            {"carrier": c, "premium": str(base + rng.randrange(-40, 60))} for c in offers
                        ],
                    ),
                )
                if index % 4 == 0:
                    await quotes.convert_quote(
                        session, rt=rt, viewer=viewer, quote_id=quote.id, data=ConvertRequest()
                    )
                elif index % 5 == 1:
                    await quotes.expire_quote(session, viewer=viewer, quote_id=quote.id)
                elif index % 7 == 2:
                    await quotes.change_status(
                        session, viewer=viewer, quote_id=quote.id, target=QuoteStatus.rejected
                    )
                elif index % 2:
                    await quotes.change_status(
                        session, viewer=viewer, quote_id=quote.id, target=QuoteStatus.sent
                    )
            for index in range(15):
                owner, _ = people[index * 3]
                await interactions.log_interaction(
                    session,
                    rt=rt,
                    viewer=viewer,
                    data=InteractionCreate(
                        customer_id=owner.id,
                        type=rng.choice(("call", "email", "whatsapp", "meeting", "sms")),
                        direction=rng.choice(("inbound", "outbound")),
                        subject=rng.choice(
                            ("Consulta sobre la póliza", "Renovación", "Parte de siniestro", "Presupuesto")
                        ),
                        description="Registrado en la carga de datos de demostración.",
                        occurred_at=datetime.now(UTC)
                        - timedelta(days=rng.randrange(0, 60), hours=rng.randrange(0, 12)),
                    ),
                )
            for index in range(5):
                owner, _ = people[index * 5 + 1]
                await tasks.create_task(
                    session,
                    rt=rt,
                    created_by=SEED_ACTOR,
                    title=f"Revisar coberturas de {owner.first_name} {owner.last_name}",
                    task_type="review",
                    priority=("low", "medium", "high", "urgent", "medium")[index],
                    customer_id=owner.id,
                    due_date=datetime.now(UTC) + timedelta(days=index - 2),
                )
            await profile.resegment_all(session, rt=rt)
        return "seeded 50 customers, 100 policies, 30 claims, 40 quotes, 15 interactions, 5 tasks"
    finally:
        await db.dispose()


def main() -> int:
    print("core-crm: " + asyncio.run(seed(Settings())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
