"""City IT's certificate authority: an offline root CA, an issuing CA for devices, the broker's
server certificate, the platform's client certificate, a bundle-signing key, and the CRL.
EC P-256 throughout. Private keys are encrypted at rest with the operator's passphrase (taken
from $STADSNOD_PKI_PASSPHRASE or a prompt, never from a command-line flag) and refused if their
files are readable by anyone but the owner. The broker's key is the one exception: mosquitto
cannot ask for a passphrase, so it is kept unencrypted, owner-only."""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER
PASSPHRASE_ENV = "STADSNOD_PKI_PASSPHRASE"
ORG = "stadsnod"
DEVICE_DAYS = 2 * 365
PLATFORM_USER = "platform"


class PKIError(Exception):
    """Something about the PKI's files or its use that the operator has to fix."""


def passphrase(confirm: bool = False) -> bytes:
    value = os.environ.get(PASSPHRASE_ENV)
    if value is None:
        value = getpass.getpass("PKI passphrase: ")
        if confirm and getpass.getpass("again: ") != value:
            raise PKIError("the passphrases differ")
    if len(value) < 12:
        raise PKIError("the PKI passphrase must have at least 12 characters")
    return value.encode()


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def check_private(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PKIError(f"{path} is readable by others (mode {stat.filemode(mode)}): "
                       f"run 'chmod 600 {path}' and check who has seen it")


@dataclass
class Identity:
    """A certificate and its key, as issued to a device (or the broker, or the platform)."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def key_der(self) -> bytes:
        return self.key.private_bytes(DER, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


class Authority:
    """The PKI folder. `init` makes it; the constructor opens it with the passphrase."""

    def __init__(self, folder: Path, secret: bytes | None = None) -> None:
        self.dir = Path(folder)
        if not (self.dir / "issuing-ca.pem").exists():
            raise PKIError(f"no PKI in {self.dir}: run 'stadsnod pki init' first")
        self._secret = secret

    # -- files
    def _key(self, name: str) -> ec.EllipticCurvePrivateKey:
        path = self.dir / f"{name}.key"
        if not path.exists():
            raise PKIError(f"{path} is not here (the root key lives offline once exported)")
        check_private(path)
        if self._secret is None:
            self._secret = passphrase()
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), self._secret)
        except ValueError:
            raise PKIError(f"cannot open {path}: wrong passphrase?") from None
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def cert(self, name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self.dir / f"{name}.pem").read_bytes())

    def _save_key(self, name: str, key: ec.EllipticCurvePrivateKey) -> None:
        assert self._secret is not None
        _write_private(self.dir / f"{name}.key", key.private_bytes(
            PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._secret)))

    # -- making the hierarchy
    @classmethod
    def init(cls, folder: Path, secret: bytes, broker_hostname: str,
             broker_ips: tuple[str, ...] = ("127.0.0.1",)) -> Authority:
        folder = Path(folder)
        if (folder / "issuing-ca.pem").exists():
            raise PKIError(f"{folder} already holds a PKI")
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        (folder / "root-ca.pem").touch()
        self = cls.__new__(cls)
        self.dir, self._secret = folder, secret
        root_key = ec.generate_private_key(ec.SECP256R1())
        root = self._ca_cert(_name("stadsnod root CA"), root_key, root_key, None, 20 * 365, 1)
        self._save_key("root-ca", root_key)
        (folder / "root-ca.pem").write_bytes(root.public_bytes(PEM))
        issuing_key = ec.generate_private_key(ec.SECP256R1())
        issuing = self._ca_cert(_name("stadsnod device issuing CA"), issuing_key, root_key, root,
                                5 * 365, 0)
        self._save_key("issuing-ca", issuing_key)
        (folder / "issuing-ca.pem").write_bytes(issuing.public_bytes(PEM))
        signing = ec.generate_private_key(ec.SECP256R1())
        self._save_key("bundle-signing", signing)
        (folder / "bundle-signing.pub.pem").write_bytes(signing.public_key().public_bytes(
            PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        sans = [x509.DNSName(broker_hostname)] + \
            [x509.IPAddress(ipaddress.ip_address(ip)) for ip in broker_ips]
        broker = self.issue(broker_hostname, ExtendedKeyUsageOID.SERVER_AUTH, 825, sans)
        (folder / "broker.pem").write_bytes(broker.cert.public_bytes(PEM)
                                            + issuing.public_bytes(PEM))
        _write_private(folder / "broker.key", broker.key.private_bytes(
            PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        platform = self.issue(PLATFORM_USER, ExtendedKeyUsageOID.CLIENT_AUTH, 825)
        (folder / "platform.pem").write_bytes(platform.cert.public_bytes(PEM))
        _write_private(folder / "platform.key", platform.key.private_bytes(
            PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        self.write_crl([])
        return self

    @staticmethod
    def _ca_cert(subject: x509.Name, key, signer, issuer_cert, days: int, path_len: int):
        now = dt.datetime.now(dt.UTC)
        issuer = issuer_cert.subject if issuer_cert else subject
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(hours=1))
             .not_valid_after(now + dt.timedelta(days=days))
             .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
             .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False))
        return b.sign(signer, hashes.SHA256())

    # -- issuing and revoking
    def issue(self, cn: str, usage=ExtendedKeyUsageOID.CLIENT_AUTH, days: int = DEVICE_DAYS,
              sans: list | None = None, not_before: dt.datetime | None = None) -> Identity:
        """A new key and a certificate from the issuing CA (CN = device id for devices)."""
        ca_key = self._key("issuing-ca")
        ca = self.cert("issuing-ca")
        key = ec.generate_private_key(ec.SECP256R1())
        start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(True, False, False, False, True, False, False, False,
                                          False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 ca_key.public_key()), critical=False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return Identity(b.sign(ca_key, hashes.SHA256()), key)

    def write_crl(self, revoked_serials: list[int], next_update_days: int = 7) -> Path:
        """The issuing CA's CRL with every revoked serial (mosquitto's crlfile)."""
        ca_key = self._key("issuing-ca")
        ca = self.cert("issuing-ca")
        now = dt.datetime.now(dt.UTC)
        b = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
             .last_update(now - dt.timedelta(minutes=5))
             .next_update(now + dt.timedelta(days=next_update_days)))
        for serial in revoked_serials:
            b = b.add_revoked_certificate(x509.RevokedCertificateBuilder()
                                          .serial_number(serial).revocation_date(now).build())
        path = self.dir / "crl.pem"
        path.write_bytes(b.sign(ca_key, hashes.SHA256()).public_bytes(PEM))
        return path

    def signing_key(self) -> ec.EllipticCurvePrivateKey:
        return self._key("bundle-signing")

    def ca_chain_pem(self) -> bytes:
        """What the broker trusts for client certificates: root and issuing CA."""
        return (self.dir / "issuing-ca.pem").read_bytes() + (self.dir / "root-ca.pem").read_bytes()

    # -- the offline root
    def export_root_key(self, dest: Path, remove: bool = False) -> None:
        src = self.dir / "root-ca.key"
        if not src.exists():
            raise PKIError("the root key is not here (exported already?)")
        check_private(src)
        _write_private(dest, src.read_bytes())  # still encrypted with the passphrase
        if remove:
            src.unlink()
