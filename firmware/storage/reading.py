# One aggregated reading in the compact form the spool keeps on flash: when it was taken and
# its values, each as (index into the segment's names, value x 100 as int32). About 5 bytes a
# value instead of ~40 as SenML, so 72 hours of one-minute readings fit a small flash.
# Time: kind 1 = Unix seconds (clock synchronised), kind 2 = milliseconds since this boot
# (re-stamped at publish time once the clock is known), kind 0 = unknown.
import struct

from micropython import const

NO_TIME = const(0)
UNIX = const(1)
MONO = const(2)
_HEAD = ">BdHB"  # kind, time, boot number, value count
_HEAD_LEN = const(12)


def encode(kind, t, boot, values):
    """values: [(index, value)] with value a number; kept to 0.01."""
    out = bytearray(_HEAD_LEN + 5 * len(values))
    struct.pack_into(_HEAD, out, 0, kind, t, boot, len(values))
    o = _HEAD_LEN
    for idx, v in values:
        struct.pack_into(">Bi", out, o, idx, int(round(v * 100)))
        o += 5
    return out


def decode(payload):
    """(kind, t, boot, [(index, value)])"""
    if len(payload) < _HEAD_LEN:
        raise ValueError("reading of %d bytes is shorter than its header" % len(payload))
    kind, t, boot, n = struct.unpack_from(_HEAD, payload, 0)
    if len(payload) != _HEAD_LEN + 5 * n:
        raise ValueError("reading of %d bytes does not hold %d values" % (len(payload), n))
    values = []
    for i in range(n):
        idx, v = struct.unpack_from(">Bi", payload, _HEAD_LEN + 5 * i)
        values.append((idx, v / 100))
    return kind, t, boot, values
