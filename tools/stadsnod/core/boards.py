"""Board definitions and the board check (`stadsnod boards list|check`). A board file is data:
a `BOARD = {...}` module in boards/ (or a JSON file of the same shape) that says which chip,
which pins carry which bus, and which sensors are wired at which address. The check holds it
against the chip's capability table (boards/chip_<chip>.py, from the datasheets) and refuses
what would fail on the pole, naming the pin and the rule. Board and chip files are read with a
small evaluator of literals -- a vendor's file is never executed."""

from __future__ import annotations

import ast
import json
import operator
from pathlib import Path
from typing import Any

from .paths import BUILD, ROOT, ToolError

BOARDS = ROOT / "boards"
# I2C addresses each part can answer at (BME280/BMP280 datasheets: 0x76 or 0x77 by SDO; SCD4x
# datasheet: 0x62; SPS30 and SEN5x datasheets: 0x69) and the parts on a UART.
I2C_ADDRESSES = {"bme280": (0x76, 0x77), "bmp280": (0x76, 0x77), "scd4x": (0x62,),
                 "sps30": (0x69,), "sen5x": (0x69,), "vl53l1x": (0x29,)}
UART_PARTS = ("pms5003", "ld2410")
GPIO_PARTS = ("pir",)
I2S_PARTS = ("ics43434", "inmp441")
NOISE_RATES = (16000, 32000, 44100, 48000)
REQUIRED = {"name": str, "title": str, "chip": str, "target": str, "micropython": str,
            "flash_bytes": int, "gc_heap_bytes": int, "sensors": list}
TARGETS = ("unix", "esp32", "rp2")
_OPS = {ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub}


def _literal(node: ast.AST) -> Any:
    """Constants, containers, + - * on numbers, and tuple(range(a, b)) -- nothing else."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_literal(e) for e in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("a ** expansion in a dict")
        return {_literal(k): _literal(v)  # type: ignore[arg-type]  # None refused above
                for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_literal(node.left), _literal(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_literal(node.operand)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        args = [_literal(a) for a in node.args]
        if node.func.id == "range" and all(isinstance(a, int) for a in args):
            return range(*args)
        if node.func.id == "tuple" and len(args) == 1:
            return tuple(args[0])
    raise ToolError(f"line {getattr(node, 'lineno', '?')}: only literal data is allowed in a "
                    f"board file ({ast.dump(node)[:60]})")


def read_data(path: Path, name: str) -> dict:
    """The `name = {...}` dict of a Python data file, or a JSON object."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ToolError(f"cannot read {path}: {e.strerror}") from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ToolError(f"{path} is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise ToolError(f"{path}: a board is a JSON object")
        return data
    try:
        tree = ast.parse(text, str(path))
    except SyntaxError as e:
        raise ToolError(f"{path}:{e.lineno}: {e.msg}") from None
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and [getattr(t, "id", None) for t in stmt.targets] == \
                [name]:
            value = _literal(stmt.value)
            if not isinstance(value, dict):
                raise ToolError(f"{path}: {name} must be a dict")
            return value
    raise ToolError(f"{path}: no '{name} = {{...}}' found")


def board_files() -> list[Path]:
    return sorted(BOARDS.glob("board_*.py"))


def load_board(ref: str | Path) -> tuple[dict, Path]:
    """A shipped board by name ('esp32') or any board file by path."""
    path = Path(ref)
    if not path.exists():
        path = BOARDS / f"board_{ref}.py"
        if not path.exists():
            known = ", ".join(p.stem[6:] for p in board_files())
            raise ToolError(f"no board '{ref}' (shipped: {known}; or give a file path)")
    return read_data(path, "BOARD"), path


def load_chip(name: str) -> dict:
    path = BOARDS / f"chip_{name}.py"
    if not path.exists():
        known = ", ".join(p.stem[5:] for p in sorted(BOARDS.glob("chip_*.py")))
        raise ToolError(f"unknown chip '{name}' (known: {known})")
    return read_data(path, "CHIP")


def _pins(board: dict) -> list[tuple[str, Any, str]]:
    """Every pin the board uses: (what, pin, direction: out, in or both)."""
    used = []
    for kind, signals in (("i2c", {"scl": "both", "sda": "both"}),
                          ("uart", {"tx": "out", "rx": "in"}),
                          ("i2s", {"sck": "out", "ws": "out", "sd": "in"})):
        for bus, spec in (board.get(kind) or {}).items():
            for sig, direction in signals.items():
                if sig in spec:
                    used.append((f"{bus}.{sig}", spec[sig], direction))
    for bus, spec in (board.get("adc") or {}).items():
        used.append((f"{bus}", spec.get("pin"), "adc"))
    for bus, spec in (board.get("gpio") or {}).items():
        used.append((f"{bus}.pin", spec.get("pin"), "in"))
    if board.get("led"):
        used.append(("led", board["led"].get("pin"), "out"))
    if board.get("sensor_power"):
        used.append(("sensor_power", board["sensor_power"].get("pin"), "out"))
    return used


def check(board: dict) -> list[str]:
    """Every problem with a board definition, each naming the field or pin and the rule."""
    problems = []
    for key, typ in REQUIRED.items():
        if not isinstance(board.get(key), typ):
            problems.append(f"'{key}' is missing or not a {typ.__name__}")
    if problems:
        return problems
    if board["target"] not in TARGETS:
        problems.append(f"target '{board['target']}' is not one of {', '.join(TARGETS)}")
    try:
        chip = load_chip(board["chip"])
    except ToolError as e:
        return [str(e)]
    cname = chip["name"].upper()
    reserved = set(board.get("reserved") or ()) | set(chip["reserved"])
    seen: dict[Any, str] = {}
    for what, pin, direction in _pins(board):
        if isinstance(pin, str):  # a named pin, e.g. the Pico W's "LED" on the radio chip
            continue
        if not isinstance(pin, int) or pin not in chip["gpio"]:
            problems.append(f"{what}: GPIO{pin} does not exist on the {cname}")
            continue
        if pin in seen:
            problems.append(f"{what}: GPIO{pin} is already used by {seen[pin]}")
        seen[pin] = what
        if pin in chip["flash"]:
            problems.append(f"{what}: GPIO{pin} is wired to the flash/PSRAM ({cname} flash pins)")
        if pin in reserved:
            problems.append(f"{what}: GPIO{pin} is reserved on this board (radio or other "
                            "on-board part)")
        if pin in chip["console"]:
            problems.append(f"{what}: GPIO{pin} carries the console (USB/UART0): REPL and "
                            "flashing need it")
        if pin in chip["strapping"] and not (what == "led" and
                                             pin in chip["strapping_ok_for_led"]):
            problems.append(f"{what}: GPIO{pin} is a strapping pin: what is wired to it can "
                            "change how the chip boots")
        if direction in ("out", "both") and pin in chip["input_only"]:
            problems.append(f"{what}: GPIO{pin} is input-only on the {cname}; "
                            f"{what.split('.')[-1]} must drive the line")
        if direction == "adc":
            if pin in chip["adc2"]:
                problems.append(f"{what}: GPIO{pin} is on ADC2, which stops while Wi-Fi runs; "
                                "use an ADC1 pin")
            elif pin not in chip["adc"]:
                problems.append(f"{what}: GPIO{pin} has no ADC on the {cname}")
    problems += _peripheral_rules(board, chip, cname)
    problems += _sensor_rules(board)
    problems += memory_rule(board)
    return problems


def memory_rule(board: dict, budget_file: Path = BUILD / "heap-budget.json") -> list[str]:
    """Uses the last `make bench` measurement of a node with this board's name and sensor set
    (build/heap-budget.json); without one there is nothing to hold the board to."""
    key = board["name"] + ":" + ",".join(sorted(s.get("driver", "") for s in board["sensors"]))
    try:
        budget = json.loads(budget_file.read_text()).get(key)
    except (OSError, ValueError):
        return []
    if not budget or board["gc_heap_bytes"] >= budget["need"]:
        return []
    return [f"memory: a node with these sensors needs {budget['need']} bytes of GC heap "
            f"(measured peak {budget['peak']} - fakes {budget['fakes']} + TLS {budget['tls']}, "
            f"on the 64-bit host) but the board offers {board['gc_heap_bytes']}"]


def _peripheral_rules(board: dict, chip: dict, cname: str) -> list[str]:
    problems = []
    for kind in ("i2c", "uart", "i2s"):
        ids: dict[object, str] = {}
        for bus, spec in (board.get(kind) or {}).items():
            if spec.get("id") not in chip["ids"][kind]:
                problems.append(f"{bus}: {kind.upper()} id {spec.get('id')} is not available on "
                                f"the {cname} (ids {list(chip['ids'][kind])})")
            elif spec["id"] in ids:
                problems.append(f"{bus}: {kind.upper()}{spec['id']} is already {ids[spec['id']]}")
            ids[spec.get("id")] = bus
            if chip["routing"] == "fixed" and kind in ("i2c", "uart"):
                for sig in ("sda", "scl") if kind == "i2c" else ("tx", "rx"):
                    allowed = chip["pins"].get(f"{kind}{spec.get('id')}.{sig}", ())
                    if sig in spec and spec[sig] not in allowed:
                        problems.append(f"{bus}.{sig}: GPIO{spec[sig]} cannot carry "
                                        f"{kind.upper()}{spec.get('id')} {sig.upper()} on the "
                                        f"{cname} (pins {list(allowed)})")
            if kind == "i2s" and chip.get("i2s_ws_is_sck_plus_1") and \
                    spec.get("ws") != spec.get("sck", -2) + 1:
                problems.append(f"{bus}.ws: GPIO{spec.get('ws')} must be sck + 1 "
                                f"(GPIO{spec.get('sck', 0) + 1}) for PIO I2S on the {cname}")
    return problems


def _sensor_rules(board: dict) -> list[str]:
    problems = []
    taken: dict[tuple[str, int], str] = {}
    for i, s in enumerate(board["sensors"]):
        where = f"sensors[{i}] ({s.get('driver')})"
        driver, bus = s.get("driver"), s.get("bus", "")
        kind = bus.rstrip("0123456789")
        if bus in (board.get("gpio") or {}):
            kind = "gpio"
        if bus not in (board.get(kind) or {}):
            problems.append(f"{where}: the board has no bus '{bus}'")
            continue
        if driver in UART_PARTS:
            if kind != "uart":
                problems.append(f"{where}: a {driver} talks UART, not {kind.upper()}")
            continue
        if driver in GPIO_PARTS:
            if kind != "gpio":
                problems.append(f"{where}: a {driver} is a GPIO input, not on {kind.upper()}")
            continue
        if driver in I2S_PARTS:
            rate = (s.get("options") or {}).get("rate", 48000)
            if kind != "i2s":
                problems.append(f"{where}: a {driver} is an I2S microphone, not on "
                                f"{kind.upper()}")
            elif rate not in NOISE_RATES:
                problems.append(f"{where}: rate {rate} Hz is not one the noise meter runs at "
                                f"({', '.join(map(str, NOISE_RATES))})")
            continue
        if driver not in I2C_ADDRESSES:
            known = sorted(I2C_ADDRESSES) + list(UART_PARTS + I2S_PARTS + GPIO_PARTS)
            problems.append(f"{where}: unknown driver (known: {', '.join(known)})")
            continue
        if kind != "i2c":
            problems.append(f"{where}: a {driver} talks I2C, not {kind.upper()}")
            continue
        addr = s.get("address")
        if addr not in I2C_ADDRESSES[driver]:
            problems.append(f"{where}: address {addr!r} is not one a {driver} answers at "
                            f"({', '.join(hex(a) for a in I2C_ADDRESSES[driver])})")
            continue
        if (bus, addr) in taken:
            problems.append(f"{where}: {bus} address 0x{addr:02x} is already taken by "
                            f"{taken[(bus, addr)]}: two parts cannot share an address")
        taken[(bus, addr)] = where
    return problems
