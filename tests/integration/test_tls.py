"""Mutual TLS for real: Kessai's CAs and certificates, and uvicorn (httptools and h11) telling the app
which merchant's client certificate it verified."""

from __future__ import annotations

import os
import socket
import ssl
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from kessai.client import KessaiClient
from kessai.tls.ca import (
    IssuedCert,
    ensure_server_certificate,
    issue_merchant_certificate,
    merchant_ca_file,
    merchant_id_from_cert,
    server_ca_file,
)
from kessai.tls.server import build_uvicorn_config, peer_certificate, peer_merchant_id
from tests.support.servers import serve_config


@dataclass
class Pki:
    var_dir: Path
    merchant: IssuedCert  # merchant 123, from Kessai's merchant CA
    stranger: IssuedCert  # merchant 456, from another CA
    server_cert: Path
    server_key: Path

    def context(self, client: IssuedCert | None = None, **tls: object) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(server_ca_file(self.var_dir)))
        for name, value in tls.items():
            setattr(context, name, value)
        if client is not None:
            context.load_cert_chain(str(client.cert_path), str(client.key_path))
        return context


@dataclass
class Served:
    url: str
    seen: list[dict[str, object]]  # what the app saw, one entry per request


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    merchant = issue_merchant_certificate(root / "var", 123, root / "certs", password="changeit")
    stranger = issue_merchant_certificate(root / "other", 456, root / "stranger", password=None)
    cert, key = ensure_server_certificate(root / "var", ["kessai.test"])
    return Pki(root / "var", merchant, stranger, cert, key)


def echo_app(seen: list[dict[str, object]]) -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        entry = {
            "merchant_id": peer_merchant_id(request.scope),
            "has_certificate": peer_certificate(request.scope) is not None,
            "tls_extension": "tls" in request.scope.get("extensions", {}),
            "body": (await request.body()).decode("ascii"),
            "http_version": request.scope["http_version"],
        }
        seen.append(entry)
        return JSONResponse(entry)

    async def telegram(request: Request) -> PlainTextResponse:
        # Just enough of the module face for the SDK: who connected, as a telegram answer.
        merchant_id = peer_merchant_id(request.scope)
        return PlainTextResponse(f"\r\nresult=0\r\npeer_merchant_id={merchant_id}\r\n")

    return Starlette(
        routes=[
            Route("/", echo, methods=["GET", "POST"]),
            Route("/n/ref/paymentref", telegram, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="module", params=["httptools", "h11"])
def mtls_server(request: pytest.FixtureRequest, pki: Pki) -> Iterator[Served]:
    seen: list[dict[str, object]] = []
    config = build_uvicorn_config(
        echo_app(seen),
        host="127.0.0.1",
        port=0,
        cert=pki.server_cert,
        key=pki.server_key,
        client_ca=merchant_ca_file(pki.var_dir),
        http=request.param,
        log_level="warning",
    )
    with serve_config(config) as url:
        yield Served(url, seen)


# --- the handshake and what the app sees -------------------------------------------------------


def test_a_client_certificate_of_merchant_123_reaches_the_app_as_123(
    pki: Pki, mtls_server: Served
) -> None:
    answer = httpx.get(mtls_server.url, verify=pki.context(pki.merchant)).json()

    assert (answer["merchant_id"], answer["has_certificate"]) == (123, True)


def test_no_client_certificate_completes_the_handshake_and_the_app_sees_none(
    pki: Pki, mtls_server: Served
) -> None:
    answer = httpx.get(mtls_server.url, verify=pki.context()).json()

    assert (answer["merchant_id"], answer["has_certificate"], answer["tls_extension"]) == (
        None,
        False,
        True,
    )


@pytest.mark.parametrize(
    "tls", [{}, {"maximum_version": ssl.TLSVersion.TLSv1_2}], ids=["tls1.3", "tls1.2"]
)
def test_a_certificate_from_another_ca_fails_the_handshake_and_never_reaches_the_app(
    pki: Pki, mtls_server: Served, tls: dict[str, object]
) -> None:
    requests_before = len(mtls_server.seen)

    # TLS 1.2 refuses in the handshake; TLS 1.3 finishes the client's side first and the refusal
    # arrives on its first read. Either way no request is answered.
    with pytest.raises(httpx.TransportError):
        httpx.get(mtls_server.url, verify=pki.context(pki.stranger, **tls))

    assert len(mtls_server.seen) == requests_before


def test_with_tls_1_2_a_foreign_certificate_fails_inside_the_handshake(
    pki: Pki, mtls_server: Served
) -> None:
    port = int(mtls_server.url.rsplit(":", 1)[1])
    context = pki.context(pki.stranger, maximum_version=ssl.TLSVersion.TLSv1_2)

    # asyncio's TLS transport drops the connection without an alert: the client sees an EOF.
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw, server_hostname="127.0.0.1")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_server_certificate_verifies_against_the_server_ca_by_ip_and_by_name(
    pki: Pki, mtls_server: Served, host: str
) -> None:
    url = mtls_server.url.replace("127.0.0.1", host)

    response = httpx.get(url, verify=pki.context(pki.merchant))

    assert response.status_code == 200


def test_the_server_certificate_does_not_verify_against_the_merchant_ca(
    pki: Pki, mtls_server: Served
) -> None:
    context = ssl.create_default_context(cafile=str(merchant_ca_file(pki.var_dir)))

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(mtls_server.url, verify=context)


def test_an_http_1_0_request_without_host_and_with_trailing_crlfs_gets_200_and_close(
    pki: Pki, mtls_server: Served
) -> None:
    # The way an old build of PAYGENT's Java module writes its request by hand (spec §1.2).
    request = (
        b"POST / HTTP/1.0\r\n"
        b"Content-Type: application/x-www-form-urlencoded; charset=Windows-31J\r\n"
        b"Content-Length: 3\r\n"
        b"\r\n"
        b"a=b\r\n\r\n"
    )
    port = int(mtls_server.url.rsplit(":", 1)[1])

    context = pki.context(pki.merchant)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(request)
        reply = _read_until_closed(tls)

    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    assert status_line.split(" ")[1] == "200"
    assert headers["connection"].lower() == "close"
    assert int(headers["content-length"]) == len(body)
    assert b'"merchant_id":123' in body
    assert b'"body":"a=b"' in body  # the trailing CRLFs are not part of the body
    assert b'"http_version":"1.0"' in body


def _read_until_closed(tls: ssl.SSLSocket) -> bytes:
    chunks = []
    while chunk := tls.recv(65536):  # the server closes the connection: that is the end
        chunks.append(chunk)
    return b"".join(chunks)


def test_the_sdk_presents_its_client_certificate_and_verifies_the_server(
    pki: Pki, mtls_server: Served
) -> None:
    with KessaiClient(
        mtls_server.url.replace("127.0.0.1", "localhost"),
        merchant_id=123,
        connect_id="shop",
        connect_password="pw",
        cert=(str(pki.merchant.cert_path), str(pki.merchant.key_path)),
        ca=str(server_ca_file(pki.var_dir)),
    ) as kessai:
        answer = kessai.inquire(payment_id=1)

    assert answer.get("peer_merchant_id") == "123"


def test_plain_http_works_and_has_no_tls_extension() -> None:
    seen: list[dict[str, object]] = []
    config = build_uvicorn_config(echo_app(seen), host="127.0.0.1", port=0, log_level="warning")

    with serve_config(config) as url:
        answer = httpx.post(url, content=b"x=1").json()

    assert url.startswith("http://")
    assert (answer["merchant_id"], answer["tls_extension"]) == (None, False)


def test_mutual_tls_options_without_a_server_certificate_are_refused() -> None:
    with pytest.raises(ValueError, match="need cert"):
        build_uvicorn_config(echo_app([]), host="127.0.0.1", port=0, client_ca="ca.pem")


def test_peer_helpers_answer_none_for_a_scope_without_tls() -> None:
    assert peer_merchant_id({"type": "http"}) is None
    assert peer_certificate({"type": "http", "extensions": {}}) is None


# --- the CAs and certificates on disk ----------------------------------------------------------


def test_a_merchant_certificate_names_the_merchant_and_is_for_client_auth(pki: Pki) -> None:
    cert = x509.load_pem_x509_certificate(pki.merchant.cert_path.read_bytes())

    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "123"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Kessai merchant"
    )
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days in (825, 826)
    assert merchant_id_from_cert(cert) == 123


def test_private_keys_and_bundles_are_readable_by_the_owner_only(pki: Pki) -> None:
    paths = [pki.merchant.key_path, pki.merchant.p12_path, pki.server_key]
    paths.append(pki.var_dir / "ca" / "merchant-ca.key")

    for path in paths:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_the_pkcs12_bundle_opens_with_its_password_and_holds_key_cert_and_ca(pki: Pki) -> None:
    bundle = pkcs12.load_pkcs12(pki.merchant.p12_path.read_bytes(), b"changeit")

    assert bundle.cert is not None and bundle.key is not None
    assert merchant_id_from_cert(bundle.cert.certificate) == 123
    assert [c.certificate.subject for c in bundle.additional_certs] == [
        x509.load_pem_x509_certificate(merchant_ca_file(pki.var_dir).read_bytes()).subject
    ]


def test_without_a_password_one_is_generated_returned_and_kept_out_of_repr(pki: Pki) -> None:
    password = pki.stranger.p12_password

    assert len(password) >= 16
    assert pkcs12.load_pkcs12(pki.stranger.p12_path.read_bytes(), password.encode()).cert
    assert password not in repr(pki.stranger)


def test_the_merchant_ca_is_created_once_and_reused(pki: Pki, tmp_path: Path) -> None:
    ca_before = merchant_ca_file(pki.var_dir).read_bytes()

    again = issue_merchant_certificate(pki.var_dir, 124, tmp_path, password="x")

    assert merchant_ca_file(pki.var_dir).read_bytes() == ca_before
    ca = x509.load_pem_x509_certificate(ca_before)
    x509.load_pem_x509_certificate(again.cert_path.read_bytes()).verify_directly_issued_by(ca)
    assert again.serial_number != pki.merchant.serial_number


def test_the_server_certificate_is_kept_while_it_covers_the_hosts_and_reissued_for_new_ones(
    pki: Pki,
) -> None:
    before = pki.server_cert.read_bytes()

    assert ensure_server_certificate(pki.var_dir, ["kessai.test"]) == (
        pki.server_cert,
        pki.server_key,
    )
    assert pki.server_cert.read_bytes() == before

    ensure_server_certificate(pki.var_dir, ["kessai.test", "10.0.0.7", "0.0.0.0"])
    cert = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "kessai.test"}
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "::1",
        "10.0.0.7",
    }


def test_merchant_id_from_cert_reads_der_and_getpeercert_dicts(pki: Pki) -> None:
    der = ssl.PEM_cert_to_DER_cert(pki.merchant.cert_path.read_text())
    peercert = {"subject": ((("organizationName", "Kessai merchant"),), (("commonName", "123"),))}

    assert merchant_id_from_cert(der) == 123
    assert merchant_id_from_cert(peercert) == 123
    assert merchant_id_from_cert({"subject": ((("commonName", "shop-1"),),)}) is None
    assert merchant_id_from_cert({"subject": ((("commonName", "1234567890"),),)}) is None
    assert merchant_id_from_cert(None) is None


def test_a_merchant_id_outside_nine_digits_is_refused(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="9 digits"):
        issue_merchant_certificate(pki.var_dir, 1_000_000_000, tmp_path, password="x")
