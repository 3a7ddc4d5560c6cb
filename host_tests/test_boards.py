"""The board check: every shipped board passes; each rule of the chips' capability tables
(boards/chip_*.py, from the datasheets) is broken once and must be refused by name."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from stadsnod.core.boards import board_files, check, load_board
from stadsnod.core.paths import ROOT, ToolError


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
    ("host", lambda b: b["sensors"].append({"driver": "ics43434", "bus": "i2c0"}),
     "a ics43434 is an I2S microphone, not on I2C"),
    ("host", lambda b: b["sensors"].append({"driver": "inmp441", "bus": "i2s0",
                                            "options": {"rate": 22050}}),
     "rate 22050 Hz is not one the noise meter runs at"),
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


@pytest.mark.parametrize("name", ["esp32", "esp32s3", "picow", "host"])
def test_a_node_boots_on_each_board_definition(name, make_node, platform) -> None:
    """The runtime takes buses and sensors from the board file alone (config lists none);
    the fake machine checks every pin against the board's chip table."""
    from stadsnod.core.senml import by_name
    from stadsnod.testbed.worlds import board_world

    board, _ = load_board(name)
    node = make_node(f"board-{name}", world=board_world(board, time_scale=0.05), sensors=[])
    node.config["board"] = name
    node.prepare().start()
    ids = [s["driver"] if "address" not in s else f"{s['driver']}_0x{s['address']:02x}"
           for s in board["sensors"]]

    def sampled(m) -> bool:
        if m.topic != f"stadsnod/board-{name}/health":
            return False
        h = by_name(m.payload)
        return all(h.get(f"sensor/{i}/status") in ("ok", "warming up") for i in ids)

    platform.wait_for(sampled, timeout=40)
    data = by_name(platform.wait_for(lambda m: m.topic == f"stadsnod/board-{name}/data")[-1]
                   .payload)
    assert all(f"quality/{i}" in data for i in ids), data
    assert node.alive()


def test_a_pin_the_chip_cannot_use_stops_the_sensor_not_the_node(make_node, platform) -> None:
    """Wired against the rules anyway (the board file was not checked): the fake machine
    refuses the pin as the real port would, and the node reports it instead of dying."""
    from stadsnod.core.senml import by_name
    from stadsnod.testbed.worlds import board_world

    board, _ = load_board("picow")
    world = board_world(board, time_scale=0.05)
    node = make_node("board-bad", world=world, sensors=[
        {"driver": "bme280", "bus": "i2c0", "address": 0x76, "every_s": 0.25}])
    node.config["board"] = "picow"
    node.prepare()
    # the node's own copy of the board module, with SDA moved to a pin I2C0 cannot use
    lib = node.dir / "lib"
    lib.mkdir()
    src = (ROOT / "boards" / "board_picow.py").read_text()
    (lib / "board_picow.py").write_text(src.replace('"sda": 4', '"sda": 6'))
    node.start()
    h = platform.wait_for(lambda m: m.topic == "stadsnod/board-bad/health"
                          and "cannot be i2c0 sda" in m.payload.decode())
    assert "pin 6" in by_name(h[-1].payload)["sensor/bme280_0x76/status"]


def test_memory_rule_flags_a_board_that_cannot_fit(tmp_path: Path) -> None:
    from stadsnod.core.boards import memory_rule

    board, _ = load_board("esp32")
    budget = tmp_path / "heap-budget.json"
    budget.write_text(json.dumps({"esp32:bme280": {"need": 150000, "peak": 190000,
                                                    "fakes": 40000, "tls": 0}}))
    problems = memory_rule(board, budget)
    assert problems and "needs 150000 bytes" in problems[0] and "offers 111936" in problems[0]
    board["sensors"].append({"driver": "scd4x", "bus": "i2c0", "address": 0x62})
    assert memory_rule(board, budget) == []  # no measurement of that sensor set: no verdict
