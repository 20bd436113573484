"""The frame every buyer page shares: plain HTML with inline styles only, so that it prints, reads
on a simple phone and works with no JavaScript and no CSS file."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qsl

from starlette.requests import Request

MAX_FORM_BYTES = 8192  # a buyer page's form is a few fields; more is not one of ours


async def read_form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """A POSTed buyer-page form (application/x-www-form-urlencoded, UTF-8 as our pages send it):
    nothing for a GET, and nothing for a body over `max_bytes` (read no further)."""
    if request.method != "POST":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return {}
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def page(title: str, body: str) -> str:
    """A whole page: `title` is escaped here, `body` is HTML its caller has escaped."""
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family:sans-serif;max-width:40em;margin:1em auto;padding:0 1em">'
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )
