"""`kessai fees …`: what Kessai charges each merchant (docs/operator/money.md)."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from kessai.cli.common import guard, load_settings

if TYPE_CHECKING:
    from kessai.core.context import Core


def _core() -> Core:
    from kessai.app import build_runtime

    return build_runtime(load_settings()).core


def _today(core: Core) -> date:
    from kessai.core.ledger.postings import business_date

    return business_date(core.clock.now())


def _yen(value: int | None, name: str) -> int | None:
    if value is not None and value < 0:
        raise click.BadParameter("yen, 0 or more", param_hint=name)
    return value


@click.group()
def fees() -> None:
    """Fees per merchant: per method (and card brand), bank transfer, monthly."""


@fees.command("set")
@click.argument("merchant_id", type=int)
@click.option("--method", "method", help="Payment type code (01 ATM … 07 virtual account).")
@click.option("--rate", help="Percent of each sale, in 0.01 % steps (3.25).")
@click.option("--fixed", type=int, help="Yen per sale.")
@click.option(
    "--brand", default="", help="Card brand (VISA, MASTER, JCB, AMEX, DINERS…), card only."
)
@click.option("--transfer-fee", type=int, help="Yen per payout (振込手数料).")
@click.option("--monthly-fee", type=int, help="Yen per month (月額固定費).")
@click.option(
    "--from",
    "effective_from",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Effective from (JST date; default today).",
)
@click.option("--json", "as_json", is_flag=True)
@guard
def set_fees(
    merchant_id: int,
    method: str | None,
    rate: str | None,
    fixed: int | None,
    brand: str,
    transfer_fee: int | None,
    monthly_fee: int | None,
    effective_from: Any,
    as_json: bool,
) -> None:
    """Set MERCHANT_ID's fees from a date on (closed statements keep theirs)."""
    from kessai.core.statements import fees as fee_terms

    if method is None and transfer_fee is None and monthly_fee is None:
        raise click.UsageError(
            "give --method (with --rate/--fixed) or --transfer-fee/--monthly-fee"
        )
    if method is None and (rate is not None or fixed is not None or brand):
        raise click.UsageError("--rate, --fixed and --brand need --method")
    core = _core()
    now = core.clock.now()
    on = effective_from.date() if effective_from else _today(core)
    out: dict[str, Any] = {"merchant_id": merchant_id, "from": on.isoformat()}
    with core.sessions.begin() as session:
        if method is not None:
            rate_bp = fee_terms.parse_rate(rate) if rate is not None else None
            fee = fee_terms.set_fee(
                session,
                merchant_id,
                method,
                rate_bp=rate_bp,
                fixed=_yen(fixed, "--fixed"),
                effective_from=on,
                now=now,
                brand=brand,
            )
            out |= {
                "method": method,
                "brand": brand.upper(),
                "rate": fee.percent,
                "fixed": fee.fixed,
            }
        if transfer_fee is not None or monthly_fee is not None:
            payout = fee_terms.set_payout_fees(
                session,
                merchant_id,
                transfer_fee=_yen(transfer_fee, "--transfer-fee"),
                monthly_fee=_yen(monthly_fee, "--monthly-fee"),
                effective_from=on,
                now=now,
            )
            out |= {"transfer_fee": payout.transfer_fee, "monthly_fee": payout.monthly_fee}
    click.echo(json.dumps(out, ensure_ascii=False) if as_json else _line(out))


def _line(out: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in out.items())


@fees.command("show")
@click.argument("merchant_id", type=int)
@click.option(
    "--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="As of this date (default today)."
)
@click.option("--json", "as_json", is_flag=True)
@guard
def show_fees(merchant_id: int, on: Any, as_json: bool) -> None:
    """MERCHANT_ID's fees in effect on a date, and every change recorded."""
    from kessai.core.merchants.commands import get_merchant
    from kessai.core.statements.fees import FeeBook

    core = _core()
    day = on.date() if on else _today(core)
    with core.sessions() as session:
        get_merchant(session, merchant_id)
        book = FeeBook.load(session, merchant_id)
    in_effect: dict[tuple[str, str], dict[str, Any]] = {}
    for s in book.schedules:
        fee = book.fee(s.payment_type, s.brand, day)
        if s.effective_from <= day:
            in_effect[(s.payment_type, s.brand)] = {
                "method": s.payment_type,
                "brand": s.brand,
                "rate": fee.percent,
                "fixed": fee.fixed,
            }
    payout = book.payout_fees(day)
    methods = [in_effect[k] for k in sorted(in_effect)]
    out = {
        "merchant_id": merchant_id,
        "on": day.isoformat(),
        "methods": methods,
        "transfer_fee": payout.transfer_fee,
        "monthly_fee": payout.monthly_fee,
        "history": [
            {
                "method": s.payment_type,
                "brand": s.brand,
                "rate_bp": s.rate_bp,
                "fixed": s.fixed,
                "from": s.effective_from.isoformat(),
            }
            for s in book.schedules
        ]
        + [
            {
                "transfer_fee": t.transfer_fee,
                "monthly_fee": t.monthly_fee,
                "from": t.effective_from.isoformat(),
            }
            for t in book.terms
        ],
    }
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    for m in methods:
        brand = f" {m['brand']}" if m["brand"] else ""
        click.echo(f"{m['method']}{brand}: {m['rate']} % + {m['fixed']} yen per sale")
    click.echo(
        f"transfer fee: {payout.transfer_fee} yen per payout; monthly: {payout.monthly_fee} yen"
    )
