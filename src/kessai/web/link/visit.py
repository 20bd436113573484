"""One buyer request to the hosted page, decoded: the page token, the language, the CSRF cookie,
where the gateway is reached (for absolute URLs and the Origin check) and the posted form.

Form bodies are read as UTF-8 `application/x-www-form-urlencoded` (our forms send nothing else) and
never logged: they hold card numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from starlette.requests import Request

from kessai.web.buyer.html import read_form
from kessai.web.link import csrf, i18n
from kessai.web.link.render import origin

MAX_FORM_BYTES = 16 * 1024
PAGE_PREFIX = "/link"


@dataclass(frozen=True)
class Visit:
    token: str
    language: i18n.Language
    cookie: str
    base_url: str  # the public base URL, no trailing slash
    secure: bool
    origins: frozenset[str]
    query: Mapping[str, str]
    accept_language: str
    form: Mapping[str, str] = field(default_factory=dict)

    def url(self, suffix: str = "", **params: str) -> str:
        """A path of this page (`/link/<token><suffix>`), carrying `?lang=` when the URL chose it."""
        return _with_lang(f"{PAGE_PREFIX}/{self.token}{suffix}", self.language, params)

    def absolute(self, suffix: str = "", **params: str) -> str:
        return self.base_url + self.url(suffix, **params)

    def in_language(self, language_code: str) -> Visit:
        """The visit once the page's own `language_code` is known (the URL and browser aside)."""
        chosen = i18n.choose(self.query.get("lang", ""), language_code, self.accept_language)
        return replace(self, language=chosen)


def _with_lang(path: str, language: i18n.Language, params: Mapping[str, str]) -> str:
    query = dict(params)
    if language.explicit:
        query["lang"] = language.code
    return f"{path}?{urlencode(query)}" if query else path


def lang_url(path: str, language: i18n.Language) -> str:
    return _with_lang(path, language, {})


async def read(request: Request, public_url: str | None) -> Visit:
    """The visit a request makes; the form is read for a POST (too long a body: no fields)."""
    form = await read_form(request, MAX_FORM_BYTES)
    base = (public_url or str(request.base_url)).rstrip("/")
    own = origin(str(request.base_url))
    accept = request.headers.get("accept-language", "")
    return Visit(
        token=request.path_params.get("token", ""),
        language=i18n.choose(request.query_params.get("lang", ""), "", accept),
        cookie=csrf.cookie_of(request),
        base_url=base,
        secure=request.url.scheme == "https" or base.startswith("https://"),
        origins=frozenset(o for o in (own, origin(base)) if o),
        query=dict(request.query_params),
        accept_language=accept,
        form=form,
    )
