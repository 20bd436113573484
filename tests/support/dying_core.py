"""A process that dies (SIGKILL) between an operation's write-ahead commit and its acquirer call.

Run as ``python -m tests.support.dying_core OPERATION MERCHANT_ID MODE REF`` with the gateway's
``KESSAI_*`` environment (home, database, acquirer URL). It builds the core as the server does, with
one fault hook: the acquirer the core is handed kills the process as soon as any of its methods is
called, so transaction 1 (the `sending` row) is committed and nothing reaches the acquirer.
OPERATION is ``authorize`` (REF: the trading_id), ``capture``/``void``/``refund`` (REF: the
payment_id), or ``approve`` (REF: a carrier payment_id the buyer approves; the carrier is the one
that dies). Exit status -9 means the hook fired; anything else is a broken test.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from dataclasses import replace

from kessai.app import build_runtime
from kessai.config import Settings
from kessai.connectors.base import CardData, CarrierConsent
from kessai.core.context import MerchantRef
from kessai.core.payments.card import commands
from kessai.core.payments.card.commands import AuthorizeRequest
from kessai.core.payments.card.states import CardOperation
from kessai.core.payments.carrier import commands as carrier
from kessai.core.payments.refs import PaymentRef
from kessai.kit.secrets import CardNumber

CARD = "4900000000000000"
AMOUNT = 4321


class DiesWhenCalled:
    """An acquirer whose every call is a kill -9 of this process."""

    name = "dies"

    def __getattr__(self, method: str) -> Callable[..., object]:
        def die(**_: object) -> object:
            os.kill(os.getpid(), signal.SIGKILL)
            raise AssertionError("SIGKILL did not kill")

        return die


def main(operation: str, merchant_id: str, mode: str, ref: str) -> None:
    runtime = build_runtime(Settings())
    core = replace(
        runtime.core,
        acquirer_for=lambda _merchant: DiesWhenCalled(),
        carrier_for=lambda _merchant: DiesWhenCalled(),
    )
    merchant = MerchantRef(id=int(merchant_id), mode=mode)
    if operation == "approve":
        token = carrier.consent_token(core.secret, int(ref))
        carrier.approve(core, int(ref), token, CarrierConsent(login_id="buyer"))
    elif operation == "authorize":
        card = CardData(CardNumber(CARD), "1230")
        commands.authorize(
            core, merchant, AuthorizeRequest(trading_id=ref, amount=AMOUNT, card=card)
        )
    else:
        commands.follow_up(core, merchant, PaymentRef(payment_id=ref), CardOperation(operation))
    sys.exit("the fault hook never fired")


if __name__ == "__main__":
    main(*sys.argv[1:])
