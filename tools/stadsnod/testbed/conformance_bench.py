"""`make bench` for the conformance kit: the profile's counts, a full run against a stadsnod
node set up from a lab, and the seeded foreign devices caught exactly."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..core.paths import ROOT, ToolError


def profile_counts() -> dict[str, int]:
    from ..conformance.catalogue import load
    from ..conformance.checks import CHECKS

    reqs = load()
    return {"profile_requirements": len(reqs),
            "profile_requirements_checked": sum(1 for r in reqs if r.how == "auto"
                                                and r.id in CHECKS),
            "profile_requirements_documentary": sum(1 for r in reqs
                                                    if r.how == "documentation")}


def conformance_run_s(workdir: Path) -> float:
    """Wall time of `stadsnod conformance run` against a stadsnod node (lab, node, checker),
    the node restarting its backoff after 5 s of steady connection (30 s in service)."""
    import os

    from ..conformance.lab import make_lab
    from .lab_node import lab_node

    shutil.rmtree(workdir, ignore_errors=True)
    make_lab(workdir / "lab", ["bench-0001"], say=lambda _m: None)
    decl = json.loads((ROOT / "profile" / "examples" / "declaration-stadsnod.json").read_text())
    decl["timing"]["reconnect_stable_s"] = 5  # as the node below is configured
    (workdir / "declaration.json").write_text(json.dumps(decl))
    node = lab_node(workdir / "lab", "bench-0001", workdir / "node", interval_s=2,
                    health_s=2, keepalive_s=10, backoff_stable_s=5).start()
    try:
        t0 = time.time()
        r = subprocess.run([sys.executable, "-m", "stadsnod.cli", "conformance", "run", "--lab",
                            str(workdir / "lab"), "--device", "bench-0001", "--declaration",
                            str(workdir / "declaration.json"),
                            "--wait", "60"], capture_output=True, text=True, timeout=900,
                           env=dict(os.environ, PYTHONPATH=f"{ROOT / 'tools'}:{ROOT}"))
        seconds = time.time() - t0
    finally:
        node.stop()
    if r.returncode:
        raise ToolError(f"the bench's conformance run did not pass:\n{r.stdout[-3000:]}")
    return seconds


def seeded_caught(workdir: Path) -> int:
    from .seeded import caught_exactly, run_seeded
    from .vendor_device import FAULTS

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return caught_exactly(run_seeded(workdir, list(FAULTS)), FAULTS)
