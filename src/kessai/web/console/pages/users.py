"""User administration: staff accounts, their permissions and their client certificates.

Initial passwords and PKCS#12 passwords are shown once, on the page that made them, and are kept
nowhere in the clear (nor in the audit log). The PKCS#12 itself waits for one download, 10 minutes
at most.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse, Response

from kessai.core.console import certificates, sessions, users
from kessai.core.console.permissions import (
    PERMISSION_LABELS,
    ROLE_LABELS,
    Role,
    parse_permissions,
    parse_role,
)
from kessai.core.console.users import UserView
from kessai.tls.ca import issue_console_certificate
from kessai.web.console.config import PREFIX
from kessai.web.console.context import Ctx


def _target(ctx: Ctx) -> UserView:
    with ctx.core.sessions() as session:
        target = users.get_user_of(session, ctx.merchant.id, int(ctx.path["user_id"]))
    users.check_may_manage(ctx.user, target)
    ctx.note.target = f"user:{target.login}"
    return target


def _common() -> dict[str, Any]:
    return {"roles": ROLE_LABELS, "all_permissions": PERMISSION_LABELS}


def list_users(ctx: Ctx) -> Response:
    now = ctx.core.clock.now()
    with ctx.core.sessions() as session:
        found = users.list_users(session, ctx.merchant.id)
        live = certificates.live_by_user(session, [u.id for u in found], now)
    return ctx.render("users.html", users=found, live=live, now=now, **_common())


def new_user(ctx: Ctx) -> Response:
    users.check_may_manage(ctx.user, None)
    return ctx.render("user_new.html", error="", **_common())


def create_user(ctx: Ctx) -> Response:
    role = parse_role(ctx.field("role", "general"))
    granted = parse_permissions(ctx.fields("permission"))
    users.check_may_manage(ctx.user, None, role=role, permissions=granted)
    login = ctx.field("login")
    ctx.note.target = f"user:{login}"
    with ctx.core.sessions.begin() as session:
        created = users.create_user(
            session,
            merchant_id=ctx.merchant.id,
            login=login,
            role=role,
            permissions=granted,
            now=ctx.core.clock.now(),
        )
    ctx.note.detail = f"role={created.role} permissions={','.join(created.permissions)}"
    return ctx.render(
        "user_password.html",
        login=created.login,
        password=created.initial_password,
        created=True,
    )


def edit_user(ctx: Ctx) -> Response:
    target = _target(ctx)
    now = ctx.core.clock.now()
    with ctx.core.sessions() as session:
        history = certificates.history(session, target.id)
    return ctx.render(
        "user_edit.html",
        target=target,
        history=history,
        now=now,
        myself=target.id == ctx.user.id,
        **_common(),
    )


def update_user(ctx: Ctx) -> Response:
    target = _target(ctx)
    role = parse_role(ctx.field("role", target.role.value))
    granted = parse_permissions(ctx.fields("permission"))
    disabled = ctx.field("disabled") == "1"
    changes = (
        role is not target.role
        or disabled != target.disabled
        or (role is Role.GENERAL and granted != target.granted)
    )
    users.check_may_manage(ctx.user, target, role=role, permissions=granted, changes_self=changes)
    with ctx.core.sessions.begin() as session:
        updated = users.update_user(
            session,
            target.id,
            role=role,
            permissions=granted,
            disabled=disabled,
            unlock=ctx.field("unlock") == "1",
            now=ctx.core.clock.now(),
        )
        if disabled:
            sessions.close_all(session, target.id)
    ctx.note.detail = (
        f"role={updated.role.value} permissions={','.join(sorted(updated.granted))} "
        f"disabled={updated.disabled}"
    )
    return RedirectResponse(f"{PREFIX}/users/{target.id}?saved=1", status_code=303)


def reset_password(ctx: Ctx) -> Response:
    target = _target(ctx)
    with ctx.core.sessions.begin() as session:
        password = users.reset_password(session, target.id, now=ctx.core.clock.now())
        sessions.close_all(session, target.id)
    return ctx.render("user_password.html", login=target.login, password=password, created=False)


def issue_certificate(ctx: Ctx) -> Response:
    """A new client certificate for the user (the old one is revoked): PKCS#12 with a one-time
    password shown on this page only, downloadable once."""
    target = _target(ctx)
    now = ctx.core.clock.now()
    issued = issue_console_certificate(ctx.config.var_dir, target.login, password=None, now=now)
    with ctx.core.sessions.begin() as session:
        certificates.record_issued(
            session,
            target.id,
            serial=issued.serial_number,
            fingerprint=issued.sha256_fingerprint,
            not_valid_after=issued.not_valid_after,
            issued_by=ctx.user.login,
            now=now,
        )
        token = certificates.hold_download(
            session,
            user_id=target.id,
            issued_by_user_id=ctx.user.id,
            filename=f"{target.login}.p12",
            p12=issued.p12,
            now=now,
        )
    ctx.note.detail = f"serial={issued.serial_number:x}"
    return ctx.render(
        "cert_issued.html",
        target=target,
        password=issued.p12_password,
        token=token,
        serial=f"{issued.serial_number:x}",
        not_valid_after=issued.not_valid_after,
    )


def download_certificate(ctx: Ctx) -> Response:
    with ctx.core.sessions.begin() as session:
        filename, p12 = certificates.take_download(
            session, ctx.field("token"), issued_by_user_id=ctx.user.id, now=ctx.core.clock.now()
        )
    ctx.note.target = f"certificate:{filename}"
    return Response(
        p12,
        media_type="application/x-pkcs12",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


def revoke_certificate(ctx: Ctx) -> Response:
    target = _target(ctx)
    with ctx.core.sessions.begin() as session:
        count = certificates.revoke(
            session, target.id, revoked_by=ctx.user.login, now=ctx.core.clock.now()
        )
    ctx.note.detail = f"revoked {count}"
    return RedirectResponse(f"{PREFIX}/users/{target.id}?revoked={count}", status_code=303)
