# MQTT 3.1.1 packet encoding and decoding (OASIS mqtt-v3.1.1-os, chapters 2 and 3).
# Pure logic, no sockets: the connection handling lives in mqtt.py.
import struct

from micropython import const

CONNECT = const(1)
CONNACK = const(2)
PUBLISH = const(3)
PUBACK = const(4)
SUBSCRIBE = const(8)
SUBACK = const(9)
PINGREQ = const(12)
PINGRESP = const(13)
DISCONNECT = const(14)

MAX_REMAINING = const(268435455)  # 0xFF 0xFF 0xFF 0x7F, spec 2.2.3

PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"

# CONNACK return codes, spec table 3.1
CONNACK_REASONS = (
    "accepted",
    "unacceptable protocol version",
    "identifier rejected",
    "server unavailable",
    "bad user name or password",
    "not authorized",
)


class MQTTProtocolError(ValueError):
    """A packet that breaks the MQTT 3.1.1 rules (ours to send or the broker's to receive)."""


def encode_length(n):
    """Remaining Length as the 1..4 byte variable-length integer of spec 2.2.3."""
    if n < 0 or n > MAX_REMAINING:
        raise MQTTProtocolError("remaining length out of range: %d" % n)
    out = bytearray()
    while True:
        digit = n & 0x7F
        n >>= 7
        if n:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def decode_length(data):
    """Inverse of encode_length over a buffer; returns (value, bytes used)."""
    value = 0
    shift = 0
    for i in range(4):
        if i >= len(data):
            raise MQTTProtocolError("remaining length truncated")
        b = data[i]
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i + 1
        shift += 7
    raise MQTTProtocolError("remaining length longer than 4 bytes")


def _utf8(s):
    b = s.encode() if isinstance(s, str) else bytes(s)
    if len(b) > 0xFFFF:
        raise MQTTProtocolError("string longer than 65535 bytes")
    return struct.pack("!H", len(b)) + b


def _packet(first, body):
    return bytes([first]) + encode_length(len(body)) + body


def check_topic(topic, wildcards=False):
    """Spec 4.7: no empty topic, no NUL; wildcards only in filters."""
    if not topic:
        raise MQTTProtocolError("empty topic")
    if "\x00" in topic:
        raise MQTTProtocolError("NUL in topic")
    if not wildcards and ("+" in topic or "#" in topic):
        raise MQTTProtocolError("wildcard in a publish topic: %s" % topic)


def connect(client_id, keepalive, clean=True, will=None, user=None, password=None):
    """CONNECT (3.1). will = (topic, message, qos, retain) or None."""
    if keepalive < 0 or keepalive > 0xFFFF:
        raise MQTTProtocolError("keepalive out of range")
    flags = 0x02 if clean else 0
    payload = _utf8(client_id)
    if will:
        topic, msg, qos, retain = will
        check_topic(topic)
        if qos not in (0, 1):
            raise MQTTProtocolError("will qos must be 0 or 1")
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += _utf8(topic) + _utf8(msg)
    if user is not None:
        flags |= 0x80
        payload += _utf8(user)
        if password is not None:
            flags |= 0x40
            payload += _utf8(password)
    body = b"\x00\x04MQTT\x04" + bytes([flags]) + struct.pack("!H", keepalive) + payload
    return _packet(0x10, body)


def publish_head(topic, size, qos=0, retain=False, dup=False, pid=0):
    """Everything of a PUBLISH before its payload of `size` bytes: the payload is written after
    it as it is, never copied into one packet (a pack is the node's biggest buffer)."""
    check_topic(topic)
    if qos not in (0, 1):
        raise MQTTProtocolError("only QoS 0 and 1 are supported")
    first = 0x30 | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
    var = _utf8(topic)
    if qos:
        if not 0 < pid <= 0xFFFF:
            raise MQTTProtocolError("packet id must be 1..65535")
        var += struct.pack("!H", pid)
    return bytes([first]) + encode_length(len(var) + size) + var


def publish(topic, msg, qos=0, retain=False, dup=False, pid=0):
    """A whole PUBLISH packet (head and payload in one buffer)."""
    if isinstance(msg, str):
        msg = msg.encode()
    return publish_head(topic, len(msg), qos, retain, dup, pid) + msg


def subscribe(pid, topic, qos=0):
    check_topic(topic, wildcards=True)
    return _packet(0x82, struct.pack("!H", pid) + _utf8(topic) + bytes([qos]))


def puback(pid):
    return struct.pack("!BBH", 0x40, 2, pid)


def parse_connack(body):
    """Returns (session_present, return_code)."""
    if len(body) != 2 or body[0] & 0xFE:
        raise MQTTProtocolError("malformed CONNACK")
    return bool(body[0] & 1), body[1]


def parse_pid(body):
    """PUBACK / SUBACK / UNSUBACK start with a packet id."""
    if len(body) < 2:
        raise MQTTProtocolError("packet too short for a packet id")
    return (body[0] << 8) | body[1]


def parse_publish(flags, body):
    """Returns (topic, message, qos, pid, retain, dup) of an inbound PUBLISH."""
    qos = (flags >> 1) & 3
    if qos == 3:
        raise MQTTProtocolError("PUBLISH with QoS 3")
    if len(body) < 2:
        raise MQTTProtocolError("PUBLISH too short")
    tlen = (body[0] << 8) | body[1]
    pos = 2 + tlen
    if pos > len(body):
        raise MQTTProtocolError("PUBLISH topic overruns packet")
    try:
        topic = bytes(body[2:pos]).decode()
    except UnicodeError:
        raise MQTTProtocolError("PUBLISH topic is not UTF-8")
    pid = 0
    if qos:
        if pos + 2 > len(body):
            raise MQTTProtocolError("PUBLISH packet id missing")
        pid = (body[pos] << 8) | body[pos + 1]
        pos += 2
    return topic, bytes(body[pos:]), qos, pid, bool(flags & 1), bool(flags & 8)


async def read_packet(readexactly, max_in):
    """(type, flags, body) of the next packet from `readexactly` (n -> awaitable bytes, a
    stream's readexactly, say). A packet longer than max_in is refused before anything is
    allocated for it: its first 300 bytes are kept, the rest read and dropped, and flags gets
    0x10 (oversize: acknowledge it, never deliver it)."""
    first = (await readexactly(1))[0]
    n = 0
    shift = 0
    for _ in range(4):
        b = (await readexactly(1))[0]
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    else:
        raise MQTTProtocolError("remaining length longer than 4 bytes")
    if n > max_in:
        body = await readexactly(300)
        for left in range(n - 300, 0, -256):
            await readexactly(min(256, left))
        return first >> 4, first & 0x0F | 0x10, body
    return first >> 4, first & 0x0F, (await readexactly(n) if n else b"")
