"""The printable payment slip (払込票) as a one-page A4 PDF, drawn with reportlab.

Top half: the statement the buyer keeps (payer, payee, amount, deadline, the lines of the slip).
Below the cut line, the two parts a till handles: the receipt the store stamps and hands back
(払込受領証, with a revenue-stamp box when the barcode's 印紙フラグ says so) and the slip itself with
the GS1-128 barcode and its digits printed under it in the guideline's two lines.

GS1-128 in reportlab: `Code128` takes FNC1 as the character ``\\xf1`` in its value (its docstring:
"FNC1-FNC4, expressed in the input string as \\xf1 to \\xf4"), so the value is ``"\\xf1" + digits``,
which it encodes as START C, FNC1, then the 44 digits in pairs — the symbol a till reads as ``]C1``.
Its own human-readable line would print that ``\\xf1``; it is switched off and the digits are drawn
here. Module 0.19 mm, 10-module quiet zones: 58.5 mm, within the tills' 60 mm (see kit.cvs_barcode).

Japanese text needs a font: a TrueType Japanese font is embedded when one is installed (the
setting `KESSAI_SLIP_FONT`, else IPAex Gothic / IPA Gothic where Debian installs them); without
one the PDF names the standard Adobe-Japan1 font HeiseiKakuGo-W5, which viewers with Japanese
support draw from their own fonts.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from kessai.core.payments.slip.commands import SlipDocument
from kessai.kit import cvs_barcode
from kessai.kit.clock import JST, as_utc
from kessai.web.fonts import draw_text, japanese_font, yen

FNC1 = "\xf1"  # reportlab's spelling of FNC1 in a Code128 value
MODULE = 0.19 * mm
QUIET = 10 * MODULE
BAR_HEIGHT = 12 * mm
DIGITS_FONT = "Courier"  # one of the PDF standard fonts: every viewer has it


def barcode(code: str) -> Code128:
    """The GS1-128 symbol of a 44-digit code (FNC1 first), without reportlab's own text line."""
    return Code128(
        FNC1 + code,
        barWidth=MODULE,
        barHeight=BAR_HEIGHT,
        humanReadable=False,
        quiet=True,
        lquiet=QUIET,
        rquiet=QUIET,
    )


def render(doc: SlipDocument, *, font_path: Path | None = None) -> bytes:
    """The slip's PDF."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"払込票 {doc.payment.payment_id}")
    canvas.setAuthor("Kessai")
    _Slip(canvas, doc, japanese_font(font_path)).draw()
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _date(value: datetime | None) -> str:
    return as_utc(value).astimezone(JST).strftime("%Y年%m月%d日") if value else ""


def _yyyymmdd(value: str) -> str:
    return f"{value[:4]}年{value[4:6]}月{value[6:]}日" if len(value) == 8 else value


class _Slip:
    """One drawing of one slip; coordinates in points from the page's bottom left."""

    def __init__(self, canvas: Canvas, doc: SlipDocument, font: str) -> None:
        self.c = canvas
        self.doc = doc
        self.view = doc.payment
        self.font = font

    def text(self, x: float, y: float, value: str, size: float = 9, *, right: bool = False) -> None:
        draw_text(self.c, self.font, x, y, value, size, right=right)

    def draw(self) -> None:
        self.statement()
        self.cut_line(118 * mm)
        self.receipt(15 * mm, 20 * mm)
        self.slip(105 * mm, 20 * mm)

    # --- the buyer's part

    def statement(self) -> None:
        v = self.view
        self.text(15 * mm, 280 * mm, "コンビニエンスストア 払込票", 16)
        self.text(195 * mm, 281 * mm, f"決済ID {v.payment_id}", 8, right=True)
        y = self.payer(15 * mm, 266 * mm)
        self.payee(115 * mm, 266 * mm)
        y = min(y, 240 * mm) - 6 * mm
        rows = [("お支払い金額", yen(v.amount)), ("お支払い期限", self.deadline())]
        if self.valid_beyond_deadline():
            rows.append(("払込票の有効期限", _date(v.due_at)))
        for label, value in rows:
            self.text(15 * mm, y, label, 10)
            self.text(60 * mm, y, value, 12)
            y -= 7 * mm
        y = self.items(15 * mm, y - 3 * mm)
        self.text(15 * mm, max(y - 4 * mm, 128 * mm), self.chains_line(), 8)

    def payer(self, x: float, y: float) -> float:
        v = self.view
        self.text(
            x, y, f"〒{v.detail('customer_zip_code')[:3]}-{v.detail('customer_zip_code')[3:]}"
        )
        for line in (v.detail(f"customer_address_{n}") for n in (1, 2, 3)):
            if line:
                y -= 5 * mm
                self.text(x, y, line)
        for line in self.payer_names():
            y -= 6 * mm
            self.text(x, y, line, 11)
        if v.detail("customer_tel"):
            y -= 5 * mm
            self.text(x, y, f"電話 {v.detail('customer_tel')}", 8)
        return y

    def payer_names(self) -> list[str]:
        v = self.view
        if v.detail("customer_type") == "1":
            lines = [v.detail("customer_family_name"), v.detail("customer_dept")]
            person = v.detail("customer_representative")
            lines.append(f"{person} 様" if person else "御中")
            return [line for line in lines if line]
        name = f"{v.detail('customer_family_name')} {v.detail('customer_name')}".strip()
        return [f"{name} 様"] if name else []

    def payee(self, x: float, y: float) -> None:
        self.text(x, y, "お支払い先（収納企業）", 8)
        self.text(x, y - 6 * mm, self.doc.payee, 11)
        if self.view.detail("site_info"):
            self.text(x, y - 11 * mm, self.view.detail("site_info"), 9)
        self.text(x, y - 17 * mm, "収納代行: Kessai（サンドボックス）", 8)

    def valid_beyond_deadline(self) -> bool:
        """Whether tills take the slip after its printed deadline (bill_expiration_date)."""
        due = self.view.due_at
        day = as_utc(due).astimezone(JST).strftime("%Y%m%d") if due else ""
        return day != self.view.detail("payment_limit_date")

    def deadline(self) -> str:
        printed = self.view.detail("payment_limit_date")
        return f"{_yyyymmdd(printed)} 23:59まで" if printed else _date(self.view.due_at)

    def items(self, x: float, y: float) -> float:
        lines = list(self.view.details.get("items") or [])
        if not lines:
            return y
        self.text(x, y, "ご請求明細", 10)
        self.c.line(x, y - 2 * mm, 195 * mm, y - 2 * mm)
        y -= 7 * mm
        for line in lines:
            self.text(x, y, _yyyymmdd(str(line.get("date", ""))), 8)
            self.text(x + 30 * mm, y, str(line.get("detail", "")), 8)
            self.text(195 * mm, y, yen(int(line.get("amount", 0))), 8, right=True)
            y -= 4.5 * mm
        tax = int(self.view.details.get("sales_tax_amount") or 0)
        if tax:
            label = "消費税" if self.view.detail("tax_class") == "1" else "（うち消費税）"
            self.text(x + 30 * mm, y, label, 8)
            self.text(195 * mm, y, yen(tax), 8, right=True)
            y -= 4.5 * mm
        self.c.line(x, y + 2.5 * mm, 195 * mm, y + 2.5 * mm)
        self.text(x + 30 * mm, y - 1 * mm, "合計", 9)
        self.text(195 * mm, y - 1 * mm, yen(self.view.amount), 9, right=True)
        return y - 6 * mm

    def chains_line(self) -> str:
        return "お取り扱い: " + "、".join(self.doc.chains())

    def cut_line(self, y: float) -> None:
        self.c.setDash(3, 3)
        self.c.line(10 * mm, y, 200 * mm, y)
        self.c.setDash()
        self.c.setFont(self.font, 7)
        self.c.drawCentredString(
            105 * mm, y + 2 * mm, "キリトリ線　この線から下をレジへお持ちください"
        )

    # --- the till's parts

    def receipt(self, x: float, y: float) -> None:
        """払込受領証: the store stamps it and hands it back; it is the buyer's receipt."""
        v = self.view
        self.frame(x, y, 85 * mm, 90 * mm, "払込受領証（お客様控え）")
        self.lines(
            x + 4 * mm,
            y + 70 * mm,
            [
                ("金額", yen(v.amount)),
                ("お支払い先", self.doc.payee),
                ("お名前", self.payer_names()[0] if self.payer_names() else ""),
                ("お支払い期限", self.deadline()),
            ],
        )
        self.c.rect(x + 55 * mm, y + 6 * mm, 25 * mm, 25 * mm)
        self.text(x + 57 * mm, y + 27 * mm, "受領印", 7)
        if v.detail("bar_code")[36:37] == "1":
            self.c.rect(x + 4 * mm, y + 6 * mm, 25 * mm, 25 * mm)
            self.text(x + 6 * mm, y + 27 * mm, "収入印紙", 7)

    def slip(self, x: float, y: float) -> None:
        """払込票: what the till scans."""
        v = self.view
        code = v.detail("bar_code")
        self.frame(x, y, 90 * mm, 90 * mm, "払込票（店舗用）")
        self.lines(
            x + 4 * mm,
            y + 70 * mm,
            [("金額", yen(v.amount)), ("お支払い期限", self.deadline())],
        )
        symbol = barcode(code)
        left = x + (90 * mm - symbol.width) / 2
        symbol.drawOn(self.c, left, y + 24 * mm)
        first, second = cvs_barcode.human_readable(code)
        self.c.setFont(DIGITS_FONT, 7.5)
        self.c.drawCentredString(x + 45 * mm, y + 19 * mm, first)
        self.c.drawCentredString(x + 45 * mm, y + 15 * mm, second)
        self.text(x + 4 * mm, y + 6 * mm, "バーコードを折り曲げたり汚したりしないでください。", 7)

    def frame(self, x: float, y: float, w: float, h: float, title: str) -> None:
        self.c.rect(x, y, w, h)
        self.text(x + 4 * mm, y + h - 7 * mm, title, 10)
        self.c.line(x, y + h - 10 * mm, x + w, y + h - 10 * mm)

    def lines(self, x: float, y: float, rows: Sequence[tuple[str, str]]) -> None:
        for label, value in rows:
            self.text(x, y, label, 7)
            self.text(x + 22 * mm, y, value, 9)
            y -= 7 * mm
