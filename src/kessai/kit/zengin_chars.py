"""The Zengin (全銀) character set: what a bank transfer file may carry in its name fields.

A transfer file's names (the recipient's 受取人名, bank and branch names, the requester's 依頼人名) are
half-width katakana, upper-case letters, digits, the space and a few symbols, one byte each in
JIS X 0201 (Shift_JIS). `to_zengin` normalises what people type to that set and refuses the rest:

- full-width katakana and hiragana become half-width katakana (ガ → ｶﾞ: the voiced mark is a
  character of its own, so it counts as one byte of the field);
- small kana become large (ッ → ﾂ, ャ → ﾔ), as banks print them;
- the long-vowel mark (ー, ｰ) becomes a hyphen, as banks accept it;
- full-width letters, digits and symbols become half-width, lower-case letters upper-case.

Zengin also allows ¥, which no account holder needs; it is refused with the other characters.
"""

from __future__ import annotations

import unicodedata

_VOICED = "\u3099"  # combining voiced sound mark (what NFD splits ガ into: カ + this)
_SEMI_VOICED = "\u309a"
# Half-width katakana (U+FF61–U+FF9F) by the full-width form NFKC gives them.
_HALF = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF61, 0xFFA0)}
_HALF[_VOICED] = "ﾞ"
_HALF[_SEMI_VOICED] = "ﾟ"
_SMALL = dict(zip("ｧｨｩｪｫｯｬｭｮ", "ｱｲｳｴｵﾂﾔﾕﾖ", strict=True)) | {"ヮ": "ﾜ", "ヵ": "ｶ", "ヶ": "ｹ"}
_BEFORE_NFKC = {"゛": _VOICED, "゜": _SEMI_VOICED, "ー": "-", "ｰ": "-"}

KANA = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝ"
SYMBOLS = " ().-/｢｣,"
ALLOWED = frozenset(KANA + "ﾞﾟ" + "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" + SYMBOLS)
# Which kana take the voiced (ﾞ) and semi-voiced (ﾟ) marks.
_TAKES_VOICED = frozenset("ｳｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾊﾋﾌﾍﾎﾜｦ")
_TAKES_SEMI_VOICED = frozenset("ﾊﾋﾌﾍﾎ")
ALLOWED_DESCRIPTION = "half-width katakana, A-Z, 0-9, space and ( ) . - / ｢ ｣ ,"


def to_zengin(text: str) -> str:
    """`text` in the Zengin character set (see the module docstring); ValueError naming the first
    character that cannot be sent."""
    result = "".join(_half(c) for c in _decomposed(text))
    for index, char in enumerate(result):
        if char not in ALLOWED:
            raise ValueError(
                f"{char!r} cannot be sent in a Zengin transfer (allowed: {ALLOWED_DESCRIPTION})"
            )
        if char in "ﾞﾟ" and not _takes_mark(result[:index], char):
            raise ValueError(f"{char!r} must follow a kana that takes it")
    return result


def is_zengin(text: str) -> bool:
    """Whether `text` is already in the Zengin character set (what `to_zengin` leaves unchanged)."""
    try:
        return to_zengin(text) == text
    except ValueError:
        return False


def _decomposed(text: str) -> str:
    """NFKC (full-width ASCII to half-width, half-width kana to full-width, ｶﾞ to ガ), then
    hiragana to katakana, then NFD (ガ to カ + the combining mark)."""
    text = "".join(_BEFORE_NFKC.get(c, c) for c in text)
    text = unicodedata.normalize("NFKC", text).upper()
    text = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)
    return unicodedata.normalize("NFD", text)


def _half(char: str) -> str:
    half = _SMALL.get(char) or _HALF.get(char, char)
    return _SMALL.get(half, half)


def _takes_mark(before: str, mark: str) -> bool:
    if not before:
        return False
    return before[-1] in (_TAKES_VOICED if mark == "ﾞ" else _TAKES_SEMI_VOICED)
