"""The operator CLI as scripts drive it: subprocesses with KESSAI_HOME and KESSAI_DATABASE_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def kessai(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KESSAI_HOME": str(home), "KESSAI_LOG_LEVEL": "WARNING"}
    env.pop("KESSAI_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "kessai", *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    kessai(tmp_path, "migrate")
    return tmp_path


def test_merchant_create_json_prints_credentials_once_and_show_hides_password(home):
    created = json.loads(kessai(home, "merchant", "create", "--name", "Shop", "--json").stdout)
    for name in (
        "merchant_id",
        "connect_id",
        "connect_password",
        "hash_key",
        "notification_hash_key",
        "threeds_hash_key",
    ):
        assert created[name]
    assert len(created["connect_password"]) == 32
    shown = json.loads(
        kessai(home, "merchant", "show", str(created["merchant_id"]), "--json").stdout
    )
    assert shown["connect_id"] == created["connect_id"]
    assert "connect_password" not in shown
    assert created["connect_password"] not in (home / "var" / "kessai.db").read_bytes().decode(
        "latin-1"
    )


def test_merchant_update_changes_url_and_mode(home):
    created = json.loads(kessai(home, "merchant", "create", "--json").stdout)
    mid = str(created["merchant_id"])
    kessai(
        home,
        "merchant",
        "update",
        mid,
        "--notification-url",
        "https://203.0.113.10/n",  # a public address literal: no DNS needed in the test
        "--mode",
        "production",
    )
    shown = json.loads(kessai(home, "merchant", "show", mid, "--json").stdout)
    assert (shown["notification_url"], shown["mode"]) == ("https://203.0.113.10/n", "production")


def test_the_link_signature_is_hmac_for_new_merchants_and_can_be_set(home):
    created = json.loads(kessai(home, "merchant", "create", "--json").stdout)
    assert created["link_signature"] == "hmac"
    mid = str(created["merchant_id"])
    kessai(home, "merchant", "update", mid, "--link-signature", "paygent")
    shown = json.loads(kessai(home, "merchant", "show", mid, "--json").stdout)
    assert shown["link_signature"] == "paygent"
    legacy = kessai(home, "merchant", "create", "--link-signature", "paygent", "--json").stdout
    assert json.loads(legacy)["link_signature"] == "paygent"
    assert kessai(
        home, "merchant", "update", mid, "--link-signature", "md5", check=False
    ).returncode


def test_inform_url_mode_is_replace_for_new_merchants_and_can_be_set(home):
    created = json.loads(kessai(home, "merchant", "create", "--json").stdout)
    assert created["inform_url_mode"] == "replace"
    mid = str(created["merchant_id"])
    kessai(home, "merchant", "update", mid, "--inform-url-mode", "ignore")
    shown = json.loads(kessai(home, "merchant", "show", mid, "--json").stdout)
    assert shown["inform_url_mode"] == "ignore"
    assert kessai(
        home, "merchant", "update", mid, "--inform-url-mode", "also", check=False
    ).returncode


def test_unknown_merchant_says_what_to_do(home):
    result = kessai(home, "merchant", "show", "424242", check=False)
    assert result.returncode == 1
    assert "kessai merchant list" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_method_is_refused_with_the_known_ones(home):
    result = kessai(home, "merchant", "create", "--methods", "99", check=False)
    assert result.returncode == 1
    assert "known: 01, 02, 03" in result.stderr


def test_merchant_cert_issues_pem_key_and_p12(home, tmp_path):
    created = json.loads(kessai(home, "merchant", "create", "--json").stdout)
    out = tmp_path / "certs"
    issued = json.loads(
        kessai(
            home, "merchant", "cert", str(created["merchant_id"]), "--out", str(out), "--json"
        ).stdout
    )
    assert Path(issued["cert"]).exists() and Path(issued["p12"]).exists()
    assert Path(issued["key"]).stat().st_mode & 0o077 == 0
    assert issued["p12_password"]
    assert Path(issued["server_ca"]).exists()


def test_keys_rotate_reports_the_new_active_key(home):
    result = kessai(home, "keys", "rotate")
    assert "active master key" in result.stdout


def test_help_works_without_a_database(tmp_path):
    result = kessai(tmp_path / "nowhere", "--help")
    assert "merchant" in result.stdout and "serve" in result.stdout
    assert not (tmp_path / "nowhere").exists()


def test_serve_refuses_an_unmigrated_database(tmp_path):
    result = kessai(tmp_path, "serve", "--port", "1", check=False)
    assert result.returncode == 1
    assert "kessai migrate" in result.stderr


def test_worker_once_runs_the_jobs_and_prints_what_they_did(home):
    result = kessai(home, "worker", "--once")
    assert json.loads(result.stdout) == {
        "expired": 0,
        "closed": 0,
        "reconciled": 0,
        "purged": 0,
        "threeds_timed_out": 0,
        "threeds_notices_delivered": 0,
        "cards_refreshed": 0,
        "file_lines": 0,
        "delivered": 0,
        "failed": 0,
    }
