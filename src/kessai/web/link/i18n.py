"""The hosted page's languages: Japanese (the source language of every message) and English.

The English catalog is a `.po` file compiled in memory at import (no `.mo` in the tree to go stale).
The language of a request is, in order: `?lang=` on the URL (carried on every link and form of the
page), the link request's `language_code`, the browser's Accept-Language, else Japanese. Amounts and
times are formatted by Babel for the chosen locale; deadlines are shown in Japan time.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from kessai.kit.clock import JST, as_utc

LANGUAGES = ("ja", "en")
DEFAULT = "ja"
LOCALE_DIR = Path(__file__).parent / "locale"


def _compile(language: str) -> NullTranslations:
    """The catalog of `language` (Japanese needs none: the msgids are Japanese)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


TRANSLATIONS: dict[str, NullTranslations] = {lang: _compile(lang) for lang in LANGUAGES}


@dataclass(frozen=True, slots=True)
class Language:
    """The language a page is shown in, and whether the URL chose it (then links carry it)."""

    code: str
    explicit: bool

    @property
    def translations(self) -> NullTranslations:
        return TRANSLATIONS[self.code]

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)


def choose(query_lang: str, language_code: str, accept_language: str) -> Language:
    """The page's language: the URL's choice, then the merchant's, then the browser's."""
    if query_lang in LANGUAGES:
        return Language(query_lang, explicit=True)
    if language_code in LANGUAGES:
        return Language(language_code, explicit=False)
    return Language(_negotiate(accept_language), explicit=False)


def _negotiate(header: str) -> str:
    """The best of our languages for an Accept-Language header (quality values honoured)."""
    wanted: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            wanted.append((quality, tag))
    ordered = [tag for _, tag in sorted(wanted, key=lambda item: -item[0])]
    found = Locale.negotiate(ordered, list(LANGUAGES), sep="-") if ordered else None
    return str(found) if found is not None else DEFAULT


def yen(amount: int, language: str) -> str:
    """An amount in yen as the locale writes it: 1,500円 in Japanese, ¥1,500 in English."""
    if language == "ja":
        return f"{format_decimal(amount, locale='ja')}円"
    return format_currency(amount, "JPY", locale=language)


_WHEN = {"ja": "yyyy年M月d日(E) H:mm", "en": "MMM d, yyyy, h:mm a"}


def when(moment: datetime, language: str) -> str:
    """A time on the page, in Japan time (the deadlines are Japanese days)."""
    text = format_datetime(
        as_utc(moment).astimezone(JST), _WHEN[language], tzinfo=JST, locale=language
    )
    return text if language == "ja" else f"{text} (Japan time)"
