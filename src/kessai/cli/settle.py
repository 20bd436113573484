"""`kessai settle …`: closing payout statements (支払明細) and their detail CSV
(docs/operator/money.md)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from kessai.cli.common import guard, load_settings

if TYPE_CHECKING:
    from kessai.core.context import Core


def _core() -> Core:
    from kessai.app import build_runtime

    return build_runtime(load_settings()).core


@click.group()
def settle() -> None:
    """Payout statements: close, show, detail CSV."""


@settle.command("close")
@click.argument("merchant_id", type=int)
@click.option(
    "--through",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="Close every settled money event dated this day (JST) or earlier.",
)
@click.option("--json", "as_json", is_flag=True)
@guard
def close_statement(merchant_id: int, through: Any, as_json: bool) -> None:
    """Close MERCHANT_ID's open money events into a new, numbered statement."""
    from kessai.core.statements.close import CloseTerms, close
    from kessai.core.statements.views import statement_dict

    settings = load_settings()
    core = _core()
    terms = CloseTerms(settings.invoice_registration_number or "", settings.minimum_payout)
    with core.sessions.begin() as session:
        statement = close(
            session,
            merchant_id=merchant_id,
            through=through.date(),
            now=core.clock.now(),
            terms=terms,
        )
        shown = statement_dict(session, statement)
    _print(shown, as_json)


@settle.command("adjust")
@click.argument("merchant_id", type=int)
@click.option(
    "--amount", type=int, required=True, help="Yen: > 0 owed to the merchant, < 0 owed by it."
)
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="Booking date (default today).")
@guard
def adjust(merchant_id: int, amount: int, on: Any) -> None:
    """Book an adjustment for MERCHANT_ID, closed on its next statement (a new entry; nothing
    already booked changes)."""
    from kessai.core.ledger.postings import business_date, record_adjustment
    from kessai.core.merchants.commands import get_merchant

    if amount == 0:
        raise click.BadParameter("not 0", param_hint="--amount")
    core = _core()
    now = core.clock.now()
    day = on.date() if on else business_date(now)
    with core.sessions.begin() as session:
        get_merchant(session, merchant_id)
        record_adjustment(session, merchant_id=merchant_id, amount=amount, on=day, now=now)
    click.echo(f"adjustment of {amount} yen booked for merchant {merchant_id} on {day}")


@settle.command("list")
@click.argument("merchant_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@guard
def list_statements(merchant_id: int, as_json: bool) -> None:
    """MERCHANT_ID's statements, newest first."""
    from kessai.core.statements.views import list_statements, statement_dict

    with _core().sessions() as session:
        shown = [statement_dict(session, s) for s in list_statements(session, merchant_id)]
    if as_json:
        click.echo(json.dumps(shown, ensure_ascii=False))
        return
    for s in shown:
        click.echo(
            f"{s['statement_id']}\t{s['period_from']} – {s['period_through']}\t"
            f"pays {s['payout_amount']} on {s['payout_date']}\tcarries {s['carried_forward']}"
        )


@settle.command("show")
@click.argument("statement_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@guard
def show_statement(statement_id: int, as_json: bool) -> None:
    """A closed statement."""
    from kessai.core.statements.views import get_statement, statement_dict

    with _core().sessions() as session:
        shown = statement_dict(session, get_statement(session, statement_id))
    _print(shown, as_json)


@settle.command("csv")
@click.argument("statement_id", type=int)
@click.option(
    "--encoding",
    type=click.Choice(["cp932", "utf-8"]),
    default="cp932",
    show_default=True,
    help="cp932 (Shift_JIS, Excel in Japan) or utf-8 (with a BOM).",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default: stdout).")
@guard
def statement_csv(statement_id: int, encoding: str, output: str | None) -> None:
    """The statement's detail CSV: one row per payment, then its fees and tax."""
    from kessai.core.statements.detail import detail_csv
    from kessai.core.statements.views import get_statement

    with _core().sessions() as session:
        body = detail_csv(session, get_statement(session, statement_id), encoding=encoding)
    if output:
        with open(output, "wb") as out:
            out.write(body)
    else:
        sys.stdout.buffer.write(body)


def _print(shown: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(shown, ensure_ascii=False))
        return
    click.echo(
        f"statement {shown['statement_id']} merchant {shown['merchant_id']}: "
        f"{shown['period_from']} – {shown['period_through']}, pays {shown['payout_amount']} yen "
        f"on {shown['payout_date']}, carries {shown['carried_forward']} yen forward"
    )
    for line in shown["lines"]:
        click.echo(
            f"  {line['payment_type']}: {line['count']} sales, gross {line['gross']}, "
            f"refunds {line['refunds']}, fees {line['fees']}"
        )
    click.echo(
        f"  fees {shown['fees_total']} + tax {shown['tax']}; adjustments {shown['adjustments']}; "
        f"carried in {shown['carried_in']}"
    )
