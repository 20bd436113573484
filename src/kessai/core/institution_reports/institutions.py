"""The institutions that settle with Kessai, by the name operators type (`--institution`), and the
payment methods whose receivables each one pays."""

from __future__ import annotations

from dataclasses import dataclass

from kessai.kit.errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class Institution:
    name: str
    label: str  # as people call it, Japanese
    payment_types: tuple[str, ...]  # PAYGENT's payment type codes


INSTITUTIONS: dict[str, Institution] = {
    i.name: i
    for i in (
        Institution("acquirer", "カード会社", ("02",)),
        Institution("cvs", "コンビニ収納代行", ("03",)),
        Institution("slip", "払込票収納代行", ("04",)),
        Institution("payeasy", "ペイジー収納機関", ("01",)),
        Institution("banknet", "銀行ネット決済", ("05",)),
        Institution("carrier", "携帯キャリア", ("06",)),
        Institution("vaccount", "仮想口座の銀行", ("07",)),
    )
}


def institution(name: str) -> Institution:
    """The institution called `name`; a clear refusal naming the known ones otherwise."""
    found = INSTITUTIONS.get(name)
    if found is None:
        known = ", ".join(INSTITUTIONS)
        raise InvalidRequest(message=f"no institution {name!r}; one of: {known}")
    return found
