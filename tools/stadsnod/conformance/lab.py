"""`stadsnod conformance lab`: a vendor's own throwaway city -- a PKI, the broker's identity,
one client identity per device under test as plain PEM files a vendor loads into its device,
the certificates the checker's fault endpoints present, and lab.json saying where the device
must connect. Its passphrase is random and kept beside it (lab.secret, owner-only): a lab is a
throwaway city for testing, never a production one."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from ..cityit.city import City
from ..core.paths import ToolError
from ..testbed.broker import free_port, free_ports

LAB_HOSTNAME = "broker.conformance.lab"
PEM = serialization.Encoding.PEM


def _pem_key(key) -> bytes:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)


def _fault_identities(city: City, out: Path) -> None:
    """The broker certificates a conformant device must refuse: another CA's, an expired one
    of the city's own CA, and one of the city's CA for another host name."""
    from provisioning.pki import issue_server, make_ca

    out.mkdir()
    foreign = issue_server(make_ca("a CA the device was never given"), LAB_HOSTNAME)
    _write(out / "foreign.pem", foreign.cert.public_bytes(PEM))
    _write(out / "foreign.key", _pem_key(foreign.key), True)
    chain = city.authority.cert("issuing-ca").public_bytes(PEM)
    sans = [x509.DNSName(LAB_HOSTNAME)]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    expired = city.authority.issue(LAB_HOSTNAME, ExtendedKeyUsageOID.SERVER_AUTH, 2, sans, past)
    _write(out / "expired.pem", expired.cert.public_bytes(PEM) + chain)
    _write(out / "expired.key", _pem_key(expired.key), True)
    other = city.authority.issue("elsewhere.example", ExtendedKeyUsageOID.SERVER_AUTH, 30,
                                 [x509.DNSName("elsewhere.example")])
    _write(out / "wrong-host.pem", other.cert.public_bytes(PEM) + chain)
    _write(out / "wrong-host.key", _pem_key(other.key), True)


def make_lab(folder: Path, devices: list[str], host: str = "127.0.0.1",
             say=print) -> dict:
    from provisioning.bundle import open_bundle

    if (folder / "lab.json").exists():
        raise ToolError(f"{folder} already holds a lab: check against it, or choose another "
                        "--dir")
    if not devices:
        raise ToolError("name at least one device under test: --device ID")
    folder.mkdir(parents=True, exist_ok=True)
    port, sntp_port = free_ports(2)
    secret = secrets.token_hex(24).encode()
    _write(folder / "lab.secret", secret, True)
    say(f"making the lab's city PKI in {folder / 'city'}")
    city = City.init(folder / "city", host, port, "stadsnod", LAB_HOSTNAME, secret=secret)
    try:
        bundles = city.issue(devices, folder / "city" / "bundles", progress=say)
        for device_id, path in zip(devices, bundles, strict=True):
            contents = open_bundle(path.read_bytes(), city.bundle_key(),
                                   (city.dir / "bundle-signing.pub.pem").read_bytes())
            out = folder / "devices" / device_id
            out.mkdir(parents=True)
            cert = x509.load_der_x509_certificate(base64.b64decode(contents["cert"]))
            key = serialization.load_der_private_key(base64.b64decode(contents["key"]), None)
            _write(out / "client.crt", cert.public_bytes(PEM))
            _write(out / "client.key", _pem_key(key), True)
            _write(out / "ca.crt", city.ca_pem.read_bytes())
            if contents.get("trust_root"):
                _write(out / "trust.root", base64.b64decode(contents["trust_root"]))
        _fault_identities(city, folder / "faults")
        city.broker_config(folder / "broker", free_port())  # ports are set again at run time
    finally:
        city.close()
    lab = {"lab": 1, "host": host, "port": port, "server_hostname": LAB_HOSTNAME,
           "topic_root": "stadsnod", "sntp_host": host, "sntp_port": sntp_port,
           "devices": devices, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    (folder / "lab.json").write_text(json.dumps(lab, indent=1) + "\n")
    return lab


def open_city(folder: Path) -> City:
    """The lab's city (its checker signs commands and runs the broker with it)."""
    return City(folder / "city", (folder / "lab.secret").read_bytes())


def read_lab(folder: Path) -> dict:
    try:
        lab = json.loads((folder / "lab.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ToolError(f"no lab in {folder} ({e}): make one with 'stadsnod conformance lab "
                        f"--dir {folder} --device ID'") from None
    return lab
