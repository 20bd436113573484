"""The hosted payment page's routes (`/link/…`) and what every request passes through: the visit is
decoded, a POST's CSRF token and origin are checked, the handler runs in a worker thread, and the
response gets the page's security headers and the CSRF cookie.

    GET  /link/static/{name}          the stylesheet (no scripts exist)
    GET  /link/logo/{merchant_id}     the merchant's logo (ETag)
    GET  /link/{token}                the top page: menu, or the page's standing
    GET  /link/{token}/back           return from the bank or carrier
    GET  /link/{token}/card/3ds       return from the 3-D Secure ACS (term_url)
    GET  /link/{token}/{method}       card | cvs | atm | bank | carrier forms
    POST /link/{token}/{method}       pay / issue / go to the bank or carrier
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from kessai.core.context import Core
from kessai.core.link import logo
from kessai.web.link import card, csrf, methods, pages
from kessai.web.link.render import secure_headers
from kessai.web.link.visit import Visit, read

log = logging.getLogger("kessai.link")

STATIC = Path(__file__).parent / "static"
Handler = Callable[[Core, Visit], Response]

GETS: dict[str, Handler] = {
    "card": card.form,
    "cvs": methods.cvs_form,
    "atm": methods.atm_form,
    "bank": methods.bank_form,
    "carrier": methods.carrier_form,
}
POSTS: dict[str, Handler] = {
    "card": card.submit,
    "cvs": methods.apply_cvs,
    "atm": methods.apply_atm,
    "bank": methods.start_bank,
    "carrier": methods.start_carrier,
}


@dataclass(frozen=True)
class LinkPagesFace:
    core: Core
    public_url: str | None = None

    def routes(self) -> list[Route]:
        return [
            Route("/link/static/{name}", static, methods=["GET"]),
            Route("/link/logo/{merchant_id:int}", self.logo, methods=["GET"]),
            Route("/link/{token}", self._endpoint(pages.top), methods=["GET"]),
            Route("/link/{token}/back", self._endpoint(pages.back), methods=["GET"]),
            Route("/link/{token}/card/3ds", self._endpoint(card.finish_3ds), methods=["GET"]),
            Route("/link/{token}/{method}", self._method, methods=["GET", "POST"]),
        ]

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, handler)

        return endpoint

    async def _method(self, request: Request) -> Response:
        table = POSTS if request.method == "POST" else GETS
        handler = table.get(request.path_params["method"], _unknown)
        return await self._serve(request, handler)

    async def _serve(self, request: Request, handler: Handler) -> Response:
        visit = await read(request, self.public_url)
        if request.method == "POST":
            why = csrf.refused(
                request, visit.form, self.core.secret, visit.token, set(visit.origins)
            )
            if why:
                log.warning("link page POST refused: %s", why)
                handler = _forbidden
        response = await run_in_threadpool(handler, self.core, visit)
        if "content-security-policy" not in response.headers:
            secure_headers(response, secure=visit.secure)
        csrf.remember(response, request, visit.cookie, secure=visit.secure)
        return response

    async def logo(self, request: Request) -> Response:
        """The logo, cacheable by its ETag (the sha256 of its bytes)."""
        found = await run_in_threadpool(
            logo.get_logo, self.core, request.path_params["merchant_id"]
        )
        if found is None:
            return secure_headers(Response("not found", 404, media_type="text/plain"), secure=False)
        etag = f'"{found.sha256}"'
        headers = {
            "etag": etag,
            "x-content-type-options": "nosniff",
            "cache-control": "public, max-age=300",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(found.data, media_type=found.content_type, headers=headers)


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        return secure_headers(Response("not found", 404, media_type="text/plain"), secure=False)
    response = FileResponse(path)
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["cache-control"] = "public, max-age=3600"
    return response


def _unknown(_core: Core, visit: Visit) -> Response:
    return pages.not_found(visit)


def _forbidden(_core: Core, visit: Visit) -> Response:
    """A POST without a valid CSRF token (or from another site): nothing is done."""
    return pages.expired_form(visit)
