# The one exception type drivers raise. The runtime catches it (and only it) around every
# sensor call and turns it into a health status and a data-quality flag instead of dying.


class SensorError(Exception):
    """Anything a sensor or its bus did wrong: absent, NACK, stuck bus, bad CRC, timeout."""


class ChecksumError(SensorError):
    """A frame or word arrived but its CRC/checksum is wrong (noise, garbage on the bus)."""


def bus_error(what, address, err):
    """Translate a bus OSError (errno 19 ENODEV = NACK, 110 ETIMEDOUT = stuck bus)."""
    code = err.args[0] if err.args else 0
    if code == 19:
        reason = "no ACK (not connected?)"
    elif code == 110:
        reason = "bus timeout (stuck SDA/SCL?)"
    else:
        reason = "bus error %s" % code
    return SensorError("%s at 0x%02x: %s" % (what, address, reason))
