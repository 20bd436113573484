"""The carrier billing telegrams (携帯キャリア決済, §1.5 100–105): typed request in, one core command,
reply fields out. The buyer's pages these telegrams point to are `kessai.web.buyer.carrier`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from typing import TYPE_CHECKING

from kessai.core.context import Core, MerchantRef
from kessai.core.payments.carrier import commands as carrier
from kessai.core.payments.carrier import openid as carrier_openid
from kessai.core.payments.carrier.states import CarrierTable
from kessai.core.payments.views import OperationResult, PaymentView
from kessai.kit.clock import jst_stamp
from kessai.kit.errors import InvalidRequest
from kessai.web.module.encode import error_fields, success_fields
from kessai.web.module.specs import RESPONSE_FIELDS

if TYPE_CHECKING:
    from kessai.core.payments.refs import PaymentRef
    from kessai.web.module.telegram import Reply, Telegram

PAY_PAGE = "/carrier/pay"  # + /{payment_id}/{token}
LOGIN_PAGE = "/carrier/auth"  # + /{grant_id}/{token}


def _amount(value: str) -> int:
    amount = int(value)
    if amount <= 0:
        raise InvalidRequest("P014", field="amount")
    return amount


def _reply(kind: str, result: OperationResult, values: Mapping[str, str]) -> Reply:
    names = RESPONSE_FIELDS[kind]
    if result.ok:
        return success_fields(names, values)
    reply = error_fields(result.response_code, result.response_detail)
    return reply + [(name, values.get(name, "")) for name in names]


def redirect_values(url: str, table: CarrierTable) -> dict[str, str]:
    """`redirect_url`, or for the carriers whose page is reached by a POST, `redirect_html`: a FORM
    named "form" (clients submit `document.form`), with a button for browsers without JavaScript."""
    if not table.redirect_html:
        return {"redirect_url": url}
    html = "\r\n".join(
        (
            f'<form action="{escape(url)}" method="post" name="form" accept-charset="Shift_JIS">',
            '<input type="hidden" name="step" value="entry">',
            f'<input type="submit" value="{table.name}へ進む">',
            "</form>",
        )
    )
    return {"redirect_html": html}


# ---------------------------------------------------------------- 100


def apply_carrier(core: Core, t: Telegram) -> Reply:
    f = t.fields
    view = carrier.apply(
        core,
        t.merchant,
        carrier.CarrierRequest(
            career_type=f["career_type"],
            amount=_amount(f["amount"]),
            return_url=f["return_url"],
            cancel_url=f["cancel_url"],
            trading_id=f["trading_id"],
            other_url=f.get("other_url", ""),
            site_id=f.get("site_id", ""),
            item_cd=f.get("item_cd", ""),
            pc_mobile_type=f.get("pc_mobile_type", ""),
            open_id=f.get("open_id", ""),
            outline=f.get("outline", ""),
            service_code=f.get("service_code", ""),
            sales_flg=f.get("sales_flg", ""),
        ),
    )
    token = carrier.consent_token(core.secret, view.payment_id)
    url = f"{t.base_url}{PAY_PAGE}/{view.payment_id}/{token}"
    values = {
        "payment_id": str(view.payment_id),
        "trading_id": view.trading_id,
        "trade_generation_date": jst_stamp(view.created_at),
        **redirect_values(url, carrier.table_for(view.detail("career_type"))),
    }
    return success_fields(RESPONSE_FIELDS["100"], values)


# ---------------------------------------------------------------- 101 / 102 / 103


def _ids(view: PaymentView | None) -> dict[str, str]:
    if view is None:
        return {}
    return {"payment_id": str(view.payment_id), "trading_id": view.trading_id}


def _follow_up(
    command: Callable[[Core, MerchantRef, PaymentRef], OperationResult],
) -> Callable[[Core, Telegram], Reply]:
    def handle(core: Core, t: Telegram) -> Reply:
        result = command(core, t.merchant, t.ref())
        return _reply(t.kind, result, _ids(result.payment))

    return handle


def correct_carrier(core: Core, t: Telegram) -> Reply:
    result = carrier.correct(core, t.merchant, t.ref(), _amount(t.fields["amount"]))
    values = _ids(result.payment)
    if result.base_payment is not None:
        values["base_payment_id"] = str(result.base_payment.payment_id)
    return _reply("103", result, values)


# ---------------------------------------------------------------- 104 / 105


def authenticate_user(core: Core, t: Telegram) -> Reply:
    f = t.fields
    view = carrier_openid.request_authentication(
        core,
        t.merchant,
        carrier_openid.AuthenticationRequest(
            career_type=f["career_type"],
            redirect_url=f["redirect_url"],
            cancel_url=f["cancel_url"],
            site_id=f.get("site_id", ""),
        ),
    )
    token = carrier_openid.login_token(core.secret, view.grant_id)
    url = f"{t.base_url}{LOGIN_PAGE}/{view.grant_id}/{token}"
    values = {"trading_id": f["trading_id"], **redirect_values(url, view.table)}
    return success_fields(RESPONSE_FIELDS["104"], values)


def release_open_id(core: Core, t: Telegram) -> Reply:
    f = t.fields
    career_type = f.get("career_type", "").lstrip("0")
    carrier_openid.release(core, t.merchant, f["open_id"], career_type)
    return success_fields(RESPONSE_FIELDS["105"], {"open_id": f["open_id"]})


# ---------------------------------------------------------------- 094


def carrier_values(view: PaymentView) -> dict[str, str]:
    """094's carrier record fields of a payment."""
    names = (
        "career_type",
        "pc_mobile_type",
        "career_payment_id",
        "item_cd",
        "service_code",
        "outline",
        "payment_class",
        "sales_flg",
    )
    return {name: view.detail(name) for name in names} | {
        "payment_id": str(view.payment_id),
        "trading_id": view.trading_id,
        "authorized_date": jst_stamp(view.authorized_at),
        "cancel_date": jst_stamp(view.cancelled_at),
    }


CARRIER_HANDLERS: dict[str, Callable[[Core, Telegram], Reply]] = {
    "100": apply_carrier,
    "101": _follow_up(carrier.capture),
    "102": _follow_up(carrier.cancel),
    "103": correct_carrier,
    "104": authenticate_user,
    "105": release_open_id,
}
