"""`kessai user …` and `kessai console ca` as operators' scripts drive them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.integration.test_cli import kessai


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, int]:
    kessai(tmp_path, "migrate")
    created = json.loads(kessai(tmp_path, "merchant", "create", "--json").stdout)
    return tmp_path, created["merchant_id"]


def test_user_create_prints_the_initial_password_once_and_list_never(shop):
    home, merchant_id = shop
    created = json.loads(
        kessai(
            home,
            "user",
            "create",
            str(merchant_id),
            "--login",
            "hanako",
            "--role",
            "admin",
            "--json",
        ).stdout
    )

    assert created["login"] == "hanako" and created["role"] == "admin"
    assert len(created["initial_password"]) >= 16
    assert "users" in created["permissions"] and "card" in created["permissions"]
    listed = kessai(home, "user", "list", "--json").stdout
    assert created["initial_password"] not in listed
    assert json.loads(listed)[0]["login"] == "hanako"
    database = (home / "var" / "kessai.db").read_bytes()
    assert created["initial_password"].encode() not in database


def test_a_general_user_gets_exactly_the_permissions_asked_for(shop):
    home, merchant_id = shop
    created = json.loads(
        kessai(
            home,
            "user",
            "create",
            str(merchant_id),
            "--login",
            "taro",
            "--role",
            "general",
            "--permissions",
            "view,download",
            "--json",
        ).stdout
    )
    assert created["permissions"] == ["download", "view"]


def test_bad_input_says_what_is_wrong_without_a_traceback(shop):
    home, merchant_id = shop
    kessai(home, "user", "create", str(merchant_id), "--login", "dup")
    for args, expected in (
        (("user", "create", str(merchant_id), "--login", "dup"), "既に使われています"),
        (("user", "create", "999999", "--login", "x1y2"), "kessai merchant list"),
        (("user", "create", str(merchant_id), "--login", "z9", "--permissions", "fly"), "known:"),
        (("user", "cert", "ghost", "--out", str(home / "g.p12")), "kessai user list"),
    ):
        result = kessai(home, *args, check=False)
        assert result.returncode == 1, args
        assert expected in result.stderr and "Traceback" not in result.stderr


def test_user_cert_writes_a_pkcs12_the_password_opens_and_revoke_cert_revokes_it(shop):
    home, merchant_id = shop
    kessai(home, "user", "create", str(merchant_id), "--login", "keiko")
    out = home / "certs" / "keiko.p12"

    issued = json.loads(kessai(home, "user", "cert", "keiko", "--out", str(out), "--json").stdout)

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    bundle = pkcs12.load_pkcs12(out.read_bytes(), issued["p12_password"].encode())
    assert bundle.cert.certificate.subject.rfc4514_string() == (
        "O=Kessai console user,CN=console:keiko"
    )
    assert issued["console_ca"].endswith("var/ca/console-ca.pem")
    assert (
        json.loads(kessai(home, "user", "list", "--json").stdout)[0]["certificate_serial"]
        == issued["serial"]
    )

    revoked = kessai(home, "user", "revoke-cert", "keiko")
    assert "revoked 1" in revoked.stdout
    assert (
        json.loads(kessai(home, "user", "list", "--json").stdout)[0]["certificate_serial"] is None
    )


def test_user_cert_with_a_chosen_password(shop):
    home, merchant_id = shop
    kessai(home, "user", "create", str(merchant_id), "--login", "jiro")
    out = home / "jiro.p12"
    kessai(home, "user", "cert", "jiro", "--out", str(out), "--password", "s3cret-pass")
    assert pkcs12.load_pkcs12(out.read_bytes(), b"s3cret-pass").cert is not None


def test_console_ca_prints_the_ca_certificate_path(tmp_path):
    shown = kessai(tmp_path, "console", "ca").stdout.strip()
    assert shown == str(tmp_path / "var" / "ca" / "console-ca.pem")
    assert Path(shown).read_text().startswith("-----BEGIN CERTIFICATE-----")
    details = json.loads(kessai(tmp_path, "console", "ca", "--json").stdout)
    assert details["subject"] == "O=Kessai,CN=Kessai Console CA"
