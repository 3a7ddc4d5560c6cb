"""The update test bed shared by the tests and the bench: a small signed release with a fake
update service for the power-cut run (host_tests/fakes/flash/update_scenarios.py on the VM),
and the measurements of `make bench` for signed updates and commands."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from provisioning.release import publish, timestamp
from provisioning.trust import TrustStore

from ..core.mpyrun import run_code
from ..core.paths import ToolError

SECRET = b"update test bed passphrase, not a secret"
EPOCH = 1704067200  # firmware/link/clock.py


def _mpy_like(size: int, seed: int) -> bytes:
    """A file the release builder takes for a .mpy (the header of a bytecode-only .mpy v6)."""
    return b"M\x06\x00\x1f" + bytes((i * 131 + seed * 17) % 251 for i in range(size - 4))


def powercut_release(base: Path) -> Path:
    """base/src: a trust root, release v2 (three files of 3, 1 and 1 pieces, security 2),
    its timestamp, and meta.json (the old release's files, the new one's hashes)."""
    store = TrustStore.init(base / "trust", SECRET, root_keys=1, root_threshold=1)
    lib = base / "lib"
    lib.mkdir(parents=True)
    sizes = {"app.mpy": 2600, "node.mpy": 1024, "link.mpy": 700}
    for i, (name, size) in enumerate(sizes.items()):
        (lib / name).write_bytes(_mpy_like(size, i))
    out = publish(store, lib, base / "releases", "unix", 2, 2, ["host"])
    src = base / "src"
    src.mkdir()
    (src / "root.sns").write_bytes(store.root().data)
    (src / "manifest.sns").write_bytes((out / "manifest.sns").read_bytes())
    (src / "files").symlink_to(out / "files")
    (src / "timestamp.sns").write_bytes(timestamp(store, base / "releases", "unix"))
    (src / "meta.json").write_text(json.dumps({
        "old": {"app.mpy": _mpy_like(500, 9).hex(), "node.mpy": _mpy_like(300, 8).hex()},
        "new": {n: hashlib.sha256((lib / n).read_bytes()).hexdigest() for n in sizes}}))
    return src


def run_powercut(src: Path) -> dict:
    """A cut at every program operation of an install, on the MicroPython VM."""
    code = ("import update_scenarios, json\n"
            f"print(json.dumps(update_scenarios.run({str(src)!r}, "
            f"{int(time.time()) - EPOCH})))\n")
    r = run_code(code, heap="4M", timeout=600)
    if r.returncode:
        raise ToolError(f"the update power-cut run failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])
