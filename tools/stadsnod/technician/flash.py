"""`stadsnod flash`: put MicroPython on a blank board. ESP32 and ESP32-S3 through esptool
(chip check, erase, write at the chip's offset, MAC read back); the Pico W by copying the UF2 to
its BOOTSEL drive, or through picotool when one is installed. `--dry-run` prints exactly what
would run. The usual field failures -- no port, no permission, the wrong chip, no BOOTSEL
drive -- end in an error that says what to do."""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from ..core.boards import load_board
from ..core.paths import ToolError, venv_tool

CHIP_NAMES = {"esp32": "ESP32", "esp32s3": "ESP32-S3"}
UF2_MAGIC = b"UF2\n"
BOOTSEL_GLOBS = ("/media/*/RPI-RP2", "/run/media/*/RPI-RP2", "/media/RPI-RP2", "/mnt/RPI-RP2")


def esptool() -> list[str]:
    """The esptool command (STADSNOD_ESPTOOL overrides it, e.g. to rehearse without a board)."""
    override = os.environ.get("STADSNOD_ESPTOOL")
    return shlex.split(override) if override else [venv_tool("esptool")]


def find_port(port: str | None) -> str:
    if port:
        if not os.path.exists(port):
            raise ToolError(f"no serial port {port}: is the board plugged in (with a data cable, "
                            "not a charge-only one)?")
        candidates = [port]
    else:
        candidates = sorted(glob.glob("/dev/ttyUSB*") + glob.glob("/dev/ttyACM*"))
        if not candidates:
            raise ToolError("no serial port found (/dev/ttyUSB*, /dev/ttyACM*): plug the board "
                            "in with a data cable, or give --port")
        if len(candidates) > 1:
            raise ToolError(f"several serial ports ({', '.join(candidates)}): say which with "
                            "--port")
    if not os.access(candidates[0], os.R_OK | os.W_OK):
        raise ToolError(f"permission denied on {candidates[0]}: add yourself to the 'dialout' "
                        "group (sudo usermod -aG dialout $USER), log in again and retry")
    return candidates[0]


def esp_commands(board: dict, port: str, firmware: Path, baud: int) -> list[list[str]]:
    chip = board["chip"]
    base = esptool() + ["--port", port, "--chip", chip]
    return [base + ["erase-flash"],
            base + ["--baud", str(baud), "write-flash", hex(board["firmware_offset"]),
                    str(firmware)],
            base + ["read-mac"]]


def _run(cmd: list[str]) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise ToolError(f"{shlex.join(cmd)} failed:\n{(r.stdout + r.stderr)[-1500:]}")
    return r.stdout


def detect_chip(port: str) -> str:
    out = _run(esptool() + ["--port", port, "--chip", "auto", "read-mac"])
    m = re.search(r"Connected to (\S+) on", out)
    if not m:
        raise ToolError(f"esptool found no ESP chip on {port}: hold BOOT while pressing EN to "
                        "enter the download mode, then retry")
    return m.group(1)


def flash(board_ref: str, firmware: Path, port: str | None = None, dry_run: bool = False,
          baud: int = 460800, drive: str | None = None, say=print) -> list[str]:
    """Returns the commands run (or, with dry_run, that would run)."""
    board, _ = load_board(board_ref)
    if not firmware.is_file():
        raise ToolError(f"no firmware image {firmware}: download the MicroPython "
                        f"{board['micropython']} build for this board first")
    if board["chip"] in CHIP_NAMES:
        return _flash_esp(board, firmware, port, dry_run, baud, say)
    if board["chip"] == "rp2040":
        return _flash_rp2(board, firmware, drive, dry_run, say)
    raise ToolError(f"board {board['name']} ({board['chip']}) is not flashed (it is simulated)")


def _flash_esp(board, firmware, port, dry_run, baud, say) -> list[str]:
    if dry_run and not port:
        try:
            port = find_port(None)
        except ToolError:
            port = "<port>"  # a rehearsal needs no board
    elif not dry_run or port is None:
        port = find_port(port)
    cmds = esp_commands(board, port, firmware, baud)
    if dry_run:
        for c in cmds:
            say(shlex.join(c))
        return [shlex.join(c) for c in cmds]
    found = detect_chip(port)
    want = CHIP_NAMES[board["chip"]]
    if found != want:
        raise ToolError(f"the board on {port} is an {found}, not an {want}: pick the board "
                        f"file that matches (stadsnod boards list)")
    for i, c in enumerate(cmds, 1):
        say(f"[{i}/{len(cmds)}] {shlex.join(c)}")
        out = _run(c)
    mac = re.search(r"MAC:\s*([0-9a-f:]{17})", out, re.I)
    say(f"flashed {board['title']}; MAC {mac.group(1) if mac else '(not read)'}")
    return [shlex.join(c) for c in cmds]


def find_bootsel(drive: str | None) -> Path | None:
    candidates = [drive] if drive else [p for g in BOOTSEL_GLOBS for p in glob.glob(g)]
    for c in candidates:
        info = Path(c) / "INFO_UF2.TXT"
        if info.is_file() and "RPI-RP2" in info.read_text(errors="replace"):
            return Path(c)
    if drive:
        raise ToolError(f"{drive} is not a Pico's BOOTSEL drive (no INFO_UF2.TXT naming RPI-RP2)")
    return None


def _flash_rp2(board, firmware, drive, dry_run, say) -> list[str]:
    with open(firmware, "rb") as f:
        if f.read(4) != UF2_MAGIC:
            raise ToolError(f"{firmware} is not a UF2 image: the Pico W takes the .uf2 build "
                            f"({board['micropython']})")
    target = find_bootsel(drive)
    if target is None:
        picotool = shutil.which("picotool")
        if not picotool:
            raise ToolError("no BOOTSEL drive (RPI-RP2) mounted: hold BOOTSEL while plugging "
                            "the Pico W in, or give --drive where it is mounted")
        cmd = [picotool, "load", "-x", str(firmware)]
        say(shlex.join(cmd))
        if not dry_run:
            _run(cmd)
        return [shlex.join(cmd)]
    cmd = ["cp", str(firmware), str(target) + "/"]
    say(shlex.join(cmd))
    if not dry_run:
        shutil.copyfile(firmware, target / firmware.name)  # the Pico reboots once it has it
        say(f"copied to {target}; the Pico W reboots into MicroPython")
    return [shlex.join(cmd)]
