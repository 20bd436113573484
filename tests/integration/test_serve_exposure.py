"""What `kessai serve` exposes (issue #11, item 6): the institution simulators only when asked for
(`--simulators`; `--demo` asks), and then on their own loopback listener, never on the gateway's;
the sandbox HTTP API over TLS only to the merchant's own client certificate. Through the real CLI:
`kessai serve` in a subprocess on free ports of 127.0.0.1."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from kessai.app import Runtime
from kessai.core.merchants.commands import NewMerchant
from kessai.tls.ca import issue_merchant_certificate, server_ca_file

HOST = "127.0.0.1"
OPERATIONS = "/sim/acquirer/control/operations"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def kessai_serve(
    runtime: Runtime, log: Path, *args: str, verify: ssl.SSLContext | bool = True
) -> Iterator[str]:
    """`kessai serve --no-worker ARGS` on a free port; yield its base URL once /health answers."""
    port = free_port()
    scheme = "https" if "--tls" in args else "http"
    env = {
        **os.environ,
        "KESSAI_HOME": str(runtime.settings.home),
        "KESSAI_DATABASE_URL": runtime.settings.resolved_database_url(),
    }
    command = [sys.executable, "-m", "kessai", "serve", "--host", HOST, "--port", str(port)]
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*command, "--no-worker", *args], env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    url = f"{scheme}://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health", verify=verify, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def test_simulators_only_when_asked_on_their_own_loopback_port_and_sandbox_api_needs_the_cert(
    runtime: Runtime, merchant: NewMerchant, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    with kessai_serve(runtime, log) as plain:
        assert httpx.get(f"{plain}{OPERATIONS}").status_code == 404  # not asked for: not there
        assert httpx.post(f"{plain}/sim/acquirer/control/reset").status_code == 404
    said = log.read_text()
    assert "production merchants get P007" in said and "ATM / Pay-easy" in said, said

    var_dir = runtime.settings.home / "var"
    certificate = issue_merchant_certificate(
        var_dir, merchant.merchant_id, tmp_path / "cert", password=None
    )
    sim_port = free_port()
    args = ("--tls", "--simulators", "--simulators-port", str(sim_port))
    with kessai_serve(runtime, log, *args, verify=False) as tls:
        trust = ssl.create_default_context(cafile=str(server_ca_file(var_dir)))
        with_cert = ssl.create_default_context(cafile=str(server_ca_file(var_dir)))
        with_cert.load_cert_chain(str(certificate.cert_path), str(certificate.key_path))
        # The TLS listener carries production traffic: no simulator there.
        assert httpx.get(f"{tls}{OPERATIONS}", verify=trust).status_code == 404
        # The simulators answer on their own port, on the loopback address only.
        assert httpx.get(f"http://{HOST}:{sim_port}{OPERATIONS}").status_code == 200
        clock = f"{tls}/sandbox/merchants/{merchant.merchant_id}/clock"
        auth = (merchant.connect_id, merchant.connect_password)
        refused = httpx.get(clock, auth=auth, verify=trust)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "P016"
        ok = httpx.get(clock, auth=auth, verify=with_cert)
        assert ok.status_code == 200, ok.text
