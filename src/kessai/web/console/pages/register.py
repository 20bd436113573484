"""Manual registration (手動登録): a card payment typed in by staff (telephone and mail orders) and
a CVS payment whose number staff pass on to the buyer.

The card number goes straight into the core's `CardNumber` (which masks itself) and from there into
the vault; the security code is used for the authorisation and never stored. Neither reaches the
audit log or any log line: the audit entry names the new payment only.
"""

from __future__ import annotations

from starlette.responses import Response

from kessai.connectors.base import CardData
from kessai.core.merchants.commands import get_merchant
from kessai.core.payments.card import commands
from kessai.core.payments.card.commands import AuthorizeRequest
from kessai.core.payments.cvs import commands as cvs
from kessai.core.payments.cvs.commands import CHAINS, CvsRequest
from kessai.kit.errors import InvalidRequest
from kessai.kit.secrets import CardNumber, SecurityCode
from kessai.web.console import forms
from kessai.web.console.context import Ctx

TRADING_ID_MAX = 25


def show(ctx: Ctx) -> Response:
    return ctx.render("register.html", methods=_methods(ctx), chains=CHAINS, error="")


def _methods(ctx: Ctx) -> list[str]:
    with ctx.core.sessions() as session:
        return get_merchant(session, ctx.merchant.id).methods()


def _trading_id(ctx: Ctx) -> str:
    value = ctx.field("trading_id")
    if len(value) > TRADING_ID_MAX or not value.isascii() or not value.isprintable():
        raise InvalidRequest(message="取引IDは25文字以内の半角英数字記号で入力してください。")
    return value


def card(ctx: Ctx) -> Response:
    if "02" not in _methods(ctx):
        raise InvalidRequest("P007")
    number = CardNumber(ctx.field("card_number").replace(" ", "").replace("-", ""))
    digits = number.reveal()
    # The check digit catches a digit misheard on the phone; sandbox merchants use PAYGENT's test
    # numbers, some of which (4900000000000000) do not pass it, as the sandbox allows.
    well_formed = digits.isascii() and digits.isdigit() and 13 <= len(digits) <= 19
    if not (well_formed and (ctx.merchant.mode == "sandbox" or number.luhn_ok())):
        raise InvalidRequest(message="カード番号を確認してください。")
    month, year = ctx.field("valid_month"), ctx.field("valid_year")
    if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) == 2):
        raise InvalidRequest(message="有効期限（月・年）を確認してください。")
    code = ctx.field("security_code")
    if code and not (code.isdigit() and len(code) in (3, 4)):
        raise InvalidRequest(message="セキュリティコードは3桁または4桁の数字です。")
    capture = ctx.field("capture") == "1"
    result = commands.authorize(
        ctx.core,
        ctx.merchant,
        AuthorizeRequest(
            trading_id=_trading_id(ctx),
            amount=forms.amount(ctx.field("amount"), "決済金額"),
            capture=capture,
            card=CardData(number, f"{int(month):02d}{year}", SecurityCode(code) if code else None),
        ),
    )
    payment = result.payment
    ctx.note.target = f"payment:{payment.payment_id}" if payment else ""
    ctx.note.detail = f"card capture={int(capture)} code={result.response_code or '0'}"
    if not result.ok:
        ctx.note.result = "failed"
    return ctx.render("registered.html", kind="card", result=result, payment=payment)


def convenience_store(ctx: Ctx) -> Response:
    if "03" not in _methods(ctx):
        raise InvalidRequest("P007")
    chain = ctx.field("cvs_company_id")
    limit = ctx.field("limit_days") or str(cvs.DEFAULT_LIMIT_DAYS)
    if not limit.isdigit():
        raise InvalidRequest(message="支払期限（日数）を数字で入力してください。")
    tel = ctx.field("customer_tel").replace("-", "")
    if not (tel.isdigit() and 10 <= len(tel) <= 11):
        raise InvalidRequest(message="電話番号を10桁または11桁の数字で入力してください。")
    view = cvs.apply(
        ctx.core,
        ctx.merchant,
        CvsRequest(
            trading_id=_trading_id(ctx),
            amount=forms.amount(ctx.field("amount"), "決済金額"),
            cvs_type="",
            cvs_company_id=chain,
            customer_family_name=ctx.field("customer_family_name")[:20],
            customer_name=ctx.field("customer_name")[:20],
            customer_tel=tel,
            limit_days=int(limit),
            sales_type=ctx.field("sales_type") or ("1" if chain == cvs.SEVEN_ELEVEN else ""),
        ),
    )
    ctx.note.target = f"payment:{view.payment_id}"
    ctx.note.detail = f"cvs chain={chain}"
    token = cvs.receipt_token(ctx.core.secret, view.payment_id)
    return ctx.render(
        "registered.html",
        kind="cvs",
        payment=view,
        chain=CHAINS.get(view.detail("cvs_company_id"), ""),
        receipt_path=f"/cvs/receipt/{view.payment_id}/{token}",
    )
