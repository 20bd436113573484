"""Names people read for payment methods, statuses and institutions (the console, its CSV).

Status codes are PAYGENT's and shared by the methods, but a few read differently per method; each
method's own table wins, then the card table's names. A method added later brings its
STATUS_NAMES here in one line.
"""

from __future__ import annotations

from collections.abc import Mapping

from kessai.core.payments.atm import states as atm
from kessai.core.payments.banknet import states as banknet
from kessai.core.payments.card import states as card
from kessai.core.payments.carrier import states as carrier
from kessai.core.payments.cvs import states as cvs
from kessai.core.payments.cvs.commands import CHAINS as CVS_CHAINS
from kessai.core.payments.slip import states as slip
from kessai.core.payments.vaccount import states as vaccount
from kessai.core.payments.views import PaymentView

# payment_type (決済種別CD), paygent-protocol.md §1.4.
METHOD_NAMES: dict[str, str] = {
    "01": "ATM決済",
    "02": "クレジットカード決済",
    "03": "コンビニ決済（番号方式）",
    "04": "コンビニ決済（払込票方式）",
    "05": "銀行ネット決済",
    "06": "携帯キャリア決済",
    "07": "仮想口座決済",
    "11": "電子マネー決済",
    "15": "後払い決済",
    "16": "口座振替",
    "17": "楽天ペイ",
    "19": "銀聯ネット決済",
    "20": "Alipay",
    "21": "Apple Pay",
    "22": "Paidy",
    "23": "Google Pay",
    "26": "PayPay",
}

_STATUS_BY_METHOD: dict[str, Mapping[str, str]] = {
    "01": {s.value: name for s, name in atm.STATUS_NAMES.items()},
    "02": {s.value: name for s, name in card.STATUS_NAMES.items()},
    "03": {s.value: name for s, name in cvs.STATUS_NAMES.items()},
    "04": {s.value: name for s, name in slip.STATUS_NAMES.items()},
    "05": {s.value: name for s, name in banknet.STATUS_NAMES.items()},
    "06": {s.value: name for s, name in carrier.STATUS_NAMES.items()},
    "07": {s.value: name for s, name in vaccount.STATUS_NAMES.items()},
}


def _all_statuses() -> dict[str, str]:
    merged: dict[str, str] = {}
    for payment_type in sorted(_STATUS_BY_METHOD, key=lambda t: t == "02"):  # card names last
        merged.update(_STATUS_BY_METHOD[payment_type])
    return dict(sorted(merged.items()))


# Every status any method has, for the search form's multi-select (code → name).
ALL_STATUSES: dict[str, str] = _all_statuses()


def method_name(payment_type: str) -> str:
    return METHOD_NAMES.get(payment_type, payment_type)


def status_name(payment_type: str, status: str) -> str:
    names = _STATUS_BY_METHOD.get(payment_type, {})
    return names.get(status) or ALL_STATUSES.get(status, status)


def institution_name(view: PaymentView) -> str:
    """支払機関名: the card's acquirer, the CVS chain, or the bank that reported an ATM payment."""
    if view.institution_name:
        return view.institution_name
    if view.payment_type in ("03", "04"):  # the chain paid at (a slip: once paid)
        code = view.detail("cvs_company_id")
        return CVS_CHAINS.get(code, code)
    if view.payment_type == "07":
        return view.detail("virtual_account_bank_name")
    if view.payment_type in ("01", "05"):
        return view.detail("bank_code")
    return ""
