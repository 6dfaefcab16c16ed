"""Policy PDFs generated here (fpdf2) read by the real parser (pypdf + pdfplumber), and a policy
document job against the fake Mapfre portal."""

from __future__ import annotations

import pytest
from fpdf import FPDF

from scraper.core.errors import ScrapeError
from scraper.documents.pdf import parse_policy

from .conftest import Scraping

POLICY = [
    "MAPFRE - Condiciones particulares del seguro de automóvil",
    "Nº de póliza: AU-2026-004521",
    "Tomador: Lucía Martín Gómez",
    "NIF: 12345678Z",
    "Fecha de efecto: 01/03/2026",
    "Fecha de vencimiento: 01/03/2027",
    "Matrícula: 4821 KLM",
    "Prima total (impuestos incluidos): 1.234,56 EUR",
    "Coberturas contratadas:",
    "- Responsabilidad civil obligatoria",
    "- Lunas",
    "- Asistencia en viaje",
]
LIMITS = {"max_bytes": 10_000_000, "max_pages": 40}


def policy_pdf(lines: list[str] = POLICY, *, pages: int = 5, password: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    if password:
        pdf.set_encryption(owner_password=password, user_password=password)
    for page in range(pages):
        pdf.add_page()
        for line in lines if page == 0 else [f"Condiciones generales, página {page + 1}"] * 25:
            pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_a_five_page_policy_is_read_with_a_confidence_per_field() -> None:
    parsed = parse_policy(policy_pdf(), **LIMITS)
    values = {name: f["value"] for name, f in parsed.fields.items()}
    assert values == {
        "policy_number": "AU-2026-004521",
        "holder": "Lucía Martín Gómez",
        "holder_id": "12345678Z",
        "start_date": "2026-03-01",
        "end_date": "2027-03-01",
        "premium_total": "1234.56",
        "vehicle_plate": "4821KLM",
        "coverages": ["Responsabilidad civil obligatoria", "Lunas", "Asistencia en viaje"],
    }
    assert (
        parsed.fields["holder_id"]["confidence"] >= 0.99 and parsed.fields["holder_id"]["check_letter_valid"]
    )
    assert parsed.fields["premium_total"]["taxes_included"] is True
    assert parsed.unreadable == [] and parsed.pages == 5


def test_a_wrong_check_letter_and_missing_fields_are_flagged_not_guessed() -> None:
    lines = [
        line.replace("12345678Z", "12345678A") for line in POLICY if not line.startswith(("Tomador", "Prima"))
    ]
    parsed = parse_policy(policy_pdf(lines, pages=1), **LIMITS)
    assert (
        parsed.fields["holder_id"]["check_letter_valid"] is False
        and parsed.fields["holder_id"]["confidence"] < 0.5
    )
    assert "holder" not in parsed.fields and "premium_total" not in parsed.fields
    assert {"holder", "premium_total"} <= set(parsed.unreadable)


def test_a_nie_is_recognised() -> None:
    parsed = parse_policy(policy_pdf([*POLICY[:3], "NIE: X1234567L"], pages=1), **LIMITS)
    assert (
        parsed.fields["holder_id"]["value"] == "X1234567L"
        and parsed.fields["holder_id"]["check_letter_valid"]
    )


@pytest.mark.parametrize(
    ("content", "limits", "reason"),
    [
        (policy_pdf(password="s3cr3t"), LIMITS, "encrypted"),
        (b"%PDF-1.7\n" + b"\x00garbage" * 50, LIMITS, "PDF"),
        (b"<html>not a pdf</html>", LIMITS, "not a PDF"),
        (policy_pdf(), {"max_bytes": 1000, "max_pages": 40}, "bytes"),
        (policy_pdf(pages=5), {"max_bytes": 10_000_000, "max_pages": 3}, "pages"),
    ],
)
def test_an_encrypted_corrupt_or_huge_pdf_is_an_invalid_document_with_the_reason(
    content: bytes, limits: dict[str, int], reason: str
) -> None:
    with pytest.raises(ScrapeError) as raised:
        parse_policy(content, **limits)
    assert raised.value.error_class == "invalid_document" and reason in raised.value.detail


async def test_a_policy_document_job_downloads_parses_and_publishes(scraping: Scraping) -> None:
    scraping.portal.state.documents["AU-2026-004521"] = policy_pdf()
    job_id = await scraping.queue("mapfre", "policy_document", policy_number="AU-2026-004521")
    assert await scraping.runner.run_once() == "succeeded", (await scraping.job(job_id)).error_detail
    [row] = await scraping.rows("SELECT premium, data FROM scraper.results WHERE job_id = :j", j=job_id)
    assert str(row["premium"]) == "1234.56" and row["data"]["fields"]["holder_id"]["value"] == "12345678Z"
    [event] = await scraping.rows(
        "SELECT payload FROM scraper.outbox"
        " WHERE event_type = 'policy.document_parsed' AND payload->'data'->>'job_id' = :j",
        j=str(job_id),
    )
    data = event["payload"]["data"]
    assert data["policy_number"] == "AU-2026-004521" and data["fields"]["vehicle_plate"]["value"] == "4821KLM"


async def test_an_encrypted_document_fails_the_job_with_the_reason(scraping: Scraping) -> None:
    scraping.portal.state.documents["AU-1"] = policy_pdf(password="x")
    job_id = await scraping.queue("mapfre", "policy_document", policy_number="AU-1")
    assert await scraping.runner.run_once() == "failed"
    job = await scraping.job(job_id)
    assert job.error_class == "invalid_document" and "encrypted" in (job.error_detail or "")
