"""`stadsnod virtual-board`: the MicroPython unix port on a pseudo-terminal, with fake hardware
and its own filesystem folder, behaving like a board towards mpremote. The unix port speaks the
raw REPL on a terminal; a bridge between two pseudo-terminals gives clients a device path
(/dev/pts/N) of their own, can throttle the line to a UART's speed, and restarts the port where
a board would soft-reboot (the unix port exits on Ctrl-D at an empty raw REPL), printing what a
board prints."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import threading
import time
import tty
from pathlib import Path

from ..core.paths import micropypath, micropython

SOFT_REBOOT = b"MPY: soft reboot\r\n"
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"


class VirtualBoard:
    def __init__(self, folder: Path, world: Path | None = None, baud: int | None = None,
                 heap: str = "256K") -> None:
        self.dir = Path(folder).resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "lib").mkdir(exist_ok=True)
        self.world = Path(world).resolve() if world else None
        self.baud = baud  # None: as fast as the pipes go
        self.heap = heap
        self.boots = 0
        self._stop = threading.Event()
        self._raw = False  # the client put the board in raw REPL mode

    # -- the port, on its own terminal
    def _launch(self) -> None:
        self._pm, ps = pty.openpty()
        tty.setraw(ps)
        env = dict(os.environ, MICROPYPATH=micropypath(self.dir / "lib"))
        if self.world:
            env["STADSNOD_SIM"] = str(self.world)
        self.proc = subprocess.Popen([micropython(), "-X", f"heapsize={self.heap}"], cwd=self.dir,
                                     stdin=ps, stdout=ps, stderr=ps, env=env,
                                     start_new_session=True)
        os.close(ps)
        self.boots += 1

    def start(self) -> VirtualBoard:
        self._cm, cs = pty.openpty()
        tty.setraw(cs)
        self.port = os.ttyname(cs)
        self._client_slave = cs  # kept open so the client side never sees a hang-up
        self._launch()
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def _write_client(self, data: bytes) -> None:
        try:
            if self.baud:
                for i in range(0, len(data), 64):  # 10 bits a byte on a UART
                    os.write(self._cm, data[i:i + 64])
                    time.sleep(len(data[i:i + 64]) * 10 / self.baud)
            else:
                os.write(self._cm, data)
        except OSError:
            pass  # stopped meanwhile

    def _pump(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._cm, self._pm], [], [], 0.05)
            except (OSError, ValueError):
                return
            if self._cm in ready:
                try:
                    data = os.read(self._cm, 4096)
                    if b"\x01" in data:
                        self._raw = True
                    if b"\x02" in data:
                        self._raw = False
                    os.write(self._pm, data)
                except OSError:  # closed under us while stopping
                    return
                if self.baud:  # the laptop-to-board direction runs at the line rate too
                    time.sleep(len(data) * 10 / self.baud)
            if self._pm in ready:
                try:
                    data = os.read(self._pm, 4096)
                except OSError:  # the port is gone
                    data = b""
                if data:
                    self._write_client(data)
            if self.proc.poll() is not None and not self._stop.is_set():
                self._reboot()

    def _reboot(self) -> None:
        """The port exited where a board soft-reboots: start it again and, if the client was
        in the raw REPL, put the new one there too, showing only what a board shows."""
        os.close(self._pm)
        self._launch()
        if not self._raw:
            self._write_client(SOFT_REBOOT)
            return
        os.write(self._pm, b"\r\x01")
        seen = b""
        # a bound on a hang, not on speed: on a loaded CI machine a restart took over the 5 s
        # this once allowed, and the banner that came later confused the client (a deploy hung)
        deadline = time.time() + 30
        while not seen.endswith(RAW_BANNER) and time.time() < deadline:
            r, _, _ = select.select([self._pm], [], [], 0.05)
            if r:
                seen += os.read(self._pm, 4096)
        self._write_client(SOFT_REBOOT + RAW_BANNER)

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for fd in (self._cm, self._pm, self._client_slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> VirtualBoard:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
