"""The PDF: ReportLab for the pages, matplotlib (Agg, object API: safe off the main thread) for the
charts. Money is printed as ``1,234.56 €``, ratios as percentages with two decimals."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from analytics.reports.content import TITLES, ReportContent

MONEY = {"written_premium", "earned_premium", "incurred", "paid", "severity"}
RATIOS = {"retention_rate", "churn_rate", "loss_ratio", "quote_to_bind", "claim_frequency"}
LABELS = {
    "written_premium": "Written premium",
    "earned_premium": "Earned premium",
    "policies_in_force": "Policies in force",
    "retention_rate": "Retention rate",
    "churn_rate": "Churn rate",
    "claims": "Claims",
    "claim_frequency": "Claim frequency (per exposure year)",
    "severity": "Severity",
    "loss_ratio": "Loss ratio",
    "incurred": "Incurred",
    "paid": "Paid",
    "quotes_issued": "Quotes issued",
    "quotes_bound": "Quotes bound",
    "quote_to_bind": "Quote-to-bind",
    "exposure_years": "Exposure years",
}
BLUE = "#1f4e79"


def fmt(name: str, value: Any) -> str:
    """One figure as the report prints it."""
    if value is None:
        return "—"
    if name in MONEY:
        return f"{Decimal(str(value)):,.2f} €"
    if name in RATIOS and name != "claim_frequency":
        return f"{Decimal(str(value)) * 100:.2f} %"
    return str(value)


def change(value: Any) -> str:
    if value is None:
        return "—"
    return f"{Decimal(str(value)) * 100:+.1f} %"


def _charts(*draws: Any, width: float = 17, height: float = 6.5) -> Image:
    """Charts side by side in one image (matplotlib's object API: no global state, thread-safe)."""
    fig = Figure(figsize=(width / 2.54, height / 2.54), dpi=150)
    FigureCanvasAgg(fig)
    for i, draw in enumerate(draws, start=1):
        ax = fig.add_subplot(1, len(draws), i)
        draw(ax)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    buf.seek(0)
    return Image(buf, width=width * cm, height=height * cm)


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=[w * cm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(BLUE)),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef3f8")]),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b0bec5")),
            ]
        )
    )
    return table


def _carrier_charts(content: ReportContent) -> list[Any]:
    carriers = [g["key"] for g in content.by_carrier]
    if not carriers:
        return []
    written = [float(g["kpis"]["written_premium"]["value"] or 0) for g in content.by_carrier]
    loss = [float(g["kpis"]["loss_ratio"]["value"] or 0) * 100 for g in content.by_carrier]

    def premium(ax: Any) -> None:
        bars = ax.bar(carriers, written, color=BLUE)
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in written], fontsize=6.5)
        ax.set_title("Written premium by carrier (€)", fontsize=9)
        ax.set_ylim(top=max([*written, 1]) * 1.15)

    def ratio(ax: Any) -> None:
        bars = ax.bar(carriers, loss, color="#c0504d")
        ax.bar_label(bars, labels=[f"{v:.1f} %" for v in loss], fontsize=6.5)
        ax.axhline(100, color="#7f7f7f", linewidth=0.6, linestyle="--")
        ax.set_title("Loss ratio by carrier (%, 100 dashed)", fontsize=9)
        ax.set_ylim(top=max([*loss, 110]) * 1.15)

    return [_charts(premium, ratio)]


def _totals(content: ReportContent) -> Table:
    rows = [["KPI", "This period", "Previous", "Change", "Year before", "Change"]]
    for name, label in LABELS.items():
        k = content.totals.get(name)
        if k is None:
            continue
        rows.append(
            [
                label,
                fmt(name, k["value"]),
                fmt(name, k["previous"]),
                change(k["change_vs_previous"]),
                fmt(name, k["year_before"]),
                change(k["change_vs_year_before"]),
            ]
        )
    return _table(rows, [5.2, 2.6, 2.6, 1.7, 2.6, 1.7])


def _carrier_table(content: ReportContent) -> Table:
    rows = [["Carrier", "Written", "Earned", "In force", "Claims", "Loss ratio", "Quote-to-bind"]]
    for g in content.by_carrier:
        k = g["kpis"]
        rows.append(
            [
                g["key"],
                fmt("written_premium", k["written_premium"]["value"]),
                fmt("earned_premium", k["earned_premium"]["value"]),
                str(k["policies_in_force"]["value"]),
                str(k["claims"]["value"]),
                fmt("loss_ratio", k["loss_ratio"]["value"]),
                fmt("quote_to_bind", k["quote_to_bind"]["value"]),
            ]
        )
    return _table(rows, [3.2, 2.6, 2.6, 1.8, 1.6, 2.2, 2.4])


def render(content: ReportContent, *, generated_at: datetime | None = None) -> bytes:
    """The report's PDF bytes (CPU only: run it in a thread)."""
    styles = getSampleStyleSheet()
    generated_at = generated_at or datetime.now(UTC)
    buf = io.BytesIO()
    title = TITLES[content.kind]
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=f"{title} {content.label}",
        author="AINTECH analytics",
        leftMargin=1.6 * cm,
        rightMargin=1.6 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
    )
    story: list[Any] = [
        Paragraph(f"AINTECH — {title}", styles["Title"]),
        Paragraph(
            f"Period {content.label}: {content.period.start.isoformat()} to {content.period.end.isoformat()}"
            f" · generated {generated_at:%Y-%m-%d %H:%M} UTC",
            styles["Normal"],
        ),
        Spacer(1, 0.5 * cm),
    ]
    if content.empty:
        story.append(
            Paragraph(
                "No data for this period: no policy was written or renewed, and no claim, quote or call "
                "was recorded between these dates. The figures below are zero or not defined.",
                styles["Heading3"],
            )
        )
        story.append(Spacer(1, 0.3 * cm))
    story += [Paragraph("Key figures", styles["Heading2"]), _totals(content), Spacer(1, 0.5 * cm)]
    if content.by_carrier:
        story += [Paragraph("By carrier", styles["Heading2"]), _carrier_table(content), Spacer(1, 0.4 * cm)]
        story += _carrier_charts(content)
    if content.kind == "weekly_executive" and content.agents:
        rows = [["Agent", "Calls", "Answered", "Answer rate", "Avg handle (s)", "Conversions"]]
        for a in content.agents:
            rows.append(
                [
                    a["agent_id"][:8],
                    str(a["calls"]),
                    str(a["answered"]),
                    fmt("retention_rate", a["answer_rate"]),
                    "—" if a["avg_handle_seconds"] is None else f"{a['avg_handle_seconds']:.1f}",
                    str(a["conversions"]),
                ]
            )
        story += [
            Spacer(1, 0.4 * cm),
            Paragraph("Agents", styles["Heading2"]),
            _table(rows, [3, 2, 2, 2.5, 3, 2.5]),
        ]
    if content.kind == "weekly_executive" and content.channels:
        rows = [["Channel", "Inbound", "Outbound", "Median first response (s)"]]
        rows += [
            [
                c["channel"],
                str(c["inbound"]),
                str(c["outbound"]),
                "—"
                if c["median_first_response_seconds"] is None
                else f"{c['median_first_response_seconds']:.0f}",
            ]
            for c in content.channels
        ]
        story += [Spacer(1, 0.4 * cm), Paragraph("Channels", styles["Heading2"]), _table(rows, [4, 3, 3, 5])]
    doc.build(story)
    return buf.getvalue()
