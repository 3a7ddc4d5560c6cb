# SenML JSON (RFC 8428) encoding of a node's records. See profile/wire-contract.md.
import json

# RFC 8428 4.5.1: name characters; first must be a letter or digit.
_NAME_EXTRA = "-:./_"

# RFC 8428 4.5.3: times at or above 2**28 are absolute (seconds since the Unix epoch).
ABSOLUTE_TIME_MIN = 1 << 28


def valid_name(name):
    if not name:
        return False
    c = name[0]
    if not (c.isalpha() or c.isdigit()):
        return False
    for c in name:
        if not (c.isalpha() or c.isdigit() or c in _NAME_EXTRA):
            return False
    return True


def base_name(urn_pen, device_id):
    """bn: RFC 9039 'org' device URN, `urn:dev:org:<PEN>-<device id>:`."""
    return "urn:dev:org:%d-%s:" % (urn_pen, device_id)


def encode(bn, records, bt=None):
    """records: iterable of (name, unit, value); value is a number, bool or str.

    The first record carries bn (and bt when the clock is synchronised). Without a synchronised
    clock no time is sent at all, which RFC 8428 reads as "roughly now". The JSON is written
    directly, without a dict per record: this runs every interval on a small heap.
    """
    if bt is not None and bt < ABSOLUTE_TIME_MIN:
        raise ValueError("bt must be absolute (>= 2**28)")
    parts = ["["]
    for name, unit, value in records:
        if not valid_name(bn + name):
            raise ValueError("invalid SenML name: %s" % (bn + name))
        if len(parts) == 1:
            parts.append('{"bn":%s,' % json.dumps(bn))
            if bt is not None:
                parts.append('"bt":%d,' % bt)
        else:
            parts.append(",{")
        parts.append('"n":"%s"' % name)  # valid_name admits nothing JSON would escape
        if unit:
            parts.append(',"u":"%s"' % unit)
        if isinstance(value, bool):
            parts.append(',"vb":true}' if value else ',"vb":false}')
        elif isinstance(value, str):
            parts.append(',"vs":%s}' % json.dumps(value))
        elif isinstance(value, float):
            # 10 significant digits: enough for any sensor, and no 9.470000000000001 from
            # MicroPython's 17-digit float repr
            parts.append(',"v":%s}' % ("%.10g" % value))
        else:
            parts.append(',"v":%d}' % value)
    if len(parts) == 1:
        raise ValueError("a SenML pack needs at least one record")
    parts.append("]")
    return "".join(parts)
