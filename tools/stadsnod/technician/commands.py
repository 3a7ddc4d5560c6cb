"""Field technicians' commands: `flash`, `deploy`, `provision`, `selftest`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..core.command import Command
from ..core.paths import ToolError


def _flash_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("firmware", help="the MicroPython image (.bin for ESP32, .uf2 for Pico W)")
    p.add_argument("--board", required=True, help="board name or file (stadsnod boards list)")
    p.add_argument("--port", help="serial port (found by itself when only one is plugged in)")
    p.add_argument("--drive", help="Pico W: where its BOOTSEL drive is mounted")
    p.add_argument("--baud", type=int, default=460800)
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")


def _flash(args: argparse.Namespace) -> int:
    from .flash import flash

    flash(args.board, Path(args.firmware), port=args.port, dry_run=args.dry_run, baud=args.baud,
          drive=args.drive)
    return 0


def _deploy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--board", required=True)
    p.add_argument("--port", required=True,
                   help="the board's serial port (or a virtual board's /dev/pts/N)")


def _deploy(args: argparse.Namespace) -> int:
    from .deploy import deploy

    deploy(args.board, args.port)
    return 0


def _provision_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle")
    p.add_argument("--port", required=True)
    p.add_argument("--board", required=True)
    p.add_argument("--wifi-ssid", required=True)
    p.add_argument("--location", default="")
    p.add_argument("--pki", help="record the installation in this PKI's registry")
    p.add_argument("--receipt", help="offline: write an installation receipt here instead")
    p.add_argument("--bundle-key", help="the technicians' bundle key file")
    p.add_argument("--signer", help="city IT's bundle-signing public key (PEM)")


def _provision(args: argparse.Namespace) -> int:
    from ..cityit.city import BUNDLE_KEY_FILE, City, pki_dir, read_bundle_key
    from .provision import provision, write_receipt

    pki = pki_dir(args.pki)
    key_file = Path(args.bundle_key) if args.bundle_key else pki / BUNDLE_KEY_FILE
    signer = Path(args.signer) if args.signer else pki / "bundle-signing.pub.pem"
    try:
        key = read_bundle_key(key_file)
        pub = signer.read_bytes()
    except (OSError, ValueError):
        raise ToolError(f"need the bundle key ({key_file}) and city IT's signing key ({signer}): "
                        "give --bundle-key and --signer") from None
    record = provision(Path(args.bundle), args.port, key, pub, args.board, args.wifi_ssid,
                       os.environ.get("STADSNOD_WIFI_PSK", ""), args.location)
    if args.receipt:
        print(f"receipt {write_receipt(record, key, Path(args.receipt))}: hand it to city IT "
              "(stadsnod device import-receipt)")
    else:
        City(pki).record_install(record)
        print(f"{record['device']}: recorded as installed in {pki}/registry.db")
    return 0


def _selftest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", required=True)
    p.add_argument("--pki", help="on success, mark the device active in this registry")


def _selftest(args: argparse.Namespace) -> int:
    from .selftest import selftest

    checks = selftest(args.port)
    failed = [c[0] for c in checks if not c[1]]
    print("self-test passed" if not failed else f"self-test FAILED: {', '.join(failed)}")
    if not failed and args.pki:
        from ..cityit.city import City, pki_dir

        device = checks[0][2].split()[1].rstrip(",")  # "device <id>, board <b>"
        City(pki_dir(args.pki)).activate(device)
        print(f"{device}: active in the registry")
    return 1 if failed else 0


FLASH = Command("technician: put MicroPython on a blank board (esptool, or the Pico's BOOTSEL "
                "drive)", _flash, _flash_args)
DEPLOY = Command("technician: copy the firmware and the board definition onto a board (skips "
                 "files already there, verifies all)", _deploy, _deploy_args)
PROVISION = Command("technician: install a node's identity from its bundle (Wi-Fi passphrase "
                    "from $STADSNOD_WIFI_PSK)", _provision, _provision_args)
SELFTEST = Command("technician: run the node's self-test and print the checklist (exit 1 on "
                   "any failure)", _selftest, _selftest_args)
