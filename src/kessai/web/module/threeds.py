"""Telegram 450, EMV 3-D Secure 2 (EMV 3Dセキュア認証, §1.5 450): typed request in, one core
command, the reply with `out_acs_html` last. 450 is a UTF-8 telegram (the endpoint decodes and
answers it in UTF-8). The buyer's pages `out_acs_html` leads to are `kessai.web.buyer.threeds`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from html import escape
from typing import TYPE_CHECKING

from kessai.connectors.base import CardData
from kessai.core.context import Core
from kessai.core.threeds import commands as threeds
from kessai.kit.errors import InvalidRequest
from kessai.kit.secrets import CardNumber
from kessai.web.module.encode import success_fields
from kessai.web.module.specs import RESPONSE_FIELDS

if TYPE_CHECKING:
    from kessai.web.module.telegram import Reply, Telegram

_AMOUNT = re.compile(r"([0-9]{1,7})(?:\.([0-9]+))?")
_YEN = {"", "JPY", "392"}  # ISO 4217 letters or number


def authenticate(core: Core, t: Telegram) -> Reply:
    """450: start the authentication; the buyer's browser is to show `out_acs_html`."""
    f = t.fields
    started = threeds.begin(
        core,
        t.merchant,
        threeds.BeginRequest(
            term_url=f["term_url"],
            merchant_name=f["merchant_name"],
            amount=_amount(f["payment_amount"]),
            card=_card(t),
            cardholder_name=f.get("cardholder_name", ""),
            currency_code=_currency(f.get("currency_code", "")),
            site_id=f.get("site_id", ""),
        ),
    )
    values = {
        **started.card_fields,
        "3ds_auth_id": started.auth_id,
        "out_acs_html": acs_html(t.base_url + started.acs_path),
    }
    return success_fields(RESPONSE_FIELDS["450"], values)


def acs_html(url: str) -> str:
    """A whole small page that sends the browser to the ACS: a meta refresh, and a link and a
    button for browsers that do not follow it. No JavaScript. Upper-case HTML tags: some clients
    find the page by matching ``<!DOCTYPE … </HTML>``."""
    link = escape(url)
    return "\r\n".join(
        (
            "<!DOCTYPE html>",
            '<HTML lang="ja"><HEAD><meta charset="utf-8">',
            f'<meta http-equiv="refresh" content="0;url={link}">',
            "<title>3-D Secure</title></HEAD><BODY>",
            "<p>カード発行会社の本人認証ページへ移動します。<br>"
            "Continuing to your card issuer's authentication page.</p>",
            f'<p><a href="{link}">本人認証へ進む / Continue</a></p>',
            f'<form action="{link}" method="get"><input type="submit" value="進む / Go"></form>',
            "</BODY></HTML>",
        )
    )


def _card(t: Telegram) -> CardData | threeds.StoredCardRef:
    """The card by `card_set_method` (direct / customer), inferred from the fields when empty."""
    f = t.fields
    method = f.get("card_set_method") or _inferred_method(f)
    match method:
        case "token":
            raise InvalidRequest(
                "P010",
                field="card_token",
                message='"card_token"パラメータ: カードトークンは未対応です'
                " (card tokens are not supported yet)",
            )
        case "google":
            raise InvalidRequest(
                "P010",
                field="card_set_method",
                message='"card_set_method"パラメータ: Google Payは未対応です'
                " (Google Pay is not supported)",
            )
        case "customer":
            _require(t, "customer_id", "customer_card_id")
            return threeds.StoredCardRef(f["customer_id"], int(f["customer_card_id"]))
    _require(t, "card_number", "card_valid_term")
    term = f["card_valid_term"]
    if not 1 <= int(term[:2]) <= 12:
        raise InvalidRequest("P010", field="card_valid_term")
    return CardData(CardNumber(f["card_number"]), term)


def _inferred_method(f: Mapping[str, str]) -> str:
    if f.get("customer_id"):
        return "customer"
    return "token" if f.get("card_token") else "direct"


def _require(t: Telegram, *names: str) -> None:
    for name in names:
        if not t.fields.get(name):
            raise InvalidRequest("P005" if name not in t.raw else "P006", field=name)


def _amount(value: str) -> int:
    """Whole yen; 450 allows decimals, so `1000.00` is 1000 and `1000.50` is refused."""
    found = _AMOUNT.fullmatch(value)
    if found is None:
        raise InvalidRequest("P008", field="payment_amount")
    if (found.group(2) or "0").strip("0"):
        raise InvalidRequest("P010", field="payment_amount")
    amount = int(found.group(1))
    if amount <= 0:
        raise InvalidRequest("P014", field="payment_amount")
    return amount


def _currency(code: str) -> str:
    if code.upper() not in _YEN:
        raise InvalidRequest("P010", field="currency_code")
    return "JPY"


THREEDS_HANDLERS: dict[str, Callable[[Core, Telegram], Reply]] = {"450": authenticate}
