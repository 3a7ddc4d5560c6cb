# The UART: its far end is a fake device producing bytes at the line rate.
import simworld

from .alloc import enter as _enter, leave as _leave
from .pins import check_pins as _check_pins


class UART:
    """A UART whose far end is a fake device producing bytes at the line rate."""

    _ports = {}

    def __init__(self, id, baudrate=9600, bits=8, parity=None, stop=1, tx=None, rx=None,
                 timeout=0, rxbuf=256):
        _check_pins("uart", id, outputs=(("tx", tx),), inputs=(("rx", rx),))
        self.id = id
        self.baudrate = baudrate
        self.timeout = timeout
        self.rxbuf = rxbuf  # a full receive buffer drops what arrives (the device counts it)
        self.device = UART._ports.get(id) or simworld.uart_device(id)
        if self.device:
            self.device.connect(self)

    @classmethod
    def attach(cls, port_id, device):
        cls._ports[port_id] = device

    def init(self, baudrate=9600, **kw):
        self.baudrate = baudrate
        if self.device:
            self.device.connect(self)

    def any(self):
        a = _enter()
        try:
            return self.device.pending() if self.device else 0
        finally:
            _leave(a)

    def read(self, n=-1):
        a = _enter()
        try:
            if not self.device:
                return None
            data = self.device.take(n)
            return data or None
        finally:
            _leave(a)

    def readinto(self, buf, n=-1):
        a = _enter()
        try:
            data = self.read(len(buf) if n < 0 else n)
            if not data:
                return None
            for i in range(len(data)):
                buf[i] = data[i]
            return len(data)
        finally:
            _leave(a)

    def write(self, buf):
        a = _enter()
        try:
            if self.device:
                self.device.receive(bytes(buf))
            return len(buf)
        finally:
            _leave(a)

    def flush(self):
        pass
