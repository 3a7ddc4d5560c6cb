"""The technician's tools through real mpremote against the virtual board (the unix port on a
pseudo-terminal): deploy copies the firmware and the board definition, skips what is already
there, verifies every hash, resumes after an interruption; the board runs what was deployed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from stadsnod.core.paths import ROOT
from stadsnod.technician.deploy import deploy, firmware_files
from stadsnod.testbed.virtual_board import VirtualBoard


@pytest.fixture
def board(tmp_path):
    with VirtualBoard(tmp_path / "board") as vb:
        yield vb


def mpremote(vb, *args: str) -> str:
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "mpremote"), "connect", vb.port, *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_virtual_board_answers_mpremote_and_survives_soft_resets(board):
    assert mpremote(board, "exec", "print(6 * 7)").strip() == "42"
    mpremote(board, "soft-reset")
    assert mpremote(board, "exec", "print('again')").strip() == "again"
    assert board.boots >= 2


def test_deploy_copies_skips_verifies_and_resumes(board):
    said: list[str] = []
    first = deploy("host", board.port, say=said.append)
    files = firmware_files({"name": "host", "chip": "host", "target": "unix"})
    assert first["copied"] == first["files"] == len(files) and first["bytes"] > 30000
    assert "lib/board_host.mpy" in files and "lib/board_esp32.mpy" not in files
    on_board = board.dir / "lib"
    assert sorted(p.name for p in on_board.iterdir()) == sorted(
        Path(k).name for k in files if k.startswith("lib/"))
    again = deploy("host", board.port, say=said.append)
    assert again["copied"] == 0 and again["skipped"] == len(files)
    # a cable pulled halfway: one file cut short, one never written
    (on_board / "spool.mpy").write_bytes((on_board / "spool.mpy").read_bytes()[:100])
    (on_board / "node.mpy").unlink()
    resumed = deploy("host", board.port, say=said.append)
    assert resumed["copied"] == 2
    # the board runs what was deployed, not the build folder
    out = mpremote(board, "exec", "import spool; print(spool.__file__)")
    assert out.strip().startswith("lib/") or "/board/lib/" in out


def test_the_whole_path_issue_deploy_provision_publish_revoke(tmp_path, sntp):
    """City IT issues a bundle; the technician deploys and provisions the (virtual) board with
    real mpremote; the node boots on what is on its flash and publishes with its new identity;
    city IT revokes it and the broker refuses it from then on."""
    import time

    from stadsnod.technician.flash import flash
    from stadsnod.technician.provision import provision, verify_receipt, write_receipt
    from stadsnod.technician.selftest import selftest
    from stadsnod.testbed.broker import Broker, free_port
    from stadsnod.testbed.demo_city import DemoCity
    from stadsnod.testbed.platform import Platform
    from stadsnod.testbed.simnode import SimNode
    from stadsnod.testbed.worlds import sim_world

    port = free_port()
    city = DemoCity.init(tmp_path / "pki", "127.0.0.1", port, "stadsnod", secret=DemoCity.SECRET)
    bundle = city.issue(["lamp-0042"], tmp_path / "bundles", board="host",
                        progress=lambda _m: None)[0]
    with Broker(tmp_path / "broker", city, port=port) as broker:
        platform = Platform(broker).start()
        # flash is rehearsed only (there is no chip here); deploy and provision are real
        assert flash("esp32", bundle, port="/dev/ttyUSB0", dry_run=True, say=lambda _m: None)
        folder = tmp_path / "board"
        world = sim_world(0)
        folder.mkdir()
        (folder / "sim").mkdir()
        (folder / "sim.json").write_text(__import__("json").dumps(world))
        with VirtualBoard(folder, world=folder / "sim.json") as vb:
            deploy("host", vb.port, say=lambda _m: None)
            record = provision(bundle, vb.port, city.bundle_key(),
                               (city.dir / "bundle-signing.pub.pem").read_bytes(), "host",
                               "stadsnod-sim", "not-a-real-secret", ntp=("127.0.0.1", sntp.port),
                               say=lambda _m: None)
            checks = selftest(vb.port, say=lambda _m: None)
            (folder / "sim" / "i2c0-0x76.fault").write_text("nack")  # a loose sensor cable
            loose = dict((n, (ok, d)) for n, ok, d in selftest(vb.port, say=lambda _m: None))
            (folder / "sim" / "i2c0-0x76.fault").unlink()
        ok, detail = loose["sensor bme280_0x76"]
        assert ok is False and "no ACK" in detail
        assert [c[0] for c in checks] == ["config", "sensor bme280_0x76", "wifi", "clock",
                                         "broker", "heap", "filesystem"], checks
        assert all(ok for _n, ok, _d in checks), checks
        receipt = write_receipt(record, city.bundle_key(), tmp_path / "receipt.json")
        city.record_install(verify_receipt(receipt.read_bytes(), city.bundle_key()))
        assert city.registry.get("lamp-0042")["state"] == "installed"
        assert city.registry.get("lamp-0042")["uid"] == record["uid"]
        city.activate("lamp-0042")  # what `stadsnod selftest --pki` does after a clean run
        # the board boots on its own flash: config.json, certs/, lib/ as provisioned
        cfg = __import__("json").loads((folder / "config.json").read_text())
        cfg["interval_s"] = 1  # one reading a second instead of a minute, for the test
        (folder / "config.json").write_text(__import__("json").dumps(cfg))
        node = SimNode("lamp-0042", folder, {}, world).start()
        try:
            platform.wait_for(lambda m: m.topic == "stadsnod/lamp-0042/status"
                              and m.payload == b"online", timeout=30)
            platform.wait_for(lambda m: m.topic == "stadsnod/lamp-0042/data", timeout=30)
            city.revoke("lamp-0042")
            time.sleep(0.5)
            broker.stop()  # every session ends; the revoked node must not come back
            broker.start()
            time.sleep(6)
            log = (tmp_path / "broker" / "mosquitto.log").read_text()
            assert "certificate verify failed" in log
            assert node.alive()
            actions = [e["action"] for e in city.registry.audit() if e["action"] != "broker-config"]
            assert actions[-4:] == ["issue", "installed", "active", "revoked"]
            assert city.registry.verify() == []
        finally:
            node.stop()
            platform.stop()
