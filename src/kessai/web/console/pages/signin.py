"""Signing in and out, and changing one's password.

The sign-in form has no session yet, so its CSRF protection is a double-submit token: a random
value in a SameSite=Strict cookie that the form must repeat. Every refusal shows the same message
(the audit log keeps the reason), and every attempt is audited, successful or not.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kessai.core.console import audit, sessions, users
from kessai.core.console.audit import Actor
from kessai.core.context import Core
from kessai.kit.errors import AuthError, InvalidRequest
from kessai.web.console import identity
from kessai.web.console.config import COOKIE, LOGIN_COOKIE, PREFIX, ConsoleConfig
from kessai.web.console.context import Ctx
from kessai.web.console.render import no_certificate, page, security_headers

REFUSED = "ログインIDまたはパスワードが正しくないか、このアカウントは現在ログインできません。"


@dataclass(frozen=True)
class SignInPages:
    core: Core
    config: ConsoleConfig

    async def show(self, request: Request) -> Response:
        return await run_in_threadpool(self._show, request)

    async def submit(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=20)
        try:
            return await run_in_threadpool(self._submit, request, form)
        finally:
            await form.close()

    def _show(self, request: Request, *, error: str = "", status_code: int = 200) -> Response:

        certificate, _ip, secure = identity.facts(self.config, request.scope, request.headers)
        if self.config.require_certificate and certificate is None:
            return no_certificate(secure)
        token = secrets.token_urlsafe(24)
        notice = (
            "一定時間操作がなかったため、ログアウトしました。"
            if request.query_params.get("expired")
            else ""
        )
        response = page(
            "login.html",
            {
                "login_csrf": token,
                "error": error,
                "notice": notice,
                "certificates_off": not self.config.require_certificate,
            },
            status_code=status_code,
        )
        response.set_cookie(
            LOGIN_COOKIE, token, httponly=True, secure=secure, samesite="strict", path=PREFIX
        )
        return security_headers(response, secure=secure)

    def _submit(self, request: Request, form: FormData) -> Response:

        certificate, ip, secure = identity.facts(self.config, request.scope, request.headers)
        if self.config.require_certificate and certificate is None:
            return no_certificate(secure)
        sent = form.get("login_csrf")
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not isinstance(sent, str) or not expected or not secrets.compare_digest(sent, expected):
            return self._show(
                request,
                error="画面を開き直してから、もう一度ログインしてください。",
                status_code=400,
            )
        login = str(form.get("login") or "").strip()[:64]
        password = str(form.get("password") or "")
        token = self._sign_in(login, password, certificate, ip)
        if token is None:
            return self._show(request, error=REFUSED, status_code=401)
        response = RedirectResponse(f"{PREFIX}/dashboard", status_code=303)
        response.set_cookie(
            COOKIE, token, httponly=True, secure=secure, samesite="strict", path=PREFIX
        )
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return security_headers(response, secure=secure)

    def _sign_in(self, login: str, password: str, certificate: str | None, ip: str) -> str | None:
        core, config = self.core, self.config
        now = core.clock.now()
        with core.sessions.begin() as session:
            result = users.sign_in(
                session,
                login=login,
                password=password,
                certificate=certificate,
                require_certificate=config.require_certificate,
                now=now,
                policy=config.lockout,
            )
            user = result.user
            actor = Actor(user.merchant_id if user else None, user.id if user else None, login, ip)
            if not result.ok or user is None:
                detail = str(result.refusal) + (" (now locked)" if result.just_locked else "")
                audit.record(session, actor, "login", result="failed", detail=detail, now=now)
                return None
            # Sessions nobody came back to are swept here, one cheap DELETE per sign-in.
            sessions.purge_expired(session, now=now, idle=config.idle)
            token = sessions.open_session(
                session, user.id, cert_fingerprint=certificate or "", ip=ip, now=now
            )
            audit.record(session, actor, "login", now=now)
            return token


def logout(ctx: Ctx) -> Response:

    with ctx.core.sessions.begin() as session:
        sessions.close(session, ctx.token)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


def password_form(ctx: Ctx) -> Response:
    return ctx.render("password.html", error="", done=False)


def change_password(ctx: Ctx) -> Response:

    new, again = ctx.field("new_password"), ctx.field("new_password_again")
    first_time = ctx.user.must_change_password
    try:
        if new != again:
            raise InvalidRequest(message="確認用のパスワードが一致しません。")
        with ctx.core.sessions.begin() as session:
            users.change_password(
                session,
                ctx.user.id,
                current=ctx.field("current_password"),
                new=new,
                now=ctx.core.clock.now(),
            )
            sessions.close_all(session, ctx.user.id, keep_token=ctx.token)
    except (InvalidRequest, AuthError) as error:
        ctx.note.result, ctx.note.detail = "failed", error.message
        return ctx.render("password.html", status_code=400, error=error.message, done=False)
    if first_time:
        return RedirectResponse(f"{PREFIX}/dashboard", status_code=303)
    return ctx.render("password.html", error="", done=True)
