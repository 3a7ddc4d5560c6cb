# Fake `machine` for the MicroPython unix port: the board APIs our firmware uses, backed by fake
# devices that speak the real bus protocols. Put this folder first on MICROPYPATH and the firmware
# imports it as `machine` without knowing it is on a host.
import gc
import sys
import time

import simworld

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_ENODEV = 19
_ETIMEDOUT = 110


# Heap the fake buses themselves allocate (a real board's I2C and UART allocate nothing), so a
# driver's own allocation can be told apart: [bytes so far, nesting depth].
_fake_alloc = [0, 0]


def _enter():
    _fake_alloc[1] += 1
    return gc.mem_alloc()


def _leave(start):
    _fake_alloc[1] -= 1
    if not _fake_alloc[1]:
        _fake_alloc[0] += gc.mem_alloc() - start


def fake_alloc():
    """Bytes allocated inside the fake buses so far (measure with gc disabled)."""
    return _fake_alloc[0]


def unique_id():
    return simworld.unique_id()


def reset_cause():
    return simworld.reset_cause()


_freq = [240000000]


def freq(hz=None):
    if hz is None:
        return _freq[0]
    _freq[0] = hz


def idle():
    time.sleep_ms(1)


def reset():
    # A board reboots; the simulated one ends its process and lets the launcher boot it again.
    print("machine.reset()")
    sys.exit(simworld.EXIT_RESET)


def soft_reset():
    reset()


def deepsleep(ms=0):
    print("machine.deepsleep(%d)" % ms)
    simworld.note_deepsleep(ms)
    sys.exit(simworld.EXIT_DEEPSLEEP)


def lightsleep(ms=0):
    time.sleep_ms(ms)


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    _sources = {}

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self.pull = pull
        self._value = 0 if value is None else value
        self._irq = None
        self._trigger = 0
        self._watch = None
        # a fake part driving this pin (a PIR's output): tests attach one, the world names one
        self._source = Pin._sources.get(id) or simworld.gpio_source(id)

    @classmethod
    def attach(cls, id, source):
        cls._sources[id] = source

    def init(self, mode=-1, pull=-1, value=None):
        self.mode = mode
        if value is not None:
            self._value = value

    def value(self, v=None):
        if v is None:
            if self._source is not None:
                self.drive(self._source.level())
            return self._value
        self.drive(v)

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3):
        self._irq = handler
        self._trigger = trigger
        if handler and self._source is not None and self._watch is None:
            # the part changes the level on its own; an edge calls the handler as the
            # port's interrupt would (soft IRQ: between tasks)
            import asyncio

            async def watch():
                while True:
                    self.drive(self._source.level())
                    await asyncio.sleep_ms(5)

            self._watch = asyncio.create_task(watch())

    def drive(self, v):
        """What the outside world (or an output) does to the pin; fires the IRQ on an edge."""
        v = 1 if v else 0
        old = self._value
        self._value = v
        if self._irq and old != v:
            if (v and self._trigger & Pin.IRQ_RISING) or (not v and self._trigger & Pin.IRQ_FALLING):
                self._irq(self)


def _pin_id(p):
    return getattr(p, "id", p)


def _check_pins(kind, id, outputs=(), inputs=()):
    """What the board's real port would refuse (ValueError), per the chip's capability table
    (boards/chip_<chip>.py; the simulated world names the chip)."""
    name = simworld.world().get("chip", "host")
    chip = __import__("chip_" + name).CHIP
    if id not in chip["ids"][kind]:
        raise ValueError("%s(%s) does not exist on %s" % (kind.upper(), id, name))
    for sig, p in outputs + inputs:
        pin = _pin_id(p)
        if pin is None:
            continue
        if pin not in chip["gpio"] or pin in chip["flash"]:
            raise ValueError("invalid pin %s for %s %s" % (pin, kind, sig))
        if (sig, p) in outputs and pin in chip["input_only"]:
            raise ValueError("pin %s is input-only (%s %s)" % (pin, kind, sig))
        fixed = chip.get("pins", {}).get("%s%d.%s" % (kind, id, sig))
        if fixed is not None and pin not in fixed:
            raise ValueError("pin %s cannot be %s%d %s" % (pin, kind, id, sig))
    if kind == "i2s" and chip.get("i2s_ws_is_sck_plus_1"):
        ws, sck = dict(outputs).get("ws"), dict(outputs).get("sck")
        if _pin_id(ws) != _pin_id(sck) + 1:
            raise ValueError("I2S ws must be sck + 1")


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


class UART:
    """A UART whose far end is a fake device producing bytes at the line rate."""

    _ports = {}

    def __init__(self, id, baudrate=9600, bits=8, parity=None, stop=1, tx=None, rx=None,
                 timeout=0, rxbuf=256):
        _check_pins("uart", id, outputs=(("tx", tx),), inputs=(("rx", rx),))
        self.id = id
        self.baudrate = baudrate
        self.timeout = timeout
        self.device = UART._ports.get(id) or simworld.uart_device(id)
        if self.device:
            self.device.connect(self)

    @classmethod
    def attach(cls, port_id, device):
        cls._ports[port_id] = device

    def init(self, baudrate=9600, **kw):
        self.baudrate = baudrate

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


class I2S:
    """An I2S receiver with a DMA ring of `ibuf` bytes, as on the ESP32 and RP2040: frames
    arrive at `rate` from the moment it is made; readinto() waits until enough have arrived,
    and frames the reader was too late for (ring full) are lost, counted in `overrun_frames`.
    `I2S.realtime = False` lets tests run sound through without waiting for the wall clock."""

    RX = 0
    TX = 1
    MONO = 0
    STEREO = 1
    realtime = True

    _sources = {}

    def __init__(self, id, *, sck=None, ws=None, sd=None, mode=0, bits=32, format=0, rate=16000,
                 ibuf=8192):
        _check_pins("i2s", id, outputs=(("sck", sck), ("ws", ws)), inputs=(("sd", sd),))
        if bits not in (16, 32):
            raise ValueError("bits must be 16 or 32")
        self.id = id
        self.bits = bits
        self.rate = rate
        self.format = format
        self.frame = (bits // 8) * (2 if format == I2S.STEREO else 1)
        self.ring_frames = ibuf // self.frame
        self.source = I2S._sources.get(id) or simworld.i2s_source(id)
        self.overrun_frames = 0
        self._us = 0  # microseconds since start, accumulated (ticks_us wraps)
        self._last = time.ticks_us()
        self._taken = 0  # frames handed out or lost

    @classmethod
    def attach(cls, id, source):
        cls._sources[id] = source

    def _arrived(self):
        now = time.ticks_us()
        self._us += time.ticks_diff(now, self._last)
        self._last = now
        return self._us * self.rate // 1000000

    def readinto(self, buf):
        want = len(buf) // self.frame
        if I2S.realtime:
            late = self._arrived() - self._taken - self.ring_frames
            if late > 0:  # the ring overflowed while nobody read: those frames are gone
                self.overrun_frames += late
                self._taken += late
                if self.source:
                    self.source.skip(late)
            wait = (self._taken + want) - self._arrived()
            if wait > 0:
                time.sleep_us(wait * 1000000 // self.rate)
        self._taken += want
        a = _enter()
        try:
            return self.source.fill(buf, self.bits, self.rate) if self.source else 0
        finally:
            _leave(a)

    def deinit(self):
        pass


class ADC:
    _sources = {}

    def __init__(self, pin, atten=None):
        self.pin = pin

    @classmethod
    def attach(cls, pin, source):
        cls._sources[pin] = source

    def read_u16(self):
        src = ADC._sources.get(getattr(self.pin, "id", self.pin))
        return src() if src else 0


class WDT:
    """Records feeds; `overdue()` says whether a real watchdog would have reset the board.
    In a simulated node the watchdog is outside the CPU, as on a chip: every feed touches
    <control_dir>/wdt (holding the timeout), and the launcher resets a node whose file goes
    stale (tools/stadsnod/simnode.py)."""

    last = None

    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self._touched = None
        self.feed()
        WDT.last = self

    def feed(self):
        self.fed_at = time.ticks_ms()
        ctl = simworld.world().get("control_dir")
        if ctl and (self._touched is None or time.ticks_diff(self.fed_at, self._touched) > 200):
            self._touched = self.fed_at
            with open(ctl + "/wdt", "w") as f:
                f.write(str(self.timeout))

    def overdue(self):
        return time.ticks_diff(time.ticks_ms(), self.fed_at) > self.timeout


class RTC:
    _offset = [0]  # seconds added to the host clock, as if the RTC had been set

    def __init__(self, id=0):
        pass

    def datetime(self, dt=None):
        if dt is None:
            t = time.localtime(int(time.time()) + RTC._offset[0])
            # (year, month, mday, weekday, hours, minutes, seconds, subseconds)
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)
        y, mo, d, _wd, h, mi, s = dt[:7]
        target = time.mktime((y, mo, d, h, mi, s, 0, 0))
        RTC._offset[0] = target - int(time.time())


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


def time_pulse_us(pin, level, timeout_us=1000000):
    return -2


