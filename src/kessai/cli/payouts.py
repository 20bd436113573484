"""`kessai payouts …`: the payout bank file (総合振込) of a payout date, marking its transfers
sent in the ledger, and a statement's PDF (docs/operator/money.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kessai.cli.common import guard, load_settings

if TYPE_CHECKING:
    from kessai.core.payouts.statement import Statement
    from kessai.core.payouts.zengin import HeldPayout, TransferFile


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
    help="Read the statements from this file (as `kessai settle close … --json` prints them: one "
    "object, a list, or one object per line) instead of the stored ones.",
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
    """Write the 総合振込 file of the payouts due on --date, and of earlier ones not yet written
    (held before, their account since fixed); payouts without a usable bank account are held
    (listed, not written) and go into the first file written after the account is fixed. Run
    again for the same date, it writes the same transfers again (and any newly due)."""
    from kessai.app import build_runtime
    from kessai.core.payouts.stored import write_bank_file
    from kessai.core.payouts.transfers import statements_source, transfer_file
    from kessai.core.payouts.zengin import requester

    if out.exists():
        raise click.UsageError(f"{out} exists; a bank file is never overwritten")
    settings = load_settings()
    operator = requester(settings)
    day, breaks = payout_date.date(), not no_line_breaks
    core = build_runtime(settings).core
    with core.sessions.begin() as session:
        if statements is None:
            written = write_bank_file(
                session, day, requester=operator, now=core.clock.now(), line_breaks=breaks
            )
        else:
            source = statements_source(_read(statements))
            written = transfer_file(
                session, day, source=source, requester=operator, line_breaks=breaks
            )
    _write_new(out, written.content)
    _report(out, written, as_json)


def _read(path: Path) -> list[Statement]:
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


def _held(written: TransferFile) -> list[dict[str, Any]]:
    return _held_list(written.held)


def _held_list(held: Sequence[HeldPayout]) -> list[dict[str, Any]]:
    return [
        {
            "merchant_id": h.payout.merchant_id,
            "amount": h.payout.amount,
            "statement_id": h.payout.statement_id,
            "reason": h.reason,
        }
        for h in held
    ]


def _echo_held(held: list[dict[str, Any]]) -> None:
    for item in held:
        click.echo(
            f"held: merchant {item['merchant_id']} {item['amount']:,} yen "
            f"(statement {item['statement_id']}): {item['reason']}",
            err=True,
        )


def _report(out: Path, written: TransferFile, as_json: bool) -> None:
    held = _held(written)
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
    _echo_held(held)


@payouts.command("mark-paid")
@click.option(
    "--date",
    "payout_date",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The payout date whose bank file the bank accepted, YYYY-MM-DD.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@guard
def mark_paid(payout_date: datetime, as_json: bool) -> None:
    """Book the transfers --date's bank file wrote as sent (Dr payout / Cr kessai:bank), as the
    file carried them, once per statement: a second run posts nothing. Payouts not in the file
    (held) are not booked; they are listed."""
    from kessai.app import build_runtime
    from kessai.core.payouts.stored import not_written, record_transfers_sent

    core = build_runtime(load_settings()).core
    day = payout_date.date()
    with core.sessions.begin() as session:
        marked = record_transfers_sent(session, day, now=core.clock.now())
        posted = [(s.id, s.merchant_id, s.payout_amount) for s in marked.posted]
        already = [s.id for s in marked.already]
        held = _held_list(not_written(session, day))
    if as_json:
        summary = {
            "date": day.isoformat(),
            "posted": [{"statement_id": i, "merchant_id": m, "amount": a} for i, m, a in posted],
            "already_posted": already,
            "held": held,
        }
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    total = sum(a for _, _, a in posted)
    click.echo(
        f"{day}: {len(posted)} payouts booked as sent, {total:,} yen; {len(already)} booked before"
    )
    _echo_held(held)


@payouts.command("statement")
@click.option(
    "--statement-id",
    required=True,
    help="The statement (its number in `kessai settle list`; with --statements, its id there).",
)
@click.option(
    "--statements",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the statement from this file (`kessai settle close … --json`) instead of the "
    "stored ones.",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The PDF."
)
@guard
def statement(statement_id: str, statements: Path | None, out: Path) -> None:
    """Print a payout statement (支払明細書) as a PDF, with the operator's invoice registration
    number (the one the statement was closed with, else KESSAI_INVOICE_REGISTRATION_NUMBER)."""
    from kessai.app import build_runtime
    from kessai.core.merchants.commands import get_merchant
    from kessai.core.payouts.statement import StatementDocument
    from kessai.core.payouts.stored import statement_value
    from kessai.core.statements.views import get_statement
    from kessai.web.console.statement_pdf import render

    settings = load_settings()
    registration = settings.invoice_registration_number or ""
    with build_runtime(settings).core.sessions() as session:
        if statements is not None:
            chosen = _one_statement(_read(statements), statement_id)
        else:
            stored_id = _stored_id(statement_id)
            chosen = statement_value(session, stored_id)
            registration = get_statement(session, stored_id).registration_number or registration
        merchant_name = get_merchant(session, chosen.merchant_id).name
    if not registration:
        raise click.UsageError("set KESSAI_INVOICE_REGISTRATION_NUMBER (T and 13 digits)")
    document = StatementDocument(
        statement=chosen,
        merchant_name=merchant_name,
        issuer_name=settings.invoice_issuer_name,
        registration_number=registration,
    )
    out.write_bytes(render(document, font_path=settings.slip_font))
    click.echo(f"{out}: statement {chosen.statement_id} of merchant {chosen.merchant_id}")


def _stored_id(statement_id: str) -> int:
    if not statement_id.isascii() or not statement_id.isdigit() or len(statement_id) > 18:
        raise click.BadParameter("a stored statement's id is a number", param_hint="--statement-id")
    return int(statement_id)


def _one_statement(statements: list[Statement], statement_id: str) -> Statement:
    for candidate in statements:
        if candidate.statement_id == statement_id:
            return candidate
    raise click.UsageError(f"no statement {statement_id} in the file")
