"""The hosted page's response headers: the CSP has no script source, widens only by one exact
origin, and HSTS is sent over HTTPS only."""

from __future__ import annotations

from starlette.responses import Response

from kessai.web.link.render import CSP_BASE, csp, origin, secure_headers

STRICT = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def test_the_policy_has_no_script_source():
    assert csp() == STRICT
    assert "script" not in csp(images="https://a.example", forms="https://b.example")


def test_one_origin_is_added_where_asked():
    policy = csp(images="https://cdn.example", forms="https://shop.example:8443")
    assert "img-src 'self' data: https://cdn.example;" in policy
    assert "form-action 'self' https://shop.example:8443;" in policy


def test_origin_of_merchant_urls():
    assert origin("https://shop.example/thanks?x=1") == "https://shop.example"
    assert origin("http://127.0.0.1:8000/a") == "http://127.0.0.1:8000"
    for bad in ("", "javascript:alert(1)", "data:text/html,x", "//shop.example/x"):
        assert origin(bad) == ""


def test_hsts_only_over_https():
    plain = secure_headers(Response(), secure=False)
    tls = secure_headers(Response(), secure=True)
    assert "strict-transport-security" not in plain.headers
    assert tls.headers["strict-transport-security"] == "max-age=31536000"
    assert tls.headers["referrer-policy"] == "no-referrer"
    assert tls.headers["cache-control"] == "no-store"


def test_an_origin_is_only_ever_scheme_host_and_port():
    """A URL whose authority could carry a `;` or `,` into the CSP gives no origin at all."""
    for bad in (
        "https://cdn.example;sandbox/b.png",
        "https://cdn.example;img-src/x",
        "https://cdn.example,x/b.png",
        "https://cdn.example'/b.png",
        "https://u@cdn.example/b.png",
        "https://cdn.example:99999/b.png",
        "https://cdn.example:8x/b.png",
    ):
        assert origin(bad) == "", bad
    assert origin("https://CDN.Example:8443/b.png") == "https://cdn.example:8443"


def test_the_policy_keeps_its_directives_whatever_the_banner():
    policy = csp(images=origin("https://cdn.example;sandbox/b.png"))
    names = [part.split()[0] for part in policy.split(";")]
    assert names == list(CSP_BASE)
