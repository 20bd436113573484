"""The documented nginx setup (docs/operator/nginx-console.conf), run for real: nginx terminates
TLS and verifies the console certificate, Kessai trusts its header."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from kessai.app import Runtime, create_app
from kessai.config import Settings
from kessai.tls.ca import (
    console_ca_file,
    ensure_server_certificate,
    load_or_create_console_ca,
    server_ca_file,
)
from tests.support.console import ConsoleClient, issue_certificate, make_user, signed_in
from tests.support.servers import serve_app
from tests.support.system import needs_system_package

DOCUMENTED = Path(__file__).resolve().parents[2] / "docs" / "operator" / "nginx-console.conf"


def nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is needed for this test in CI: apt-get install -y nginx-light")
        pytest.skip(needs_system_package("nginx-light"))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def configuration(workdir: Path, port: int, app_url: str, var_dir: Path) -> str:
    """The documented server block with this machine's paths, in a minimal nginx.conf."""
    cert, key = ensure_server_certificate(var_dir, ["127.0.0.1"])
    load_or_create_console_ca(var_dir)
    server = DOCUMENTED.read_text().split("server {", 1)[1]
    for documented, here in (
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/nginx/tls/console.example.jp.pem", str(cert)),
        ("/etc/nginx/tls/console.example.jp.key", str(key)),
        ("/var/lib/kessai/var/ca/console-ca.pem", str(console_ca_file(var_dir))),
        ("http://127.0.0.1:8080", app_url),
    ):
        assert documented in server, documented
        server = server.replace(documented, here)
    temp = workdir / "temp"
    temp.mkdir(exist_ok=True)
    paths = "\n".join(
        f"{name}_temp_path {temp / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"worker_processes 1;\nerror_log {workdir / 'error.log'} warn;\npid {workdir / 'nginx.pid'};\n"
        f"events {{}}\nhttp {{\naccess_log off;\n{paths}\nserver {{{server}\n}}\n"
    )


@pytest.fixture(scope="module")
def behind_nginx(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = nginx()
    settings = Settings(
        home=runtime.settings.home,
        database_url=runtime.settings.database_url,
        console_cert_header="X-SSL-Client-Cert",
        console_trusted_proxies=["127.0.0.1"],
        console_certificates="required",
    )
    app = create_app(Runtime(settings=settings, engine=runtime.engine, core=runtime.core))
    workdir = tmp_path_factory.mktemp("nginx")
    with serve_app(app, http="h11") as app_url:
        port = free_port()
        conf = workdir / "nginx.conf"
        conf.write_text(configuration(workdir, port, app_url, runtime.settings.var_dir))
        process = subprocess.Popen(
            [binary, "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait_listening(port, process)
            yield f"https://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "nginx died")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start")


def context(runtime: Runtime, certificate=None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(server_ca_file(runtime.settings.var_dir)))
    if certificate is not None:
        ctx.load_cert_chain(str(certificate.cert_path), str(certificate.key_path))
    return ctx


def test_through_nginx_the_users_certificate_signs_them_in(
    runtime, behind_nginx, merchant, tmp_path
):
    user = make_user(runtime, merchant.merchant_id, f"ngx{uuid.uuid4().hex[:8]}")
    certificate = issue_certificate(runtime, user, tmp_path)

    client = signed_in(behind_nginx, user, verify=context(runtime, certificate))

    assert client.get("/console/dashboard").status_code == 200
    assert urlsplit(str(client.http.base_url)).scheme == "https"


def test_through_nginx_no_certificate_and_a_forged_header_are_refused(
    runtime, behind_nginx, merchant, tmp_path
):
    user = make_user(runtime, merchant.merchant_id, f"ngx{uuid.uuid4().hex[:8]}")
    certificate = issue_certificate(runtime, user, tmp_path)
    from urllib.parse import quote

    forged = httpx.get(
        f"{behind_nginx}/console/login",
        verify=context(runtime),
        headers={"X-SSL-Client-Cert": quote(certificate.pem.decode(), safe="")},
    )

    assert forged.status_code == 403  # nginx dropped the client's own header
    assert "クライアント証明書が必要です" in forged.text
    assert (
        ConsoleClient(behind_nginx, verify=context(runtime, certificate))
        .http.get("/console/login")
        .status_code
        == 200
    )
