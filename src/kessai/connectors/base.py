"""The port between the payment core and card acquirers.

Every call answers one of five outcomes (architecture-notes §1.3). A *declined* answer is a result, not
an exception; a timeout is *unknown* and the reconciler (or the next inquiry) asks the institution with
`lookup`. Connectors never raise for an institution's answer; they raise only for programming errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from kessai.kit.secrets import CardNumber, SecurityCode


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    DECLINED = "declined"
    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CardData:
    """What an acquirer needs to authorise: the number, expiry (MMYY) and, once, the security code."""

    number: CardNumber
    valid_term: str
    security_code: SecurityCode | None = None


@dataclass(frozen=True, slots=True)
class CardIssuer:
    """Who issued and who acquires a card (PAYGENT's acq_id/acq_name/issur_* fields)."""

    acq_id: str
    acq_name: str
    issur_id: str
    issur_name: str
    issur_class: str  # "0" domestic, "1" foreign


@dataclass(frozen=True, slots=True)
class ConnectorResult:
    """One answer from an institution.

    `reference` is the institution's id for the operation (needed for later capture/void/lookup).
    `response_code`/`response_detail` are already PAYGENT codes (2001/2002/2003/2008, detail `1G12`…).
    `amount` and `echo_reference` are what the institution says it did, checked by the core before
    applying the result (integrity check).
    """

    outcome: Outcome
    reference: str | None = None
    amount: int | None = None
    response_code: str = ""
    response_detail: str = ""
    issuer: CardIssuer | None = None
    approval_number: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class CardAcquirer(Protocol):
    """A card acquirer (カード会社). `idempotency_key` is unique per operation: sending it twice must
    never charge twice; the institution answers the first result again."""

    name: str

    def authorize(
        self, *, idempotency_key: str, card: CardData, amount: int, capture: bool
    ) -> ConnectorResult:
        """Authorise (オーソリ) `amount`; with `capture` also capture (売上) in the same call."""
        ...

    def capture(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Capture (売上) an authorisation."""
        ...

    def void(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Void (オーソリ取消) an authorisation that was not captured."""
        ...

    def refund(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Cancel (売上取消) a capture, wholly."""
        ...

    def lookup(self, *, idempotency_key: str) -> ConnectorResult:
        """What happened to the operation sent with `idempotency_key` (UNKNOWN if the institution
        still cannot say, NOT_SENT if it never saw it)."""
        ...


@dataclass(frozen=True, slots=True)
class PayEasyNumbers:
    """What the buyer types at an ATM or in online banking (ペイジー)."""

    pay_center_number: str  # 収納機関番号 (5 digits)
    customer_number: str  # お客様番号
    conf_number: str  # 確認番号 (6 digits)


class PayEasyAgency(Protocol):
    """A Pay-easy collection agency (収納機関): issues the numbers a buyer pays with. Issuing moves
    no money, so an issue whose answer is lost costs nothing but unused numbers."""

    name: str

    def issue(self, *, idempotency_key: str, amount: int) -> PayEasyNumbers:
        """Numbers for one payment of `amount` yen; the same key answers the same numbers."""
        ...


@dataclass(frozen=True, slots=True)
class CvsReceipt:
    """What a convenience-store chain gives the buyer to pay with at the till."""

    receipt_number: str  # the number typed or shown at the till (≤ 20 characters)
    conf_number: str = ""  # a second number some chains ask for (Lawson, Ministop: 400008)


class CvsChain(Protocol):
    """Convenience-store chains (コンビニ) taking payments by number. Issuing moves no money."""

    name: str

    def issue(self, *, idempotency_key: str, company_id: str, amount: int) -> CvsReceipt:
        """A number for one payment at chain `company_id` (00C001 7-Eleven, …)."""
        ...


@dataclass(frozen=True, slots=True)
class SlipNumber:
    """What a collection agency gives one paper payment slip (払込票) to go into its barcode."""

    company_code: str  # 収納企業コード (6 digits): whose slips the agency collects
    slip_number: str  # 払込票番号, the barcode's free-use field (≤ 21 digits)
    chains: tuple[str, ...]  # the chains (cvs_company_id) whose tills take the agency's slips


class SlipAgency(Protocol):
    """A collection agency (収納代行会社) for paper payment slips: any chain it lists reads the
    slip's GS1-128 barcode at the till and reports the payment (速報, then 確報). Issuing moves no
    money, so an issue whose answer is lost costs nothing but an unused number."""

    name: str

    def issue(self, *, idempotency_key: str, amount: int) -> SlipNumber:
        """A number for one slip of `amount` yen; the same key answers the same number."""
        ...
