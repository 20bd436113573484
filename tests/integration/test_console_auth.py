"""Signing in to the console: argon2 hashes, first-login password change, lockout, 15-minute idle
expiry, CSRF on every form, cookie flags, and the audit log of it all."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from kessai.core.console.models import AuditEntry, ConsoleUser
from kessai.core.console.permissions import Permission, Role
from tests.support.console import PASSWORD, ConsoleClient, make_user, signed_in
from tests.support.telegrams import authorised


def login() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def audit_of(runtime, merchant_id: int) -> list[AuditEntry]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.merchant_id == merchant_id)
                .order_by(AuditEntry.id)
            )
        )


def test_passwords_are_stored_as_argon2id_hashes_never_in_the_clear(runtime, merchant):
    user = make_user(runtime, merchant.merchant_id, login())
    with runtime.core.sessions() as session:
        stored = session.get(ConsoleUser, user.user_id).password_hash
    assert stored.startswith("$argon2id$")
    assert user.password not in stored


def test_first_sign_in_must_change_the_initial_password_before_anything_else(
    runtime, server, merchant
):
    user = make_user(runtime, merchant.merchant_id, login())
    client = ConsoleClient(server)
    page = client.sign_in(user.login, user.password)

    assert page.url.path == "/console/password"
    assert client.get("/console/payments").headers["location"] == "/console/password"
    weak = client.post(
        "/console/password",
        {
            "current_password": user.password,
            "new_password": "short1",
            "new_password_again": "short1",
        },
    )
    assert weak.status_code == 400 and "12文字以上" in weak.text
    done = client.post(
        "/console/password",
        {
            "current_password": user.password,
            "new_password": PASSWORD,
            "new_password_again": PASSWORD,
        },
    )
    assert done.status_code == 303
    assert client.follow(client.get("/console/payments")).status_code == 200


def test_a_wrong_password_shows_the_same_message_as_an_unknown_login(runtime, server, merchant):
    user = make_user(runtime, merchant.merchant_id, login())
    wrong = ConsoleClient(server).sign_in(user.login, "not-the-password")
    unknown = ConsoleClient(server).sign_in("nobody-" + login(), "whatever")

    assert wrong.status_code == unknown.status_code == 401
    assert "ログインIDまたはパスワードが正しくない" in wrong.text
    assert wrong.text.count("正しくない") == unknown.text.count("正しくない")


def test_five_failures_lock_the_user_even_against_the_right_password_then_it_lifts(
    runtime, server, merchant, clock
):
    user = make_user(runtime, merchant.merchant_id, login())
    client = ConsoleClient(server)
    for _ in range(5):
        assert client.sign_in(user.login, "wrong-password-1").status_code == 401

    assert client.sign_in(user.login, user.password).status_code == 401
    entries = [e for e in audit_of(runtime, merchant.merchant_id) if e.action == "login"]
    assert [e.result for e in entries] == ["failed"] * 6
    assert "(now locked)" in entries[4].detail and entries[5].detail == "locked"

    clock.advance(timedelta(minutes=31))
    assert client.sign_in(user.login, user.password).url.path == "/console/password"


def test_a_session_ends_after_fifteen_idle_minutes(runtime, server, merchant, clock):
    client = signed_in(server, make_user(runtime, merchant.merchant_id, login()))
    clock.advance(timedelta(minutes=14))
    assert client.get("/console/dashboard").status_code == 200  # activity: the clock restarts
    clock.advance(timedelta(minutes=14, seconds=59))
    assert client.get("/console/dashboard").status_code == 200

    clock.advance(timedelta(minutes=15))
    response = client.get("/console/dashboard")

    assert (response.status_code, response.headers["location"]) == (
        303,
        "/console/login?expired=1",
    )
    assert "一定時間操作がなかった" in client.follow(response).text


def test_forms_without_the_session_csrf_token_are_refused_and_change_nothing(
    runtime, server, merchant
):
    admin = make_user(
        runtime, merchant.merchant_id, login(), role=Role.ADMIN, permissions=frozenset()
    )
    client = signed_in(server, admin)
    payment_id = authorised(server, merchant, "CSRF1")

    forged = client.post(
        "/console/payments/bulk",
        [("action", "capture"), ("payment_id", payment_id), ("key", "x" * 24)],
        csrf=False,
    )
    wrong = client.http.post(
        "/console/payments/bulk",
        data={"action": "capture", "payment_id": payment_id, "key": "y" * 24, "csrf_token": "no"},
    )

    assert forged.status_code == wrong.status_code == 403
    detail = client.get(f"/console/payments/{payment_id}")
    assert 'id="status">オーソリOK' in detail.text
    denied = [e for e in audit_of(runtime, merchant.merchant_id) if e.action == "bulk"]
    assert [e.result for e in denied] == ["denied", "denied"]


def test_the_sign_in_form_needs_its_double_submit_token(runtime, server, merchant):
    user = make_user(runtime, merchant.merchant_id, login())
    client = ConsoleClient(server)

    response = client.http.post(
        "/console/login", data={"login": user.login, "password": user.password}
    )

    assert response.status_code == 400
    assert "kessai_console" not in client.http.cookies


def test_cookies_are_httponly_samesite_strict_and_pages_carry_a_strict_csp(
    runtime, server, merchant
):
    user = make_user(runtime, merchant.merchant_id, login())
    client = ConsoleClient(server)
    page = client.http.get("/console/login")
    token = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    response = client.http.post(
        "/console/login", data={"login": user.login, "password": user.password, "login_csrf": token}
    )

    cookie = response.headers["set-cookie"].lower()
    assert "kessai_console=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "path=/console" in cookie
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def test_every_sign_in_and_action_is_in_the_audit_log_with_who_what_when_where_result(
    runtime, server, merchant
):
    user = make_user(runtime, merchant.merchant_id, login(), permissions=frozenset(Permission))
    client = signed_in(server, user)
    payment_id = authorised(server, merchant, "AUD1")
    client.get(f"/console/payments/{payment_id}")
    client.post("/console/logout")

    entries = audit_of(runtime, merchant.merchant_id)
    actions = [(e.action, e.result) for e in entries]
    assert actions[0] == ("login", "ok")
    assert ("password", "ok") in actions and ("detail", "ok") in actions
    assert actions[-1] == ("logout", "ok")
    detail = next(e for e in entries if e.action == "detail")
    assert (detail.login, detail.target, detail.ip) == (
        user.login,
        f"payment:{payment_id}",
        "127.0.0.1",
    )
    assert detail.at is not None
    assert all(PASSWORD not in e.detail and user.password not in e.detail for e in entries)


def test_admins_read_and_download_the_audit_log_general_users_cannot(runtime, server, merchant):
    admin = make_user(runtime, merchant.merchant_id, login(), role=Role.ADMIN)
    clerk = make_user(
        runtime,
        merchant.merchant_id,
        login(),
        permissions=frozenset(Permission) - {Permission.USERS},
    )
    admin_client, clerk_client = signed_in(server, admin), signed_in(server, clerk)

    page = admin_client.get("/console/audit", login=clerk.login)
    csv = admin_client.get("/console/audit.csv", encoding="utf-8")

    assert page.status_code == 200 and clerk.login in page.text
    assert csv.content.startswith(b"\xef\xbb\xbf") and clerk.login in csv.content.decode(
        "utf-8-sig"
    )
    assert clerk_client.get("/console/audit").status_code == 403
    assert clerk_client.get("/console/audit.csv").status_code == 403


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(runtime, server, merchant):
    admin = make_user(runtime, merchant.merchant_id, login(), role=Role.ADMIN)
    clerk = make_user(runtime, merchant.merchant_id, login())
    admin_client, clerk_client = signed_in(server, admin), signed_in(server, clerk)
    admin_client.get(f"/console/users/{clerk.user_id}")

    saved = admin_client.post(
        f"/console/users/{clerk.user_id}",
        {"role": "general", "permission": "view", "disabled": "1"},
    )

    assert saved.status_code == 303
    assert clerk_client.get("/console/dashboard").status_code == 303
    assert ConsoleClient(server).sign_in(clerk.login, PASSWORD).status_code == 401
