"""`stadsnod` -- the one host CLI. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .paths import ToolError


def _build(args: argparse.Namespace) -> int:
    from .build import build

    targets = args.target or None
    if args.board:
        from .boards import check, load_board

        board, path = load_board(args.board)
        problems = check(board)
        if problems:
            raise ToolError(f"board {path} fails the check; fix it first:\n  "
                            + "\n  ".join(problems))
        targets = [board["target"]]
        print(f"board {board['name']} ({board['title']}): target {board['target']}")
    build(targets)
    return 0


def _demo(args: argparse.Namespace) -> None:
    from .demo import run_demo

    run_demo(nodes=args.nodes, duration=args.duration, interval=args.interval)


def _bench(args: argparse.Namespace) -> None:
    from .bench import run_bench

    run_bench(cycles=args.cycles)


def _broker(args: argparse.Namespace) -> None:
    from .demo import run_broker

    run_broker(port=args.port)


def _boards(args: argparse.Namespace) -> int:
    from .boards import board_files, check, load_board

    if args.action == "list":
        for path in board_files():
            b, _ = load_board(path)
            heap = b["gc_heap_bytes"] // 1024
            print(f"{b['name']:<9} {b['chip']:<8} {b['target']:<6} heap {heap:>5} KiB  "
                  f"{b['title']}")
        return 0
    if not args.board:
        raise ToolError("say which board: stadsnod boards check FILE (or a shipped board name)")
    b, path = load_board(args.board)
    problems = check(b)
    for p in problems:
        print(f"{path}: {p}")
    if not problems:
        print(f"{path}: ok ({b['title']})")
    return 1 if problems else 0


def _soak(args: argparse.Namespace) -> int:
    from .soak import print_soak, run_soak

    r = run_soak(hours=args.hours, outage_hours=args.outage_hours, minute_s=args.minute_s)
    print_soak(r)
    return 1 if r.lost or r.watchdog_resets else 0


def _replay(args: argparse.Namespace) -> int:
    from .replay import run_replay

    return run_replay(args.driver, uart=args.uart, hex_text=args.hex, image=args.i2c_image,
                      device_id=args.device_id, pen=args.pen)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="stadsnod", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="compile firmware, drivers and boards to .mpy")
    b.add_argument("target", nargs="*", choices=["unix", "esp32", "rp2", []])
    b.add_argument("--board", help="check this board (name or file) and build for its target")
    b.set_defaults(func=_build)

    d = sub.add_parser("demo", help="a simulated deployment on the embedded broker")
    d.add_argument("--nodes", type=int, default=3)
    d.add_argument("--duration", type=float, default=60, help="seconds (Ctrl-C stops early)")
    d.add_argument("--interval", type=float, default=5, help="seconds per published interval")
    d.set_defaults(func=_demo)

    be = sub.add_parser("bench", help="print the project's figures, one 'name: value unit' each")
    be.add_argument("--cycles", type=int, default=120)
    be.set_defaults(func=_bench)

    br = sub.add_parser("broker", help="run the embedded broker in the foreground")
    br.add_argument("--port", type=int, default=8883)
    br.set_defaults(func=_broker)

    bo = sub.add_parser("boards", help="list the shipped boards, or check a board file")
    bo.add_argument("action", choices=["list", "check"])
    bo.add_argument("board", nargs="?", help="board name or path to a board file (.py or .json)")
    bo.set_defaults(func=_boards)

    so = sub.add_parser("soak", help="one node through a simulated day with broker outages; "
                                     "fails if a reading is lost")
    so.add_argument("--hours", type=float, default=24, help="simulated hours")
    so.add_argument("--outage-hours", type=float, default=6, help="simulated hours offline")
    so.add_argument("--minute-s", type=float, default=0.05,
                    help="real seconds per simulated minute (one reading a minute)")
    so.set_defaults(func=_soak)

    r = sub.add_parser("replay", help="run a driver over a captured byte stream or I2C image "
                                      "and print the SenML a node would publish")
    r.add_argument("driver", choices=["pms5003", "bme280", "bmp280", "scd4x", "sps30", "sen5x"])
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--uart", type=Path, metavar="FILE", help="raw UART bytes as captured")
    src.add_argument("--hex", metavar="HEX", help="UART bytes as hex (spaces allowed)")
    src.add_argument("--i2c-image", type=Path, metavar="FILE.json",
                     help="device image: address plus registers or command responses")
    r.add_argument("--device-id", default="replay", help="device id for the SenML base name")
    r.add_argument("--pen", type=int, default=32473, help="IANA enterprise number in the URN")
    r.set_defaults(func=_replay)

    args = p.parse_args(argv)
    try:
        code = args.func(args)
    except ToolError as e:
        print(f"stadsnod: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
