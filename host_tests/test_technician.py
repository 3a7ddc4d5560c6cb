"""The technician's tools through real mpremote against the virtual board (the unix port on a
pseudo-terminal): deploy copies the firmware and the board definition, skips what is already
there, verifies every hash, resumes after an interruption; the board runs what was deployed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from stadsnod.deploy import deploy, firmware_files
from stadsnod.paths import ROOT
from stadsnod.virtual_board import VirtualBoard


@pytest.fixture
def board(tmp_path):
    with VirtualBoard(tmp_path / "board") as vb:
        yield vb


def mpremote(vb, *args: str) -> str:
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "mpremote"), "connect", vb.port, *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_virtual_board_answers_mpremote_and_survives_soft_resets(board):
    assert mpremote(board, "exec", "print(6 * 7)").strip() == "42"
    mpremote(board, "soft-reset")
    assert mpremote(board, "exec", "print('again')").strip() == "again"
    assert board.boots >= 2


def test_deploy_copies_skips_verifies_and_resumes(board):
    said: list[str] = []
    first = deploy("host", board.port, say=said.append)
    files = firmware_files({"name": "host", "chip": "host", "target": "unix"})
    assert first["copied"] == first["files"] == len(files) and first["bytes"] > 30000
    assert "lib/board_host.mpy" in files and "lib/board_esp32.mpy" not in files
    on_board = board.dir / "lib"
    assert sorted(p.name for p in on_board.iterdir()) == sorted(
        Path(k).name for k in files if k.startswith("lib/"))
    again = deploy("host", board.port, say=said.append)
    assert again["copied"] == 0 and again["skipped"] == len(files)
    # a cable pulled halfway: one file cut short, one never written
    (on_board / "spool.mpy").write_bytes((on_board / "spool.mpy").read_bytes()[:100])
    (on_board / "node.mpy").unlink()
    resumed = deploy("host", board.port, say=said.append)
    assert resumed["copied"] == 2
    # the board runs what was deployed, not the build folder
    out = mpremote(board, "exec", "import spool; print(spool.__file__)")
    assert out.strip().startswith("lib/") or "/board/lib/" in out
