"""A TCP proxy between simulated nodes and the broker that fails the way networks fail: it can
drop every connection, refuse new ones, swallow traffic (a blackhole: the TCP session stays up,
nothing arrives), delay it, or reset a connection in the middle of a packet. Tests and the demo
point nodes at it instead of the broker."""

from __future__ import annotations

import socket
import struct
import threading
import time

MODES = ("pass", "blackhole", "delay", "reset", "refuse")


class FaultProxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream = (host, upstream_port)
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "pass"
        self.delay_s = 0.3
        self.connections = 0  # accepted so far
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.listener.close()
        self.drop()

    def set(self, mode: str, delay_s: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        if delay_s is not None:
            self.delay_s = delay_s

    def drop(self) -> None:
        """Closes every connection now, as a NAT timeout or a rebooted router does."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                _reset(s)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            self.connections += 1
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upward: bool) -> None:
        try:
            while True:
                data = src.recv(4096)
                if not data:
                    break
                mode = self.mode
                if mode == "blackhole":
                    continue
                if mode == "delay":
                    time.sleep(self.delay_s)
                if mode == "reset" and upward and len(data) > 1:
                    dst.sendall(data[: len(data) // 2])  # half a packet, then the line dies
                    break
                dst.sendall(data)
        except OSError:
            pass
        _reset(src)
        _reset(dst)


def _reset(s: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), not a polite FIN."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
