"""Certificates with `cryptography`, EC P-256: a CA, the broker's server certificate and one
client certificate per device (CN = device id). Until the provisioning issue brings the city's
real PKI and registry, `make demo` and the tests make a throwaway CA with this module."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def write_pem(self, cert_path: Path, key_path: Path) -> None:
        cert_path.write_bytes(self.cert.public_bytes(PEM))
        key_path.write_bytes(self.key.private_bytes(
            PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
        key_path.chmod(0o600)

    def write_der(self, cert_path: Path, key_path: Path) -> None:
        """DER is what nodes store: smaller, and mbedTLS parses it without base64."""
        cert_path.write_bytes(self.cert.public_bytes(DER))
        key_path.write_bytes(self.key.private_bytes(
            DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
        key_path.chmod(0o600)


def _name(cn: str, org: str = "stadsnod") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject: x509.Name, issuer: x509.Name, key, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=days)))


def make_ca(cn: str = "stadsnod demo CA", days: int = 30) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(_name(cn), _name(cn), key, days)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    return Issued(cert, key)


def _issue(ca: Issued, cn: str, days: int, usage, sans: list | None = None) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    b = (_builder(_name(cn), ca.cert.subject, key, days)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(True, False, False, False, True, False, False, False,
                                      False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return Issued(b.sign(ca.key, hashes.SHA256()), key)


def issue_server(ca: Issued, hostname: str, days: int = 30) -> Issued:
    sans = [x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    return _issue(ca, hostname, days, ExtendedKeyUsageOID.SERVER_AUTH, sans)


def issue_client(ca: Issued, cn: str, days: int = 30) -> Issued:
    return _issue(ca, cn, days, ExtendedKeyUsageOID.CLIENT_AUTH)
