"""The headers every page of ours carries (console, hosted payment page): its Content-Security-Policy,
no sniffing, no framing, no Referer (URLs may hold tokens), no caching, and HSTS over HTTPS."""

from __future__ import annotations

from starlette.responses import Response

HSTS = "max-age=31536000"


def page_headers(response: Response, *, csp: str, secure: bool) -> Response:
    headers = response.headers
    headers["content-security-policy"] = csp
    headers["x-content-type-options"] = "nosniff"
    headers["x-frame-options"] = "DENY"
    headers["referrer-policy"] = "no-referrer"
    headers["cache-control"] = "no-store"
    headers["cross-origin-opener-policy"] = "same-origin"
    if secure:
        headers["strict-transport-security"] = HSTS
    return response
