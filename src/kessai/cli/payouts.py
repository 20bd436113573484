"""`kessai payouts …`: the payout bank file (総合振込) for a payout date."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kessai.cli.common import guard, load_settings

if TYPE_CHECKING:
    from kessai.core.payouts.statement import Statement
    from kessai.core.payouts.zengin import TransferFile


@click.group()
def payouts() -> None:
    """Pay merchants: the Zengin bank file of a payout date (docs/operator/money.md)."""


@payouts.command("zengin")
@click.option(
    "--date",
    "payout_date",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The payout (transfer) date, YYYY-MM-DD, a bank business day.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the file (refused if it exists).",
)
@click.option(
    "--statements",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The closed statements, as `kessai settle close … --json` prints them (one object, a "
    "list, or one object per line).",
)
@click.option("--no-line-breaks", is_flag=True, help="Bare 120-byte records, no CRLF.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@guard
def zengin(
    payout_date: datetime,
    out: Path,
    statements: Path | None,
    no_line_breaks: bool,
    as_json: bool,
) -> None:
    """Write the 総合振込 file of the payouts due on --date; payouts without a usable bank
    account are held (listed, not written) for the operator to fix and pay later."""
    from kessai.app import build_runtime
    from kessai.core.payouts.transfers import statements_source, transfer_file
    from kessai.core.payouts.zengin import requester

    if statements is None:
        raise click.UsageError(
            "give --statements (the JSON of kessai settle close): stored statements are not "
            "connected to the bank file yet"
        )
    if out.exists():
        raise click.UsageError(f"{out} exists; a bank file is never overwritten")
    settings = load_settings()
    operator = requester(settings)
    source = statements_source(_read_statements(statements))
    runtime = build_runtime(settings)
    with runtime.core.sessions() as session:
        written = transfer_file(
            session,
            payout_date.date(),
            source=source,
            requester=operator,
            line_breaks=not no_line_breaks,
        )
    _write_new(out, written.content)
    _report(out, written, as_json)


def _read_statements(path: Path) -> list[Statement]:
    from kessai.core.payouts.statement import Statement

    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    items = data if isinstance(data, list) else [data]
    return [Statement.from_json(item) for item in items]


def _write_new(out: Path, content: bytes) -> None:
    """Write `content` to `out`, which must not exist (O_EXCL: no race with a second run)."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as file:
        file.write(content)


def _report(out: Path, written: TransferFile, as_json: bool) -> None:
    held = [
        {
            "merchant_id": h.payout.merchant_id,
            "amount": h.payout.amount,
            "statement_id": h.payout.statement_id,
            "reason": h.reason,
        }
        for h in written.held
    ]
    if as_json:
        summary = {
            "file": str(out),
            "count": len(written.transferred),
            "total": written.total,
            "held": held,
        }
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    click.echo(f"{out}: {len(written.transferred)} transfers, {written.total:,} yen")
    for item in held:
        click.echo(
            f"held: merchant {item['merchant_id']} {item['amount']:,} yen: {item['reason']}",
            err=True,
        )


@payouts.command("statement")
@click.option(
    "--statements",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The closed statements, as `kessai settle close … --json` prints them.",
)
@click.option("--statement-id", help="Which statement, when the file holds several.")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The PDF."
)
@guard
def statement(statements: Path, statement_id: str | None, out: Path) -> None:
    """Print a payout statement (支払明細書) as a PDF, with the operator's invoice registration
    number (KESSAI_INVOICE_REGISTRATION_NUMBER)."""
    from kessai.app import build_runtime
    from kessai.core.merchants.commands import get_merchant
    from kessai.core.payouts.statement import StatementDocument
    from kessai.web.console.statement_pdf import render

    settings = load_settings()
    if settings.invoice_registration_number is None:
        raise click.UsageError("set KESSAI_INVOICE_REGISTRATION_NUMBER (T and 13 digits)")
    chosen = _one_statement(_read_statements(statements), statement_id)
    with build_runtime(settings).core.sessions() as session:
        merchant_name = get_merchant(session, chosen.merchant_id).name
    document = StatementDocument(
        statement=chosen,
        merchant_name=merchant_name,
        issuer_name=settings.invoice_issuer_name,
        registration_number=settings.invoice_registration_number,
    )
    out.write_bytes(render(document, font_path=settings.slip_font))
    click.echo(f"{out}: statement {chosen.statement_id} of merchant {chosen.merchant_id}")


def _one_statement(statements: list[Statement], statement_id: str | None) -> Statement:
    if statement_id is None:
        if len(statements) != 1:
            raise click.UsageError(
                f"the file holds {len(statements)} statements; give --statement-id"
            )
        return statements[0]
    for candidate in statements:
        if candidate.statement_id == statement_id:
            return candidate
    raise click.UsageError(f"no statement {statement_id} in the file")
