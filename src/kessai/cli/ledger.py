"""`kessai ledger check`: proves the ledger's invariants; exit 1 when one fails."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from kessai.cli.common import guard, load_settings


@click.group()
def ledger() -> None:
    """The double-entry ledger."""


@ledger.command("check")
@click.option("--merchant", "merchant_id", type=int, help="Only this merchant's entries.")
@click.option("--json", "as_json", is_flag=True)
@guard
def check_ledger(merchant_id: int | None, as_json: bool) -> None:
    """Every entry balanced; each merchant's payable = settled − fees − paid out; the ledger agrees
    with the payments and with every statement. Exit 1 if any fails."""
    from kessai.app import build_runtime
    from kessai.core.ledger.check import check

    core = build_runtime(load_settings()).core
    with core.sessions() as session:
        report = check(session, merchant_id=merchant_id)
    if as_json:
        failures = [asdict(f) for f in report.failures]
        out = {"ok": report.ok, "entries": report.entries, "failures": failures}
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        for f in report.failures:
            click.echo(f"FAIL {f.invariant}: {f.subject}: {f.detail}")
        click.echo(f"{'ok' if report.ok else 'FAILED'}: {report.entries} entries checked")
    if not report.ok:
        sys.exit(1)
