"""The qualified-invoice issuer registration number (適格請求書発行事業者登録番号): "T" and 13
digits whose first digit is the check digit of the other twelve (法人番号の検査用数字)."""

from __future__ import annotations

import re

_FORM = re.compile(r"T[0-9]{13}")


def check_digit(base: str) -> int:
    """The check digit of a 12-digit base: 9 − (Σ Pn × Qn mod 9), n counted from the right,
    Qn = 1 for odd n and 2 for even n."""
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base), start=1))
    return 9 - total % 9


def is_registration_number(text: str) -> bool:
    """Whether `text` is exactly "T" + 13 ASCII digits with a correct check digit."""
    if _FORM.fullmatch(text) is None:
        return False
    return int(text[1]) == check_digit(text[2:])
