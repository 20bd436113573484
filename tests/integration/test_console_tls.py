"""The console over TLS with real client certificates: each user's own certificate is required;
another user's is refused even with the right password; a revoked one is refused; behind a
reverse proxy, the certificate comes from a trusted proxy's header only."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select

from kessai.app import Runtime, create_app
from kessai.config import Settings
from kessai.core.console import certificates
from kessai.core.console.models import AuditEntry
from kessai.core.console.permissions import Role
from kessai.tls.ca import (
    client_ca_bundle,
    ensure_server_certificate,
    issue_merchant_certificate,
    server_ca_file,
)
from kessai.tls.server import build_uvicorn_config
from tests.support.console import (
    PASSWORD,
    ConsoleClient,
    StaffUser,
    UserCertificate,
    issue_certificate,
    make_user,
    signed_in,
)
from tests.support.servers import serve_app, serve_config
from tests.support.telegrams import form_body, header, parse_reply


@pytest.fixture(scope="module")
def tls_server(runtime: Runtime) -> Iterator[str]:
    """The whole gateway over TLS, as `kessai serve --tls`: both client CAs on one port."""
    var_dir = runtime.settings.var_dir
    cert, key = ensure_server_certificate(var_dir, ["127.0.0.1"])
    config = build_uvicorn_config(
        create_app(runtime, require_client_cert=True),
        host="127.0.0.1",
        port=0,
        cert=cert,
        key=key,
        client_ca=client_ca_bundle(var_dir),
        http="h11",
        log_level="warning",
    )
    with serve_config(config) as url:
        yield url


def tls(runtime: Runtime, certificate: UserCertificate | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(server_ca_file(runtime.settings.var_dir)))
    if certificate is not None:
        context.load_cert_chain(str(certificate.cert_path), str(certificate.key_path))
    return context


def staff(
    runtime, merchant, tmp_path: Path, role: Role = Role.GENERAL
) -> tuple[StaffUser, UserCertificate]:
    user = make_user(runtime, merchant.merchant_id, f"t{uuid.uuid4().hex[:10]}", role=role)
    return user, issue_certificate(runtime, user, tmp_path / user.login)


def last_login_audit(runtime, merchant_id: int) -> AuditEntry:
    with runtime.core.sessions() as session:
        return session.scalars(
            select(AuditEntry)
            .where(AuditEntry.merchant_id == merchant_id, AuditEntry.action == "login")
            .order_by(AuditEntry.id.desc())
        ).first()


def test_without_a_client_certificate_the_console_answers_403(runtime, tls_server):
    response = httpx.get(f"{tls_server}/console/login", verify=tls(runtime))
    assert response.status_code == 403
    assert "クライアント証明書が必要です" in response.text


def test_the_users_own_certificate_and_password_sign_in_with_a_secure_cookie(
    runtime, tls_server, merchant, tmp_path
):
    user, certificate = staff(runtime, merchant, tmp_path)
    client = ConsoleClient(tls_server, verify=tls(runtime, certificate))
    page = client.http.get("/console/login")
    token = page.text.split('name="login_csrf" value="')[1].split('"')[0]

    response = client.http.post(
        "/console/login", data={"login": user.login, "password": user.password, "login_csrf": token}
    )

    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert last_login_audit(runtime, merchant.merchant_id).result == "ok"


def test_another_users_certificate_is_refused_even_with_the_right_password(
    runtime, tls_server, merchant, tmp_path
):
    alice, _alice_cert = staff(runtime, merchant, tmp_path)
    _bob, bob_cert = staff(runtime, merchant, tmp_path)
    client = ConsoleClient(tls_server, verify=tls(runtime, bob_cert))

    response = client.sign_in(alice.login, alice.password)

    assert response.status_code == 401
    entry = last_login_audit(runtime, merchant.merchant_id)
    assert (entry.login, entry.result, entry.detail) == (alice.login, "failed", "wrong_certificate")


def test_a_user_without_a_certificate_of_their_own_cannot_sign_in_with_a_merchant_certificate(
    runtime, tls_server, merchant, tmp_path
):
    user = make_user(runtime, merchant.merchant_id, f"t{uuid.uuid4().hex[:10]}")
    merchant_cert = issue_merchant_certificate(
        runtime.settings.var_dir, merchant.merchant_id, tmp_path / "m", password="x"
    )
    context = tls(runtime)
    context.load_cert_chain(str(merchant_cert.cert_path), str(merchant_cert.key_path))

    response = ConsoleClient(tls_server, verify=context).sign_in(user.login, user.password)

    assert response.status_code == 401
    assert last_login_audit(runtime, merchant.merchant_id).detail == "wrong_certificate"


def test_a_revoked_certificate_ends_the_session_and_is_refused_afterwards(
    runtime, tls_server, merchant, tmp_path
):
    user, certificate = staff(runtime, merchant, tmp_path)
    client = signed_in(tls_server, user, verify=tls(runtime, certificate))
    assert client.get("/console/dashboard").status_code == 200

    with runtime.core.sessions.begin() as session:
        certificates.revoke(session, user.user_id, revoked_by="test", now=runtime.core.clock.now())

    assert client.get("/console/dashboard").status_code == 303
    assert (
        ConsoleClient(tls_server, verify=tls(runtime, certificate))
        .sign_in(user.login, PASSWORD)
        .status_code
        == 401
    )
    assert last_login_audit(runtime, merchant.merchant_id).detail == "wrong_certificate"


def test_a_certificate_of_a_foreign_ca_never_completes_the_handshake(runtime, tls_server, tmp_path):
    foreign = issue_merchant_certificate(tmp_path / "elsewhere", 777, tmp_path / "f", password="x")
    context = tls(runtime)
    context.load_cert_chain(str(foreign.cert_path), str(foreign.key_path))
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{tls_server}/console/login", verify=context)


def test_a_session_cookie_replayed_with_another_certificate_is_ended(
    runtime, tls_server, merchant, tmp_path
):
    user, certificate = staff(runtime, merchant, tmp_path)
    _other, other_cert = staff(runtime, merchant, tmp_path)
    client = signed_in(tls_server, user, verify=tls(runtime, certificate))
    stolen = dict(client.http.cookies)

    thief = httpx.Client(base_url=tls_server, verify=tls(runtime, other_cert), cookies=stolen)
    response = thief.get("/console/dashboard")

    assert response.status_code == 303
    assert client.get("/console/dashboard").status_code == 303  # the session is gone for good


def test_an_admin_issues_a_certificate_from_the_console_that_then_signs_the_user_in(
    runtime, tls_server, merchant, tmp_path
):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    admin, admin_cert = staff(runtime, merchant, tmp_path, role=Role.ADMIN)
    clerk = make_user(runtime, merchant.merchant_id, f"t{uuid.uuid4().hex[:10]}")
    client = signed_in(tls_server, admin, verify=tls(runtime, admin_cert))
    client.get(f"/console/users/{clerk.user_id}")
    issued = client.post(f"/console/users/{clerk.user_id}/certificate")
    password = issued.text.split('id="p12-password">')[1].split("<")[0]
    token = issued.text.split('name="token" value="')[1].split('"')[0]

    download = client.post("/console/certificates/download", {"token": token})
    again = client.post("/console/certificates/download", {"token": token})

    assert download.headers["content-type"] == "application/x-pkcs12"
    assert again.status_code == 404  # one download only
    bundle = pkcs12.load_pkcs12(download.content, password.encode())
    (tmp_path / "c.pem").write_bytes(
        bundle.cert.certificate.public_bytes(serialization.Encoding.PEM)
    )
    (tmp_path / "c.key").write_bytes(
        bundle.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = tls(runtime)
    context.load_cert_chain(str(tmp_path / "c.pem"), str(tmp_path / "c.key"))
    assert signed_in(tls_server, clerk, verify=context).get("/console/dashboard").status_code == 200


def test_merchants_modules_still_authenticate_on_the_same_port_and_console_certificates_do_not(
    runtime, tls_server, merchant, tmp_path
):
    merchant_cert = issue_merchant_certificate(
        runtime.settings.var_dir, merchant.merchant_id, tmp_path / "m", password="x"
    )
    _user, console_cert = staff(runtime, merchant, tmp_path)
    body = form_body(header(merchant, "094", trading_id="NOPE"))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    as_merchant = tls(runtime)
    as_merchant.load_cert_chain(str(merchant_cert.cert_path), str(merchant_cert.key_path))

    ok = httpx.post(
        f"{tls_server}/n/ref/paymentref", content=body, headers=headers, verify=as_merchant
    )
    refused = httpx.post(
        f"{tls_server}/n/ref/paymentref",
        content=body,
        headers=headers,
        verify=tls(runtime, console_cert),
    )

    assert parse_reply(ok.content).code != "P016"
    assert parse_reply(refused.content).code == "P016"


# --- behind a reverse proxy ------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxied(runtime: Runtime) -> Iterator[str]:
    """The gateway on plain HTTP behind a proxy at 127.0.0.1 that passes the certificate on."""
    settings = Settings(
        home=runtime.settings.home,
        database_url=runtime.settings.database_url,
        console_cert_header="X-SSL-Client-Cert",
        console_trusted_proxies=["127.0.0.1/32"],
    )
    app = create_app(Runtime(settings=settings, engine=runtime.engine, core=runtime.core))
    with serve_app(app, http="h11") as url:
        yield url


@pytest.fixture(scope="module")
def untrusting(runtime: Runtime) -> Iterator[str]:
    """The same, but configured to trust another proxy than the one at 127.0.0.1."""
    settings = Settings(
        home=runtime.settings.home,
        database_url=runtime.settings.database_url,
        console_cert_header="X-SSL-Client-Cert",
        console_trusted_proxies=["192.0.2.10"],
    )
    app = create_app(Runtime(settings=settings, engine=runtime.engine, core=runtime.core))
    with serve_app(app, http="h11") as url:
        yield url


def escaped(pem: bytes) -> str:
    return quote(pem.decode("ascii"), safe="")  # as nginx's $ssl_client_escaped_cert


def test_behind_a_trusted_proxy_the_certificate_header_signs_the_user_in(
    runtime, proxied, merchant, tmp_path
):
    user, certificate = staff(runtime, merchant, tmp_path)
    headers = {"X-SSL-Client-Cert": escaped(certificate.pem), "X-Real-IP": "203.0.113.7"}
    client = signed_in(proxied, user, headers=headers)

    assert client.get("/console/dashboard").status_code == 200
    entry = last_login_audit(runtime, merchant.merchant_id)
    assert (entry.result, entry.ip) == ("ok", "203.0.113.7")
    # The browser reached the proxy over HTTPS: the cookies are Secure (this test client speaks
    # plain HTTP to the app, so the sign-in above went without that header).
    secure = httpx.get(
        f"{proxied}/console/login", headers={**headers, "X-Forwarded-Proto": "https"}
    )
    assert "secure" in secure.headers["set-cookie"].lower()


def test_behind_the_proxy_no_header_or_a_forged_certificate_is_refused(
    runtime, proxied, merchant, tmp_path
):
    _user, certificate = staff(runtime, merchant, tmp_path)
    forged = issue_merchant_certificate(tmp_path / "forger", 123, tmp_path / "x", password="x")

    missing = httpx.get(f"{proxied}/console/login")
    forgery = httpx.get(
        f"{proxied}/console/login",
        headers={"X-SSL-Client-Cert": escaped(forged.cert_path.read_bytes())},
    )
    garbage = httpx.get(f"{proxied}/console/login", headers={"X-SSL-Client-Cert": "(null)"})

    assert missing.status_code == forgery.status_code == garbage.status_code == 403
    assert (
        httpx.get(
            f"{proxied}/console/login", headers={"X-SSL-Client-Cert": escaped(certificate.pem)}
        ).status_code
        == 200
    )


def test_the_header_from_an_untrusted_peer_is_ignored(runtime, untrusting, merchant, tmp_path):
    _user, certificate = staff(runtime, merchant, tmp_path)
    response = httpx.get(
        f"{untrusting}/console/login", headers={"X-SSL-Client-Cert": escaped(certificate.pem)}
    )
    assert response.status_code == 403
