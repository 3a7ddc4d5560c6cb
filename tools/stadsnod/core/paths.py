"""Where things are: the repository, the build output, the tools in the .venv."""

from __future__ import annotations

import os
import platform
import shutil
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
# The unix port runs native (viper) code for the machine it was built for.
TARGETS = {"unix": {"x86_64": "x64", "i686": "x86", "armv7l": "armv7m"}.get(
    platform.machine()), "esp32": "xtensawin", "rp2": "armv6m"}


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
    return venv_tool("micropython")


def mosquitto() -> str:
    for cand in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if cand and os.path.exists(cand):
            return cand
    raise ToolError("mosquitto is not installed: run 'sudo apt-get install -y mosquitto'")


def unix_lib() -> Path:
    lib = BUILD / "unix" / "lib"
    if not lib.is_dir():
        raise ToolError("no firmware build found: run 'make build' first")
    return lib


def micropypath(*extra: Path, fakes: bool = True) -> str:
    """MICROPYPATH for a simulated node: fakes first (they shadow machine/network), then the
    built firmware, then the unix port's frozen modules (asyncio lives there)."""
    parts = [str(BUILD / "fakes")] if fakes else []
    parts += [str(p) for p in extra]
    parts += [str(unix_lib()), ".frozen"]
    return ":".join(parts)
