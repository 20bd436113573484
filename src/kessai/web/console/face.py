"""The console face: routes under /console/ and the checks every request passes, in this order —

1. the client certificate (when required): none → 403, before anything else is read;
2. the session cookie: unknown, idle for 15 minutes or older than 12 hours → the sign-in page;
   a session is bound to the certificate it was opened with, so a session cookie stolen without
   that certificate is useless;
3. a first sign-in must change the initial password before anything else;
4. the page's permission, checked here on the server for every request (403 and an audit entry
   otherwise), whatever the page showed;
5. on POST, the session's CSRF token from the form;
6. the handler, in a worker thread; then one audit entry: who, what, when, from where, result.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from kessai.core.console import audit, sessions
from kessai.core.console.audit import Actor
from kessai.core.context import Core, MerchantRef
from kessai.core.merchants.commands import get_merchant
from kessai.kit.errors import AuthError, InvalidRequest, InvalidState, KessaiError, NotFound
from kessai.web.console import identity
from kessai.web.console.config import COOKIE, PREFIX, ConsoleConfig
from kessai.web.console.context import AuditNote, Ctx
from kessai.web.console.jobs import Jobs
from kessai.web.console.render import no_certificate, security_headers
from kessai.web.console.routing import Page
from kessai.web.console.uploads import Uploads

log = logging.getLogger("kessai.console")

MAX_FORM_FIELDS = 2000  # a bulk form carries one field per selected payment
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class ConsoleFace:
    core: Core
    config: ConsoleConfig
    # The process's background reconciliations and the order lists uploaded for them.
    jobs: Jobs = field(init=False)
    uploads: Uploads = field(init=False)

    def __post_init__(self) -> None:
        jobs = Jobs(clock=self.core.clock.now, directory=self.config.var_dir / "reconcile-jobs")
        object.__setattr__(self, "jobs", jobs)
        object.__setattr__(self, "uploads", Uploads(self.config.var_dir / "reconcile-uploads"))

    def mount(self) -> Mount:
        from kessai.web.console.pages import PAGES
        from kessai.web.console.pages.signin import SignInPages

        signin = SignInPages(self.core, self.config)
        routes = [
            Route("/", self._home, methods=["GET"]),
            Route("/static/{name}", self._static, methods=["GET"]),
            Route("/login", signin.show, methods=["GET"]),
            Route("/login", signin.submit, methods=["POST"]),
        ]
        for spec in PAGES:
            routes.append(Route(spec.path, self._endpoint(spec), methods=list(spec.methods)))
        return Mount(PREFIX, routes=routes)

    # ------------------------------------------------------------ plumbing

    def _endpoint(self, spec: Page) -> Callable[[Request], object]:
        async def endpoint(request: Request) -> Response:
            form = None
            if request.method == "POST":
                form = await request.form(max_files=spec.files, max_fields=MAX_FORM_FIELDS)
            try:
                response = await run_in_threadpool(self.serve, spec, request, form)
            finally:
                if form is not None:
                    await form.close()
            return response

        return endpoint

    async def _home(self, _request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/dashboard", status_code=303)

    async def _static(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            return security_headers(Response("not found", 404), secure=False)
        response = FileResponse(path)
        response.headers["x-content-type-options"] = "nosniff"
        response.headers["cache-control"] = "max-age=3600"
        return response

    def serve(self, spec: Page, request: Request, form: FormData | None) -> Response:
        certificate, ip, secure = identity.facts(self.config, request.scope, request.headers)
        if self.config.require_certificate and certificate is None:
            return no_certificate(secure)
        ctx = self._context(spec, request, form, certificate, ip, secure)
        if isinstance(ctx, Response):
            return security_headers(ctx, secure=secure)
        refusal = self._refusal(spec, request, ctx)
        response = refusal if refusal is not None else self._run(spec, ctx)
        self.record(ctx.actor, ctx.note)
        return security_headers(response, secure=secure)

    def _context(
        self,
        spec: Page,
        request: Request,
        form: FormData | None,
        certificate: str | None,
        ip: str,
        secure: bool,
    ) -> Ctx | Response:
        token = request.cookies.get(COOKIE, "")
        now = self.core.clock.now()
        with self.core.sessions.begin() as session:
            active = (
                sessions.resume(session, token, now=now, idle=self.config.idle) if token else None
            )
            if active is not None and active.cert_fingerprint != (certificate or ""):
                # The certificate changed under the session: someone else's browser or a stolen
                # cookie. End the session rather than let it continue.
                sessions.close(session, token)
                audit.record(
                    session,
                    Actor(active.user.merchant_id, active.user.id, active.user.login, ip),
                    "session",
                    result="denied",
                    detail="certificate does not match the session",
                    now=now,
                )
                active = None
            if active is None:
                return self._to_login(request, expired=bool(token))
            merchant = get_merchant(session, active.user.merchant_id)
            ref, name = MerchantRef.of(merchant), merchant.name
        user = active.user
        return Ctx(
            core=self.core,
            config=self.config,
            user=user,
            merchant=ref,
            merchant_name=name,
            csrf=active.csrf_token,
            token=token,
            actor=Actor(user.merchant_id, user.id, user.login, ip),
            query=request.query_params,
            form=form,
            path=request.path_params,
            secure=secure,
            certificate=certificate,
            note=AuditNote(spec.action),
            jobs=self.jobs,
            uploads=self.uploads,
        )

    def _to_login(self, request: Request, *, expired: bool) -> Response:
        target = f"{PREFIX}/login" + ("?expired=1" if expired else "")
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    def _refusal(self, spec: Page, request: Request, ctx: Ctx) -> Response | None:
        if ctx.user.must_change_password and spec.action not in ("password", "logout"):
            ctx.note.result, ctx.note.detail = "denied", "initial password not changed yet"
            return RedirectResponse(f"{PREFIX}/password", status_code=303)
        if spec.permission is not None and not ctx.user.can(spec.permission):
            ctx.note.result, ctx.note.detail = "denied", f"needs permission {spec.permission}"
            return ctx.render(
                "error.html",
                status_code=403,
                title="権限がありません",
                message="この操作を行う権限がありません。管理者にお問い合わせください。",
            )
        if request.method == "POST" and not secrets.compare_digest(
            ctx.field("csrf_token"), ctx.csrf
        ):
            ctx.note.result, ctx.note.detail = "denied", "missing or wrong CSRF token"
            return ctx.render(
                "error.html",
                status_code=403,
                title="画面の有効期限切れ",
                message="画面を開き直してから、もう一度操作してください。",
            )
        return None

    def _run(self, spec: Page, ctx: Ctx) -> Response:
        try:
            return spec.handler(ctx)
        except KessaiError as error:
            ctx.note.result, ctx.note.detail = "failed", f"{error.code} {error.message}"
            return ctx.render(
                "error.html",
                status_code=_status_of(error),
                title="処理できませんでした",
                message=error.message,
            )
        except Exception:
            log.exception("console %s failed for user %s", spec.action, ctx.user.id)
            ctx.note.result, ctx.note.detail = "error", "internal error"
            return ctx.render(
                "error.html",
                status_code=500,
                title="システムエラー",
                message="システムエラーが発生しました。時間をおいて再度お試しください。",
            )

    def record(self, actor: Actor, note: AuditNote) -> None:
        with self.core.sessions.begin() as session:
            audit.record(
                session,
                actor,
                note.action,
                result=note.result,
                target=note.target,
                detail=note.detail,
                now=self.core.clock.now(),
            )


def _status_of(error: KessaiError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, AuthError):
        return 403
    if isinstance(error, InvalidState):
        return 409
    if isinstance(error, InvalidRequest):
        return 400
    return 500
