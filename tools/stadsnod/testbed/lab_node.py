"""A simulated stadsnod node set up the way a vendor sets up a device for a conformance lab:
its broker, host name and SNTP server from lab.json, its identity loaded from the lab's plain
PEM files (converted to the DER the firmware keeps). Used by the tests and the bench."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .simnode import SimNode, node_config
from .worlds import sim_world

DER = serialization.Encoding.DER


def lab_node(lab_dir: Path, device: str, folder: Path, index: int = 0,
             backoff_stable_s: int = 30, **cfg) -> SimNode:
    lab = json.loads((lab_dir / "lab.json").read_text())
    files = lab_dir / "devices" / device
    config = node_config(device, lab["port"], lab["sntp_port"],
                         hostname=lab["server_hostname"], **cfg)
    config["broker"]["host"] = lab["host"]
    config["broker"]["backoff_stable_s"] = backoff_stable_s
    config["ntp"]["host"] = lab["sntp_host"]
    node = SimNode(device, folder, config, sim_world(index))
    node.prepare()
    certs = folder / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    ca = x509.load_pem_x509_certificate((files / "ca.crt").read_bytes())
    cert = x509.load_pem_x509_certificate((files / "client.crt").read_bytes())
    key = serialization.load_pem_private_key((files / "client.key").read_bytes(), None)
    (certs / "ca.der").write_bytes(ca.public_bytes(DER))
    (certs / "device.der").write_bytes(cert.public_bytes(DER))
    (certs / "device.key.der").write_bytes(key.private_bytes(
        DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    if (files / "trust.root").exists():
        (certs / "trust.root").write_bytes((files / "trust.root").read_bytes())
    return node
