"""A process that dies (SIGKILL) between an operation's write-ahead commit and its acquirer call.

Run as ``python -m tests.support.dying_core OPERATION MERCHANT_ID MODE REF`` with the gateway's
``KESSAI_*`` environment (home, database, acquirer URL). It builds the core as the server does, with
one fault hook: the acquirer the core is handed kills the process as soon as any of its methods is
called, so transaction 1 (the `sending` row) is committed and nothing reaches the acquirer.
OPERATION is ``authorize`` (REF: the trading_id), ``capture``/``void``/``refund`` (REF: the
payment_id), or ``approve`` (REF: a carrier payment_id the buyer approves; the carrier is the one
that dies). Exit status -9 means the hook fired; anything else is a broken test.

``serve PORT`` serves the gateway's app with the same hook, so a telegram sent to it dies inside
the server, on the path the server runs it.

``close`` (REF: ``POINT@YYYY-MM-DD``) runs ``kessai settle close MERCHANT_ID --through DATE --json``
in this process, as an operator would, and dies inside the close's transaction at POINT, watched
through SQLAlchemy's engine events (no hook in the close itself): ``claimed`` just after the UPDATE
that stamps the open entries with the new statement, ``lines`` just before the statement's lines
are inserted (its fee and closing entries written), ``commit`` as COMMIT is about to be sent.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import event
from sqlalchemy.engine import Engine

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


def _die(*_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("SIGKILL did not kill")


def close_and_die(merchant_id: str, ref: str) -> None:
    """`kessai settle close` killed at the point REF names (see the module docstring)."""
    from kessai.cli.main import main as kessai

    point, _, through = ref.partition("@")
    claimed: list[bool] = []

    def after(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE ledger_entries SET statement_id"):
            claimed.append(True)
            if point == "claimed":
                _die()

    def before(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if point == "lines" and statement.startswith("INSERT INTO statement_lines"):
            _die()

    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Engine, "before_cursor_execute", before)
    if point == "commit":  # the close's own COMMIT, not an earlier transaction's
        event.listen(Engine, "commit", lambda *_: _die() if claimed else None)
    kessai(["settle", "close", merchant_id, "--through", through, "--json"], standalone_mode=False)


def serve_and_die(port: str) -> None:
    """The gateway's app under uvicorn on 127.0.0.1:PORT, its acquirer and carrier the kill hook:
    a telegram dies on whichever path the server runs it (on PostgreSQL, the card operations on
    the event loop, `kessai.db.loop`)."""
    import uvicorn

    from kessai.app import create_app

    runtime = build_runtime(Settings())
    runtime.core = replace(
        runtime.core,
        acquirer_for=lambda _merchant: DiesWhenCalled(),
        carrier_for=lambda _merchant: DiesWhenCalled(),
    )
    uvicorn.run(create_app(runtime), host="127.0.0.1", port=int(port), log_level="warning")


def main(operation: str, merchant_id: str, mode: str, ref: str) -> None:
    if operation == "serve":
        serve_and_die(merchant_id)
        sys.exit("the fault hook never fired")
    if operation == "close":
        close_and_die(merchant_id, ref)
        sys.exit("the fault hook never fired")
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
    main(*sys.argv[1:], *[""] * (5 - len(sys.argv)))
