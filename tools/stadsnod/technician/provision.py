"""`stadsnod provision`: install a node's identity from its bundle. The bundle is verified
(city IT's signature) and decrypted on the laptop; the key, the certificates and config.json
go to the board through mpremote's transport and are checked there by hash. The installation
is recorded in the registry when the PKI is at hand, else in a receipt (authenticated with the
bundle key) that city IT loads with `stadsnod device import-receipt`. No key is ever printed."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

from cryptography import x509

from provisioning.bundle import BundleError, open_bundle

from ..core.paths import ToolError
from .deploy import _transport


def _receipt_mac(bundle_key: bytes, body: dict) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(bundle_key, text, hashlib.sha256).hexdigest()


def verify_receipt(data: bytes, bundle_key: bytes) -> dict:
    try:
        r = json.loads(data)
        body, mac = r["installed"], r["mac"]
    except (ValueError, KeyError, TypeError):
        raise ToolError("not a stadsnod installation receipt") from None
    if not hmac.compare_digest(_receipt_mac(bundle_key, body), mac):
        raise ToolError("the receipt does not check out with the bundle key: altered, or not "
                        "from our technicians")
    return body


def provision(bundle_path: Path, port: str, bundle_key: bytes, signer_pub_pem: bytes,
              board: str, wifi_ssid: str, wifi_psk: str = "", location: str = "",
              ntp: tuple[str, int] | None = None, say=print) -> dict:
    """Returns the installation record (device id, board uid, serial, time)."""
    try:
        contents = open_bundle(bundle_path.read_bytes(), bundle_key, signer_pub_pem)
    except OSError as e:
        raise ToolError(f"cannot read {bundle_path}: {e.strerror}") from None
    except BundleError as e:
        raise ToolError(f"{bundle_path}: {e}") from None
    device_id = contents["device_id"]
    config = {"device_id": device_id, "board": board, "topic_root": contents["topic_root"],
              "wifi": {"ssid": wifi_ssid, "psk": wifi_psk}, "broker": contents["broker"]}
    if ntp:
        config["ntp"] = {"host": ntp[0], "port": ntp[1]}
    files = {f"certs/{name}": data for name, data in identity_files(contents).items()}
    files["config.json"] = json.dumps(config, indent=1).encode()
    t = _transport(port)
    try:
        if not t.fs_exists("certs"):
            t.fs_mkdir("certs")
        for dest, data in files.items():
            t.fs_writefile(dest, data)
        for dest, data in files.items():
            if t.fs_hashfile(dest, "sha256") != hashlib.sha256(data).digest():
                raise ToolError(f"{dest} did not arrive intact on the board; provision again")
        uid = t.eval("__import__('machine').unique_id().hex()")
    finally:
        t.exit_raw_repl()
        t.close()
    cert = x509.load_der_x509_certificate(base64.b64decode(contents["cert"]))
    record = {"device": device_id, "uid": uid, "serial": str(cert.serial_number),
              "board": board, "location": location,
              "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    say(f"{device_id}: identity and config.json on the board (uid {uid}), verified by hash")
    return record


def write_receipt(record: dict, bundle_key: bytes, out: Path) -> Path:
    out.write_text(json.dumps({"installed": record, "mac": _receipt_mac(bundle_key, record)},
                              indent=1))
    return out


def identity_files(contents: dict) -> dict[str, bytes]:
    """A bundle's identity as the files a node keeps in certs/ (DER: mbedTLS reads it as is),
    and the city's signed trust root (what signs its commands and updates), when it has one."""
    files = {"ca.der": base64.b64decode(contents["ca"]),
             "device.der": base64.b64decode(contents["cert"]),
             "device.key.der": base64.b64decode(contents["key"])}
    if contents.get("trust_root"):
        files["trust.root"] = base64.b64decode(contents["trust_root"])
    return files
