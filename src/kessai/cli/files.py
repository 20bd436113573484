"""`kessai files …`: submit a file payment (ファイル決済) for a merchant, see it, fetch its result.

The contract (issue #15): `submit MERCHANT_ID FILE --type CODE [--json]` prints the
file_receipt_id; `show RECEIPT_ID [--json]` the status and counts; `result RECEIPT_ID --out FILE`
writes the result file exactly as 201 answers it. The worker runs submitted files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kessai.cli.common import guard, load_settings


def _core() -> Any:
    from kessai.app import build_runtime

    return build_runtime(load_settings()).core


@click.group()
def files() -> None:
    """File payments (ファイル決済): submit a file, see its progress, fetch its result."""


@files.command()
@click.argument("merchant_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "file_type", required=True, help="File type: 020, 021, 022, 026, …")
@click.option("--duplicate-check", is_flag=True, help="Refuse the same file within 24 h (9106).")
@click.option("--json", "as_json", is_flag=True, help='Print {"file_receipt_id": …}.')
@guard
def submit(
    merchant_id: int, file: Path, file_type: str, duplicate_check: bool, as_json: bool
) -> None:
    """Submit FILE for MERCHANT_ID; prints its file_receipt_id."""
    from kessai.core.context import MerchantRef
    from kessai.core.files import commands
    from kessai.core.merchants.commands import get_merchant

    core = _core()
    with core.sessions() as session:
        merchant = MerchantRef.of(get_merchant(session, merchant_id))
    receipt_id = commands.submit(
        core, merchant, file_type, file.read_bytes(), duplicate_check=duplicate_check
    )
    click.echo(json.dumps({"file_receipt_id": receipt_id}) if as_json else receipt_id)


@files.command()
@click.argument("receipt_id")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@guard
def show(receipt_id: str, as_json: bool) -> None:
    """A file's status and counts (lines done, errors, total)."""
    from kessai.core.files import commands

    view = commands.show(_core(), None, receipt_id)
    if as_json:
        click.echo(json.dumps(view.as_json(), ensure_ascii=False))
        return
    click.echo(
        f"{view.receipt_id}  merchant {view.merchant_id}  type {view.file_type}  {view.status}"
        f"  done {view.done_lines}/{view.total_lines}  errors {view.error_lines}"
    )


@files.command()
@click.argument("receipt_id")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Where to write."
)
@guard
def result(receipt_id: str, out: Path) -> None:
    """Write the result file (Windows-31J CSV, as 201 answers it); 9103 while it runs."""
    from kessai.core.files.result import result_file

    out.write_bytes(result_file(_core(), None, receipt_id))
    click.echo(str(out), err=True)


@files.command()
@click.argument("receipt_id")
@guard
def cancel(receipt_id: str) -> None:
    """Cancel a file that has not finished: lines not yet run are not run."""
    from kessai.core.files import commands

    view = commands.cancel(_core(), None, receipt_id)
    click.echo(f"{view.receipt_id} cancelled; {view.done_lines}/{view.total_lines} lines had run")
