"""What a newcomer meets before the first payment: `make run` on a port of their choice and a plain
word when it is taken; `kessai` outside the checkout stops in one line and creates nothing; a
sandbox merchant takes every method; the repository has its licence and its docs index."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def kessai(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KESSAI_")}
    return subprocess.run(
        [sys.executable, "-m", "kessai", *args],
        cwd=cwd,
        env={**clean, "KESSAI_LOG_LEVEL": "WARNING", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_run_takes_port_and_host_from_the_command_line_or_the_environment():
    dry = ["make", "-n", "--no-print-directory", "-C", str(ROOT), "run"]
    by_argument = subprocess.run(
        [*dry, "PORT=9123", "HOST=0.0.0.0"], capture_output=True, text=True
    )
    assert "--host 0.0.0.0 --port 9123" in by_argument.stdout
    by_environment = subprocess.run(
        dry, capture_output=True, text=True, env={**os.environ, "PORT": "9124"}
    )
    assert "--host 127.0.0.1 --port 9124" in by_environment.stdout


def test_a_taken_port_is_said_in_one_line_before_anything_listens(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = kessai(tmp_path, "serve", "--demo", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use (another Kessai?); "
        f"choose another with --port {port + 1} (make run PORT={port + 1})"
    ]
    assert "listening" not in result.stdout + result.stderr
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["merchant", "list"],
        ["merchant", "create"],
        ["serve"],
        ["worker", "--once"],
        ["keys", "rotate"],
        ["sandbox", "pay", "1"],
        ["user", "create", "30000", "--login", "hanako", "--role", "admin"],
    ],
)
def test_outside_the_checkout_every_command_says_there_is_no_database_and_creates_nothing(
    tmp_path, command
):
    result = kessai(tmp_path, *command)
    assert result.returncode == 1
    database = tmp_path / "var" / "kessai.db"
    assert result.stderr.splitlines() == [
        f"error: no database at {database}; run `kessai migrate` or set KESSAI_HOME "
        f"(now {tmp_path})"
    ]
    assert list(tmp_path.iterdir()) == []  # no var/, no keys for a database that does not exist


def test_an_unmigrated_postgresql_database_is_one_line_too(tmp_path):
    result = kessai(
        tmp_path,
        "merchant",
        "list",
        KESSAI_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/kessai_no_such_db",
    )
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "kessai_no_such_db" in result.stderr and "Traceback" not in result.stderr


def test_a_sandbox_merchant_takes_every_method_and_a_production_one_names_its_own(tmp_path):
    assert kessai(tmp_path, "migrate").returncode == 0
    sandbox = json.loads(kessai(tmp_path, "merchant", "create", "--json").stdout)
    from kessai.core.merchants.commands import KNOWN_METHODS

    assert sandbox["enabled_methods"] == list(KNOWN_METHODS)
    unnamed = kessai(tmp_path, "merchant", "create", "--mode", "production")
    assert unnamed.returncode == 1
    assert "needs its payment methods named (--methods" in unnamed.stderr
    named = kessai(
        tmp_path, "merchant", "create", "--mode", "production", "--methods", "02", "--json"
    )
    assert json.loads(named.stdout)["enabled_methods"] == ["02"]


def test_the_cli_and_the_readme_agree_on_what_is_printed_once(tmp_path):
    """The password is printed once; the hash keys are shown again by `merchant show`."""
    assert kessai(tmp_path, "migrate").returncode == 0
    created = json.loads(kessai(tmp_path, "merchant", "create", "--json").stdout)
    shown = json.loads(
        kessai(tmp_path, "merchant", "show", str(created["merchant_id"]), "--json").stdout
    )
    assert "connect_password" not in shown and shown["hash_key"] == created["hash_key"]
    readme = (ROOT / "README.md").read_text()
    assert "ONCE" not in readme.split("## Operating it", 1)[1].split("kessai user", 1)[0]
    assert "the password is printed only here" in readme
    usage = kessai(tmp_path, "merchant", "create", "--help").stdout
    assert "hash keys are shown again by `merchant show`" in " ".join(usage.split())


def test_the_readme_says_what_a_paid_link_answers():
    readme = (ROOT / "README.md").read_text()
    assert "once paid, the link answers PAYGENT's `6001` page" in " ".join(readme.split())


def test_the_licence_is_the_one_pyproject_names():
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert "Version 2.0, January 2004" in (ROOT / "LICENSE").read_text()


def test_the_docs_index_lists_every_guide_and_who_it_is_for():
    index = (ROOT / "docs" / "README.md").read_text()
    guides = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))
    linked = set(re.findall(r"\]\(([^)#]+\.md)\)", index))
    missing = [guide for guide in guides if guide != "README.md" and guide not in linked]
    assert missing == []
    for audience in ("Merchants", "Operators", "Developers"):
        assert f"## {audience}" in index


def test_health_and_ready_are_documented_for_operators():
    operator_docs = " ".join(p.read_text() for p in (ROOT / "docs" / "operator").glob("*.md"))
    for endpoint in ("/health", "/ready", "/metrics"):
        assert f"`{endpoint}`" in operator_docs
