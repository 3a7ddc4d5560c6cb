"""City IT's domain behind `stadsnod pki`, `stadsnod device` and `stadsnod broker config` (the
commands are in commands.py). The PKI folder (default ./city-pki or $STADSNOD_PKI) holds the CA
files, the registry (registry.db with its audit log) and city.json (the broker's address and the
topic root that go into every provisioning bundle)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
from pathlib import Path
from typing import Self

from cryptography.x509.oid import ExtendedKeyUsageOID

from provisioning.authority import DER, Authority, PKIError, passphrase
from provisioning.bundle import new_bundle_key, seal
from provisioning.registry import Registry, RegistryError
from provisioning.trust import TrustError, TrustStore

from ..core.paths import ToolError
from .broker_config import BROKER_HOSTNAME, write_config

CITY_FILE = "city.json"
BUNDLE_KEY_FILE = "technician-bundle.key"


def read_bundle_key(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


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
        self._secret = secret

    @property
    def trust_dir(self) -> Path:
        return self.dir / "trust"

    def trust(self) -> TrustStore:
        """City IT's signing keys (root, release, timestamp, command): `stadsnod keys`."""
        try:
            return TrustStore(self.trust_dir, self._secret)
        except TrustError as e:
            raise ToolError(str(e)) from None

    def init_trust(self, root_keys: int = 3, root_threshold: int = 2,
                   audit: bool = True) -> TrustStore:
        try:
            store = TrustStore.init(self.trust_dir, self._secret or passphrase(),
                                    root_keys, root_threshold)
        except TrustError as e:
            raise ToolError(str(e)) from None
        root = store.root().doc
        if not audit:  # City.init's own entry records it
            return store
        self.registry.note("keys-init", {"root_version": root["version"],
                                         "root_threshold": f"{root_threshold}/{root_keys}",
                                         "keys": sorted(root["keys"])})
        return store

    @classmethod
    def init(cls, folder: Path, broker_host: str, broker_port: int, topic_root: str,
             server_hostname: str = BROKER_HOSTNAME, secret: bytes | None = None) -> Self:
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
        root = city.init_trust(audit=False).root().doc
        city.registry.note("init", {"broker": f"{broker_host}:{broker_port}",
                                    "server_hostname": server_hostname,
                                    "trust_root": f"v{root['version']}",
                                    "keys": sorted(root["keys"])})
        return city

    @property
    def ca_pem(self) -> Path:
        """The root CA certificate that nodes and the platform trust."""
        return self.dir / "root-ca.pem"

    # -- devices
    def issue(self, device_ids: list[str], out: Path, board: str = "", location: str = "",
              days: int = 2 * 365, progress=print) -> list[Path]:
        bad = [d for d in device_ids if not _device_id_ok(d)]
        if bad:
            raise ToolError(f"not a device id: {', '.join(bad)} (a-z, 0-9 and '-', max 63)")
        out.mkdir(parents=True, exist_ok=True)
        bundle_key = self.bundle_key()
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
        if self.trust_dir.is_dir():  # the root of trust for its commands and updates
            contents["trust_root"] = base64.b64encode(self.trust().root().data).decode()
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
        """The technicians' bundle key (handed to them separately from the bundles)."""
        return read_bundle_key(self.dir / BUNDLE_KEY_FILE)

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
        bundle_key = self.bundle_key()
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
    def broker_config(self, out: Path, port: int, user: str | None = None,
                      bind: str = "127.0.0.1") -> Path:
        out.mkdir(parents=True, exist_ok=True)
        (out / "ca-chain.pem").write_bytes(self.authority.ca_chain_pem())
        for name in ("broker.pem", "broker.key", "crl.pem"):
            shutil.copy2(self.dir / name, out / name)
        conf = write_config(out, port=port, user=user or _user(), root=self.settings["topic_root"],
                            ca=out / "ca-chain.pem", cert=out / "broker.pem",
                            key=out / "broker.key", crl=out / "crl.pem", bind=bind)
        self.settings["broker_dir"] = str(out.resolve())
        (self.dir / CITY_FILE).write_text(json.dumps(self.settings, indent=1))
        self.registry.note("broker-config", {"dir": str(out.resolve()), "port": port,
                                             "bind": bind})
        return conf

    def rabbitmq_config(self, out: Path, port: int, bind: str = "127.0.0.1",
                        cluster: list[str] | None = None) -> Path:
        """The same broker as RabbitMQ's MQTT plugin (rabbitmq_config.py): every device not
        revoked or retired is a user."""
        from .rabbitmq_config import write_rabbitmq_config

        out.mkdir(parents=True, exist_ok=True)
        (out / "ca-chain.pem").write_bytes(self.authority.ca_chain_pem())
        for name in ("broker.pem", "broker.key"):
            shutil.copy2(self.dir / name, out / name)
        devices = [d["id"] for d in self.registry.devices()
                   if d["state"] not in ("revoked", "retired")]
        conf = write_rabbitmq_config(out, port=port, root=self.settings["topic_root"],
                                     ca=out / "ca-chain.pem", cert=out / "broker.pem",
                                     key=out / "broker.key", devices=devices, bind=bind,
                                     cluster=cluster)
        self.registry.note("broker-config", {"dir": str(out.resolve()), "port": port,
                                             "bind": bind, "kind": "rabbitmq"})
        return conf

    def close(self) -> None:
        self.registry.close()


def _user() -> str:
    import getpass

    return getpass.getuser()


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
