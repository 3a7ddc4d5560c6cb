# The I2C controller: fake devices attach by bus id and address and answer like the parts.
import time

import simworld

from .alloc import enter as _enter, leave as _leave
from .pins import check_pins as _check_pins

_ENODEV = 19
_ETIMEDOUT = 110


class I2C:
    """An I2C controller; fake devices attach to bus ids and answer by address."""

    _buses = {}

    def __init__(self, id=0, *, scl=None, sda=None, freq=400000, timeout=50000):
        _check_pins("i2c", id, outputs=(("scl", scl), ("sda", sda)))
        self.id = id
        self.freq = freq
        self.devices = I2C._buses.setdefault(id, {})
        simworld.populate_i2c(id, self.devices)

    @classmethod
    def attach(cls, bus_id, address, device):
        cls._buses.setdefault(bus_id, {})[address] = device

    @classmethod
    def reset_all(cls):
        cls._buses.clear()

    def _device(self, addr):
        dev = self.devices.get(addr)
        if dev is None:
            raise OSError(_ENODEV)
        fault = dev.fault
        if fault == "nack" or fault == "unplugged":
            raise OSError(_ENODEV)
        if fault == "stuck":
            raise OSError(_ETIMEDOUT)
        while fault == "freeze":  # a bus that hangs the CPU: the event loop stops with it
            time.sleep_ms(50)
            fault = dev.fault
        return dev

    def scan(self):
        return sorted(a for a, d in self.devices.items() if d.fault not in ("nack", "unplugged"))

    def writeto(self, addr, buf, stop=True):
        a = _enter()
        try:
            self._device(addr).i2c_write(bytes(buf))
            return len(buf)
        finally:
            _leave(a)

    def writevto(self, addr, vector, stop=True):
        return self.writeto(addr, b"".join(bytes(v) for v in vector), stop)

    def readfrom_into(self, addr, buf, stop=True):
        a = _enter()
        try:
            data = self._device(addr).i2c_read(len(buf))
            for i in range(len(buf)):
                buf[i] = data[i]
        finally:
            _leave(a)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def writeto_then_readfrom(self, addr, out_buf, in_buf):
        self.writeto(addr, out_buf, False)
        self.readfrom_into(addr, in_buf)

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        a = _enter()
        try:
            self.writeto(addr, _mem_address(memaddr, addrsize), False)
            self.readfrom_into(addr, buf)
        finally:
            _leave(a)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self.writeto(addr, _mem_address(memaddr, addrsize) + bytes(buf))


def _mem_address(memaddr, addrsize):
    if addrsize == 16:
        return bytes([memaddr >> 8, memaddr & 0xFF])
    return bytes([memaddr])


class SoftI2C(I2C):
    pass
