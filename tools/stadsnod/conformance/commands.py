"""`stadsnod conformance lab|run`: the vendor's commands (README, "Vendors")."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core.command import Command, Group


def _lab_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", required=True, help="the lab's folder (made; must not hold one)")
    p.add_argument("--device", action="append", required=True, metavar="ID",
                   help="a device under test (repeat for several)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address the device reaches this machine at (default loopback)")


def _lab(args: argparse.Namespace) -> int:
    from .lab import make_lab

    folder = Path(args.dir)
    lab = make_lab(folder, args.device, args.host)
    print(f"\nlab ready in {folder}:")
    print(f"  broker   {lab['host']}:{lab['port']}  (TLS; verify the host name "
          f"{lab['server_hostname']})")
    print(f"  SNTP     {lab['sntp_host']}:{lab['sntp_port']} (UDP)")
    print(f"  topics   {lab['topic_root']}/<device id>/...")
    for d in lab["devices"]:
        print(f"  {d}: load {folder}/devices/{d}/client.crt, client.key and ca.crt "
              "(trust.root: the command signers, if it takes commands)")
    print("next: write the declaration (profile/declaration.schema.json), then\n"
          f"  stadsnod conformance run --lab {folder} --device {lab['devices'][0]} "
          "--declaration FILE --report report.json\nand power the device on.")
    return 0


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lab", required=True, help="the lab's folder (stadsnod conformance lab)")
    p.add_argument("--device", required=True, help="the device under test")
    p.add_argument("--declaration", required=True, help="the vendor's declaration (JSON)")
    p.add_argument("--report", help="write the report as JSON here")
    p.add_argument("--junit", help="write JUnit XML here (for CI)")
    p.add_argument("--html", help="write a page a person reads here")
    p.add_argument("--wait", type=float, default=300,
                   help="seconds to wait for the device to connect (default 300)")
    p.add_argument("--only", help="requirement ids to check, comma-separated")


def _run(args: argparse.Namespace) -> int:
    from . import catalogue, report
    from .declaration import DeclarationError, load
    from .harness import Harness, HarnessError

    t0 = time.time()
    requirements = catalogue.load()
    try:
        decl = load(Path(args.declaration), requirements)
        only = set(args.only.split(",")) if args.only else None
        unknown = sorted((only or set()) - {r.id for r in requirements})
        if unknown:
            raise HarnessError(f"--only names no requirement of profile v1: {unknown}")
        seen = Harness(Path(args.lab), args.device, decl.doc, args.wait,
                       say=lambda m: print(m, file=sys.stderr, flush=True)).run()
    except (DeclarationError, HarnessError) as e:
        print(f"conformance run could not run: {e}", file=sys.stderr)
        return 2
    results = report.judge(requirements, seen, only)
    rep = report.report(args.device, decl.sha256, results, seen.phases, time.time() - t0)
    for r in results:
        line = f"{r['verdict']:<12} {r['id']:<9} {r['level']:<6} {r['evidence']}"
        print(line + (f"\n{'':29}fix: {r['hint']}" if r.get("hint") else ""))
    s = rep["summary"]
    print(f"\n{args.device}: " + ", ".join(f"{k} {v}" for k, v in s["counts"].items())
          + ("  -- conformant" if s["conformant"] else
             "  -- NOT conformant" if s["failed"] else "  -- incomplete (not a pass)"))
    if args.report:
        report.write_json(rep, Path(args.report))
    if args.junit:
        report.write_junit(rep, Path(args.junit))
    if args.html:
        report.write_html(rep, Path(args.html))
    return 0 if s["conformant"] else 1


CONFORMANCE = Group("vendors: a lab for a device under test, and the check of it against the "
                    "device guideline profile",
                    {"lab": Command("make a lab: a throwaway city PKI, the device's identity "
                                    "files and lab.json", _lab, _lab_args),
                     "run": Command("check a device against the profile (exit 0 conformant, "
                                    "1 a requirement failed or could not be decided, 2 the run "
                                    "could not happen)", _run, _run_args)})
