"""The deployment guide's files as docs/operator/deploy.md installs them: the systemd units pass
`systemd-analyze verify`, the nginx config passes `nginx -t`, and a `pg_dump` restored into an empty
database still opens its cards with the same keys (and not with others)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from kessai.app import build_runtime
from kessai.config import Settings
from kessai.core.cards.models import VaultCard
from kessai.core.cards.vault import VaultIntegrityError
from kessai.db.migrate import upgrade
from kessai.kit.secrets import CardNumber
from tests.conftest import PG_ADMIN_URL, test_db_kind
from tests.support.system import needs_system_package

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KESSAI = Path(sys.executable).parent / "kessai"


def program(name: str, package: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if found is None:
        pytest.skip(needs_system_package(package))
    return found


@pytest.mark.parametrize("unit", ["kessai.service", "kessai-worker.service"])
def test_the_systemd_units_verify(tmp_path, unit):
    """As installed, but with this checkout's kessai and an environment file of the test's."""
    analyze = program("systemd-analyze", "systemd")
    (tmp_path / "kessai.env").write_text((DEPLOY / "kessai.env").read_text())
    text_ = (DEPLOY / "systemd" / unit).read_text()
    assert "/opt/kessai/.venv/bin/kessai" in text_ and "/etc/kessai/kessai.env" in text_
    text_ = text_.replace("/opt/kessai/.venv/bin/kessai", str(KESSAI))
    (tmp_path / unit).write_text(
        text_.replace("/etc/kessai/kessai.env", str(tmp_path / "kessai.env"))
    )
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / unit)], capture_output=True, text=True
    )
    assert (result.returncode, result.stderr.strip()) == (0, "")


def test_the_units_run_commands_that_exist():
    serve = (DEPLOY / "systemd" / "kessai.service").read_text()
    command = next(line for line in serve.splitlines() if line.startswith("ExecStart="))
    options = [word for word in command.split()[2:] if word.startswith("--")]
    usage = subprocess.run([str(KESSAI), "serve", "--help"], capture_output=True, text=True).stdout
    for option in options:
        assert option in usage


def test_the_nginx_config_passes_nginx_t(tmp_path):
    nginx = program("nginx", "nginx-light")
    openssl = program("openssl", "openssl")
    cert, key = tmp_path / "pay.pem", tmp_path / "pay.key"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-subj", "/CN=pay.example.jp", "-days", "1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)  # fmt: skip
    site = (DEPLOY / "nginx" / "kessai.conf").read_text()
    site = site.replace("/etc/nginx/tls/pay.example.jp.pem", str(cert))
    site = site.replace("/etc/nginx/tls/pay.example.jp.key", str(key))
    (tmp_path / "kessai.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  client_body_temp_path {tmp_path};\n  include {tmp_path}/kessai.conf;\n}}\n"
    )
    result = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr


def _key() -> SecretStr:
    return SecretStr(base64.b64encode(os.urandom(32)).decode())


@pytest.mark.skipif(
    test_db_kind() != "postgresql", reason="pg_dump: runs with KESSAI_TEST_DB=postgresql"
)
def test_a_restored_pg_dump_still_opens_its_cards_with_the_same_keys(tmp_path):
    pg_dump, pg_restore = (
        program("pg_dump", "postgresql-client"),
        program("pg_restore", "postgresql-client"),
    )
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names = [f"kessai_backup_{uuid.uuid4().hex[:8]}", f"kessai_restored_{uuid.uuid4().hex[:8]}"]
    server = PG_ADMIN_URL.rsplit("/", 1)[0]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    keys = {"master_key": SecretStr("k1:" + _key().get_secret_value()),
            "fingerprint_key": _key(), "secret_key": _key()}  # fmt: skip
    try:
        original = Settings(home=tmp_path, database_url=f"{server}/{names[0]}", **keys)
        upgrade(original.resolved_database_url())
        runtime = build_runtime(original)
        with runtime.core.sessions.begin() as session:
            card_id = runtime.core.vault.store(session, CardNumber("4900000000000000")).id
        runtime.engine.dispose()
        dump = tmp_path / "kessai.dump"
        libpq = server.replace("postgresql+psycopg", "postgresql")
        subprocess.run(
            [pg_dump, "--format=custom", f"--file={dump}", f"{libpq}/{names[0]}"], check=True
        )
        subprocess.run(
            [pg_restore, "--no-owner", "-d", f"{libpq}/{names[1]}", str(dump)], check=True
        )

        restored = original.model_copy(update={"database_url": f"{server}/{names[1]}"})
        runtime = build_runtime(restored)
        with runtime.core.sessions() as session:
            row = session.get(VaultCard, card_id)
            assert row is not None
            assert runtime.core.vault.open(row).reveal() == "4900000000000000"
        runtime.engine.dispose()
        other_keys = restored.model_copy(
            update={"master_key": SecretStr("k1:" + _key().get_secret_value())}
        )
        runtime = build_runtime(other_keys)
        with runtime.core.sessions() as session, pytest.raises(VaultIntegrityError):
            runtime.core.vault.open(session.get(VaultCard, card_id))  # type: ignore[arg-type]
        runtime.engine.dispose()
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_guide_names_only_files_that_exist():
    guide = (ROOT / "docs" / "operator" / "deploy.md").read_text()
    for path in ("deploy/systemd/kessai.service", "deploy/systemd/kessai-worker.service",
                 "deploy/kessai.env", "deploy/nginx/kessai.conf"):  # fmt: skip
        assert path.split("/")[-1] in guide
        assert (ROOT / path).exists()
