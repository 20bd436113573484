"""`kessai reconcile MERCHANT_ID FILE`: the merchant's reconciliation (消し込み) of its order list,
the same the console's page runs, for scripts and tests (docs/user/reconciliation.md). `--json`
prints the fixed contract: the count of each class and the rows (取引ID, class, order amount, paid
amount), streamed so a million rows are never one string."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kessai.cli.common import guard, load_settings

if TYPE_CHECKING:
    from kessai.core.context import Core
    from kessai.core.reconcile.views import ReconRow, ReconSummary


def _core() -> Core:
    from kessai.app import build_runtime

    return build_runtime(load_settings()).core


@click.command("reconcile")
@click.argument("merchant_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from", "period_from", type=click.DateTime(["%Y-%m-%d"]),
              help="Payments created on this day (JST) or later.")  # fmt: skip
@click.option("--to", "period_to", type=click.DateTime(["%Y-%m-%d"]),
              help="Payments created on this day (JST) or earlier.")  # fmt: skip
@click.option("--trading-id-column", help="The header of the 取引ID column (default: guessed).")
@click.option("--amount-column", help="The header of the amount column (default: guessed).")
@click.option("--json", "as_json", is_flag=True, help="The class counts and rows as JSON.")
@guard
def reconcile(
    merchant_id: int,
    file: Path,
    period_from: Any,
    period_to: Any,
    trading_id_column: str | None,
    amount_column: str | None,
    as_json: bool,
) -> None:
    """Reconcile MERCHANT_ID's order list FILE (CSV, CP932 or UTF-8) against its payments of the
    period (all of them without --from/--to) and keep the result. A file Kessai cannot read exits
    1 with the line and the reason, and nothing is stored."""
    from kessai.core.merchants.commands import get_merchant
    from kessai.core.reconcile.orders import ColumnMap
    from kessai.core.reconcile.run import reconcile as run
    from kessai.core.reconcile.views import iter_rows, summary

    if (trading_id_column is None) != (amount_column is None):
        raise click.UsageError("give both --trading-id-column and --amount-column, or neither")
    columns = (
        ColumnMap(trading_id_column, amount_column) if trading_id_column and amount_column else None
    )
    core = _core()
    with core.sessions.begin() as session, file.open("rb") as source:
        get_merchant(session, merchant_id)
        rid = run(
            session,
            merchant_id=merchant_id,
            source=source,
            file_name=file.name,
            columns=columns,
            period_from=_day(period_from),
            period_to=_day(period_to),
            created_by="cli",
            progress=None if as_json else _progress,
            now=core.clock.now(),
        )
    with core.sessions() as session:
        shown = summary(session, merchant_id=merchant_id, reconciliation_id=rid)
        if as_json:
            rows = iter_rows(session, merchant_id=merchant_id, reconciliation_id=rid, cls=None)
            _write_json(shown, rows)
        else:
            _write_text(shown)


def _day(value: Any) -> date | None:
    return value.date() if value is not None else None


def _progress(read: int) -> None:
    if sys.stderr.isatty():
        click.echo(f"\r{read} lines read", nl=False, err=True)


def _write_json(shown: ReconSummary, rows: Iterator[ReconRow]) -> None:
    """`{"matched": n, …, "rows": [{"trading_id", "class", "order_amount", "paid_amount"}]}`."""
    out = sys.stdout
    counts = {cls.value: total.count for cls, total in shown.totals.items()}
    out.write(json.dumps(counts, ensure_ascii=False)[:-1] + ', "rows": [')
    for n, row in enumerate(rows):
        item = {
            "trading_id": row.trading_id,
            "class": row.cls.value,
            "order_amount": row.order_amount,
            "paid_amount": row.paid_amount,
        }
        out.write(("" if n == 0 else ", ") + json.dumps(item, ensure_ascii=False))
    out.write("]}\n")


def _write_text(shown: ReconSummary) -> None:
    from kessai.core.reconcile.classes import label

    period = f"{shown.period_from or '…'} – {shown.period_to or '…'}"
    click.echo(
        f"reconciliation {shown.id} of merchant {shown.merchant_id}: {shown.file_name} "
        f"({shown.order_lines} order lines, sha256 {shown.sha256[:12]}…) against "
        f"{shown.payments} payments of {period}"
    )
    for cls, total in shown.totals.items():
        click.echo(
            f"  {cls.value:<19} {label(cls)}\t{total.count} rows\t"
            f"ordered {total.order_amount} yen\tpaid {total.paid_amount} yen"
        )
