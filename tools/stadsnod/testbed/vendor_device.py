"""A foreign device for the conformance kit's own tests: another vendor's sensor node, written
from the profile alone in CPython (raw MQTT 3.1.1 over TLS, no stadsnod code on the device
side), conformant as it stands. Each `--fault` seeds exactly one violation of the profile; the
kit must fail that requirement and pass every other (host_tests/test_conformance.py).

    python -m stadsnod.testbed.vendor_device --lab DIR --device ID [--fault NAME]
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import ssl
import struct
import threading
import time
from pathlib import Path
from typing import Any

from ..conformance import mqttwire as w
from .vendor_faults import BACKOFF_BASE_S, FIRMWARE, STABLE_S, verify_ignoring_time, web_page

FAULTS = {  # name -> the requirement it violates
    "retained-data": "SN-TOP-2", "will-not-retained": "SN-TOP-3",
    "bt-from-uptime": "SN-PAY-3", "seq-restart": "SN-SEQ-1", "other-id": "SN-TOP-1",
    "replay-accepted": "SN-CMD-2", "accepts-expired": "SN-TLS-3", "raw-audio": "SN-PRV-1",
    "default-password": "SN-LOC-2", "unit-C": "SN-PAY-2", "no-kick-backoff": "SN-RES-2",
    "lying-declaration": "SN-PAY-4",
}


def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def _packet(kind_flags: int, body: bytes) -> bytes:
    n, length = len(body), bytearray()
    while True:
        byte, n = n % 128, n // 128
        length.append(byte | (0x80 if n else 0))
        if not n:
            return bytes([kind_flags]) + bytes(length) + body


class Device:
    def __init__(self, lab_dir: Path, device: str, fault: str | None, http_port: int = 0):
        self.lab = json.loads((lab_dir / "lab.json").read_text())
        self.files = lab_dir / "devices" / device
        self.id, self.fault = device, fault
        self.root = self.lab["topic_root"]
        self.trust = json.loads(__import__("provisioning.trust", fromlist=["unwrap"])
                                .unwrap((self.files / "trust.root").read_bytes())[0])
        self.seq, self.boot, self.last_cmd, self.rejected = 0, 1, 0, 0
        self.refused_at = -1e9  # when the last malformed or unsigned command was refused
        self.queue: list[tuple[int, float, float]] = []  # unacked: seq, monotonic, value
        self.offset: float | None = None  # Unix time - monotonic, once SNTP answered
        self.started = time.monotonic()
        self.attempt = 0
        self.up_at: float | None = None
        self.pid = 0
        self.inflight: dict[int, int] = {}  # packet id -> seq
        self.results: list[bytes] = []
        self.http_port = http_port

    # -- time
    def _sntp(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        try:
            s.sendto(b"\x23" + bytes(47), (self.lab["sntp_host"], self.lab["sntp_port"]))
            data = s.recv(48)
            secs, frac = struct.unpack("!II", data[40:48])
            self.offset = secs - 2208988800 + frac / 2**32 - time.monotonic()
        except OSError:
            pass
        finally:
            s.close()

    # -- TLS
    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.files / "ca.crt"))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.files / "client.crt", self.files / "client.key")
        if self.fault == "accepts-expired":
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # checked below, all but the dates
        return ctx

    def _connect(self) -> ssl.SSLSocket:
        raw = socket.create_connection((self.lab["host"], self.lab["port"]), timeout=5)
        tls = self._context().wrap_socket(raw, server_hostname=self.lab["server_hostname"])
        if self.fault == "accepts-expired":
            try:
                verify_ignoring_time(self.files, self.lab["server_hostname"], tls)
            except Exception:
                tls.close()
                raise OSError("broker certificate refused") from None
        will_retain = 0 if self.fault == "will-not-retained" else 0x20
        flags = 0x02 | 0x04 | 0x08 | will_retain  # clean, will, will QoS 1
        body = (_str("MQTT") + bytes([4, flags]) + struct.pack("!H", 30) + _str(self.id)
                + _str(f"{self.root}/{self.id}/status") + _str("offline"))
        tls.sendall(_packet(0x10, body))
        tls.settimeout(5)
        split = w.Splitter()
        while True:
            data = tls.recv(4096)
            if not data:
                raise OSError("closed before CONNACK")
            for p in split.feed(data):
                if p.kind == w.CONNACK:
                    if p.body[1]:
                        raise OSError(f"refused: {p.body[1]}")
                    self.split = split
                    return tls
        raise OSError("no CONNACK")

    # -- publishing
    def _next_pid(self) -> int:
        self.pid = self.pid % 65535 + 1
        return self.pid

    def _publish(self, tls, topic: str, payload: bytes, qos: int, retain: bool = False,
                 seq: int | None = None) -> None:
        body = _str(topic)
        if qos:
            body += struct.pack("!H", self._next_pid())
            if seq is not None:
                self.inflight[self.pid] = seq
        tls.sendall(_packet(0x30 | qos << 1 | int(retain), body + payload))

    def _pack(self, seq: int, made: float, value: float) -> bytes:
        bn: dict[str, Any] = {"bn": f"urn:dev:org:32473-{self.id}:"}
        if self.offset is not None:
            bn["bt"] = round(made + self.offset, 3)
        elif self.fault == "bt-from-uptime":
            bn["bt"] = round(made - self.started, 3)  # seconds since boot, as if 1970
        unit = "C" if self.fault == "unit-C" else "Cel"
        recs = [{**bn, "n": "seq", "v": seq}, {"n": "temperature", "u": unit, "v": value},
                {"n": "quality/sht31_0x44", "u": "/", "v": 1}]
        if self.fault == "raw-audio":
            rng = random.Random(seq)  # the same block of samples each time it is sent
            recs.append({"n": "LAeq", "u": "dB", "v": [rng.randint(-2000, 2000)
                                                         for _ in range(160)]})
        elif self.id.startswith("noise"):
            recs.append({"n": "LAeq", "u": "dB", "v": 55.0})
        return json.dumps(recs).encode()

    def _health(self, tls) -> None:
        recs = [{"bn": f"urn:dev:org:32473-{self.id}:", "n": "uptime", "u": "s",
                 "v": round(time.monotonic() - self.started)},
                {"n": "boot", "v": self.boot}, {"n": "firmware", "vs": FIRMWARE},
                {"n": "clock_synced", "vb": self.offset is not None},
                {"n": "reset_cause", "v": 1}, {"n": "cmd_rejected", "v": self.rejected}]
        self._publish(tls, f"{self.root}/{self.id}/health", json.dumps(recs).encode(), 0)

    # -- commands
    def _command(self, payload: bytes) -> None:
        from provisioning.trust import TrustError, unwrap, valid_signers

        def answer(seq, op, result, detail=""):
            self.results.append(json.dumps({"seq": seq, "op": op, "result": result,
                                            "detail": detail}).encode())
        try:
            good = valid_signers(payload, self.trust, "command")
            if len(good) < self.trust["roles"]["command"]["threshold"]:
                raise TrustError("not signed by the command key")
            doc = json.loads(unwrap(payload)[0])
        except (TrustError, ValueError, KeyError, IndexError) as e:
            self.rejected += 1
            self.refused_at = time.monotonic()
            return answer(None, None, "refused", str(e) or "malformed")
        seq, op = doc.get("seq"), doc.get("op")
        if doc.get("device") != self.id or doc.get("expires", 0) < time.time() or (
                seq <= self.last_cmd and self.fault != "replay-accepted"):
            self.rejected += 1
            return answer(seq, op, "refused", "replayed, expired or not for this device")
        self.last_cmd = seq
        answer(seq, op, "accepted")
        answer(seq, op, "done" if op == "selftest" else "failed",
               {"passed": True} if op == "selftest" else f"{op} is not supported")

    # -- the loop
    def _session(self, tls) -> None:
        """One connection: until it breaks."""
        self.up_at = time.monotonic()
        if self.fault == "no-kick-backoff":
            self.attempt = 0  # the seeded fault: a CONNACK counts as success at once
        self._publish(tls, f"{self.root}/{self.id}/status", b"online", 1, retain=True)
        tls.sendall(_packet(0x82, struct.pack("!H", self._next_pid())
                            + _str(f"{self.root}/{self.id}/cmd") + b"\x01"))
        self.inflight.clear()
        for seq, made, value in self.queue:  # what the last connection left unacknowledged
            if self.offset is not None or self.fault == "bt-from-uptime":
                self._publish(tls, f"{self.root}/{self.id}/data", self._pack(seq, made, value),
                              1, seq=seq)
        tls.settimeout(0.2)
        next_reading = next_health = time.monotonic()
        while True:
            now = time.monotonic()
            if self.offset is None and int(now * 2) % 4 == 0:
                self._sntp()
                if self.offset is not None:  # stamp and send what waited for the clock
                    for seq, made, value in self.queue:
                        self._publish(tls, f"{self.root}/{self.id}/data",
                                      self._pack(seq, made, value), 1, seq=seq)
            if now >= next_reading:
                next_reading += 1.0
                self._reading(tls)
            if now >= next_health:
                next_health += 1.0
                self._health(tls)
            while self.results:  # taken off the list once it has left
                self._publish(tls, f"{self.root}/{self.id}/cmd/result", self.results[0], 1)
                self.results.pop(0)
            try:
                data = tls.recv(65536)
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            if not data:
                raise OSError("connection closed")
            for p in self.split.feed(data):
                if p.kind == 4:  # PUBACK
                    acked = self.inflight.pop(struct.unpack("!H", p.body[:2])[0], -1)
                    self.queue = [q for q in self.queue if q[0] != acked]
                elif p.kind == w.PUBLISH:
                    msg = w.read_publish(p)
                    if msg["qos"]:
                        tls.sendall(_packet(0x40, struct.pack("!H", msg["id"])))
                    self._command(msg["payload"])

    def _reading(self, tls) -> None:
        # Every unit restarts once in a run (a brown-out, say), from its eighth reading on --
        # but not within 15 s of a refused command: SN-CMD-3 reads a restart across a burst of
        # malformed commands as one they caused, and under load the two once coincided.
        if self.seq >= 8 and self.boot == 1 and time.monotonic() - self.refused_at > 15:
            self._restart()
        self.seq += 1
        made = time.monotonic()
        value = round(18 + random.random(), 2)
        self.queue.append((self.seq, made, value))
        if self.offset is not None or self.fault == "bt-from-uptime":
            self._publish(tls, f"{self.root}/{self.id}/data", self._pack(self.seq, made, value),
                          1, retain=self.fault == "retained-data", seq=self.seq)
            if self.fault == "other-id" and self.seq == 12:  # a copy, under a neighbour's id
                self._publish(tls, f"{self.root}/{self.id}-neighbour/data",
                              self._pack(self.seq, made, value), 1)

    def _restart(self) -> None:
        """A reset: the connection goes; unacknowledged readings and the counter are on
        flash (the seeded fault keeps the counter in RAM)."""
        self.boot += 1
        if self.fault == "seq-restart":
            self.seq = 0
        raise OSError("restarting")

    def run(self) -> None:
        if self.fault == "default-password":
            threading.Thread(target=web_page, args=(self.http_port,), daemon=True).start()
        while True:
            try:
                tls = self._connect()
            except (OSError, ssl.SSLError):
                tls = None
            if tls is not None:
                try:
                    self._session(tls)
                except (OSError, ssl.SSLError, w.WireError):
                    pass
                finally:
                    tls.close()
                if self.up_at is not None and time.monotonic() - self.up_at >= STABLE_S:
                    self.attempt = 0
                self.up_at = None
            ceiling = min(8.0, BACKOFF_BASE_S * 2 ** self.attempt)
            self.attempt += 1
            time.sleep(random.uniform(ceiling / 2, ceiling))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lab", required=True)
    p.add_argument("--device", required=True)
    p.add_argument("--fault", choices=sorted(FAULTS))
    p.add_argument("--http-port", type=int, default=0)
    a = p.parse_args()
    Device(Path(a.lab), a.device, a.fault, a.http_port).run()


if __name__ == "__main__":
    main()
