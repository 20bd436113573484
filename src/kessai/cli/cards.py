"""`kessai cards …`: stored cards (カード情報お預かり) — the account updater (洗替)."""

from __future__ import annotations

import json
import sys

import click

from kessai.cli.common import fail, guard, load_settings

NO_UPDATER = "P007"


@click.group()
def cards() -> None:
    """Stored cards: refresh them with the card companies (洗替)."""


@cards.command()
@click.argument("merchant_id", type=int)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the counts and each card's result as JSON."
)
@guard
def refresh(merchant_id: int, as_json: bool) -> None:
    """Refresh (洗替) every usable stored card of MERCHANT_ID with the card account updater.

    New expiries and numbers are written to the vault, closed cards stop paying (2001/1G12),
    cards whose holder must be asked are flagged. Prints the count of each outcome; with --json
    also every card's result (masked numbers only). Sandbox merchants only: this gateway has no
    real updater connection."""
    from kessai.app import build_runtime
    from kessai.core.cards.updater import Trigger, refresh_merchant
    from kessai.core.context import MerchantRef
    from kessai.core.merchants.commands import get_merchant
    from kessai.kit.errors import InvalidRequest

    runtime = build_runtime(load_settings())
    with runtime.core.sessions() as session:
        merchant = MerchantRef.of(get_merchant(session, merchant_id))
    stderr = sys.stderr
    try:
        with click.progressbar(length=1, label="refreshing stored cards", file=stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            summary = refresh_merchant(
                runtime.core, merchant, trigger=Trigger.CLI, progress=progress
            )
    except InvalidRequest as error:
        if error.code != NO_UPDATER:
            raise
        fail(
            f"merchant {merchant_id} is a {merchant.mode} merchant; this gateway has only the "
            "sandbox's card account updater, so 洗替 runs for sandbox merchants only"
        )
    finally:
        runtime.engine.dispose()
    if as_json:
        click.echo(json.dumps(summary.as_json(), ensure_ascii=False))
        return
    click.echo(f"merchant {merchant_id}: {len(summary.results)} stored cards")
    for outcome, count in summary.counts.items():
        click.echo(f"{outcome:20} {count}")


@cards.command()
@click.argument("merchant_id", type=int)
@click.option("--day", type=click.IntRange(1, 28), help="Refresh monthly from this day (1-28).")
@click.option("--off", is_flag=True, help="Turn the monthly refresh off.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@guard
def schedule(merchant_id: int, day: int | None, off: bool, as_json: bool) -> None:
    """Show or set MERCHANT_ID's monthly 洗替 (off unless set): from --day of each month (Japan
    time) the worker refreshes the merchant's stored cards not yet answered that month."""
    from kessai.app import build_runtime
    from kessai.core.cards.schedule import schedule_of, set_schedule

    if day is not None and off:
        fail("give --day or --off, not both")
    runtime = build_runtime(load_settings())
    try:
        if day is not None or off:
            current = set_schedule(runtime.core, merchant_id, None if off else day)
        else:
            current = schedule_of(runtime.core, merchant_id)
    finally:
        runtime.engine.dispose()
    if as_json:
        click.echo(json.dumps({"merchant_id": merchant_id, "monthly_day": current}))
        return
    click.echo(
        f"merchant {merchant_id}: monthly 洗替 "
        + ("off" if current is None else f"from day {current} of each month (Japan time)")
    )
