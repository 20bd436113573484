"""The hosted page's English catalog covers every text the page shows, placeholders intact; the
language choice and the yen formatting follow the locale."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po

from kessai.web.link import i18n
from tests.support.link_messages import all_msgids, template_msgids

PO = i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"


def catalog() -> dict[str, str]:
    with PO.open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id and isinstance(m.id, str)}


def test_every_text_of_the_page_has_an_english_translation():
    english = catalog()
    missing = sorted(m for m in all_msgids() if not english.get(m))
    assert not missing, missing


def test_the_templates_are_really_read():
    assert len(template_msgids()) > 80  # the extraction works (a broken one finds nothing)


def test_placeholders_survive_translation():
    for msgid, msgstr in catalog().items():
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", msgstr))


def test_the_compiled_catalog_translates():
    assert i18n.TRANSLATIONS["en"].gettext("お支払い方法の選択") == "Choose a payment method"
    assert i18n.TRANSLATIONS["ja"].gettext("お支払い方法の選択") == "お支払い方法の選択"


@pytest.mark.parametrize(
    ("query", "code", "header", "expected"),
    [
        ("", "", "", "ja"),
        ("", "", "en-US,en;q=0.9", "en"),
        ("", "", "fr-FR, en;q=0.5", "en"),
        ("", "", "fr, de", "ja"),
        ("", "", "en;q=0.3, ja;q=0.8", "ja"),
        ("", "en", "ja", "en"),
        ("ja", "en", "en", "ja"),
        ("en", "", "ja", "en"),
        ("xx", "", "", "ja"),
    ],
)
def test_language_choice(query, code, header, expected):
    chosen = i18n.choose(query, code, header)
    assert chosen.code == expected
    assert chosen.explicit == (query in i18n.LANGUAGES)


def test_yen_and_times_by_locale():
    assert i18n.yen(1234567, "ja") == "1,234,567円"
    assert i18n.yen(1234567, "en") == "¥1,234,567"
    moment = datetime(2026, 12, 2, 14, 59, 59, tzinfo=UTC)  # 23:59:59 in Japan
    assert i18n.when(moment, "ja") == "2026年12月2日(水) 23:59"
    assert i18n.when(moment, "en") == "Dec 2, 2026, 11:59 PM (Japan time)"
