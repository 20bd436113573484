"""`kessai sandbox …`: PAYGENT's status-simulation tool (§4) and the test clock, for sandbox
merchants only (production merchants are refused). The moves themselves are
`kessai.core.payments.testtool`'s, shared with the sandbox HTTP API."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kessai.cli.common import fail, guard, load_settings
from kessai.cli.vaccount import transfer_dict
from kessai.connectors.sandbox.settlement import PLANTS
from kessai.core.context import Core, MerchantRef
from kessai.core.institution_reports.institutions import INSTITUTIONS
from kessai.core.payments.views import PaymentView

if TYPE_CHECKING:
    from kessai.core.payments.testtool import MoveInput, TestClockView


@click.group()
def sandbox() -> None:
    """Move sandbox payments as the institutions would, and advance a merchant's test clock."""


_AT = click.option(
    "--at",
    "paid_at",
    help="When the buyer paid (ISO 8601 with a zone, e.g. 2026-12-01T10:00+09:00); default: now.",
)


@sandbox.command()
@click.argument("payment_id", type=int)
@_AT
@click.option(
    "--amount", type=int, help="Virtual account: the amount transferred (default: the claim)."
)
@click.option(
    "--bank-code",
    default="",
    help="ATM: the bank paid at (default 9900); bank net: the payment's bank (checked).",
)
@click.option(
    "--chain",
    default="",
    help="CVS, slip: the chain paid at (00C001 7-Eleven …); default: the issuing one (slip: "
    "7-Eleven).",
)
@guard
def pay(
    payment_id: int, paid_at: str | None, amount: int | None, bank_code: str, chain: str
) -> None:
    """The buyer pays: ATM 10 → 40; CVS 10 → 40 (7-Eleven, FamilyMart: 10 → 43 first); payment
    slip 10 → 43; bank net 10 → 40 (15 → 40 late); virtual account: a transfer of --amount …"""
    from kessai.core.payments import testtool

    core, merchant = _sandbox_payment(payment_id)
    view = testtool.pay(core, merchant, payment_id, _input(paid_at, amount, bank_code, chain))
    _echo(view)


@sandbox.command()
@click.argument("payment_id", type=int)
@click.option(
    "--to", "status", required=True, help="The status to move to (e.g. 40, 43, 61, 12, 15)."
)
@_AT
@click.option("--amount", type=int, help="Virtual account: the amount transferred.")
@click.option("--bank-code", default="", help="ATM / bank net: the bank paid at.")
@click.option("--chain", default="", help="CVS: the chain paid at.")
@guard
def move(
    payment_id: int,
    status: str,
    paid_at: str | None,
    amount: int | None,
    bank_code: str,
    chain: str,
) -> None:
    """Any move of the status-simulation tool for the payment's method (an unknown one lists
    the moves the method allows)."""
    from kessai.core.payments import testtool

    core, merchant = _sandbox_payment(payment_id)
    inp = _input(paid_at, amount, bank_code, chain)
    _echo(testtool.move(core, merchant, payment_id, status, inp))


@sandbox.command()
@click.argument("merchant_id", type=int)
@click.option(
    "--account",
    default="",
    help="BANK-BRANCH-NUMBER (e.g. 0033-801-1234567); default: a free account of the pool.",
)
@click.option("--amount", type=int, required=True, help="Yen transferred.")
@click.option("--payer", default="", help="振込依頼人名 in half-width kana.")
@_AT
@guard
def transfer(merchant_id: int, account: str, amount: int, payer: str, paid_at: str | None) -> None:
    """A transfer to a virtual account, whatever is claimed on it (the tool's "unmatched
    transfer"): with no open claim the merchant gets a payment of its own (40, clear_detail 05)."""
    from kessai.core.payments import testtool
    from kessai.core.payments.vaccount.pool import AccountKey

    key = AccountKey.parse(account) if account else None
    inp = _input(paid_at, amount, "", "")
    inp = replace(inp, payer_name=payer)
    view = testtool.transfer(_core(), merchant_id, key, amount, inp)
    click.echo(json.dumps(transfer_dict(view), ensure_ascii=False))


@sandbox.command("slip-payment")
@click.argument("merchant_id", type=int)
@click.option("--amount", type=int, required=True, help="The amount paid at the till (yen).")
@click.option(
    "--chain", default="", help="The chain paid at (00C001 7-Eleven …); default 7-Eleven."
)
@_AT
@click.option(
    "--free-field",
    default="",
    help="The barcode's free-use field (≤ 21 digits); default: a number the agency issues.",
)
@guard
def slip_payment(
    merchant_id: int, amount: int, chain: str, paid_at: str | None, free_field: str
) -> None:
    """A payment slip paid without any application (the tool's "generate a slip payment"): the
    merchant sees a new payment directly in 43 (速報), to be moved to 40 or 61 like any slip."""
    from kessai.core.payments import testtool

    moment = _input(paid_at, None, "", chain).paid_at
    view = testtool.slip_payment(
        _core(),
        merchant_id,
        amount=amount,
        company_id=chain,
        paid_at=moment,
        free_field=free_field,
    )
    _echo(view)


@sandbox.command("settlement-report")
@click.option(
    "--institution",
    required=True,
    type=click.Choice(list(INSTITUTIONS)),
    help="The sandbox institution whose report to write.",
)
@click.option(
    "--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The sales day (JST)."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the report (refused if it exists).",
)
@click.option(
    "--plant",
    multiple=True,
    type=click.Choice(PLANTS),
    help="Plant a break (repeatable): missing (a sale left out), unknown (a payment Kessai does "
    "not have), amount (a sale paid 100 yen short), twice (a sale paid twice).",
)
@guard
def settlement_report(institution: str, day: datetime, out: Path, plant: tuple[str, ...]) -> None:
    """Write the settlement report a sandbox institution sends for a day's sales: every sale and
    refund of its methods booked that day (all merchants), optionally with planted breaks."""
    from kessai.connectors.sandbox import settlement
    from kessai.core.institution_reports.owed import owed_report, unknown_payment_id

    if out.exists():
        raise click.UsageError(f"{out} exists; a report is never overwritten")
    with _core().sessions() as session:
        report = owed_report(session, institution, day.date())
        unknown = unknown_payment_id(session)
    report = settlement.plant(report, plant, unknown_payment_id=unknown)
    out.write_bytes(settlement.write(report))
    shown = {
        "file": str(out),
        "institution": institution,
        "date": day.date().isoformat(),
        "lines": len(report.lines),
        "total": settlement.net_total(report.lines),
        "planted": sorted(set(plant)),
    }
    click.echo(json.dumps(shown, ensure_ascii=False))


@sandbox.group()
def clock() -> None:
    """A sandbox merchant's test clock (it only moves forward)."""


@clock.command("show")
@click.argument("merchant_id", type=int)
@guard
def clock_show(merchant_id: int) -> None:
    """The merchant's time and its lead over real time."""
    from kessai.core.payments import testtool

    _echo_clock(testtool.clock(_core(), merchant_id))


@clock.command("advance")
@click.argument("merchant_id", type=int)
@click.option("--days", type=int, default=0)
@click.option("--hours", type=int, default=0)
@guard
def clock_advance(merchant_id: int, days: int, hours: int) -> None:
    """Move the test clock forward; unpaid payments whose deadline it passes expire at once."""
    from kessai.core.payments import testtool

    if days < 0 or hours < 0 or days == hours == 0:
        fail("give --days N and/or --hours N (positive): the test clock only moves forward")
    view = testtool.advance_clock(_core(), merchant_id, timedelta(days=days, hours=hours))
    _echo_clock(view)


def _core() -> Core:
    from kessai.app import build_runtime

    return build_runtime(load_settings()).core


def _sandbox_payment(payment_id: int) -> tuple[Core, MerchantRef]:
    """The core and the payment's merchant (testtool refuses production merchants)."""
    from kessai.core.merchants.models import Merchant
    from kessai.core.payments.models import Payment

    core = _core()
    with core.sessions() as session:
        payment = session.get(Payment, payment_id)
        merchant = session.get(Merchant, payment.merchant_id) if payment else None
        if payment is None or merchant is None:
            fail(f"payment {payment_id} does not exist")
            raise AssertionError  # unreachable: _fail exits
        return core, MerchantRef.of(merchant)


def _input(paid_at: str | None, amount: int | None, bank_code: str, chain: str) -> MoveInput:
    from kessai.core.payments.testtool import MoveInput

    moment = datetime.fromisoformat(paid_at) if paid_at else None
    if moment is not None and moment.tzinfo is None:
        fail("--at needs a time zone, e.g. 2026-12-01T10:00+09:00")
    return MoveInput(paid_at=moment, amount=amount, bank_code=bank_code, company_id=chain)


def _echo(view: PaymentView) -> None:
    click.echo(json.dumps({"payment_id": view.payment_id, "payment_status": view.status}))


def _echo_clock(view: TestClockView) -> None:
    from kessai.core.ledger.postings import business_date

    data = {
        "merchant_id": view.merchant_id,
        "now": view.now.isoformat(),
        "today": business_date(view.now).isoformat(),  # the merchant's day in Japan
        "offset_seconds": view.offset_seconds,
        "expired": view.expired,
    }
    click.echo(json.dumps(data))
