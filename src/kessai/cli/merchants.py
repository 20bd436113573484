"""`kessai merchant …`: onboard and manage merchants."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from kessai.cli.common import fail, guard, load_settings


def _runtime() -> Any:
    from kessai.app import build_runtime

    return build_runtime(load_settings())


def _merchant_dict(merchant: Any, session: Any) -> dict[str, Any]:
    from kessai.core.payouts.settings import describe, payout_settings

    return {
        "merchant_id": merchant.id,
        "name": merchant.name,
        "connect_id": merchant.connect_id,
        "hash_key": merchant.link_hash_key,
        "link_signature": merchant.link_signature,
        "notification_hash_key": merchant.notification_hash_key,
        "threeds_hash_key": merchant.threeds_hash_key,
        "notification_url": merchant.notification_url,
        "inform_url_mode": merchant.inform_url_mode,
        "enabled_methods": merchant.methods(),
        "mode": merchant.mode,
        # The telegram hash key is a credential, like the password: shown only when issued.
        "module_paths": merchant.paths(),
        "ip_allow_list": merchant.allowed_networks(),
        "created_at": merchant.created_at.isoformat(),
        **describe(payout_settings(session, merchant.id)),
    }


def _methods(value: str | None) -> list[str] | None:
    return [m.strip() for m in value.split(",") if m.strip()] if value else None


def _networks(value: str | None) -> list[str] | None:
    """`--ip-allow`: None leaves the list alone, "" removes it."""
    return None if value is None else value.replace(",", " ").split()


_PATHS_HELP = (
    "Module paths the merchant may use: n (client certificate), s (telegram hash), or n,s."
)
_ALLOW_HELP = (
    "P015 allow-list: addresses or CIDR networks, IPv4 or IPv6, comma- or space-separated "
    "(required for /s/ in production)."
)


def _warn_unreachable_hash_path(data: dict[str, Any]) -> None:
    """A production merchant with /s/ but no allow-list is refused there (P015): say so now."""
    if data["mode"] == "production" and "s" in data["module_paths"] and not data["ip_allow_list"]:
        click.echo("note: /s/ answers P015 for this merchant until --ip-allow is set", err=True)


def _show(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for name, value in data.items():
        click.echo(f"{name:22} {value}")


@click.group()
def merchant() -> None:
    """Create, show, list and update merchants (加盟店)."""


@merchant.command("create")
@click.option("--name", default="Demo shop", show_default=True)
@click.option(
    "--mode", type=click.Choice(["sandbox", "production"]), default="sandbox", show_default=True
)
@click.option(
    "--methods",
    help="Comma list of payment_type codes (01 ATM, 02 card, 03 CVS number, 04 slip, 05 bank net, "
    "06 carrier, 07 virtual account). Sandbox default: all; production: required.",
)
@click.option("--notification-url", help="Where result notifications are POSTed.")
@click.option("--merchant-id", type=int, help="Choose the ID (digits, at most 9).")
@click.option(
    "--link-signature",
    type=click.Choice(["hmac", "paygent"]),
    default="hmac",
    show_default=True,
    help="How link requests are signed: hmac, or paygent (PAYGENT's hash; see docs/user/link-type.md).",
)
@click.option("--module-paths", default="n", show_default=True, help=_PATHS_HELP)
@click.option("--ip-allow", help=_ALLOW_HELP)
@click.option(
    "--inform-url-mode",
    type=click.Choice(["replace", "ignore"]),
    default="replace",
    show_default=True,
    help="Notices of a link payment whose signed request has inform_url: pushed there instead of"
    " to the notification URL (replace), or to the notification URL (ignore).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@guard
def create(
    name: str,
    mode: str,
    methods: str | None,
    notification_url: str | None,
    merchant_id: int | None,
    link_signature: str,
    module_paths: str,
    ip_allow: str | None,
    inform_url_mode: str,
    as_json: bool,
) -> None:
    """Create a merchant; prints its credentials and hash keys. The connect password is printed
    only here (it is stored hashed; `merchant update --rotate-password` makes a new one); the hash
    keys are shown again by `merchant show`."""
    from kessai.core.merchants.commands import KNOWN_METHODS, create_merchant

    if mode == "production" and not methods:
        # A sandbox merchant takes every method; a production one only what its contracts cover.
        fail(
            "a production merchant needs its payment methods named "
            f"(--methods, from {', '.join(KNOWN_METHODS)})"
        )
    runtime = _runtime()
    with runtime.core.sessions.begin() as session:
        new = create_merchant(
            session,
            secret=runtime.core.secret,
            now=runtime.core.clock.now(),
            name=name,
            mode=mode,
            methods=_methods(methods),
            notification_url=notification_url,
            merchant_id=merchant_id,
            link_signature=link_signature,
            module_paths=_methods(module_paths),
            ip_allow_list=_networks(ip_allow),
            inform_url_mode=inform_url_mode,
        )
    _warn_unreachable_hash_path(asdict(new))
    _show(asdict(new), as_json)


@merchant.command("show")
@click.argument("merchant_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@guard
def show(merchant_id: int, as_json: bool) -> None:
    """Show one merchant (never its password)."""
    from kessai.core.merchants.commands import get_merchant

    with _runtime().core.sessions() as session:
        _show(_merchant_dict(get_merchant(session, merchant_id), session), as_json)


@merchant.command("list")
@click.option("--json", "as_json", is_flag=True)
@guard
def list_(as_json: bool) -> None:
    """List merchants."""
    from kessai.core.merchants.commands import list_merchants

    with _runtime().core.sessions() as session:
        rows = [_merchant_dict(m, session) for m in list_merchants(session)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['merchant_id']:>9}  {row['mode']:10}  {row['name']}")


@merchant.command("update")
@click.argument("merchant_id", type=int)
@click.option("--name")
@click.option("--mode", type=click.Choice(["sandbox", "production"]))
@click.option("--methods", help="Comma list of payment_type codes.")
@click.option("--notification-url", help="Empty string removes it.")
@click.option(
    "--link-signature",
    type=click.Choice(["hmac", "paygent"]),
    help="How link requests are signed: hmac, or paygent (PAYGENT's hash; see docs/user/link-type.md).",
)
@click.option("--module-paths", help=_PATHS_HELP)
@click.option("--ip-allow", help=_ALLOW_HELP + " Empty string removes it.")
@click.option(
    "--inform-url-mode",
    type=click.Choice(["replace", "ignore"]),
    help="Notices of a link payment whose signed request has inform_url: pushed there instead of"
    " to the notification URL (replace), or to the notification URL (ignore).",
)
@click.option("--rotate-password", is_flag=True, help="Issue a new connect password (printed).")
@click.option(
    "--payout-cycle",
    type=click.Choice(["monthly", "semimonthly", "weekly"]),
    help="When sales close and are paid (docs/operator/money.md).",
)
@click.option(
    "--closing-day",
    type=int,
    help="monthly: day of the month (31 = last day); weekly: ISO weekday (7 = Sunday).",
)
@click.option(
    "--payout-day",
    type=int,
    help="monthly: day of the next month (31 = last day); weekly: ISO weekday after the close.",
)
@click.option(
    "--bank-account",
    metavar="BANK-BRANCH-TYPE-NUMBER",
    help="Payout account, e.g. 0001-001-1-1234567 (type 1 普通, 2 当座, 4 貯蓄).",
)
@click.option("--account-holder", metavar="KANA", help="The account holder's name in kana.")
@click.option("--json", "as_json", is_flag=True)
@guard
def update(
    merchant_id: int,
    name: str | None,
    mode: str | None,
    methods: str | None,
    notification_url: str | None,
    link_signature: str | None,
    module_paths: str | None,
    ip_allow: str | None,
    inform_url_mode: str | None,
    rotate_password: bool,
    payout_cycle: str | None,
    closing_day: int | None,
    payout_day: int | None,
    bank_account: str | None,
    account_holder: str | None,
    as_json: bool,
) -> None:
    """Change a merchant's settings."""
    from kessai.core.merchants.commands import PayoutChange, update_merchant
    from kessai.core.merchants.commands import rotate_password as rotate

    payout = PayoutChange(payout_cycle, closing_day, payout_day, bank_account, account_holder)

    runtime = _runtime()
    with runtime.core.sessions.begin() as session:
        now = runtime.core.clock.now()
        row = update_merchant(
            session,
            merchant_id,
            now=now,
            name=name,
            mode=mode,
            methods=_methods(methods),
            notification_url=notification_url,
            link_signature=link_signature,
            inform_url_mode=inform_url_mode,
            payout=payout,
            module_paths=_methods(module_paths),
            ip_allow_list=_networks(ip_allow),
        )
        data = _merchant_dict(row, session)
        if rotate_password:
            data["connect_password"] = rotate(
                session, merchant_id, secret=runtime.core.secret, now=now
            )
    _warn_unreachable_hash_path(data)
    _show(data, as_json)


@merchant.command("rotate-key")
@click.argument("merchant_id", type=int)
@click.option("--telegram", is_flag=True, required=True, help="The telegram hash key of /s/.")
@click.option(
    "--overlap-hours",
    type=click.IntRange(0, 168),
    default=24,
    show_default=True,
    help="How long the old key keeps working (0: stops at once, for a leaked key).",
)
@click.option("--json", "as_json", is_flag=True)
@guard
def rotate_key(merchant_id: int, telegram: bool, overlap_hours: int, as_json: bool) -> None:
    """Issue a new telegram hash key (printed once); the old one works for the overlap."""
    from datetime import timedelta

    from kessai.core.merchants.commands import rotate_telegram_hash_key

    runtime = _runtime()
    overlap = timedelta(hours=overlap_hours)
    with runtime.core.sessions.begin() as session:
        now = runtime.core.clock.now()
        key = rotate_telegram_hash_key(session, merchant_id, now=now, overlap=overlap)
    data = {
        "merchant_id": merchant_id,
        "telegram_hash_key": key,
        "previous_key_valid_until": (now + overlap).isoformat() if overlap_hours else None,
    }
    _show(data, as_json)


@merchant.command("cert")
@click.argument("merchant_id", type=int)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory for the files.",
)
@click.option("--password", help="PKCS#12 password; default: generated and printed.")
@click.option("--json", "as_json", is_flag=True)
@guard
def cert(merchant_id: int, out_dir: Path, password: str | None, as_json: bool) -> None:
    """Issue a client certificate for a merchant from Kessai's merchant CA."""
    from kessai.core.merchants.commands import get_merchant
    from kessai.tls.ca import (
        issue_merchant_certificate,
        load_or_create_server_ca,
        server_ca_file,
    )

    settings = load_settings()
    with _runtime().core.sessions() as session:
        get_merchant(session, merchant_id)
    issued = issue_merchant_certificate(settings.var_dir, merchant_id, out_dir, password=password)
    load_or_create_server_ca(settings.var_dir)  # so the merchant gets the CA `serve --tls` uses
    _show(
        {
            "merchant_id": merchant_id,
            "cert": str(issued.cert_path),
            "key": str(issued.key_path),
            "p12": str(issued.p12_path),
            "p12_password": issued.p12_password,
            # What the merchant's module verifies the gateway's server certificate with.
            "server_ca": str(server_ca_file(settings.var_dir)),
            "not_valid_after": issued.not_valid_after.isoformat(),
            "sha256_fingerprint": issued.sha256_fingerprint,
        },
        as_json,
    )


@merchant.command("logo")
@click.argument("merchant_id", type=int)
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False
)
@click.option("--remove", is_flag=True, help="Remove the logo instead.")
@guard
def logo(merchant_id: int, file: Path | None, remove: bool) -> None:
    """Set the logo the hosted payment page shows (PNG, JPEG, GIF or WebP, at most 256 KB)."""
    from kessai.core.link import logo as logos

    runtime = _runtime()
    if remove:
        removed = logos.remove_logo(runtime.core, merchant_id)
        click.echo("logo removed" if removed else "no logo to remove")
        return
    if file is None:
        raise click.UsageError("give the image FILE, or --remove")
    stored = logos.set_logo(runtime.core, merchant_id, file.read_bytes())
    click.echo(f"logo set: {stored.content_type}, {len(stored.data)} bytes, sha256 {stored.sha256}")
