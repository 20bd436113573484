"""The payout statement (支払明細書) as a one-page A4 PDF, drawn with reportlab.

From top to bottom: the title and the statement's number; the merchant it is for (御中) and the
operator who issues it with its invoice registration number (登録番号, the statement being the
qualified invoice for the fees); the period and the payout date; one row per payment method (count,
sales, refunds, fees); the reckoning from fees to the amount paid (fees, tax, adjustments, the
balance carried in, the payout, the balance carried forward); and the tax line per rate that a
qualified invoice needs (10%対象 fees and their tax).

Amounts are printed as yen with thousands separators; a negative one with a minus sign.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from kessai.core.payments.labels import method_name
from kessai.core.payouts.statement import StatementDocument
from kessai.web.fonts import draw_text, japanese_font, yen

LEFT, RIGHT = 18 * mm, 192 * mm
COLUMNS = (  # right edges of the method table's number columns
    ("件数", 95 * mm),
    ("売上金額", 125 * mm),
    ("返金額", 155 * mm),
    ("手数料（税抜）", RIGHT),
)


def render(doc: StatementDocument, *, font_path: Path | None = None) -> bytes:
    """The statement's PDF."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"支払明細書 {doc.statement.statement_id}")
    canvas.setAuthor(doc.issuer_name)
    _Statement(canvas, doc, japanese_font(font_path)).draw()
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _day(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


class _Statement:
    """One drawing of one statement; coordinates in points from the page's bottom left."""

    def __init__(self, canvas: Canvas, doc: StatementDocument, font: str) -> None:
        self.c = canvas
        self.doc = doc
        self.s = doc.statement
        self.font = font

    def text(self, x: float, y: float, value: str, size: float = 9, *, right: bool = False) -> None:
        draw_text(self.c, self.font, x, y, value, size, right=right)

    def draw(self) -> None:
        self.heading()
        y = self.parties(262 * mm)
        y = self.period(y - 8 * mm)
        y = self.methods(y - 10 * mm)
        y = self.reckoning(y - 10 * mm)
        self.tax_lines(y - 8 * mm)

    def heading(self) -> None:
        self.text(LEFT, 280 * mm, "支払明細書", 18)
        self.text(RIGHT, 282 * mm, f"明細番号 {self.s.statement_id}", 8, right=True)

    def parties(self, y: float) -> float:
        self.text(LEFT, y, f"{self.doc.merchant_name} 御中", 12)
        self.text(LEFT, y - 6 * mm, f"マーチャントID {self.s.merchant_id}", 8)
        x = 120 * mm
        self.text(x, y, self.doc.issuer_name, 11)
        self.text(x, y - 6 * mm, f"登録番号 {self.doc.registration_number}", 9)
        return y - 10 * mm

    def period(self, y: float) -> float:
        rows = [
            ("対象期間", f"{_day(self.s.period_from)} ～ {_day(self.s.period_through)}"),
            ("お支払日", _day(self.s.payout_date)),
            ("お支払金額", yen(self.s.payout_amount)),
        ]
        for label, value in rows:
            self.text(LEFT, y, label, 10)
            self.text(55 * mm, y, value, 12 if label == "お支払金額" else 10)
            y -= 7 * mm
        return y

    def methods(self, y: float) -> float:
        self.text(LEFT, y, "決済種別", 9)
        for label, right in COLUMNS:
            self.text(right, y, label, 9, right=True)
        self.c.line(LEFT, y - 2 * mm, RIGHT, y - 2 * mm)
        for line in self.s.lines:
            y -= 7 * mm
            self.text(LEFT, y, method_name(line.payment_type), 10)
            figures = (f"{line.count:,}", yen(line.gross), yen(line.refunds), yen(line.fees))
            for (_, right), figure in zip(COLUMNS, figures, strict=True):
                self.text(right, y, figure, 10, right=True)
        self.c.line(LEFT, y - 3 * mm, RIGHT, y - 3 * mm)
        return y - 3 * mm

    def reckoning(self, y: float) -> float:
        s = self.s
        rows = [
            ("売上金額合計", sum(line.gross for line in s.lines)),
            ("返金額合計", sum(line.refunds for line in s.lines)),
            ("手数料合計（税抜）", s.fees_total),
            (f"消費税（{self.doc.tax_rate_percent}%）", s.tax),
            ("調整額", s.adjustments),
            ("前回繰越額", s.carried_in),
            ("お支払金額", s.payout_amount),
            ("次回繰越額", s.carried_forward),
        ]
        for label, amount in rows:
            self.text(110 * mm, y, label, 10)
            self.text(RIGHT, y, yen(amount), 10, right=True)
            y -= 6.5 * mm
        return y

    def tax_lines(self, y: float) -> None:
        rate = self.doc.tax_rate_percent
        self.text(LEFT, y, "適格請求書（手数料）　税率ごとの内訳", 9)
        self.c.line(LEFT, y - 2 * mm, RIGHT, y - 2 * mm)
        self.text(LEFT, y - 8 * mm, f"{rate}%対象 {yen(self.s.fees_total)}", 10)
        self.text(100 * mm, y - 8 * mm, f"消費税 {yen(self.s.tax)}", 10)
        self.text(
            LEFT,
            y - 16 * mm,
            f"発行者 {self.doc.issuer_name}　登録番号 {self.doc.registration_number}",
            8,
        )
