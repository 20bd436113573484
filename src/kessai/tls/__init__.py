"""Mutual TLS for the module face: Kessai's CAs and certificates (`ca`), uvicorn wiring (`server`).

Merchants authenticate with a client certificate issued by the merchant CA, as with PAYGENT (spec
§1.1); the server presents a certificate signed by the server CA. See `kessai.tls.server` for how
the ASGI app learns which merchant connected.
"""

from kessai.tls.ca import (
    ConsoleCert,
    IssuedCert,
    certificate_fingerprint,
    client_ca_bundle,
    console_ca_file,
    ensure_server_certificate,
    issue_console_certificate,
    issue_merchant_certificate,
    merchant_ca_file,
    merchant_id_from_cert,
    server_ca_file,
    verified_console_fingerprint,
)
from kessai.tls.server import (
    build_uvicorn_config,
    peer_certificate,
    peer_merchant_id,
    run_server,
    ssl_context_for_server,
)

__all__ = [
    "ConsoleCert",
    "IssuedCert",
    "build_uvicorn_config",
    "certificate_fingerprint",
    "client_ca_bundle",
    "console_ca_file",
    "ensure_server_certificate",
    "issue_console_certificate",
    "issue_merchant_certificate",
    "merchant_ca_file",
    "merchant_id_from_cert",
    "peer_certificate",
    "peer_merchant_id",
    "run_server",
    "server_ca_file",
    "ssl_context_for_server",
    "verified_console_fingerprint",
]
