"""The hosted page's messages: every msgid its templates and label tables use (for the catalog
test, and to refresh web/link/locale/en/LC_MESSAGES/messages.po)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file

from kessai.kit.errors import MESSAGES
from kessai.web.buyer.receipt import STEPS
from kessai.web.link import card, methods, pages

TEMPLATES = Path(pages.__file__).parent / "templates"
# The codes a buyer can meet on the page (link refusals, card and institution answers).
BUYER_CODES = (
    "6001", "6002", "6003", "6004", "6005", "2001", "2002", "2003", "2008", "2016",
    "9005", "E001", "P011", "3001", "3002", "3003", "3004", "5008", "5009", "5010", "5011",
)  # fmt: skip


def template_msgids() -> set[str]:
    found: set[str] = set()
    for path in sorted(TEMPLATES.glob("*.html")):
        for _line, message, _comments, _context in extract_from_file(
            "jinja2", str(path), options={"extensions": "jinja2.ext.i18n"}
        ):
            if isinstance(message, str):
                found.add(message)
            elif message:
                found.update(m for m in message if m)
    return found


def label_msgids() -> set[str]:
    """Texts the face passes to the templates, translated there with `_(…)`."""
    tables = (
        pages.METHOD_LABELS,
        pages.CHAIN_LABELS,
        pages.NOTES,
        methods.FIELD_LABELS,
        methods.CARRIER_LABELS,
        card.CLASS_LABELS,
        card.FIELD_LABELS,
    )
    found = {text for table in tables for text in table.values()}
    found.add(card.DECLINED)
    found.update(step for chain in pages.CHAIN_LABELS for step in STEPS.get(chain, ()))
    found.update(MESSAGES[code] for code in BUYER_CODES)
    return found


def all_msgids() -> set[str]:
    return template_msgids() | label_msgids()
