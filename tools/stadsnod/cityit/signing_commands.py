"""City IT's signing commands: `keys init|rotate|show` (the trust root and its role keys) and
`command send` (a signed command to one node, its results awaited). Passphrases come from
$STADSNOD_PKI_PASSPHRASE or a prompt, never a flag."""

from __future__ import annotations

import argparse
import json
import time

from provisioning.trust import COMMAND_OPS, ROLES

from ..core.command import Command, Group, add_pki_dir
from ..core.paths import ToolError


def _city(folder: str | None):
    from .city import City, pki_dir

    return City(pki_dir(folder))


def _init_args(p: argparse.ArgumentParser) -> None:
    add_pki_dir(p)
    p.add_argument("--root-keys", type=int, default=3, help="how many root keys (default 3)")
    p.add_argument("--root-threshold", type=int, default=2,
                   help="how many of them must sign a new root (default 2)")


def _init(args: argparse.Namespace) -> int:
    city = _city(args.pki)
    store = city.init_trust(args.root_keys, args.root_threshold)
    print(f"signing keys made in {store.dir}: {args.root_keys} root keys (threshold "
          f"{args.root_threshold}) in {store.dir / 'offline'}, release, timestamp and command "
          "keys; root v1 goes into every bundle issued from now on. Move offline/ to offline "
          "storage once the first bundles are issued")
    return 0


def _rotate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("role", choices=ROLES, help="the role whose key(s) are replaced")
    add_pki_dir(p)


def _rotate(args: argparse.Namespace) -> int:
    city = _city(args.pki)
    new = city.trust().rotate(args.role)
    city.registry.note("keys-rotate", {"role": args.role, "root_version": new.doc["version"],
                                       "keys": new.doc["roles"][args.role]["keys"]})
    print(f"{args.role}: new key(s) {', '.join(new.doc['roles'][args.role]['keys'])}; root "
          f"v{new.doc['version']} signed by the old root keys"
          + (" and the new ones" if args.role == "root" else "")
          + f" ({city.trust_dir / 'roots' / str(new.doc['version'])}.sns)")
    return 0


def _show(args: argparse.Namespace) -> int:
    doc = _city(args.pki).trust().root().doc
    print(f"root v{doc['version']}")
    for role, r in doc["roles"].items():
        ops = f"  ops: {', '.join(r['ops'])}" if "ops" in r else ""
        print(f"  {role:<10} {r['threshold']} of {len(r['keys'])}: {', '.join(r['keys'])}{ops}")
    return 0


def _push_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("device", help="the node's device id")
    p.add_argument("--wait", type=float, default=15, help="seconds to wait for each answer")
    add_pki_dir(p)


def _push(args: argparse.Namespace) -> int:
    """Every root after v1, oldest first, on the node's /cmd: a node takes only N+1 of its own
    N, so it walks the chain; the ones it has are refused as not following."""
    from .signing import send

    city = _city(args.pki)
    store = city.trust()
    latest = store.root().doc["version"]
    last = None
    for v in range(2, latest + 1):
        print(f"{args.device}: offering root v{v}")
        for _ in range(3):
            results = send(city, args.device, store.root(v).data, None, args.wait)
            last = results[-1] if results else None
            # a node short of heap refuses without checking and asks for the root again
            if not (last and "send it again" in str(last.get("detail", ""))):
                break
            time.sleep(1)
    city.registry.note("keys-push", {"device": args.device, "latest": latest,
                                     "answer": last})
    if latest == 1:
        print("only root v1 exists: every node has it from its bundle")
        return 0
    if last is None:
        return 2
    return 0 if last["result"] == "done" or "cannot follow" in last.get("detail", "") else 1


def _send_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("device", help="the node's device id")
    p.add_argument("op", choices=COMMAND_OPS, help="the operation")
    p.add_argument("--args", default="{}", help='the operation\'s arguments as JSON, e.g. '
                                                '\'{"blinks": 5}\'')
    p.add_argument("--config", help="config: the whole new config.json (its config_version "
                                    "above the running one)")
    p.add_argument("--expires", type=int, default=3600, help="seconds it stays valid (3600)")
    p.add_argument("--wait", type=float, default=30, help="seconds to wait for the result")
    add_pki_dir(p)


def _send(args: argparse.Namespace) -> int:
    from .signing import send, sign_command

    try:
        op_args = json.loads(args.args)
        if args.config:
            with open(args.config) as f:
                op_args["config"] = json.load(f)
    except (ValueError, OSError) as e:
        raise ToolError(f"the command's arguments: {e}") from None
    if not isinstance(op_args, dict):
        raise ToolError("--args must be a JSON object")
    city = _city(args.pki)
    seq, data = sign_command(city, args.device, args.op, op_args, args.expires)
    print(f"{args.device}: {args.op} signed as command {seq}, {len(data)} bytes; sending")
    results = send(city, args.device, data, seq, args.wait)
    last = results[-1]["result"] if results else None
    if last is None:
        print(f"{args.device}: no answer within {args.wait:.0f} s (offline? the broker keeps "
              "nothing for it: send again when it is back)")
        return 2
    return 0 if last == "done" else 1


KEYS = Group("city IT: the signing keys nodes trust (root, release, timestamp, command)", {
    "init": Command("make the root (threshold) and role keys for a PKI made without them",
                    _init, _init_args),
    "rotate": Command("replace a role's key(s): root v+1, signed by the old root keys",
                      _rotate, _rotate_args),
    "show": Command("the current root: each role's keys and threshold", _show, add_pki_dir),
    "push": Command("bring a node's trust root up to the current one (each version in turn)",
                    _push, _push_args),
})
COMMAND = Group("city IT: signed commands to a node", {
    "send": Command("sign a command for one node, send it, print its results (exit 0 done, "
                    "1 refused or failed, 2 no answer)", _send, _send_args),
})


# -- releases and rollouts
def _releases_dir(city, folder: str | None):
    from pathlib import Path

    return Path(folder) if folder else city.dir / "releases"


def _build_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", required=True, help="build target: esp32, rp2 (or unix)")
    p.add_argument("--version", type=int, required=True, help="release number (only rises)")
    p.add_argument("--security", type=int, default=0,
                   help="security counter: nodes never install anything below it again once "
                        "a release with it is confirmed")
    p.add_argument("--boards", help="boards it is for (default: every board of the target)")
    p.add_argument("--expires-days", type=float, default=365)
    p.add_argument("--firmware", metavar="IMAGE",
                   help="an ESP32 firmware image (MicroPython built with an OTA partition "
                        "table) shipped with the release to the boards that take it")
    p.add_argument("--firmware-boards",
                   help="boards that take the image (default: those of --boards on its chip)")
    p.add_argument("--releases", help="the update service's folder (default <pki>/releases)")
    add_pki_dir(p)


def _image(args: argparse.Namespace, boards: list[str]):
    """(image, the boards that take it, their chip) for build(), or None."""
    from pathlib import Path

    from provisioning.release import image_chip

    from ..core.boards import load_board

    if not args.firmware:
        return None
    image = Path(args.firmware)
    if not image.is_file():
        raise ToolError(f"no firmware image {image}")
    chip = image_chip(image)
    names = args.firmware_boards.split(",") if args.firmware_boards else boards
    specs = [load_board(b)[0] for b in names]
    wrong = [spec["name"] for spec in specs if spec["chip"] != chip]
    if args.firmware_boards and wrong:
        raise ToolError(f"{image} is built for {chip}; {', '.join(wrong)} cannot take it")
    takers = [spec["name"] for spec in specs if spec["chip"] == chip]
    if not takers:
        raise ToolError(f"{image} is built for {chip} and none of {', '.join(names)} is one")
    return image, takers, chip


def _build(args: argparse.Namespace) -> int:
    from provisioning.release import build

    from ..core.boards import board_files, load_board
    from ..core.paths import BUILD, build_target

    city = _city(args.pki)
    target = build_target(args.target)
    lib = BUILD / target / "lib"
    if not lib.is_dir():
        raise ToolError(f"no build for {target}: run 'stadsnod build' first")
    boards = args.boards.split(",") if args.boards else [
        spec["name"] for spec in (load_board(p)[0] for p in board_files())
        if build_target(spec["target"]) == target]
    out = build(lib, _releases_dir(city, args.releases), target, args.version, args.security,
                boards, args.expires_days, _image(args, boards))
    city.registry.note("release-build", {"target": target, "version": args.version,
                                         "security": args.security, "boards": boards})
    print(f"release {args.version} for {target} ({', '.join(boards)}) built in {out}; "
          f"sign it next: stadsnod release sign --target {args.target} --version {args.version}")
    return 0


def _sign_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", required=True, help="build target: esp32, rp2 (or unix)")
    p.add_argument("--version", type=int, required=True)
    p.add_argument("--releases", help="the update service's folder (default <pki>/releases)")
    add_pki_dir(p)


def _sign(args: argparse.Namespace) -> int:
    from provisioning.release import sign

    from ..core.paths import build_target

    city = _city(args.pki)
    folder = _releases_dir(city, args.releases) / build_target(args.target) / str(args.version)
    if not (folder / "manifest.json").exists():
        raise ToolError(f"no built release in {folder}: run 'stadsnod release build' first")
    out = sign(city.trust(), folder)
    city.registry.note("release-sign", {"target": build_target(args.target),
                                        "version": args.version})
    print(f"{out}: signed by the release key; the update service offers it as the newest "
          f"from now on (roll it out: stadsnod fleet update --release {args.version})")
    return 0


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ttl", type=float, default=86400, help="timestamp lifetime in seconds")
    p.add_argument("--releases", help="the folder of releases (default <pki>/releases)")
    add_pki_dir(p)


def _serve(args: argparse.Namespace) -> int:
    import time

    from .update_service import UpdateService

    city = _city(args.pki)
    s = city.settings
    svc = UpdateService(s["broker_host"], s["broker_port"], city.ca_pem,
                        city.dir / "platform.pem", city.dir / "platform.key", s["topic_root"],
                        _releases_dir(city, args.releases), city.trust(), args.ttl).start()
    print(f"update service on {s['broker_host']}:{s['broker_port']}; Ctrl-C stops it")
    try:
        while True:
            time.sleep(10)
            print(f"{svc.requests} pieces served, {svc.bytes_sent} bytes", flush=True)
    except KeyboardInterrupt:
        svc.stop()
    return 0


def _update_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--release", type=int, required=True, help="the release to roll out")
    p.add_argument("--devices", help="comma-separated ids (default: every installed or "
                                     "active device in the registry)")
    p.add_argument("--canary", type=int, default=1, help="nodes in the first ring (1)")
    p.add_argument("--rings", default="50,100",
                   help="then these percentages of the fleet, cumulative (50,100)")
    p.add_argument("--max-failures", type=int, default=0,
                   help="failures a ring may have before the rollout halts (0)")
    p.add_argument("--wait", type=float, default=600, help="seconds a ring may take")
    add_pki_dir(p)


def _update(args: argparse.Namespace) -> int:
    from .fleet import rollout

    city = _city(args.pki)
    devices = args.devices.split(",") if args.devices else [
        d["id"] for d in city.registry.devices() if d["state"] in ("installed", "active")]
    plan = rollout(city, devices, args.release, args.canary,
                   [int(x) for x in args.rings.split(",") if x], args.max_failures, args.wait)
    good = sum(1 for v in plan.outcome.values() if v in ("confirmed", "already"))
    print(f"release {args.release}: {good} of {len(devices)} confirmed in {plan.seconds:.0f} s"
          + (f"; halted at ring {plan.halted_at}" if plan.halted_at else ""))
    return 1 if plan.halted_at else 0


def _status(args: argparse.Namespace) -> int:
    city = _city(args.pki)
    known = city.registry.releases()
    print(f"{'device':<24} {'state':<10} {'release':>7}  {'last result':<10} detail")
    for d in city.registry.devices():
        r = known.get(d["id"], {})
        print(f"{d['id']:<24} {d['state']:<10} {r.get('version', '-')!s:>7}  "
              f"{r.get('state', '-'):<10} {r.get('detail', '')}")
    return 0


RELEASE = Group("city IT: signed releases and the update service", {
    "build": Command("a release from `make build` output: files and manifest", _build,
                     _build_args),
    "sign": Command("sign a built release's manifest with the release key", _sign, _sign_args),
    "serve": Command("run the update service (answers nodes' requests over MQTT)", _serve,
                     _serve_args),
})
FLEET = Group("city IT: roll a release out to the fleet, and see where each node is", {
    "update": Command("roll a release out in rings (canary, then percentages); halts by "
                      "itself when a ring fails (exit 1)", _update, _update_args),
    "status": Command("every node's release, state and last result", _status, add_pki_dir),
})
