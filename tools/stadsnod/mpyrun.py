"""Run code on the MicroPython unix port with the fakes and the built firmware on its path."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .paths import micropypath, micropython

# Runs one test function; awaits it when it is a coroutine. Prints PASS only when it returns.
_RUNNER = """
import sys
sys.path.insert(0, {dir!r})
mod = __import__({mod!r})
r = getattr(mod, {fn!r})()
if hasattr(r, 'send'):
    import asyncio
    asyncio.run(r)
print('PASS')
"""


def run_code(code: str, *, cwd: Path | None = None, heap: str = "512K", timeout: float = 60,
             env: dict | None = None, path: str | None = None) -> subprocess.CompletedProcess:
    """`path` replaces the default MICROPYPATH (fakes, then the build)."""
    full_env = dict(os.environ, MICROPYPATH=path or micropypath(), **(env or {}))
    return subprocess.run([micropython(), "-X", f"heapsize={heap}", "-c", code], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def run_device_test(path: Path, name: str, heap: str = "512K") -> tuple[bool, str]:
    code = _RUNNER.format(dir=str(path.parent), mod=path.stem, fn=name)
    r = run_code(code, cwd=path.parent, heap=heap)
    out = r.stdout + r.stderr
    return r.returncode == 0 and out.rstrip().endswith("PASS"), out
