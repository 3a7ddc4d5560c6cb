# Helpers shared by the device tests (run under MicroPython).
import asyncio

import machine

from sensor_error import SensorError


def expect_sensor_error(fn, *args, words=()):
    """Calls fn (running it when it is a coroutine); it must raise SensorError naming `words`.
    Returns the error."""
    try:
        r = fn(*args)
        if hasattr(r, "send"):
            asyncio.run(r)
    except SensorError as e:
        for w in words:
            assert w in str(e), (w, str(e))
        return e
    raise AssertionError("%s raised no SensorError" % fn)


def run(coro):
    return asyncio.run(coro)


class SpyI2C(machine.I2C):
    """The fake bus, recording every write as hex (to compare with datasheet examples)."""

    def __init__(self, id=0):
        super().__init__(id)
        self.writes = []

    def writeto(self, addr, buf, stop=True):
        self.writes.append(bytes(buf).hex())
        return super().writeto(addr, buf, stop)
