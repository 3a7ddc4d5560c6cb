"""The CLI's command table entries, in the manner of mpremote's `_COMMANDS`: each command has its
own help, its own arguments and its own handler; a group holds subcommands that each have only
their own flags (`stadsnod pki audit`, `stadsnod device issue`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

Handler = Callable[[argparse.Namespace], "int | None"]
Arguments = Callable[[argparse.ArgumentParser], None]


def no_arguments(_p: argparse.ArgumentParser) -> None:
    pass


@dataclass(frozen=True)
class Command:
    help: str
    run: Handler
    arguments: Arguments = no_arguments


@dataclass(frozen=True)
class Group:
    help: str
    commands: dict[str, Command]
    default: str | None = None  # run when the group is named alone (`stadsnod broker`)
    description: str = field(default="")


def add_pki_dir(p: argparse.ArgumentParser, flag: str = "--pki") -> None:
    p.add_argument(flag, help="PKI folder (default $STADSNOD_PKI or ./city-pki)")
