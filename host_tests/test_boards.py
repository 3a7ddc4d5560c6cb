"""The board check: every shipped board passes; each rule of the chips' capability tables
(boards/chip_*.py, from the datasheets) is broken once and must be refused by name."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from stadsnod.boards import board_files, check, load_board
from stadsnod.paths import ROOT, ToolError


@pytest.mark.parametrize("path", board_files(), ids=lambda p: p.stem)
def test_every_shipped_board_passes(path: Path) -> None:
    board, _ = load_board(path)
    assert check(board) == []


def _with(name: str, change) -> list[str]:
    board = copy.deepcopy(load_board(name)[0])
    change(board)
    return check(board)


def _set(*keys_value):
    *keys, value = keys_value

    def change(board):
        d = board
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return change


CASES = [
    # (board, change, words the refusal must contain)
    ("esp32", _set("i2c", "i2c0", "sda", 20), "GPIO20 does not exist on the ESP32"),
    ("esp32", _set("i2c", "i2c0", "scl", 34), "GPIO34 is input-only on the ESP32"),
    ("esp32", _set("uart", "uart1", "tx", 39), "GPIO39 is input-only"),
    ("esp32", _set("uart", "uart1", "rx", 7), "GPIO7 is wired to the flash"),
    ("esp32", _set("i2c", "i2c0", "sda", 12), "GPIO12 is a strapping pin"),
    ("esp32", _set("sensor_power", {"pin": 0, "on": 1}), "GPIO0 is a strapping pin"),
    ("esp32", _set("uart", "uart1", "tx", 1), "GPIO1 carries the console"),
    ("esp32", _set("adc", {"battery": {"pin": 25}}), "GPIO25 is on ADC2, which stops while "
                                                      "Wi-Fi runs"),
    ("esp32", _set("uart", "uart1", "id", 0), "UART id 0 is not available on the ESP32"),
    ("esp32", _set("i2s", "i2s0", "ws", 21), "GPIO21 is already used by i2c0.sda"),
    ("esp32s3", _set("i2c", "i2c0", "sda", 35), "GPIO35 is wired to the flash/PSRAM"),
    ("esp32s3", _set("i2c", "i2c0", "sda", 46), "GPIO46 is a strapping pin"),
    ("esp32s3", _set("uart", "uart1", "tx", 19), "GPIO19 carries the console (USB"),
    ("esp32s3", _set("adc", {"battery": {"pin": 12}}), "GPIO12 is on ADC2"),
    ("picow", _set("i2c", "i2c0", "sda", 6), "GPIO6 cannot carry I2C0 SDA on the RP2040"),
    ("picow", _set("uart", "uart1", "tx", 0), "GPIO0 cannot carry UART1 TX"),
    ("picow", _set("i2s", "i2s0", "ws", 18), "must be sck + 1 (GPIO17) for PIO I2S"),
    ("picow", _set("i2c", "i2c0", "sda", 24), "GPIO24 is reserved on this board"),
    ("picow", _set("adc", {"battery": {"pin": 22}}), "GPIO22 has no ADC on the RP2040"),
    ("host", lambda b: b["sensors"].append({"driver": "bmp280", "bus": "i2c0", "address": 0x76}),
     "i2c0 address 0x76 is already taken by sensors[0] (bme280)"),
    ("host", lambda b: b["sensors"].append({"driver": "scd4x", "bus": "i2c0", "address": 0x61}),
     "address 97 is not one a scd4x answers at (0x62)"),
    ("host", lambda b: b["sensors"].append({"driver": "pms5003", "bus": "i2c0"}),
     "a pms5003 talks UART, not I2C"),
    ("host", lambda b: b["sensors"].append({"driver": "sps30", "bus": "i2c1", "address": 0x69}),
     "the board has no bus 'i2c1'"),
    ("host", lambda b: b.pop("gc_heap_bytes"), "'gc_heap_bytes' is missing"),
    ("host", _set("chip", "esp8266"), "unknown chip 'esp8266'"),
]


@pytest.mark.parametrize("board,change,words", CASES, ids=[c[2][:40] for c in CASES])
def test_each_rule_refuses_a_board_that_breaks_it(board, change, words) -> None:
    problems = _with(board, change)
    assert any(words in p for p in problems), problems


def test_check_command_on_a_vendor_json_file(tmp_path: Path) -> None:
    board = copy.deepcopy(load_board("picow")[0])
    board["reserved"] = list(board["reserved"])
    board["i2c"]["i2c0"]["scl"] = 4  # swapped SDA/SCL: GP4 is an I2C0 SDA pin
    f = tmp_path / "vendor-board.json"
    f.write_text(json.dumps(board))
    r = subprocess.run([sys.executable, "-m", "stadsnod.cli", "boards", "check", str(f)],
                       cwd=ROOT, capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT / "tools"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 1
    assert "i2c0.scl: GPIO4 cannot carry I2C0 SCL" in r.stdout
    assert "i2c0.sda: GPIO4 is already used by i2c0.scl" in r.stdout


def test_board_files_are_never_executed(tmp_path: Path) -> None:
    f = tmp_path / "board_evil.py"
    f.write_text('import os\nBOARD = {"name": __import__("os").getcwd()}\n')
    with pytest.raises(ToolError, match="only literal data"):
        load_board(f)
