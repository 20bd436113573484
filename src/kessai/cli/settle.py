"""`kessai settle …`: closing payout statements (支払明細) and their detail CSV; importing
institutions' settlement reports and resolving the breaks they show (docs/operator/money.md)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kessai.cli.common import fail, guard, load_settings
from kessai.core.institution_reports.institutions import INSTITUTIONS

if TYPE_CHECKING:
    from kessai.connectors.base import SettlementReportFormat
    from kessai.core.context import Core
    from kessai.core.institution_reports.views import BreakView


def _core() -> Core:
    from kessai.app import build_runtime

    return build_runtime(load_settings()).core


@click.group()
def settle() -> None:
    """Payout statements (close, show, detail CSV); institutions' reports and their breaks."""


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


def report_format(institution: str) -> SettlementReportFormat:
    """The parser of `institution`'s settlement reports. Every institution speaks the sandbox's
    format today; a real institution's format is one more `SettlementReportFormat` named here."""
    from kessai.connectors.sandbox.settlement import SandboxSettlementFormat

    return SandboxSettlementFormat(institution)


_INSTITUTION = click.option(
    "--institution",
    required=True,
    type=click.Choice(list(INSTITUTIONS)),
    help="Whose report it is: " + ", ".join(f"{i.name} ({i.label})" for i in INSTITUTIONS.values()),
)


@settle.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_INSTITUTION
@click.option("--json", "as_json", is_flag=True)
@guard
def import_report(file: Path, institution: str, as_json: bool) -> None:
    """Match an institution's settlement report FILE to the ledger, book what it paid and list
    the breaks. The same file imported again books nothing and shows its first import."""
    from sqlalchemy.exc import IntegrityError

    from kessai.core.institution_reports.matching import import_report as run_import

    data = file.read_bytes()
    report = report_format(institution).parse(data)
    core = _core()
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        with core.sessions.begin() as session:
            result = run_import(
                session, report, sha256=sha256, file_name=file.name, now=core.clock.now()
            )
    except IntegrityError:
        fail(
            "another import of this report, or of a report paying the same sales, ran at the same "
            "time; nothing of this one was booked. Run it again to see what is left"
        )
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    again = " (imported before: nothing booked now)" if result.already_imported else ""
    click.echo(
        f"report {result.report_id} of {result.institution} for {result.report_date}{again}: "
        f"{result.lines} lines, {result.matched} matched, {result.booked} yen booked, "
        f"{len(result.breaks)} breaks"
    )
    for b in result.breaks:
        click.echo("  " + _break_line(b))


@settle.command("breaks")
@click.option("--all", "include_resolved", is_flag=True, help="Resolved breaks too.")
@click.option("--json", "as_json", is_flag=True)
@guard
def list_breaks(include_resolved: bool, as_json: bool) -> None:
    """Breaks between institutions' reports and the ledger: the open ones, oldest first."""
    from kessai.core.institution_reports.breaks import list_breaks as listed

    with _core().sessions() as session:
        shown = listed(session, include_resolved=include_resolved)
    if as_json:
        click.echo(json.dumps([b.as_dict() for b in shown], ensure_ascii=False))
        return
    for b in shown:
        click.echo(_break_line(b))


@settle.command("resolve")
@click.argument("break_id", type=int)
@click.option("--reason", required=True, help="Why the break is closed (kept in the audit log).")
@guard
def resolve_break(break_id: int, reason: str) -> None:
    """Close break BREAK_ID with --reason, written to the audit log. Nothing is booked: book a
    correction with `kessai settle adjust`, or let the institution's next report pay it."""
    from kessai.core.console.audit import Actor
    from kessai.core.institution_reports.breaks import resolve

    core = _core()
    actor = Actor(None, None, f"operator:{os.environ.get('USER', '')}", "cli")
    with core.sessions.begin() as session:
        view = resolve(session, break_id, reason=reason, actor=actor, now=core.clock.now())
    click.echo(f"break {view.break_id} resolved: {view.resolution}")


def _break_line(b: BreakView) -> str:
    where = f" line {b.line_number}" if b.line_number is not None else ""
    state = f"resolved by {b.resolved_by}: {b.resolution}" if b.resolved_at else "open"
    return (
        f"{b.break_id}\t{b.kind}\t{b.institution} report {b.report_id}{where}\t"
        f"merchant {b.merchant_id} payment {b.payment_id}\texpected {b.expected} paid {b.paid}\t"
        f"{b.detail}\t{state}"
    )
