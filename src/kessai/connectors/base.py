"""The port between the payment core and card acquirers.

Every call answers one of five outcomes (architecture-notes §1.3). A *declined* answer is a result, not
an exception; a timeout is *unknown* and the reconciler (or the next inquiry) asks the institution with
`lookup`. Connectors never raise for an institution's answer; they raise only for programming errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
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
    extra: Mapping[str, str] = field(default_factory=dict)


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


class CardUpdate(StrEnum):
    """What an account updater (洗替) says about a stored card."""

    UNCHANGED = "unchanged"  # the card is as we hold it
    NEW_EXPIRY = "new_expiry"  # reissued with the same number: `valid_term` is the new expiry
    NEW_NUMBER = "new_number"  # replaced by another card: `number` (and `valid_term`) are the new
    CLOSED = "closed"  # the account is closed: no new card, never charge it again
    CONTACT_CARDHOLDER = "contact_cardholder"  # the issuer will not say; ask the cardholder
    UNKNOWN = "unknown"  # no answer (timeout, network): nothing is known, ask again later


@dataclass(frozen=True, slots=True)
class CardUpdateAnswer:
    """One answer of an account updater. `number` only with NEW_NUMBER; `valid_term` (MMYY) with
    NEW_EXPIRY and NEW_NUMBER. `repr` never shows a number (`CardNumber` masks itself)."""

    outcome: CardUpdate
    valid_term: str = ""
    number: CardNumber | None = None


class AccountUpdater(Protocol):
    """A card account updater service (洗替): the card companies' record of reissued, replaced and
    closed cards. Asking moves no money and changes nothing at the card company, so a lost answer
    (UNKNOWN) is simply asked again later; it is never guessed."""

    name: str

    def inquire(self, *, idempotency_key: str, card: CardData) -> CardUpdateAnswer:
        """What became of `card` (number and expiry; never a security code)."""
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

    def issue(
        self, *, idempotency_key: str, company_id: str, amount: int, customer_tel: str
    ) -> CvsReceipt:
        """A number for one payment at chain `company_id` (00C001 7-Eleven, …). A chain that
        refuses raises `kessai.kit.errors.Declined` with its vendor code (3001–3004)."""
        ...


@dataclass(frozen=True, slots=True)
class NetBank:
    """A bank a buyer can pay at by bank net (銀行ネット決済)."""

    code: str  # 全銀 bank code (0001…), or a direct-connection code (D009…)
    name: str  # as the buyer sees it (みずほ銀行)
    direct: bool = False  # a direct connection (D…): paid on the bank's page only


class BankNet(Protocol):
    """The banks of bank net payments (銀行ネット決済): the buyer logs in at the bank chosen and
    confirms there; the bank then sends its completion notice. Opening moves no money."""

    name: str

    def banks(self) -> tuple[NetBank, ...]:
        """The banks buyers may choose, in the order to show them."""
        ...

    def open(self, *, idempotency_key: str, bank_code: str, amount: int) -> str:
        """Register one payment of `amount` yen at the bank; its reference (受付番号)."""
        ...

    def complete(self, *, reference: str, approve: bool) -> ConnectorResult:
        """The buyer's answer at the bank: SUCCEEDED (the money moved, `amount` echoed) or
        DECLINED (the bank refused; the buyer may try again). Money moves once per reference:
        a paid reference answers SUCCEEDED again."""
        ...


@dataclass(frozen=True, slots=True)
class VirtualAccountNumber:
    """One account the receiving bank opened for the PSP (仮想口座): where a buyer transfers to."""

    bank_code: str  # 4 digits (全銀 bank code)
    bank_name: str
    branch_code: str  # 3 digits
    branch_name: str
    deposit_kind: str  # 1 普通, 2 当座, 4 貯蓄
    number: str  # 7 digits


@dataclass(frozen=True, slots=True)
class IncomingTransfer:
    """A transfer the receiving bank reports (入金明細). `reference` is the bank's own id of it:
    the same transfer reported twice is recorded once."""

    reference: str
    bank_code: str
    branch_code: str
    account_number: str
    amount: int
    transferred_at: datetime  # 振込日 (when the buyer sent it)
    payer_name: str = ""  # 振込依頼人名, half-width kana as the bank reports it
    payer_bank_name: str = ""
    payer_branch_name: str = ""


class VirtualAccountBank(Protocol):
    """The bank holding the virtual accounts (仮想口座). Opening accounts moves no money; transfers
    reach the core as `IncomingTransfer`s (the sandbox's come from the status-simulation tool)."""

    name: str

    def open_accounts(self, *, idempotency_key: str, count: int) -> list[VirtualAccountNumber]:
        """`count` new account numbers; the same key answers the same accounts."""
        ...


@dataclass(frozen=True, slots=True)
class CarrierConsent:
    """What the buyer did on the carrier's page: who logged in and, for the sandbox carrier, the
    answer the tester chose there ("ok", or "ng" for a refusal such as the monthly limit)."""

    login_id: str
    test_outcome: str = "ok"


class CarrierBilling(Protocol):
    """Mobile carriers (携帯キャリア決済: d払い, au, SoftBank). Payments are authorised when the buyer
    approves on the carrier's page, then captured, cancelled or reduced by the merchant. The same
    five outcomes as the card acquirer; `reference` is the carrier's payment ID (career_payment_id).
    `career_type` is PAYGENT's code of the carrier (2, 4, 5, 6, 7)."""

    name: str

    def authorize(
        self,
        *,
        idempotency_key: str,
        career_type: str,
        amount: int,
        capture: bool,
        consent: CarrierConsent,
    ) -> ConnectorResult:
        """Authorise `amount` on the buyer's phone bill; with `capture` also capture it."""
        ...

    def capture(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Capture (売上) an authorisation."""
        ...

    def cancel(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Cancel an authorisation or a capture, wholly."""
        ...

    def reduce(self, *, idempotency_key: str, reference: str, amount: int) -> ConnectorResult:
        """Capture the lower `amount` instead (補正売上): the answer's `reference` names the new
        capture; the old authorisation or capture is gone."""
        ...

    def lookup(self, *, idempotency_key: str) -> ConnectorResult:
        """What happened to the operation sent with `idempotency_key`."""
        ...

    def authenticate(self, *, idempotency_key: str, career_type: str, login_id: str) -> str:
        """The OpenID the carrier issues for the buyer who logged in (ユーザ認証); the same key
        answers the same OpenID."""
        ...

    def release(self, *, open_id: str) -> None:
        """Forget an OpenID (OpenID解除): no payment may use it any more."""
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


class ThreeDSFlow(StrEnum):
    """How an ACS (the issuer's 3-D Secure server) answers an authentication request."""

    FRICTIONLESS = "frictionless"  # decided at once (transStatus Y, A, U, N or R)
    CHALLENGE = "challenge"  # the cardholder must prove who they are (a password page)
    ERROR = "error"  # the 3-D Secure server or the ACS refused the request
    NO_ANSWER = "no_answer"  # nothing comes back: only the 30-minute timeout ends it


@dataclass(frozen=True, slots=True)
class ThreeDSCard:
    """What the directory server tells about a card: its brand, issuer and acquirer."""

    brand: str  # VISA, MASTER, JCB, AMEX, DINERS…
    issuer: CardIssuer


@dataclass(frozen=True, slots=True)
class ThreeDSOutcome:
    """One answer of the ACS. `trans_status` is EMV 3DS's: Y authenticated, A attempted, U not
    possible, N / R not authenticated / rejected; empty for a challenge, an error or no answer.
    The error codes are the ones the
    term_url GET carries (3dsecure_server_error_code / 3dsecure_requestor_error_code)."""

    flow: ThreeDSFlow
    trans_status: str = ""
    server_error_code: str = ""
    requestor_error_code: str = ""


class ThreeDSServer(Protocol):
    """The 3-D Secure server with the directory servers and ACSs behind it (EMV 3DS 2.2). Asking
    moves no money; an authentication only says who the cardholder is."""

    name: str

    def card(self, number: CardNumber) -> ThreeDSCard:
        """The brand and issuer of `number` (the card fields of the 450 answer)."""
        ...

    def authenticate(self, *, cardholder_name: str, amount: int) -> ThreeDSOutcome:
        """The ACS's first answer for a purchase of `amount` yen by `cardholder_name`."""
        ...

    def challenge(
        self, *, cardholder_name: str, amount: int, password: str
    ) -> ThreeDSOutcome | None:
        """The ACS's decision on the password typed on the challenge page (Y, N, A…); None for a
        password it does not recognise (the cardholder may try again)."""
        ...


class SettlementKind(StrEnum):
    """What a line of an institution's settlement report moves: a sale it pays Kessai, or a refund
    it keeps back from what it pays."""

    SALE = "sale"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """One line of an institution's settlement report (精算明細): the institution pays (or, for a
    refund, keeps back) `amount` yen for one payment. A format carries Kessai's payment ID, the
    institution's own reference of the payment, or both; `line_number` is where the line is in
    the file, for people."""

    line_number: int
    merchant_id: int | None
    payment_id: int | None
    reference: str
    kind: SettlementKind
    amount: int  # > 0
    settled_on: date  # when the money reaches (or leaves) Kessai's bank


@dataclass(frozen=True, slots=True)
class SettlementReport:
    """An institution's report of what it pays Kessai for one day's sales (`report_date`)."""

    institution: str
    report_date: date
    lines: tuple[SettlementLine, ...]


class SettlementReportFormat(Protocol):
    """One institution's settlement report format. `parse` reads a whole file and refuses it
    (`kessai.kit.errors.InvalidRequest`, the line named) unless every line is in the one
    canonical form; a real institution's format is one more class with this method."""

    institution: str

    def parse(self, data: bytes) -> SettlementReport:
        """The report a file holds."""
        ...
