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


def stream_code(code: str, *, heap: str = "512K", env: dict | None = None,
                path: str | None = None, on_stderr=None) -> tuple[int, str]:
    """Like run_code, for long work: stdout is collected, each stderr line goes to on_stderr
    as it comes (progress). Returns (exit status, stdout)."""
    full_env = dict(os.environ, MICROPYPATH=path or micropypath(), **(env or {}))
    with subprocess.Popen([micropython(), "-X", f"heapsize={heap}", "-c", code], env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        import threading

        assert p.stdout is not None and p.stderr is not None  # both are pipes
        out, err = p.stdout, p.stderr
        chunks: list[str] = []
        reader = threading.Thread(target=lambda: chunks.append(out.read()), daemon=True)
        reader.start()
        for line in err:
            if on_stderr:
                on_stderr(line.rstrip("\n"))
        reader.join()
        return p.wait(), "".join(chunks)


def run_device_test(path: Path, name: str, heap: str = "512K") -> tuple[bool, str]:
    code = _RUNNER.format(dir=str(path.parent), mod=path.stem, fn=name)
    r = run_code(code, cwd=path.parent, heap=heap)
    out = r.stdout + r.stderr
    return r.returncode == 0 and out.rstrip().endswith("PASS"), out
