"""A laptop-side device TLS client for the security tests and the PKI bench: a bundle's identity
as PEM, a handshake with the broker as that device, and the time until the broker refuses it."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

from provisioning.authority import PEM

from ..cityit.broker_config import BROKER_HOSTNAME
from ..core.paths import ToolError


def pem_identity(contents: dict, folder: Path) -> tuple[Path, Path]:
    """A bundle's certificate and key as PEM files (for a laptop-side TLS client: tests, the
    bench), the key owner-only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    folder.mkdir(parents=True, exist_ok=True)
    cert = x509.load_der_x509_certificate(base64.b64decode(contents["cert"]))
    key = serialization.load_der_private_key(base64.b64decode(contents["key"]), None)
    (folder / "c.pem").write_bytes(cert.public_bytes(PEM))
    fd = os.open(folder / "k.pem", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return folder / "c.pem", folder / "k.pem"


def tls_handshake(root_pem: Path, cert: Path, key: Path, port: int,
                  server_hostname: str = BROKER_HOSTNAME) -> None:
    """A TLS 1.2 session with the broker on loopback, as a device; raises OSError when the
    broker refuses the certificate."""
    import socket
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(root_pem)
    ctx.load_cert_chain(cert, key)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # a refusal then surfaces in the handshake
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s, \
            ctx.wrap_socket(s, server_hostname=server_hostname) as t:
        t.sendall(b"\x10\x00")  # any bytes: a refused session fails here at the latest
        t.recv(1)


def wait_refused(connect, timeout: float = 30) -> float:
    """Seconds until `connect()` raises (a refused client), for the revocation figure."""
    start = time.time()
    while time.time() - start < timeout:
        try:
            connect()
        except OSError:
            return time.time() - start
        time.sleep(0.05)
    raise ToolError("the broker still accepts the revoked certificate")
