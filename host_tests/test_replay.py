"""`stadsnod replay`: the real drivers on the unix port over captured bytes and device images.
Numbers: PyPMS captures (host_tests/data/README.md), the Bosch BMP280 datasheet example and the
Sensirion SCD4x datasheet example (profile/examples/replay/*.json name their sources)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "host_tests" / "data"
EXAMPLES = ROOT / "profile" / "examples" / "replay"


def replay(*args: str) -> tuple[int, list[dict], str]:
    r = subprocess.run([sys.executable, "-m", "stadsnod.cli", "replay", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(ROOT / "tools"), "PATH": "/usr/bin:/bin"})
    packs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    values = [{rec["n"]: rec.get("v") for rec in p} for p in packs]
    return r.returncode, values, r.stderr


def pms_capture() -> bytes:
    return b"".join(bytes.fromhex(line) for line in
                    (DATA / "pms5003_capture.hex").read_text().split())


def test_pms5003_capture_gives_the_reference_values(tmp_path: Path) -> None:
    cap = tmp_path / "pms.bin"
    cap.write_bytes(pms_capture())
    code, packs, err = replay("pms5003", "--uart", str(cap))
    assert code == 0, err
    # PyPMS decoded the same frames as pm01/pm25/pm10 = 0/8/11, 0/8/8, 0/5/5, 0/2/4, 0/0/1
    assert [(p["pm1"], p["pm25"], p["pm10"]) for p in packs] == \
        [(0, 8, 11), (0, 8, 8), (0, 5, 5), (0, 2, 4), (0, 0, 1)]


def test_pms5003_bad_checksum_and_truncation_name_the_byte(tmp_path: Path) -> None:
    data = bytearray(pms_capture())
    data[2 * 32 + 10] ^= 0x01  # frame 3 (byte 64) damaged
    code, packs, err = replay("pms5003", "--hex", data[:-12].hex(" "))
    assert code != 0
    assert "bad checksum in the frame at byte 64" in err, err
    assert "truncated frame at byte 128: 20 bytes" in err, err
    # the good frames still print, the damaged and the cut one never do
    assert [(p["pm25"], p["pm10"]) for p in packs] == [(8, 11), (8, 8), (2, 4)]


def test_bad_hex_is_a_clear_error() -> None:
    code, packs, err = replay("pms5003", "--hex", "42 4d zz")
    assert code == 1 and "'z' at hex digit 4 is not a hex digit" in err and not packs


def test_uart_driver_wants_uart_input() -> None:
    code, _, err = replay("pms5003", "--i2c-image", str(EXAMPLES / "scd4x-datasheet.json"))
    assert code == 1 and "--uart FILE or --hex HEX" in err


def test_bmp280_datasheet_image() -> None:
    code, packs, err = replay("bmp280", "--i2c-image", str(EXAMPLES / "bmp280-datasheet.json"))
    assert code == 0, err
    # Bosch's example: 25.08 Cel; the double path's 100653.27 Pa is 100656 Pa on the 32-bit
    # integer path the driver runs (1 Pa resolution)
    assert packs == [{"temperature": 25.08, "pressure": 100656}]


def test_scd4x_datasheet_image() -> None:
    code, packs, err = replay("scd4x", "--i2c-image", str(EXAMPLES / "scd4x-datasheet.json"),
                              "--device-id", "aq-7")
    assert code == 0, err
    assert packs == [{"co2": 500, "temperature": 25.0, "humidity": 37.0}]
    first = subprocess.run([sys.executable, "-m", "stadsnod.cli", "replay", "scd4x",
                            "--i2c-image", str(EXAMPLES / "scd4x-datasheet.json"),
                            "--device-id", "aq-7"], cwd=ROOT, capture_output=True, text=True,
                           env={"PYTHONPATH": str(ROOT / "tools"), "PATH": "/usr/bin:/bin"})
    assert json.loads(first.stdout)[0]["bn"] == "urn:dev:org:32473-aq-7:"


def test_sps30_captured_image_matches_pypms() -> None:
    code, packs, err = replay("sps30", "--i2c-image", str(EXAMPLES / "sps30-captured.json"))
    assert code == 0, err
    want = [(5.2, 9.5, 12.6, 13.3), (5.8, 8.2, 9.9, 10.2), (7.0, 9.1, 10.5, 10.8)]
    assert len(packs) == 3
    for p, w in zip(packs, want, strict=True):  # PyPMS printed one decimal
        assert all(abs(g - x) <= 0.05 + 1e-9 for g, x in zip(p.values(), w, strict=True)), p


def test_sen5x_no_value_marker_is_left_out() -> None:
    code, packs, err = replay("sen5x", "--i2c-image", str(EXAMPLES / "sen5x-example.json"))
    assert code == 0, err
    assert "nox_index" not in packs[0] and packs[0]["voc_index"] == 100.0
    assert packs[0]["temperature"] == -1.0


@pytest.mark.parametrize("change,words", [
    (lambda img: img["commands"].update({"0xec05": "01f4336667a35eb93c"}),
     "reading 0: SCD4x at 0x62: CRC error in word 1 of the response to 0xec05"),
    (lambda img: img["commands"].update({"0xec05": "01f4336667a2"}),
     "the response to 0xec05 has 6 bytes; the driver reads 9"),
    (lambda img: img.update({"commands": {"0x3682": "00"}}),
     "command 0xec05 is not in the image"),
    (lambda img: img["commands"].update({"0xec05": "ffff" + "ac" + "6667a25eb93c"}),
     "CO2 65535 ppm is out of range"),
])
def test_scd4x_bad_images_name_what_is_wrong(tmp_path: Path, change, words: str) -> None:
    img = json.loads((EXAMPLES / "scd4x-datasheet.json").read_text())
    change(img)
    f = tmp_path / "img.json"
    f.write_text(json.dumps(img))
    code, packs, err = replay("scd4x", "--i2c-image", str(f))
    assert code != 0 and words in err, err
    assert not packs


def test_bme280_image_missing_registers(tmp_path: Path) -> None:
    img = json.loads((EXAMPLES / "bmp280-datasheet.json").read_text())
    img["registers"]["0xD0"] = "60"  # a BME280: it also needs the humidity trimming
    f = tmp_path / "img.json"
    f.write_text(json.dumps(img))
    code, packs, err = replay("bme280", "--i2c-image", str(f))
    assert code != 0 and "register 0xA1 is not in the image" in err and not packs
    f.write_text("{not json")
    code, _, err = replay("bme280", "--i2c-image", str(f))
    assert code == 1 and "is not valid JSON" in err


# LD2410 report frames written out by the protocol's layout (HLK-LD2410 serial protocol V1.02;
# ../shared/reference/sensors.md): head, length 0x000D, type 02, AA, state, moving cm (LE),
# moving energy, stationary cm (LE), stationary energy, detection cm (LE), 55 00, tail.
LD_BOTH = "f4f3f2f1 0d00 02aa 03 f500 3d b400 25 f500 5500 f8f7f6f5"  # 2.45 m moving, 1.8 still
LD_QUIRK = "f4f3f2f1 0d00 02aa 00 0000 00 0000 21 0000 5500 f8f7f6f5"  # distance 0, energy 33


def test_ld2410_reports_give_presence_and_distances() -> None:
    code, packs, err = replay("ld2410", "--hex", "0011 " + LD_BOTH + " 7e " + LD_QUIRK)
    assert code == 0, err
    assert packs[0] == {"presence": None, "moving_distance": 2.45, "stationary_distance": 1.8,
                        "detection_distance": 2.45}
    assert packs[1]["stationary_distance"] == 0
    assert "skipped 3 bytes" in err


def test_ld2410_presence_is_a_boolean_record(tmp_path: Path) -> None:
    cap = tmp_path / "ld.bin"
    cap.write_bytes(bytes.fromhex((LD_QUIRK + LD_BOTH).replace(" ", "")))
    r = subprocess.run([sys.executable, "-m", "stadsnod.cli", "replay", "ld2410", "--uart",
                        str(cap)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(ROOT / "tools"), "PATH": "/usr/bin:/bin"})
    first = json.loads(r.stdout.splitlines()[0])
    assert first[0]["n"] == "presence" and first[0]["vb"] is True  # the quirk reads present


def test_ld2410_broken_and_truncated_frames_are_errors() -> None:
    broken = LD_BOTH.replace("f8f7f6f5", "f8f7f600")
    code, packs, err = replay("ld2410", "--hex", broken + LD_QUIRK + LD_BOTH[:19])
    assert code == 2 and len(packs) == 1, err
    assert "bad markers or tail in the frame at byte 0" in err
    assert "truncated frame at byte 46: 8 bytes" in err
