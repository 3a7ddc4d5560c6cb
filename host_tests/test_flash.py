"""`stadsnod flash` without a board: the exact esptool commands (--dry-run), the field failures
(no port, no permission, wrong chip, no BOOTSEL drive) and the happy paths, with a stand-in for
esptool that answers as esptool v5 does and a folder standing in for the BOOTSEL drive."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from stadsnod.core.paths import ToolError
from stadsnod.technician.flash import flash

FAKE_ESPTOOL = """import sys
open({log!r}, "a").write(" ".join(sys.argv[1:]) + "\\n")
print("esptool v5.1.0")
print("Connected to {chip} on " + sys.argv[sys.argv.index("--port") + 1] + ":")
print("Chip type:          {chip}")
if "read-mac" in sys.argv:
    print("MAC:                24:0a:c4:12:34:56")
"""


@pytest.fixture
def fake_esptool(tmp_path, monkeypatch):
    def make(chip: str) -> Path:
        log = tmp_path / "esptool.log"
        script = tmp_path / f"esptool_{chip}.py"
        script.write_text(FAKE_ESPTOOL.format(log=str(log), chip=chip))
        monkeypatch.setenv("STADSNOD_ESPTOOL", f"{sys.executable} {script}")
        return log
    return make


@pytest.fixture
def port(tmp_path):
    p = tmp_path / "ttyUSB0"
    p.write_text("")
    return str(p)


@pytest.fixture
def image(tmp_path):
    f = tmp_path / "ESP32_GENERIC-v1.26.bin"
    f.write_bytes(b"\xe9" + bytes(1023))
    return f


def test_dry_run_prints_the_exact_esptool_commands(image, port, monkeypatch):
    monkeypatch.delenv("STADSNOD_ESPTOOL", raising=False)
    said: list[str] = []
    cmds = flash("esp32", image, port=port, dry_run=True, say=said.append)
    assert [c.split(" ", 1)[1] for c in cmds] == [
        f"--port {port} --chip esp32 erase-flash",
        f"--port {port} --chip esp32 --baud 460800 write-flash 0x1000 {image}",
        f"--port {port} --chip esp32 read-mac"]
    assert said == cmds
    s3 = flash("esp32s3", image, port=port, dry_run=True, say=lambda _m: None)
    assert " write-flash 0x0 " in s3[1]  # ESP32-S3 images start at 0x0


def test_flashes_in_order_and_reads_the_mac(image, port, fake_esptool):
    log = fake_esptool("ESP32")
    said: list[str] = []
    flash("esp32", image, port=port, say=said.append)
    calls = log.read_text().splitlines()
    assert [c.split()[-1] if "write-flash" not in c else "write-flash" for c in calls] == \
        ["read-mac", "erase-flash", "write-flash", "read-mac"]
    assert "MAC 24:0a:c4:12:34:56" in said[-1]


def test_wrong_chip_is_refused_before_anything_is_written(image, port, fake_esptool):
    log = fake_esptool("ESP32-S3")
    with pytest.raises(ToolError, match="is an ESP32-S3, not an ESP32"):
        flash("esp32", image, port=port, say=lambda _m: None)
    assert "erase-flash" not in log.read_text()


def test_missing_port_and_permission_denied(image, port, monkeypatch):
    with pytest.raises(ToolError, match="no serial port /dev/ttyNOPE"):
        flash("esp32", image, port="/dev/ttyNOPE")
    monkeypatch.setattr(os, "access", lambda *_a: False)
    with pytest.raises(ToolError, match="permission denied.*dialout"):
        flash("esp32", image, port=port)


def test_pico_uf2_goes_to_the_bootsel_drive(tmp_path):
    uf2 = tmp_path / "RPI_PICO_W-v1.26.uf2"
    uf2.write_bytes(b"UF2\n" + bytes(508))
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\n"
                                        "Board-ID: RPI-RP2\n")
    flash("picow", uf2, drive=str(drive), say=lambda _m: None)
    assert (drive / uf2.name).read_bytes() == uf2.read_bytes()
    with pytest.raises(ToolError, match="not a UF2 image"):
        flash("picow", tmp_path / "RPI-RP2" / "INFO_UF2.TXT", drive=str(drive))
    not_a_pico = tmp_path / "USBSTICK"
    not_a_pico.mkdir()
    with pytest.raises(ToolError, match="not a Pico's BOOTSEL drive"):
        flash("picow", uf2, drive=str(not_a_pico))


def test_no_bootsel_drive_says_how_to_get_one(tmp_path):
    import shutil

    if shutil.which("picotool") or any(Path(p).exists() for p in ("/media", "/run/media")
                                       if list(Path(p).glob("*/RPI-RP2"))):
        pytest.skip("this machine has a way to flash a Pico")
    uf2 = tmp_path / "fw.uf2"
    uf2.write_bytes(b"UF2\n" + bytes(508))
    with pytest.raises(ToolError, match="hold BOOTSEL while plugging"):
        flash("picow", uf2)
