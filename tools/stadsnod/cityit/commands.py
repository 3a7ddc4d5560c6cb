"""City IT's commands: `pki init|audit|export-root-key`, `device issue|revoke|retire|rotate|
rotated|list|import-receipt` and `broker config`. Passphrases come from
$STADSNOD_PKI_PASSPHRASE or a prompt, never a flag."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.command import Command, Group, add_pki_dir


def _city(folder: str | None):
    from .city import City, pki_dir

    return City(pki_dir(folder))


# -- pki
def _init_args(p: argparse.ArgumentParser) -> None:
    add_pki_dir(p, "--dir")
    p.add_argument("--broker-host", default="127.0.0.1",
                   help="the broker's address as nodes reach it (goes into every bundle)")
    p.add_argument("--broker-port", type=int, default=8883)
    p.add_argument("--topic-root", default="stadsnod")


def _init(args: argparse.Namespace) -> int:
    from .city import City, pki_dir

    folder = pki_dir(args.dir)
    City.init(folder, args.broker_host, args.broker_port, args.topic_root)
    print(f"PKI made in {folder}: root CA, issuing CA, broker and platform certificates, "
          f"bundle-signing key; technicians' bundle key in {folder}/technician-bundle.key. "
          "Export the root key next: stadsnod pki export-root-key FILE --remove")
    return 0


def _audit_args(p: argparse.ArgumentParser) -> None:
    add_pki_dir(p, "--dir")
    p.add_argument("--verify", action="store_true",
                   help="only check the hash chain and its head (no listing); exit 1 if damaged")


def _audit(args: argparse.Namespace) -> int:
    city = _city(args.dir)
    problems = city.registry.verify()
    entries = city.registry.audit()
    if not args.verify:
        for e in entries:
            print(f"{e['seq']:>5} {e['at']} {e['who']:<12} {e['action']:<14} {e['detail']}")
    for p in problems:
        print(f"AUDIT LOG DAMAGED: {p}", file=sys.stderr)
    if not problems:
        print(f"audit log intact ({len(entries)} entries, hash chain and head agree)")
    return 1 if problems else 0


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="where to write the (still encrypted) root key")
    add_pki_dir(p, "--dir")
    p.add_argument("--remove", action="store_true", help="then delete it from the PKI folder")


def _export(args: argparse.Namespace) -> int:
    city = _city(args.dir)
    city.authority.export_root_key(Path(args.file), remove=args.remove)
    city.registry.note("export-root-key", {"removed": args.remove})
    print(f"root CA key exported to {args.file} (still passphrase-encrypted)"
          + ("; removed from the PKI folder" if args.remove else ""))
    return 0


# -- device
def _ids(p: argparse.ArgumentParser, what: str = "device id") -> None:
    p.add_argument("ids", nargs="+", metavar="ID", help=what)
    add_pki_dir(p)


def _issue_args(p: argparse.ArgumentParser) -> None:
    _ids(p)
    p.add_argument("--out", default="bundles", help="folder for the bundles")
    p.add_argument("--board", default="", help="the board it goes on (stadsnod boards list)")
    p.add_argument("--location", default="")


def _issue(args: argparse.Namespace) -> int:
    _city(args.pki).issue(args.ids, Path(args.out), board=args.board, location=args.location)
    return 0


def _revoker(retire: bool):
    def run(args: argparse.Namespace) -> int:
        city = _city(args.pki)
        for i in args.ids:
            crl = city.revoke(i, retire=retire)
            print(f"{i}: {'retired' if retire else 'revoked'}; certificate on the CRL {crl} "
                  "(the broker reloads it if configured here)")
        return 0
    return run


def _rotate_args(p: argparse.ArgumentParser) -> None:
    _ids(p)
    p.add_argument("--out", default="bundles", help="folder for the new bundles")


def _rotate(args: argparse.Namespace) -> int:
    city = _city(args.pki)
    for i in args.ids:
        print(f"{i}: new bundle {city.rotate(i, Path(args.out))}; the old certificate works "
              f"until 'stadsnod device rotated {i}' once the new one is installed")
    return 0


def _rotated(args: argparse.Namespace) -> int:
    city = _city(args.pki)
    for i in args.ids:
        city.confirm_rotation(i)
        print(f"{i}: rotation done; the old certificate is revoked")
    return 0


def _list(args: argparse.Namespace) -> int:
    for d in _city(args.pki).registry.devices():
        print(f"{d['id']:<24} {d['state']:<10} serial {int(d['serial']):x}  expires "
              f"{d['expires']}  {d['board']} {d['location']}")
    return 0


def _receipt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("ids", nargs="+", metavar="RECEIPT", help="receipt files (provision --receipt)")
    add_pki_dir(p)


def _import_receipt(args: argparse.Namespace) -> int:
    from ..technician.provision import verify_receipt

    city = _city(args.pki)
    for f in args.ids:
        record = verify_receipt(Path(f).read_bytes(), city.bundle_key())
        city.record_install(record)
        print(f"{record['device']}: installed {record['at']} (uid {record['uid']})")
    return 0


# -- broker config
def _config_args(p: argparse.ArgumentParser) -> None:
    add_pki_dir(p)
    p.add_argument("--out", default="broker", help="folder to write")
    p.add_argument("--port", type=int, default=8883)
    p.add_argument("--bind", default="127.0.0.1",
                   help="address the listener takes: loopback (default, demo and tests), the "
                        "city network's interface address, or 0.0.0.0 for all")
    p.add_argument("--kind", choices=("mosquitto", "rabbitmq"), default="mosquitto",
                   help="the broker: mosquitto, or RabbitMQ with its MQTT plugin")


def _config(args: argparse.Namespace) -> int:
    city = _city(args.pki)
    if args.kind == "rabbitmq":
        conf = city.rabbitmq_config(Path(args.out), args.port, bind=args.bind)
        print(f"wrote {conf} with definitions.json (every device not revoked is a user); "
              f"start RabbitMQ with RABBITMQ_CONFIG_FILE={conf} and "
              f"RABBITMQ_ENABLED_PLUGINS_FILE={conf.parent / 'enabled_plugins'}; after a "
              "revocation write it again and import definitions.json, and delete the user")
        return 0
    conf = city.broker_config(Path(args.out), args.port, bind=args.bind)
    print(f"wrote {conf} (start it: mosquitto -c {conf}); revocations update its CRL and "
          "reload it")
    return 0


PKI = Group("city IT: make the PKI, check the audit log, take the root key offline", {
    "init": Command("make the root and issuing CAs, broker, platform and bundle keys",
                    _init, _init_args),
    "audit": Command("list the audit log and check its hash chain (exit 1 if damaged)",
                     _audit, _audit_args),
    "export-root-key": Command("copy the root CA key out (to offline storage)", _export,
                               _export_args),
})
DEVICE = Group("city IT: issue, revoke, rotate and list device identities", {
    "issue": Command("new identities with their sealed provisioning bundles", _issue,
                     _issue_args),
    "revoke": Command("a compromised or lost device: certificate on the CRL", _revoker(False),
                      _ids),
    "retire": Command("a device taken out of service: certificate on the CRL", _revoker(True),
                      _ids),
    "rotate": Command("a new identity; the old one works until 'rotated'", _rotate,
                      _rotate_args),
    "rotated": Command("the new identity is installed: revoke the old one", _rotated, _ids),
    "list": Command("every device with its state, serial, expiry, board and location", _list,
                    add_pki_dir),
    "import-receipt": Command("record installations from technicians' offline receipts",
                              _import_receipt, _receipt_args),
})
BROKER_CONFIG = Command("write the city broker's mosquitto configuration from the PKI",
                        _config, _config_args)
