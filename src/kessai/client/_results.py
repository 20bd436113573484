"""What the typed methods return: frozen results, one shape per family of telegrams.

Every result has PAYGENT's triple (`result`, `response_code`, `response_detail`) and the answer's
other fields in `fields` (names as the protocol spells them, values as text). Properties give typed
access to the fields a merchant usually needs. A `repr` shows the outcome and the field *names*,
never the values, so a logged result cannot leak anything the gateway echoed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Self

# 094 payment_status values that mean "authorised" (20) or "captured" (40, 41).
AUTHORISED_STATUSES: Final = frozenset({"20", "40", "41"})


@dataclass(frozen=True, slots=True, repr=False)
class Response:
    """An answer to any telegram. A decline is an answer: `ok` is False and the code says why."""

    kind: str
    result: str
    response_code: str
    response_detail: str
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, kind: str, result: str, code: str, detail: str, fields: Mapping[str, str]) -> Self:
        """A result with a read-only copy of `fields`."""
        return cls(kind, result, code, detail, MappingProxyType(dict(fields)))

    @property
    def ok(self) -> bool:
        """True when ``result`` is ``0`` (正常)."""
        return self.result == "0"

    @property
    def payment_id(self) -> str | None:
        """The payment ID (決済ID) the gateway answered, or None."""
        return self.fields.get("payment_id") or None

    @property
    def trading_id(self) -> str | None:
        """The merchant's transaction ID (マーチャント取引ID) echoed back, or None."""
        return self.fields.get("trading_id") or None

    def get(self, name: str, default: str = "") -> str:
        """A field of the answer by its protocol name."""
        return self.fields.get(name, default)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(kind={self.kind!r}, result={self.result!r}, "
            f"response_code={self.response_code!r}, response_detail={self.response_detail!r}, "
            f"payment_id={self.payment_id!r}, fields={sorted(self.fields)!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True, repr=False)
class AuthorizationResult(Response):
    """The answer to 020 (オーソリ).

    `recovered` is True when the SDK did not get the 020 answer itself but found the payment with an
    inquiry (094) after a timeout (`KessaiClient.authorize(..., retry_on_timeout=True)`); `fields`
    then hold the inquiry's card record, including `payment_status`.
    """

    recovered: bool = False

    @property
    def masked_card_number(self) -> str | None:
        """The card number as the gateway masks it (``************1234``)."""
        return self.fields.get("masked_card_number") or None

    @property
    def acq_id(self) -> str | None:
        """The acquirer's code (e.g. ``50001``)."""
        return self.fields.get("acq_id") or None

    @property
    def payment_status(self) -> str | None:
        """The payment's status code; only inquiries (and recovered results) carry it."""
        return self.fields.get("payment_status") or None

    @property
    def out_acs_html(self) -> str | None:
        """Legacy 3-D Secure 1.0 page to show the buyer (only when ``result`` is ``7``)."""
        return self.fields.get("out_acs_html") or None


@dataclass(frozen=True, slots=True, repr=False)
class ThreeDSResult(Response):
    """The answer to 450 (EMV 3Dセキュア認証): show `out_acs_html` to the buyer (a small page that
    goes to the card issuer's authentication); the result comes back to your term_url (check it
    with `verify_threeds_result`), then authorise with `threeds_auth_id=three_ds_auth_id`."""

    @property
    def three_ds_auth_id(self) -> str | None:
        """The authentication's ID (3ds_auth_id), for the 020 that follows."""
        return self.fields.get("3ds_auth_id") or None

    @property
    def out_acs_html(self) -> str | None:
        """The HTML page to send to the buyer's browser as it is."""
        return (self.fields.get("out_acs_html") or "").strip() or None

    @property
    def card_brand(self) -> str | None:
        return self.fields.get("card_brand") or None

    @property
    def masked_card_number(self) -> str | None:
        """The card number as the gateway masks it (``************1234``)."""
        return self.fields.get("masked_card_number") or None


@dataclass(frozen=True, slots=True, repr=False)
class CorrectionResult(Response):
    """The answer to 028/029 (補正): `payment_id` is the **new** payment."""

    @property
    def base_payment_id(self) -> str | None:
        """The payment that was corrected (and voided or cancelled)."""
        return self.fields.get("base_payment_id") or None

    @property
    def reduced_amount(self) -> int | None:
        """The new amount in yen."""
        return _int_or_none(self.fields.get("reduced_amount"))


@dataclass(frozen=True, slots=True, repr=False)
class CardResult(Response):
    """The answer to 025/116/026 (stored cards, カード情報お預り)."""

    @property
    def customer_card_id(self) -> str | None:
        """The stored card's ID (顧客カードID), assigned by the gateway on 025."""
        return self.fields.get("customer_card_id") or None

    @property
    def num_of_cards(self) -> int | None:
        """How many cards the customer has stored now."""
        return _int_or_none(self.fields.get("num_of_cards"))


@dataclass(frozen=True, slots=True, repr=False)
class PaidLaterApplication(Response):
    """The answer to an application paid later (010 ATM, 030 CVS number): the numbers the buyer
    pays with are in `fields` (`pay_center_number`, `customer_number`, `conf_number` for ATM;
    `receipt_number`, `receipt_print_url`, `usable_cvs_company_id` for CVS)."""

    @property
    def payment_limit_date(self) -> str | None:
        """The deadline's date (``YYYYMMDD``, Japan time; paid until 23:59:59 that day)."""
        return self.fields.get("payment_limit_date") or None

    @property
    def receipt_number(self) -> str | None:
        """CVS: the number the buyer gives at the till."""
        return self.fields.get("receipt_number") or None

    @property
    def receipt_print_url(self) -> str | None:
        """CVS: the page that shows the buyer how to pay."""
        return self.fields.get("receipt_print_url") or None


@dataclass(frozen=True, slots=True, repr=False)
class CarrierRedirect(Response):
    """The answer to 100 (携帯キャリア決済申込) or 104 (ユーザ認証): where to send the buyer.

    Exactly one of `redirect_url` (send the browser there with GET) and `redirect_html` (a
    ``<form name="form">`` to put on a page and submit) is set, depending on the carrier. After
    100 the buyer comes back to `return_url` (approved) or `cancel_url` (not paid); after 104 to
    `redirect_url` with ``open_id``.
    """

    @property
    def redirect_url(self) -> str | None:
        return self.fields.get("redirect_url") or None

    @property
    def redirect_html(self) -> str | None:
        return (self.fields.get("redirect_html") or "").strip() or None

    @property
    def trade_generation_date(self) -> str | None:
        """When the payment was made (``YYYYMMDDhhmmss``, Japan time; 100 only)."""
        return self.fields.get("trade_generation_date") or None


@dataclass(frozen=True, slots=True, repr=False)
class PaymentInquiry(Response):
    """The answer to 094 (決済情報照会): one payment's record."""

    @property
    def payment_status(self) -> str | None:
        """The payment status code (決済ステータス, e.g. ``20`` authorised, ``40`` captured)."""
        return self.fields.get("payment_status") or None

    @property
    def payment_amount(self) -> int | None:
        """The amount in yen."""
        return _int_or_none(self.fields.get("payment_amount"))

    @property
    def payment_type(self) -> str | None:
        """The method (決済種別CD): ``02`` card, ``03`` CVS number, …"""
        return self.fields.get("payment_type") or None

    @property
    def authorised(self) -> bool:
        """True for statuses 20, 40 and 41 (authorised or captured)."""
        return self.payment_status in AUTHORISED_STATUSES


@dataclass(frozen=True, slots=True, repr=False)
class BankNetResult(Response):
    """The answer to 060 (銀行ネット決済ASP申込) or 050: where to send the buyer.

    There is no payment yet on 060: each bank the buyer picks on the page at `asp_url` makes one,
    and its result arrives as a notice (15 or 40) or by inquiry (094) by `trading_id`. On 050 the
    payment exists at once (`payment_id`) and `asp_url` is the bank's page.
    """

    @property
    def asp_url(self) -> str | None:
        """The page to send the buyer to, with GET (a redirect or a link)."""
        return self.fields.get("asp_url") or None

    @property
    def asp_limit_date(self) -> str | None:
        """Until when a bank can be chosen (``YYYYMMDDhhmmss``, Japan time)."""
        return self.fields.get("asp_limit_date") or None

    @property
    def asp_payment_limit_date(self) -> str | None:
        """The last day a chosen bank takes the payment (``YYYYMMDD``)."""
        return self.fields.get("asp_payment_limit_date") or None

    @property
    def amount(self) -> int | None:
        """The amount in yen."""
        return _int_or_none(self.fields.get("amount"))


@dataclass(frozen=True, slots=True, repr=False)
class VirtualAccountResult(Response):
    """The answer to 070 (仮想口座決済申込): the account the buyer transfers to, by `expire_date`."""

    @property
    def bank_code(self) -> str | None:
        """The receiving bank's code (金融機関コード, 4 digits)."""
        return self.fields.get("virtual_account_bank_code") or None

    @property
    def bank_name(self) -> str | None:
        return self.fields.get("virtual_account_bank_name") or None

    @property
    def branch_code(self) -> str | None:
        """The branch's code (支店コード, 3 digits)."""
        return self.fields.get("virtual_account_branch_code") or None

    @property
    def branch_name(self) -> str | None:
        return self.fields.get("virtual_account_branch_name") or None

    @property
    def deposit_kind(self) -> str | None:
        """``1`` 普通, ``2`` 当座, ``4`` 貯蓄."""
        return self.fields.get("virtual_account_deposit_kind") or None

    @property
    def account_number(self) -> str | None:
        """The account number (口座番号, 7 digits)."""
        return self.fields.get("virtual_account_number") or None

    @property
    def expire_date(self) -> str | None:
        """The last day to transfer (``YYYYMMDD``)."""
        return self.fields.get("expire_date") or None

    @property
    def fixed(self) -> bool:
        """True for fixed numbering (``numbering_type=1``): the customer's account for good."""
        return self.fields.get("numbering_type") == "1"


@dataclass(frozen=True, slots=True, repr=False)
class SlipResult(Response):
    """The answer to 040 (コンビニ払込票): the payment, and where the buyer gets the slip."""

    @property
    def slip_url(self) -> str | None:
        """The buyer's page (plain HTML) that explains the payment and links the slip's PDF."""
        return self.fields.get("slip_url") or None

    @property
    def bar_code(self) -> str | None:
        """The slip's 44-digit GS1-128 convenience-store code."""
        return self.fields.get("bar_code") or None

    @property
    def payment_limit_date(self) -> str | None:
        """The deadline printed on the slip (``YYYYMMDD``, 23:59:59 Japan time)."""
        return self.fields.get("payment_limit_date") or None


@dataclass(frozen=True, slots=True)
class StoredCard:
    """One row of a 027 answer. `columns` keeps every column as the gateway named it."""

    customer_id: str
    customer_card_id: str
    masked_card_number: str
    card_valid_term: str
    card_brand: str
    cardholder_name: str
    card_last_use_date: str
    expired: bool
    columns: Mapping[str, str]

    @classmethod
    def from_row(cls, row: Mapping[str, str]) -> StoredCard:
        """Read a CSV row (column name → value)."""
        return cls(
            customer_id=row.get("customer_id", ""),
            customer_card_id=row.get("customer_card_id", ""),
            masked_card_number=row.get("card_number", ""),
            card_valid_term=row.get("card_valid_term", ""),
            card_brand=row.get("card_brand", ""),
            cardholder_name=row.get("cardholder_name", ""),
            card_last_use_date=row.get("card_last_use_date", ""),
            expired=row.get("card_expire_flag") == "1",
            columns=MappingProxyType(dict(row)),
        )


@dataclass(frozen=True, slots=True, repr=False)
class CardList(Response):
    """The answer to 027 (カード情報照会): the customer's stored cards, newest use first.

    No cards is an answer too: ``result=1`` with ``P026`` and an empty `cards`.
    """

    cards: tuple[StoredCard, ...] = ()

    def __repr__(self) -> str:
        return (
            f"CardList(kind={self.kind!r}, result={self.result!r}, "
            f"response_code={self.response_code!r}, cards={len(self.cards)})"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True, repr=False)
class FileReceipt(Response):
    """The answer to 200 (ファイル決済要求): the file's receipt number, when it was accepted."""

    @property
    def file_receipt_id(self) -> str | None:
        return self.fields.get("file_receipt_id") or None


@dataclass(frozen=True, slots=True)
class FileResultLine:
    """One data record (``3``) of a 201 result: what one line of the file came to."""

    line_no: int  # the line in the submitted file (line 1 names the columns)
    result: str
    response_code: str
    response_detail: str
    payment_id: str
    trading_id: str
    customer_id: str
    customer_card_id: str

    @property
    def ok(self) -> bool:
        return self.result == "0"


@dataclass(frozen=True, slots=True, repr=False)
class FileResult(Response):
    """The answer to 201 (ファイル決済結果照会): one `FileResultLine` per line of the file, or
    ``result=1`` with the code (9103: still running — ask again later)."""

    lines: tuple[FileResultLine, ...] = ()

    @property
    def running(self) -> bool:
        return self.response_code == "9103"

    def __repr__(self) -> str:
        return (
            f"FileResult(kind={self.kind!r}, result={self.result!r}, "
            f"response_code={self.response_code!r}, lines={len(self.lines)})"
        )

    __str__ = __repr__


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() else None
