"""Tariffs as data, the Spanish receipt taxes as rows, stored calculations.

`carrier_products` (carrier, line), `tariff_versions` (effective-dated, versioned tariff documents:
cover levels, base rates by zone, banded factor tables, discounts and surcharges, minimum and cap),
`receipt_taxes` (IPS, Consorcio, CLEA with validity and legal reference: a new resolution is a new
row), `calculations` (each calculation and comparison with the tariff versions it pinned).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "quotes"


def upgrade() -> None:
    op.create_table(
        "carrier_products",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=200), nullable=False),
        sa.Column("line", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "line IN ('auto', 'home', 'life', 'health', 'business')", name=op.f("ck_carrier_products_line")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_products")),
        sa.UniqueConstraint("code", name=op.f("uq_carrier_products_code")),
        schema=S,
    )
    op.create_table(
        "tariff_versions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), server_default="json", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'retired')", name=op.f("ck_tariff_versions_status")
        ),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to > effective_from", name=op.f("ck_tariff_versions_validity")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            [f"{S}.carrier_products.id"],
            name=op.f("fk_tariff_versions_product_id_carrier_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariff_versions")),
        sa.UniqueConstraint("product_id", "version", name="uq_tariff_versions_product_version"),
        schema=S,
    )
    op.create_index(
        "ix_tariff_versions_product_status", "tariff_versions", ["product_id", "status"], schema=S
    )
    taxes = op.create_table(
        "receipt_taxes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("rate", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("amounts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("capital_field", sa.String(length=64), nullable=True),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("exempt_lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("legal_reference", sa.String(length=500), nullable=False),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_receipt_taxes_validity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_taxes")),
        sa.UniqueConstraint("code", "valid_from", name="uq_receipt_taxes_code_from"),
        schema=S,
    )
    op.create_table(
        "calculations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("line", sa.String(length=20), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=True),
        sa.Column("tariff_version_id", sa.UUID(), nullable=True),
        sa.Column("priced_on", sa.Date(), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("crm_request_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint("kind IN ('calculation', 'comparison')", name=op.f("ck_calculations_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calculations")),
        schema=S,
    )
    op.create_index("ix_calculations_created", "calculations", ["created_at"], schema=S)
    op.create_index("ix_calculations_product_created", "calculations", ["product_code", "created_at"], schema=S)
    op.create_index("ix_calculations_customer", "calculations", ["customer_id"], schema=S)
    op.create_index("ix_calculations_crm_request", "calculations", ["crm_request_id"], unique=True, schema=S)

    # The Spanish receipt (reference data, not demo data: every environment needs it).
    op.bulk_insert(
        taxes,
        [
            {
                "id": "6b0f6c52-6a5e-4d47-9c43-1f7a9a000001",
                "code": "ips",
                "name": "Impuesto sobre las Primas de Seguros (IPS)",
                "kind": "percent_of_net",
                "rate": Decimal("8"),
                "amounts": {},
                "capital_field": None,
                "lines": [],
                "exempt_lines": ["life", "health"],
                "valid_from": date(2017, 6, 29),
                "valid_to": None,
                "legal_reference": "Ley 13/1996, art. 12 (IPS); tipo del 8 % desde el 29-06-2017 por la "
                "Ley 3/2017 de PGE; exentas las operaciones de seguro de vida y de asistencia sanitaria",
            },
            {
                "id": "6b0f6c52-6a5e-4d47-9c43-1f7a9a000002",
                "code": "consorcio_riesgos_extraordinarios_auto",
                "name": "Consorcio: recargo de riesgos extraordinarios (vehículos)",
                "kind": "fixed_per_vehicle",
                "rate": None,
                "amounts": {"car": "2.10", "motorcycle": "1.20"},
                "capital_field": None,
                "lines": ["auto"],
                "exempt_lines": [],
                "valid_from": date(2016, 1, 1),
                "valid_to": None,
                "legal_reference": "Estatuto Legal del Consorcio de Compensación de Seguros (RDL 7/2004), "
                "art. 18; tarifa de recargos por riesgos extraordinarios (Resolución DGSFP)",
            },
            {
                "id": "6b0f6c52-6a5e-4d47-9c43-1f7a9a000003",
                "code": "consorcio_riesgos_extraordinarios_hogar",
                "name": "Consorcio: recargo de riesgos extraordinarios (viviendas, 0,07 ‰ del capital)",
                "kind": "per_mille_of_capital",
                "rate": Decimal("0.07"),
                "amounts": {},
                "capital_field": "insured_capital",
                "lines": ["home"],
                "exempt_lines": [],
                "valid_from": date(2016, 1, 1),
                "valid_to": None,
                "legal_reference": "Estatuto Legal del Consorcio de Compensación de Seguros (RDL 7/2004), "
                "art. 18; tarifa de recargos por riesgos extraordinarios (Resolución DGSFP)",
            },
            {
                "id": "6b0f6c52-6a5e-4d47-9c43-1f7a9a000004",
                "code": "consorcio_fondo_garantia",
                "name": "Consorcio: Fondo de Garantía (1,5 % de la prima del seguro obligatorio)",
                "kind": "percent_of_compulsory_rc",
                "rate": Decimal("1.5"),
                "amounts": {},
                "capital_field": None,
                "lines": ["auto"],
                "exempt_lines": [],
                "valid_from": date(2016, 1, 1),
                "valid_to": None,
                "legal_reference": "RDL 8/2004 (LRCSCVM), art. 11, y RDL 7/2004, art. 18: recargo del "
                "Consorcio sobre la prima del seguro obligatorio de automóviles",
            },
            {
                "id": "6b0f6c52-6a5e-4d47-9c43-1f7a9a000005",
                "code": "clea",
                "name": "Recargo para la liquidación de entidades aseguradoras (CLEA)",
                "kind": "percent_of_net",
                "rate": Decimal("0.15"),
                "amounts": {},
                "capital_field": None,
                "lines": [],
                "exempt_lines": [],
                "valid_from": date(2016, 1, 1),
                "valid_to": None,
                "legal_reference": "RDL 7/2004, art. 18.1 (funciones de liquidación de entidades "
                "aseguradoras del Consorcio): 0,15 % de las primas",
            },
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_calculations_crm_request", table_name="calculations", schema=S)
    op.drop_index("ix_calculations_customer", table_name="calculations", schema=S)
    op.drop_index("ix_calculations_product_created", table_name="calculations", schema=S)
    op.drop_index("ix_calculations_created", table_name="calculations", schema=S)
    op.drop_table("calculations", schema=S)
    op.drop_table("receipt_taxes", schema=S)
    op.drop_index("ix_tariff_versions_product_status", table_name="tariff_versions", schema=S)
    op.drop_table("tariff_versions", schema=S)
    op.drop_table("carrier_products", schema=S)
