"""Mutual TLS for the module face: Kessai's CAs and certificates (`ca`), uvicorn wiring (`server`).

Merchants authenticate with a client certificate issued by the merchant CA, as with PAYGENT (spec
§1.1); the server presents a certificate signed by the server CA. See `kessai.tls.server` for how
the ASGI app learns which merchant connected.
"""

from kessai.tls.ca import (
    IssuedCert,
    ensure_server_certificate,
    issue_merchant_certificate,
    merchant_ca_file,
    merchant_id_from_cert,
    server_ca_file,
)
from kessai.tls.server import (
    build_uvicorn_config,
    peer_certificate,
    peer_merchant_id,
    run_server,
    ssl_context_for_server,
)

__all__ = [
    "IssuedCert",
    "build_uvicorn_config",
    "ensure_server_certificate",
    "issue_merchant_certificate",
    "merchant_ca_file",
    "merchant_id_from_cert",
    "peer_certificate",
    "peer_merchant_id",
    "run_server",
    "server_ca_file",
    "ssl_context_for_server",
]
