"""The vendor device's paperwork and seeded-fault helpers (testbed/vendor_device.py): what the
vendor declares, a broker check that ignores validity dates, a status page behind the factory
password."""

from __future__ import annotations

import http.server
import ssl
from pathlib import Path
from typing import Any

FIRMWARE = "vendorware 2.1"
# a connection held this long restarts the backoff (declared); well above the checker's
# half-second kick, so a loaded machine's slow close never looks like a stable connection
STABLE_S = 5.0
# the first retry waits 0.5-1 s and each failure doubles it: long enough that a loaded
# machine's scheduling noise does not hide the growth the checker looks for
BACKOFF_BASE_S = 1.0


def verify_ignoring_time(files: Path, hostname: str, tls: ssl.SSLSocket) -> None:
    """The seeded fault: signatures up to the city's root and the host name checked, the
    validity dates not (a device without a clock that "cannot" check them)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    leaf = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True) or b"")
    root = x509.load_pem_x509_certificate((files / "ca.crt").read_bytes())
    # the chain the broker sent (Python 3.11 shows only the leaf): the lab's copy of it
    chain = x509.load_pem_x509_certificates(
        (Path(files).parents[1] / "broker" / "ca-chain.pem").read_bytes())
    issuing = next(c for c in chain if c.subject == leaf.issuer)
    for cert, signer in ((leaf, issuing), (issuing, root)):
        key = signer.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        algorithm = cert.signature_hash_algorithm
        assert algorithm is not None
        key.verify(cert.signature, cert.tbs_certificate_bytes,
                   ec.ECDSA(algorithm))  # raises when forged
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    if hostname not in names.value.get_values_for_type(x509.DNSName):
        raise ValueError("another host name")


def declaration(fault: str | None = None, http_port: int = 0) -> dict[str, Any]:
    """What this vendor declares (truthfully, but for the seeded lie)."""
    records = ["seq", "temperature", "quality/sht31_0x44"]
    if fault == "raw-audio":
        records.append("LAeq")
    if fault == "lying-declaration":
        records.append("humidity")  # declared, never published
    doc: dict[str, Any] = {
        "profile": "1", "vendor": "Example Sensors AB", "model": "ES-T1 temperature node",
        "firmware": FIRMWARE,
        "features": {"commands": True, "ota": False, "noise": fault == "raw-audio",
                     "occupancy": False, "local": fault == "default-password"},
        "records": records,
        "ixit": {"key_provisioning": "a key pair generated in the secure element at the "
                                     "factory; the city's CA signs its CSR",
                 "vulnerability_contact": "https://example.com/security",
                 "support_period": "https://example.com/support: 2031-12-31",
                 "erase": "hold the button for 10 s: keys and readings are wiped"},
        "not_applicable": {"SN-CMD-4": "no updates over the air: firmware by cable only"},
        "timing": {"interval_s": 1, "health_s": 1, "reconnect_stable_s": STABLE_S}}
    if fault == "default-password":
        doc["local_services"] = [{"port": http_port, "protocol": "http",
                                  "purpose": "a status page for the installer"}]
    else:
        doc["not_applicable"]["SN-LOC-2"] = "no local network service"
    return doc


def web_page(port: int) -> None:
    """The seeded fault: a status page behind the factory password admin/admin."""
    import base64

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = base64.b64encode(b"admin:admin").decode()
            if self.headers.get("Authorization") == f"Basic {ok}":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"status: ok")
            else:
                self.send_response(401)
                self.send_header("WWW-Authenticate", "Basic realm=device")
                self.end_headers()

        def log_message(self, *a: Any) -> None:
            pass

    http.server.HTTPServer(("127.0.0.1", port), Page).serve_forever()
