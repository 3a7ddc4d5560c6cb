# One aggregated reading in the compact form the spool keeps on flash: when it was taken and
# its values, each as (index into the segment's names, value x 100 as int32). About 5 bytes a
# value instead of ~40 as SenML, so 72 hours of one-minute readings fit a small flash.
# Time, in integers (link/clock.py): kind UNIX = node time (seconds since clock.EPOCH, ms), the
# clock synchronised; kind MONO = uptime (s, ms) of the reading's boot, re-stamped at publish
# time once the clock is known; NO_TIME = unknown. Kinds 1 and 2 are the earlier format (a
# double), still read so that a spool written before an update loses nothing.
import struct

from micropython import const

NO_TIME = const(0)
UNIX = const(3)
MONO = const(4)
_OLD_UNIX = const(1)
_OLD_MONO = const(2)
_HEAD = ">BiHHB"  # kind, seconds, milliseconds, boot number, value count
_HEAD_LEN = const(10)
_OLD_HEAD = ">BdHB"  # kind, time as a double, boot number, value count
_OLD_HEAD_LEN = const(12)
_OLD_EPOCH = 1704067200  # clock.EPOCH, for old Unix stamps


def encode(kind, s, ms, boot, values):
    """values: [(index, value)], each value an int in hundredths of its unit."""
    out = bytearray(_HEAD_LEN + 5 * len(values))
    struct.pack_into(_HEAD, out, 0, kind, s, ms, boot, len(values))
    o = _HEAD_LEN
    for idx, v in values:
        struct.pack_into(">Bi", out, o, idx, v)
        o += 5
    return out


def decode(payload):
    """(kind, s, ms, boot, [(index, value in hundredths)])"""
    if len(payload) < 1:
        raise ValueError("empty reading")
    if payload[0] in (_OLD_UNIX, _OLD_MONO):
        return _decode_old(payload)
    if len(payload) < _HEAD_LEN:
        raise ValueError("reading of %d bytes is shorter than its header" % len(payload))
    kind, s, ms, boot, n = struct.unpack_from(_HEAD, payload, 0)
    return kind, s, ms, boot, _values(payload, _HEAD_LEN, n)


def _values(payload, start, n):
    if len(payload) != start + 5 * n:
        raise ValueError("reading of %d bytes does not hold %d values" % (len(payload), n))
    values = []
    for i in range(n):
        idx, v = struct.unpack_from(">Bi", payload, start + 5 * i)
        values.append((idx, v))
    return values


def _decode_old(payload):
    if len(payload) < _OLD_HEAD_LEN:
        raise ValueError("reading of %d bytes is shorter than its header" % len(payload))
    kind, t, boot, n = struct.unpack_from(_OLD_HEAD, payload, 0)
    if not -1e12 < t < 1e12:  # a damaged double: inf or nan on a float32 board (int() raises)
        raise ValueError("reading time out of range")
    if kind == _OLD_UNIX:
        whole = int(t)
        return UNIX, whole - _OLD_EPOCH, int((t - whole) * 1000), boot, \
            _values(payload, _OLD_HEAD_LEN, n)
    t = int(t)  # uptime in ms
    return MONO, t // 1000, t % 1000, boot, _values(payload, _OLD_HEAD_LEN, n)
