"""`stadsnod` -- the one host CLI. The table below names every command; each lives with the
users it serves (core: build and boards; technician; cityit; testbed; analysis) and brings its
own parser, help and handler."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .analysis import commands as analysis
from .cityit import commands as cityit
from .cityit import signing_commands as signing
from .conformance import commands as conformance
from .core import commands as core
from .core.command import Command, Group
from .core.paths import ToolError
from .technician import commands as technician
from .testbed import commands as testbed

COMMANDS: dict[str, Command | Group] = {
    "build": core.BUILD,
    "boards": core.BOARDS,
    # field technicians
    "flash": technician.FLASH,
    "deploy": technician.DEPLOY,
    "provision": technician.PROVISION,
    "selftest": technician.SELFTEST,
    # city IT
    "pki": cityit.PKI,
    "device": cityit.DEVICE,
    "keys": signing.KEYS,
    "command": signing.COMMAND,
    "release": signing.RELEASE,
    "fleet": Group(signing.FLEET.help + "; or simulate one (`fleet sim`)",
                   {**signing.FLEET.commands, "sim": testbed.FLEET_SIM}),
    "broker": Group("run the embedded broker (default), or write the city broker's "
                    "configuration from the PKI",
                    {"run": testbed.BROKER_RUN, "config": cityit.BROKER_CONFIG}, default="run"),
    # vendors
    "conformance": conformance.CONFORMANCE,
    # the test bed
    "demo": testbed.DEMO,
    "bench": testbed.BENCH,
    "soak": testbed.SOAK,
    "fuzz": testbed.FUZZ,
    "virtual-board": testbed.VIRTUAL_BOARD,
    # recordings through the node's own code
    "replay": analysis.REPLAY,
    "noise": analysis.NOISE,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stadsnod", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, entry in COMMANDS.items():
        if isinstance(entry, Command):
            c = sub.add_parser(name, help=entry.help, description=entry.help)
            entry.arguments(c)
            c.set_defaults(func=entry.run)
            continue
        g = sub.add_parser(name, help=entry.help, description=entry.help)
        gsub = g.add_subparsers(dest="action", required=True, metavar="ACTION")
        for action, cmd in entry.commands.items():
            c = gsub.add_parser(action, help=cmd.help, description=cmd.help)
            cmd.arguments(c)
            c.set_defaults(func=cmd.run)
    return p


def _with_default(argv: list[str]) -> list[str]:
    """`stadsnod broker` (or `stadsnod broker --port N`) means the group's default action."""
    if argv and isinstance(entry := COMMANDS.get(argv[0]), Group) and entry.default:
        rest = argv[1:]
        if not rest or (rest[0] not in entry.commands and rest[0] not in ("-h", "--help")):
            return [argv[0], entry.default, *rest]
    return argv


def _interrupted(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(_with_default(list(sys.argv[1:] if argv is None else argv)))
    if threading.current_thread() is threading.main_thread():
        # A `kill` unwinds like Ctrl-C: a simulation stops its nodes and its broker instead of
        # leaving them running (nodes run in their own sessions, out of the terminal's reach).
        signal.signal(signal.SIGTERM, _interrupted)
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
