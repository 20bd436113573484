"""One handler per card telegram kind: typed request in, one core command, reply fields out.

Handlers receive fields already checked against `specs.REQUEST_SPECS` and return the reply as
`(name, value)` pairs (or CSV bytes for 027). Rules that need a payment's state live in the core.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime

from kessai.connectors.base import CardData
from kessai.core.cards import stored
from kessai.core.context import Core, MerchantRef
from kessai.core.notifications import inquiry
from kessai.core.payments.atm import commands as atm
from kessai.core.payments.banknet import commands as banknet
from kessai.core.payments.card import commands
from kessai.core.payments.card.commands import AuthorizeRequest
from kessai.core.payments.card.corrections import CorrectionRequest, correct
from kessai.core.payments.carrier import commands as carrier
from kessai.core.payments.cvs import commands as cvs
from kessai.core.payments.refs import PaymentRef
from kessai.core.payments.slip import commands as slip
from kessai.core.payments.vaccount import PAYMENT_TYPE as VIRTUAL_ACCOUNT
from kessai.core.payments.vaccount import claims as vaccount
from kessai.core.payments.vaccount.pool import AccountKey
from kessai.core.payments.views import OperationResult, PaymentView
from kessai.kit.clock import jst_stamp
from kessai.kit.errors import InvalidRequest, KessaiError
from kessai.kit.secrets import CardNumber, SecurityCode
from kessai.web.buyer.banknet import asp_url, bank_url
from kessai.web.module import carrier as carrier_face
from kessai.web.module import threeds as threeds_face
from kessai.web.module.encode import encode_csv_response, error_fields, success_fields
from kessai.web.module.specs import (
    ATM_PAYMENT_RECORD,
    BANKNET_PAYMENT_RECORD,
    CARRIER_PAYMENT_RECORD,
    CVS_PAYMENT_RECORD,
    RESPONSE_FIELDS,
    SLIP_PAYMENT_RECORD,
    STORED_CARD_CSV_COLUMNS,
    VIRTUAL_ACCOUNT_PAYMENT_RECORD,
)
from kessai.web.module.telegram import Handler, Reply, Telegram

# ---------------------------------------------------------------- replies


def card_values(view: PaymentView | None) -> dict[str, str]:
    """The 020-family response fields of a payment."""
    if view is None:
        return {}
    return {
        "payment_id": str(view.payment_id),
        "trading_id": view.trading_id,
        "issur_class": view.detail("issur_class"),
        "acq_id": view.institution_code,
        "acq_name": view.institution_name,
        "issur_name": view.detail("issur_name"),
        "issur_id": view.detail("issur_id"),
        "attempt_kbn": view.detail("attempt_kbn"),
        "fingerprint": view.detail("fingerprint"),
        "masked_card_number": view.detail("masked_card_number"),
        "card_valid_term": view.detail("card_valid_term"),
    }


def operation_reply(kind: str, result: OperationResult, values: dict[str, str]) -> Reply:
    names = RESPONSE_FIELDS[kind]
    if result.ok:
        return success_fields(names, values)
    reply = error_fields(result.response_code, result.response_detail)
    return reply + [(name, values.get(name, "")) for name in names]


def _declined_values(kind: str, result: OperationResult) -> dict[str, str]:
    # §1.5: payment_id is set on result 1 only for an input error (2003), which may be retried.
    values = card_values(result.payment)
    if kind == "020" and result.response_code != "2003":
        values.pop("payment_id", None)
    return values


# ---------------------------------------------------------------- 020


def authorize(core: Core, t: Telegram) -> Reply:
    f = t.fields
    amount = _amount(f["payment_amount"])
    auth_id = _threeds_auth_id(t)
    card, vault_card_id, valid_term = _card_source(core, t, card_optional=bool(auth_id))
    result = commands.authorize(
        core,
        t.merchant,
        AuthorizeRequest(
            trading_id=f["trading_id"],
            amount=amount,
            capture=f.get("sales_mode") == "1",
            site_id=f.get("site_id", ""),
            payment_class=f.get("payment_class") or "10",
            split_count=_split_count(f),
            retry_payment_id=int(f["payment_id"]) if f.get("payment_id") else None,
            customer_id=f.get("customer_id", "") if f.get("stock_card_mode") == "1" else "",
            customer_card_id=f.get("customer_card_id", "")
            if f.get("stock_card_mode") == "1"
            else "",
            card=card,
            vault_card_id=vault_card_id,
            valid_term=valid_term,
            threeds_auth_id=auth_id,
        ),
    )
    values = card_values(result.payment) if result.ok else _declined_values("020", result)
    return operation_reply("020", result, values)


def _threeds_auth_id(t: Telegram) -> str:
    """The 3ds_auth_id of a 020 after EMV 3-D Secure (3dsecure_use_type=2); "" without."""
    auth_id = t.fields.get("3ds_auth_id", "")
    use_type = t.fields.get("3dsecure_use_type", "")
    if auth_id and use_type != "2":
        raise InvalidRequest("P010", field="3dsecure_use_type")
    if use_type == "2" and not auth_id:
        raise InvalidRequest("P005" if "3ds_auth_id" not in t.raw else "P006", field="3ds_auth_id")
    return auth_id


def _card_source(
    core: Core, t: Telegram, *, card_optional: bool = False
) -> tuple[CardData | None, int | None, str]:
    """Exactly one card source: stored card, ref_trading_id, or the card number (§1.5 020); or,
    after EMV 3-D Secure (`card_optional`), none: the authenticated card is used."""
    f = t.fields
    if f.get("stock_card_mode") == "1":
        for name in ("customer_id", "customer_card_id"):
            if not f.get(name):
                raise InvalidRequest("P005" if name not in t.raw else "P006", field=name)
        vault_id, term = stored.stored_card_source(
            core,
            t.merchant,
            customer_id=f["customer_id"],
            customer_card_id=int(f["customer_card_id"]),
            site_id=f.get("site_id", ""),
        )
        return None, vault_id, term
    if f.get("card_token"):
        raise InvalidRequest(
            "P010", field="card_token", message="card tokens are not supported yet"
        )
    if f.get("ref_trading_id"):
        if f.get("card_number"):
            raise InvalidRequest("2024")
        vault_id, term = stored.ref_trading_source(
            core, t.merchant, ref_trading_id=f["ref_trading_id"]
        )
        return None, vault_id, term
    if card_optional and not f.get("card_number"):
        return None, None, ""
    return card_data(t), None, ""


def card_data(t: Telegram) -> CardData:
    f = t.fields
    for name in ("card_number", "card_valid_term"):
        if not f.get(name):
            raise InvalidRequest("P005" if name not in t.raw else "P006", field=name)
    _check_valid_term(f["card_valid_term"])
    code = f.get("card_conf_number", "")
    if f.get("security_code_use") == "1" and not code:
        raise InvalidRequest("P006", field="card_conf_number")
    return CardData(
        CardNumber(f["card_number"]), f["card_valid_term"], SecurityCode(code) if code else None
    )


def _check_valid_term(term: str) -> None:
    if len(term) != 4 or not 1 <= int(term[:2]) <= 12:
        raise InvalidRequest("P010", field="card_valid_term")


def _amount(value: str, field: str = "payment_amount") -> int:
    amount = int(value)
    if amount <= 0:
        raise InvalidRequest("P014", field=field)
    return amount


def _split_count(f: Mapping[str, str]) -> str:
    if f.get("payment_class") == "61" and not f.get("split_count"):
        raise InvalidRequest("P006", field="split_count")
    if f.get("split_count") and f.get("payment_class") != "61":
        raise InvalidRequest("P030")
    return f.get("split_count", "")


# ---------------------------------------------------------------- 021 / 022 / 023


def _follow_up(command: Callable[[Core, MerchantRef, PaymentRef], OperationResult]) -> Handler:
    def handle(core: Core, t: Telegram) -> Reply:
        result = command(core, t.merchant, t.ref())
        values = {
            "payment_id": str(result.payment.payment_id) if result.payment else "",
            "trading_id": result.payment.trading_id if result.payment else "",
        }
        return operation_reply(t.kind, result, values)

    return handle


# ---------------------------------------------------------------- 028 / 029


def _correction(capture: bool) -> Handler:
    def handle(core: Core, t: Telegram) -> Reply:
        f = t.fields
        result = correct(
            core,
            t.merchant,
            CorrectionRequest(
                ref=t.ref(),
                amount=_amount(f["payment_amount"]),
                is_reduction=f["reduction_flag"] == "1",
                capture=capture,
                cancel_first=f.get("base_payment_cancel_timing") == "1",
            ),
        )
        values = card_values(result.payment)
        if result.payment is not None:
            values["reduced_amount"] = str(result.payment.amount)
        if result.base_payment is not None:
            values["base_payment_id"] = str(result.base_payment.payment_id)
        return operation_reply(t.kind, result, values)

    return handle


# ---------------------------------------------------------------- 091


def difference_inquiry(core: Core, t: Telegram) -> Reply:
    """The next unread notice, or the one named by payment_notice_id (差分照会, §1.5 091)."""
    number = t.fields.get("payment_notice_id", "")
    answer = inquiry.next_notice(
        core,
        t.merchant,
        site_id=t.fields.get("site_id", ""),
        payment_notice_id=int(number) if number else None,
    )
    names = RESPONSE_FIELDS["091"]
    values = dict(answer.fields) | {
        "success_code": answer.success_code.value,
        "success_detail": answer.success_detail,
    }
    # Fields a notice carries beyond the documented list still reach the merchant, last.
    extra = [(name, value) for name, value in answer.fields.items() if name not in names]
    return success_fields(names, values) + extra


# ---------------------------------------------------------------- 010 ATM (Pay-easy)


def apply_atm(core: Core, t: Telegram) -> Reply:
    f = t.fields
    view = atm.apply(
        core,
        t.merchant,
        atm.AtmRequest(
            trading_id=f["trading_id"],
            amount=_amount(f["payment_amount"]),
            payment_detail=f["payment_detail"],
            payment_detail_kana=f["payment_detail_kana"],
            limit_days=_limit_days(f, atm.DEFAULT_LIMIT_DAYS),
            customer_family_name=f.get("customer_family_name", ""),
            customer_name=f.get("customer_name", ""),
            customer_family_name_kana=f.get("customer_family_name_kana", ""),
            customer_name_kana=f.get("customer_name_kana", ""),
            site_id=f.get("site_id", ""),
        ),
    )
    return success_fields(RESPONSE_FIELDS["010"], atm_values(view))


def _limit_days(f: Mapping[str, str], default: int) -> int:
    """`payment_limit_date`: days until the deadline, the method's default when not sent."""
    limit = f.get("payment_limit_date", "")
    return int(limit) if limit else default


def atm_values(view: PaymentView) -> dict[str, str]:
    names = (
        "pay_center_number",
        "customer_number",
        "conf_number",
        "bank_code",
        "customer_family_name",
        "customer_name",
        "customer_family_name_kana",
        "customer_name_kana",
    )
    return {name: view.detail(name) for name in names} | {
        "payment_id": str(view.payment_id),
        "trading_id": view.trading_id,
        "payment_limit_date": jst_stamp(view.due_at, "%Y%m%d"),
    }


# ---------------------------------------------------------------- 030 CVS number


def apply_cvs(core: Core, t: Telegram) -> Reply:
    f = t.fields
    view = cvs.apply(
        core,
        t.merchant,
        cvs.CvsRequest(
            trading_id=f["trading_id"],
            amount=_amount(f["payment_amount"]),
            cvs_type=f.get("cvs_type", ""),
            cvs_company_id=f.get("cvs_company_id", ""),
            customer_family_name=f["customer_family_name"],
            customer_name=f["customer_name"],
            customer_tel=f["customer_tel"],
            limit_days=_limit_days(f, cvs.DEFAULT_LIMIT_DAYS),
            customer_family_name_kana=f.get("customer_family_name_kana", ""),
            customer_name_kana=f.get("customer_name_kana", ""),
            site_id=f.get("site_id", ""),
            sales_type=f.get("sales_type", ""),
        ),
    )
    values = cvs_values(view)
    token = cvs.receipt_token(core.secret, view.payment_id)
    values["receipt_print_url"] = f"{t.base_url}/cvs/receipt/{view.payment_id}/{token}"
    return success_fields(RESPONSE_FIELDS["030"], values)


def cvs_values(view: PaymentView) -> dict[str, str]:
    names = (
        "receipt_number",
        "usable_cvs_company_id",
        "cvs_company_id",
        "customer_family_name",
        "customer_name",
        "customer_family_name_kana",
        "customer_name_kana",
        "customer_tel",
    )
    return _paid_later_values(view, names)


def _paid_later_values(view: PaymentView, names: tuple[str, ...]) -> dict[str, str]:
    """A paid-later record: `names` from the payment's details, its ids, its deadline and when
    the buyer paid (CVS, bank net)."""
    paid = view.detail("user_payment_date")
    return {name: view.detail(name) for name in names} | {
        "payment_id": str(view.payment_id),
        "trading_id": view.trading_id,
        "payment_limit_date": jst_stamp(view.due_at, "%Y%m%d"),
        "user_payment_date": jst_stamp(datetime.fromisoformat(paid)) if paid else "",
    }


# ---------------------------------------------------------------- 060 / 050 bank net

_BANK_NET_DETAILS = (
    "customer_family_name",
    "customer_name",
    "customer_family_name_kana",
    "customer_name_kana",
    "receipt_name_kana",
    "receipt_name",
    "return_url",
    "stop_return_url",
    "merchant_name",
    "banner_url",
    "free_memo",
    "copy_right",
)


def apply_bank_net(core: Core, t: Telegram) -> Reply:
    """060 (and 050 with its bank_code): the application and the page the buyer is sent to."""
    f = t.fields
    application = banknet.BankNetApplication(
        trading_id=f["trading_id"],
        amount=_amount(f["amount"], "amount"),
        claim_kana=f["claim_kana"],
        claim_kanji=f["claim_kanji"],
        term=f.get("asp_payment_term") or banknet.DEFAULT_TERM,
        site_id=f.get("site_id", ""),
        bank_code=f.get("bank_code", ""),
        details={name: f.get(name, "") for name in _BANK_NET_DETAILS},
    )
    try:
        applied = banknet.apply(core, t.merchant, application)
    except banknet.ApplicationExists as exists:
        if exists.code != "5010":
            raise
        # §1.5: a duplicate open application still answers its fields.
        values = bank_net_values(core, t, banknet.Applied(exists.request))
        return error_fields(exists.code, exists.detail) + [
            (name, values.get(name, "")) for name in RESPONSE_FIELDS[t.kind]
        ]
    return success_fields(RESPONSE_FIELDS[t.kind], bank_net_values(core, t, applied))


def bank_net_values(core: Core, t: Telegram, applied: banknet.Applied) -> dict[str, str]:
    request = applied.request
    values = {
        "trading_id": request.trading_id,
        "asp_limit_date": jst_stamp(request.limit_at),
        "asp_payment_limit_date": jst_stamp(request.payment_limit_at, "%Y%m%d"),
        "asp_url": asp_url(t.base_url, core.secret, request.merchant_id, request.trading_id),
        "amount": str(request.amount),
        "claim_kana": request.claim_kana,
        "claim_kanji": request.claim_kanji,
        "trade_generation_date": jst_stamp(request.created_at),
        "bank_code": request.bank_code,
    }
    if applied.payment is not None:  # 050: straight to the bank's page
        values["payment_id"] = str(applied.payment.payment_id)
        values["asp_url"] = bank_url(t.base_url, core.secret, applied.payment.payment_id)
    return values


def banknet_values(view: PaymentView) -> dict[str, str]:
    """094's bank net record."""
    names = (
        "bank_code",
        "claim_kana",
        "claim_kanji",
        "customer_family_name",
        "customer_name",
        "customer_family_name_kana",
        "customer_name_kana",
    )
    return _paid_later_values(view, names)


# ---------------------------------------------------------------- 070 virtual account

_ACCOUNT_FIELDS = (
    "virtual_account_bank_code",
    "virtual_account_branch_code",
    "virtual_account_number",
)


def apply_virtual_account(core: Core, t: Telegram) -> Reply:
    f = t.fields
    expire_days = f.get("expire_days", "")
    view = vaccount.apply(
        core,
        t.merchant,
        vaccount.ClaimRequest(
            trading_id=f["trading_id"],
            claim_amount=_amount(f["claim_amount"], "claim_amount"),
            billing_name=f.get("billing_name", ""),
            billing_name_kana=f.get("billing_name_kana", ""),
            expire_days=int(expire_days) if expire_days else vaccount.DEFAULT_EXPIRE_DAYS,
            site_id=f.get("site_id", ""),
            fixed=f.get("numbering_type") == "1",
            account=_account_key(t),
            fix_numbering_registered=f.get("fix_numbering_registered", ""),
        ),
    )
    return success_fields(RESPONSE_FIELDS["070"], vaccount_values(view))


def _account_key(t: Telegram) -> AccountKey | None:
    """The account a fixed-numbering 070 names: all three fields or none (P005/P006)."""
    given = [name for name in _ACCOUNT_FIELDS if t.fields.get(name)]
    if not given:
        return None
    for name in _ACCOUNT_FIELDS:
        if name not in given:
            raise InvalidRequest("P005" if name not in t.raw else "P006", field=name)
    return AccountKey(*(t.fields[name] for name in _ACCOUNT_FIELDS))


def vaccount_values(view: PaymentView) -> dict[str, str]:
    """The claim's fields, kept in its details under their protocol names (the 094 record's
    payment fields come from `_record_values`)."""
    return {name: view.detail(name) for name in VIRTUAL_ACCOUNT_PAYMENT_RECORD} | {
        "payment_id": str(view.payment_id),
        "trading_id": view.trading_id,
    }


# ---------------------------------------------------------------- 040 CVS payment slip

_TEL = re.compile(r"[0-9]+(-[0-9]+){0,2}")


def apply_slip(core: Core, t: Telegram) -> Reply:
    f = t.fields
    view = slip.apply(
        core,
        t.merchant,
        slip.SlipRequest(
            trading_id=f["trading_id"],
            amount=_amount(f["payment_amount"]),
            payer=_payer(t),
            items=_slip_items(f),
            tax_class=f.get("tax_class") or "0",
            sales_tax_amount=int(f.get("sales_tax_amount") or 0),
            site_info=f.get("site_info", ""),
            limit_days=_limit_days(f, slip.DEFAULT_LIMIT_DAYS),
            expiration_days=int(f["bill_expiration_date"])
            if f.get("bill_expiration_date")
            else None,
        ),
    )
    return success_fields(RESPONSE_FIELDS["040"], slip_values(core, view, t.base_url))


def _payer(t: Telegram) -> slip.Payer:
    f = t.fields
    customer_type = f.get("customer_type") or "0"
    if customer_type == "0" and not f.get("customer_name"):
        raise InvalidRequest("P006" if "customer_name" in t.raw else "P005", field="customer_name")
    return slip.Payer(
        family_name=f["customer_family_name"],
        zip_code=f["customer_zip_code"],
        address=(f["customer_address_1"], f["customer_address_2"], f["customer_address_3"]),
        tel=_tel(f["customer_tel"]),
        customer_type=customer_type,
        name=f.get("customer_name", ""),
        family_name_kana=f.get("customer_family_name_kana", ""),
        name_kana=f.get("customer_name_kana", ""),
        dept=f.get("customer_dept", ""),
        representative=f.get("customer_representative", ""),
        tel_type=f.get("customer_tel_type", ""),
    )


def _tel(value: str) -> str:
    """A Japanese phone number, hyphens allowed (P008 for other characters, P010 for a number
    that is not 10 or 11 digits long)."""
    if not _TEL.fullmatch(value):
        raise InvalidRequest("P008", field="customer_tel")
    if not 10 <= len(value.replace("-", "")) <= 11:
        raise InvalidRequest("P010", field="customer_tel")
    return value


def _slip_items(f: Mapping[str, str]) -> tuple[slip.SlipItem, ...]:
    """The statement's lines in N order; a line with any field needs its item_amount_N."""
    items = []
    for n in range(1, slip.MAX_ITEMS + 1):
        day, detail, amount = (
            f.get(f"item_{name}_{n}", "") for name in ("date", "detail", "amount")
        )
        if not (day or detail or amount):
            continue
        if not amount:
            raise InvalidRequest("P006", field=f"item_amount_{n}")
        items.append(slip.SlipItem(amount=int(amount), detail=detail, day=_item_day(day, n)))
    return tuple(items)


def _item_day(value: str, n: int) -> date | None:
    if not value:
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise InvalidRequest("P010", field=f"item_date_{n}") from None


def slip_url(core: Core, payment_id: int, base_url: str) -> str:
    """The buyer's slip page (plain HTML linking the PDF): `slip_url` of the 040 reply and 094."""
    return f"{base_url}/cvs/slip/{payment_id}/{slip.slip_token(core.secret, payment_id)}"


def slip_values(core: Core, view: PaymentView, base_url: str) -> dict[str, str]:
    names = (
        "bar_code",
        "usable_cvs_company_id",
        "cvs_company_id",
        "payment_limit_date",
        "tax_class",
        "sales_tax_amount",
        "customer_type",
        "customer_family_name",
        "customer_name",
        "customer_family_name_kana",
        "customer_name_kana",
        "customer_zip_code",
        "customer_tel",
    )
    return {name: view.detail(name) for name in names} | {
        "payment_id": str(view.payment_id),
        "trading_id": view.trading_id,
        "bill_expiration_date": jst_stamp(view.due_at, "%Y%m%d"),
        "user_payment_date": jst_stamp(slip.paid_on(view)),
        "slip_url": slip_url(core, view.payment_id, base_url),
    }


# ---------------------------------------------------------------- 094


def inquire(core: Core, t: Telegram) -> Reply:
    view = commands.inquire(core, t.merchant, t.ref(), t.fields.get("payment_type", ""))
    if view.payment_type == atm.PAYMENT_TYPE:
        return success_fields(ATM_PAYMENT_RECORD, atm_values(view) | _record_values(view))
    if view.payment_type == cvs.PAYMENT_TYPE:
        return success_fields(CVS_PAYMENT_RECORD, cvs_values(view) | _record_values(view))
    if view.payment_type == slip.PAYMENT_TYPE:
        values = slip_values(core, view, t.base_url) | _record_values(view)
        return success_fields(SLIP_PAYMENT_RECORD, values)
    if view.payment_type == banknet.PAYMENT_TYPE:
        return success_fields(BANKNET_PAYMENT_RECORD, banknet_values(view) | _record_values(view))
    if view.payment_type == VIRTUAL_ACCOUNT:
        return success_fields(
            VIRTUAL_ACCOUNT_PAYMENT_RECORD, vaccount_values(view) | _record_values(view)
        )
    if view.payment_type == carrier.PAYMENT_TYPE:
        values = carrier_face.carrier_values(view) | _record_values(view)
        return success_fields(CARRIER_PAYMENT_RECORD, values)
    values = card_values(view) | {
        "payment_type": view.payment_type,
        "site_id": view.site_id,
        "payment_status": view.status,
        "payment_amount": str(view.amount),
        "payment_init_date": jst_stamp(view.created_at),
        "authorized_date": jst_stamp(view.authorized_at),
        "cancel_date": jst_stamp(view.cancelled_at),
        "payment_date": jst_stamp(view.captured_at),
        "payment_class": view.detail("payment_class"),
        "split_count": view.detail("split_count"),
        "issur_code": view.detail("issur_id"),
        "authrized_number": view.detail("authrized_number"),
        "customer_id": view.detail("customer_id"),
        "customer_card_id": view.detail("customer_card_id"),
        "3dsecure_ryaku": "" if view.detail("3ds_auth_id") else "1",
        "3dsecure_message_version": view.detail("3dsecure_message_version"),
        "joho_code": "000",
    }
    return success_fields(RESPONSE_FIELDS["094"], values)


# ---------------------------------------------------------------- stored cards


def _record_values(view: PaymentView) -> dict[str, str]:
    return {
        "payment_type": view.payment_type,
        "site_id": view.site_id,
        "payment_status": view.status,
        "payment_amount": str(view.amount),
        "payment_init_date": jst_stamp(view.created_at),
        "payment_date": jst_stamp(view.captured_at),
    }


def register_card(core: Core, t: Telegram) -> Reply:
    f = t.fields
    result = stored.register(
        core,
        t.merchant,
        customer_id=f["customer_id"],
        site_id=f.get("site_id", ""),
        card=card_data(t),
        details=_card_details(t),
        valid_check=f.get("valid_check_flg") == "1",
    )
    if result.card is None:
        check = result.check
        assert check is not None
        return error_fields(check.response_code, check.response_detail, RESPONSE_FIELDS["025"])
    card = result.card
    values = {
        "num_of_cards": str(result.num_of_cards),
        "customer_card_id": str(card.customer_card_id),
        "fingerprint": card.fingerprint,
        "masked_card_number": card.masked_card_number,
        "card_valid_term": card.card_valid_term,
        "cardholder_name": card.cardholder_name,
    }
    if result.check is not None and result.check.payment is not None:
        values |= {
            k: v
            for k, v in card_values(result.check.payment).items()
            if k in ("issur_id", "issur_name", "acq_id", "acq_name")
        }
    return success_fields(RESPONSE_FIELDS["025"], values)


def _card_details(t: Telegram) -> stored.CardDetails:
    f = t.fields
    info = tuple(f.get(f"add_info{i}") if f"add_info{i}" in t.raw else None for i in range(1, 5))
    return stored.CardDetails(
        card_brand=f.get("card_brand", ""),
        cardholder_name=f.get("cardholder_name", ""),
        add_info=(info[0], info[1], info[2], info[3]),
    )


def update_card(core: Core, t: Telegram) -> Reply:
    f = t.fields
    term = f.get("card_valid_term") if t.raw.get("card_valid_term") else None
    if term is not None:
        _check_valid_term(term)
    card, count = stored.update(
        core,
        t.merchant,
        customer_id=f["customer_id"],
        customer_card_id=int(f["customer_card_id"]),
        site_id=f.get("site_id", ""),
        valid_term=term,
        details=_card_details(t),
        cardholder_given="cardholder_name" in t.raw,
    )
    return success_fields(
        RESPONSE_FIELDS["116"],
        {
            "num_of_cards": str(count),
            "customer_card_id": str(card.customer_card_id),
        },
    )


def delete_card(core: Core, t: Telegram) -> Reply:
    f = t.fields
    count = stored.delete(
        core,
        t.merchant,
        customer_id=f["customer_id"],
        customer_card_id=int(f["customer_card_id"]) if f.get("customer_card_id") else None,
        site_id=f.get("site_id", ""),
    )
    return success_fields(RESPONSE_FIELDS["026"], {"num_of_cards": str(count)})


def list_cards(core: Core, t: Telegram) -> Reply:
    f = t.fields
    try:
        cards = stored.inquire(
            core,
            t.merchant,
            customer_id=f["customer_id"],
            customer_card_id=int(f["customer_card_id"]) if f.get("customer_card_id") else None,
            site_id=f.get("site_id", ""),
        )
    except KessaiError as error:
        return csv_error(error)
    with_fp = f.get("return_fingerprint_flg") == "1"
    columns = list(STORED_CARD_CSV_COLUMNS) + (["fingerprint"] if with_fp else [])
    rows = [_csv_row(card, with_fp) for card in cards]
    return encode_csv_response(
        result="0", response_code="", response_detail="", columns=columns, rows=rows
    )


def _csv_row(card: stored.StoredCardView, with_fp: bool) -> list[str]:
    row = [
        card.customer_id,
        str(card.customer_card_id),
        card.masked_card_number,
        card.card_valid_term,
        jst_stamp(card.last_used_at),
        card.card_brand,
        card.cardholder_name,
        *card.add_info,
        "1" if card.expired else "0",
        card.valid_check_result,
        "",
        jst_stamp(card.valid_check_date),
        card.issur_name,
    ]
    row = row[: len(STORED_CARD_CSV_COLUMNS)]
    return row + ([card.fingerprint] if with_fp else [])


def csv_error(error: KessaiError) -> bytes:
    return encode_csv_response(
        result="1", response_code=error.code, response_detail=error.detail, columns=(), rows=()
    )


# Card operations (authorise, void, capture, refund): their sessions never nest, so each telegram
# may hold one pooled connection from the credential check to the answer (`Core.pinned`), and a
# file's lines of these kinds one per lane (web/module/files.py).
PINNED_KINDS = frozenset({"020", "021", "022", "023"})

HANDLERS: dict[str, Handler] = {
    "010": apply_atm,
    "050": apply_bank_net,
    "060": apply_bank_net,
    "030": apply_cvs,
    "040": apply_slip,
    "070": apply_virtual_account,
    "020": authorize,
    "021": _follow_up(commands.void),
    "022": _follow_up(commands.capture),
    "023": _follow_up(commands.refund),
    "025": register_card,
    "026": delete_card,
    "027": list_cards,
    "028": _correction(capture=False),
    "029": _correction(capture=True),
    "091": difference_inquiry,
    "094": inquire,
    "116": update_card,
    **carrier_face.CARRIER_HANDLERS,
    **threeds_face.THREEDS_HANDLERS,
}
