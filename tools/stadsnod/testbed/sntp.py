"""A tiny SNTP server (RFC 4330) on loopback, so simulated nodes set their clocks the way a
deployed node does -- over UDP from a time server -- without reaching the internet."""

from __future__ import annotations

import socket
import struct
import threading
import time

NTP_TO_UNIX = 2208988800


def reply(request: bytes, now: float) -> bytes:
    """A stratum-2 server answer: our time as receive and transmit, their transmit as origin."""
    secs = int(now) + NTP_TO_UNIX
    frac = int((now % 1) * 2**32)
    version = (request[0] >> 3) & 7 or 4
    out = bytearray(48)
    out[0] = (version << 3) | 4  # LI 0, mode 4 (server)
    out[1] = 2
    out[2] = request[2]
    out[3] = 0xEC  # precision 2**-20 s
    out[12:16] = b"LOCL"
    struct.pack_into("!II", out, 16, secs, frac)  # reference
    out[24:32] = request[40:48]  # originate = client's transmit
    struct.pack_into("!II", out, 32, secs, frac)  # receive
    struct.pack_into("!II", out, 40, secs, frac)  # transmit
    return bytes(out)


class SNTPServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answered = 0
        self.offset = 0.0  # seconds added to our time: a test can make the clock jump
        self.silent = False  # a test can make the server unreachable
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(512)
            except OSError:
                continue
            if len(data) >= 48 and data[0] & 7 == 3 and not self.silent:
                self.sock.sendto(reply(data, time.time() + self.offset), addr)
                self.answered += 1

    def __enter__(self) -> SNTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(1)
        self.sock.close()
