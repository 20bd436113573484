"""The Japanese font the gateway's PDFs (payment slips, payout statements) are drawn with, and the
two drawing helpers both documents share (a line of text, a yen amount).

A TrueType Japanese font is embedded when one is installed (the setting `KESSAI_SLIP_FONT`, else
IPAex Gothic / IPA Gothic where Debian installs them); without one the PDF names the standard
Adobe-Japan1 font HeiseiKakuGo-W5, which viewers with Japanese support draw from their own fonts.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
)
CID_FONT = "HeiseiKakuGo-W5"
_EMBEDDED = "KessaiGothic"
# reportlab keeps registered fonts in a process-wide table; registering once is all it needs.
_fonts_lock = threading.Lock()


def japanese_font(configured: Path | None = None) -> str:
    """The name of the font to draw Japanese with, registered with reportlab on first use."""
    with _fonts_lock:
        path = configured or next((p for p in FONT_CANDIDATES if p.is_file()), None)
        if path is not None and path.is_file():
            name = f"{_EMBEDDED}-{path.stem}"
            if name not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(name, str(path)))
            return name
        if CID_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
        return CID_FONT


def draw_text(
    canvas: Canvas, font: str, x: float, y: float, value: str, size: float, *, right: bool
) -> None:
    """One line of text at (x, y) in points, left-aligned there or (right=True) ending there."""
    canvas.setFont(font, size)
    if right:
        canvas.drawRightString(x, y, value)
    else:
        canvas.drawString(x, y, value)


def yen(amount: int) -> str:
    """``12,345円``; ``-1,000円`` for a negative amount."""
    return f"{amount:,}円"
