"""City IT's PKI, registry and audit log, against real mosquitto configured by
`stadsnod broker config`: bundles that refuse tampering, revocation that the broker enforces
after a reload, expired and foreign certificates refused, the ACL, an audit log that shows
tampering, no secret in any output, and a registry that survives a crash."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from stadsnod.cityit.city import BUNDLE_KEY_FILE, City
from stadsnod.core.paths import ROOT, mosquitto
from stadsnod.testbed.tls_probe import pem_identity, tls_handshake, wait_refused

from provisioning.authority import Authority, PKIError
from provisioning.bundle import BundleError, open_bundle, seal
from provisioning.registry import Registry

SECRET = "correct horse battery staple"


@pytest.fixture
def city(tmp_path, monkeypatch):
    monkeypatch.setenv("STADSNOD_PKI_PASSPHRASE", SECRET)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = City.init(tmp_path / "pki", "127.0.0.1", port, "stadsnod")
    c.issue(["aq-0001", "aq-0002"], tmp_path / "bundles", board="picow", location="Slussen",
            progress=lambda _m: None)
    conf = c.broker_config(tmp_path / "broker", port)
    proc = subprocess.Popen([mosquitto(), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    c.port = port
    c.tmp = tmp_path
    yield c
    proc.terminate()
    proc.wait(5)
    c.close()


def bundle(city, device_id: str) -> dict:
    key = bytes.fromhex((city.dir / BUNDLE_KEY_FILE).read_text())
    pub = (city.dir / "bundle-signing.pub.pem").read_bytes()
    return open_bundle((city.tmp / "bundles" / f"{device_id}.bundle").read_bytes(), key, pub)


def pem_files(folder: Path, contents: dict) -> tuple[Path, Path]:
    return pem_identity(contents, folder)


def tls_connect(city, cert: Path, key: Path) -> None:
    tls_handshake(city.dir / "root-ca.pem", cert, key, city.port)


def test_bundle_holds_the_devices_identity(city):
    b = bundle(city, "aq-0001")
    cert = x509.load_der_x509_certificate(base64.b64decode(b["cert"]))
    key = serialization.load_der_private_key(base64.b64decode(b["key"]), None)
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "aq-0001"
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert b["broker"]["port"] == city.port and b["topic_root"] == "stadsnod"
    dev = city.registry.get("aq-0001")
    assert (dev["board"], dev["location"], dev["sensors"], dev["state"]) == \
        ("picow", "Slussen", "bme280,sps30", "issued")
    assert dev["serial"] == str(cert.serial_number)
    root = x509.load_der_x509_certificate(base64.b64decode(b["ca"]))
    assert root.subject == city.authority.cert("root-ca").subject


def test_tampered_forged_or_wrongly_keyed_bundles_are_refused(city):
    raw = json.loads((city.tmp / "bundles" / "aq-0001.bundle").read_bytes())
    key = bytes.fromhex((city.dir / BUNDLE_KEY_FILE).read_text())
    pub = (city.dir / "bundle-signing.pub.pem").read_bytes()
    ct = bytearray(base64.b64decode(raw["ciphertext"]))
    ct[10] ^= 1
    altered = dict(raw, ciphertext=base64.b64encode(bytes(ct)).decode())
    with pytest.raises(BundleError, match="signature is not city IT's"):
        open_bundle(json.dumps(altered).encode(), key, pub)
    renamed = dict(raw, device_id="aq-0002")  # someone else's bundle passed off as this one
    with pytest.raises(BundleError, match="signature"):
        open_bundle(json.dumps(renamed).encode(), key, pub)
    forged = seal("aq-0001", {"device_id": "aq-0001"}, key, ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(BundleError, match="signature"):
        open_bundle(forged, key, pub)
    with pytest.raises(BundleError, match="bundle key does not open"):
        open_bundle(json.dumps(raw).encode(), os.urandom(32), pub)


def test_revoked_device_is_refused_once_the_broker_reloads(city):
    c1, k1 = pem_files(city.tmp / "d1", bundle(city, "aq-0001"))
    c2, k2 = pem_files(city.tmp / "d2", bundle(city, "aq-0002"))
    tls_connect(city, c1, k1)
    city.revoke("aq-0001")  # CRL to the broker's folder, SIGHUP through its pid file
    took = wait_refused(lambda: tls_connect(city, c1, k1), timeout=20)
    assert took < 20
    tls_connect(city, c2, k2)  # the others carry on
    assert city.registry.get("aq-0001")["state"] == "revoked"
    crl = x509.load_pem_x509_crl((city.dir / "crl.pem").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(
        int(city.registry.get("aq-0001")["serial"])) is not None


def test_rotation_retires_the_old_identity_once_the_new_one_is_in_use(city):
    old = pem_files(city.tmp / "old", bundle(city, "aq-0002"))
    city.rotate("aq-0002", city.tmp / "bundles")
    new = pem_files(city.tmp / "new", bundle(city, "aq-0002"))
    tls_connect(city, *old)  # both work while the new one is being installed
    tls_connect(city, *new)
    city.confirm_rotation("aq-0002")
    wait_refused(lambda: tls_connect(city, *old), timeout=20)
    tls_connect(city, *new)
    assert [e["action"] for e in city.registry.audit()][-2:] == ["rotate", "rotation-done"]


def test_expired_and_foreign_certificates_are_refused(city, tmp_path):
    from cryptography.x509.oid import ExtendedKeyUsageOID

    expired = city.authority.issue("aq-0009", ExtendedKeyUsageOID.CLIENT_AUTH, days=1,
                                   not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    foreign_city = Authority.init(tmp_path / "other", SECRET.encode(), "broker.stadsnod.local")
    foreign = foreign_city.issue("aq-0001")
    for name, ident in (("expired", expired), ("foreign", foreign)):
        der = ident.cert.public_bytes(serialization.Encoding.DER)
        contents = {"cert": base64.b64encode(der).decode(),
                    "key": base64.b64encode(ident.key_der()).decode()}
        with pytest.raises(OSError):
            tls_connect(city, *pem_files(tmp_path / name, contents))


def test_acl_keeps_nodes_in_their_own_topics(city):
    import paho.mqtt.client as mqtt

    got = []
    plat = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="platform-test")
    plat.tls_set(ca_certs=str(city.dir / "root-ca.pem"), certfile=str(city.dir / "platform.pem"),
                 keyfile=str(city.dir / "platform.key"))
    plat.on_message = lambda _c, _u, m: got.append(m.topic)
    plat.connect("127.0.0.1", city.port)
    plat.subscribe("stadsnod/#", qos=1)
    plat.loop_start()
    c, k = pem_files(city.tmp / "acl", bundle(city, "aq-0001"))
    node = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="aq-0001")
    node.tls_set(ca_certs=str(city.dir / "root-ca.pem"), certfile=str(c), keyfile=str(k))
    dropped = []  # a denied publish is dropped silently; the node stays connected
    node.on_disconnect = lambda _c, _u, _f, reason, _p: dropped.append(str(reason))
    node.connect("127.0.0.1", city.port)
    node.loop_start()
    time.sleep(0.5)
    node.publish("stadsnod/aq-0002/data", b"[]", qos=1).wait_for_publish(5)
    node.publish("stadsnod/aq-0001/data", b"[]", qos=1).wait_for_publish(5)
    heard = []
    node.on_message = lambda _c, _u, m: heard.append(m.topic)
    node.subscribe([("stadsnod/aq-0002/cmd", 1), ("stadsnod/aq-0001/cmd", 1)])
    time.sleep(0.5)
    plat.publish("stadsnod/aq-0002/cmd", b"x", qos=1).wait_for_publish(5)
    plat.publish("stadsnod/aq-0001/cmd", b"x", qos=1).wait_for_publish(5)
    time.sleep(1)
    node.loop_stop()
    plat.loop_stop()
    assert got[0] == "stadsnod/aq-0001/data" and "stadsnod/aq-0002/data" not in got, got
    assert heard == ["stadsnod/aq-0001/cmd"], heard  # another node's commands stay unread
    assert not dropped, f"the broker dropped the node after a denied publish: {dropped}"


def test_audit_log_shows_tampering_and_truncation(city):
    city.revoke("aq-0002")
    assert city.registry.verify() == []
    db = city.dir / "registry.db"
    with sqlite3.connect(db) as c:
        c.execute("UPDATE audit SET detail = replace(detail, 'Slussen', 'Nowhere') WHERE seq=2")
    assert any("altered" in p for p in Registry(db).verify())
    with sqlite3.connect(db) as c:
        c.execute("UPDATE audit SET detail = replace(detail, 'Nowhere', 'Slussen') WHERE seq=2")
        c.execute("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)")
    assert any("cut off" in p for p in Registry(db).verify())
    r = subprocess.run([sys.executable, "-m", "stadsnod.cli", "pki", "audit", "--verify",
                        "--dir", str(city.dir)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=f"{ROOT / 'tools'}:{ROOT}"))
    assert r.returncode == 1 and "AUDIT LOG DAMAGED" in r.stderr


def test_no_secret_leaves_the_pki(city, tmp_path):
    r = subprocess.run([sys.executable, "-m", "stadsnod.cli", "device", "issue", "aq-0100",
                        "--pki", str(city.dir), "--out", str(tmp_path / "b")],
                       capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=f"{ROOT / 'tools'}:{ROOT}"))
    assert r.returncode == 0, r.stderr
    secrets = [SECRET.encode(), b"PRIVATE KEY"]
    for d in ("aq-0001", "aq-0002"):
        secrets.append(bundle(city, d)["key"].encode())
        secrets.append(base64.b64decode(bundle(city, d)["key"]))
    places = {"command output": (r.stdout + r.stderr).encode(),
              "registry": (city.dir / "registry.db").read_bytes(),
              "broker log": (city.tmp / "broker" / "mosquitto.log").read_bytes()}
    for where, data in places.items():
        for s in secrets:
            assert s not in data, f"a secret in the {where}"
    bundle_text = (tmp_path / "b" / "aq-0100.bundle").read_bytes()
    assert b"PRIVATE" not in bundle_text and b"BEGIN" not in bundle_text  # encrypted inside


def test_registry_survives_a_crash_mid_transaction(city):
    db = city.dir / "registry.db"
    code = (f"import os, datetime as dt\nfrom provisioning.registry import Registry\n"
            f"r = Registry({str(db)!r})\n"
            "with r.transaction() as c:\n"
            "    c.execute(\"INSERT INTO devices VALUES "
            "('aq-crash','','','','','','1','','issued')\")\n"
            "    os._exit(9)\n")
    r = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 9
    reg = Registry(db)
    assert "aq-crash" not in [d["id"] for d in reg.devices()] and reg.verify() == []


def test_keys_readable_by_others_are_refused(city):
    key = city.dir / "issuing-ca.key"
    os.chmod(key, 0o644)
    with pytest.raises(PKIError, match="readable by others"):
        Authority(city.dir, SECRET.encode()).issue("aq-0200")


def test_root_key_can_go_offline(city, tmp_path):
    city.authority.export_root_key(tmp_path / "root.key", remove=True)
    assert not (city.dir / "root-ca.key").exists() and (tmp_path / "root.key").exists()
    assert oct((tmp_path / "root.key").stat().st_mode & 0o777) == "0o600"
    city.issue(["aq-0300"], tmp_path / "b", progress=lambda _m: None)  # the issuing CA suffices


def test_a_node_with_its_bundle_identity_publishes_then_is_cut_off(city, make_node):
    """The firmware on the unix port, provisioned from its bundle (what `stadsnod provision`
    writes to a board), publishes through the city broker; once revoked, it cannot come back."""
    from types import SimpleNamespace

    from stadsnod.technician.provision import identity_files
    from stadsnod.testbed.faultproxy import FaultProxy
    from stadsnod.testbed.platform import Platform
    from stadsnod.testbed.worlds import sim_world

    as_broker = SimpleNamespace(port=city.port, pki=SimpleNamespace(
        ca_pem=city.dir / "root-ca.pem", dir=city.dir))
    platform = Platform(as_broker).start()
    with FaultProxy(city.port) as proxy:
        node = make_node("aq-0001", world=sim_world(0), certs=False, port=proxy.port)
        certs = node.dir / "certs"
        certs.mkdir()
        for name, data in identity_files(bundle(city, "aq-0001")).items():
            (certs / name).write_bytes(data)
        node.start()
        platform.wait_for(lambda m: m.topic == "stadsnod/aq-0001/data", timeout=30)
        city.revoke("aq-0001")
        time.sleep(1)
        proxy.drop()  # the session in progress ends; the node must reconnect
        time.sleep(6)
        assert node.alive()
        log = (city.tmp / "broker" / "mosquitto.log").read_text()
        assert "certificate verify failed" in log, log[-1500:]  # the CRL at work
        n = len(platform.of("data", "aq-0001"))
        time.sleep(3)
        assert len(platform.of("data", "aq-0001")) == n  # nothing more gets through
    platform.stop()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stadsnod.cli", *args], capture_output=True,
                          text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=f"{ROOT / 'tools'}:{ROOT}"))


def test_city_it_signs_and_sends_commands_with_the_cli(city, make_node):
    """`stadsnod keys show`, `command send` to a node provisioned from its bundle (its trust
    root inside), each step in the audit log; after `keys rotate command` the node -- still on
    root v1 -- refuses what the new command key signs until it is given the new root."""
    from stadsnod.technician.provision import identity_files
    from stadsnod.testbed.worlds import sim_world

    contents = bundle(city, "aq-0002")
    assert contents["trust_root"], "the bundle carries the city's trust root"
    show = _cli("keys", "show", "--pki", str(city.dir))
    assert show.returncode == 0 and "root v1" in show.stdout
    assert "root       2 of 3" in show.stdout and "command    1 of 1" in show.stdout
    node = make_node("aq-0002", world=sim_world(1), certs=False, port=city.port)
    certs = node.dir / "certs"
    certs.mkdir()
    for name, data in identity_files(contents).items():
        (certs / name).write_bytes(data)
    node.start()
    deadline = time.time() + 30
    ok = None
    while time.time() < deadline:  # until it is connected and its clock is set
        ok = _cli("command", "send", "aq-0002", "identify", "--args", '{"blinks": 2}',
                  "--wait", "5", "--pki", str(city.dir))
        if ok.returncode == 0:
            break
    assert ok is not None and ok.returncode == 0, ok.stdout + ok.stderr
    assert "aq-0002: done -- blinked 2 times" in ok.stdout
    assert (node.dir / "sim" / "pin25.on").read_text() == "2"

    rot = _cli("keys", "rotate", "command", "--pki", str(city.dir))
    assert rot.returncode == 0 and "root v2" in rot.stdout, rot.stdout + rot.stderr
    refused = _cli("command", "send", "aq-0002", "identify", "--wait", "10", "--pki",
                   str(city.dir))
    assert refused.returncode == 1
    assert "refused -- command: 0 valid signature(s) of the 1 required" in refused.stdout
    # the node walks to root v2 (signed by v1's root keys) and obeys the new command key
    push = _cli("keys", "push", "aq-0002", "--pki", str(city.dir))
    assert push.returncode == 0 and "aq-0002: done -- trust root v2" in push.stdout, push.stdout
    again = _cli("command", "send", "aq-0002", "identify", "--args", '{"blinks": 1}',
                 "--wait", "10", "--pki", str(city.dir))
    assert again.returncode == 0 and "blinked 1 times" in again.stdout, again.stdout
    # a root it has already is refused as not following, and changes nothing
    repeat = _cli("keys", "push", "aq-0002", "--pki", str(city.dir))
    assert "refused -- root v2 cannot follow v2" in repeat.stdout, repeat.stdout
    actions = [e["action"] for e in city.registry.audit()]
    assert actions.count("command") >= 3
    assert {"keys-rotate", "keys-push"} <= set(actions)
    assert "trust_root" in city.registry.audit()[0]["detail"]  # keys made with the PKI
    assert city.registry.verify() == []


def test_a_release_can_bring_an_esp32_firmware_image(city, tmp_path):
    """`release build --firmware`: the image esptool writes and parses goes to the boards of
    its chip with its length, SHA-256 and a hash per 1 KB piece; a damaged image, or boards of
    another chip, are refused on the laptop with the reason."""
    import hashlib

    from stadsnod.testbed.ota import esp32_image

    image = tmp_path / "ESP32_GENERIC-OTA.bin"
    image.write_bytes(esp32_image(5000, 4))
    releases = tmp_path / "releases"
    built = _cli("release", "build", "--target", "esp32", "--version", "3", "--firmware",
                 str(image), "--releases", str(releases), "--pki", str(city.dir))
    assert built.returncode == 0, built.stdout + built.stderr
    folder = releases / "esp32" / "3"  # build/esp32: the .mpy for xtensawin
    fw = json.loads((folder / "manifest.json").read_text())["firmware"]
    data = image.read_bytes()
    assert fw["boards"] == ["esp32"]  # the ESP32-S3 board is another chip (id 9, not 0)
    assert fw["length"] == len(data) and fw["sha256"] == hashlib.sha256(data).hexdigest()
    pieces = (folder / "firmware" / "firmware.pieces").read_text().splitlines()
    assert len(pieces) == (len(data) + 1023) // 1024
    assert pieces[1] == hashlib.sha256(data[1024:2048]).hexdigest()[:32]
    signed = _cli("release", "sign", "--target", "esp32", "--version", "3", "--releases",
                  str(releases), "--pki", str(city.dir))
    assert signed.returncode == 0, signed.stdout + signed.stderr

    damaged = bytearray(data)
    damaged[100] ^= 0x01  # inside the first segment: the checksum and the SHA-256 disagree
    image.write_bytes(bytes(damaged))
    bad = _cli("release", "build", "--target", "esp32", "--version", "4", "--firmware",
               str(image), "--releases", str(releases), "--pki", str(city.dir))
    assert bad.returncode != 0 and "fails its own checksum or SHA-256" in bad.stderr, bad.stderr
    image.write_bytes(data)
    other = _cli("release", "build", "--target", "esp32", "--version", "4", "--firmware",
                 str(image), "--firmware-boards", "esp32s3", "--releases", str(releases),
                 "--pki", str(city.dir))
    assert other.returncode != 0 and "esp32s3 cannot take it" in other.stderr, other.stderr
