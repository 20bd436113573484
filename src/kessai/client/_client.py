"""`KessaiClient`: one method per telegram, over HTTPS with a client certificate (`/n/…`) or,
with `hash_check=True`, signed with the telegram hash key instead (`/s/…`)."""

from __future__ import annotations

import ssl
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from types import TracebackType
from typing import Final, Self, TypeVar

import httpx

from kessai.client._errors import KessaiClientError, ProtocolError, TimeoutError, TransportError
from kessai.client._parse import decode_body, parse_csv, parse_file_result, parse_key_values
from kessai.client._results import (
    AUTHORISED_STATUSES,
    AuthorizationResult,
    BankNetResult,
    CardList,
    CardResult,
    CarrierRedirect,
    CorrectionResult,
    FileReceipt,
    FileResult,
    FileResultLine,
    PaidLaterApplication,
    PaymentInquiry,
    Response,
    SlipResult,
    StoredCard,
    ThreeDSResult,
    VirtualAccountResult,
)
from kessai.client._telegram import (
    CSV_KINDS,
    Credentials,
    EncodedTelegram,
    Fields,
    FieldValue,
    Kind,
    encode_signed_telegram,
    encode_telegram,
)

DEFAULT_TIMEOUT: Final = 35.0  # seconds, as PAYGENT's modules (paygentB2Bmodule.timeout_value)
USER_AGENT: Final = "kessai-client/0.1"
# 094 answers for "no payment with this trading_id".
NOT_FOUND_CODES: Final = frozenset({"13001", "2006"})
CARD_PAYMENT_TYPE: Final = "02"
JST: Final = timezone(timedelta(hours=9), "JST")  # Japan has no daylight saving time

R = TypeVar("R", bound=Response)

_RESULT_TYPES: Final[dict[str, type[Response]]] = {
    Kind.AUTHORIZE: AuthorizationResult,
    Kind.CORRECT_AUTHORIZATION: CorrectionResult,
    Kind.CORRECT_CAPTURE: CorrectionResult,
    Kind.REGISTER_CARD: CardResult,
    Kind.UPDATE_CARD: CardResult,
    Kind.DELETE_CARD: CardResult,
    Kind.INQUIRE: PaymentInquiry,
    Kind.CVS_SLIP: SlipResult,
    Kind.LIST_CARDS: CardList,
    Kind.APPLY_ATM: PaidLaterApplication,
    Kind.APPLY_CVS: PaidLaterApplication,
    Kind.BANK_NET: BankNetResult,
    Kind.BANK_NET_ASP: BankNetResult,
    Kind.APPLY_VIRTUAL_ACCOUNT: VirtualAccountResult,
    Kind.APPLY_CARRIER: CarrierRedirect,
    Kind.CORRECT_CARRIER: CorrectionResult,
    Kind.AUTHENTICATE_CARRIER_USER: CarrierRedirect,
    Kind.THREEDS_AUTHENTICATE: ThreeDSResult,
}
_NOT_SENT: Final = (httpx.ConnectError, httpx.ProxyError, httpx.UnsupportedProtocol)
_TIMEOUT_BEFORE_SENDING: Final = (httpx.ConnectTimeout, httpx.PoolTimeout)


class KessaiClient:
    """A merchant's connection to Kessai's module face (PAYGENT-compatible telegrams).

    `base_url` is the gateway (``https://kessai.example``); `merchant_id`, `connect_id` and
    `connect_password` go into every telegram's header. `cert` is the client certificate as
    ``(cert_pem_path, key_pem_path)``; `ca` a PEM file to verify the server with (default: the
    public CAs). `timeout` is in seconds. `transport` replaces the network (tests use
    `httpx.MockTransport`; `cert` and `ca` then do nothing).

    `hash_check=True` with `telegram_hash_key` speaks the telegram hash check instead of the
    client certificate: telegrams go to `/s/…` with `request_date` (Japan time, from `now`, the
    system clock by default) and `hc`. Follow-ups that change a payment must then give its
    `payment_id`. Two identical telegrams within one second would carry the same signature, which
    the gateway accepts once; the client waits for the next second rather than send it twice.

    Each method returns a frozen result; a decline is a result (``ok`` False), not an exception. The
    methods raise `TransportError`, `TimeoutError` or `ProtocolError` (all `KessaiClientError`) when
    no telegram came back, and ValueError for arguments that cannot make a valid telegram. Card
    numbers never appear in an exception, a result or a `repr`. Use as a context manager, or call
    `close()`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        merchant_id: str | int,
        connect_id: str,
        connect_password: str,
        cert: tuple[str, str] | None = None,
        ca: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        hash_check: bool = False,
        telegram_hash_key: str | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if hash_check and not telegram_hash_key:
            raise ValueError("hash_check=True needs the telegram_hash_key")
        self._credentials = Credentials(str(merchant_id), connect_id, connect_password)
        self._hash_key = telegram_hash_key if hash_check else None
        self._now = now or (lambda: datetime.now(JST))
        self._last_signature = ""
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            verify=_ssl_context(cert, ca) if transport is None else True,
            headers={"User-Agent": USER_AGENT, "Accept": "*/*"},
        )

    def __repr__(self) -> str:
        base_url = str(self._http.base_url)
        return f"KessaiClient({base_url!r}, merchant_id={self._credentials.merchant_id!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # --- generic ---------------------------------------------------------------------------------

    def send(self, kind: str, fields: Fields) -> Response:
        """Send any telegram `kind` with `fields` (header fields are added; None values left out).

        Returns the typed result for the kinds this SDK knows (027 → `CardList`), `Response`
        otherwise. Raises ValueError for an unknown kind or a value the charset cannot hold, and the
        `KessaiClientError` family when no telegram came back.
        """
        return self._call(kind, fields, _RESULT_TYPES.get(kind, Response))

    # --- card payments ---------------------------------------------------------------------------

    def authorize(
        self,
        *,
        payment_amount: int | str,
        trading_id: str | None = None,
        card_number: str | None = None,
        card_valid_term: str | None = None,
        card_conf_number: str | None = None,
        customer_id: str | None = None,
        customer_card_id: str | int | None = None,
        ref_trading_id: str | None = None,
        card_token: str | None = None,
        payment_class: str | int | None = None,
        split_count: int | str | None = None,
        sales_mode: bool = False,
        skip_3dsecure: bool = False,
        site_id: str | None = None,
        threeds_auth_id: str | None = None,
        extra: Mapping[str, FieldValue] | None = None,
        retry_on_timeout: bool = False,
    ) -> AuthorizationResult:
        """Authorise (オーソリ, 020) `payment_amount` yen on one card source.

        The card comes from exactly one of: `card_number` (+ `card_valid_term` ``MMYY``,
        `card_conf_number`); a stored card (`customer_id` + `customer_card_id`, optionally with a
        CVC `card_token`); `ref_trading_id` (the card of an earlier payment); or a `card_token`.
        `sales_mode=True` captures in the same call; `payment_class` ``10`` one-time (default),
        ``23`` bonus, ``61`` instalments (with `split_count`), ``80`` revolving; `skip_3dsecure`
        sends ``3dsecure_ryaku=1``. `threeds_auth_id` (from `threeds_authenticate`, after the
        buyer passed EMV 3-D Secure) sends ``3dsecure_use_type=2`` and ``3ds_auth_id``; the card
        source may then be left out (the authenticated card is used). `extra` adds any other
        protocol field.

        Safe retry: with `retry_on_timeout=True` (which needs `trading_id`), when the answer is lost
        after the request may have reached the gateway (a read timeout, a broken connection), this
        method never re-sends 020 blindly. It inquires (094) by `trading_id` first:

        - a payment in status 20, 40 or 41 exists → it is returned as an `AuthorizationResult` with
          ``result=0``, its `payment_id`, and ``recovered=True``; nothing is sent again;
        - the payment exists in another final status (e.g. 11 declined) → a ``result=1`` result with
          ``recovered=True`` and that `payment_status`; nothing is sent again;
        - no payment (``13001``/``2006``) → 020 is sent once more;
        - anything else (the inquiry fails, status 10 still open, another amount, several payments)
          → `TimeoutError` with ``outcome_unknown=True``: inquire later before trying again.

        Errors where nothing reached the gateway (connection refused, connect timeout) are raised as
        they are; calling `authorize` again is then safe. Raises ValueError for no or several card
        sources, or `retry_on_timeout` without `trading_id`.
        """
        fields: dict[str, FieldValue | None] = {
            "trading_id": trading_id,
            "payment_amount": payment_amount,
            **_card_source(
                card_number,
                customer_id,
                customer_card_id,
                ref_trading_id,
                card_token,
                optional=threeds_auth_id is not None,
            ),
            "card_valid_term": card_valid_term,
            "card_conf_number": card_conf_number,
            "payment_class": payment_class,
            "split_count": split_count,
            "sales_mode": "1" if sales_mode else None,
            "3dsecure_ryaku": "1" if skip_3dsecure else None,
            "3dsecure_use_type": "2" if threeds_auth_id is not None else None,
            "3ds_auth_id": threeds_auth_id,
            "site_id": site_id,
            **(extra or {}),
        }
        if not retry_on_timeout:
            return self._call(Kind.AUTHORIZE, fields, AuthorizationResult)
        if not trading_id:
            raise ValueError("retry_on_timeout needs a trading_id to inquire by")
        return self._authorize_safely(trading_id, str(int(payment_amount)), fields)

    def void(
        self, *, payment_id: str | int | None = None, trading_id: str | None = None
    ) -> Response:
        """Void (オーソリキャンセル, 021) an authorisation, by `payment_id` or `trading_id`."""
        return self._follow_up(Kind.VOID, payment_id, trading_id, {}, Response)

    def capture(
        self, *, payment_id: str | int | None = None, trading_id: str | None = None
    ) -> Response:
        """Capture (売上, 022) an authorised payment, by `payment_id` or `trading_id`."""
        return self._follow_up(Kind.CAPTURE, payment_id, trading_id, {}, Response)

    def cancel_capture(
        self, *, payment_id: str | int | None = None, trading_id: str | None = None
    ) -> Response:
        """Cancel a capture (売上キャンセル, 023), i.e. refund it in full."""
        return self._follow_up(Kind.CANCEL_CAPTURE, payment_id, trading_id, {}, Response)

    def correct_authorization(
        self,
        *,
        payment_amount: int | str,
        payment_id: str | int | None = None,
        trading_id: str | None = None,
        reduction_flag: bool = False,
        base_payment_cancel_timing: str | int | None = None,
    ) -> CorrectionResult:
        """Re-authorise with a new amount (補正オーソリ, 028); the answer names a **new** payment.

        `payment_amount` is the new total, or the reduction when `reduction_flag` is True.
        """
        fields = _correction_fields(payment_amount, reduction_flag, base_payment_cancel_timing)
        return self._follow_up(
            Kind.CORRECT_AUTHORIZATION, payment_id, trading_id, fields, CorrectionResult
        )

    def correct_capture(
        self,
        *,
        payment_amount: int | str,
        payment_id: str | int | None = None,
        trading_id: str | None = None,
        reduction_flag: bool = False,
        base_payment_cancel_timing: str | int | None = None,
    ) -> CorrectionResult:
        """Re-authorise and capture a new amount (補正売上, 029): how a partial refund is done."""
        fields = _correction_fields(payment_amount, reduction_flag, base_payment_cancel_timing)
        return self._follow_up(
            Kind.CORRECT_CAPTURE, payment_id, trading_id, fields, CorrectionResult
        )

    def inquire(
        self,
        *,
        payment_id: str | int | None = None,
        trading_id: str | None = None,
        payment_type: str | None = None,
    ) -> PaymentInquiry:
        """Inquire (決済情報照会, 094) one payment by `payment_id` or `trading_id`.

        `payment_type` (``02`` card, …) picks among methods sharing a `trading_id`. Not found is an
        answer: ``result=1`` with ``13001``.
        """
        fields = {"payment_type": payment_type}
        return self._follow_up(Kind.INQUIRE, payment_id, trading_id, fields, PaymentInquiry)

    # --- EMV 3-D Secure 2 -------------------------------------------------------------------------

    def threeds_authenticate(
        self,
        *,
        term_url: str,
        merchant_name: str,
        payment_amount: int | str,
        card_number: str | None = None,
        card_valid_term: str | None = None,
        customer_id: str | None = None,
        customer_card_id: str | int | None = None,
        card_token: str | None = None,
        cardholder_name: str | None = None,
        currency_code: str | None = "JPY",
        site_id: str | None = None,
        extra: Mapping[str, FieldValue] | None = None,
    ) -> ThreeDSResult:
        """Start EMV 3-D Secure 2 (EMV 3Dセキュア認証, 450, a UTF-8 telegram) for `payment_amount`
        yen on one card: `card_number` + `card_valid_term`, a stored card (`customer_id` +
        `customer_card_id`) or a `card_token`. Send the buyer's browser `out_acs_html`; the
        result comes back to `term_url` by GET (check it with `verify_threeds_result`), then call
        `authorize(..., threeds_auth_id=...)`. `extra` adds the optional risk fields."""
        fields: dict[str, FieldValue | None] = {
            "term_url": term_url,
            "merchant_name": merchant_name,
            "authentication_type": "01",
            **_threeds_card(
                card_number, card_valid_term, customer_id, customer_card_id, card_token
            ),
            "payment_amount": payment_amount,
            "currency_code": currency_code,
            "cardholder_name": cardholder_name,
            "site_id": site_id,
            **(extra or {}),
        }
        return self._call(Kind.THREEDS_AUTHENTICATE, fields, ThreeDSResult)

    # --- methods paid later ----------------------------------------------------------------------

    def apply_atm(
        self,
        *,
        trading_id: str,
        payment_amount: int,
        payment_detail: str,
        payment_detail_kana: str,
        payment_limit_date: int | None = None,
        customer_family_name: str | None = None,
        customer_name: str | None = None,
        customer_family_name_kana: str | None = None,
        customer_name_kana: str | None = None,
        site_id: str | None = None,
    ) -> PaidLaterApplication:
        """Apply for an ATM / Pay-easy payment (ATM決済申込, 010): the answer carries the
        収納機関番号, お客様番号 and 確認番号 the buyer pays with. `payment_limit_date` is in days
        (0–60, default 30)."""
        fields: Fields = {
            "trading_id": trading_id,
            "payment_amount": payment_amount,
            "payment_detail": payment_detail,
            "payment_detail_kana": payment_detail_kana,
            "payment_limit_date": payment_limit_date,
            "customer_family_name": customer_family_name,
            "customer_name": customer_name,
            "customer_family_name_kana": customer_family_name_kana,
            "customer_name_kana": customer_name_kana,
            "site_id": site_id,
        }
        return self._call(Kind.APPLY_ATM, fields, PaidLaterApplication)

    def apply_cvs(
        self,
        *,
        trading_id: str,
        payment_amount: int,
        customer_family_name: str,
        customer_name: str,
        customer_tel: str,
        cvs_company_id: str | None = None,
        cvs_type: str | None = None,
        sales_type: str | None = None,
        payment_limit_date: int | None = None,
        customer_family_name_kana: str | None = None,
        customer_name_kana: str | None = None,
        site_id: str | None = None,
    ) -> PaidLaterApplication:
        """Apply for a CVS number payment (コンビニ番号方式, 030) at one chain (`cvs_company_id`,
        e.g. ``00C001`` 7-Eleven, which needs `sales_type`) or a `cvs_type` group."""
        fields: Fields = {
            "trading_id": trading_id,
            "payment_amount": payment_amount,
            "cvs_company_id": cvs_company_id,
            "cvs_type": cvs_type,
            "sales_type": sales_type,
            "customer_family_name": customer_family_name,
            "customer_name": customer_name,
            "customer_tel": customer_tel,
            "payment_limit_date": payment_limit_date,
            "customer_family_name_kana": customer_family_name_kana,
            "customer_name_kana": customer_name_kana,
            "site_id": site_id,
        }
        return self._call(Kind.APPLY_CVS, fields, PaidLaterApplication)

    # --- bank net ---------------------------------------------------------------------------------

    def apply_bank_net(
        self,
        *,
        amount: int | str,
        claim_kana: str,
        claim_kanji: str,
        trading_id: str | None = None,
        bank_code: str | None = None,
        customer_family_name: str | None = None,
        customer_name: str | None = None,
        customer_family_name_kana: str | None = None,
        customer_name_kana: str | None = None,
        receipt_name: str | None = None,
        receipt_name_kana: str | None = None,
        return_url: str | None = None,
        stop_return_url: str | None = None,
        merchant_name: str | None = None,
        banner_url: str | None = None,
        free_memo: str | None = None,
        asp_payment_term: str | None = None,
        copy_right: str | None = None,
        site_id: str | None = None,
    ) -> BankNetResult:
        """Apply for a bank net payment (銀行ネット決済ASP申込, 060) of `amount` yen; send the
        buyer to the answer's `asp_url` (GET) to pick a bank and pay there.

        `claim_kana` (half-width kana) and `claim_kanji` (full-width) describe the charge on the
        bank's page. `asp_payment_term` is ``0DDhhmm`` (days/hours/minutes from now) or
        ``1DDhhmm`` (days, ending 23:59); default 5 days. The buyer comes back to `return_url`
        after paying, to `stop_return_url` when stopping; clear the order on the notice (40) or
        an inquiry (094), never on that return. With `bank_code` the telegram is 050 instead:
        the merchant names the bank, the payment exists at once and `asp_url` is that bank's page.
        Without `trading_id` the gateway assigns one (in the answer).
        """
        fields = {
            "trading_id": trading_id,
            "amount": amount,
            "claim_kana": claim_kana,
            "claim_kanji": claim_kanji,
            "customer_family_name": customer_family_name,
            "customer_name": customer_name,
            "customer_family_name_kana": customer_family_name_kana,
            "customer_name_kana": customer_name_kana,
            "receipt_name": receipt_name,
            "receipt_name_kana": receipt_name_kana,
            "return_url": return_url,
            "stop_return_url": stop_return_url,
            "merchant_name": merchant_name,
            "banner_url": banner_url,
            "free_memo": free_memo,
            "asp_payment_term": asp_payment_term,
            "copy_right": copy_right,
            "site_id": site_id,
            "bank_code": bank_code,
        }
        kind = Kind.BANK_NET if bank_code else Kind.BANK_NET_ASP
        return self._call(kind, fields, BankNetResult)

    # --- virtual accounts ------------------------------------------------------------------------

    def apply_virtual_account(
        self,
        *,
        claim_amount: int | str,
        trading_id: str | None = None,
        billing_name: str | None = None,
        billing_name_kana: str | None = None,
        expire_days: int | str | None = None,
        fixed: bool = False,
        virtual_account: tuple[str, str, str] | None = None,
        fix_numbering_registered: str | None = None,
        site_id: str | None = None,
        extra: Mapping[str, FieldValue] | None = None,
    ) -> VirtualAccountResult:
        """Claim `claim_amount` yen by bank transfer to a virtual account (仮想口座決済申込, 070).

        The answer names the account (`bank_code`, `branch_code`, `account_number`, names) and the
        last day to transfer (`expire_date`, `expire_days` from today: 0–364, default 30). By
        default the account is the payment's alone (rotating numbering). `fixed=True` gives a
        customer an account for good: leave `virtual_account` out the first time, then pass the
        answered ``(bank_code, branch_code, account_number)`` for the customer's next claims;
        `fix_numbering_registered` is a memo kept with it. The transfer's outcome comes as a notice
        (and 094) with ``clear_detail``: 01 exact, 02/03 short, 04 over.
        """
        bank, branch, number = virtual_account or (None, None, None)
        fields = {
            "trading_id": trading_id,
            "claim_amount": claim_amount,
            "billing_name": billing_name,
            "billing_name_kana": billing_name_kana,
            "expire_days": expire_days,
            "numbering_type": "1" if fixed else None,
            "virtual_account_bank_code": bank,
            "virtual_account_branch_code": branch,
            "virtual_account_number": number,
            "fix_numbering_registered": fix_numbering_registered,
            "site_id": site_id,
            **(extra or {}),
        }
        return self._call(Kind.APPLY_VIRTUAL_ACCOUNT, fields, VirtualAccountResult)

    # --- carrier billing (携帯キャリア決済) -------------------------------------------------------

    def apply_carrier(
        self,
        *,
        career_type: str | int,
        amount: int | str,
        return_url: str,
        cancel_url: str,
        trading_id: str | None = None,
        other_url: str | None = None,
        open_id: str | None = None,
        sales_flg: bool = False,
        pc_mobile_type: str | int | None = None,
        item_cd: str | None = None,
        outline: str | None = None,
        service_code: str | None = None,
        site_id: str | None = None,
    ) -> CarrierRedirect:
        """Apply for a carrier payment (携帯キャリア決済申込, 100) and get where to send the buyer.

        `career_type`: ``2`` まとめてau支払い, ``4`` auかんたん決済, ``5`` d払い, ``6``/``7``
        ソフトバンク・ワイモバイルまとめて支払い (B)/(A). The buyer approves on the carrier's page
        and comes back to `return_url` (GET, with payment_id, trading_id, career_payment_id,
        accept_date, payment_class) or to `cancel_url` (d払い: `other_url` for other methods).
        `sales_flg=True` captures on approval. `open_id` (from `authenticate_carrier_user`) skips
        the carrier login."""
        fields: Fields = {
            "trading_id": trading_id,
            "career_type": career_type,
            "amount": amount,
            "return_url": return_url,
            "cancel_url": cancel_url,
            "other_url": other_url,
            "open_id": open_id,
            "sales_flg": "1" if sales_flg else None,
            "pc_mobile_type": pc_mobile_type,
            "item_cd": item_cd,
            "outline": outline,
            "service_code": service_code,
            "site_id": site_id,
        }
        return self._call(Kind.APPLY_CARRIER, fields, CarrierRedirect)

    def capture_carrier(
        self, *, payment_id: str | int | None = None, trading_id: str | None = None
    ) -> Response:
        """Capture (売上, 101) an approved carrier payment."""
        return self._follow_up(Kind.CAPTURE_CARRIER, payment_id, trading_id, {}, Response)

    def cancel_carrier(
        self, *, payment_id: str | int | None = None, trading_id: str | None = None
    ) -> Response:
        """Cancel (取消, 102) a carrier payment, authorised or captured, as its carrier allows."""
        return self._follow_up(Kind.CANCEL_CARRIER, payment_id, trading_id, {}, Response)

    def correct_carrier(
        self,
        *,
        amount: int | str,
        payment_id: str | int | None = None,
        trading_id: str | None = None,
    ) -> CorrectionResult:
        """Capture a lower `amount` instead (補正売上, 103); the answer names a **new** payment."""
        fields = {"amount": amount}
        return self._follow_up(
            Kind.CORRECT_CARRIER, payment_id, trading_id, fields, CorrectionResult
        )

    def authenticate_carrier_user(
        self,
        *,
        career_type: str | int,
        redirect_url: str,
        cancel_url: str,
        pc_mobile_type: str | int | None = None,
        site_id: str | None = None,
    ) -> CarrierRedirect:
        """User authentication (ユーザ認証, 104; au かんたん決済 and d払い): the buyer logs in on the
        carrier's page and comes back to `redirect_url` with ``open_id``."""
        fields: Fields = {
            "career_type": career_type,
            "redirect_url": redirect_url,
            "cancel_url": cancel_url,
            "pc_mobile_type": pc_mobile_type,
            "site_id": site_id,
        }
        return self._call(Kind.AUTHENTICATE_CARRIER_USER, fields, CarrierRedirect)

    def release_open_id(self, *, open_id: str, career_type: str | int | None = None) -> Response:
        """Release an OpenID (OpenID解除, 105): payments can no longer use it."""
        fields: Fields = {"open_id": open_id, "career_type": career_type}
        return self._call(Kind.RELEASE_OPEN_ID, fields, Response)

    # --- methods paid later ----------------------------------------------------------------------

    def apply_slip(
        self,
        *,
        payment_amount: int | str,
        customer_family_name: str,
        customer_zip_code: str,
        customer_address_1: str,
        customer_tel: str,
        trading_id: str | None = None,
        customer_name: str | None = None,
        customer_family_name_kana: str | None = None,
        customer_name_kana: str | None = None,
        customer_address_2: str | None = None,
        customer_address_3: str | None = None,
        customer_tel_type: str | int | None = None,
        company: bool = False,
        customer_dept: str | None = None,
        customer_representative: str | None = None,
        items: Sequence[SlipItem] = (),
        tax_class: str | int | None = None,
        sales_tax_amount: int | str | None = None,
        site_info: str | None = None,
        payment_limit_date: int | str | None = None,
        bill_expiration_date: int | str | None = None,
        extra: Mapping[str, FieldValue] | None = None,
    ) -> SlipResult:
        """Apply for a CVS payment slip (コンビニ払込票, 040) of `payment_amount` yen (≤ 299,999).

        The slip is addressed to the payer: a person (`customer_family_name` + `customer_name`) or,
        with `company=True`, a company (its name in `customer_family_name`, optionally
        `customer_dept` and `customer_representative`). `payment_limit_date` is the deadline in
        days (1–364, default 30); `bill_expiration_date` the days the slip stays valid at the
        tills, not fewer. `items` (at most 20) must add up to the amount (plus `sales_tax_amount`
        when `tax_class` is 1). The answer's `slip_url` is the buyer's page with the PDF; the
        payment is reported 43 when paid, then 40. Raises ValueError for more than 20 items.
        """
        if len(items) > MAX_SLIP_ITEMS:
            raise ValueError(f"a slip has at most {MAX_SLIP_ITEMS} items")
        fields: dict[str, FieldValue | None] = {
            "trading_id": trading_id,
            "payment_amount": payment_amount,
            "tax_class": tax_class,
            "sales_tax_amount": sales_tax_amount,
            "site_info": site_info,
            "payment_limit_date": payment_limit_date,
            "bill_expiration_date": bill_expiration_date,
            "customer_type": "1" if company else "0",
            "customer_family_name": customer_family_name,
            "customer_name": customer_name,
            "customer_family_name_kana": customer_family_name_kana,
            "customer_name_kana": customer_name_kana,
            "customer_dept": customer_dept,
            "customer_representative": customer_representative,
            "customer_zip_code": customer_zip_code,
            "customer_address_1": customer_address_1,
            "customer_address_2": customer_address_2,
            "customer_address_3": customer_address_3,
            "customer_tel_type": customer_tel_type,
            "customer_tel": customer_tel,
            **_item_fields(items),
            **(extra or {}),
        }
        return self._call(Kind.CVS_SLIP, fields, SlipResult)

    # --- stored cards ----------------------------------------------------------------------------

    def register_card(
        self,
        *,
        customer_id: str,
        card_number: str | None = None,
        card_valid_term: str | None = None,
        card_conf_number: str | None = None,
        card_token: str | None = None,
        card_brand: str | None = None,
        cardholder_name: str | None = None,
        add_info1: str | None = None,
        add_info2: str | None = None,
        add_info3: str | None = None,
        add_info4: str | None = None,
        valid_check_flg: bool = False,
        security_code_use: bool = False,
        site_id: str | None = None,
        extra: Mapping[str, FieldValue] | None = None,
    ) -> CardResult:
        """Store a card for `customer_id` (カード情報設定, 025): raw card fields or a `card_token`.

        `valid_check_flg=True` checks the card with an authorisation first. The answer's
        `customer_card_id` names the stored card. Raises ValueError for neither or both card
        sources.
        """
        if (card_number is None) == (card_token is None):
            raise ValueError("give exactly one of card_number and card_token")
        fields = {
            "customer_id": customer_id,
            "card_number": card_number,
            "card_valid_term": card_valid_term,
            "card_conf_number": card_conf_number,
            "card_token": card_token,
            "card_brand": card_brand,
            "cardholder_name": cardholder_name,
            **_add_info(add_info1, add_info2, add_info3, add_info4),
            "valid_check_flg": "1" if valid_check_flg else None,
            "security_code_use": "1" if security_code_use else None,
            "site_id": site_id,
            **(extra or {}),
        }
        return self._call(Kind.REGISTER_CARD, fields, CardResult)

    def update_card(
        self,
        *,
        customer_id: str,
        customer_card_id: str | int,
        card_valid_term: str | None = None,
        cardholder_name: str | None = None,
        add_info1: str | None = None,
        add_info2: str | None = None,
        add_info3: str | None = None,
        add_info4: str | None = None,
        card_token: str | None = None,
        security_code_use: bool = False,
        site_id: str | None = None,
        extra: Mapping[str, FieldValue] | None = None,
    ) -> CardResult:
        """Update a stored card (カード情報更新, 116).

        A field left None is not sent and stays unchanged; ``""`` clears it (`add_info1..4`).
        """
        fields = {
            "customer_id": customer_id,
            "customer_card_id": customer_card_id,
            "card_valid_term": card_valid_term,
            "cardholder_name": cardholder_name,
            **_add_info(add_info1, add_info2, add_info3, add_info4),
            "card_token": card_token,
            "security_code_use": "1" if security_code_use else None,
            "site_id": site_id,
            **(extra or {}),
        }
        return self._call(Kind.UPDATE_CARD, fields, CardResult)

    def delete_card(
        self,
        *,
        customer_id: str,
        customer_card_id: str | int | None = None,
        site_id: str | None = None,
    ) -> CardResult:
        """Delete one stored card (カード情報削除, 026), or all the customer's cards if no ID."""
        fields = {
            "customer_id": customer_id,
            "customer_card_id": "" if customer_card_id is None else customer_card_id,
            "site_id": site_id,
        }
        return self._call(Kind.DELETE_CARD, fields, CardResult)

    def list_cards(
        self,
        *,
        customer_id: str,
        customer_card_id: str | int | None = None,
        return_fingerprint_flg: bool = False,
        site_id: str | None = None,
    ) -> CardList:
        """List a customer's stored cards (カード情報照会, 027), or one card by its ID.

        Returns `CardList` (``.cards``: `StoredCard` rows). No cards is ``result=1``/``P026`` with
        no rows. Raises ProtocolError when the CSV is malformed (e.g. a row's column count differs).
        """
        fields = {
            "customer_id": customer_id,
            "customer_card_id": "" if customer_card_id is None else customer_card_id,
            "return_fingerprint_flg": "1" if return_fingerprint_flg else None,
            "site_id": site_id,
        }
        return self._call(Kind.LIST_CARDS, fields, CardList)

    def submit_file(
        self, *, file_type: str, data: bytes, duplicate_check: bool = False
    ) -> FileReceipt:
        """Submit a file (ファイル決済要求, 200): `data` is the CSV's own bytes (Windows-31J, or UTF-8
        starting with a BOM), its first line naming the columns. Returns `FileReceipt`
        (``.file_receipt_id``); a malformed file is ``result=1``/``9101`` with the line named."""
        fields = {"file_type": file_type, "duplicate_check": "1" if duplicate_check else None}
        telegram = self._encode(Kind.SUBMIT_FILE, fields)
        body = telegram.body + b"&data=" + urllib.parse.quote_plus(data, safe="").encode("ascii")
        kind = str(Kind.SUBMIT_FILE)
        return _read(self._exchange(replace(telegram, body=body)), kind, FileReceipt)

    def file_result(self, *, file_receipt_id: str) -> FileResult:
        """The result of a file (ファイル決済結果照会, 201): one `FileResultLine` per line, or
        ``result=1`` with 9103 (`.running`) while it runs."""
        return self._call(Kind.FILE_RESULT, {"file_receipt_id": file_receipt_id}, FileResult)

    # --- internals -------------------------------------------------------------------------------

    def _follow_up(
        self,
        kind: Kind,
        payment_id: str | int | None,
        trading_id: str | None,
        fields: Fields,
        result_type: type[R],
    ) -> R:
        if payment_id in (None, "") and not trading_id:
            raise ValueError(f"telegram {kind}: give payment_id or trading_id")
        header = {"payment_id": payment_id, "trading_id": trading_id}
        return self._call(kind, {**header, **fields}, result_type)

    def _call(self, kind: str, fields: Fields, result_type: type[R]) -> R:
        kind = str(kind)  # a `Kind` member becomes its plain code, e.g. "020"
        telegram = self._encode(kind, fields)
        return _read(self._exchange(telegram), kind, result_type)

    def _encode(self, kind: str, fields: Fields) -> EncodedTelegram:
        if self._hash_key is None:
            return encode_telegram(self._credentials, kind, fields)
        telegram = self._sign(kind, fields, self._hash_key)
        if telegram.signature == self._last_signature:
            time.sleep(1.0)  # the same signature within one second: a replay to the gateway
            telegram = self._sign(kind, fields, self._hash_key)
        self._last_signature = telegram.signature
        return telegram

    def _sign(self, kind: str, fields: Fields, key: str) -> EncodedTelegram:
        stamp = self._now().astimezone(JST).strftime("%Y%m%d%H%M%S")
        return encode_signed_telegram(self._credentials, kind, fields, key=key, request_date=stamp)

    def _exchange(self, telegram: EncodedTelegram) -> httpx.Response:
        kind = telegram.kind
        headers = {"Content-Type": telegram.content_type}
        try:
            return self._http.post(telegram.path, content=telegram.body, headers=headers)
        except httpx.TimeoutException as exc:
            sent = not isinstance(exc, _TIMEOUT_BEFORE_SENDING)
            message = f"no answer in time ({type(exc).__name__})"
            raise TimeoutError(message, kind=kind, outcome_unknown=sent) from exc
        except httpx.TransportError as exc:
            sent = not isinstance(exc, _NOT_SENT)
            message = f"{type(exc).__name__}: {exc}"
            raise TransportError(message, kind=kind, request_sent=sent) from exc

    def _authorize_safely(
        self, trading_id: str, amount: str, fields: Fields
    ) -> AuthorizationResult:
        try:
            return self._call(Kind.AUTHORIZE, fields, AuthorizationResult)
        except (TimeoutError, TransportError) as exc:
            if not _may_have_been_sent(exc):
                raise
        recovered = self._recover_authorization(trading_id, amount)
        if recovered is not None:
            return recovered
        try:
            return self._call(Kind.AUTHORIZE, fields, AuthorizationResult)
        except (TimeoutError, TransportError) as exc:
            raise _outcome_unknown(trading_id, "the re-sent authorisation failed too") from exc

    def _recover_authorization(self, trading_id: str, amount: str) -> AuthorizationResult | None:
        """The payment the lost 020 made, None if there is none, or TimeoutError if unsure."""
        try:
            inquiry = self.inquire(trading_id=trading_id, payment_type=CARD_PAYMENT_TYPE)
        except KessaiClientError as exc:
            raise _outcome_unknown(trading_id, "the inquiry (094) failed") from exc
        if not inquiry.ok:
            if inquiry.response_code in NOT_FOUND_CODES:
                return None
            reason = f"the inquiry (094) answered {inquiry.response_code}"
            raise _outcome_unknown(trading_id, reason)
        return _recovered_result(inquiry, trading_id, amount)


def _read(response: httpx.Response, kind: str, result_type: type[R]) -> R:
    if response.status_code != 200:
        message = f"HTTP status {response.status_code}, expected 200"
        raise ProtocolError(message, kind=kind, status_code=response.status_code)
    text = decode_body(response.content, response.headers.get("content-type"))
    if kind == Kind.FILE_RESULT:
        result: Response = _file_result(text, kind)
    elif kind in CSV_KINDS:
        result = _table(text, kind)
    else:
        result = _record(text, kind, result_type)
    if not isinstance(result, result_type):
        raise ProtocolError("the answer has another form than this kind's", kind=kind)
    return result


def _table(text: str, kind: str) -> CardList:
    table = parse_csv(text, kind=kind)
    cards = tuple(StoredCard.from_row(row) for row in table.rows)
    return CardList(kind, table.result, table.response_code, table.response_detail, cards=cards)


def _file_result(text: str, kind: str) -> FileResult:
    body, data = parse_file_result(text, kind=kind)
    lines = tuple(_file_line(record, kind) for record in data)
    return FileResult(kind, body.result, body.response_code, body.response_detail, lines=lines)


def _file_line(record: list[str], kind: str) -> FileResultLine:
    if len(record) != 8 or not record[0].isdigit():
        raise ProtocolError("a result file record has an unexpected shape", kind=kind)
    return FileResultLine(int(record[0]), *record[1:])


def _record(text: str, kind: str, result_type: type[R]) -> R:
    body = parse_key_values(text, kind=kind)
    return result_type.of(kind, body.result, body.response_code, body.response_detail, body.fields)


def _recovered_result(inquiry: PaymentInquiry, trading_id: str, amount: str) -> AuthorizationResult:
    status = inquiry.payment_status
    if status == "10" or status is None:
        raise _outcome_unknown(trading_id, f"the payment is in status {status}, not settled yet")
    if str(inquiry.payment_amount) != amount:
        raise _outcome_unknown(trading_id, "a payment with this trading_id has another amount")
    result = "0" if status in AUTHORISED_STATUSES else "1"
    kind = str(Kind.AUTHORIZE)
    return AuthorizationResult(kind, result, "", "", inquiry.fields, recovered=True)


def _outcome_unknown(trading_id: str, reason: str) -> TimeoutError:
    message = (
        f"the authorisation for trading_id {trading_id!r} may or may not have happened ({reason}); "
        "inquire (094) by trading_id later before trying again"
    )
    return TimeoutError(message, kind=str(Kind.AUTHORIZE), outcome_unknown=True)


def _may_have_been_sent(exc: TimeoutError | TransportError) -> bool:
    return exc.outcome_unknown if isinstance(exc, TimeoutError) else exc.request_sent


def _card_source(
    card_number: str | None,
    customer_id: str | None,
    customer_card_id: str | int | None,
    ref_trading_id: str | None,
    card_token: str | None,
    *,
    optional: bool = False,
) -> dict[str, FieldValue | None]:
    """The fields naming the card of a 020; ValueError unless exactly one source is given (or
    none, when `optional`: after 3-D Secure the authenticated card is used)."""
    stored = customer_id is not None or customer_card_id is not None
    if stored and (customer_id is None or customer_card_id is None):
        raise ValueError("a stored card needs both customer_id and customer_card_id")
    cvc_token = stored and card_token is not None
    sources = [card_number is not None, stored, ref_trading_id is not None]
    sources.append(card_token is not None and not cvc_token)
    if sum(sources) != 1 and not (optional and sum(sources) == 0):
        raise ValueError(
            "give exactly one card source: card_number, customer_id + customer_card_id, "
            "ref_trading_id or card_token"
        )
    return {
        "card_number": card_number,
        "stock_card_mode": "1" if stored else None,
        "customer_id": customer_id,
        "customer_card_id": customer_card_id,
        "ref_trading_id": ref_trading_id,
        "card_token": card_token,
        "security_code_token": "1" if cvc_token else None,
    }


def _threeds_card(
    card_number: str | None,
    card_valid_term: str | None,
    customer_id: str | None,
    customer_card_id: str | int | None,
    card_token: str | None,
) -> dict[str, FieldValue | None]:
    """450's card fields and `card_set_method`; ValueError unless exactly one source is given."""
    stored = customer_id is not None or customer_card_id is not None
    if stored and (customer_id is None or customer_card_id is None):
        raise ValueError("a stored card needs both customer_id and customer_card_id")
    sources = {
        "direct": card_number is not None,
        "customer": stored,
        "token": card_token is not None,
    }
    chosen = [name for name, given in sources.items() if given]
    if len(chosen) != 1:
        raise ValueError(
            "give exactly one card: card_number, customer_id + customer_card_id or card_token"
        )
    return {
        "card_set_method": chosen[0],
        "card_number": card_number,
        "card_valid_term": card_valid_term,
        "customer_id": customer_id,
        "customer_card_id": customer_card_id,
        "card_token": card_token,
    }


def _correction_fields(
    payment_amount: int | str,
    reduction_flag: bool,
    base_payment_cancel_timing: str | int | None,
) -> dict[str, FieldValue | None]:
    return {
        "payment_amount": payment_amount,
        "reduction_flag": "1" if reduction_flag else "0",
        "base_payment_cancel_timing": base_payment_cancel_timing,
    }


MAX_SLIP_ITEMS: Final = 20


@dataclass(frozen=True, slots=True)
class SlipItem:
    """One line of a payment slip's statement (明細): `amount` yen, what it is for, and when."""

    amount: int
    detail: str = ""
    day: date | None = None


def _item_fields(items: Sequence[SlipItem]) -> dict[str, FieldValue | None]:
    fields: dict[str, FieldValue | None] = {}
    for n, item in enumerate(items, start=1):
        fields[f"item_date_{n}"] = item.day.strftime("%Y%m%d") if item.day else None
        fields[f"item_detail_{n}"] = item.detail or None
        fields[f"item_amount_{n}"] = item.amount
    return fields


def _add_info(*values: str | None) -> dict[str, FieldValue | None]:
    return {f"add_info{number}": value for number, value in enumerate(values, start=1)}


def _ssl_context(cert: tuple[str, str] | None, ca: str | None) -> ssl.SSLContext:
    """Verify the server with `ca` (or the public CAs) and present `cert` if given; TLS ≥ 1.2."""
    context = ssl.create_default_context(cafile=ca) if ca else httpx.create_ssl_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        context.load_cert_chain(cert[0], cert[1])
    return context
