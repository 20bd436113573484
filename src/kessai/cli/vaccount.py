"""`kessai va …`: the operator's side of virtual accounts (仮想口座) — merchants' account pools,
their contract terms, every transfer received, and clearing a closed claim by hand."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from kessai.cli.common import guard, load_settings

if TYPE_CHECKING:
    from kessai.core.context import Core, MerchantRef
    from kessai.core.payments.vaccount.transfers import TransferView


def _core() -> Core:
    from kessai.app import build_runtime

    return build_runtime(load_settings()).core


def _merchant(core: Core, merchant_id: int) -> MerchantRef:
    from kessai.core.context import MerchantRef
    from kessai.core.merchants.commands import get_merchant

    with core.sessions() as session:
        return MerchantRef.of(get_merchant(session, merchant_id))


def transfer_dict(view: TransferView) -> dict[str, Any]:
    data = asdict(view)
    return data | {
        "transferred_at": view.transferred_at.isoformat(),
        "received_at": view.received_at.isoformat(),
    }


@click.group()
def va() -> None:
    """Virtual accounts: pools, terms, transfers received, manual clearing."""


@va.group("pool")
def pool_group() -> None:
    """A merchant's pool of account numbers at the receiving bank."""


@pool_group.command("add")
@click.argument("merchant_id", type=int)
@click.option("--count", type=int, required=True, help="How many accounts to open.")
@click.option("--json", "as_json", is_flag=True)
@guard
def pool_add(merchant_id: int, count: int, as_json: bool) -> None:
    """Open COUNT accounts at the merchant's bank and add them to its pool (a production
    merchant's 070 answers 8001 while its pool has no free account; while only the simulated bank
    exists, production merchants have none: P007)."""
    from kessai.core.payments.vaccount import pool

    core = _core()
    added = pool.add_accounts(core, _merchant(core, merchant_id), count)
    if as_json:
        click.echo(json.dumps([asdict(a) for a in added], ensure_ascii=False))
        return
    click.echo(f"added {len(added)} account(s) to merchant {merchant_id}'s pool")


@pool_group.command("list")
@click.argument("merchant_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@guard
def pool_list(merchant_id: int, as_json: bool) -> None:
    """The merchant's accounts: free, held by a claim (its payment_id), fixed, closed."""
    from kessai.core.payments.vaccount import pool

    accounts = pool.list_accounts(_core(), merchant_id)
    if as_json:
        click.echo(json.dumps([asdict(a) for a in accounts], ensure_ascii=False))
        return
    for a in accounts:
        use = "closed" if a.closed else (f"payment {a.payment_id}" if a.payment_id else "free")
        kind = "fixed" if a.fixed else "rotating"
        click.echo(f"{a.key}  {a.bank_name} {a.branch_name}  {kind:8}  {use}")


@pool_group.command("close")
@click.argument("account")
@guard
def pool_close(account: str) -> None:
    """Take ACCOUNT (BANK-BRANCH-NUMBER) out of use; transfers to it are still recorded."""
    from kessai.core.payments.vaccount import pool

    view = pool.close_account(_core(), pool.AccountKey.parse(account))
    click.echo(f"closed {view.key} (merchant {view.merchant_id})")


@va.command("terms")
@click.argument("merchant_id", type=int)
@click.option(
    "--tolerance", type=int, help="Yen a transfer may fall short and still clear in full (02)."
)
@click.option(
    "--grace-days", type=int, help="Days after the deadline a late transfer still clears."
)
@guard
def terms(merchant_id: int, tolerance: int | None, grace_days: int | None) -> None:
    """Show, or change, the merchant's virtual-account terms."""
    from kessai.core.merchants.commands import get_merchant
    from kessai.core.payments.vaccount.terms import set_terms, terms_of

    core = _core()
    with core.sessions.begin() as session:
        get_merchant(session, merchant_id)
        if tolerance is None and grace_days is None:
            view = terms_of(session, merchant_id)
        else:
            view = set_terms(
                session,
                merchant_id,
                now=core.clock.now(),
                short_tolerance=tolerance,
                grace_days=grace_days,
            )
    click.echo(json.dumps(asdict(view)))


@va.command("transfers")
@click.option("--merchant", "merchant_id", type=int, help="Only this merchant's accounts.")
@click.option(
    "--outcome",
    type=click.Choice(["matched", "unclaimed", "closed_account", "unknown_account"]),
    help="matched: cleared a claim; unclaimed: no claim (a 05 payment); closed/unknown account.",
)
@click.option("--unassigned", is_flag=True, help="Only those no payment has (closed/unknown).")
@click.option("--json", "as_json", is_flag=True)
@guard
def transfers_(
    merchant_id: int | None, outcome: str | None, unassigned: bool, as_json: bool
) -> None:
    """Every transfer received, newest first."""
    from kessai.core.payments.vaccount import transfers

    views = transfers.list_transfers(
        _core(), merchant_id=merchant_id, outcome=outcome, unassigned=unassigned
    )
    if as_json:
        click.echo(json.dumps([transfer_dict(v) for v in views], ensure_ascii=False))
        return
    for v in views:
        click.echo(
            f"{v.id:>8}  {v.account}  {v.amount:>9} yen  {v.outcome:15} "
            f"payment {v.payment_id or '-'} {v.clear_detail}  {v.payer_name}"
        )


@va.command("clear")
@click.argument("payment_id", type=int)
@click.option("--amount", type=int, help="Yen received (default: the transfer's).")
@click.option("--transfer", "transfer_id", type=int, help="A recorded transfer no payment has.")
@guard
def clear(payment_id: int, amount: int | None, transfer_id: int | None) -> None:
    """Clear a closed claim (16 → 40) by hand: clear_detail 06 exact, 07 short, 08 over."""
    from kessai.core.payments.models import Payment
    from kessai.core.payments.vaccount import claims

    core = _core()
    with core.sessions() as session:
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise click.ClickException(f"payment {payment_id} does not exist")
        merchant_id = payment.merchant_id
    view = claims.clear_manually(
        core, _merchant(core, merchant_id), payment_id, amount, transfer_id=transfer_id
    )
    click.echo(
        json.dumps(
            {
                "payment_id": view.payment_id,
                "payment_status": view.status,
                "clear_detail": view.detail("clear_detail"),
            }
        )
    )
