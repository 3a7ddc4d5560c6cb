"""`stadsnod fuzz` (make fuzz): mutated inputs for every parser that reads bytes from outside
the node, run on the MicroPython VM where those parsers run (unixport/fuzz_run.py). The seeds
are real: PMS5003 frames captured from a sensor, LD2410 frames laid out as HLK's serial
protocol V1.02 says, the SCD4x datasheet's read_measurement answer, an SNTP reply as RFC 4330
lays it out, what a real mosquitto sent a client (CONNACK, SUBACK, PUBLISH, PUBACK), a config
the CLI writes, a command envelope signed by a city key, stored readings, a release's file
list line and timestamp."""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.mpyrun import stream_code
from ..core.paths import ROOT, ToolError, micropypath
from .broker import plain_mosquitto
from .simnode import node_config

UNIXPORT = Path(__file__).parent / "unixport"
SNTP_NONCE = 0x0123456789ABCDEF  # as unixport/fuzz_targets.py
NTP_1970 = 2208988800


@dataclass
class FuzzResult:
    inputs: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    accepted: dict[str, int] = field(default_factory=dict)  # parsed as valid
    examples: list[str] = field(default_factory=list)


def _ld2410_frames() -> list[bytes]:
    def report(body: bytes) -> bytes:
        return b"\xf4\xf3\xf2\xf1" + struct.pack("<H", len(body)) + body + b"\xf8\xf7\xf6\xf5"

    basic = report(bytes((0x02, 0xAA, 0x03)) + struct.pack("<HBHBH", 120, 60, 85, 40, 130)
                   + b"\x55\x00")
    engineering = report(bytes((0x01, 0xAA, 0x01)) + struct.pack("<HBHBH", 240, 70, 0, 0, 240)
                         + bytes((8, 8)) + bytes(range(9)) + bytes(range(9, 0, -1))
                         + b"\x00\x00\x55\x00")
    ack = bytes.fromhex("fdfcfbfa0800ff01000001004000" "04030201")  # enable config's answer
    return [basic, engineering, ack, basic + b"\x00\x13" + engineering + basic]


def _sntp_reply() -> bytes:
    now = int(time.time()) + NTP_1970
    pkt = bytearray(48)
    pkt[0], pkt[1] = 0x24, 2  # LI 0, VN 4, mode 4 (server); stratum 2
    struct.pack_into("!II", pkt, 24, SNTP_NONCE >> 32, SNTP_NONCE & 0xFFFFFFFF)
    struct.pack_into("!II", pkt, 32, now, 0)
    struct.pack_into("!II", pkt, 40, now, 0x80000000)
    return bytes(pkt)


def _mqtt_capture(workdir: Path) -> bytes:
    """Every byte a real mosquitto sends a client that connects, subscribes and publishes a
    QoS 1 message to itself."""
    with plain_mosquitto(workdir) as port, \
            socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        topic = b"stadsnod/fuzz-0001/cmd"
        s.sendall(bytes.fromhex("101700044d5154540402003c000b66757a7a2d636c69656e74"))
        s.sendall(b"\x82" + bytes([len(topic) + 5]) + b"\x00\x01" + struct.pack("!H", len(topic))
                  + topic + b"\x01")
        payload = b'{"seq":7,"op":"selftest"}'
        s.sendall(b"\x32" + bytes([len(topic) + 4 + len(payload)]) + struct.pack("!H", len(topic))
                  + topic + b"\x00\x02" + payload)
        got = b""
        deadline = time.time() + 5
        while time.time() < deadline and len(got) < 4 + 5 + 4 + 2 + len(topic) + 2 + len(payload):
            got += s.recv(4096)
        return got


def _envelope() -> bytes:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from provisioning import trust

    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    body = json.dumps({"type": "stadsnod-command", "device": "fuzz-0001", "seq": 7,
                       "op": "selftest", "expires": 1900000000}).encode()
    return trust.wrap(body, [key])


def _readings() -> list[bytes]:
    """The spool's stored form (firmware/storage/reading.py): kind, seconds, ms, boot, count,
    then (index, value x 100) pairs."""
    timed = struct.pack(">BiHHB", 3, 92000000, 250, 4, 3) + b"".join(
        struct.pack(">Bi", i, v) for i, v in ((0, 685), (1, 5500), (2, 10132500)))
    uptime = struct.pack(">BiHHB", 4, 61, 5, 2, 1) + struct.pack(">Bi", 0, -125)
    old = struct.pack(">BdHB", 1, 1796500000.25, 3, 1) + struct.pack(">Bi", 0, 2150)
    return [timed, uptime, old]


def seeds(workdir: Path) -> dict[str, list[bytes]]:
    capture = (ROOT / "host_tests" / "data" / "pms5003_capture.hex").read_text().split()
    pms = [bytes.fromhex(h) for h in capture]
    digest = hashlib.sha256(b"app.mpy").hexdigest()
    piece = hashlib.sha256(b"piece").hexdigest()
    timestamp = {"type": "stadsnod-timestamp", "version": 12, "release": 3,
                 "manifest": digest, "expires": 2000000000}
    return {
        "pms5003": pms + [b"".join(pms)],
        "ld2410": _ld2410_frames(),
        "sensirion": [bytes.fromhex("01f4336667a25eb93c")],
        "sntp": [_sntp_reply()],
        "mqtt": [_mqtt_capture(workdir)],
        "config": [json.dumps(node_config("fuzz-0001", 8883, 123)).encode()],
        "envelope": [_envelope()],
        "reading": _readings(),
        "file_list": [f"node.mpy 2900 {digest} {piece},{piece},{piece}".encode(),
                      f"version.mpy 120 {digest}".encode()],
        "timestamp": [json.dumps(timestamp).encode()],
    }


def run_fuzz(workdir: Path, count: int, only: list[str] | None = None,
             progress=None) -> FuzzResult:
    workdir.mkdir(parents=True, exist_ok=True)
    seed_file = workdir / "seeds.txt"
    with seed_file.open("w") as f:
        for name, items in seeds(workdir).items():
            for item in items:
                f.write(f"{name} {item.hex()}\n")
    env = {"FUZZ_SEEDS": str(seed_file), "FUZZ_COUNT": str(count),
           "FUZZ_ONLY": ",".join(only or [])}
    code, out = stream_code("import fuzz_run", heap="256K", env=env,
                            path=micropypath(UNIXPORT, fakes=False), on_stderr=progress)
    result = FuzzResult()
    running = None
    for line in out.splitlines():
        word = line.split(" ", 1)[0]
        if word == "parser":
            running = line.split()[1]
        elif word == "fuzz":
            _, name, n, bad, ok = line.split()
            result.inputs[name], result.failures[name] = int(n), int(bad)
            result.accepted[name] = int(ok)
        elif word == "fail":
            result.examples.append(line)
    if code:
        raise ToolError(f"the fuzz run stopped (exit {code}) while fuzzing {running}:\n"
                        f"{out[-3000:]}")
    return result


def print_fuzz(r: FuzzResult, suffix: str = "") -> None:
    for name in r.inputs:
        print(f"fuzz_inputs_{name}{suffix}: {r.inputs[name]} count")
        print(f"fuzz_failures_{name}{suffix}: {r.failures[name]} count")
        print(f"fuzz_accepted_{name}{suffix}: {r.accepted[name]} count")
    for line in r.examples:
        print(line, file=sys.stderr)
