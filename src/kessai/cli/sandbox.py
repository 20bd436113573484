"""`kessai sandbox …`: PAYGENT's status-simulation tool (§4) for sandbox merchants."""

from __future__ import annotations

import json
from datetime import datetime

import click

from kessai.cli.main import _fail, _guard, _settings
from kessai.core.context import Core, MerchantRef


@click.group()
def sandbox() -> None:
    """Move sandbox payments as the institutions would (never for production merchants)."""


@sandbox.command()
@click.argument("payment_id", type=int)
@click.option(
    "--at",
    "paid_at",
    help="When the buyer paid (ISO 8601, e.g. 2026-12-01T10:00+09:00); default: now.",
)
@click.option("--bank-code", default="9900", show_default=True, help="ATM: the bank paid at.")
@click.option(
    "--chain", help="CVS: the chain paid at (00C001 7-Eleven …); default: the issuing one."
)
@_guard
def pay(payment_id: int, paid_at: str | None, bank_code: str, chain: str | None) -> None:
    """The buyer pays: ATM 10 → 40; CVS 10 → 40 (7-Eleven, FamilyMart: 10 → 43 first)."""
    from kessai.core.payments import atm, cvs

    core, merchant, payment_type = _sandbox_payment(payment_id)
    moment = _moment(paid_at)
    if payment_type == atm.PAYMENT_TYPE:
        view = atm.pay(core, merchant, payment_id, paid_at=moment, bank_code=bank_code)
    elif payment_type == cvs.PAYMENT_TYPE:
        view = cvs.pay(core, merchant, payment_id, paid_at=moment, company_id=chain)
    else:
        _fail(f"payment {payment_id} is not paid at a till or ATM (payment_type {payment_type})")
        return
    click.echo(json.dumps({"payment_id": view.payment_id, "payment_status": view.status}))


@sandbox.command()
@click.argument("payment_id", type=int)
@click.option(
    "--to",
    "status",
    type=click.Choice(["40", "61"]),
    required=True,
    help="CVS preliminary report (43): confirmed (40) or withdrawn (61).",
)
@_guard
def move(payment_id: int, status: str) -> None:
    """Move a CVS payment reported by the chain (43) to 40 or 61, as the chain would."""
    from kessai.core.payments import cvs

    core, merchant, payment_type = _sandbox_payment(payment_id)
    if payment_type != cvs.PAYMENT_TYPE:
        _fail(f"payment {payment_id} is not a CVS payment")
    view = cvs.settle_report(core, merchant, payment_id, confirmed=status == "40")
    click.echo(json.dumps({"payment_id": view.payment_id, "payment_status": view.status}))


def _sandbox_payment(payment_id: int) -> tuple[Core, MerchantRef, str]:
    """The core, the payment's merchant and its method; refused for production merchants."""
    from kessai.app import build_runtime
    from kessai.core.merchants.models import Merchant
    from kessai.core.payments.models import Payment

    runtime = build_runtime(_settings())
    with runtime.core.sessions() as session:
        payment = session.get(Payment, payment_id)
        merchant = session.get(Merchant, payment.merchant_id) if payment else None
    if payment is None or merchant is None:
        _fail(f"payment {payment_id} does not exist")
        raise AssertionError  # unreachable: _fail exits
    if merchant.mode != "sandbox":
        _fail(f"merchant {merchant.id} is in production mode: sandbox controls are refused")
    return runtime.core, MerchantRef(id=merchant.id, mode=merchant.mode), payment.payment_type


def _moment(paid_at: str | None) -> datetime | None:
    moment = datetime.fromisoformat(paid_at) if paid_at else None
    if moment is not None and moment.tzinfo is None:
        _fail("--at needs a time zone, e.g. 2026-12-01T10:00+09:00")
    return moment
