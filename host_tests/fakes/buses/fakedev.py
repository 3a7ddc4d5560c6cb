# Base for fake I2C devices: register-pointer protocol plus the ways real parts fail.
import random

import simworld


class Faultable:
    """A fake part's fault switch: set by a test, or switched on live from outside the node
    (simworld.live_fault) under `fault_key`."""

    _fault = None
    fault_key = None

    @property
    def fault(self):
        """nack | stuck | unplugged | garbage | None; set by a test or switched on live."""
        if self._fault:
            return self._fault
        return simworld.live_fault(self.fault_key) if self.fault_key else None

    @fault.setter
    def fault(self, value):
        self._fault = value


class I2CRegisterDevice(Faultable):
    """A device with an 8-bit register pointer that auto-increments on reads."""

    def __init__(self, size=256):
        self.regs = bytearray(size)
        self.pointer = 0

    def i2c_write(self, data):
        if not data:
            return
        self.pointer = data[0]
        for i in range(1, len(data)):
            self.write_register((self.pointer + i - 1) & 0xFF, data[i])

    def i2c_read(self, n):
        if self.fault == "garbage":
            return bytes(random.getrandbits(8) for _ in range(n))
        self.before_read(self.pointer, n)
        out = bytes(self.regs[(self.pointer + i) & 0xFF] for i in range(n))
        self.pointer = (self.pointer + n) & 0xFF
        return out

    def before_read(self, reg, n):
        pass

    def write_register(self, reg, value):
        self.regs[reg] = value
