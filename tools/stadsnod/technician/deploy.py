"""`stadsnod deploy`: copy the built firmware for a board's target, with that board's definition
(and its chip table), onto a board through mpremote's raw-REPL transport. A file whose SHA-256
already matches on the board is skipped, so a deploy cut short by a dropped cable resumes where
it stopped; at the end every file's hash is checked on the board."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..core.boards import check, load_board
from ..core.build import build
from ..core.paths import BUILD, ToolError, build_target


def firmware_files(board: dict) -> dict[str, Path]:
    """Board path -> local file: boot.py, main.py, and lib/*.mpy without other boards' files."""
    out_dir = BUILD / build_target(board["target"])
    files = {name: out_dir / name for name in ("boot.py", "main.py")}
    for f in sorted((out_dir / "lib").glob("*.mpy")):
        stem = f.stem
        if stem.startswith("board_") and stem != f"board_{board['name']}":
            continue
        if stem.startswith("chip_") and stem != f"chip_{board['chip']}":
            continue
        files[f"lib/{f.name}"] = f
    return files


def _transport(port: str):
    from mpremote.transport import TransportError
    from mpremote.transport_serial import SerialTransport

    try:
        t = SerialTransport(port, baudrate=115200)
        t.enter_raw_repl(soft_reset=False)
    except (TransportError, OSError) as e:
        raise ToolError(f"no MicroPython board answers on {port} ({e}): is it flashed "
                        "(stadsnod flash) and not busy in another terminal?") from None
    return t


def deploy(board_ref: str, port: str, say=print) -> dict[str, int]:
    board, path = load_board(board_ref)
    problems = check(board)
    if problems:
        raise ToolError(f"board {path} fails the check; fix it first:\n  " + "\n  ".join(problems))
    build([board["target"]], quiet=True)
    files = firmware_files(board)
    t = _transport(port)
    copied = skipped = sent = 0
    try:
        if not t.fs_exists("lib"):
            t.fs_mkdir("lib")
        for i, (dest, src) in enumerate(files.items(), 1):
            data = src.read_bytes()
            digest = hashlib.sha256(data).digest()
            if t.fs_exists(dest) and t.fs_hashfile(dest, "sha256") == digest:
                skipped += 1
                continue
            t.fs_writefile(dest, data)
            copied += 1
            sent += len(data)
            say(f"[{i}/{len(files)}] {dest} ({len(data)} B)")
        bad = [dest for dest, src in files.items()
               if t.fs_hashfile(dest, "sha256") != hashlib.sha256(src.read_bytes()).digest()]
        if bad:
            raise ToolError(f"hash mismatch on the board after copying: {', '.join(bad)}; run "
                            "deploy again")
    finally:
        t.exit_raw_repl()
        t.close()
    say(f"deployed {board['name']}: {copied} copied ({sent} B), {skipped} already there, "
        f"{len(files)} verified")
    return {"copied": copied, "skipped": skipped, "bytes": sent, "files": len(files)}
