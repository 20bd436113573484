"""Driving the console over HTTP the way a browser does: sign in (the double-submit token of the
sign-in form, then the first-login password change), then pages and forms with the session's
CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from kessai.app import Runtime
from kessai.connectors.base import CardData
from kessai.core.console import certificates, users
from kessai.core.console.permissions import Permission, Role
from kessai.core.context import MerchantRef
from kessai.core.merchants.commands import get_merchant
from kessai.core.payments.card import commands
from kessai.core.payments.card.commands import AuthorizeRequest
from kessai.core.payments.cvs import commands as cvs
from kessai.core.payments.cvs.commands import CvsRequest
from kessai.kit.secrets import CardNumber
from kessai.tls.ca import issue_console_certificate

PASSWORD = "correct-horse-42-battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


@dataclass
class StaffUser:
    login: str
    password: str
    user_id: int
    merchant_id: int
    role: Role = Role.GENERAL
    permissions: frozenset[Permission] = field(default_factory=frozenset)


def make_user(
    runtime: Runtime,
    merchant_id: int,
    login: str,
    *,
    role: Role = Role.GENERAL,
    permissions: frozenset[Permission] = frozenset({Permission.VIEW}),
) -> StaffUser:
    """A console user with its initial password (still to be changed at first sign-in)."""
    with runtime.core.sessions.begin() as session:
        new = users.create_user(
            session,
            merchant_id=merchant_id,
            login=login,
            role=role,
            permissions=permissions,
            now=runtime.core.clock.now(),
        )
    return StaffUser(login, new.initial_password, new.user_id, merchant_id, role, permissions)


class ConsoleClient:
    """An httpx client with the console's cookies, that knows the page's CSRF token."""

    def __init__(self, base_url: str, **httpx_options: object) -> None:
        # Connection: close — the test server runs in the tests' own process, and hundreds of
        # idle keep-alive connections (two descriptors each) would exhaust its file descriptors.
        headers = {"Connection": "close", **dict(httpx_options.pop("headers", {}))}  # type: ignore[call-overload]
        self.http = httpx.Client(base_url=base_url, timeout=30, headers=headers, **httpx_options)  # type: ignore[arg-type]
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: object) -> httpx.Response:
        response = self.http.get(path, params=params or None)  # type: ignore[arg-type]
        self._remember(response)
        return response

    def post(
        self,
        path: str,
        data: dict[str, object] | list[tuple[str, object]] | None = None,
        *,
        csrf: bool = True,
    ) -> httpx.Response:
        items = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            items.append(("csrf_token", self.csrf))
        response = self.http.post(path, data=_form(items))
        self._remember(response)
        return response

    def _remember(self, response: httpx.Response) -> None:
        found = (
            _CSRF.search(response.text)
            if "text/html" in response.headers.get("content-type", "")
            else None
        )
        if found:
            self.csrf = found.group(1)

    def sign_in(self, login: str, password: str) -> httpx.Response:
        page = self.http.get("/console/login")
        token = _LOGIN_CSRF.search(page.text)
        assert token, page.text[:500]
        response = self.http.post(
            "/console/login",
            data={"login": login, "password": password, "login_csrf": token.group(1)},
        )
        return self.follow(response)

    def follow(self, response: httpx.Response) -> httpx.Response:
        """Follow the console's redirects (303 after a form), remembering the CSRF token."""
        for _ in range(5):
            if response.status_code not in (302, 303):
                break
            response = self.get(response.headers["location"])
        return response


def _form(items: list[tuple[str, object]]) -> dict[str, list[str]]:
    """Form fields, repeated names kept (httpx takes a dict of lists for that)."""
    form: dict[str, list[str]] = {}
    for name, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        form.setdefault(name, []).extend(str(v) for v in values)
    return form


def signed_in(base_url: str, user: StaffUser, **httpx_options: object) -> ConsoleClient:
    """A client signed in as `user`, its initial password changed to PASSWORD."""
    client = ConsoleClient(base_url, **httpx_options)
    response = client.sign_in(user.login, user.password)
    assert response.status_code == 200, response.text[:500]
    if user.password != PASSWORD:
        client.get("/console/password")
        changed = client.post(
            "/console/password",
            {
                "current_password": user.password,
                "new_password": PASSWORD,
                "new_password_again": PASSWORD,
            },
        )
        assert changed.status_code == 303, changed.text[:800]
        user.password = PASSWORD
    client.get("/console/dashboard")
    return client


def merchant_ref(runtime: Runtime, merchant_id: int) -> MerchantRef:
    with runtime.core.sessions() as session:
        return MerchantRef.of(get_merchant(session, merchant_id))


def card_payment(
    runtime: Runtime,
    merchant_id: int,
    trading_id: str,
    amount: int = 1000,
    *,
    capture: bool = False,
    card: str = "4900000000000000",
) -> int:
    """A card payment made through the core (as a 020 would), authorised or captured."""
    result = commands.authorize(
        runtime.core,
        merchant_ref(runtime, merchant_id),
        AuthorizeRequest(
            trading_id=trading_id,
            amount=amount,
            capture=capture,
            card=CardData(CardNumber(card), "1230"),
        ),
    )
    assert result.payment is not None
    return result.payment.payment_id


def cvs_payment(
    runtime: Runtime, merchant_id: int, trading_id: str, amount: int = 2000, chain: str = "00C002"
) -> int:
    view = cvs.apply(
        runtime.core,
        merchant_ref(runtime, merchant_id),
        CvsRequest(
            trading_id=trading_id,
            amount=amount,
            cvs_type="",
            cvs_company_id=chain,
            customer_family_name="山田",
            customer_name="花子",
            customer_tel="0312345678",
            sales_type="1",
        ),
    )
    return view.payment_id


def listed_ids(html: str) -> list[int]:
    """The payment IDs of a result list, in the order shown."""
    return [int(i) for i in re.findall(r'<td class="num"><a href="/console/payments/(\d+)">', html)]


@dataclass
class UserCertificate:
    cert_path: Path
    key_path: Path
    pem: bytes
    fingerprint: str


def issue_certificate(runtime: Runtime, user: StaffUser, directory: Path) -> UserCertificate:
    """Issue `user` a console certificate (as `kessai user cert` does) as PEM files for httpx."""
    now = runtime.core.clock.now()
    issued = issue_console_certificate(
        runtime.settings.var_dir, user.login, password="test-p12", now=now
    )
    with runtime.core.sessions.begin() as session:
        certificates.record_issued(
            session,
            user.user_id,
            serial=issued.serial_number,
            fingerprint=issued.sha256_fingerprint,
            not_valid_after=issued.not_valid_after,
            issued_by="test",
            now=now,
        )
    bundle = pkcs12.load_pkcs12(issued.p12, b"test-p12")
    assert bundle.key is not None and bundle.cert is not None
    directory.mkdir(parents=True, exist_ok=True)
    pem = bundle.cert.certificate.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = directory / f"{user.login}.pem", directory / f"{user.login}.key"
    cert_path.write_bytes(pem)
    key_path.write_bytes(
        bundle.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return UserCertificate(cert_path, key_path, pem, issued.sha256_fingerprint)
