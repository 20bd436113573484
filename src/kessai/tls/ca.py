"""Kessai's certificate authorities: merchant and console client certificates, the server certificate.

Three CAs live under ``<var_dir>/ca/``, each created on first use (RSA 2048, 10 years):

- the **merchant CA** (``merchant-ca.pem`` / ``merchant-ca.key``) signs the client certificates
  merchants present on the module face (PAYGENT's mutual TLS); the server trusts exactly this CA for
  clients;
- the **console CA** (``console-ca.pem`` / ``console-ca.key``) signs the client certificates of
  merchant staff who use the console (one per user, subject ``CN=console:<login>``, never all
  digits, so the module face can never read one as a merchant ID);
- the **server CA** (``server-ca.pem`` / ``server-ca.key``) signs the server certificate
  (``server.pem`` / ``server.key``); merchants, tests and the SDK verify the server with
  ``server-ca.pem``.

They are separate on purpose: the server's client-trust anchor then never vouches for a server
identity (and the other way round), a production deployment can swap the server side for a public
certificate without re-issuing any merchant certificate, and either key can be rotated alone.

RSA rather than EC because the clients that will talk to Kessai include PAYGENT-era Java and PHP
modules; every TLS stack they run on handles RSA. Private keys are written mode 0600, atomically,
under a lock so that two processes creating the CA at once end up with one CA.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DIRNAME: Final = "ca"
MERCHANT_CA_CERT: Final = "merchant-ca.pem"
MERCHANT_CA_KEY: Final = "merchant-ca.key"
CONSOLE_CA_CERT: Final = "console-ca.pem"
CONSOLE_CA_KEY: Final = "console-ca.key"
CLIENT_CA_BUNDLE: Final = "client-cas.pem"
SERVER_CA_CERT: Final = "server-ca.pem"
SERVER_CA_KEY: Final = "server-ca.key"
SERVER_CERT: Final = "server.pem"
SERVER_KEY: Final = "server.key"

CA_VALIDITY: Final = timedelta(days=3650)
MERCHANT_CERT_VALIDITY: Final = timedelta(days=825)
SERVER_CERT_VALIDITY: Final = timedelta(days=825)
CONSOLE_CERT_VALIDITY: Final = timedelta(days=365)
CONSOLE_ORGANISATION: Final = "Kessai console user"
CONSOLE_CN_PREFIX: Final = "console:"
# A server certificate this close to expiry is re-issued by `ensure_server_certificate`.
SERVER_CERT_RENEW_BEFORE: Final = timedelta(days=30)
# Backdating tolerates clocks that run a little behind ours.
CLOCK_SKEW: Final = timedelta(minutes=5)
MERCHANT_ORGANISATION: Final = "Kessai merchant"
MAX_MERCHANT_ID: Final = 999_999_999  # merchant_id is at most 9 digits (spec §1.2)
ALWAYS_SERVED_HOSTS: Final = ("localhost", "127.0.0.1", "::1")


class CertificateAuthorityError(RuntimeError):
    """The CA directory is inconsistent (e.g. a certificate without its key)."""


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA certificate with its private key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey = field(repr=False)


@dataclass(frozen=True, slots=True)
class IssuedCert:
    """A merchant client certificate as written to disk (its PKCS#12 password kept out of repr)."""

    merchant_id: int
    cert_path: Path
    key_path: Path
    p12_path: Path
    p12_password: str = field(repr=False)
    serial_number: int
    not_valid_after: datetime
    sha256_fingerprint: str


@dataclass(frozen=True, slots=True)
class ConsoleCert:
    """A console user's client certificate as a PKCS#12 bundle (key, certificate, console CA),
    encrypted with `p12_password` (kept out of repr)."""

    login: str
    p12: bytes = field(repr=False)
    p12_password: str = field(repr=False)
    serial_number: int
    not_valid_after: datetime
    sha256_fingerprint: str


def ca_dir(var_dir: Path) -> Path:
    """The directory holding both CAs and the server certificate."""
    return var_dir / CA_DIRNAME


def merchant_ca_file(var_dir: Path) -> Path:
    """The merchant CA certificate: what the server trusts for client certificates."""
    return ca_dir(var_dir) / MERCHANT_CA_CERT


def console_ca_file(var_dir: Path) -> Path:
    """The console CA certificate: what the server (or nginx) trusts for console users."""
    return ca_dir(var_dir) / CONSOLE_CA_CERT


def server_ca_file(var_dir: Path) -> Path:
    """The server CA certificate: what clients pass as ``ca`` to verify the server."""
    return ca_dir(var_dir) / SERVER_CA_CERT


def load_or_create_merchant_ca(
    var_dir: Path, *, now: datetime | None = None
) -> CertificateAuthority:
    """The merchant CA, created under ``<var_dir>/ca/`` on first use."""
    return _load_or_create_ca(var_dir, MERCHANT_CA_CERT, MERCHANT_CA_KEY, "Kessai Merchant CA", now)


def load_or_create_console_ca(
    var_dir: Path, *, now: datetime | None = None
) -> CertificateAuthority:
    """The console CA, created under ``<var_dir>/ca/`` on first use."""
    return _load_or_create_ca(var_dir, CONSOLE_CA_CERT, CONSOLE_CA_KEY, "Kessai Console CA", now)


def client_ca_bundle(var_dir: Path, *, now: datetime | None = None) -> Path:
    """One PEM file with the merchant CA and the console CA (created if missing): the client
    certificates one TLS listener accepts when it serves both the module face and the console.
    The app still tells them apart: the module face reads merchant IDs, the console fingerprints."""
    merchant = load_or_create_merchant_ca(var_dir, now=now).certificate
    console = load_or_create_console_ca(var_dir, now=now).certificate
    path = ca_dir(var_dir) / CLIENT_CA_BUNDLE
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (merchant, console))
    with _locked(ca_dir(var_dir)):
        if not path.exists() or path.read_bytes() != pem:
            _write_public(path, pem)
    return path


def issue_console_certificate(
    var_dir: Path, login: str, *, password: str | None, now: datetime | None = None
) -> ConsoleCert:
    """Issue a client certificate for console user `login`, as a PKCS#12 bundle in memory.

    Subject ``CN=console:<login>, O=Kessai console user``; 365 days; ExtendedKeyUsage clientAuth.
    The bundle is encrypted with `password`, or with a generated one-time password returned in
    `ConsoleCert.p12_password`. The caller records the fingerprint: that binding, not the
    subject, is what lets the certificate open only this user's account.
    """
    ca = load_or_create_console_ca(var_dir, now=now)
    key = _new_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, CONSOLE_CN_PREFIX + login),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, CONSOLE_ORGANISATION),
        ]
    )
    builder = _leaf_builder(ca, subject, key, _now(now), CONSOLE_CERT_VALIDITY)
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    cert = builder.add_extension(eku, critical=False).sign(ca.key, hashes.SHA256())
    p12_password = password if password is not None else secrets.token_urlsafe(12)
    bundle = pkcs12.serialize_key_and_certificates(
        name=login.encode("utf-8"),
        key=key,
        cert=cert,
        cas=[ca.certificate],
        encryption_algorithm=serialization.BestAvailableEncryption(p12_password.encode("utf-8")),
    )
    return ConsoleCert(
        login=login,
        p12=bundle,
        p12_password=p12_password,
        serial_number=cert.serial_number,
        not_valid_after=cert.not_valid_after_utc,
        sha256_fingerprint=certificate_fingerprint(cert),
    )


def certificate_fingerprint(cert: bytes | x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, lowercase hex (how the console recognises its users)."""
    if isinstance(cert, bytes):
        cert = x509.load_der_x509_certificate(cert)
    return cert.fingerprint(hashes.SHA256()).hex()


def verified_console_fingerprint(
    var_dir: Path, pem: bytes, *, now: datetime | None = None
) -> str | None:
    """The fingerprint of `pem` if it is a console certificate signed by this console CA and valid
    now; None otherwise. For certificates a reverse proxy passes on in a header: the proxy has
    verified the chain, and this checks it again rather than trusting a header's word for it."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    ca = load_or_create_console_ca(var_dir)
    when = _now(now)
    if cert.issuer != ca.certificate.subject or not _signed_by(cert, ca):
        return None
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        return None
    return certificate_fingerprint(cert)


def load_or_create_server_ca(var_dir: Path, *, now: datetime | None = None) -> CertificateAuthority:
    """The server CA, created under ``<var_dir>/ca/`` on first use."""
    return _load_or_create_ca(var_dir, SERVER_CA_CERT, SERVER_CA_KEY, "Kessai Server CA", now)


def issue_merchant_certificate(
    var_dir: Path,
    merchant_id: int,
    out_dir: Path,
    *,
    password: str | None,
    now: datetime | None = None,
) -> IssuedCert:
    """Issue a client certificate for `merchant_id` and write it to `out_dir`.

    Writes ``<merchant_id>.pem`` (certificate), ``<merchant_id>.key`` (unencrypted key, 0600) and
    ``<merchant_id>.p12`` (PKCS#12 bundle of key, certificate and CA, 0600) protected by `password`,
    or by a generated password returned in `IssuedCert.p12_password` when `password` is None — the
    way PAYGENT hands out a ``.pfx`` with its password. Subject ``CN=<merchant_id>, O=Kessai
    merchant``; 825 days; ExtendedKeyUsage clientAuth. Raises ValueError for a merchant_id that is
    not 1–9 digits.
    """
    if not 0 < merchant_id <= MAX_MERCHANT_ID:
        raise ValueError("merchant_id must be a positive integer of at most 9 digits")
    ca = load_or_create_merchant_ca(var_dir, now=now)
    key = _new_key()
    cert = _merchant_certificate(ca, key, merchant_id, _now(now))
    p12_password = password if password is not None else secrets.token_urlsafe(18)
    paths = _write_merchant_files(out_dir, merchant_id, cert, key, ca, p12_password)
    return IssuedCert(
        merchant_id=merchant_id,
        cert_path=paths[0],
        key_path=paths[1],
        p12_path=paths[2],
        p12_password=p12_password,
        serial_number=cert.serial_number,
        not_valid_after=cert.not_valid_after_utc,
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
    )


def ensure_server_certificate(
    var_dir: Path, hosts: list[str], *, now: datetime | None = None
) -> tuple[Path, Path]:
    """Return ``(cert_path, key_path)`` of a server certificate valid for `hosts`.

    The certificate always covers ``localhost``, ``127.0.0.1`` and ``::1``, plus every name in
    `hosts` (IP addresses go into the SAN as IP entries, names as DNS entries; wildcard bind
    addresses such as ``0.0.0.0`` are skipped). It is signed by the server CA (`server_ca_file`). An
    existing certificate is kept while it covers the hosts, is signed by the current server CA and
    has more than 30 days left; otherwise a new one replaces it.
    """
    when = _now(now)
    ca = load_or_create_server_ca(var_dir, now=when)
    cert_path, key_path = ca_dir(var_dir) / SERVER_CERT, ca_dir(var_dir) / SERVER_KEY
    names = _server_names(hosts)
    with _locked(ca_dir(var_dir)):
        if not _server_certificate_usable(cert_path, key_path, ca, names, when):
            key = _new_key()
            cert = _server_certificate(ca, key, names, when)
            _write_private(key_path, _key_pem(key))
            _write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def merchant_id_from_cert(cert: bytes | Mapping[str, Any] | x509.Certificate | None) -> int | None:
    """The merchant ID in a client certificate's subject CN, or None if the CN is not 1–9 digits.

    Accepts DER bytes, a `cryptography` certificate, or the dict `ssl.SSLSocket.getpeercert()`
    returns (the verified peer certificate, as uvicorn's transport exposes it). None for no
    certificate.
    """
    if cert is None:
        return None
    if isinstance(cert, bytes):
        cert = x509.load_der_x509_certificate(cert)
    common_name = _cn_of(cert) if isinstance(cert, x509.Certificate) else _cn_of_peercert(cert)
    return _parse_merchant_id(common_name)


# --- CA creation and loading ---


def _load_or_create_ca(
    var_dir: Path, cert_name: str, key_name: str, common_name: str, now: datetime | None
) -> CertificateAuthority:
    directory = ca_dir(var_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(directory):
        existing = _load_ca(directory / cert_name, directory / key_name)
        if existing is not None:
            return existing
        ca = _new_ca(common_name, _now(now))
        _write_private(directory / key_name, _key_pem(ca.key))
        _write_public(
            directory / cert_name, ca.certificate.public_bytes(serialization.Encoding.PEM)
        )
        return ca


def _load_ca(cert_path: Path, key_path: Path) -> CertificateAuthority | None:
    if not cert_path.exists() and not key_path.exists():
        return None
    if not (cert_path.exists() and key_path.exists()):
        raise CertificateAuthorityError(
            f"{cert_path.parent}: CA certificate and key must both exist"
        )
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateAuthorityError(f"{key_path}: expected an RSA private key")
    return CertificateAuthority(certificate=cert, key=key)


def _new_ca(common_name: str, now: datetime) -> CertificateAuthority:
    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kessai"),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        _builder(name, name, key.public_key(), now, CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(certificate=cert, key=key)


# --- leaf certificates ---


def _merchant_certificate(
    ca: CertificateAuthority, key: rsa.RSAPrivateKey, merchant_id: int, now: datetime
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, str(merchant_id)),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, MERCHANT_ORGANISATION),
        ]
    )
    builder = _leaf_builder(ca, subject, key, now, MERCHANT_CERT_VALIDITY)
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    return builder.add_extension(eku, critical=False).sign(ca.key, hashes.SHA256())


def _server_certificate(
    ca: CertificateAuthority, key: rsa.RSAPrivateKey, names: list[x509.GeneralName], now: datetime
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    builder = _leaf_builder(ca, subject, key, now, SERVER_CERT_VALIDITY)
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    return (
        builder.add_extension(eku, critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca.key, hashes.SHA256())
    )


def _leaf_builder(
    ca: CertificateAuthority,
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    now: datetime,
    validity: timedelta,
) -> x509.CertificateBuilder:
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    authority_key_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
    return (
        _builder(subject, ca.certificate.subject, key.public_key(), now, validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(authority_key_id, critical=False)
    )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey,
    now: datetime,
    validity: timedelta,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _server_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in [*ALWAYS_SERVED_HOSTS, *hosts]:
        name = _general_name(host.strip().strip("[]"))
        if name is not None and name not in names:
            names.append(name)
    return names


def _general_name(host: str) -> x509.GeneralName | None:
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return x509.DNSName(host.lower())
    return None if address.is_unspecified else x509.IPAddress(address)


def _server_certificate_usable(
    cert_path: Path,
    key_path: Path,
    ca: CertificateAuthority,
    names: list[x509.GeneralName],
    now: datetime,
) -> bool:
    if not (cert_path.exists() and key_path.exists()):
        return False
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if cert.issuer != ca.certificate.subject or not _signed_by(cert, ca):
        return False
    if cert.not_valid_after_utc - now < SERVER_CERT_RENEW_BEFORE:
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return all(name in san for name in names)


def _signed_by(cert: x509.Certificate, ca: CertificateAuthority) -> bool:
    try:
        cert.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


# --- subject parsing ---


def _cn_of(cert: x509.Certificate) -> str | None:
    attributes = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attributes:
        return None
    value = attributes[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _cn_of_peercert(peercert: Mapping[str, Any]) -> str | None:
    # getpeercert() gives subject as a tuple of RDNs, each a tuple of (name, value) pairs.
    for rdn in peercert.get("subject", ()):
        for name, value in rdn:
            if name == "commonName" and isinstance(value, str):
                return value
    return None


def _parse_merchant_id(common_name: str | None) -> int | None:
    if common_name is None or not common_name.isascii() or not common_name.isdigit():
        return None
    merchant_id = int(common_name)
    return merchant_id if 0 < merchant_id <= MAX_MERCHANT_ID else None


# --- files ---


def _write_merchant_files(
    out_dir: Path,
    merchant_id: int,
    cert: x509.Certificate,
    key: rsa.RSAPrivateKey,
    ca: CertificateAuthority,
    p12_password: str,
) -> tuple[Path, Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path = out_dir / f"{merchant_id}.pem"
    key_path = out_dir / f"{merchant_id}.key"
    p12_path = out_dir / f"{merchant_id}.p12"
    bundle = pkcs12.serialize_key_and_certificates(
        name=str(merchant_id).encode("ascii"),
        key=key,
        cert=cert,
        cas=[ca.certificate],
        encryption_algorithm=serialization.BestAvailableEncryption(p12_password.encode("utf-8")),
    )
    _write_private(key_path, _key_pem(key))
    _write_private(p12_path, bundle)
    _write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path, p12_path


def _write_private(path: Path, data: bytes) -> None:
    _write_atomically(path, data, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    _write_atomically(path, data, 0o644)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    # mkstemp creates the file 0600, so a key is never readable by others, not even for a moment.
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)
