"""Where things are: the repository, the build output, the tools in the .venv."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
RUN = ROOT / "run"
FAKES = ROOT / "host_tests" / "fakes"
SOURCE_DIRS = ("firmware", "drivers", "boards")
# Files a board runs by name from its filesystem root; they stay .py.
ROOT_FILES = ("boot.py", "main.py")
# The unix port runs native (viper) code for the machine it was built for.
TARGETS = {"unix": {"x86_64": "x64", "i686": "x86", "armv7l": "armv7m"}.get(
    platform.machine()), "esp32": "xtensawin", "rp2": "armv6m"}


class ToolError(Exception):
    """A failure with a message that says what to do next; the CLI prints it and exits 1."""


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
