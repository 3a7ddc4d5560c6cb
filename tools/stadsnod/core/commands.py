"""Developer and vendor commands: `build`, `boards list`, `boards check`."""

from __future__ import annotations

import argparse

from .command import Command, Group
from .paths import ToolError


def _build_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", nargs="*", choices=["unix", "esp32", "rp2", []])
    p.add_argument("--board", help="check this board (name or file) and build for its target")
    p.add_argument("--romfs", action="store_true",
                   help="also write build/<target>.romfs, the modules as a ROMFS image for a "
                        "board firmware with a ROM partition (mpremote romfs deploy FILE)")


def _build(args: argparse.Namespace) -> int:
    from .boards import check, load_board
    from .build import build

    targets = args.target or None
    if args.board:
        board, path = load_board(args.board)
        problems = check(board)
        if problems:
            raise ToolError(f"board {path} fails the check; fix it first:\n  "
                            + "\n  ".join(problems))
        targets = [board["target"]]
        print(f"board {board['name']} ({board['title']}): target {board['target']}")
    sizes = build(targets)
    if args.romfs:
        from .build import romfs_image

        for target in sizes:
            image = romfs_image(target)
            print(f"{image}: {image.stat().st_size} bytes (deploy with `mpremote romfs deploy "
                  f"{image}` to a firmware built with MICROPY_VFS_ROM)")
    return 0


def _boards_list(_args: argparse.Namespace) -> int:
    from .boards import board_files, load_board

    for path in board_files():
        b, _ = load_board(path)
        heap = b["gc_heap_bytes"] // 1024
        print(f"{b['name']:<9} {b['chip']:<8} {b['target']:<6} heap {heap:>5} KiB  {b['title']}")
    return 0


def _boards_check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("board", help="board name or path to a board file (.py or .json)")


def _boards_check(args: argparse.Namespace) -> int:
    from .boards import check, load_board

    b, path = load_board(args.board)
    problems = check(b)
    for p in problems:
        print(f"{path}: {p}")
    if not problems:
        print(f"{path}: ok ({b['title']})")
    return 1 if problems else 0


BUILD = Command("compile firmware, drivers and boards to .mpy", _build, _build_args)
BOARDS = Group("list the shipped boards, or check a board file", {
    "list": Command("the shipped boards with chip, target and heap", _boards_list),
    "check": Command("check a board file against its chip's pin rules (exit 1 on a problem)",
                     _boards_check, _boards_check_args),
})
