"""Memory budget per board (make bench): the board's GC heap minus what a node with that board's
sensors needs, measured on the unix port. The node's peak comes from its own /health; the fakes
it loads (which a board does not carry) are measured and taken off; for a board whose TLS
library allocates from the GC heap (the Pico W's mbedTLS), one TLS connection's cost, measured
on the unix port, is taken off too. Host objects are up to twice a 32-bit board's, so the
result errs on the safe side. Results are kept in build/heap-budget.json for `boards check`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ..analysis.replay import RUNNER
from ..cityit.broker_config import BROKER_HOSTNAME
from ..core.boards import board_files, load_board
from ..core.mpyrun import run_code
from ..core.paths import BUILD, RUN, ToolError, micropypath
from ..core.senml import by_name
from .broker import Broker, DemoPKI
from .deployment import Deployment
from .worlds import FAKE_FOR, board_world

BUDGET_FILE = BUILD / "heap-budget.json"
TLS_FROM_GC_HEAP = ("rp2040",)  # mbedTLS allocates from the MicroPython heap on rp2


def _progress(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def fakes_bytes(board: dict, world: dict | None = None) -> int:
    """Heap the fakes of a node on this board take: their modules, loaded as the node loads
    them, and with `world` (the node's sim.json) what they hold at run time -- the world
    itself and every fake part on its buses (registers, simulated weather, scenes). A board
    has neither. The bus objects the node makes stay the node's: a board has those too."""
    # the fake machine also loads the chip's pin table to refuse what the chip refuses; a real
    # board's machine module has it built in
    mods = ["machine", "network", "simworld", "envmodel", "fakedev", "fakestream",
            "chip_" + board.get("chip", "host")]
    mods += sorted({"fake_" + FAKE_FOR[s["driver"]][0] for s in board["sensors"]})
    if any(FAKE_FOR[s["driver"]][0] in ("scd4x", "sps30", "sen5x") for s in board["sensors"]):
        mods.append("fakesensirion")
    code = ("import gc\ngc.collect()\na = gc.mem_alloc()\n"
            + "".join(f"import {m}\n" for m in mods))
    env = {}
    if world is not None:
        sim = RUN / "fakes-world.json"
        sim.parent.mkdir(parents=True, exist_ok=True)
        sim.write_text(json.dumps(world))
        env["STADSNOD_SIM"] = str(sim)
        code += ("w = simworld.world()\nparts = {}\n"
                 "for b in w.get('i2c', {}):\n    simworld.populate_i2c(int(b), parts)\n"
                 "for p in w.get('uart', {}):\n    parts['u' + p] = simworld.uart_device(int(p))\n"
                 "for p in w.get('gpio', {}):\n    parts['g' + p] = simworld.gpio_source(p)\n"
                 "for p in w.get('i2s', {}):\n    parts['s' + p] = simworld.i2s_source(int(p))\n")
    code += "gc.collect()\nprint(gc.mem_alloc() - a)\n"
    r = run_code(code, heap="1M", env=env)
    if r.returncode:
        raise ToolError(f"measuring the fakes failed:\n{r.stderr}")
    return int(r.stdout.split()[-1])


def tls_bytes(workdir: Path) -> int:
    """What one TLS client connection allocates (GC heap and C heap), on the unix port."""
    pki = DemoPKI(workdir / "pki")
    certs = workdir / "certs"
    pki.device("tls-probe", certs)
    with Broker(workdir / "broker", pki) as b:
        r = run_code("import tls_probe", heap="2M",  # the unix port's own default
                     path=micropypath(RUNNER, fakes=False),
                     env={"CERTS": str(certs), "PORT": str(b.port),
                          "HOSTNAME_TLS": BROKER_HOSTNAME})
    if r.returncode:
        raise ToolError(f"TLS probe failed:\n{r.stdout}{r.stderr}")
    gc_bytes, rss_bytes = (int(x) for x in r.stdout.split())
    return gc_bytes + rss_bytes


def romfs_heap_bytes(image: Path) -> int:
    """What holding a ROMFS image costs the unix port's heap (a board maps it from flash
    instead, so this is taken off a node that runs from one)."""
    code = (f"import gc\ngc.collect()\na = gc.mem_alloc()\nf = open('{image}', 'rb')\n"
            "img = f.read()\nf.close()\ndel f\ngc.collect()\nprint(gc.mem_alloc() - a)")
    r = run_code(code, heap="1M")
    if r.returncode:
        raise ToolError(f"could not measure the ROMFS image:\n{r.stdout}{r.stderr}")
    return int(r.stdout.split()[-1])


def node_peak(board: dict, cycles: int = 15, romfs: Path | None = None) -> int:
    with Deployment(RUN / f"budget-{board['name']}") as dep:
        node = dep.add_node(f"budget-{board['name']}", sensors=[], interval_s=0.5, health_s=1)
        node.romfs = romfs
        node.world = board_world(board, time_scale=0.05)
        node.config["board"] = board["name"]
        node.prepare().start()
        deadline = time.time() + 90
        while time.time() < deadline:
            reports = dep.platform.of("health", node.device_id)
            if reports and by_name(reports[-1].payload).get("cycles", 0) >= cycles:
                return by_name(reports[-1].payload)["heap_peak"]
            if not node.alive():
                raise ToolError(f"budget node died:\n{node.console()[-1500:]}")
            time.sleep(0.3)
    raise ToolError(f"the {board['name']} budget node did not report {cycles} cycles")


def budget_key(board: dict) -> str:
    """A budget belongs to a board and the sensors wired on it."""
    return board["name"] + ":" + ",".join(sorted(s["driver"] for s in board["sensors"]))


def run_budget(romfs: Path | None = None) -> dict[str, dict]:
    """Every board's budget; with `romfs` (an image of the build) for nodes that import from
    a ROM partition, the image's own heap taken off (and build/heap-budget.json untouched:
    `boards check` holds boards to the filesystem deployment)."""
    tls = tls_bytes(RUN / "tls-probe")
    image = romfs_heap_bytes(romfs) if romfs else 0
    out = {}
    for path in board_files():
        board, _ = load_board(path)
        _progress(f"heap budget: a node wired as {board['name']}"
                  + (", modules in ROMFS" if romfs else ""))
        peak = node_peak(board, romfs=romfs) - image
        fakes = fakes_bytes(board, board_world(board))
        need = peak - fakes + (tls if board["chip"] in TLS_FROM_GC_HEAP else 0)
        out[budget_key(board)] = {"gc_heap": board["gc_heap_bytes"], "peak": peak, "fakes": fakes,
                              "tls": tls if board["chip"] in TLS_FROM_GC_HEAP else 0,
                              "need": need, "headroom": board["gc_heap_bytes"] - need}
    if romfs is None:
        BUDGET_FILE.write_text(json.dumps(out, indent=1))
    return out
