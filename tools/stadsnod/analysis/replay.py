"""`stadsnod replay`: run a real driver (the built .mpy, on the MicroPython unix port) over bytes
captured from a sensor -- a UART capture, or an I2C device image -- and print what a node would
publish, one SenML JSON pack per reading. Field technicians and vendors check a sensor from a
logic-analyser capture this way."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from ..core.build import build
from ..core.mpyrun import run_code
from ..core.paths import UNIXPORT, ToolError, micropypath

UART_DRIVERS = ("pms5003", "ld2410")
I2C_DRIVERS = ("bme280", "bmp280", "scd4x", "sps30", "sen5x")
DEFAULT_ADDRESS = {"bme280": 0x76, "bmp280": 0x76, "scd4x": 0x62, "sps30": 0x69, "sen5x": 0x69}
RUNNER = UNIXPORT


def parse_hex(text: str, what: str) -> bytes:
    """Hex digits, optionally separated by spaces, colons or line breaks."""
    digits = "".join(c for c in text if c not in " \t\r\n:")
    for i, c in enumerate(digits):
        if c not in "0123456789abcdefABCDEF":
            raise ToolError(f"{what}: '{c}' at hex digit {i} is not a hex digit")
    if len(digits) % 2:
        raise ToolError(f"{what}: odd number of hex digits ({len(digits)}): a byte is cut short")
    return bytes.fromhex(digits)


def _int(value: object, what: str) -> int:
    try:
        if isinstance(value, str):
            return int(value, 0)
        if isinstance(value, int | float):
            return int(value)
        raise TypeError
    except (TypeError, ValueError):
        raise ToolError(f"{what}: {value!r} is not a number (write 0x76 or 118)") from None


def load_image(path: Path, driver: str) -> dict:
    """Reads and checks a device image; the register and command keys become integers."""
    try:
        raw = json.loads(path.read_text())
    except OSError as e:
        raise ToolError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise ToolError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ToolError(f"{path}: a device image is a JSON object")
    unknown = set(raw) - {"address", "registers", "commands", "comment"}
    if unknown:
        raise ToolError(f"{path}: unknown field(s) {sorted(unknown)}; "
                        "expected address, registers or commands")
    kind = "registers" if driver in ("bme280", "bmp280") else "commands"
    table = raw.get(kind)
    if not isinstance(table, dict) or not table:
        raise ToolError(f"{path}: {driver} is a {kind[:-1]} device: give \"{kind}\": "
                        "{\"0x..\": \"<hex>\", ...}")
    image: dict = {"address": _int(raw.get("address", DEFAULT_ADDRESS[driver]),
                                   f"{path}: address"), kind: {}}
    for key, value in table.items():
        where = f"{path}: {kind[:-1]} {key}"
        number = _int(key, where)
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) for v in values):
            raise ToolError(f"{where}: give a hex string, or a list of them (one per reading)")
        checked = [parse_hex(v, where).hex() for v in values]
        image[kind][str(number)] = checked if isinstance(value, list) else checked[0]
    return image


def run_replay(driver: str, uart: Path | None = None, hex_text: str | None = None,
               image: Path | None = None, device_id: str = "replay", pen: int = 32473) -> int:
    job: dict = {"driver": driver, "device_id": device_id, "pen": pen}
    if driver in UART_DRIVERS:
        if image is not None or (uart is None) == (hex_text is None):
            raise ToolError(f"{driver} is a UART sensor: give --uart FILE or --hex HEX")
        if uart is not None:
            try:
                data = uart.read_bytes()
            except OSError as e:
                raise ToolError(f"cannot read {uart}: {e.strerror}") from None
        else:
            data = parse_hex(hex_text or "", "--hex")
        if not data:
            raise ToolError("the capture is empty")
        job["uart_hex"] = data.hex()
    elif driver in I2C_DRIVERS:
        if image is None or uart is not None or hex_text is not None:
            raise ToolError(f"{driver} is an I2C sensor: give --i2c-image FILE.json")
        job["image"] = load_image(image, driver)
    else:
        raise ToolError(f"unknown driver '{driver}' (known: "
                        f"{', '.join(UART_DRIVERS + I2C_DRIVERS)})")
    build(["unix"], quiet=True)
    with tempfile.TemporaryDirectory(prefix="stadsnod-replay-") as tmp:
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(job))
        r = run_code("import replay_run", heap="1M", timeout=120,
                     path=micropypath(RUNNER, fakes=False),
                     env={"STADSNOD_REPLAY_JOB": str(job_file)})
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode not in (0, 2):
        raise ToolError(f"the replay runner failed (exit {r.returncode}); see above")
    return r.returncode
