"""`kessai sandbox …`: PAYGENT's status-simulation tool (§4) for sandbox merchants."""

from __future__ import annotations

import json
from datetime import datetime

import click

from kessai.cli.main import _fail, _guard, _settings


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
@click.option("--bank-code", default="9900", show_default=True, help="Bank the buyer paid at.")
@_guard
def pay(payment_id: int, paid_at: str | None, bank_code: str) -> None:
    """The buyer pays an ATM (Pay-easy) payment: 10 → 40, with its notice."""
    from kessai.app import build_runtime
    from kessai.core.context import MerchantRef
    from kessai.core.merchants.models import Merchant
    from kessai.core.payments import atm
    from kessai.core.payments.models import Payment

    runtime = build_runtime(_settings())
    with runtime.core.sessions() as session:
        payment = session.get(Payment, payment_id)
        merchant = session.get(Merchant, payment.merchant_id) if payment else None
    if payment is None or merchant is None:
        _fail(f"payment {payment_id} does not exist")
        return
    if merchant.mode != "sandbox":
        _fail(f"merchant {merchant.id} is in production mode: sandbox controls are refused")
    if payment.payment_type != atm.PAYMENT_TYPE:
        _fail(
            f"payment {payment_id} is not paid at a till or ATM (payment_type {payment.payment_type})"
        )
    moment = datetime.fromisoformat(paid_at) if paid_at else None
    if moment is not None and moment.tzinfo is None:
        _fail("--at needs a time zone, e.g. 2026-12-01T10:00+09:00")
    view = atm.pay(
        runtime.core,
        MerchantRef(id=merchant.id, mode=merchant.mode),
        payment_id,
        paid_at=moment,
        bank_code=bank_code,
    )
    click.echo(json.dumps({"payment_id": view.payment_id, "payment_status": view.status}))
