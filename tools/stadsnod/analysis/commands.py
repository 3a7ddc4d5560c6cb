"""Commands that run the node's own drivers and meter over recordings: `replay` (captured bus
bytes) and `noise analyze` (a WAV file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.command import Command, Group


def _replay_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("driver", choices=["pms5003", "ld2410", "bme280", "bmp280", "scd4x", "sps30",
                                      "sen5x"])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--uart", type=Path, metavar="FILE", help="raw UART bytes as captured")
    src.add_argument("--hex", metavar="HEX", help="UART bytes as hex (spaces allowed)")
    src.add_argument("--i2c-image", type=Path, metavar="FILE.json",
                     help="device image: address plus registers or command responses")
    p.add_argument("--device-id", default="replay", help="device id for the SenML base name")
    p.add_argument("--pen", type=int, default=32473, help="IANA enterprise number in the URN")


def _replay(args: argparse.Namespace) -> int:
    from .replay import run_replay

    return run_replay(args.driver, uart=args.uart, hex_text=args.hex, image=args.i2c_image,
                      device_id=args.device_id, pen=args.pen)


def _analyze_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, metavar="FILE.wav",
                   help="integer PCM, 16/24/32 bit, 16/32/44.1/48 kHz; first channel")
    p.add_argument("--sensitivity", type=float, default=-26.0, metavar="DBFS",
                   help="the microphone's output for 94 dB SPL at 1 kHz, sine-peak dBFS "
                        "(ICS-43434, INMP441: -26)")
    p.add_argument("--offset", type=float, default=0.0, metavar="DB",
                   help="the unit's calibrator offset (README: noise calibration)")
    p.add_argument("--interval", type=float, default=60.0, metavar="S",
                   help="seconds per pack (default 60, as on a node)")
    p.add_argument("--start", type=float, default=None, metavar="UNIX",
                   help="Unix time of the first sample (default: the file's mtime minus its "
                        "duration)")
    p.add_argument("--bytecode", action="store_true",
                   help="use the bytecode fallback instead of the viper kernel")
    p.add_argument("--quiet", action="store_true", help="no summary line on stderr")


def _analyze(args: argparse.Namespace) -> int:
    from .noise import analyze

    return analyze(args.file, sensitivity=args.sensitivity, offset=args.offset,
                   interval=args.interval, start=args.start,
                   kernel="bytecode" if args.bytecode else "viper", progress=not args.quiet)


REPLAY = Command("run a driver over a captured byte stream or I2C image and print the SenML a "
                 "node would publish", _replay, _replay_args)
NOISE = Group("the node's noise meter on the host", {
    "analyze": Command("levels of a WAV recording, one SenML pack per interval (LAeq, LAFmax, "
                       "LAFmin, LASmax, LA10/50/90, LZeq)", _analyze, _analyze_args),
})
