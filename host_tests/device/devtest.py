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


async def raises_async(coro, words, cls=SensorError):
    """Awaits coro; it must raise `cls` (a SensorError) whose message holds `words`."""
    try:
        await coro
    except SensorError as e:
        assert words in str(e), str(e)
        assert isinstance(e, cls), (cls, e)
        return e
    raise AssertionError("no SensorError")


FAULTS = (("nack", "no ACK"), ("stuck", "bus timeout"), ("unplugged", "no ACK"),
          ("crc", "CRC error in word 0"), ("range", "out of range"))


async def every_fault_path(dev, sensor, settle_ms):
    """Each bus and part fault in turn must give its own SensorError (a ChecksumError for a
    bad CRC), garbage must never get through, and the sensor must work again afterwards."""
    from sensor_error import ChecksumError

    await sensor.measure()
    for fault, words in FAULTS:
        dev.fault = fault
        await asyncio.sleep_ms(settle_ms)
        e = await raises_async(sensor.measure(), words)
        assert isinstance(e, ChecksumError) == (fault == "crc"), (fault, e)
    dev.fault = "garbage"
    for _ in range(5):
        await raises_async(sensor.measure(), "")
    dev.fault = None
    await asyncio.sleep_ms(settle_ms)
    await sensor.measure()
