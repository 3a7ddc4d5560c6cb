"""City IT's signing commands: `keys init|rotate|show` (the trust root and its role keys) and
`command send` (a signed command to one node, its results awaited). Passphrases come from
$STADSNOD_PKI_PASSPHRASE or a prompt, never a flag."""

from __future__ import annotations

import argparse
import json

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
        results = send(city, args.device, store.root(v).data, None, args.wait)
        last = results[-1] if results else None
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
