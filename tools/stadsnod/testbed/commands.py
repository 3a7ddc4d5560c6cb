"""The test bed's commands: `demo`, `bench`, `soak`, `fuzz`, `virtual-board`, `broker run`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.command import Command


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--duration", type=float, default=60, help="seconds (Ctrl-C stops early)")
    p.add_argument("--interval", type=float, default=5, help="seconds per published interval")


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(nodes=args.nodes, duration=args.duration, interval=args.interval)
    return 0


def _bench_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cycles", type=int, default=120)


def _bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    run_bench(cycles=args.cycles)
    return 0


def _soak_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hours", type=float, default=24, help="simulated hours")
    p.add_argument("--outage-hours", type=float, default=6, help="simulated hours offline")
    p.add_argument("--minute-s", type=float, default=0.05,
                   help="real seconds per simulated minute (one reading a minute)")


def _soak(args: argparse.Namespace) -> int:
    from .soak import print_soak, run_soak

    r = run_soak(hours=args.hours, outage_hours=args.outage_hours, minute_s=args.minute_s)
    print_soak(r)
    return 1 if r.lost or r.watchdog_resets else 0


def _fuzz_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--count", type=int, default=100000, help="mutated inputs per parser")
    p.add_argument("--only", help="comma-separated parser names (default: every parser)")
    p.add_argument("--suffix", default="", help="appended to each figure's name (_32 on the "
                   "board VM)")


def _fuzz(args: argparse.Namespace) -> int:
    from ..core.paths import RUN
    from .fuzz import FuzzResult, print_fuzz, run_fuzz

    print(f"fuzz: {args.count} mutated inputs per parser on the MicroPython VM",
          file=sys.stderr, flush=True)
    only = args.only.split(",") if args.only else None
    on_node = [n for n in only if n != "bundle"] if only else None
    r = FuzzResult() if on_node == [] else run_fuzz(
        RUN / "fuzz", args.count, on_node, progress=lambda line: print(line, file=sys.stderr))
    if not args.suffix and (only is None or "bundle" in only):
        # the provisioning bundle is read on the technician's laptop: CPython, once
        from .fuzz_host import fuzz_bundle

        print("fuzz: the provisioning bundle reader in CPython", file=sys.stderr, flush=True)
        n, bad, ok, shown = fuzz_bundle(args.count)
        r.inputs["bundle"], r.failures["bundle"], r.accepted["bundle"] = n, bad, ok
        r.examples += shown
    print_fuzz(r, args.suffix)
    return 1 if any(r.failures.values()) else 0


def _fleet_sim_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nodes", type=int, default=1000, help="nodes in the whole fleet")
    p.add_argument("--hours", type=float, default=24, help="simulated hours")
    p.add_argument("--interval-min", type=float, default=15,
                   help="simulated minutes between a node's readings")
    p.add_argument("--speed", type=float, default=120,
                   help="simulated seconds per real second (120: a day in 12 minutes)")
    p.add_argument("--shard", default="1/1", help="I/N: run slice I of N of the fleet")
    p.add_argument("--seed", type=int, default=1, help="the fault schedule's seed")
    p.add_argument("--dir", default="run/fleet", help="the run's folder")
    p.add_argument("--join", help="another shard's run folder (shared, e.g. over NFS): use its "
                   "broker and city PKI instead of starting them")
    p.add_argument("--broker", help="host:port[,host:port...]: a broker, or the nodes of a "
                   "cluster, that this run did not start (needs --pki)")
    p.add_argument("--pki", help="the city PKI folder the --broker trusts (its passphrase in "
                   "$STADSNOD_PKI_PASSPHRASE)")
    p.add_argument("--issue-only", action="store_true",
                   help="issue this shard's nodes' identities from --pki and stop (RabbitMQ "
                   "knows only users issued before `stadsnod broker config --kind rabbitmq`)")


def _fleet_sim(args: argparse.Namespace) -> int:
    from .fleet_report import print_fleet
    from .fleet_shards import parse_endpoints
    from .fleet_sim import FleetPlan, issue_fleet, run_fleet

    i, n = (int(x) for x in args.shard.split("/"))
    if not 1 <= i <= n:
        raise SystemExit(f"--shard {args.shard}: want I/N with 1 <= I <= N, e.g. 1/2")
    if args.join and args.broker:
        raise SystemExit("--join and --broker: one or the other (another shard's broker, or "
                         "a broker none of the shards started)")
    if (args.broker or args.issue_only) and not args.pki:
        raise SystemExit("--broker and --issue-only need --pki: the city PKI folder")
    plan = FleetPlan(nodes=args.nodes, hours=args.hours, interval_min=args.interval_min,
                     speed=args.speed, shard=(i, n), seed=args.seed,
                     join=Path(args.join) if args.join else None,
                     broker=parse_endpoints(args.broker) if args.broker else None,
                     pki=Path(args.pki) if args.pki else None)
    if args.issue_only:
        new = issue_fleet(plan)
        print(f"fleet: {len(new)} identities issued, {len(plan.ids()) - len(new)} issued "
              "before", file=sys.stderr)
        return 0
    r = run_fleet(plan, Path(args.dir))
    print_fleet(r, Path(args.dir) / "figures.txt")
    return 1 if r.lost or r.differing else 0


def _virtual_board_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", default="run/virtual-board", help="its filesystem folder")
    p.add_argument("--baud", type=int, help="throttle the line like a UART")


def _virtual_board(args: argparse.Namespace) -> int:
    import time

    from .virtual_board import VirtualBoard

    with VirtualBoard(Path(args.dir), baud=args.baud) as vb:
        print(f"virtual board on {vb.port} (filesystem {args.dir}); try: .venv/bin/mpremote "
              f"connect {vb.port} exec 'print(1)'; Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


def _broker_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8883)


def _broker(args: argparse.Namespace) -> int:
    from .demo import run_broker

    run_broker(port=args.port)
    return 0


DEMO = Command("a simulated deployment on the embedded broker", _demo, _demo_args)
BENCH = Command("print the project's figures, one 'name: value unit' each", _bench, _bench_args)
SOAK = Command("one node through a simulated day with broker outages; fails if a reading is "
               "lost", _soak, _soak_args)
FLEET_SIM = Command("simulated nodes (the real firmware) for simulated hours against the city "
                    "broker, with faults; counts every reading (exit 1 if one is lost)",
                    _fleet_sim, _fleet_sim_args)
FUZZ = Command("mutated inputs for every parser of outside bytes, on the MicroPython VM; fails "
               "on anything but a parser's own error", _fuzz, _fuzz_args)
VIRTUAL_BOARD = Command("the unix port on a pseudo-terminal, a board towards mpremote (tests, "
                        "training)", _virtual_board, _virtual_board_args)
BROKER_RUN = Command("run the embedded broker with a throwaway city PKI", _broker, _broker_args)
