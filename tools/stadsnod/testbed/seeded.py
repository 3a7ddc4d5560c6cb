"""Seeded foreign devices against the conformance kit, all at once: for each fault (and the
conformant baseline, None) a lab of its own, the vendor device (testbed/vendor_device.py) and
a `stadsnod conformance run`, in parallel -- they mostly wait. Used by the tests and the
bench (seeded_devices_caught_exactly)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..core.paths import ROOT
from .broker import free_port
from .vendor_faults import declaration


def run_seeded(base: Path, faults: list[str | None], timeout: float = 600) -> dict:
    """fault -> the report's results ({id: verdict}) and exit status."""
    from ..conformance.lab import make_lab

    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'tools'}:{ROOT}")
    runs = []
    for i, fault in enumerate(faults):
        lab = base / (fault or "baseline")
        device = f"es-{i:04d}"
        make_lab(lab, [device], say=lambda _m: None)
        http_port = free_port()
        decl = lab / "declaration.json"
        decl.write_text(json.dumps(declaration(fault, http_port)))
        dev = subprocess.Popen([sys.executable, "-m", "stadsnod.testbed.vendor_device", "--lab",
                                str(lab), "--device", device, "--http-port", str(http_port)]
                               + (["--fault", fault] if fault else []), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        chk = subprocess.Popen([sys.executable, "-m", "stadsnod.cli", "conformance", "run",
                                "--lab", str(lab), "--device", device, "--declaration",
                                str(decl), "--report", str(lab / "report.json"), "--wait",
                                "60"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        runs.append((fault, lab, dev, chk))
    out = {}
    try:
        for fault, lab, _dev, chk in runs:
            stdout, stderr = chk.communicate(timeout=timeout)
            results = {}
            if (lab / "report.json").exists():
                rep = json.loads((lab / "report.json").read_text())
                results = {r["id"]: r["verdict"] for r in rep["results"]}
            out[fault] = {"exit": chk.returncode, "results": results,
                          "output": stdout[-3000:] + stderr[-1500:]}
    finally:
        for _f, _lab, dev, chk in runs:
            dev.kill()
            chk.kill()
    return out


def caught_exactly(out: dict, faults: dict[str, str]) -> int:
    """How many seeded devices failed their one requirement and passed every other."""
    n = 0
    for fault, want in faults.items():
        got = out.get(fault, {}).get("results", {})
        if got and [k for k, v in got.items() if v not in ("PASS", "NA")] == [want] \
                and got[want] == "FAIL":
            n += 1
    return n
