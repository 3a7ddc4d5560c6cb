# SenML JSON (RFC 8428) encoding of a node's records. See profile/wire-contract.md.
import json

from clock import ms_text, unix_text

# RFC 8428 4.5.1: name characters; first must be a letter or digit.
_NAME_EXTRA = "-:./_"
# records whose value is true/false ("vb"), though stored as numbers on flash
BOOLEAN = ("presence",)


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


def _value(value):
    if isinstance(value, bool):
        return ',"vb":true}' if value else ',"vb":false}'
    if isinstance(value, str):
        return ',"vs":%s}' % json.dumps(value)
    if isinstance(value, float):
        # 10 significant digits: enough for any sensor, and no 9.470000000000001 from
        # MicroPython's 17-digit float repr
        return ',"v":%s}' % ("%.10g" % value)
    return ',"v":%d}' % value


def x100_text(v):
    """A value kept in hundredths as its exact decimal: 2153 -> 21.53, 2150 -> 21.5, -5 ->
    -0.05. No float is made, so a board sends the digits it measured (a float32 21.53 would
    print 21.53000069)."""
    sign = "-" if v < 0 else ""
    v = -v if v < 0 else v
    whole = v // 100
    frac = v - whole * 100
    if not frac:
        return "%s%d" % (sign, whole)
    if frac % 10:
        return "%s%d.%02d" % (sign, whole, frac)
    return "%s%d.%d" % (sign, whole, frac // 10)


class _Pack:
    """Writes records straight into JSON text: no dict per record (this runs every interval
    on a small heap). bt is node time (s, ms) (link/clock.py), written as absolute Unix time
    (RFC 8428 4.5.3) to the millisecond; a record's t is ms relative to it."""

    def __init__(self, bn, bt):
        # node time cannot be relative: its small-int seconds reach back to 1990 at most
        if bt is not None and (not isinstance(bt, tuple) or len(bt) != 2 or
                               not 0 <= bt[1] < 1000):
            raise ValueError("bt must be node time (s, ms) (link/clock.py), got %r" % (bt,))
        self.bn = bn
        self.bt = bt
        self.parts = ["["]

    def add(self, name, unit, value, rel_ms=0, in_x100=False):
        if not valid_name(self.bn + name):
            raise ValueError("invalid SenML name: %s" % (self.bn + name))
        p = self.parts
        if len(p) == 1:
            p.append('{"bn":%s,' % json.dumps(self.bn))
            if self.bt is not None:
                p.append('"bt":%s,' % unix_text(self.bt[0], self.bt[1]))
        else:
            p.append(",{")
        p.append('"n":"%s"' % name)  # valid_name admits nothing JSON would escape
        if unit:
            p.append(',"u":"%s"' % unit)
        if rel_ms:
            p.append(',"t":%s' % ms_text(rel_ms))
        if in_x100 and not isinstance(value, bool):
            p.append(',"v":%s}' % x100_text(value))
        else:
            p.append(_value(value))

    def text(self):
        if len(self.parts) == 1:
            raise ValueError("a SenML pack needs at least one record")
        self.parts.append("]")
        return "".join(self.parts)


def encode(bn, records, bt=None, in_x100=False):
    """records: iterable of (name, unit, value); value is a number, bool or str (numbers in
    hundredths with in_x100, as drivers give them).

    The first record carries bn (and bt when the clock is synchronised). Without a synchronised
    clock no time is sent at all, which RFC 8428 reads as "roughly now".
    """
    pack = _Pack(bn, bt)
    for name, unit, value in records:
        pack.add(name, unit, value, 0, in_x100)
    return pack.text()


def encode_readings(bn, readings):
    """Several stored readings in one pack: readings = [(seq, t, records)], all with a time
    (node time (s, ms)) or all without. Each reading starts with its `seq` record, the sequence
    number consumers de-duplicate by (QoS 1 may deliver a pack twice); later readings carry
    their time relative to the pack's bt. Record values are hundredths (ints, as stored) or
    booleans."""
    bt = readings[0][1]
    pack = _Pack(bn, bt)
    for seq, t, records in readings:
        rel = 0 if bt is None else (t[0] - bt[0]) * 1000 + t[1] - bt[1]
        pack.add("seq", None, seq, rel)
        for name, unit, value in records:
            pack.add(name, unit, value, rel, True)
    return pack.text()
