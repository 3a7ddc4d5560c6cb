"""City IT's commands: `stadsnod pki ...`, `stadsnod device ...`, `stadsnod broker config`.
The PKI folder (default ./city-pki or $STADSNOD_PKI) holds the CA files, the registry
(registry.db with its audit log) and city.json (the broker's address and the topic root that
go into every provisioning bundle)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import time
from pathlib import Path

from cryptography.x509.oid import ExtendedKeyUsageOID

from provisioning.authority import DER, PEM, Authority, PKIError, passphrase
from provisioning.bundle import new_bundle_key, seal
from provisioning.registry import Registry, RegistryError

from ..core.paths import ToolError
from ..testbed.broker import ACL, BROKER_HOSTNAME, PLATFORM_USER

CITY_FILE = "city.json"
BUNDLE_KEY_FILE = "technician-bundle.key"


def pki_dir(path: str | None) -> Path:
    return Path(path or os.environ.get("STADSNOD_PKI") or "city-pki")


def _device_id_ok(s: str) -> bool:
    """The wire contract's device id: a-z, 0-9 and '-', 1..63, not starting/ending with '-'."""
    return 0 < len(s) <= 63 and s[0] != "-" and s[-1] != "-" and \
        all("a" <= c <= "z" or "0" <= c <= "9" or c == "-" for c in s)


class City:
    def __init__(self, folder: Path, secret: bytes | None = None) -> None:
        self.dir = folder
        try:
            self.settings = json.loads((folder / CITY_FILE).read_text())
            self.authority = Authority(folder, secret)
        except FileNotFoundError:
            raise ToolError(f"no PKI in {folder}: run 'stadsnod pki init --dir {folder}' "
                            "first") from None
        except PKIError as e:
            raise ToolError(str(e)) from None
        self.registry = Registry(folder / "registry.db")

    @classmethod
    def init(cls, folder: Path, broker_host: str, broker_port: int, topic_root: str,
             server_hostname: str = BROKER_HOSTNAME, secret: bytes | None = None) -> City:
        secret = secret or passphrase(confirm=True)
        try:
            Authority.init(folder, secret, server_hostname)
        except PKIError as e:
            raise ToolError(str(e)) from None
        (folder / CITY_FILE).write_text(json.dumps({
            "broker_host": broker_host, "broker_port": broker_port,
            "server_hostname": server_hostname, "topic_root": topic_root}, indent=1))
        key = folder / BUNDLE_KEY_FILE
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(new_bundle_key().hex().encode())
        city = cls(folder, secret)
        city.registry.note("init", {"broker": f"{broker_host}:{broker_port}",
                                    "server_hostname": server_hostname})
        return city

    # -- devices
    def issue(self, device_ids: list[str], out: Path, board: str = "", location: str = "",
              days: int = 2 * 365, progress=print) -> list[Path]:
        bad = [d for d in device_ids if not _device_id_ok(d)]
        if bad:
            raise ToolError(f"not a device id: {', '.join(bad)} (a-z, 0-9 and '-', max 63)")
        out.mkdir(parents=True, exist_ok=True)
        bundle_key = bytes.fromhex((self.dir / BUNDLE_KEY_FILE).read_text().strip())
        signer = self.authority.signing_key()
        root_der = self.authority.cert("root-ca").public_bytes(DER)
        written = []
        for i, device_id in enumerate(device_ids, 1):
            ident = self.authority.issue(device_id, ExtendedKeyUsageOID.CLIENT_AUTH, days)
            try:
                self.registry.add(device_id, ident.cert.serial_number,
                                  ident.cert.not_valid_after_utc, board, location,
                                  sensors=_board_sensors(board))
            except RegistryError as e:
                raise ToolError(str(e)) from None
            written.append(self._bundle(device_id, ident, root_der, bundle_key, signer, out))
            progress(f"[{i}/{len(device_ids)}] {device_id}: serial "
                     f"{ident.cert.serial_number:x}, bundle {written[-1]}")
        return written

    def _bundle(self, device_id, ident, root_der, bundle_key, signer, out: Path) -> Path:
        s = self.settings
        contents = {
            "device_id": device_id,
            "cert": base64.b64encode(ident.cert.public_bytes(DER)).decode(),
            "key": base64.b64encode(ident.key_der()).decode(),
            "ca": base64.b64encode(root_der).decode(),
            "broker": {"host": s["broker_host"], "port": s["broker_port"],
                       "server_hostname": s["server_hostname"]},
            "topic_root": s["topic_root"],
        }
        path = out / f"{device_id}.bundle"
        path.write_bytes(seal(device_id, contents, bundle_key, signer))
        return path

    def record_install(self, record: dict) -> None:
        """A technician's installation (from `provision`, or a receipt): issued -> installed."""
        dev = self.registry.get(record["device"])
        if dev["serial"] != record["serial"]:
            raise ToolError(f"{record['device']} was installed with certificate {record['serial']}"
                            f", but the registry expects {dev['serial']}: an old bundle?")
        try:
            self.registry.set_state(record["device"], "installed", uid=record["uid"],
                                    install_date=record["at"],
                                    **({"location": record["location"]}
                                       if record.get("location") else {}))
        except RegistryError as e:
            raise ToolError(str(e)) from None

    def bundle_key(self) -> bytes:
        return bytes.fromhex((self.dir / BUNDLE_KEY_FILE).read_text().strip())

    def revoke(self, device_id: str, retire: bool = False) -> Path:
        """Revoked (compromised, lost) or retired (taken out of service): either way its
        certificate goes on the CRL."""
        try:
            self.registry.set_state(device_id, "retired" if retire else "revoked")
        except RegistryError as e:
            raise ToolError(str(e)) from None
        return self._publish_crl()

    def activate(self, device_id: str) -> None:
        """Installed and its self-test passed, the broker included: active."""
        try:
            self.registry.set_state(device_id, "active")
        except RegistryError as e:
            raise ToolError(str(e)) from None

    def rotate(self, device_id: str, out: Path, days: int = 2 * 365) -> Path:
        """A new identity for a device. The old certificate keeps working until the new one
        is installed and `confirm_rotation` puts the old one on the CRL."""
        ident = self.authority.issue(device_id, ExtendedKeyUsageOID.CLIENT_AUTH, days)
        try:
            self.registry.replace_serial(device_id, ident.cert.serial_number,
                                         ident.cert.not_valid_after_utc)
        except RegistryError as e:
            raise ToolError(str(e)) from None
        bundle_key = bytes.fromhex((self.dir / BUNDLE_KEY_FILE).read_text().strip())
        out.mkdir(parents=True, exist_ok=True)
        path = self._bundle(device_id, ident, self.authority.cert("root-ca").public_bytes(DER),
                            bundle_key, self.authority.signing_key(), out)
        self._publish_crl()  # a rotation that replaced an unconfirmed one revoked that one
        return path

    def confirm_rotation(self, device_id: str) -> Path:
        try:
            self.registry.confirm_rotation(device_id)
        except RegistryError as e:
            raise ToolError(str(e)) from None
        return self._publish_crl()

    def _publish_crl(self) -> Path:
        """The CRL to the PKI folder and the broker's folder; the broker re-reads it on
        SIGHUP (mosquitto reloads its TLS files then)."""
        crl = self.authority.write_crl(self.registry.revoked_serials())
        broker_dir = self.settings.get("broker_dir")
        if broker_dir:
            shutil.copy2(crl, Path(broker_dir) / "crl.pem")
            pidfile = Path(broker_dir) / "mosquitto.pid"
            try:
                os.kill(int(pidfile.read_text()), signal.SIGHUP)
            except (OSError, ValueError):
                pass  # not running here: it reads the new CRL when it starts
        return crl

    # -- the broker's configuration
    def broker_config(self, out: Path, port: int, user: str | None = None) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        a = self.authority
        (out / "ca-chain.pem").write_bytes(a.ca_chain_pem())
        shutil.copy2(self.dir / "broker.pem", out / "broker.pem")
        shutil.copy2(self.dir / "broker.key", out / "broker.key")
        shutil.copy2(self.dir / "crl.pem", out / "crl.pem")
        (out / "acl").write_text(ACL.format(root=self.settings["topic_root"],
                                            platform=PLATFORM_USER))
        conf = out / "mosquitto.conf"
        conf.write_text(CONF.format(dir=out, port=port, user=user or _user()))
        self.settings["broker_dir"] = str(out.resolve())
        (self.dir / CITY_FILE).write_text(json.dumps(self.settings, indent=1))
        self.registry.note("broker-config", {"dir": str(out.resolve()), "port": port})
        return conf

    def close(self) -> None:
        self.registry.close()


def _user() -> str:
    import getpass

    return getpass.getuser()


CONF = """# stadsnod broker configuration, written by `stadsnod broker config`.
per_listener_settings false
user {user}
pid_file {dir}/mosquitto.pid
allow_anonymous false
persistence true
persistence_location {dir}/
log_dest file {dir}/mosquitto.log
log_type error
log_type warning
log_type notice
connection_messages true
acl_file {dir}/acl
listener {port} 127.0.0.1
cafile {dir}/ca-chain.pem
certfile {dir}/broker.pem
keyfile {dir}/broker.key
crlfile {dir}/crl.pem
require_certificate true
use_identity_as_username true
tls_version tlsv1.2
"""


def _board_sensors(board: str) -> str:
    """The sensors a shipped board carries, for the registry ('' for an unknown board)."""
    from ..core.boards import load_board

    if not board:
        return ""
    try:
        spec, _ = load_board(board)
    except ToolError:
        return ""
    return ",".join(s["driver"] for s in spec["sensors"])


class DemoCity(City):
    """A throwaway city PKI for `make demo`, the tests and the bench: the real hierarchy,
    registry, bundles and `broker config`, with a passphrase that is no secret."""

    SECRET = b"stadsnod demo passphrase: not a secret"

    def __init__(self, folder: Path, secret: bytes | None = None) -> None:
        super().__init__(folder, secret or self.SECRET)

    @classmethod
    def create(cls, folder: Path) -> DemoCity:
        return cls.init(folder, "127.0.0.1", 8883, "stadsnod", secret=cls.SECRET)

    @property
    def ca_pem(self) -> Path:
        return self.dir / "root-ca.pem"

    def device(self, device_id: str, certs_dir: Path) -> None:
        """Issues (or, for a known device, rotates) an identity and writes it as a node keeps
        it, going through the sealed bundle as a technician's tool would."""
        from provisioning.bundle import open_bundle

        bundles = self.dir / "bundles"
        try:
            path = self.issue([device_id], bundles, progress=lambda _m: None)[0]
        except ToolError:
            path = self.rotate(device_id, bundles)
            self.confirm_rotation(device_id)
        key = bytes.fromhex((self.dir / BUNDLE_KEY_FILE).read_text())
        contents = open_bundle(path.read_bytes(), key,
                               (self.dir / "bundle-signing.pub.pem").read_bytes())
        certs_dir.mkdir(parents=True, exist_ok=True)
        for name, data in identity_files(contents).items():
            (certs_dir / name).write_bytes(data)


def identity_files(contents: dict) -> dict[str, bytes]:
    """A bundle's identity as the files a node keeps in certs/ (DER: mbedTLS reads it as is)."""
    return {"ca.der": base64.b64decode(contents["ca"]),
            "device.der": base64.b64decode(contents["cert"]),
            "device.key.der": base64.b64decode(contents["key"])}


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


def bench_pki(workdir: Path, count: int = 50) -> dict[str, float]:
    """pki_issue_per_s (identities with their bundles) and revocation_to_refusal_s (from
    `revoke` to the broker refusing the device's TLS handshake), with real mosquitto."""
    import subprocess

    from provisioning.bundle import open_bundle

    from ..core.paths import mosquitto
    from ..testbed.broker import free_port

    shutil.rmtree(workdir, ignore_errors=True)
    port = free_port()
    city = City.init(workdir / "pki", "127.0.0.1", port, "stadsnod",
                     secret=b"bench passphrase, not a secret")
    ids = [f"bench-{i:04d}" for i in range(count)]
    start = time.perf_counter()
    city.issue(ids, workdir / "bundles", progress=lambda _m: None)
    per_s = count / (time.perf_counter() - start)
    conf = city.broker_config(workdir / "broker", port)
    proc = subprocess.Popen([mosquitto(), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        contents = open_bundle((workdir / "bundles" / f"{ids[0]}.bundle").read_bytes(),
                               city.bundle_key(),
                               (city.dir / "bundle-signing.pub.pem").read_bytes())
        cert, key = pem_identity(contents, workdir / "probe")

        def connect() -> None:
            tls_handshake(city.dir / "root-ca.pem", cert, key, port)

        deadline = time.time() + 10
        while True:
            try:
                connect()
                break
            except OSError:
                if time.time() > deadline:
                    raise ToolError("the bench broker did not accept a valid device") from None
                time.sleep(0.1)
        start = time.perf_counter()
        city.revoke(ids[0])
        wait_refused(connect)
        refusal = time.perf_counter() - start  # the revoke itself (CRL, reload) included
    finally:
        proc.terminate()
        proc.wait(5)
        city.close()
    return {"pki_issue_per_s": per_s, "revocation_to_refusal_s": refusal}


__all__ = ["City", "pki_dir", "PEM"]
