"""The frame every buyer page shares: plain HTML with inline styles only, so that it prints, reads
on a simple phone and works with no JavaScript and no CSS file."""

from __future__ import annotations

from html import escape


def page(title: str, body: str) -> str:
    """A whole page: `title` is escaped here, `body` is HTML its caller has escaped."""
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family:sans-serif;max-width:40em;margin:1em auto;padding:0 1em">'
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )
