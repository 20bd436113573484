"""`kessai notices …`: see a merchant's result notices and their push attempts, send them again."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

import click

from kessai.cli.common import guard, load_settings
from kessai.core.notifications.queries import DELIVERY_STATUSES, NoticeView


def _runtime() -> Any:
    from kessai.app import build_runtime

    return build_runtime(load_settings())


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _as_dict(view: NoticeView, with_attempts: bool) -> dict[str, Any]:
    data = {name: _jsonable(value) for name, value in asdict(view).items()}
    attempts = [{k: _jsonable(v) for k, v in a.items()} for a in data.pop("attempt_log")]
    return data | ({"attempt_log": attempts} if with_attempts else {})


def _print_table(views: list[NoticeView], with_attempts: bool) -> None:
    for view in views:
        click.echo(
            f"{view.payment_notice_id:>8}  payment {view.payment_id:<10} status {view.payment_status}"
            f"  {view.delivery_status:10} attempts {view.attempts}  {view.last_error}"
            + (f"  → {view.push_url}" if view.push_url else "")
        )
        for attempt in view.attempt_log if with_attempts else ():
            click.echo(
                f"          #{attempt.attempt_no} {attempt.started_at.isoformat()} "
                f"{attempt.outcome} http={attempt.http_status or '-'} "
                f"{attempt.response_excerpt[:80]!r} {attempt.error}"
            )


@click.group()
def notices() -> None:
    """Result notices (差分通知) of a merchant: list them, resend them."""


@notices.command("list")
@click.option("--merchant", "merchant_id", type=int, required=True, help="Merchant ID.")
@click.option("--payment", "payment_id", type=int, help="Only this payment's notices.")
@click.option("--status", type=click.Choice(DELIVERY_STATUSES), help="Delivery status.")
@click.option("--attempts", "with_attempts", is_flag=True, help="Show each push attempt.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@guard
def list_(
    merchant_id: int,
    payment_id: int | None,
    status: str | None,
    with_attempts: bool,
    as_json: bool,
) -> None:
    """List a merchant's notices by number."""
    from kessai.core.merchants.commands import get_merchant
    from kessai.core.notifications.queries import list_notices

    with _runtime().core.sessions() as session:
        get_merchant(session, merchant_id)
        views = list_notices(
            session,
            merchant_id,
            payment_id=payment_id,
            delivery_status=status,
            with_attempts=with_attempts,
        )
    if as_json:
        click.echo(json.dumps([_as_dict(v, with_attempts) for v in views], ensure_ascii=False))
        return
    _print_table(views, with_attempts)


@notices.command("resend")
@click.option("--merchant", "merchant_id", type=int, required=True, help="Merchant ID.")
@click.option("--notice", "payment_notice_id", type=int, help="The notice number to resend.")
@click.option("--failed", is_flag=True, help="Resend every failed notice.")
@guard
def resend(merchant_id: int, payment_notice_id: int | None, failed: bool) -> None:
    """Queue notices for a fresh push now, attempts counted from 0."""
    from kessai.core.merchants.commands import get_merchant
    from kessai.core.notifications.commands import resend as queue_again

    runtime = _runtime()
    with runtime.core.sessions.begin() as session:
        get_merchant(session, merchant_id)
        count = queue_again(
            session,
            merchant_id,
            now=runtime.core.clock.now(),
            payment_notice_id=payment_notice_id,
            failed=failed,
        )
    click.echo(f"queued {count} notice(s) for merchant {merchant_id}")
