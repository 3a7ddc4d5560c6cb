"""`stadsnod` -- the one host CLI. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .core.paths import ToolError


def _build(args: argparse.Namespace) -> int:
    from .core.build import build

    targets = args.target or None
    if args.board:
        from .core.boards import check, load_board

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
    from .testbed.demo import run_demo

    run_demo(nodes=args.nodes, duration=args.duration, interval=args.interval)


def _bench(args: argparse.Namespace) -> None:
    from .testbed.bench import run_bench

    run_bench(cycles=args.cycles)


def _broker(args: argparse.Namespace) -> int:
    if args.action == "config":
        from .cityit.city import City, pki_dir

        city = City(pki_dir(args.pki))
        conf = city.broker_config(Path(args.out), args.port)
        print(f"wrote {conf} (start it: mosquitto -c {conf}); revocations update its CRL and "
              "reload it")
        return 0
    from .testbed.demo import run_broker

    run_broker(port=args.port)
    return 0


def _pki(args: argparse.Namespace) -> int:
    from .cityit.city import City, pki_dir

    folder = pki_dir(args.dir)
    if args.action == "init":
        City.init(folder, args.broker_host, args.broker_port, args.topic_root)
        print(f"PKI made in {folder}: root CA, issuing CA, broker and platform certificates, "
              f"bundle-signing key; technicians' bundle key in {folder}/technician-bundle.key. "
              "Export the root key next: stadsnod pki export-root-key FILE --remove")
        return 0
    city = City(folder)
    if args.action == "audit":
        problems = city.registry.verify()
        for e in city.registry.audit():
            print(f"{e['seq']:>5} {e['at']} {e['who']:<12} {e['action']:<14} {e['detail']}")
        for p in problems:
            print(f"AUDIT LOG DAMAGED: {p}", file=sys.stderr)
        if not problems:
            print(f"audit log intact ({len(city.registry.audit())} entries, hash chain and "
                  "head agree)")
        return 1 if problems else 0
    if not args.file:
        raise ToolError("say where to: stadsnod pki export-root-key FILE [--remove]")
    city.authority.export_root_key(Path(args.file), remove=args.remove)
    city.registry.note("export-root-key", {"removed": args.remove})
    print(f"root CA key exported to {args.file} (still passphrase-encrypted)"
          + ("; removed from the PKI folder" if args.remove else ""))
    return 0


def _device(args: argparse.Namespace) -> int:
    from .cityit.city import City, pki_dir

    city = City(pki_dir(args.pki))
    if args.action == "list":
        for d in city.registry.devices():
            print(f"{d['id']:<24} {d['state']:<10} serial {int(d['serial']):x}  expires "
                  f"{d['expires']}  {d['board']} {d['location']}")
        return 0
    if not args.ids:
        raise ToolError(f"name the device(s): stadsnod device {args.action} ID ...")
    if args.action == "import-receipt":
        from .technician.provision import verify_receipt

        for f in args.ids:
            record = verify_receipt(Path(f).read_bytes(), city.bundle_key())
            city.record_install(record)
            print(f"{record['device']}: installed {record['at']} (uid {record['uid']})")
        return 0
    if args.action == "issue":
        city.issue(args.ids, Path(args.out), board=args.board, location=args.location)
    elif args.action in ("revoke", "retire"):
        for i in args.ids:
            crl = city.revoke(i, retire=args.action == "retire")
            print(f"{i}: {args.action}d; certificate on the CRL {crl} (the broker reloads it "
                  "if configured here)")
    elif args.action == "rotate":
        for i in args.ids:
            print(f"{i}: new bundle {city.rotate(i, Path(args.out))}; the old certificate works "
                  f"until 'stadsnod device rotated {i}' once the new one is installed")
    else:
        for i in args.ids:
            city.confirm_rotation(i)
            print(f"{i}: rotation done; the old certificate is revoked")
    return 0


def _boards(args: argparse.Namespace) -> int:
    from .core.boards import board_files, check, load_board

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


def _flash(args: argparse.Namespace) -> int:
    from .technician.flash import flash

    flash(args.board, Path(args.firmware), port=args.port, dry_run=args.dry_run, baud=args.baud,
          drive=args.drive)
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from .technician.deploy import deploy

    deploy(args.board, args.port)
    return 0


def _provision(args: argparse.Namespace) -> int:
    import os

    from .cityit.city import BUNDLE_KEY_FILE, City, pki_dir
    from .technician.provision import provision, write_receipt

    pki = pki_dir(args.pki)
    key_file = Path(args.bundle_key) if args.bundle_key else pki / BUNDLE_KEY_FILE
    signer = Path(args.signer) if args.signer else pki / "bundle-signing.pub.pem"
    try:
        key = bytes.fromhex(key_file.read_text().strip())
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
        city = City(pki)
        city.record_install(record)
        print(f"{record['device']}: recorded as installed in {pki}/registry.db")
    return 0


def _selftest(args: argparse.Namespace) -> int:
    from .technician.selftest import selftest

    checks = selftest(args.port)
    failed = [c[0] for c in checks if not c[1]]
    print("self-test passed" if not failed else f"self-test FAILED: {', '.join(failed)}")
    if not failed and args.pki:
        from .cityit.city import City, pki_dir

        device = checks[0][2].split()[1].rstrip(",")  # "device <id>, board <b>"
        City(pki_dir(args.pki)).activate(device)
        print(f"{device}: active in the registry")
    return 1 if failed else 0


def _virtual_board(args: argparse.Namespace) -> int:
    import time

    from .testbed.virtual_board import VirtualBoard

    with VirtualBoard(Path(args.dir), baud=args.baud) as vb:
        print(f"virtual board on {vb.port} (filesystem {args.dir}); try: .venv/bin/mpremote "
              f"connect {vb.port} exec 'print(1)'; Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


def _soak(args: argparse.Namespace) -> int:
    from .testbed.soak import print_soak, run_soak

    r = run_soak(hours=args.hours, outage_hours=args.outage_hours, minute_s=args.minute_s)
    print_soak(r)
    return 1 if r.lost or r.watchdog_resets else 0


def _replay(args: argparse.Namespace) -> int:
    from .analysis.replay import run_replay

    return run_replay(args.driver, uart=args.uart, hex_text=args.hex, image=args.i2c_image,
                      device_id=args.device_id, pen=args.pen)


def _noise(args: argparse.Namespace) -> int:
    from .analysis.noise import analyze

    return analyze(args.file, sensitivity=args.sensitivity, offset=args.offset,
                   interval=args.interval, start=args.start,
                   kernel="bytecode" if args.bytecode else "viper", progress=not args.quiet)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="stadsnod", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="compile firmware, drivers and boards to .mpy")
    b.add_argument("target", nargs="*", choices=["unix", "esp32", "rp2", []])
    b.add_argument("--board", help="check this board (name or file) and build for its target")
    b.set_defaults(func=_build)

    d = sub.add_parser("demo", help="a simulated deployment on the embedded broker")
    d.add_argument("--nodes", type=int, default=5)
    d.add_argument("--duration", type=float, default=60, help="seconds (Ctrl-C stops early)")
    d.add_argument("--interval", type=float, default=5, help="seconds per published interval")
    d.set_defaults(func=_demo)

    be = sub.add_parser("bench", help="print the project's figures, one 'name: value unit' each")
    be.add_argument("--cycles", type=int, default=120)
    be.set_defaults(func=_bench)

    br = sub.add_parser("broker", help="run the embedded broker, or write the city broker's "
                                       "configuration from the PKI")
    br.add_argument("action", nargs="?", choices=["run", "config"], default="run")
    br.add_argument("--port", type=int, default=8883)
    br.add_argument("--out", default="broker", help="config: folder to write")
    br.add_argument("--pki", help="PKI folder (default $STADSNOD_PKI or ./city-pki)")
    br.set_defaults(func=_broker)

    pk = sub.add_parser("pki", help="city IT: make the PKI, check the audit log, take the root "
                                    "key offline (passphrase from $STADSNOD_PKI_PASSPHRASE or a "
                                    "prompt)")
    pk.add_argument("action", choices=["init", "audit", "export-root-key"])
    pk.add_argument("file", nargs="?", help="export-root-key: where to write the key")
    pk.add_argument("--dir", help="PKI folder (default $STADSNOD_PKI or ./city-pki)")
    pk.add_argument("--verify", action="store_true", help="audit: check the hash chain "
                                                          "(always done)")
    pk.add_argument("--remove", action="store_true", help="export-root-key: then delete it here")
    pk.add_argument("--broker-host", default="127.0.0.1")
    pk.add_argument("--broker-port", type=int, default=8883)
    pk.add_argument("--topic-root", default="stadsnod")
    pk.set_defaults(func=_pki)

    dv = sub.add_parser("device", help="city IT: issue, revoke, rotate and list device identities")
    dv.add_argument("action", choices=["issue", "revoke", "retire", "rotate", "rotated", "list",
                                       "import-receipt"])
    dv.add_argument("ids", nargs="*", metavar="ID")
    dv.add_argument("--pki", help="PKI folder (default $STADSNOD_PKI or ./city-pki)")
    dv.add_argument("--out", default="bundles", help="issue/rotate: folder for the bundles")
    dv.add_argument("--board", default="")
    dv.add_argument("--location", default="")
    dv.set_defaults(func=_device)

    bo = sub.add_parser("boards", help="list the shipped boards, or check a board file")
    bo.add_argument("action", choices=["list", "check"])
    bo.add_argument("board", nargs="?", help="board name or path to a board file (.py or .json)")
    bo.set_defaults(func=_boards)

    fl = sub.add_parser("flash", help="technician: put MicroPython on a blank board (esptool, "
                                      "or the Pico's BOOTSEL drive)")
    fl.add_argument("firmware", help="the MicroPython image (.bin for ESP32, .uf2 for Pico W)")
    fl.add_argument("--board", required=True, help="board name or file (stadsnod boards list)")
    fl.add_argument("--port", help="serial port (found by itself when only one is plugged in)")
    fl.add_argument("--drive", help="Pico W: where its BOOTSEL drive is mounted")
    fl.add_argument("--baud", type=int, default=460800)
    fl.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    fl.set_defaults(func=_flash)

    de = sub.add_parser("deploy", help="technician: copy the firmware and the board definition "
                                       "onto a board (skips files already there, verifies all)")
    de.add_argument("--board", required=True)
    de.add_argument("--port", required=True, help="the board's serial port (or a virtual "
                                                  "board's /dev/pts/N)")
    de.set_defaults(func=_deploy)

    pv = sub.add_parser("provision", help="technician: install a node's identity from its bundle "
                                          "(Wi-Fi passphrase from $STADSNOD_WIFI_PSK)")
    pv.add_argument("bundle")
    pv.add_argument("--port", required=True)
    pv.add_argument("--board", required=True)
    pv.add_argument("--wifi-ssid", required=True)
    pv.add_argument("--location", default="")
    pv.add_argument("--pki", help="record the installation in this PKI's registry")
    pv.add_argument("--receipt", help="offline: write an installation receipt here instead")
    pv.add_argument("--bundle-key", help="the technicians' bundle key file")
    pv.add_argument("--signer", help="city IT's bundle-signing public key (PEM)")
    pv.set_defaults(func=_provision)

    st = sub.add_parser("selftest", help="technician: run the node's self-test and print the "
                                         "checklist (exit 1 on any failure)")
    st.add_argument("--port", required=True)
    st.add_argument("--pki", help="on success, mark the device active in this registry")
    st.set_defaults(func=_selftest)

    vb = sub.add_parser("virtual-board", help="the unix port on a pseudo-terminal, a board "
                                              "towards mpremote (tests, training)")
    vb.add_argument("--dir", default="run/virtual-board", help="its filesystem folder")
    vb.add_argument("--baud", type=int, help="throttle the line like a UART")
    vb.set_defaults(func=_virtual_board)

    so = sub.add_parser("soak", help="one node through a simulated day with broker outages; "
                                     "fails if a reading is lost")
    so.add_argument("--hours", type=float, default=24, help="simulated hours")
    so.add_argument("--outage-hours", type=float, default=6, help="simulated hours offline")
    so.add_argument("--minute-s", type=float, default=0.05,
                    help="real seconds per simulated minute (one reading a minute)")
    so.set_defaults(func=_soak)

    r = sub.add_parser("replay", help="run a driver over a captured byte stream or I2C image "
                                      "and print the SenML a node would publish")
    r.add_argument("driver", choices=["pms5003", "ld2410", "bme280", "bmp280", "scd4x", "sps30",
                                      "sen5x"])
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--uart", type=Path, metavar="FILE", help="raw UART bytes as captured")
    src.add_argument("--hex", metavar="HEX", help="UART bytes as hex (spaces allowed)")
    src.add_argument("--i2c-image", type=Path, metavar="FILE.json",
                     help="device image: address plus registers or command responses")
    r.add_argument("--device-id", default="replay", help="device id for the SenML base name")
    r.add_argument("--pen", type=int, default=32473, help="IANA enterprise number in the URN")
    r.set_defaults(func=_replay)

    no = sub.add_parser("noise", help="the node's noise meter on the host")
    nos = no.add_subparsers(dest="action", required=True)
    na = nos.add_parser("analyze", help="levels of a WAV recording, one SenML pack per interval "
                                        "(LAeq, LAFmax, LAFmin, LASmax, LA10/50/90, LZeq)")
    na.add_argument("file", type=Path, metavar="FILE.wav",
                    help="integer PCM, 16/24/32 bit, 16/32/44.1/48 kHz; first channel")
    na.add_argument("--sensitivity", type=float, default=-26.0, metavar="DBFS",
                    help="the microphone's output for 94 dB SPL at 1 kHz, sine-peak dBFS "
                         "(ICS-43434, INMP441: -26)")
    na.add_argument("--offset", type=float, default=0.0, metavar="DB",
                    help="the unit's calibrator offset (README: noise calibration)")
    na.add_argument("--interval", type=float, default=60.0, metavar="S",
                    help="seconds per pack (default 60, as on a node)")
    na.add_argument("--start", type=float, default=None, metavar="UNIX",
                    help="Unix time of the first sample (default: the file's mtime minus its "
                         "duration)")
    na.add_argument("--bytecode", action="store_true",
                    help="use the bytecode fallback instead of the viper kernel")
    na.add_argument("--quiet", action="store_true", help="no summary line on stderr")
    na.set_defaults(func=_noise)

    args = p.parse_args(argv)
    try:
        code = args.func(args)
    except ToolError as e:
        print(f"stadsnod: {e}", file=sys.stderr)
        return 1
    except Exception as e:
        from provisioning.authority import PKIError
        from provisioning.bundle import BundleError
        from provisioning.registry import RegistryError

        if isinstance(e, (PKIError, RegistryError, BundleError)):
            print(f"stadsnod: {e}", file=sys.stderr)
            return 1
        raise
    except KeyboardInterrupt:
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
