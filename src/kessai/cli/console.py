"""`kessai user …` (console staff accounts and their client certificates) and `kessai console ca`.

Passwords (initial ones, PKCS#12 ones) are printed once and stored nowhere in the clear.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from kessai.cli.common import guard, load_settings
from kessai.config import Settings


def _runtime() -> Any:
    from kessai.app import build_runtime

    return build_runtime(load_settings())


def _show(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    for name, value in data.items():
        click.echo(f"{name:22} {value}")


def _audit(runtime: Any, user: Any, action: str, detail: str = "") -> None:
    """Operator actions on a user are in the merchant's audit log too (from: cli)."""
    from kessai.core.console import audit

    with runtime.core.sessions.begin() as session:
        audit.record(
            session,
            audit.Actor(user.merchant_id, None, f"operator:{os.environ.get('USER', '')}", "cli"),
            action,
            target=f"user:{user.login}",
            detail=detail,
            now=runtime.core.clock.now(),
        )


@click.group()
def user() -> None:
    """Console users (決済管理ツールのユーザー): create, list, certificates, unlock."""


@user.command("create")
@click.argument("merchant_id", type=int)
@click.option("--login", required=True, help="Login name, unique across merchants.")
@click.option(
    "--role", type=click.Choice(["admin", "general"]), default="general", show_default=True
)
@click.option(
    "--permissions",
    default="view",
    show_default=True,
    help="General users: comma list of view, card (also stored cards and 洗替), register, "
    "download, notify, users, statements, reconcile.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@guard
def create(merchant_id: int, login: str, role: str, permissions: str, as_json: bool) -> None:
    """Create a console user; prints the initial password ONCE (changed at first sign-in)."""
    from kessai.core.console import users
    from kessai.core.console.permissions import parse_permissions, parse_role

    runtime = _runtime()
    with runtime.core.sessions.begin() as session:
        new = users.create_user(
            session,
            merchant_id=merchant_id,
            login=login,
            role=parse_role(role),
            permissions=parse_permissions(permissions.split(",")),
            now=runtime.core.clock.now(),
        )
        created = users.get_user(session, new.user_id)
    _audit(runtime, created, "user_create", f"role={new.role}")
    _show(
        {
            "user_id": new.user_id,
            "merchant_id": new.merchant_id,
            "login": new.login,
            "role": new.role,
            "permissions": new.permissions,
            "initial_password": new.initial_password,
        },
        as_json,
    )


@user.command("list")
@click.option("--merchant", "merchant_id", type=int, help="Only this merchant's users.")
@click.option("--json", "as_json", is_flag=True)
@guard
def list_(merchant_id: int | None, as_json: bool) -> None:
    """List console users (never their passwords)."""
    from kessai.core.console import certificates, users

    runtime = _runtime()
    now = runtime.core.clock.now()
    with runtime.core.sessions() as session:
        found = users.list_users(session, merchant_id)
        live = certificates.live_by_user(session, [u.id for u in found], now)
    rows: list[dict[str, Any]] = [
        {
            "user_id": u.id,
            "merchant_id": u.merchant_id,
            "login": u.login,
            "role": u.role.value,
            "permissions": sorted(p.value for p in u.permissions),
            "locked": u.locked(now),
            "disabled": u.disabled,
            "certificate_serial": live.get(u.id),
        }
        for u in found
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(
            f"{row['merchant_id']:>9}  {row['login']:24} {row['role']:8} "
            f"{','.join(row['permissions']):40} cert={row['certificate_serial'] or '-'}"
        )


@user.command("cert")
@click.argument("login")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the PKCS#12 file (.p12).",
)
@click.option("--password", help="PKCS#12 password; default: generated and printed once.")
@click.option("--json", "as_json", is_flag=True)
@guard
def cert(login: str, out_file: Path, password: str | None, as_json: bool) -> None:
    """Issue the user's client certificate from the console CA (revokes the previous one)."""
    from kessai.core.console import certificates, users
    from kessai.tls.ca import console_ca_file, issue_console_certificate

    settings, runtime = load_settings(), _runtime()
    now = runtime.core.clock.now()
    with runtime.core.sessions() as session:
        target = users.get_user_by_login(session, login)
    issued = issue_console_certificate(settings.var_dir, login, password=password, now=now)
    _write_private(out_file, issued.p12)
    with runtime.core.sessions.begin() as session:
        certificates.record_issued(
            session,
            target.id,
            serial=issued.serial_number,
            fingerprint=issued.sha256_fingerprint,
            not_valid_after=issued.not_valid_after,
            issued_by="operator",
            now=now,
        )
    _audit(runtime, target, "cert_issue", f"serial={issued.serial_number:x}")
    _show(
        {
            "login": login,
            "p12": str(out_file),
            "p12_password": issued.p12_password,
            "serial": f"{issued.serial_number:x}",
            "not_valid_after": issued.not_valid_after.isoformat(),
            "sha256_fingerprint": issued.sha256_fingerprint,
            "console_ca": str(console_ca_file(settings.var_dir)),
        },
        as_json,
    )


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@user.command("revoke-cert")
@click.argument("login")
@guard
def revoke_cert(login: str) -> None:
    """Revoke the user's client certificate: the console refuses it from now on."""
    from kessai.core.console import certificates, users

    runtime = _runtime()
    with runtime.core.sessions.begin() as session:
        target = users.get_user_by_login(session, login)
        count = certificates.revoke(
            session, target.id, revoked_by="operator", now=runtime.core.clock.now()
        )
    _audit(runtime, target, "cert_revoke", f"revoked {count}")
    click.echo(f"revoked {count} certificate(s) of {login}")


@user.command("unlock")
@click.argument("login")
@guard
def unlock(login: str) -> None:
    """Unlock a user locked by failed sign-ins."""
    from kessai.core.console import users

    runtime = _runtime()
    with runtime.core.sessions.begin() as session:
        target = users.get_user_by_login(session, login)
        users.update_user(session, target.id, unlock=True, now=runtime.core.clock.now())
    _audit(runtime, target, "user_unlock")
    click.echo(f"unlocked {login}")


@user.command("reset-password")
@click.argument("login")
@click.option("--json", "as_json", is_flag=True)
@guard
def reset_password(login: str, as_json: bool) -> None:
    """A new initial password (printed once); the user's sessions end."""
    from kessai.core.console import sessions, users

    runtime = _runtime()
    with runtime.core.sessions.begin() as session:
        target = users.get_user_by_login(session, login)
        password = users.reset_password(session, target.id, now=runtime.core.clock.now())
        sessions.close_all(session, target.id)
    _audit(runtime, target, "user_reset_password")
    _show({"login": login, "initial_password": password}, as_json)


@click.group()
def console() -> None:
    """The merchant console (決済管理ツール) served under /console/."""


@console.command("ca")
@click.option("--json", "as_json", is_flag=True)
@guard
def ca(as_json: bool) -> None:
    """Print the console CA certificate's path (created on first use): what the server, or a
    TLS-terminating proxy, trusts for console users' client certificates."""
    from kessai.tls.ca import console_ca_file, load_or_create_console_ca

    settings = Settings()  # no database needed: nginx may be set up before the first migrate
    authority = load_or_create_console_ca(settings.var_dir)
    path = console_ca_file(settings.var_dir)
    if as_json:
        data = {
            "console_ca": str(path),
            "subject": authority.certificate.subject.rfc4514_string(),
            "not_valid_after": authority.certificate.not_valid_after_utc.isoformat(),
        }
        click.echo(json.dumps(data))
        return
    click.echo(str(path))
