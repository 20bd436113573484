"""Card data as types that cannot leak by accident.

`CardNumber` and `SecurityCode` mask themselves in `repr`/`str`/`format`; the raw value is reachable
only through `reveal()`, so a log call or an f-string never prints a PAN (PRODUCT.md §7).
"""

from __future__ import annotations

from typing import Final

_BRAND_PREFIXES: Final = (
    ("AMEX", ("34", "37")),
    ("DINERS", ("36", "300", "301", "302", "303", "304", "305", "38")),
    ("JCB", ("35",)),
    ("DISCOVER", ("6011", "644", "645", "646", "647", "648", "649", "65")),
    ("MASTER", ("51", "52", "53", "54", "55", "22", "23", "24", "25", "26", "27")),
    ("VISA", ("4",)),
)


class CardNumber:
    """A primary account number (PAN). Shows at most the first 6 and last 4 digits."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The full number, for encryption and the acquirer only."""
        return self._value

    @property
    def last4(self) -> str:
        return self._value[-4:]

    @property
    def bin6(self) -> str:
        return self._value[:6]

    def masked(self) -> str:
        """PAYGENT's mask: `************1234` (every digit but the last four hidden)."""
        return "*" * (len(self._value) - 4) + self.last4

    def display(self) -> str:
        """Console display: first 6, last 4 (`490000******0000`)."""
        return self.bin6 + "*" * (len(self._value) - 10) + self.last4

    def brand(self) -> str:
        for brand, prefixes in _BRAND_PREFIXES:
            if self._value.startswith(prefixes):
                return brand
        return "HOUSE"

    def luhn_ok(self) -> bool:
        total = 0
        for i, ch in enumerate(reversed(self._value)):
            d = int(ch)
            if i % 2 == 1:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        return total % 10 == 0

    def __repr__(self) -> str:
        return f"CardNumber({self.masked()!r})"

    def __str__(self) -> str:
        return self.masked()

    def __format__(self, spec: str) -> str:
        return self.masked()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CardNumber) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("CardNumber", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("CardNumber cannot be pickled")


class SecurityCode:
    """A card security code (CVC). Never stored; shown as `***`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecurityCode('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("SecurityCode cannot be pickled")
