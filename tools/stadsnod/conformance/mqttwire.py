"""MQTT control packets as the checker sees them on the wire (MQTT 3.1.1 and 5): split a byte
stream into packets and read the fields the profile's requirements are about. Written from the
OASIS MQTT 3.1.1 and 5.0 specifications (section 2 fixed header and remaining length; 3.1
CONNECT; 3.3 PUBLISH; 3.8 SUBSCRIBE)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CONNECT, CONNACK, PUBLISH, SUBSCRIBE, DISCONNECT = 1, 2, 3, 8, 14
MAX_PACKET = 1 << 20  # what the checker buffers of one packet


class WireError(ValueError):
    pass


@dataclass
class Packet:
    kind: int
    flags: int
    body: bytes
    fields: dict[str, Any] = field(default_factory=dict)


class Splitter:
    """Feed bytes, take whole packets."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[Packet]:
        self.buf += data
        out: list[Packet] = []
        while True:
            got = _one(self.buf)
            if got is None:
                return out
            packet, used = got
            del self.buf[:used]
            out.append(packet)


def _one(buf: bytearray) -> tuple[Packet, int] | None:
    if len(buf) < 2:
        return None
    length, mult, i = 0, 1, 1
    while True:
        if i >= len(buf):
            return None
        b = buf[i]
        length += (b & 0x7F) * mult
        i += 1
        if not b & 0x80:
            break
        mult *= 128
        if mult > 128 ** 3:
            raise WireError("remaining length longer than four bytes")
    if length > MAX_PACKET:
        raise WireError(f"packet of {length} bytes")
    if len(buf) < i + length:
        return None
    return Packet(buf[0] >> 4, buf[0] & 15, bytes(buf[i:i + length])), i + length


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise WireError("packet ends early")
        self.at += 1
        return self.data[self.at - 1]

    def u16(self) -> int:
        return self.byte() << 8 | self.byte()

    def blob(self) -> bytes:
        n = self.u16()
        if self.at + n > len(self.data):
            raise WireError("string runs past the packet")
        self.at += n
        return self.data[self.at - n:self.at]

    def text(self) -> str:
        return self.blob().decode("utf-8", "replace")

    def varint(self) -> int:
        value, mult = 0, 1
        for _ in range(4):
            b = self.byte()
            value += (b & 0x7F) * mult
            if not b & 0x80:
                return value
            mult *= 128
        raise WireError("variable byte integer longer than four bytes")

    def skip_properties(self) -> None:
        self.at += self.varint()

    def rest(self) -> bytes:
        return self.data[self.at:]


def read_connect(p: Packet) -> dict[str, Any]:
    r = _Reader(p.body)
    proto, level, flags, keepalive = r.text(), r.byte(), r.byte(), r.u16()
    if level == 5:
        r.skip_properties()
    out: dict[str, Any] = {"protocol": proto, "level": level, "keepalive": keepalive,
                           "clean": bool(flags & 2), "client_id": r.text(), "will": None}
    if flags & 4:
        if level == 5:
            r.skip_properties()
        out["will"] = {"topic": r.text(), "payload": r.blob(), "qos": (flags >> 3) & 3,
                       "retain": bool(flags & 0x20)}
    out["username"] = r.text() if flags & 0x80 else None
    out["has_password"] = bool(flags & 0x40)
    return out


def read_publish(p: Packet, level: int = 4) -> dict[str, Any]:
    r = _Reader(p.body)
    qos = (p.flags >> 1) & 3
    topic = r.text()
    pid = r.u16() if qos else None
    if level == 5:
        r.skip_properties()
    return {"topic": topic, "qos": qos, "retain": bool(p.flags & 1), "dup": bool(p.flags & 8),
            "id": pid, "payload": r.rest()}


def read_subscribe(p: Packet, level: int = 4) -> list[str]:
    r = _Reader(p.body)
    r.u16()
    if level == 5:
        r.skip_properties()
    topics = []
    while r.at < len(r.data):
        topics.append(r.text())
        r.byte()
    return topics


def connack(code: int, level: int = 4) -> bytes:
    """A CONNACK refusing (or accepting, 0) a connect: 3.1.1 code 3 = server unavailable."""
    if level == 5:
        return bytes([0x20, 3, 0, 0x88 if code else 0, 0])
    return bytes([0x20, 2, 0, code])
